/* common/rx/latstats: quantiles from the fixed histogram against exact
 * quantiles of the same samples (sorted), within one 0.1 ms bin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "rx/latstats.h"

static struct latstats ls;

static void test_latstats__empty__nan(void **state)
{
  (void)state;
  latstats_reset(&ls);
  assert_true(isnan(latstats_mean(&ls)));
  assert_true(isnan(latstats_max(&ls)));
  assert_true(isnan(latstats_quantile(&ls, 0.5)));
  assert_int_equal(ls.count, 0);
}

static void test_latstats__constant__every_quantile_exact(void **state)
{
  (void)state;
  latstats_reset(&ls);
  for (int i = 0; i < 1000; i++)
    latstats_add(&ls, 60.0);
  assert_true(latstats_mean(&ls) == 60.0);
  assert_true(latstats_max(&ls) == 60.0);
  assert_true(latstats_quantile(&ls, 0.5) == 60.0);
  assert_true(latstats_quantile(&ls, 0.99) == 60.0);
  assert_true(latstats_quantile(&ls, 0.0) == 60.0);
  assert_true(latstats_quantile(&ls, 1.0) == 60.0);
}

static void test_latstats__uniform_1_to_100__percentiles(void **state)
{
  (void)state;
  latstats_reset(&ls);
  for (int i = 1; i <= 100; i++)
    latstats_add(&ls, (double)i);
  /* The smallest value with at least q of the samples at or below it. */
  assert_true(fabs(latstats_quantile(&ls, 0.50) - 50.0) <= 0.1);
  assert_true(fabs(latstats_quantile(&ls, 0.95) - 95.0) <= 0.1);
  assert_true(fabs(latstats_quantile(&ls, 0.99) - 99.0) <= 0.1);
  assert_true(latstats_max(&ls) == 100.0);
  assert_true(fabs(latstats_mean(&ls) - 50.5) < 1e-9);
}

static void test_latstats__overflow_and_negative__clamped(void **state)
{
  (void)state;
  latstats_reset(&ls);
  latstats_add(&ls, -5.0);
  latstats_add(&ls, NAN);
  latstats_add(&ls, 2500.0);
  latstats_add(&ls, 9999.0);
  assert_int_equal(ls.count, 4);
  assert_int_equal(ls.bins[0], 2);
  assert_int_equal(ls.bins[LATSTATS_BINS], 2);
  assert_true(latstats_quantile(&ls, 0.25) <= LATSTATS_BIN_MS);
  assert_true(latstats_quantile(&ls, 0.99) == 9999.0);   /* overflow reads as max */
  assert_true(latstats_max(&ls) == 9999.0);
  latstats_reset(&ls);
  assert_int_equal(ls.count, 0);
  assert_int_equal(ls.bins[LATSTATS_BINS], 0);
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_latstats__random__within_one_bin_of_exact(void **state)
{
  (void)state;
  const char *env = getenv("DL_SEED");
  unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 4242u;
  enum { N = 20000 };
  static double v[N];
  static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999};

  printf("test_latstats random: DL_SEED=%u\n", seed);
  srand(seed);
  latstats_reset(&ls);
  double sum = 0;
  for (int i = 0; i < N; i++) {
    /* A skewed distribution like real latencies: 40 ms plus an exponential tail. */
    double u = (rand() + 1.0) / (RAND_MAX + 2.0);
    v[i] = 40.0 - 15.0 * log(u);
    if (v[i] > 1999.0)
      v[i] = 1999.0;
    sum += v[i];
    latstats_add(&ls, v[i]);
  }
  qsort(v, N, sizeof v[0], cmp);
  for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
    double exact = v[(size_t)ceil(qs[k] * N) - 1];
    assert_true(fabs(latstats_quantile(&ls, qs[k]) - exact) <= LATSTATS_BIN_MS);
  }
  assert_true(fabs(latstats_mean(&ls) - sum / N) < 1e-9);
  assert_true(latstats_max(&ls) == v[N - 1]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_latstats__empty__nan),
    cmocka_unit_test(test_latstats__constant__every_quantile_exact),
    cmocka_unit_test(test_latstats__uniform_1_to_100__percentiles),
    cmocka_unit_test(test_latstats__overflow_and_negative__clamped),
    cmocka_unit_test(test_latstats__random__within_one_bin_of_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
