/* The sender's RTCP (issue 13), on its one loop thread: the RTCP socket
 * (the odd port above the RTP socket's even one, or the RTP socket itself
 * with --rtcp-mux), SRTCP with --key, the session of common/tx/rtcp_tx,
 * and the adaptation of common/tx/adapt applied to the encoder.
 *   out: SR + SDES CNAME (+ a DLRR answering the receiver's RRT) at RFC
 *        3550's randomised interval to the destination's PORT+1 (or PORT
 *        with --rtcp-mux); SR + SDES + BYE when the stream stops;
 *   in:  from the destination's host only (others: rtcp_rejected), parsed
 *        (rtcp_invalid) after SRTCP (auth_failed): the RR's block about our
 *        SSRC (rtt_ms from LSR/DLSR, loss_pct_reported, jitter_ms_reported)
 *        and the XR VoIP Metrics block (far_mos, far_r_factor,
 *        far_latency_ms); with --adapt each report moves the encoder's
 *        expected loss, FEC and bitrate (adapt_events, a -v line each). */
#ifndef DL_SENDER_RTCP_H
#define DL_SENDER_RTCP_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "tx/adapt.h"
#include "tx/rtcp_tx.h"

struct dl_srtp;
struct json;
struct linew;
struct txpipe;

struct txrtcp_config {
  int mux;                     /* --rtcp-mux */
  int interval_ms;             /* --rtcp-interval */
  int adapt;                   /* --adapt */
  struct adapt_config ac;      /* its start and bounds */
  int verbose;
  uint32_t ssrc;
  uint64_t rand;               /* the caller's random draw: CNAME, schedule */
  struct sockaddr_storage dest;   /* the RTP destination */
  struct dl_srtp *srtp_out;    /* --key: the RTP session (it protects RTCP too); NULL: plain */
  struct dl_srtp *srtp_in;     /* --key: a receiving session with the same key */
  struct txpipe *tp;           /* the encoder the adaptation sets */
  struct linew *out;           /* -v lines */
  int err_id;
  /* Several destinations (sender/dests.c): each report's adaptation is
   * only computed here (into ad) and adapt_cb is told, which sets the one
   * encoder from every destination's; NULL: this session sets it. */
  void (*adapt_cb)(void *arg);
  void *adapt_arg;
  const char *label;           /* -v lines: " (to HOST:PORT)", or "" / NULL */
  const char *iface;           /* --iface: a group destination's, to hear the group on */
  /* What has been sent, now (for the SR). */
  void (*now_cb)(void *arg, struct rtcp_tx_now *now);
  void *now_arg;
};

struct txrtcp {
  struct txrtcp_config cfg;
  uv_udp_t sock;               /* RTCP's own socket; with mux unused */
  uv_udp_t *send_sock;         /* where RTCP goes out from */
  int sock_open;
  uv_udp_t group_sock;         /* a group destination: its RTCP port, joined, where
                                  the receivers report (RFC 3550 6: to the group) */
  int group_open;
  uv_timer_t timer;
  struct sockaddr_storage to;  /* PORT+1 of the destination (PORT with mux) */
  char cname[64];
  uint64_t rng;
  struct rtcp_tx tx;
  struct adapt ad;
  int loss_perc, fec, bitrate; /* the encoder's settings now */
  uint64_t sent, received, invalid, rejected, auth_failed;
  int said_report;
  uint8_t buf[65536];
};

/* Main thread, after the RTP socket rtp is set up. fd: the RTCP socket
 * (bound to the odd port above rtp's), -1 with --rtcp-mux (rtp receives
 * RTCP too). Starts the first report's timer. Returns 0 or a negative
 * errno (not said). */
int txrtcp_open(struct txrtcp *r, uv_loop_t *loop, uv_udp_t *rtp, int fd,
                const struct txrtcp_config *cfg);

/* The stream stops: SR + SDES + BYE, sent now; then no more reports. */
void txrtcp_bye(struct txrtcp *r, const char *reason);

/* The stats keys of RTCP and the adaptation, into an open JSON object. */
void txrtcp_json(const struct txrtcp *r, struct json *j);

/* The far end's keys alone (rtt_ms, loss_pct_reported, ..., auth_failed,
 * as txrtcp_json without the adaptation's), for one destination of
 * several. */
void txrtcp_json_far(const struct txrtcp *r, struct json *j);

/* The encoder's FEC now (the adaptation may have turned it). */
int txrtcp_fec(const struct txrtcp *r);

/* "  far end: MOS 4.3, 2 % lost, 62 ms" for the live line, or "" before a
 * report. */
void txrtcp_status(const struct txrtcp *r, char *buf, size_t cap);

#endif /* DL_SENDER_RTCP_H */
