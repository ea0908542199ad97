/* The sender's destinations (issue 16, fan-out): one stream, encoded (and
 * with --key protected) once, sent to each of up to DL_MAX_DESTS
 * destinations, for networks where multicast is poor (Wi-Fi).
 *
 * Each destination has its own socket pair (RTP from an even port, RTCP
 * from the odd one above it, as with one) and so its own RTCP session
 * (sender/rtcp.c): its SRs carry its own packet counts, its receiver's
 * reports arrive on its own socket and give its own RTT, loss and MOS.
 * The one encoder follows the worst of them: the adaptation of each is
 * computed apart, and the encoder takes the highest expected loss, FEC if
 * any wants it and the lowest bitrate.
 *
 * SRTP: one sending context for all. The packets are the same bytes to
 * every destination, protected once (a second protection of a sequence
 * number would be refused as a replay, and would reuse its keystream);
 * SRTCP takes each report's index from that one context, so that no two
 * reports under the key share an index, which contexts of their own with
 * the one key and SSRC would do. The receivers' SRTCP comes in through one
 * receiving context, whose libsrtp streams are per SSRC (per receiver).
 *
 * Loop thread, except dests_resolve (main thread, before the loop). */
#ifndef DL_SENDER_DESTS_H
#define DL_SENDER_DESTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "defaults.h"
#include "rtcp.h"
#include "util/addr.h"

struct json;
struct linew;

struct dest {
  const char *arg;                 /* HOST:PORT as given */
  char host[256], port[16];        /* its parts */
  struct sockaddr_storage addr;
  char addr_text[ADDR_TEXT_MAX];
  char label[ADDR_TEXT_MAX + 8];   /* " for ADDR" in -v lines; "" with one */
  uv_udp_t udp;                    /* RTP (and with --rtcp-mux RTCP) */
  int rtcp_fd;                     /* its RTCP socket until txrtcp_open takes it; -1 */
  int rtcp_on;
  struct txrtcp rtcp;
  uint64_t sent, bytes, payload_bytes, send_errors;
  int send_error_said;
  struct dests *set;
};

struct dests_net {
  int no_rtcp, rtcp_mux;
  int ttl;                         /* a group's; 0: 1 */
  const char *iface;               /* a group's outgoing interface; NULL: the route's */
};

struct dests {
  int n;
  struct dest d[DL_MAX_DESTS];
  /* The adaptation's combined settings, applied to the encoder. */
  struct txpipe *tp;
  int loss_perc, fec, bitrate;
  uint64_t adapt_events;
  /* The stream's "now" for an SR (main.c); each destination's counts
   * replace its packets and octets. */
  void (*now_cb)(void *arg, struct rtcp_tx_now *now);
  void *now_arg;
};

/* Main thread: each destination's host resolved (arg, host and port set
 * by the caller, n of them). A host that does not resolve: one line, exit
 * status 1; two that are one address and port, or whose RTP and RTCP
 * ports would overlap on one host: one line, exit status 2. Returns 0 or
 * that status. */
int dests_resolve(struct dests *ds, int rtcp_pairs, const char *prog);

/* Main thread: the sockets (a pair each unless no_rtcp; rtcp_mux: one),
 * and a group's TTL, loop and interface. Returns 0 or -1 after one line. */
int dests_open(struct dests *ds, uv_loop_t *loop, const struct dests_net *net, const char *prog);

/* Whether any destination is a multicast group. */
int dests_any_group(const struct dests *ds);

/* Each destination's RTCP session, from base (its dest, rand, label,
 * now_cb and the adaptation's callback set here). Returns 0 or a libuv
 * error (not said). */
int dests_start_rtcp(struct dests *ds, uv_loop_t *loop, const struct txrtcp_config *base);

/* One datagram (payload_len of its bytes the Opus payload) to every
 * destination; a send error is counted in that destination's
 * send_errors and said once (unless quiet). Returns how many took it. */
int dests_send(struct dests *ds, const uint8_t *pkt, size_t len, size_t payload_len,
               struct linew *out, int err_id, const char *nl, int quiet, const char *prog);

/* The stream stops: a BYE to each. */
void dests_bye(struct dests *ds, const char *reason);

/* Send errors over all destinations. */
uint64_t dests_send_errors(const struct dests *ds);

/* The stats keys of RTCP: with one destination txrtcp_json's; with
 * several, the worst destination's far-end figures (highest RTT, loss,
 * jitter and delay, lowest MOS and R), the counts summed, the encoder's
 * combined settings, and "dests": one object per destination (addr,
 * sent, bytes, send_errors and, with RTCP, txrtcp_json_far's keys). */
void dests_json(const struct dests *ds, struct json *j);

/* The encoder's FEC now. */
int dests_fec(const struct dests *ds);

/* The live line's far-end part (txrtcp_status; with several, the worst). */
void dests_status(const struct dests *ds, char *buf, size_t cap);

/* After the loop: the RTCP sockets no session took. */
void dests_close(struct dests *ds);

#endif /* DL_SENDER_DESTS_H */
