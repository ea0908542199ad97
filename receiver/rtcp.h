/* The receiver's RTCP (issue 13), on the loop thread: the socket (PORT+1,
 * or the RTP socket with --rtcp-mux, where net.c hands over what
 * rtcp_is_rtcp says is RTCP), SRTCP with --key, the validating parse, and
 * the session of common/rx/rtcp_rx:
 *   in:  the sender's SR (LSR/DLSR, its RTP-to-wall-clock mapping and its
 *        counts), the DLRR answering our RRT (our round trip), its BYE
 *        (the stream ends: an end marker through the ring, admission lets
 *        the next stream in at once, --exit-on-bye stops once it is played);
 *        only from the locked stream's host (before a lock, an SR waits for
 *        its stream); other hosts' counted in rtcp_rejected, unparsable or
 *        unauthenticated datagrams in rtcp_invalid and auth_failed;
 *   out: RR + SDES CNAME + XR (RRT, VoIP Metrics from the playback thread's
 *        published counters) at RFC 3550's randomised interval, to the
 *        address the SRs come from, or before one came to the stream's
 *        source address with its port + 1 (--rtcp-mux: the same port);
 *   the E-model's transit: the round trip's half, else the SR wall clock's
 *        estimate (rx/rtcp_rx), told to the playback thread through an
 *        atomic it reads before each pull. */
#ifndef DL_RECEIVER_RTCP_H
#define DL_RECEIVER_RTCP_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "defaults.h"
#include "rx/rtcp_rx.h"
#include "rx/sync.h"
#include "wire/rtp.h"

struct net;
struct playback;
struct report;
struct dl_srtp;
struct options;
struct receiver_stats;

struct rxrtcp_stats {
  int on;                      /* RTCP runs (not --no-rtcp) */
  uint64_t sent, received, invalid, rejected, bye_received;
  struct rtcp_rx_stats rx;
  int64_t transit_ns;
  enum rtcp_transit_source transit_source;
  /* --sync (rx/sync): where the map comes from, its error bound (< 0:
   * unknown), our wall clock minus the sender's as estimated, and the
   * maps sent to the playback thread. */
  int sync_on;
  enum sync_source sync_source;
  int64_t sync_error_ns;
  int64_t clock_offset_ns;
  double clock_rate_ppm;       /* our monotonic clock against the sender's wall clock */
  uint64_t sync_maps;
};

struct rxrtcp {
  const struct options *o;
  struct net *net;
  struct playback *pb;
  struct report *rep;
  struct dl_srtp *srtp_in;     /* --key: the receiving session (RTP's); NULL: plain */
  struct dl_srtp *srtp_out;    /* --key: our sending session */
  /* Loop thread: the playback thread's counters, for the XR block. */
  void (*snapshot)(void *arg, struct receiver_stats *s);
  void *snapshot_arg;
  void (*bye_cb)(void *arg);   /* the stream's BYE came (for --exit-on-bye) */
  void *bye_arg;

  uv_udp_t sock;               /* PORT+1; unused with --rtcp-mux */
  int sock_open;
  uv_timer_t timer;
  struct rtcp_rx rx;
  uint32_t ssrc;
  uint64_t rng;                /* the schedule's draws */
  char cname[64];
  int have_sr_from;
  int group;                         /* HOST is a multicast group */
  struct sockaddr_storage group_to;  /* then its PORT+1: where reports go */
  struct sockaddr_storage sr_from;   /* where the stream's SRs come from */
  uint64_t sent, received, invalid, rejected, bye_received;
  /* --sync: the estimator, and what it told the playback thread last. */
  struct sync sync;
  enum sync_source sync_said;
  uint64_t sync_maps;
  uint64_t sync_unmet_said;    /* the playback thread's sync_unmet when we last said so */
  int sync_check_ticks;
  uint8_t buf[DL_MAX_DATAGRAM];
};

/* Main thread, after net_open. Binds PORT+1 (unless --rtcp-mux) and starts
 * the report timer. Returns 0 or -1 after one line. ssrc and cname_rand
 * are the caller's random draws. */
int rxrtcp_open(struct rxrtcp *r, uv_loop_t *loop, uint32_t ssrc, uint64_t cname_rand);

/* Loop thread (net.c): a packet went into the ring. */
void rxrtcp_packet(struct rxrtcp *r, const struct rtp_packet *pkt, size_t datagram_len);

/* Loop thread (net.c): an admitted packet carried the RFC 6051 NTP time,
 * before it goes into the ring (so that a map it gives is ahead of it). */
void rxrtcp_ntp_packet(struct rxrtcp *r, const struct rtp_packet *pkt);

/* Any thread: our wall clock (CLOCK_REALTIME, shifted by
 * --wallclock-offset-ms), ns since 1970. */
int64_t rxrtcp_real_ns(const struct options *o);

/* Loop thread (net.c with --rtcp-mux): an RTCP datagram on the RTP port,
 * still SRTCP-protected with --key. buf may be changed. */
void rxrtcp_datagram(struct rxrtcp *r, uint8_t *buf, size_t len, const struct sockaddr *from,
                     int64_t arrival_ns);

void rxrtcp_get_stats(const struct rxrtcp *r, struct rxrtcp_stats *out);

/* Loop thread: no more RTCP (the socket closes with the loop's handles). */
void rxrtcp_stop(struct rxrtcp *r);

#endif /* DL_RECEIVER_RTCP_H */
