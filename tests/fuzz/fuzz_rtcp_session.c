/* libFuzzer target: the RTCP sessions (rx/rtcp_rx, tx/rtcp_tx, tx/adapt)
 * on arbitrary peers. The input: one byte k, then a datagram. k/4 packets
 * of a stream (with gaps and reorders from k's bits) go to the receiver's
 * session; the datagram, if rtcp_parse takes it, goes to both sessions as
 * the peer's report, and the sender's adaptation takes what it gave. Then
 * each side builds its report, which must parse again and say what it
 * must, and what the sessions say must hold: a transit >= 0, a loss
 * fraction in 0..1, an RTT >= 0 where known, settings within their bounds. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "rx/rtcp_rx.h"
#include "tx/adapt.h"
#include "tx/rtcp_tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S 1000000000LL

static void check(int ok)
{
  if (!ok)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct rtcp_rx rx;
  struct rtcp_tx tx;
  struct adapt ad;
  struct rtcp_rx_config rc = {.ssrc = 0x5151, .cname = "rx"};
  struct rtcp_tx_config tc = {.ssrc = 0x1234, .cname = "tx"};
  struct adapt_config ac = {.fec = 1, .loss_perc = 10, .bitrate = 32000, .min_bitrate = 12000};
  struct rtcp_rx_quality q = {.r_factor = NAN, .mos_cq = NAN, .mos_lq = NAN, .end_system_ms = NAN,
                              .jb_nominal_ms = 60, .jb_max_ms = NAN, .jb_abs_max_ms = 500};
  struct rtcp_rx_input_result res;
  struct rtcp_info in, back;
  enum rtcp_transit_source src;
  uint8_t buf[2048];
  unsigned k;
  int n;

  if (size < 1)
    return 0;
  k = data[0];
  rtcp_rx_init(&rx, &rc);
  rtcp_rx_clock(&rx, 0, 1700000000LL * S);
  rtcp_tx_init(&tx, &tc, 0, 6000, 0.5);
  adapt_init(&ad, &ac);
  for (unsigned i = 0; i < k / 4; i++) {
    uint16_t seq = (uint16_t)(i + ((k & 1) && i % 7 == 3 ? 2 : 0) - ((k & 2) && i % 5 == 4 ? 1 : 0));
    rtcp_rx_packet(&rx, 0x1234, seq, 960u * seq, 960, (int64_t)i * 20000000 + (int64_t)(k & 0x30) * 100000, 100);
  }
  if (rtcp_parse(data + 1, size - 1, &in) == RTCP_OK) {
    struct adapt_input ai;
    rtcp_rx_input(&rx, &in, 3 * S, &res);
    check(!(res.what & RTCP_RX_BYE) || res.bye_ssrc == 0x1234);
    rtcp_tx_input(&tx, &in, 3 * S, 1700000003LL * S);
    ai.loss_pct = rtcp_tx_far(&tx)->loss_pct;
    ai.rtt_ms = rtcp_tx_far(&tx)->rtt_ms;
    ai.rtt_min_ms = rtcp_tx_far(&tx)->rtt_min_ms;
    adapt_report(&ad, &ai);
    check(ad.loss_perc >= 0 && ad.loss_perc <= DL_ADAPT_MAX_LOSS_PCT + 100);
    check(ad.bitrate >= ac.min_bitrate && ad.bitrate <= ac.bitrate);
    check(!(rtcp_tx_far(&tx)->rtt_ms < 0));
  }
  check(rtcp_rx_transit(&rx, &src) >= 0);
  check(rtcp_rx_loss_fraction(&rx) >= 0 && rtcp_rx_loss_fraction(&rx) <= 1);
  if (rtcp_rx_ready(&rx)) {
    n = rtcp_rx_build(&rx, 4 * S, &q, buf, sizeof buf);
    check(n > 0);
    check(rtcp_parse(buf, (size_t)n, &back) == RTCP_OK);
    check(back.ssrc == 0x5151 && back.n_reports == 1 && back.reports[0].ssrc == 0x1234 && back.has_voip);
  }
  {
    struct rtcp_tx_now now = {.mono_ns = 4 * S, .realtime_ns = 1700000004LL * S, .rtp_ts = 1,
                              .packets = 1, .octets = 1, .session_bw = 6000};
    n = rtcp_tx_build(&tx, &now, k & 8, NULL, buf, sizeof buf);
    check(n > 0);
    check(rtcp_parse(buf, (size_t)n, &back) == RTCP_OK);
    check(back.has_sr && back.ssrc == 0x1234 && back.has_cname);
  }
  return 0;
}
