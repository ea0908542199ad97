/* The sender's RTCP session (RFC 3550 6.4, RFC 3611): when it reports,
 * the compound it sends (SR + SDES CNAME, a DLRR answering a receiver's
 * RRT, BYE at the end), and what it takes from the receiver's reports: the
 * round trip from LSR/DLSR, the loss and jitter of its report block, and
 * the far end's quality from an XR VoIP Metrics block.
 *
 * Pure and single-threaded (the sender's loop): every time is an
 * argument, CLOCK_MONOTONIC ns for schedules and arrivals, and the wall
 * clock (CLOCK_REALTIME ns since 1970, read by the caller) for the NTP
 * timestamps, whose middle 32 bits come back as LSR. */
#ifndef DL_RTCP_TX_H
#define DL_RTCP_TX_H

#include <stddef.h>
#include <stdint.h>

#include "wire/rtcp.h"

struct rtcp_tx_config {
  uint32_t ssrc;             /* the stream's */
  const char *cname;         /* copied */
  int64_t min_interval_ns;   /* RFC 3550 Tmin; 0: DL_RTCP_MIN_INTERVAL_MS */
};

/* What the sender has sent, at the moment of a report. */
struct rtcp_tx_now {
  int64_t mono_ns;
  int64_t realtime_ns;
  uint32_t rtp_ts;           /* the stream's RTP time at that moment */
  uint32_t packets;          /* RTP packets sent since the start */
  uint32_t octets;           /* RTP payload bytes sent since the start */
  double session_bw;         /* the stream's bytes per second, IP and UDP headers included */
};

/* The far end, as its last reports said. NaN: not reported. */
struct rtcp_tx_far {
  int have_report;           /* a report block about our SSRC came */
  uint32_t ssrc;             /* the reporter's */
  double rtt_ms;             /* from its LSR/DLSR; NaN before one about an SR of ours */
  double rtt_min_ms;         /* the least seen */
  double loss_pct;           /* fraction lost of its last interval, percent */
  int32_t cum_lost;          /* its cumulative lost count */
  double jitter_ms;
  uint32_t expected_interval;  /* packets the receiver expected in its last interval (0: none) */
  int have_xr;               /* a VoIP Metrics block about our SSRC came */
  double mos, r_factor;      /* MOS-CQ and R (NaN where it said unavailable) */
  double latency_ms;         /* its end system delay */
  double xr_loss_pct, xr_discard_pct;
  double jb_nominal_ms;
};

struct rtcp_tx {
  struct rtcp_tx_config cfg;
  char cname[RTCP_MAX_TEXT + 1];
  /* A receiver's RRT to answer with a DLRR: the last one, and in a group
   * each receiver's last (by its SSRC, up to RTCP_TX_MAX_RRT), so that every
   * one learns its round trip (a --sync receiver needs it), not only the
   * one that happened to report last before our SR. */
  int have_rrt;
  struct rtcp_dlrr_item rrt;   /* dlrr unset: computed when sent */
  int64_t rrt_arrival_ns;
#define RTCP_TX_MAX_RRT 8
#define RTCP_TX_RRT_KEEP_S 60
  struct rtcp_dlrr_item rrts[RTCP_TX_MAX_RRT];
  int64_t rrts_arrival_ns[RTCP_TX_MAX_RRT];
  unsigned n_rrts;
  /* The last report block's extended highest sequence, for the interval. */
  int have_prev;
  uint32_t prev_ext_seq;
  struct rtcp_tx_far far;
  /* The schedule. */
  struct rtcp_members others;   /* the receivers heard (RFC 3550 6.3.2) */
  int64_t td_ns;                /* the deterministic interval: their timeout's unit */
  int initial;
  double avg_size;
  int64_t next_ns;
  int64_t prev_ns;           /* the last report (or the start): RFC 3550 tp */
};

/* The first report is due about half the minimum interval after now_ns
 * (u: the caller's random draw in [0, 1)). */
void rtcp_tx_init(struct rtcp_tx *t, const struct rtcp_tx_config *cfg, int64_t now_ns,
                  double session_bw, double u);

/* When the next report is due (CLOCK_MONOTONIC ns). */
/* A parsed compound heard at now_ns (a group's receivers all report to
 * the group): the session's members, which the interval scales by. */
void rtcp_tx_member(struct rtcp_tx *t, const struct rtcp_info *in, int64_t now_ns);
/* Ourselves and the receivers heard within their timeout (at least 2). */
unsigned rtcp_tx_members(const struct rtcp_tx *t);
int64_t rtcp_tx_next_ns(const struct rtcp_tx *t);

/* The timer reached next_ns: RFC 3550 6.3.6 forward reconsideration, as
 * rtcp_rx_due. Returns 1 when the report is due now, else 0 (the timer
 * moved to the last report plus a fresh interval). */
int rtcp_tx_due(struct rtcp_tx *t, int64_t now_ns, double session_bw, double u);

/* SR + SDES CNAME (+ XR DLRR for a receiver's RRT), and a BYE after them
 * when bye is set (with reason, NULL for none). Returns the length or a
 * negative enum rtcp_error. */
int rtcp_tx_build(struct rtcp_tx *t, const struct rtcp_tx_now *now, int bye, const char *reason,
                  uint8_t *buf, size_t cap);

/* The report of wire_bytes (IP and UDP headers included) went out at now
 * (or, rtcp_tx_seen, one came in): the next is scheduled with u. */
void rtcp_tx_sent(struct rtcp_tx *t, int64_t now_ns, size_t wire_bytes, double session_bw, double u);
void rtcp_tx_seen(struct rtcp_tx *t, size_t wire_bytes);

/* What rtcp_tx_input took. */
#define RTCP_TX_REPORT 1u    /* a report block about our SSRC */
#define RTCP_TX_RTT    2u    /* ...with an RTT */
#define RTCP_TX_XR     4u    /* a VoIP Metrics block about our SSRC */
#define RTCP_TX_BYE    8u    /* the reporter left */

/* A compound rtcp_parse accepted from the receiver, arrived at mono_ns /
 * realtime_ns. Returns RTCP_TX_* bits. */
unsigned rtcp_tx_input(struct rtcp_tx *t, const struct rtcp_info *in, int64_t mono_ns,
                       int64_t realtime_ns);

const struct rtcp_tx_far *rtcp_tx_far(const struct rtcp_tx *t);

#endif /* DL_RTCP_TX_H */
