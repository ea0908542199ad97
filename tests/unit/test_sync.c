/* common/rx/sync: the clock filter (least-delayed sample, least round
 * trip, their ageing), the error bound, the RTP-to-wall-clock map (SR over
 * the header extension, the sender's rate from SRs) and the target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "defaults.h"
#include "rx/sync.h"

#define MS 1000000LL
#define S 1000000000LL
/* The receiver's monotonic clock runs this far behind the sender's wall. */
#define WALL0 (1700000000LL * S)
#define MONO_OF(wall) ((wall) - WALL0 + 5000 * S)

static struct sync make(int64_t delay_ms, int64_t trim_ms)
{
  struct sync s;
  struct sync_config c = {.delay_ns = delay_ms * MS, .trim_ns = trim_ms * MS};
  sync_init(&s, &c);
  return s;
}

static void test_sync_get__nothing__none(void **state)
{
  (void)state;
  struct sync s = make(150, 0);
  struct sync_map m;

  assert_int_equal(sync_get(&s, 1, &m), SYNC_NONE);
  assert_int_equal(m.valid, 0);
  assert_int_equal(sync_error_ns(&s, 1), -1);
  assert_string_equal(sync_source_name(SYNC_NONE), "none");
}

/* Offsets from packets with different transits: the least is kept, and
 * with a round trip its half comes off; the play time of T is W(T) on our
 * clock plus delay and trim. */
static void test_sync_sr__least_delayed_sample__selected(void **state)
{
  (void)state;
  struct sync s = make(150, 3);
  struct sync_map m;
  const int64_t transit[] = {4 * MS, 1 * MS, 7 * MS, 2 * MS};
  int64_t w = WALL0;
  uint32_t ts = 1000;

  for (int i = 0; i < 4; i++) {
    sync_sr(&s, 7, w, ts, MONO_OF(w) + transit[i]);
    w += S;
    ts += DL_RATE;
  }
  int64_t now = MONO_OF(w);
  assert_int_equal(sync_get(&s, now, &m), SYNC_SR);
  assert_int_equal(m.valid, 1);
  assert_int_equal(m.ssrc, 7);
  assert_int_equal(sync_error_ns(&s, now), -1);   /* no round trip: unknown */
  /* The 1 ms sample (aged 2 s: 30 ns) wins over the 2 ms one (aged 0). */
  int64_t off = sync_clock_offset_ns(&s, now);
  assert_true(off == MONO_OF(WALL0) - WALL0 + 1 * MS);
  /* T = the last SR's: at its wall clock on our clock, + 150 + 3 ms. */
  int64_t want = MONO_OF(w - S) + 1 * MS + 153 * MS;
  assert_true(llabs(sync_play_ns(&m, ts - DL_RATE) - want) < 1000);

  /* A round trip of 2 ms: its half is the transit; 1.5 ms of the least
   * sample's 1 ms is not, but the estimate moves by it all the same, and the
   * error bound says so. */
  sync_rtt(&s, 5 * MS, now);
  sync_rtt(&s, 2 * MS, now);
  sync_rtt(&s, 9 * MS, now);
  assert_int_equal(sync_get(&s, now, &m), SYNC_RTT);
  assert_true(sync_clock_offset_ns(&s, now) == MONO_OF(WALL0) - WALL0 + 1 * MS - 1 * MS);
  int64_t err = sync_error_ns(&s, now);
  assert_true(err >= 1 * MS && err < 1 * MS + 100000);
}

/* An old sample ages out against a newer, a little worse one: NTP's PHI.
 * The error bound grows with the age of what is used. */
static void test_sync_filter__ageing__newer_sample_wins(void **state)
{
  (void)state;
  struct sync s = make(150, 0);
  int64_t w = WALL0;

  sync_sr(&s, 1, w, 0, MONO_OF(w) + 1 * MS);
  sync_rtt(&s, 2 * MS, MONO_OF(w));
  /* 100 s later, a sample 1 ms worse: 100 s * 15 ppm = 1.5 ms of ageing. */
  w += 100 * S;
  sync_sr(&s, 1, w, 100 * DL_RATE, MONO_OF(w) + 2 * MS);
  int64_t now = MONO_OF(w);
  assert_true(sync_clock_offset_ns(&s, now) == MONO_OF(WALL0) - WALL0 + 2 * MS - 1 * MS);
  /* The round trip is 100 s old: 1 ms + 2 * 1.5 / 2 ms. */
  int64_t err = sync_error_ns(&s, now);
  assert_true(err > 2 * MS + 400000 && err < 2 * MS + 600000);
  /* A fresh round trip of 3 ms is worse than the old one aged (2 + 3 ms). */
  sync_rtt(&s, 3 * MS, now);
  err = sync_error_ns(&s, now);
  assert_true(err >= 3 * MS / 2 && err < 3 * MS / 2 + 1000);
}

/* The header extension maps RTP time until an SR does; a new SSRC starts
 * over. */
static void test_sync_ext__before_sr__maps_then_sr_takes_over(void **state)
{
  (void)state;
  struct sync s = make(100, 0);
  struct sync_map m;
  int64_t w = WALL0;

  sync_ext(&s, 9, w, 5000, MONO_OF(w) + 200000);
  assert_int_equal(sync_get(&s, MONO_OF(w), &m), SYNC_EXT);
  assert_true(llabs(sync_play_ns(&m, 5000 + 480) - (MONO_OF(w) + 200000 + 10 * MS + 100 * MS)) < 10);
  /* An SR whose mapping differs by 1 ms (the ext was stamped at the
   * deadline, the SR when it was built): the SR's is used. */
  sync_sr(&s, 9, w + 2 * S + 1 * MS, 5000 + 2 * DL_RATE, MONO_OF(w + 2 * S) + 200000);
  assert_int_equal(sync_get(&s, MONO_OF(w + 2 * S), &m), SYNC_SR);
  assert_int_equal(m.ts, 5000 + 2 * DL_RATE);
  /* Later extensions do not move the anchor. */
  sync_ext(&s, 9, w + 3 * S, 5000 + 3 * DL_RATE, MONO_OF(w + 3 * S) + 300000);
  assert_int_equal(sync_get(&s, MONO_OF(w + 3 * S), &m), SYNC_SR);
  assert_int_equal(m.ts, 5000 + 2 * DL_RATE);
  /* Another source: everything restarts from its samples. */
  sync_ext(&s, 10, w + 4 * S, 77, MONO_OF(w + 4 * S) + 300000);
  assert_int_equal(sync_get(&s, MONO_OF(w + 4 * S), &m), SYNC_EXT);
  assert_int_equal(m.ssrc, 10);
  assert_int_equal(m.ts, 77);
}

/* A sender whose RTP clock runs 200 ppm fast against its wall clock: two
 * SRs 20 s apart measure it, and a time 10 s past the last SR maps right;
 * an implausible rate restarts the span. */
static void test_sync_sr__sender_rate__measured(void **state)
{
  (void)state;
  struct sync s = make(150, 0);
  struct sync_map m;
  double r = DL_RATE * (1 + 200e-6);
  int64_t w = WALL0;

  sync_sr(&s, 1, w, 0, MONO_OF(w));
  sync_sr(&s, 1, w + 20 * S, (uint32_t)(20 * r), MONO_OF(w + 20 * S));
  sync_get(&s, MONO_OF(w + 20 * S), &m);
  assert_true(fabs(m.ns_per_tick * r / 1e9 - 1) < 1e-7);
  uint32_t t30 = (uint32_t)(30 * r);
  assert_true(llabs(sync_play_ns(&m, t30) - (MONO_OF(w + 30 * S) + 150 * MS)) < 2000);

  sync_sr(&s, 1, w + 40 * S, (uint32_t)(40 * r) + DL_RATE, MONO_OF(w + 40 * S));   /* 1 s off */
  sync_get(&s, MONO_OF(w + 40 * S), &m);
  assert_true(m.ns_per_tick == 1e9 / DL_RATE);
}

/* The target: the sync instant minus the expected arrival, across the RTP
 * timestamp's wrap. */
static void test_sync_target__wrap__difference(void **state)
{
  (void)state;
  struct sync_map m = {.valid = 1, .ts = 0xffffff00u, .play_ns = 10 * S, .ns_per_tick = 1e9 / DL_RATE};

  assert_true(sync_play_ns(&m, 0xffffff00u + 480) == 10 * S + 10 * MS);
  assert_true(sync_target_ns(&m, 0xffffff00u + 480, 10 * S - 140 * MS) == 150 * MS);
  assert_true(sync_play_ns(&m, 0xffffff00u - 48) == 10 * S - 1 * MS);
}

/* Without NTP: our clock 50 ppm fast against the sender's, SRs every 5 s
 * for 100 s with 0..2 ms of queueing each. The least-delayed sample alone,
 * from long ago, would put the offset now milliseconds off; carried at the
 * rate the samples show, it is found within 0.4 ms, and the map's rate
 * carries the play time 10 s past the last SR. */
static void test_sync_filter__clocks_50ppm_apart__rate_carried(void **state)
{
  (void)state;
  struct sync s = make(150, 0);
  struct sync_map m;
  uint32_t seed = 7;
  const double ppm = 50;

  for (int k = 0; k <= 20; k++) {
    int64_t w = WALL0 + (int64_t)k * 5 * S;
    int64_t mono = MONO_OF(w) + (int64_t)((double)(w - WALL0) * ppm * 1e-6);
    seed = seed * 1103515245u + 12345u;
    sync_sr(&s, 1, w, (uint32_t)(k * 5 * DL_RATE), mono + (int64_t)((seed >> 8) % 2000000));
  }
  int64_t wnow = WALL0 + 100 * S, now = MONO_OF(wnow) + (int64_t)(100 * S * ppm * 1e-6);
  int64_t est = sync_clock_offset_ns(&s, now);
  printf("offset error %.3f ms, rate %.2f ppm\n", (double)(est - (now - wnow)) / 1e6, sync_clock_rate_ppm(&s));
  assert_true(llabs(est - (now - wnow)) < 400000);
  assert_true(fabs(sync_clock_rate_ppm(&s) - ppm) < 10);
  sync_get(&s, now, &m);
  int64_t w10 = wnow + 10 * S, mono10 = MONO_OF(w10) + (int64_t)((double)(w10 - WALL0) * ppm * 1e-6);
  assert_true(llabs(sync_play_ns(&m, 110 * DL_RATE) - (mono10 + 150 * MS)) < 400000);
}

/* A loaded start: the first second's header-extension stamps (every
 * packet's, at its deadline) reach us 8 ms later than the sender meant,
 * then the SRs (one every 2 s: a group's scaled interval) come on time. The clocks' rate must stay
 * about 0 while the stamps are still among the filter's samples (fitted
 * with them it was the bound, -1000 ppm, and the offset walked 1 ms a
 * second), and the offset stay the SRs'. */
static void test_sync_filter__late_first_second__rate_from_srs(void **state)
{
  (void)state;
  struct sync s = make(150, 0);
  const int64_t transit = 200000;

  for (int k = 0; k < 50; k++) {
    int64_t w = WALL0 + (int64_t)k * 20 * MS;
    sync_ext(&s, 1, w, (uint32_t)(k * 960), MONO_OF(w) + transit + 8 * MS);
  }
  for (int k = 1; k <= 20; k++) {
    int64_t w = WALL0 + (int64_t)k * 2 * S, now = MONO_OF(w) + transit;
    sync_sr(&s, 1, w, (uint32_t)(k * 2 * DL_RATE), now + (k % 3) * 50000);
    double ppm = sync_clock_rate_ppm(&s);
    int64_t err = sync_clock_offset_ns(&s, now) - (now - w);
    if (fabs(ppm) > 20 || llabs(err) > 150000)
      fail_msg("after %d SRs: rate %.1f ppm, offset %.3f ms off", k, ppm, (double)err / 1e6);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sync_get__nothing__none),
    cmocka_unit_test(test_sync_sr__least_delayed_sample__selected),
    cmocka_unit_test(test_sync_filter__ageing__newer_sample_wins),
    cmocka_unit_test(test_sync_ext__before_sr__maps_then_sr_takes_over),
    cmocka_unit_test(test_sync_sr__sender_rate__measured),
    cmocka_unit_test(test_sync_target__wrap__difference),
    cmocka_unit_test(test_sync_filter__clocks_50ppm_apart__rate_carried),
    cmocka_unit_test(test_sync_filter__late_first_second__rate_from_srs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
