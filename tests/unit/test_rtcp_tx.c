/* common/tx/rtcp_tx with common/rx/rtcp_rx across a simulated path of 100
 * ms each way: the sender's SR (with its counts and NTP/RTP pair) reaches
 * the receiver, whose RR + XR comes back and gives the sender an RTT of
 * 200 ms, the reported loss and jitter and the far end's MOS, R and
 * latency; the receiver's RRT comes back in a DLRR and gives the receiver
 * the same RTT. Also: the BYE compound, and blocks about other SSRCs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "defaults.h"
#include "rx/rtcp_rx.h"
#include "tx/rtcp_tx.h"

#define MS 1000000LL
#define S 1000000000LL
#define TX_SSRC 0x11112222u
#define RX_SSRC 0x33334444u
#define TX_REAL0 (1700000000LL * S)   /* the sender's wall clock at its monotonic 0 */
#define RX_REAL0 (1700000123LL * S)   /* the receiver's: another clock */
#define DELAY (100 * MS)

static void sr_at(struct rtcp_tx *t, int64_t now, int bye, struct rtcp_info *out)
{
  uint8_t buf[512];
  struct rtcp_tx_now n = {.mono_ns = now, .realtime_ns = TX_REAL0 + now,
                          .rtp_ts = (uint32_t)(now / (S / DL_RATE)), .packets = (uint32_t)(now / (20 * MS)),
                          .octets = (uint32_t)(now / (20 * MS)) * 80, .session_bw = 6000};
  int len = rtcp_tx_build(t, &n, bye, bye ? "done" : NULL, buf, sizeof buf);
  assert_true(len > 0);
  assert_int_equal(rtcp_parse(buf, (size_t)len, out), RTCP_OK);
}

static void test_rtcp_tx__round_trip__rtt_loss_and_far_quality(void **state)
{
  (void)state;
  struct rtcp_tx t;
  struct rtcp_rx r;
  struct rtcp_tx_config tc = {.ssrc = TX_SSRC, .cname = "tx@test"};
  struct rtcp_rx_config rc = {.ssrc = RX_SSRC, .cname = "rx@test"};
  struct rtcp_rx_quality q = {.r_factor = 90.2, .mos_cq = 4.34, .mos_lq = 4.4, .end_system_ms = 62,
                              .jb_nominal_ms = 40, .jb_max_ms = 55, .jb_abs_max_ms = 500};
  struct rtcp_rx_input_result res;
  struct rtcp_info in;
  uint8_t buf[512];
  int k, len;
  unsigned what;

  rtcp_tx_init(&t, &tc, 0, 6000, 0.5);
  rtcp_rx_init(&r, &rc);
  rtcp_rx_clock(&r, 0, RX_REAL0);
  assert_true(rtcp_tx_next_ns(&t) > 0);
  /* 5 s of packets (every tenth lost), the SR at 2 s. */
  for (k = 0; k < 250; k++) {
    if (k == 100) {
      sr_at(&t, 2 * S, 0, &in);
      assert_int_equal(in.ssrc, TX_SSRC);
      assert_true(in.has_sr);
      assert_int_equal(in.sr.packet_count, 100);
      assert_string_equal(in.cname, "tx@test");
      assert_false(in.has_xr);   /* no RRT to answer yet */
      rtcp_rx_input(&r, &in, 2 * S + DELAY, &res);
      assert_int_equal(res.what, RTCP_RX_SR);
    }
    if (k % 10 != 3)
      rtcp_rx_packet(&r, TX_SSRC, (uint16_t)k, 960u * (uint32_t)k, 960, k * 20 * MS + DELAY, 120);
  }
  /* The receiver reports at 5.1 s, the sender has it at 5.2 s. */
  len = rtcp_rx_build(&r, 5 * S + DELAY, &q, buf, sizeof buf);
  assert_int_equal(rtcp_parse(buf, (size_t)len, &in), RTCP_OK);
  what = rtcp_tx_input(&t, &in, 5 * S + 2 * DELAY, TX_REAL0 + 5 * S + 2 * DELAY);
  assert_int_equal(what, RTCP_TX_REPORT | RTCP_TX_RTT | RTCP_TX_XR);
  const struct rtcp_tx_far *f = rtcp_tx_far(&t);
  assert_true(fabs(f->rtt_ms - 200) < 0.1);
  assert_true(fabs(f->rtt_min_ms - 200) < 0.1);
  assert_true(fabs(f->loss_pct - 25 * 100.0 / 250) < 0.5);
  assert_int_equal(f->cum_lost, 25);
  assert_true(f->jitter_ms < 0.1);
  assert_int_equal(f->ssrc, RX_SSRC);
  assert_true(fabs(f->mos - 4.3) < 1e-9);
  assert_true(fabs(f->r_factor - 90) < 1e-9);
  assert_true(fabs(f->latency_ms - 62) < 1e-9);
  assert_true(fabs(f->jb_nominal_ms - 40) < 1e-9);
  /* The sender's next SR answers the RRT; the receiver has its own RTT. */
  sr_at(&t, 5 * S + 2 * DELAY + 300 * MS, 0, &in);
  assert_true(in.has_xr);
  assert_int_equal(in.n_dlrr, 1);
  assert_int_equal(in.dlrr[0].ssrc, RX_SSRC);
  rtcp_rx_input(&r, &in, 5 * S + 3 * DELAY + 300 * MS, &res);
  assert_int_equal(res.what, RTCP_RX_SR | RTCP_RX_RTT);
  struct rtcp_rx_stats st;
  enum rtcp_transit_source src;
  rtcp_rx_get_stats(&r, &st);
  assert_true(llabs(st.rtt_ns - 2 * DELAY) < MS / 10);
  assert_true(llabs(rtcp_rx_transit(&r, &src) - DELAY) < MS / 10);
  assert_int_equal(src, RTCP_TRANSIT_RTT);
}

/* BYE at the end: SR + SDES + BYE, the SR's RTP time the end. */
static void test_rtcp_tx_build__bye__sr_sdes_bye(void **state)
{
  (void)state;
  struct rtcp_tx t;
  struct rtcp_tx_config tc = {.ssrc = TX_SSRC, .cname = "tx@test"};
  struct rtcp_info in;

  rtcp_tx_init(&t, &tc, 0, 6000, 0.5);
  sr_at(&t, 3 * S, 1, &in);
  assert_true(in.has_sr);
  assert_true(in.has_bye);
  assert_int_equal(in.n_bye, 1);
  assert_int_equal(in.bye_ssrc[0], TX_SSRC);
  assert_string_equal(in.bye_reason, "done");
  assert_int_equal(in.sr.rtp_ts, (uint32_t)(3 * S / (S / DL_RATE)));
}

/* A report about another SSRC, an XR about another: nothing taken. */
static void test_rtcp_tx_input__other_ssrc__ignored(void **state)
{
  (void)state;
  struct rtcp_tx t;
  struct rtcp_tx_config tc = {.ssrc = TX_SSRC, .cname = "tx@test"};
  struct rtcp_info in;

  rtcp_tx_init(&t, &tc, 0, 6000, 0.5);
  memset(&in, 0, sizeof in);
  in.ssrc = RX_SSRC;
  in.n_reports = 1;
  in.reports[0].ssrc = 0x999;
  in.reports[0].fraction_lost = 128;
  in.has_voip = 1;
  in.voip.ssrc = 0x999;
  in.voip.mos_cq = 20;
  assert_int_equal(rtcp_tx_input(&t, &in, S, TX_REAL0 + S), 0);
  assert_false(rtcp_tx_far(&t)->have_report);
  assert_true(isnan(rtcp_tx_far(&t)->mos));
  /* Unavailable MOS in an XR about us: NaN, not 12.7. */
  in.voip.ssrc = TX_SSRC;
  in.voip.mos_cq = RTCP_XR_UNAVAILABLE;
  assert_int_equal(rtcp_tx_input(&t, &in, S, TX_REAL0 + S), RTCP_TX_XR);
  assert_true(isnan(rtcp_tx_far(&t)->mos));
}

/* A group: two receivers' RRTs, the second after the first; the SR
 * answers both (each learns its round trip), the same receiver's newer
 * RRT replaces its older one. */
static void test_rtcp_tx_build__two_receivers_rrt__both_answered(void **state)
{
  (void)state;
  struct rtcp_tx t;
  struct rtcp_tx_config tc = {.ssrc = TX_SSRC, .cname = "tx@test"};
  struct rtcp_info in, out;

  rtcp_tx_init(&t, &tc, 0, 6000, 0.5);
  memset(&in, 0, sizeof in);
  in.has_rrt = 1;
  in.ssrc = in.xr_ssrc = 0xaaaa;
  in.rrt_ntp = 0x0001000200030004ull;
  rtcp_tx_input(&t, &in, 1 * S, TX_REAL0 + 1 * S);
  in.ssrc = in.xr_ssrc = 0xbbbb;
  in.rrt_ntp = 0x0005000600070008ull;
  rtcp_tx_input(&t, &in, 1 * S + 100 * MS, TX_REAL0 + 1 * S + 100 * MS);
  in.ssrc = in.xr_ssrc = 0xaaaa;
  in.rrt_ntp = 0x0009000a000b000cull;
  rtcp_tx_input(&t, &in, 1 * S + 200 * MS, TX_REAL0 + 1 * S + 200 * MS);
  sr_at(&t, 1 * S + 300 * MS, 0, &out);
  assert_int_equal(out.n_dlrr, 2);
  for (unsigned i = 0; i < out.n_dlrr; i++) {
    if (out.dlrr[i].ssrc == 0xaaaa)
      assert_int_equal(out.dlrr[i].lrr, 0x000a000bu);
    else if (out.dlrr[i].ssrc == 0xbbbb)
      assert_int_equal(out.dlrr[i].lrr, 0x00060007u);
    else
      fail();
  }
  /* A minute later, neither is answered still: those receivers are gone. */
  sr_at(&t, 1 * S + 300 * MS + (int64_t)(RTCP_TX_RRT_KEEP_S + 1) * S, 0, &out);
  assert_int_equal(out.n_dlrr, 1);   /* the last one, as before */
}

/* A group's receivers all report to the group: the sender counts them
 * (its own looped-back SR not among them), a BYE leaves, and those silent
 * for 5 intervals time out at the next due check. */
static void test_rtcp_tx_member__group__counts_receivers(void **state)
{
  (void)state;
  struct rtcp_tx t;
  struct rtcp_tx_config tc = {.ssrc = TX_SSRC, .cname = "tx@test"};
  struct rtcp_info in;
  unsigned k;

  rtcp_tx_init(&t, &tc, 0, 6000, 0.5);
  assert_int_equal(rtcp_tx_members(&t), 2);
  memset(&in, 0, sizeof in);
  in.ssrc = TX_SSRC;                       /* ours, looped back */
  rtcp_tx_member(&t, &in, S);
  assert_int_equal(rtcp_tx_members(&t), 2);
  for (k = 0; k < 3; k++) {
    in.ssrc = RX_SSRC + k;
    rtcp_tx_member(&t, &in, S);
  }
  assert_int_equal(rtcp_tx_members(&t), 4);
  in.ssrc = RX_SSRC;
  in.has_bye = 1;
  in.n_bye = 1;
  in.bye_ssrc[0] = RX_SSRC;
  rtcp_tx_member(&t, &in, 2 * S);
  assert_int_equal(rtcp_tx_members(&t), 3);
  memset(&in, 0, sizeof in);
  in.ssrc = RX_SSRC + 1;                   /* one keeps reporting */
  rtcp_tx_member(&t, &in, 20 * S);
  rtcp_tx_due(&t, 27 * S, 6000, 0.5);      /* 5 x 5 s after the others' last */
  assert_int_equal(rtcp_tx_members(&t), 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtcp_tx_member__group__counts_receivers),
    cmocka_unit_test(test_rtcp_tx__round_trip__rtt_loss_and_far_quality),
    cmocka_unit_test(test_rtcp_tx_build__bye__sr_sdes_bye),
    cmocka_unit_test(test_rtcp_tx_build__two_receivers_rrt__both_answered),
    cmocka_unit_test(test_rtcp_tx_input__other_ssrc__ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
