/* The receiver's network side, on the libuv loop thread: the UDP socket,
 * and per datagram, in the order of DESIGN.md: arrival stamp (first thing),
 * SRTP unprotect (--key), one parse (rtp_packet_parse), admission
 * (common/rx/admit: source and payload-type lock, the SRTP probe, the hold
 * of a keyless stream's first packet), then the parsed record into the
 * SPSC ring to the playback thread. It never blocks and never decodes. */
#ifndef DL_RECEIVER_NET_H
#define DL_RECEIVER_NET_H

#include <stdint.h>
#include <uv.h>

#include "defaults.h"
#include "rx/admit.h"

struct dl_srtp;
struct report;
struct ring;
struct rxrtcp;

struct net_config {
  const char *host;            /* local address to bind; "": all IPv4 addresses */
  const char *port;
  const char *peer;            /* --peer as given; NULL: none */
  const char *peer_host;       /* its parts (options.c) */
  const char *peer_port;       /* "": any port */
  int pt;                      /* 0: lock to the first dynamic payload type */
  int restart_after_ms;
  int quiet;                   /* no notices (SRTP suspicions) */
  struct dl_srtp *srtp;        /* --key: the receiving session; NULL: plain RTP */
  struct ring *ring;           /* to the playback thread (its only producer) */
  struct report *rep;          /* where lines go */
  /* Loop thread: told once, as the first packet goes into the ring, its
   * channel count (the Opus TOC's stereo flag). NULL: not told. */
  void (*first_cb)(void *arg, int channels);
  void *first_arg;
  /* RTCP (rtcp.h): told of every packet pushed; with rtcp_mux, given the
   * RTCP datagrams that arrive on this port. NULL: no RTCP. */
  struct rxrtcp *rtcp;
  int rtcp_mux;
  const char *iface;           /* a group: --iface; NULL: any */
  const char *source;          /* a group: --source (SSM); NULL: any */
};

struct net {
  struct net_config cfg;
  uv_udp_t sock;
  struct admit admit;
  uint64_t datagrams;          /* everything that came off the socket */
  uint64_t overflow;           /* dropped: the ring was full */
  int64_t last_packet_ns;      /* arrival of the last packet pushed; 0 before */
  uint8_t buf[DL_MAX_DATAGRAM];   /* the receive buffer, reused */
};

/* Loop thread (the main thread before uv_run). Resolves --peer, binds and
 * starts receiving. Returns 0, or -1 after one line on what failed. */
int net_open(struct net *n, uv_loop_t *loop, const struct net_config *cfg);

/* Loop thread: the stream of ssrc said BYE (rtcp.c): an end marker
 * (struct playback_end) into the ring behind its packets, so that the
 * playback thread ends it once they are played. A full ring drops it
 * (counted in overflow): the stream then ends as one that stopped. */
void net_push_end(struct net *n, uint32_t ssrc, int have_end_ts, uint32_t end_ts);

/* Loop thread: a --sync map into the ring, ahead of the packets after it. */
struct sync_map;
void net_push_sync(struct net *n, const struct sync_map *m);


/* Loop thread: no more datagrams. */
void net_stop(struct net *n);

#endif /* DL_RECEIVER_NET_H */
