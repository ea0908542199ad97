/* common/util/arrivals: the generated arrival traces that bench/sim and
 * bench/jbuf share. Seeded from DL_SEED (the generator's own seed). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/arrivals.h"

#define N 30000   /* 10 minutes of 20 ms packets */

static uint64_t seed;

static void trace(const char *spec, double loss_pct, uint64_t s, double *out)
{
  struct arrivals_config c = {.base_ms = 5, .loss_pct = loss_pct, .loss_burst = 2, .seed = s};
  struct arrivals a;
  assert_int_equal(arrivals_parse(spec, &c, NULL), 0);
  arrivals_init(&a, &c);
  for (size_t k = 0; k < N; k++)
    out[k] = arrivals_delay(&a, k, (double)k * 0.02);
}

static int same(const double *x, const double *y)
{
  for (size_t k = 0; k < N; k++)
    if (!(x[k] == y[k] || (isnan(x[k]) && isnan(y[k]))))
      return 0;
  return 1;
}

static void test_arrivals_delay__same_seed__same_trace_other_seed_differs(void **state)
{
  (void)state;
  static double a[N], b[N];
  static const char *const specs[] = {"constant", "normal:10", "pareto:10:3", "spikes:30:150", "route:60:20"};
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    trace(specs[i], 3, seed, a);
    trace(specs[i], 3, seed, b);
    assert_true(same(a, b));
    trace(specs[i], 3, seed + 1, b);
    assert_false(same(a, b));   /* the loss pattern alone differs */
  }
}

static void test_arrivals_delay__normal__mean_and_sd(void **state)
{
  (void)state;
  static double a[N];
  trace("normal:10", 0, seed, a);
  double s = 0, s2 = 0;
  for (size_t k = 0; k < N; k++) {
    assert_true(a[k] >= 5);   /* never below the base: no negative extra */
    s += a[k];
    s2 += a[k] * a[k];
  }
  double mean = s / N, sd = sqrt(s2 / N - mean * mean);
  /* base 5 + 3 sd = 35 ms; clipping at 0 is 3 sd away, negligible. */
  assert_true(fabs(mean - 35) < 0.5);
  assert_true(fabs(sd - 10) < 0.5);
}

static void test_arrivals_delay__loss__rate_and_bursts(void **state)
{
  (void)state;
  static double a[N];
  trace("constant", 5, seed, a);
  int lost = 0, bursts = 0;
  for (size_t k = 0; k < N; k++) {
    if (isnan(a[k])) {
      lost++;
      bursts += k == 0 || !isnan(a[k - 1]);
    } else {
      assert_true(a[k] == 5);
    }
  }
  assert_true(fabs(100.0 * lost / N - 5) < 1);
  assert_true(fabs((double)lost / bursts - 2) < 0.3);   /* mean burst length */
}

static void test_arrivals_delay__spikes__stall_then_release(void **state)
{
  (void)state;
  static double a[N];
  trace("spikes:30:150", 0, seed, a);
  /* A spike is a stall: the delay jumps up, then falls 20 ms per packet
   * (each packet sent 20 ms later waits 20 ms less). */
  int spikes = 0;
  for (size_t k = 1; k + 1 < N; k++)
    if (a[k] - a[k - 1] > 50) {
      spikes++;
      assert_true(fabs((a[k] - a[k + 1]) - 20) < 5 || a[k + 1] < 10);
    }
  /* ~30 s apart over 600 s: 20 expected. */
  assert_true(spikes >= 8 && spikes <= 35);
}

static void test_arrivals_delay__table__replayed_then_lost(void **state)
{
  (void)state;
  double t[3] = {1.5, NAN, 7};
  struct arrivals_config c = {0};
  const char *path = NULL;
  struct arrivals a;
  assert_int_equal(arrivals_parse("file:x.txt", &c, &path), 0);
  assert_int_equal(c.kind, ARRIVALS_TABLE);
  assert_string_equal(path, "x.txt");
  c.table_ms = t;
  c.table_n = 3;
  arrivals_init(&a, &c);
  assert_true(arrivals_delay(&a, 0, 0) == 1.5);
  assert_true(isnan(arrivals_delay(&a, 1, 0.02)));
  assert_true(arrivals_delay(&a, 2, 0.04) == 7);
  assert_true(isnan(arrivals_delay(&a, 3, 0.06)));   /* past the table: lost */
}

static void test_arrivals_parse__specs(void **state)
{
  (void)state;
  struct arrivals_config c = {0};
  assert_int_equal(arrivals_parse("pareto", &c, NULL), 0);
  assert_int_equal(c.kind, ARRIVALS_PARETO);
  assert_true(c.p1 == 10 && c.p2 == 3);
  assert_int_equal(arrivals_parse("route:90:5", &c, NULL), 0);
  assert_true(c.kind == ARRIVALS_ROUTE && c.p1 == 90 && c.p2 == 5);
  assert_int_equal(arrivals_parse("normal:2.5", &c, NULL), 0);
  assert_true(c.kind == ARRIVALS_NORMAL && c.p1 == 2.5);
  static const char *const bad[] = {"", "file:", "normal:", "normal:0", "normal:-1", "normal:5x",
                                    "pareto:10:", "spikes:1:2:3", "gauss:10", "normalx"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(arrivals_parse(bad[i], &c, NULL), -EINVAL);
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  seed = s ? strtoull(s, NULL, 10) : 1234u;
  printf("seed %llu (DL_SEED)\n", (unsigned long long)seed);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_arrivals_delay__same_seed__same_trace_other_seed_differs),
    cmocka_unit_test(test_arrivals_delay__normal__mean_and_sd),
    cmocka_unit_test(test_arrivals_delay__loss__rate_and_bursts),
    cmocka_unit_test(test_arrivals_delay__spikes__stall_then_release),
    cmocka_unit_test(test_arrivals_delay__table__replayed_then_lost),
    cmocka_unit_test(test_arrivals_parse__specs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
