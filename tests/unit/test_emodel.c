/* common/rx/emodel: worked values of G.107 with Cole and Rosenbluth's Id,
 * and BurstR from observed loss runs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "relay/impair.h"
#include "rx/emodel.h"

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void test_emodel__no_delay_no_loss__r93_2_mos4_41(void **state)
{
  (void)state;
  double r = emodel_r(0, 0, 1);
  near(r, 93.2, 1e-9);
  near(emodel_mos(r), 4.41, 0.005);
}

static void test_emodel__150ms_1pct_random__r86_0_mos4_23(void **state)
{
  (void)state;
  /* Id = 0.024 * 150 = 3.6; Ie,eff = 95 * 1 / (1 + 25.1) = 3.640. */
  near(emodel_id(150), 3.6, 1e-9);
  near(emodel_ie_eff(1, 1), 95.0 / 26.1, 1e-9);
  double r = emodel_r(150, 1, 1);
  near(r, 86.0, 0.05);
  near(emodel_mos(r), 4.23, 0.005);
}

static void test_emodel_id__knee_at_177_3(void **state)
{
  (void)state;
  near(emodel_id(177.3), 0.024 * 177.3, 1e-9);
  near(emodel_id(300), 0.024 * 300 + 0.11 * 122.7, 1e-9);   /* 20.697 */
  near(emodel_id(-5), 0, 1e-12);
  assert_true(isnan(emodel_r(NAN, 0, 1)));
  assert_true(isnan(emodel_mos(NAN)));
}

static void test_emodel_mos__bounds_and_monotonic(void **state)
{
  (void)state;
  near(emodel_mos(-10), 1.0, 0);
  near(emodel_mos(0), 1.0, 0);
  near(emodel_mos(100), 4.5, 0);
  near(emodel_mos(120), 4.5, 0);
  /* G.107 Annex B anchor points: R 50 -> 2.58, R 70 -> 3.60, R 80 -> 4.02. */
  near(emodel_mos(50), 2.575, 0.001);
  near(emodel_mos(70), 3.60, 0.005);
  near(emodel_mos(80), 4.02, 0.005);
  double prev = 1.0;
  for (double r = 0; r <= 100; r += 0.5) {
    double m = emodel_mos(r);
    assert_true(m >= prev - 1e-12);
    assert_true(m >= 1.0 && m <= 4.5);
    prev = m;
  }
}

static void test_emodel__bursty_loss__worse_than_random(void **state)
{
  (void)state;
  double random = emodel_r(100, 5, 1);
  double bursty = emodel_r(100, 5, 2.85);
  printf("5 %% loss at 100 ms: R %.2f random, %.2f with BurstR 2.85\n", random, bursty);
  /* Ie,eff: 95 * 5 / (5 + 25.1) = 15.78 against 95 * 5 / (5 / 2.85 + 25.1) = 17.69. */
  near(random - bursty, 475.0 / (5 / 2.85 + 25.1) - 475.0 / 30.1, 1e-9);
  assert_true(bursty < random - 1.5);
  /* Total random loss: 95 * 100 / 125.1; the MOS is then near 1. */
  near(emodel_ie_eff(100, 1), 95.0 * 100 / 125.1, 1e-9);
  assert_true(emodel_mos(emodel_r(0, 100, 1)) < 1.5);
}

static void test_emodel_runs__exact_sequence(void **state)
{
  (void)state;
  /* L N L L N N N L L L N: 6 lost of 11, runs 1, 2, 3. */
  const int seq[] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0};
  struct emodel_runs r;
  emodel_runs_init(&r);
  near(emodel_runs_burst_r(&r), 1, 0);
  near(emodel_runs_loss_pct(&r), 0, 0);
  for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
    emodel_runs_add(&r, seq[i]);
  assert_int_equal(r.frames, 11);
  assert_int_equal(r.lost, 6);
  near(emodel_runs_loss_pct(&r), 600.0 / 11, 1e-9);
  near(emodel_runs_mean_burst(&r), 2.0, 1e-12);
  /* From not lost (N at 1, 4, 5, 6 have a successor): 2 of 4 went to
   * lost; from lost (L at 0, 2, 3, 7, 8, 9): 3 of 6 went to not lost. */
  assert_int_equal(r.found_to_lost, 2);
  assert_int_equal(r.found_to_found, 2);
  assert_int_equal(r.lost_to_found, 3);
  assert_int_equal(r.lost_to_lost, 3);
  near(emodel_runs_burst_r(&r), 1.0 / (0.5 + 0.5), 1e-12);
}

/* Loss sequences from common/relay/impair: random gives BurstR near 1; Gilbert
 * with mean burst 3 at 5 % gives 1 / (p + q) = 3 * 0.95 = 2.85. */
static void test_emodel_runs__impair_sequences__burst_r(void **state)
{
  (void)state;
  uint64_t seed = 7;
  const char *s = getenv("DL_SEED");
  if (s && *s)
    seed = strtoull(s, NULL, 0);
  printf("seed %llu\n", (unsigned long long)seed);
  for (int bursty = 0; bursty <= 1; bursty++) {
    struct impair_config c;
    struct impair *im = NULL;
    struct emodel_runs r;
    impair_config_default(&c);
    c.seed = seed;
    c.loss_pct = 5;
    c.burst_len = bursty ? 3 : 0;
    assert_int_equal(impair_create(&im, &c, 0), 0);
    emodel_runs_init(&r);
    for (long k = 0; k < 100000; k++) {
      struct impair_fate f;
      impair_decide(im, k * 20000000LL, 100, &f);
      emodel_runs_add(&r, f.copies == 0);
    }
    impair_destroy(im);
    double br = emodel_runs_burst_r(&r);
    printf("%s: loss %.2f %%, mean burst %.2f, BurstR %.3f, R(100 ms) %.1f MOS %.2f\n",
           bursty ? "gilbert 5 %/3" : "random 5 %", emodel_runs_loss_pct(&r),
           emodel_runs_mean_burst(&r), br,
           emodel_r(100, emodel_runs_loss_pct(&r), br),
           emodel_mos(emodel_r(100, emodel_runs_loss_pct(&r), br)));
    if (bursty)
      near(br, 2.85, 0.285);
    else
      near(br, 1.0, 0.05);
  }
}

static void test_emodel_runs_add_lost__equals_single_adds(void **state)
{
  (void)state;
  struct emodel_runs a, b;

  emodel_runs_init(&a);
  emodel_runs_init(&b);
  for (int k = 0; k < 3; k++) {
    emodel_runs_add(&a, 0);
    emodel_runs_add(&b, 0);
    for (int i = 0; i < 7 * k; i++)
      emodel_runs_add(&a, 1);
    emodel_runs_add_lost(&b, (uint64_t)(7 * k));
  }
  assert_memory_equal(&a, &b, sizeof a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_emodel__no_delay_no_loss__r93_2_mos4_41),
    cmocka_unit_test(test_emodel__150ms_1pct_random__r86_0_mos4_23),
    cmocka_unit_test(test_emodel_id__knee_at_177_3),
    cmocka_unit_test(test_emodel_runs_add_lost__equals_single_adds),
    cmocka_unit_test(test_emodel_mos__bounds_and_monotonic),
    cmocka_unit_test(test_emodel__bursty_loss__worse_than_random),
    cmocka_unit_test(test_emodel_runs__exact_sequence),
    cmocka_unit_test(test_emodel_runs__impair_sequences__burst_r),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
