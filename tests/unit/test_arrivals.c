/* common/util/arrivals: the generated arrival traces that bench/sim and
 * bench/jbuf share, and the parsers of their --trace and --loss specs.
 * Seeded from DL_SEED (the generator's own seed). */
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
  assert_int_equal(arrivals_parse_trace(spec, &c, NULL), 0);
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
  assert_int_equal(arrivals_parse_trace("file:x.txt", &c, &path), 0);
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

/* Every field of a config alike (a parse that fails leaves cfg as it was). */
static int same_cfg(const struct arrivals_config *a, const struct arrivals_config *b)
{
  return a->kind == b->kind && a->p1 == b->p1 && a->p2 == b->p2 && a->base_ms == b->base_ms &&
         a->loss_pct == b->loss_pct && a->loss_burst == b->loss_burst &&
         a->calm_after_s == b->calm_after_s && a->seed == b->seed && a->table_ms == b->table_ms &&
         a->table_n == b->table_n;
}

static void test_arrivals_parse_trace__good_specs__kind_and_parameters(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    enum arrivals_kind kind;
    double p1, p2;
  } good[] = {
    {"constant", ARRIVALS_CONSTANT, 7, 8},   /* p1, p2 left as they were */
    {"normal", ARRIVALS_NORMAL, 10, 8},
    {"normal:2.5", ARRIVALS_NORMAL, 2.5, 8},
    {"pareto", ARRIVALS_PARETO, 10, 3},
    {"pareto:5", ARRIVALS_PARETO, 5, 3},
    {"pareto:5:2", ARRIVALS_PARETO, 5, 2},
    {"spikes", ARRIVALS_SPIKES, 30, 150},
    {"spikes:10:50", ARRIVALS_SPIKES, 10, 50},
    {"route", ARRIVALS_ROUTE, 60, 20},
    {"route:90:5", ARRIVALS_ROUTE, 90, 5},
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    struct arrivals_config c = {.p1 = 7, .p2 = 8, .base_ms = 5, .loss_pct = 1, .seed = 9};
    const char *path = "unset";
    assert_int_equal(arrivals_parse_trace(good[i].spec, &c, &path), 0);
    assert_int_equal(c.kind, good[i].kind);
    assert_true(c.p1 == good[i].p1 && c.p2 == good[i].p2);
    assert_true(c.base_ms == 5 && c.loss_pct == 1 && c.seed == 9);   /* nothing else touched */
    assert_string_equal(path, "unset");                            /* a path only for file: */
  }
}

static void test_arrivals_parse_trace__file__path_recorded_parameters_kept(void **state)
{
  (void)state;
  struct arrivals_config c = {.kind = ARRIVALS_PARETO, .p1 = 7, .p2 = 8};
  const char *path = NULL;
  const char *spec = "file:dir/a:b.txt";
  assert_int_equal(arrivals_parse_trace(spec, &c, &path), 0);
  assert_int_equal(c.kind, ARRIVALS_TABLE);
  assert_ptr_equal(path, spec + 5);   /* within the spec: nothing is copied or read */
  assert_true(c.p1 == 7 && c.p2 == 8);
  assert_int_equal(arrivals_parse_trace("file:x", &c, NULL), 0);   /* the path is optional */
}

static void test_arrivals_parse_trace__bad_specs__einval_untouched(void **state)
{
  (void)state;
  static const char *const bad[] = {"", "file:", "file", "normal:", "normal:0", "normal:-1", "normal:5x",
                                    "normal:nan", "pareto:10:", "pareto:10:0", "pareto::3", "spikes:1:2:3",
                                    "gauss:10", "normalx", "Normal", "constant:1", " constant", "route:"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct arrivals_config c = {.kind = ARRIVALS_SPIKES, .p1 = 7, .p2 = 8}, before = c;
    const char *path = "unset";
    assert_int_equal(arrivals_parse_trace(bad[i], &c, &path), -EINVAL);
    assert_true(same_cfg(&c, &before));
    assert_string_equal(path, "unset");
  }
}

static void test_arrivals_parse_loss__good_specs__rate_and_burst(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    double pct, burst;
  } good[] = {
    {"0", 0, 4},        /* no BURST: the burst is left as it was */
    {"2.5", 2.5, 4},
    {"3:2", 3, 2},
    {"50:1000", 50, 1000},
    {"0:1", 0, 1},
    {"1.5:2.5", 1.5, 2.5},
    {"0.00000000000000000000000000001", 1e-29, 4},   /* 31 characters: the longest PCT */
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    struct arrivals_config c = {.kind = ARRIVALS_NORMAL, .p1 = 7, .loss_burst = 4, .seed = 9};
    assert_int_equal(arrivals_parse_loss(good[i].spec, &c), 0);
    assert_true(c.loss_pct == good[i].pct);
    assert_true(c.loss_burst == good[i].burst);
    assert_true(c.kind == ARRIVALS_NORMAL && c.p1 == 7 && c.seed == 9);
  }
}

static void test_arrivals_parse_loss__bad_specs__einval_untouched(void **state)
{
  (void)state;
  static const char *const bad[] = {"", ":", ":3", "abc", "2x", "50.1", "-1", "nan", "inf", "2:", "2:0",
                                    "2:0.5", "2:1001", "2:-1", "2:3:4", "2:nan", "2:3x", "60:2"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct arrivals_config c = {.loss_pct = 7, .loss_burst = 4}, before = c;
    assert_int_equal(arrivals_parse_loss(bad[i], &c), -EINVAL);
    assert_true(same_cfg(&c, &before));
  }
}

static void test_arrivals_parse_loss__pct_over_31_chars__e2big(void **state)
{
  (void)state;
  struct arrivals_config c = {.loss_pct = 7, .loss_burst = 4}, before = c;
  /* 32 characters, a valid number: too long all the same (the programs
   * say "expected PCT[:BURST]" for it, not the range). */
  assert_int_equal(arrivals_parse_loss("0.000000000000000000000000000001:2", &c), -E2BIG);
  assert_int_equal(arrivals_parse_loss("1234567890123456789012345678901234567890", &c), -E2BIG);
  assert_true(same_cfg(&c, &before));
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
    cmocka_unit_test(test_arrivals_parse_trace__good_specs__kind_and_parameters),
    cmocka_unit_test(test_arrivals_parse_trace__file__path_recorded_parameters_kept),
    cmocka_unit_test(test_arrivals_parse_trace__bad_specs__einval_untouched),
    cmocka_unit_test(test_arrivals_parse_loss__good_specs__rate_and_burst),
    cmocka_unit_test(test_arrivals_parse_loss__bad_specs__einval_untouched),
    cmocka_unit_test(test_arrivals_parse_loss__pct_over_31_chars__e2big),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
