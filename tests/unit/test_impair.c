/* common/relay/impair: the statistics of each impairment over 100 000 packets in
 * virtual time, determinism, and the send queue. The seed is printed; set
 * DL_SEED to reproduce or vary it (the tolerances hold for about 3 standard
 * deviations or more). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "relay/impair.h"

#define N      100000
#define STEP   20000000LL   /* 20 ms between packets */
#define MS     1000000LL

static uint64_t seed = 20261125;

static struct impair *make(const struct impair_config *c)
{
  struct impair *im = NULL;
  assert_int_equal(impair_create(&im, c, 0), 0);
  return im;
}

static void base(struct impair_config *c)
{
  impair_config_default(c);
  c->seed = seed;
}

static double loss_rate(struct impair_config *c, double *mean_burst)
{
  struct impair *im = make(c);
  struct impair_fate f;
  long lost = 0, runs = 0;
  int prev = 0;
  for (long k = 0; k < N; k++) {
    impair_decide(im, k * STEP, 100, &f);
    int l = f.verdict == IMPAIR_LOST;
    lost += l;
    if (l && !prev)
      runs++;
    prev = l;
  }
  impair_destroy(im);
  if (mean_burst)
    *mean_burst = runs ? (double)lost / (double)runs : 0;
  return 100.0 * (double)lost / N;
}

static void test_impair__same_seed__same_fates(void **state)
{
  (void)state;
  struct impair_config c;
  base(&c);
  c.loss_pct = 5;
  c.burst_len = 2;
  c.delay_ms = 40;
  c.jitter_ms = 30;
  c.reorder_pct = 3;
  c.duplicate_pct = 2;
  c.rate_kbit = 100;
  c.n_blackout = 1;
  c.blackout[0].start_ns = 3000 * MS;
  c.blackout[0].len_ns = 1000 * MS;
  struct impair *a = make(&c), *b = make(&c);
  c.seed = seed + 1;
  struct impair *d = make(&c);
  int differ = 0;
  for (long k = 0; k < 20000; k++) {
    struct impair_fate fa, fb, fd;
    impair_decide(a, k * STEP, 160, &fa);
    impair_decide(b, k * STEP, 160, &fb);
    impair_decide(d, k * STEP, 160, &fd);
    assert_int_equal(fa.verdict, fb.verdict);
    assert_int_equal(fa.copies, fb.copies);
    assert_int_equal(fa.reordered, fb.reordered);
    assert_true(fa.send_ns[0] == fb.send_ns[0] && fa.send_ns[1] == fb.send_ns[1]);
    differ += fa.verdict != fd.verdict || fa.send_ns[0] != fd.send_ns[0];
  }
  assert_true(differ > 10000);   /* another seed, other fates */
  impair_destroy(a);
  impair_destroy(b);
  impair_destroy(d);
}

static void test_impair__other_settings__same_loss_fates(void **state)
{
  (void)state;
  /* The loss stream is its own: adding delay and duplication must not
   * move which packets are lost. */
  struct impair_config c1, c2;
  base(&c1);
  c1.loss_pct = 10;
  c2 = c1;
  c2.delay_ms = 50;
  c2.jitter_ms = 10;
  c2.duplicate_pct = 5;
  struct impair *a = make(&c1), *b = make(&c2);
  for (long k = 0; k < 10000; k++) {
    struct impair_fate fa, fb;
    impair_decide(a, k * STEP, 100, &fa);
    impair_decide(b, k * STEP, 100, &fb);
    assert_int_equal(fa.verdict, fb.verdict);
  }
  impair_destroy(a);
  impair_destroy(b);
}

static void test_impair__random_loss__rate_within_half_percent(void **state)
{
  (void)state;
  const double pct[] = {1, 5, 10, 20};
  for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
    struct impair_config c;
    double burst;
    base(&c);
    c.loss_pct = pct[i];
    double got = loss_rate(&c, &burst);
    printf("random loss %.0f %%: measured %.3f %%, mean run %.3f (expected %.3f)\n",
           pct[i], got, burst, 1.0 / (1.0 - pct[i] / 100.0));
    assert_true(fabs(got - pct[i]) <= 0.5);
    /* Independent loss: runs are geometric with mean 1 / (1 - p). */
    assert_true(fabs(burst - 1.0 / (1.0 - pct[i] / 100.0)) <= 0.1 / (1.0 - pct[i] / 100.0));
  }
}

static void test_impair__gilbert__loss_and_mean_burst(void **state)
{
  (void)state;
  const double pct[] = {5, 3, 10};
  const double len[] = {3, 2, 5};
  for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
    struct impair_config c;
    double burst;
    base(&c);
    c.loss_pct = pct[i];
    c.burst_len = len[i];
    double got = loss_rate(&c, &burst);
    printf("gilbert loss %.0f %% burst %.0f: measured %.3f %%, mean burst %.3f\n",
           pct[i], len[i], got, burst);
    assert_true(fabs(got - pct[i]) <= 0.5);
    assert_true(fabs(burst - len[i]) <= 0.1 * len[i]);
  }
}

struct moments {
  double mean, sd, min, max, median_below_mean;
};

static void delay_moments(struct impair_config *c, struct moments *m)
{
  struct impair *im = make(c);
  double s = 0, s2 = 0, mn = INFINITY, mx = -INFINITY;
  double *v = malloc(N * sizeof *v);
  assert_non_null(v);
  for (long k = 0; k < N; k++) {
    struct impair_fate f;
    impair_decide(im, k * STEP, 100, &f);
    assert_int_equal(f.copies, 1);
    double d = (double)(f.send_ns[0] - k * STEP) / MS;
    v[k] = d;
    s += d;
    s2 += d * d;
    mn = d < mn ? d : mn;
    mx = d > mx ? d : mx;
  }
  m->mean = s / N;
  m->sd = sqrt(s2 / N - m->mean * m->mean);
  m->min = mn;
  m->max = mx;
  long below = 0;
  for (long k = 0; k < N; k++)
    below += v[k] < m->mean;
  m->median_below_mean = (double)below / N;
  free(v);
  impair_destroy(im);
}

static void test_impair__delay_jitter__mean_and_sd_within_1ms(void **state)
{
  (void)state;
  struct impair_config c;
  struct moments m;

  base(&c);
  c.delay_ms = 100;
  c.jitter_ms = 20;
  c.dist = IMPAIR_DIST_NORMAL;
  delay_moments(&c, &m);
  printf("normal 100/20: mean %.3f sd %.3f min %.1f max %.1f\n", m.mean, m.sd, m.min, m.max);
  assert_true(fabs(m.mean - 100) <= 1);
  assert_true(fabs(m.sd - 20) <= 1);

  c.dist = IMPAIR_DIST_UNIFORM;
  delay_moments(&c, &m);
  printf("uniform 100/20: mean %.3f sd %.3f min %.1f max %.1f\n", m.mean, m.sd, m.min, m.max);
  assert_true(fabs(m.mean - 100) <= 1);
  assert_true(fabs(m.sd - 20 / sqrt(3)) <= 1);   /* netem: jitter is the half-width */
  assert_true(m.min >= 80 && m.max <= 120);
  assert_true(m.min < 80.1 && m.max > 119.9);

  c.dist = IMPAIR_DIST_PARETO;
  delay_moments(&c, &m);
  printf("pareto 100/20: mean %.3f sd %.3f min %.1f max %.1f below-mean %.3f\n",
         m.mean, m.sd, m.min, m.max, m.median_below_mean);
  assert_true(fabs(m.mean - 100) <= 1);
  /* Shape 3 has no fourth moment: the sample deviation converges slowly
   * (18.7 .. 23.2 ms over 40 seeds), so only the mean is held to 1 ms. */
  assert_true(fabs(m.sd - 20) <= 4);
  /* Skewed: the floor is mean - 0.577 sd, most packets are early, the tail late. */
  assert_true(m.min >= 100 - 20 * 0.578);
  assert_true(m.median_below_mean > 0.6);
  assert_true(m.max > 200);

  c.delay_ms = 30;
  c.jitter_ms = 0;
  c.dist = IMPAIR_DIST_NORMAL;
  delay_moments(&c, &m);
  assert_true(m.min == 30 && m.max == 30);
}

/* Counts packets sent before one that arrived earlier (in send order). */
static void test_impair__reorder__count_and_overtake(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im;
  long reordered = 0, overtakes = 0;
  int64_t prev_send = 0;

  base(&c);
  c.delay_ms = 50;
  c.reorder_pct = 5;
  im = make(&c);
  for (long k = 0; k < N; k++) {
    struct impair_fate f;
    impair_decide(im, k * STEP, 100, &f);
    reordered += f.reordered;
    if (f.reordered) {
      assert_int_equal(f.send_ns[0], k * STEP);
    } else {
      assert_int_equal(f.send_ns[0], k * STEP + 50 * MS);
    }
    if (k > 0 && f.send_ns[0] < prev_send)
      overtakes++;
    prev_send = f.send_ns[0];
  }
  printf("reorder 5 %%: %ld reordered, %ld sent before their predecessor\n", reordered, overtakes);
  assert_true(fabs(100.0 * (double)reordered / N - 5) <= 0.5);
  /* Each reordered packet overtakes the one before unless that one was
   * reordered too (5 % of the time). */
  assert_true(fabs((double)overtakes - reordered * 0.95) <= 0.02 * (double)reordered);
  struct impair_stats st;
  impair_get_stats(im, &st);
  assert_int_equal(st.reordered, (uint64_t)reordered);
  impair_destroy(im);

  /* Without delay, nothing to overtake: no effect (as in netem). */
  base(&c);
  c.reorder_pct = 50;
  im = make(&c);
  for (long k = 0; k < 1000; k++) {
    struct impair_fate f;
    impair_decide(im, k * STEP, 100, &f);
    assert_int_equal(f.reordered, 0);
  }
  impair_destroy(im);
}

static void test_impair__duplicate__count_and_own_delay(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im;
  long dups = 0, differ = 0;

  base(&c);
  c.duplicate_pct = 1;
  c.delay_ms = 40;
  c.jitter_ms = 5;
  im = make(&c);
  for (long k = 0; k < N; k++) {
    struct impair_fate f;
    impair_decide(im, k * STEP, 100, &f);
    assert_true(f.copies == 1 || f.copies == 2);
    if (f.copies == 2) {
      dups++;
      differ += f.send_ns[0] != f.send_ns[1];
      assert_true(f.send_ns[1] >= k * STEP);
    }
  }
  printf("duplicate 1 %%: %ld duplicated\n", dups);
  assert_true(fabs(100.0 * (double)dups / N - 1) <= 0.2);
  assert_true(differ > dups * 9 / 10);
  impair_destroy(im);
}

static void test_impair__blackout__exact_window(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im = NULL;
  long dropped = 0;
  int64_t t0 = 5000 * MS;   /* the engine's start is not 0 */

  base(&c);
  c.n_blackout = 2;
  c.blackout[0].start_ns = 2000 * MS;
  c.blackout[0].len_ns = 3000 * MS;
  c.blackout[1].start_ns = 8000 * MS;
  c.blackout[1].len_ns = 100 * MS;
  assert_int_equal(impair_create(&im, &c, t0), 0);
  for (long k = 0; k < 500; k++) {   /* 10 s */
    struct impair_fate f;
    int64_t t = t0 + k * STEP;
    impair_decide(im, t, 100, &f);
    int64_t rel = k * STEP;
    int in = (rel >= 2000 * MS && rel < 5000 * MS) || (rel >= 8000 * MS && rel < 8100 * MS);
    assert_int_equal(f.verdict == IMPAIR_BLACKOUT, in);
    assert_int_equal(f.copies, in ? 0 : 1);
    dropped += in;
  }
  assert_int_equal(dropped, 150 + 5);
  struct impair_stats st;
  impair_get_stats(im, &st);
  assert_int_equal(st.blackout, 155);
  assert_int_equal(st.passed, 500 - 155);
  impair_destroy(im);
}

/* --loss-window: 30 % loss only in [2 s, 5 s): none outside, about 30 %
 * inside, and inside it the same fates as without a window. */
static void test_impair__loss_window__only_inside(void **state)
{
  (void)state;
  struct impair_config c, w;
  struct impair *im = NULL, *all = NULL;
  long inside = 0, lost_in = 0;
  int64_t t0 = 1000 * MS;

  base(&c);
  c.loss_pct = 30;
  w = c;
  w.loss_window.start_ns = 2000 * MS;
  w.loss_window.len_ns = 3000 * MS;
  assert_int_equal(impair_create(&im, &w, t0), 0);
  assert_int_equal(impair_create(&all, &c, t0), 0);
  for (long k = 0; k < 500; k++) {
    struct impair_fate f, g;
    int64_t rel = k * STEP;
    int in = rel >= 2000 * MS && rel < 5000 * MS;
    impair_decide(im, t0 + rel, 100, &f);
    impair_decide(all, t0 + rel, 100, &g);
    if (!in)
      assert_int_equal(f.verdict, IMPAIR_PASS);
    else
      assert_int_equal(f.verdict, g.verdict);
    inside += in;
    lost_in += in && f.verdict == IMPAIR_LOST;
  }
  assert_int_equal(inside, 150);
  assert_true(lost_in > 150 * 20 / 100 && lost_in < 150 * 40 / 100);
  impair_destroy(im);
  impair_destroy(all);
}

static void test_impair__rate__throughput_within_5pct(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im;
  const int len = 172;                    /* + 28 = 200 bytes on the wire */
  const double kbit = 64;                 /* 40 packets/s fit */
  const int64_t step = 12500000;          /* 80 packets/s offered: twice the rate */
  int64_t first = -1, last = 0;
  long passed = 0, full = 0;
  double max_wait = 0;

  base(&c);
  c.rate_kbit = kbit;
  c.queue_ms = 200;
  im = make(&c);
  for (long k = 0; k < 8000; k++) {        /* 100 s */
    struct impair_fate f;
    impair_decide(im, k * step, len, &f);
    if (f.verdict == IMPAIR_QUEUE_FULL) {
      full++;
      continue;
    }
    assert_int_equal(f.verdict, IMPAIR_PASS);
    if (first < 0)
      first = f.send_ns[0];
    assert_true(f.send_ns[0] >= last);   /* a queue keeps its order */
    last = f.send_ns[0];
    passed++;
    double w = (double)(f.send_ns[0] - k * step) / MS;
    max_wait = w > max_wait ? w : max_wait;
  }
  double secs = (double)(last - first) / 1e9;
  double got = (double)(passed - 1) * 200 * 8 / 1000 / secs;
  printf("rate 64 kbit/s offered 128: %.2f kbit/s, %ld passed, %ld queue drops, wait max %.1f ms\n",
         got, passed, full, max_wait);
  assert_true(fabs(got - kbit) <= 0.05 * kbit);
  assert_true(full > 3500);
  assert_true(max_wait <= 200.001);
  impair_destroy(im);

  /* Offered below the rate: nothing dropped, nothing waits. */
  base(&c);
  c.rate_kbit = kbit;
  im = make(&c);
  for (long k = 0; k < 2000; k++) {
    struct impair_fate f;
    impair_decide(im, k * 50000000LL, len, &f);   /* 20 packets/s */
    assert_int_equal(f.verdict, IMPAIR_PASS);
    assert_int_equal(f.send_ns[0], k * 50000000LL);
  }
  impair_destroy(im);
}

static void test_impair__keep_order__never_reorders(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im;
  int64_t last = 0;
  long out_of_order = 0;

  base(&c);
  c.delay_ms = 40;
  c.jitter_ms = 40;
  im = make(&c);
  for (long k = 0; k < 5000; k++) {
    struct impair_fate f;
    impair_decide(im, k * STEP, 100, &f);
    out_of_order += f.send_ns[0] < last;
    last = f.send_ns[0];
  }
  impair_destroy(im);
  assert_true(out_of_order > 500);   /* jitter 40 ms over 20 ms packets: netem reorders */

  c.keep_order = 1;
  im = make(&c);
  last = 0;
  for (long k = 0; k < 5000; k++) {
    struct impair_fate f;
    impair_decide(im, k * STEP, 100, &f);
    assert_true(f.send_ns[0] >= last);
    last = f.send_ns[0];
  }
  impair_destroy(im);
}

static void test_impair_config_check__bad_values__einval(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im = (struct impair *)&c;

  impair_config_default(&c);
  assert_int_equal(impair_config_check(&c), 0);
  c.loss_pct = 101;
  assert_int_equal(impair_config_check(&c), -EINVAL);
  assert_int_equal(impair_create(&im, &c, 0), -EINVAL);
  assert_null(im);
  impair_config_default(&c);
  c.loss_pct = 50;
  c.burst_len = 0.5;
  assert_int_equal(impair_config_check(&c), -EINVAL);
  c.burst_len = 1.5;   /* 0.5 / 0.5 = 1 <= 1.5: a Gilbert model exists */
  assert_int_equal(impair_config_check(&c), 0);
  c.loss_pct = 70;     /* 0.7 / 0.3 = 2.33 > 1.5: none does */
  assert_int_equal(impair_config_check(&c), -EINVAL);
  impair_config_default(&c);
  c.jitter_ms = NAN;
  assert_int_equal(impair_config_check(&c), -EINVAL);
  impair_config_default(&c);
  c.n_blackout = IMPAIR_MAX_BLACKOUTS + 1;
  assert_int_equal(impair_config_check(&c), -EINVAL);
  impair_destroy(NULL);

  enum impair_dist d;
  assert_int_equal(impair_dist_parse("pareto", &d), 0);
  assert_int_equal(d, IMPAIR_DIST_PARETO);
  assert_int_equal(impair_dist_parse("gauss", &d), -EINVAL);
  assert_string_equal(impair_verdict_name(IMPAIR_QUEUE_FULL), "queue_full");
}

static void test_impair_queue__random_times__popped_in_order(void **state)
{
  (void)state;
  struct impair_queue q;
  struct impair_rng r;
  static int vals[1000];
  int64_t last_t = INT64_MIN;
  int last_v = -1;

  impair_rng_seed(&r, seed);
  assert_int_equal(impair_queue_init(&q, 1000), 0);
  assert_null(impair_queue_peek(&q));
  assert_null(impair_queue_pop(&q));
  for (int i = 0; i < 1000; i++) {
    vals[i] = i;
    /* Few distinct times, so ties are common: they keep insertion order. */
    assert_int_equal(impair_queue_push(&q, (int64_t)(impair_rng_next(&r) % 50), &vals[i]), 0);
  }
  assert_int_equal(impair_queue_push(&q, 0, &vals[0]), -ENOBUFS);
  for (int i = 0; i < 1000; i++) {
    int64_t t = impair_queue_peek(&q)->send_ns;
    int *v = impair_queue_pop(&q);
    assert_true(t >= last_t);
    if (t == last_t)
      assert_true(*v > last_v);
    last_t = t;
    last_v = *v;
  }
  assert_int_equal(q.len, 0);
  impair_queue_destroy(&q);
}

/* --change: the delay (and jitter) in force at each arrival; before the
 * first change the base ones, then each change's. Out of order or out of
 * range changes are refused. */
static void test_impair_decide__changes__delay_in_force(void **state)
{
  (void)state;
  struct impair_config c;
  struct impair *im;
  struct impair_fate f;
  impair_config_default(&c);
  c.delay_ms = 20;
  c.change[0] = (struct impair_change){.at_ns = 1000000000, .delay_ms = 120, .jitter_ms = 0};
  c.change[1] = (struct impair_change){.at_ns = 2000000000, .delay_ms = 40, .jitter_ms = 10};
  c.n_change = 2;
  assert_int_equal(impair_config_check(&c), 0);
  assert_int_equal(impair_create(&im, &c, 0), 0);
  double sum = 0, sq = 0;
  int n = 0;
  for (int64_t t = 0; t < 3000000000LL; t += 20000000) {
    impair_decide(im, t, 100, &f);
    double d = (double)(f.send_ns[0] - t) / 1e6;
    if (t < 1000000000)
      assert_true(fabs(d - 20) < 1e-6);
    else if (t < 2000000000)
      assert_true(fabs(d - 120) < 1e-6);
    else {
      sum += d;
      sq += d * d;
      n++;
    }
  }
  double mean = sum / n, sd = sqrt(sq / n - mean * mean);
  assert_true(fabs(mean - 40) < 4 && sd > 5 && sd < 15);
  impair_destroy(im);
  c.change[1].at_ns = 500000000;   /* before the one before it */
  assert_int_equal(impair_config_check(&c), -EINVAL);
  c.change[1].at_ns = 2000000000;
  c.change[1].jitter_ms = -1;
  assert_int_equal(impair_config_check(&c), -EINVAL);
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  if (s && *s)
    seed = strtoull(s, NULL, 0);
  printf("test_impair: seed %" PRIu64 " (set DL_SEED to change)\n", seed);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_impair__same_seed__same_fates),
    cmocka_unit_test(test_impair__other_settings__same_loss_fates),
    cmocka_unit_test(test_impair__random_loss__rate_within_half_percent),
    cmocka_unit_test(test_impair__gilbert__loss_and_mean_burst),
    cmocka_unit_test(test_impair__delay_jitter__mean_and_sd_within_1ms),
    cmocka_unit_test(test_impair__reorder__count_and_overtake),
    cmocka_unit_test(test_impair__duplicate__count_and_own_delay),
    cmocka_unit_test(test_impair__blackout__exact_window),
    cmocka_unit_test(test_impair__loss_window__only_inside),
    cmocka_unit_test(test_impair__rate__throughput_within_5pct),
    cmocka_unit_test(test_impair__keep_order__never_reorders),
    cmocka_unit_test(test_impair_config_check__bad_values__einval),
    cmocka_unit_test(test_impair_queue__random_times__popped_in_order),
    cmocka_unit_test(test_impair_decide__changes__delay_in_force),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
