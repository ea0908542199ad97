/* common/tx/adapt: the trajectory of the sender's settings under report
 * sequences: a clean path, a loss step 0 -> 10 % -> 0 (rises at the first
 * lossy report, falls after it stops), hysteresis against a loss that
 * wobbles, --no-fec, and the bitrate under a queue that builds (down, not
 * below the floor) and calms (back up, not above the ceiling). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "defaults.h"
#include "tx/adapt.h"

static struct adapt start(int fec, int loss, int rate, int min)
{
  struct adapt a;
  struct adapt_config c = {.fec = fec, .loss_perc = loss, .bitrate = rate, .min_bitrate = min};
  adapt_init(&a, &c);
  return a;
}

static unsigned report(struct adapt *a, double loss, double rtt, double rtt_min)
{
  struct adapt_input in = {.loss_pct = loss, .rtt_ms = rtt, .rtt_min_ms = rtt_min};
  return adapt_report(a, &in);
}

static void test_adapt_report__clean_path__falls_to_zero_fec_off(void **state)
{
  (void)state;
  struct adapt a = start(1, 10, 32000, 12000);
  int i, prev = 10;

  assert_int_equal(a.loss_perc, 10);
  assert_int_equal(a.fec, 1);
  assert_int_equal(report(&a, 0, 1, 1), 0);            /* one report is not enough */
  for (i = 0; i < 10 && a.loss_perc > 0; i++) {
    report(&a, 0, 1, 1);
    assert_true(a.loss_perc <= prev);                  /* only down, in steps */
    prev = a.loss_perc;
  }
  assert_true(i <= 5);
  assert_int_equal(a.loss_perc, 0);
  assert_int_equal(a.fec, 0);
  assert_int_equal(a.bitrate, 32000);
  for (i = 0; i < 10; i++)
    assert_int_equal(report(&a, 0, 1, 1), 0);
}

/* The trajectory of issue 13's loss step: reports of 0 %, then about 10 %
 * (as a 1 s interval of 50 packets measures it), then 0 again. */
static void test_adapt_report__loss_step__rises_then_falls(void **state)
{
  (void)state;
  static const double lossy[] = {12, 8, 10, 14, 6, 10, 12, 8};
  struct adapt a = start(1, 10, 32000, 12000);
  int peak = 0, i, fell_after = -1;

  for (i = 0; i < 10; i++)
    report(&a, 0, 1, 1);
  assert_int_equal(a.loss_perc, 0);
  assert_int_equal(report(&a, lossy[0], 1, 1), ADAPT_LOSS | ADAPT_FEC);
  assert_int_equal(a.loss_perc, 12);
  assert_int_equal(a.fec, 1);
  for (i = 1; i < 8; i++) {
    report(&a, lossy[i], 1, 1);
    assert_true(a.loss_perc >= 8 && a.loss_perc <= 14);
    assert_int_equal(a.fec, 1);
    peak = a.loss_perc > peak ? a.loss_perc : peak;
  }
  assert_int_equal(peak, 14);
  for (i = 0; i < 20 && a.loss_perc > 0; i++)
    report(&a, 0, 1, 1);
  fell_after = i;
  assert_int_equal(a.loss_perc, 0);
  assert_int_equal(a.fec, 0);
  /* Halving from 14: about four reports to the floor, in steps. */
  assert_true(fell_after >= 3 && fell_after <= 8);
  assert_int_equal(a.bitrate, 32000);   /* random loss, no queue: no step down */
}

/* A loss that wobbles by a point around its level does not move the
 * setting every report. */
static void test_adapt_report__wobble__hysteresis_holds(void **state)
{
  (void)state;
  struct adapt a = start(1, 5, 32000, 12000);
  int changes = 0;

  for (int i = 0; i < 30; i++)
    changes += (report(&a, i % 2 ? 5 : 6, 1, 1) & ADAPT_LOSS) != 0;
  assert_true(changes <= 1);
  assert_true(a.loss_perc >= 5 && a.loss_perc <= 6);
}

static void test_adapt_report__no_fec__fec_stays_off(void **state)
{
  (void)state;
  struct adapt a = start(0, 10, 32000, 12000);

  assert_int_equal(a.fec, 0);
  assert_int_equal(report(&a, 20, 1, 1) & ADAPT_FEC, 0);
  assert_int_equal(a.loss_perc, 20);
  assert_int_equal(a.fec, 0);
}

/* A queue builds (RTT 80 ms over a least 20, with loss): down by quarters
 * every second congested report, never below the floor; one late report
 * alone is nothing; calm again: up by quarters to the ceiling. */
static void test_adapt_report__congestion__bitrate_down_then_up(void **state)
{
  (void)state;
  struct adapt a = start(1, 0, 32000, 16000);
  int i;

  assert_int_equal(report(&a, 5, 80, 20) & ADAPT_BITRATE, 0);   /* one: a hiccup */
  assert_int_equal(report(&a, 5, 21, 20) & ADAPT_BITRATE, 0);
  assert_int_equal(report(&a, 5, 80, 20) & ADAPT_BITRATE, 0);
  assert_int_equal(report(&a, 5, 80, 20) & ADAPT_BITRATE, ADAPT_BITRATE);
  assert_int_equal(a.bitrate, 24000);
  report(&a, 5, 80, 20);
  report(&a, 5, 80, 20);
  assert_int_equal(a.bitrate, 18000);
  report(&a, 5, 80, 20);
  report(&a, 5, 80, 20);
  assert_int_equal(a.bitrate, 16000);
  report(&a, 5, 200, 20);
  assert_int_equal(report(&a, 5, 200, 20) & ADAPT_BITRATE, 0);   /* the floor */
  /* A queue without loss, but long: also congestion. */
  a.bitrate = 32000;
  report(&a, 0, 120, 20);
  report(&a, 0, 120, 20);
  assert_int_equal(a.bitrate, 24000);
  /* Calm: three calm reports per step up. */
  for (i = 0; i < 2; i++)
    assert_int_equal(report(&a, 0, 21, 20) & ADAPT_BITRATE, 0);
  assert_int_equal(report(&a, 0, 21, 20) & ADAPT_BITRATE, ADAPT_BITRATE);
  assert_int_equal(a.bitrate, 30000);
  for (i = 0; i < 3; i++)
    report(&a, 0, 21, 20);
  assert_int_equal(a.bitrate, 32000);
  for (i = 0; i < 9; i++)
    assert_int_equal(report(&a, 0, 21, 20) & ADAPT_BITRATE, 0);
  /* No RTT known: the bitrate is left alone. */
  assert_int_equal(report(&a, 50, NAN, NAN) & ADAPT_BITRATE, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_adapt_report__clean_path__falls_to_zero_fec_off),
    cmocka_unit_test(test_adapt_report__loss_step__rises_then_falls),
    cmocka_unit_test(test_adapt_report__wobble__hysteresis_holds),
    cmocka_unit_test(test_adapt_report__no_fec__fec_stays_off),
    cmocka_unit_test(test_adapt_report__congestion__bitrate_down_then_up),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
