/* common/rx/rtcp_rx: the receiver's RTCP session in virtual time. The
 * counts of its report block against a scripted loss pattern, the burst and
 * gap metrics of RFC 3611 4.7.2, the SR's LSR/DLSR and the wall-clock
 * transit, an SR that came before its stream's first packet, a BYE with
 * the SR's end, the schedule's bounds, and the group's members that
 * scale it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "defaults.h"
#include "rx/rtcp_rx.h"

#define MS 1000000LL
#define S 1000000000LL
#define SRC 0xabcd0001u
#define REAL0 (1700000000LL * S)   /* the wall clock at monotonic 0 */

static struct rtcp_rx make(void)
{
  struct rtcp_rx r;
  struct rtcp_rx_config c = {.ssrc = 0x5151, .cname = "rx@test"};
  rtcp_rx_init(&r, &c);
  rtcp_rx_clock(&r, 0, REAL0);
  return r;
}

/* Packet k of a 20 ms stream, arriving delay after it was sent at k*20 ms. */
static void packet(struct rtcp_rx *r, int k, int64_t delay)
{
  rtcp_rx_packet(r, SRC, (uint16_t)(65500 + k), 1000u + 960u * (uint32_t)k, 960,
                 k * 20 * MS + delay, 100);
}

static struct rtcp_rx_quality quality(void)
{
  struct rtcp_rx_quality q = {.discarded = 2, .r_factor = 88.3, .mos_cq = 4.29, .mos_lq = 4.31,
                              .end_system_ms = 71.4, .jb_nominal_ms = 60, .jb_max_ms = 90,
                              .jb_abs_max_ms = 500, .jb_adaptive = 1};
  return q;
}

/* The block's counts across the sequence wrap, with 10 of 200 lost. */
static void test_rtcp_rx_build__losses__block_counts(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_rx_quality q = quality();
  struct rtcp_info in;
  uint8_t buf[512];
  int k, len;

  assert_int_equal(rtcp_rx_ready(&r), 0);
  for (k = 0; k < 200; k++)
    if (k % 20 != 7)
      packet(&r, k, 5 * MS);
  assert_int_equal(rtcp_rx_ready(&r), 1);
  len = rtcp_rx_build(&r, 4 * S, &q, buf, sizeof buf);
  assert_true(len > 0);
  assert_int_equal(rtcp_parse(buf, (size_t)len, &in), RTCP_OK);
  assert_int_equal(in.ssrc, 0x5151);
  assert_int_equal(in.n_reports, 1);
  assert_int_equal(in.reports[0].ssrc, SRC);
  assert_int_equal(in.reports[0].cumulative_lost, 10);
  assert_int_equal(in.reports[0].fraction_lost, 10 * 256 / 200);
  assert_int_equal(in.reports[0].ext_highest_seq, 65536u + (uint16_t)(65500 + 199));
  assert_int_equal(in.reports[0].lsr, 0);   /* no SR yet */
  assert_true(in.has_cname);
  assert_string_equal(in.cname, "rx@test");
  assert_true(in.has_rrt);
  assert_int_equal(in.rrt_ntp, rtcp_ntp_from_ns(REAL0 + 4 * S));
  assert_true(in.has_voip);
  assert_int_equal(in.voip.ssrc, SRC);
  assert_int_equal(in.voip.loss_rate, rtcp_xr_rate(0.05));
  assert_int_equal(in.voip.discard_rate, rtcp_xr_rate(0.01));
  assert_int_equal(in.voip.mos_cq, 43);
  assert_int_equal(in.voip.mos_lq, 43);
  assert_int_equal(in.voip.r_factor, 88);
  assert_int_equal(in.voip.end_system_delay, 71);
  assert_int_equal(in.voip.jb_nominal, 60);
  assert_int_equal(in.voip.jb_abs_max, 500);
  assert_int_equal(in.voip.gmin, RTCP_RX_GMIN);
  /* Isolated losses 20 apart (more than Gmin): all in gaps. */
  assert_int_equal(in.voip.burst_density, 0);
  assert_int_equal(in.voip.gap_density, rtcp_xr_rate(10.0 / 200));
  /* The next interval: nothing lost. */
  for (k = 200; k < 250; k++)
    packet(&r, k, 5 * MS);
  len = rtcp_rx_build(&r, 5 * S, &q, buf, sizeof buf);
  assert_int_equal(rtcp_parse(buf, (size_t)len, &in), RTCP_OK);
  assert_int_equal(in.reports[0].fraction_lost, 0);
  assert_int_equal(in.reports[0].cumulative_lost, 10);
}

/* Losses closer than Gmin make a burst, with the packets between them. */
static void test_rtcp_rx_build__burst__density_and_duration(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_rx_quality q = quality();
  struct rtcp_info in;
  uint8_t buf[512];
  int k;

  /* 100 packets; 40, 42, 44 lost: one burst 40..44 (5 packets, 3 lost). */
  for (k = 0; k < 100; k++)
    if (k != 40 && k != 42 && k != 44)
      packet(&r, k, 0);
  int len = rtcp_rx_build(&r, 3 * S, &q, buf, sizeof buf);
  assert_int_equal(rtcp_parse(buf, (size_t)len, &in), RTCP_OK);
  assert_int_equal(in.voip.burst_density, rtcp_xr_rate(3.0 / 5));
  assert_int_equal(in.voip.gap_density, 0);
  assert_int_equal(in.voip.burst_duration, 5 * 20);
  assert_int_equal(in.voip.gap_duration, 95 * 20 / 2);
}

/* An SR: LSR/DLSR in the next block, and the wall-clock transit of the
 * packets after it (both clocks one, as on one host). */
static void test_rtcp_rx_input__sr__lsr_dlsr_and_clock_transit(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_rx_input_result res;
  struct rtcp_rx_stats st;
  struct rtcp_info sr;
  enum rtcp_transit_source src;
  uint8_t buf[512];
  int k, len;

  for (k = 0; k < 50; k++)
    packet(&r, k, 30 * MS);
  assert_int_equal(rtcp_rx_transit(&r, &src), 0);
  assert_int_equal(src, RTCP_TRANSIT_NONE);
  /* The sender's SR at its 1 s: RTP time of packet 50, sent at 1 s. */
  memset(&sr, 0, sizeof sr);
  sr.ssrc = SRC;
  sr.has_sr = 1;
  sr.sr.ssrc = SRC;
  sr.sr.ntp = rtcp_ntp_from_ns(REAL0 + 1 * S);
  sr.sr.rtp_ts = 1000u + 960u * 50;
  sr.sr.packet_count = 50;
  rtcp_rx_input(&r, &sr, 1 * S + 30 * MS, &res);
  assert_int_equal(res.what, RTCP_RX_SR);
  for (k = 50; k < 150; k++)
    packet(&r, k, 30 * MS);
  assert_true(llabs(rtcp_rx_transit(&r, &src) - 30 * MS) < MS / 10);
  assert_int_equal(src, RTCP_TRANSIT_CLOCK);
  rtcp_rx_get_stats(&r, &st);
  assert_int_equal(st.sr_received, 1);
  assert_int_equal(st.sender_packets, 50);
  len = rtcp_rx_build(&r, 3 * S + 30 * MS, NULL, buf, sizeof buf);
  assert_int_equal(rtcp_parse(buf, (size_t)len, &sr), RTCP_OK);
  assert_int_equal(sr.reports[0].lsr, rtcp_ntp_middle(rtcp_ntp_from_ns(REAL0 + 1 * S)));
  assert_int_equal(sr.reports[0].dlsr, 2 * 65536);
  assert_false(sr.has_voip);
  /* Clocks two seconds apart: not one clock, not used. */
  rtcp_rx_clock(&r, 0, REAL0 + 2 * S);
  for (k = 150; k < 1500; k++)
    packet(&r, k, 30 * MS);
  rtcp_rx_transit(&r, &src);
  assert_int_equal(src, RTCP_TRANSIT_NONE);
}

/* Our RRT answered by a DLRR: our own round trip, used before the clock. */
static void test_rtcp_rx_input__dlrr__rtt_half_is_transit(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_rx_input_result res;
  struct rtcp_info rr, dl;
  enum rtcp_transit_source src;
  uint8_t buf[512];
  int len;

  packet(&r, 0, 0);
  len = rtcp_rx_build(&r, 2 * S, NULL, buf, sizeof buf);
  assert_int_equal(rtcp_parse(buf, (size_t)len, &rr), RTCP_OK);
  /* The sender got it 50 ms later, held it 300 ms, its answer took 50. */
  memset(&dl, 0, sizeof dl);
  dl.ssrc = SRC;
  dl.n_dlrr = 2;
  dl.dlrr[0].ssrc = 0x7777;   /* someone else's */
  dl.dlrr[0].lrr = 1;
  dl.dlrr[1].ssrc = 0x5151;
  dl.dlrr[1].lrr = rtcp_ntp_middle(rr.rrt_ntp);
  dl.dlrr[1].dlrr = rtcp_dlsr_from_ns(300 * MS);
  rtcp_rx_input(&r, &dl, 2 * S + 400 * MS, &res);
  assert_int_equal(res.what, RTCP_RX_RTT);
  assert_true(llabs(rtcp_rx_transit(&r, &src) - 50 * MS) < MS / 10);
  assert_int_equal(src, RTCP_TRANSIT_RTT);
  assert_string_equal(rtcp_transit_source_name(src), "rtt");
}

/* An SR before the stream's first packet waits for it; a BYE of the source
 * with an SR gives the end timestamp; another SSRC's BYE is nothing. */
static void test_rtcp_rx_input__early_sr_and_bye(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_rx_input_result res;
  struct rtcp_rx_stats st;
  struct rtcp_info in;

  memset(&in, 0, sizeof in);
  in.ssrc = SRC;
  in.has_sr = 1;
  in.sr.ssrc = SRC;
  in.sr.ntp = rtcp_ntp_from_ns(REAL0);
  in.sr.rtp_ts = 1000;
  rtcp_rx_input(&r, &in, 0, &res);
  assert_int_equal(res.what, 0);
  packet(&r, 0, 0);
  rtcp_rx_get_stats(&r, &st);
  assert_int_equal(st.sr_received, 1);
  in.has_bye = 1;
  in.n_bye = 1;
  in.bye_ssrc[0] = 0x1111;
  in.sr.rtp_ts = 99999;
  rtcp_rx_input(&r, &in, S, &res);
  assert_int_equal(res.what & RTCP_RX_BYE, 0);
  in.bye_ssrc[0] = SRC;
  rtcp_rx_input(&r, &in, S, &res);
  assert_int_equal(res.what & RTCP_RX_BYE, RTCP_RX_BYE);
  assert_int_equal(res.have_end_ts, 1);
  assert_int_equal(res.end_ts, 99999);
}

/* The first report comes within half the minimum (randomised), the later
 * ones within [0.5, 1.5] x minimum / 1.218, as RFC 3550 A.7. */
static void test_rtcp_rx_sent__schedule__within_rfc_bounds(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  double comp = 2.71828182845904523536 - 1.5;

  packet(&r, 0, 0);
  rtcp_rx_start(&r, 0, 0.0);
  assert_true(llabs(rtcp_rx_next_ns(&r) - (int64_t)(2.5 * S * 0.5 / comp)) < MS);
  rtcp_rx_start(&r, 0, 0.999);
  assert_true(rtcp_rx_next_ns(&r) <= (int64_t)(2.5 * S * 1.5 / comp) + MS);
  rtcp_rx_sent(&r, 10 * S, 150, 0.5);
  assert_true(llabs(rtcp_rx_next_ns(&r) - 10 * S - (int64_t)(5.0 * S / comp)) < MS);
  /* Reconsideration: not before the timer; at it, a fresh draw that puts
   * the last report plus it later moves the timer there. */
  assert_int_equal(rtcp_rx_due(&r, 10 * S + 4 * S, 0.999), 0);
  int64_t at = rtcp_rx_next_ns(&r);
  assert_int_equal(rtcp_rx_due(&r, at, 0.999), 0);
  assert_true(rtcp_rx_next_ns(&r) > at);
  assert_int_equal(rtcp_rx_due(&r, rtcp_rx_next_ns(&r), 0.0), 1);
}

/* Reconsidered timing over many reports: the mean interval is at least the
 * deterministic one (5 s), so the bandwidth share holds despite e - 3/2. */
static void test_rtcp_rx_due__many_reports__mean_interval_not_shorter(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  uint64_t x = 88172645463325252ull;
  int64_t now = 0, first;
  int sent = 0;

  packet(&r, 0, 0);
  rtcp_rx_start(&r, 0, 0.5);
  rtcp_rx_sent(&r, 0, 120, 0.5);
  first = 0;
  while (sent < 2000) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    now = rtcp_rx_next_ns(&r);
    if (rtcp_rx_due(&r, now, (double)(x >> 11) / 9007199254740992.0)) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      rtcp_rx_sent(&r, now, 120, (double)(x >> 11) / 9007199254740992.0);
      sent++;
    }
  }
  double mean = (double)(now - first) / sent / S;
  printf("mean reconsidered interval %.3f s (deterministic 5 s)\n", mean);
  assert_true(mean >= 4.9 && mean <= 6.0);
}

/* A reporter's compound: an RR from ssrc (rtcp_info as rtcp_parse gives). */
static struct rtcp_info rr_from(uint32_t ssrc)
{
  struct rtcp_info in;
  memset(&in, 0, sizeof in);
  in.ssrc = ssrc;
  return in;
}

/* The interval after a report at now (u = 1/2: the deterministic one
 * over e - 3/2). */
static int64_t next_after_report(struct rtcp_rx *r, int64_t now)
{
  rtcp_rx_sent(r, now, 120, 0.5);
  return rtcp_rx_next_ns(r) - now;
}

/* RFC 3550 6.3: in a group every receiver's reports are heard; with many,
 * the interval grows in proportion to them (beyond the minimum), our own
 * looped-back reports and the source are not counted twice, a BYE leaves. */
static void test_rtcp_rx_member__group__interval_scales_with_members(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_info in;
  int64_t now = 2 * S, i2, i100, i200;
  int k;

  for (k = 0; k < 100; k++)   /* 2 s of the source: the session's bandwidth */
    packet(&r, k, 0);
  rtcp_rx_start(&r, now, 0.5);
  rtcp_rx_sent(&r, now, 120, 0.5);
  assert_int_equal(rtcp_rx_members(&r), 2);
  i2 = next_after_report(&r, now);
  in = rr_from(0x5151);        /* ours, looped back by the group */
  rtcp_rx_member(&r, &in, now);
  in = rr_from(SRC);           /* the source's SR */
  in.has_sr = 1;
  rtcp_rx_member(&r, &in, now);
  assert_int_equal(rtcp_rx_members(&r), 2);
  for (k = 0; k < 98; k++) {
    in = rr_from(0x100000u + (uint32_t)k);
    rtcp_rx_member(&r, &in, now);
  }
  assert_int_equal(rtcp_rx_members(&r), 100);
  i100 = next_after_report(&r, now);
  for (k = 98; k < 198; k++) {
    in = rr_from(0x100000u + (uint32_t)k);
    rtcp_rx_member(&r, &in, now);
  }
  assert_int_equal(rtcp_rx_members(&r), 200);
  i200 = next_after_report(&r, now);
  printf("interval at 2 / 100 / 200 members: %.2f / %.2f / %.2f s\n", (double)i2 / S,
         (double)i100 / S, (double)i200 / S);
  assert_true(i100 > 2 * i2);
  /* n receivers share 3/4 of the RTCP bandwidth: (200-1)/(100-1) apart. */
  assert_true(fabs((double)i200 / (double)i100 - 199.0 / 99.0) < 0.02);
  in = rr_from(0x100000u);
  in.has_bye = 1;
  in.n_bye = 1;
  in.bye_ssrc[0] = 0x100000u;
  rtcp_rx_member(&r, &in, now);
  assert_int_equal(rtcp_rx_members(&r), 199);
}

/* RFC 3550 6.3.5: members not heard for 5 deterministic intervals leave;
 * one heard again stays. */
static void test_rtcp_rx_member__silent__times_out(void **state)
{
  (void)state;
  struct rtcp_rx r = make();
  struct rtcp_info in;
  int64_t now = 2 * S, td;
  int k;

  for (k = 0; k < 100; k++)
    packet(&r, k, 0);
  rtcp_rx_start(&r, now, 0.5);
  for (k = 0; k < 3; k++) {
    in = rr_from(0x200000u + (uint32_t)k);
    rtcp_rx_member(&r, &in, now);
  }
  assert_int_equal(rtcp_rx_members(&r), 5);
  td = next_after_report(&r, now);   /* the minimum: 5 s / (e - 3/2) */
  in = rr_from(0x200000u);
  rtcp_rx_member(&r, &in, now + 20 * S);   /* one keeps reporting */
  rtcp_rx_due(&r, now + 27 * S, 0.5);      /* 27 s: past 5 x 5 s for the others */
  assert_true(27 * S > 5 * td * (2.71828182845904523536 - 1.5));
  assert_int_equal(rtcp_rx_members(&r), 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtcp_rx_build__losses__block_counts),
    cmocka_unit_test(test_rtcp_rx_build__burst__density_and_duration),
    cmocka_unit_test(test_rtcp_rx_input__sr__lsr_dlsr_and_clock_transit),
    cmocka_unit_test(test_rtcp_rx_input__dlrr__rtt_half_is_transit),
    cmocka_unit_test(test_rtcp_rx_input__early_sr_and_bye),
    cmocka_unit_test(test_rtcp_rx_sent__schedule__within_rfc_bounds),
    cmocka_unit_test(test_rtcp_rx_due__many_reports__mean_interval_not_shorter),
    cmocka_unit_test(test_rtcp_rx_member__group__interval_scales_with_members),
    cmocka_unit_test(test_rtcp_rx_member__silent__times_out),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
