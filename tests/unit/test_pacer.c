/* common/tx/pacer: the absolute schedule under virtual time: exact deadlines,
 * skew, jittery wake-ups that must not accumulate, catch-up after a stall.
 * Random wake-up jitter is seeded: DL_SEED=N reproduces a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tx/pacer.h"

#define MS 1000000LL

static uint64_t seed;

/* xorshift64*: the test's own generator, so a seed means the same run
 * everywhere. */
static uint64_t rnd(void)
{
  seed ^= seed >> 12;
  seed ^= seed << 25;
  seed ^= seed >> 27;
  return seed * 2685821657736338717ULL;
}

/* deadline(k) from integers only: t0 + round(k * frame * 1e6 / (1e6 + ppm)). */
static int64_t exact(int64_t t0, int64_t frame, int64_t ppm, int64_t k)
{
  __int128 num = (__int128)k * frame * 1000000, den = 1000000 + ppm;
  return t0 + (int64_t)((num + den / 2) / den);
}

static void test_pacer_init__bad_args__einval(void **state)
{
  (void)state;
  struct pacer p;
  assert_int_equal(pacer_init(&p, 0, 0, 0), -22);
  assert_int_equal(pacer_init(&p, 0, -5, 0), -22);
  assert_int_equal(pacer_init(&p, 0, 20 * MS, -1e6), -22);
  assert_int_equal(pacer_init(&p, 0, 20 * MS, 1e6), -22);
  assert_int_equal(pacer_init(&p, 0, 20 * MS, 0), 0);
}

static void test_pacer_deadline__no_skew__exact_multiples(void **state)
{
  (void)state;
  struct pacer p;
  const int64_t t0 = 123456789;
  assert_int_equal(pacer_init(&p, t0, 20 * MS, 0), 0);
  assert_int_equal(pacer_deadline(&p, 0), t0);
  assert_int_equal(pacer_deadline(&p, 1), t0 + 20 * MS);
  assert_int_equal(pacer_deadline(&p, 180000), t0 + 3600LL * 1000 * MS);   /* 1 h */
  /* 2.5 ms frames, a month of them: still exact to the ns. */
  assert_int_equal(pacer_init(&p, t0, 2500000, 0), 0);
  assert_int_equal(pacer_deadline(&p, 1036800000ULL), t0 + 2592000LL * 1000 * MS);
}

static void test_pacer_deadline__skew_1000ppm__30s_takes_29_970s(void **state)
{
  (void)state;
  struct pacer p;
  assert_int_equal(pacer_init(&p, 0, 20 * MS, 1000), 0);
  /* 1500 frames of 20 ms = 30 s of audio, played 0.1 % fast. */
  assert_int_equal(pacer_deadline(&p, 1500), 29970029970LL);
  assert_int_equal(pacer_init(&p, 0, 20 * MS, -1000), 0);
  assert_int_equal(pacer_deadline(&p, 1500), 30030030030LL);
}

static void test_pacer_deadline__skew_random_k__matches_integer_formula(void **state)
{
  (void)state;
  static const int64_t frames[] = {2500000, 5 * MS, 10 * MS, 20 * MS, 40 * MS, 60 * MS};
  static const int64_t ppms[] = {-5000, -1000, -1, 1, 250, 1000, 5000};
  struct pacer p;

  for (int i = 0; i < 20000; i++) {
    int64_t frame = frames[rnd() % 6], ppm = ppms[rnd() % 7];
    int64_t t0 = (int64_t)(rnd() % 1000000000000ULL);
    int64_t k = (int64_t)(rnd() % 1500000);   /* up to an hour at 2.5 ms */
    assert_int_equal(pacer_init(&p, t0, frame, (double)ppm), 0);
    int64_t d = pacer_deadline(&p, (uint64_t)k), e = exact(t0, frame, ppm, k);
    if (llabs(d - e) > 1)
      fail_msg("frame %lld ppm %lld k %lld: %lld != %lld", (long long)frame, (long long)ppm,
               (long long)k, (long long)d, (long long)e);
  }
}

static void test_pacer_due__before_and_at_deadlines__counts(void **state)
{
  (void)state;
  struct pacer p;
  const int64_t t0 = 1000 * MS;
  assert_int_equal(pacer_init(&p, t0, 20 * MS, 0), 0);
  assert_int_equal(pacer_due(&p, 0), 0);
  assert_int_equal(pacer_due(&p, t0 - 1), 0);
  assert_int_equal(pacer_due(&p, t0), 1);
  assert_int_equal(pacer_due(&p, t0 + 20 * MS - 1), 1);
  assert_int_equal(pacer_due(&p, t0 + 20 * MS), 2);
  assert_int_equal(pacer_due(&p, t0 + 1000 * MS), 51);
  pacer_sent(&p, t0);
  assert_int_equal(pacer_due(&p, t0 + 19 * MS), 0);
  assert_int_equal(pacer_due(&p, t0 + 1000 * MS), 50);
}

/* The real loop under virtual time: wake up late by a random 0..3 ms (a
 * loaded machine), send what is due, sleep until the next deadline. The
 * send error must stay bounded by the wake-up jitter after 100k packets;
 * the "one period after the previous send" scheduler of the prototype
 * drifts by the sum of all its wake-up delays. */
static void test_pacer__jittery_wakeups__error_does_not_grow(void **state)
{
  (void)state;
  struct pacer p;
  const int64_t frame = 20 * MS, t0 = 5 * MS, max_jitter = 3 * MS;
  int64_t now = t0, naive_next = t0, worst_first = 0, worst_last = 0;
  const uint64_t n = 100000;

  assert_int_equal(pacer_init(&p, t0, frame, 0), 0);
  while (p.next < n) {
    int64_t jitter = (int64_t)(rnd() % (uint64_t)max_jitter);
    now = pacer_next_deadline(&p) + jitter;
    uint64_t due = pacer_due(&p, now);
    assert_true(due >= 1);
    while (due-- > 0) {
      int64_t err = pacer_sent(&p, now);
      assert_true(err >= 0 && err < max_jitter);
      if (p.next <= 1000 && err > worst_first)
        worst_first = err;
      if (p.next > n - 1000 && err > worst_last)
        worst_last = err;
    }
    naive_next = naive_next + jitter + frame;
  }
  assert_int_equal(p.late, 0);
  assert_true(worst_last < max_jitter && worst_first < max_jitter);
  /* The last deadline is exactly where it belongs... */
  assert_int_equal(pacer_deadline(&p, n - 1), t0 + (int64_t)(n - 1) * frame);
  /* ...while the naive schedule is tens of seconds behind. */
  assert_true(naive_next - pacer_deadline(&p, n) > 100 * 1000 * MS);
}

/* A 105 ms stall after packet 0: packets 1..5 are due at once, are sent
 * back to back, and the schedule after them is unchanged. */
static void test_pacer__stall__catch_up_counted_not_stretched(void **state)
{
  (void)state;
  struct pacer p;
  const int64_t t0 = 0, frame = 20 * MS;
  assert_int_equal(pacer_init(&p, t0, frame, 0), 0);
  assert_int_equal(pacer_due(&p, t0), 1);
  assert_int_equal(pacer_sent(&p, t0), 0);

  int64_t now = t0 + 105 * MS;
  assert_int_equal(pacer_due(&p, now), 5);
  for (int k = 1; k <= 5; k++)
    assert_int_equal(pacer_sent(&p, now), now - k * frame);
  /* 1..4 were sent after their successor's deadline; 5 was not. */
  assert_int_equal(p.late, 4);
  assert_int_equal(p.sent, 6);
  assert_int_equal(p.max_late_ns, 85 * MS);
  assert_int_equal(p.next, 6);
  assert_int_equal(pacer_next_deadline(&p), 120 * MS);
  assert_int_equal(pacer_due(&p, 119 * MS), 0);
  assert_int_equal(pacer_due(&p, 120 * MS), 1);
}

/* Catch-up under skew: the deadlines after a stall are those of the
 * skewed schedule, from k. */
static void test_pacer__stall_with_skew__deadlines_from_k(void **state)
{
  (void)state;
  struct pacer p;
  const int64_t frame = 10 * MS;
  assert_int_equal(pacer_init(&p, 0, frame, 1000), 0);
  int64_t now = 1000 * MS;   /* nothing sent for a second */
  uint64_t due = pacer_due(&p, now);
  /* Deadlines at k * 9.99001 ms: k = 0..100 are <= 1 s. */
  assert_int_equal(due, 101);
  while (due-- > 0)
    pacer_sent(&p, now);
  assert_int_equal(p.late, 100);
  assert_int_equal(pacer_next_deadline(&p), exact(0, frame, 1000, 101));
  assert_true(pacer_next_deadline(&p) > now);
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  seed = s != NULL ? strtoull(s, NULL, 0) : 0x5eed5eed1234ULL;
  if (seed == 0)
    seed = 1;
  printf("test_pacer: seed %llu (DL_SEED to change)\n", (unsigned long long)seed);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pacer_init__bad_args__einval),
    cmocka_unit_test(test_pacer_deadline__no_skew__exact_multiples),
    cmocka_unit_test(test_pacer_deadline__skew_1000ppm__30s_takes_29_970s),
    cmocka_unit_test(test_pacer_deadline__skew_random_k__matches_integer_formula),
    cmocka_unit_test(test_pacer_due__before_and_at_deadlines__counts),
    cmocka_unit_test(test_pacer__jittery_wakeups__error_does_not_grow),
    cmocka_unit_test(test_pacer__stall__catch_up_counted_not_stretched),
    cmocka_unit_test(test_pacer__stall_with_skew__deadlines_from_k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
