/* common/rx/delay: the adaptive target from arrival traces (20 ms packets),
 * seeded from DL_SEED. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "rx/delay.h"

static unsigned seed;

static double gauss(void)
{
  double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
  return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static struct delay *make(void)
{
  struct delay *d = NULL;
  struct delay_config c = {.quantile = 0.97, .min_ns = 10000000, .max_ns = 500000000,
                           .initial_ns = 60000000};
  assert_int_equal(delay_create(&d, &c), 0);
  return d;
}

/* Feeds packets k0..k1-1 sent every 20 ms by a sender whose clock runs
 * skew_ppm fast, with a base delay and a jitter sd (ms) or extra (ms). */
static void feed(struct delay *d, int k0, int k1, double skew_ppm, double sd_ms, double extra_ms,
                 uint32_t ts0)
{
  for (int k = k0; k < k1; k++) {
    double send = k * 0.02 / (1 + skew_ppm * 1e-6);
    double j = sd_ms > 0 ? fabs(gauss()) * sd_ms : 0;
    int64_t arrival = 1000000000LL + (int64_t)((send + 0.005 + (j + extra_ms) * 1e-3) * 1e9);
    delay_put(d, arrival, ts0 + (uint32_t)k * 960u, 960);
  }
}

static void test_delay_target__initial_then_constant_path__one_frame(void **state)
{
  (void)state;
  struct delay *d = make();
  assert_int_equal(delay_target(d), 60000000);
  assert_int_equal(delay_expected_arrival(d, 0), 0);
  feed(d, 0, 20, 0, 0, 0, 0);
  assert_int_equal(delay_target(d), 60000000);   /* too few packets yet */
  feed(d, 20, 3000, 0, 0, 0, 0);
  /* No jitter: the quantile is within the zero bucket (+-0.5 ms), plus 20 ms. */
  assert_true(llabs(delay_target(d) - 20000000) <= 500000);
  delay_destroy(d);
}

static void test_delay_target__skew_and_wrap__tracked_no_bias(void **state)
{
  (void)state;
  struct delay *d = make();
  /* 500 ppm over an hour is 1.8 s of creep; the timestamps wrap. */
  feed(d, 0, 180000, 500, 0, 0, 0xfff00000u);
  assert_true(delay_target(d) <= 22000000);
  assert_true(llabs(delay_last_relative(d)) < 100000);   /* within 0.1 ms */
  uint32_t ts = 0xfff00000u + 180000u * 960u;
  double send = 180000 * 0.02 / (1 + 500e-6);
  int64_t expect = 1000000000LL + (int64_t)((send + 0.005) * 1e9);
  assert_true(llabs(delay_expected_arrival(d, ts) - expect) < 200000);
  delay_destroy(d);
}

static void test_delay_target__normal_jitter__near_quantile(void **state)
{
  (void)state;
  srand(seed);
  struct delay *d = make();
  feed(d, 0, 6000, 0, 10, 0, 0);
  /* |N(0, 10 ms)|: the tracker sits near its mean (8 ms), the 0.97
   * quantile is 21.7 ms: relative 13.7 ms, target about 33.7 ms. */
  int64_t t = delay_target(d);
  assert_true(t > 28000000 && t < 40000000);
  delay_destroy(d);
}

static void test_delay_target__step_up__rises_within_a_second(void **state)
{
  (void)state;
  struct delay *d = make();
  feed(d, 0, 3000, 0, 0, 0, 0);
  int64_t before = delay_target(d);
  int k = 3000;
  while (delay_target(d) < before + 30000000 && k < 3050) {
    feed(d, k, k + 1, 0, 0, 40, 0);
    k++;
  }
  assert_true(k - 3000 <= 50);   /* 1 s of late packets at most */
  delay_destroy(d);
}

static void test_delay_target__calm_after_rough__down_within_30s(void **state)
{
  (void)state;
  srand(seed);
  struct delay *d = make();
  feed(d, 0, 6000, 0, 30, 0, 0);
  int64_t rough = delay_target(d);
  assert_true(rough > 50000000);
  feed(d, 6000, 6000 + 1500, 0, 1, 0, 0);   /* 30 s calm */
  int64_t calm = delay_target(d);
  assert_true(calm < 30000000);
  delay_destroy(d);
}

static void test_delay_target__bounds__clamped(void **state)
{
  (void)state;
  struct delay *d = NULL;
  struct delay_config c = {.quantile = 0.97, .min_ns = 30000000, .max_ns = 80000000,
                           .initial_ns = 5000000};
  assert_int_equal(delay_create(&d, &c), 0);
  assert_int_equal(delay_target(d), 30000000);
  srand(seed);
  feed(d, 0, 3000, 0, 200, 0, 0);
  assert_int_equal(delay_target(d), 80000000);
  delay_reset(d);
  feed(d, 0, 3000, 0, 0, 0, 0);
  assert_int_equal(delay_target(d), 30000000);
  delay_destroy(d);
}

static void test_delay_create__bad_config__einval(void **state)
{
  (void)state;
  struct delay *d = NULL;
  struct delay_config c = {.quantile = 1.0, .min_ns = 0, .max_ns = 1000000};
  assert_int_equal(delay_create(&d, &c), -EINVAL);
  c.quantile = 0.97;
  c.max_ns = -1;
  assert_int_equal(delay_create(&d, &c), -EINVAL);
  c.max_ns = 3000000000LL;
  assert_int_equal(delay_create(&d, &c), -EINVAL);
  assert_null(d);
  delay_destroy(NULL);
}

/* A route change told with delay_shift: the tracked delay moves at once,
 * so that the next packets on the new route are on the line (relative
 * delay about 0), and the target (the spread around it) stays. */
static void test_delay_shift__route_step__line_moves_target_stays(void **state)
{
  (void)state;
  struct delay_config c = {.quantile = 0.97, .min_ns = 1000000, .max_ns = 500000000, .initial_ns = 60000000};
  struct delay *d;
  assert_int_equal(delay_create(&d, &c), 0);
  for (int k = 0; k < 500; k++)
    delay_put(d, (int64_t)k * 20000000 + 20000000 + (k % 5) * 1000000, (uint32_t)k * 960, 960);
  int64_t target = delay_target(d);
  delay_shift(d, 100000000);
  for (int k = 500; k < 510; k++) {
    delay_put(d, (int64_t)k * 20000000 + 120000000 + (k % 5) * 1000000, (uint32_t)k * 960, 960);
    assert_true(llabs(delay_last_relative(d)) < 5000000);
  }
  assert_true(llabs(delay_target(d) - target) < 2000000);
  delay_destroy(d);
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  seed = s ? (unsigned)strtoul(s, NULL, 10) : 1234u;
  printf("seed %u (DL_SEED)\n", seed);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_delay_target__initial_then_constant_path__one_frame),
    cmocka_unit_test(test_delay_target__skew_and_wrap__tracked_no_bias),
    cmocka_unit_test(test_delay_target__normal_jitter__near_quantile),
    cmocka_unit_test(test_delay_target__step_up__rises_within_a_second),
    cmocka_unit_test(test_delay_target__calm_after_rough__down_within_30s),
    cmocka_unit_test(test_delay_target__bounds__clamped),
    cmocka_unit_test(test_delay_create__bad_config__einval),
    cmocka_unit_test(test_delay_shift__route_step__line_moves_target_stays),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
