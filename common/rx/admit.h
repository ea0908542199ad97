/* Admission: which datagrams the receiver lets into its stream. Pure (no
 * socket, no clock: the packet's arrival time is the time), one thread at
 * a time (the receiver's loop thread), so that a unit test reaches every
 * rule. The loop thread parses each datagram once (rtp_packet_parse) and
 * asks admit_packet; what passes goes into the ring to the playback thread.
 * The one home of the counts `invalid` (datagram level), `rejected`,
 * `auth_failed` and `restarts`, and of the payload-type lock.
 *
 * Source locking (RTP Bleed: never follow a stranger). The stream locks to
 * the source address (IP and port) and SSRC of the first packet it accepts,
 * or takes packets only from the configured peer. Then:
 *   - the locked address and SSRC: accepted;
 *   - the locked IP (any port: a restarted sender has a new socket) after
 *     restart_after of silence (no packet accepted for that long), with a
 *     new SSRC or port: a sender restart, accepted and relocked (counted in
 *     restarts; the playout engine resyncs on the new SSRC);
 *   - anything else: rejected; without a peer, a different source may take
 *     over only once the locked one has been silent for 10 x restart_after;
 *   - after the locked stream's RTCP BYE (admit_bye), a new stream at once.
 *
 * Payload type: the configured one, or the first dynamic one (96..127) of
 * an accepted source; others are rejected.
 *
 * Without a key, SRTP is told from RTP by its payloads (admit_packet's
 * parse result). Of the first 50 packets of a stream (an SSRC from an
 * acceptable source), a real Opus sender's are all valid Opus; an encrypted
 * payload fails the Opus check about half the time. At 20 % such a stream
 * is refused (its packets invalid; ADMIT_EV_LOOKS_SRTP once). Since an
 * encrypted payload also passes about half the time, a stream's first
 * packet is held (one frame, well inside any target latency; its arrival
 * time is kept) until the next packet of its SSRC vouches for it: sequence
 * + 1, as long, and its timestamp advanced by at least half of that
 * (GStreamer's first step is 648 of 960; DTX gaps are longer). Random
 * payloads rarely agree twice; one that does not vouch turns the held
 * packet invalid and is held itself. With a key every packet was
 * authenticated already: nothing is probed or held. */
#ifndef DL_ADMIT_H
#define DL_ADMIT_H

#include <stdint.h>
#include <sys/socket.h>

#include "defaults.h"
#include "wire/rtp.h"

struct admit_config {
  int pt;                          /* accepted payload type; 0: lock to the first dynamic one */
  int keyed;                       /* 1: SRTP, every packet authenticated before admission */
  const struct sockaddr *peer;     /* only this source (copied); NULL: lock to the first */
  int peer_any_port;               /* with peer: any port of its address */
  int64_t restart_after_ns;        /* silence after which the locked host may restart */
};

enum admit_verdict {
  ADMIT_PASS,       /* into the ring (after res->release, if set) */
  ADMIT_HOLD,       /* held until the next packet of its SSRC vouches for it */
  ADMIT_INVALID,    /* dropped, counted in invalid */
  ADMIT_REJECTED,   /* dropped, counted in rejected */
};

/* What happened besides the verdict, for the receiver's -v lines and
 * notices. */
#define ADMIT_EV_LOCKED      1u   /* locked to this source and SSRC (the first time) */
#define ADMIT_EV_RESTART     2u   /* the locked host restarted: relocked (counted) */
#define ADMIT_EV_PT_LOCKED   4u   /* locked to this packet's payload type */
#define ADMIT_EV_LOOKS_SRTP  8u   /* the stream looks encrypted: refused (once per receiver) */

struct admit_result {
  enum admit_verdict verdict;
  unsigned events;                 /* ADMIT_EV_* */
  int64_t silent_ns;               /* ADMIT_EV_RESTART: how long the source was silent */
  int reason;                      /* INVALID for the packet's own parse: its RTP_ERR_*; else 0 */
  /* PASS: a held packet that this one vouched for, to go into the ring
   * first; valid until the next admit_* call. NULL: none. */
  const struct rtp_packet *release;
};

struct admit_stats {
  uint64_t invalid;       /* truncated, not RTP, not Opus, SRTP errors, refused as SRTP, not vouched for */
  uint64_t rejected;      /* valid RTP from another source, SSRC or payload type */
  uint64_t auth_failed;   /* SRTP: a bad tag or a replay */
  uint64_t restarts;      /* a locked source began a new SSRC after silence */
};

struct admit {
  struct admit_config cfg;
  struct sockaddr_storage peer;
  int locked;
  struct sockaddr_storage lock_addr;
  uint32_t lock_ssrc;
  int64_t last_accept_ns;          /* arrival of the last packet accepted */
  int locked_pt;                   /* -1 until locked (cfg.pt 0) */
  /* The SRTP probe of the stream being judged. */
  uint32_t probe_ssrc;
  unsigned probe_n, probe_fail;
  int probe_srtp, srtp_said;
  /* The held first packet of a keyless stream (held_valid 0: none). */
  int held_valid;
  struct rtp_packet held;
  uint8_t held_payload[DL_MAX_PAYLOAD];
  uint32_t plain_ssrc;             /* the SSRC that passed the hold */
  int plain_ok;
  uint64_t auth_good;              /* keyed: packets that authenticated */
  int bye;                         /* the locked stream said BYE (admit_bye) */
  struct admit_stats st;
};

/* Returns 0, or -EINVAL for a bad configuration (pt outside 0 and 96..127,
 * a peer of another family than IPv4/IPv6, a negative restart time). */
int admit_init(struct admit *a, const struct admit_config *cfg);

/* One datagram from `from`. parse: what rtp_packet_parse returned for it
 * (pkt filled as it says). Decides and counts; never keeps pkt's payload
 * pointer (a held packet is copied). */
void admit_packet(struct admit *a, const struct sockaddr *from, int parse,
                  const struct rtp_packet *pkt, struct admit_result *res);

/* A datagram refused before it could be parsed: larger than any we accept
 * (truncated), or an SRTP error other than authentication. */
void admit_invalid(struct admit *a);

/* SRTP: one datagram failed authentication or replayed (dropped). Returns
 * 1 exactly once, at the 50th such failure while none authenticated (a wrong
 * key, or a sender without SRTP): time to say so. */
int admit_auth_failed(struct admit *a);

/* SRTP: one datagram authenticated (before admit_packet is asked). */
void admit_auth_ok(struct admit *a);

/* RTCP BYE (RFC 3550 6.6) for ssrc from `from`: if it is the locked
 * stream's SSRC from the locked host (any port: RTCP comes from another
 * one), the stream has ended. Then the next stream is accepted at once,
 * without --restart-after's wait: from the locked host a new SSRC or port
 * counts as a restart, and without a peer another source may lock as the
 * first one did. Returns 1 for the locked stream's BYE, else 0. */
int admit_bye(struct admit *a, const struct sockaddr *from, uint32_t ssrc);

/* The locked source and SSRC, for RTCP (its reports' destination and the
 * SR it must come from). Returns 0 when nothing is locked yet. */
int admit_locked(const struct admit *a, struct sockaddr_storage *addr, uint32_t *ssrc);

/* The payload type locked to, or -1. */
int admit_pt(const struct admit *a);

void admit_get_stats(const struct admit *a, struct admit_stats *out);

#endif /* DL_ADMIT_H */
