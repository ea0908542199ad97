/* tags: tsan */
/* common/util/ring: the SPSC datagram ring between the receiver's loop thread and
 * its playback thread. Single-thread cases check the exact capacity, order,
 * wrap-around and size limits; the stress case runs a producer and a
 * consumer thread at full speed and checks that every item arrives once, in
 * order, intact (seeded: DL_SEED=N reproduces a run). Under TSan it also
 * checks that the acquire/release pairs order the slot bytes. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util/ring.h"

static void test_ring_create__bad_sizes__einval(void **state)
{
  (void)state;
  struct ring *r = (struct ring *)1;
  assert_int_equal(ring_create(&r, 0, 64), -EINVAL);
  assert_null(r);
  assert_int_equal(ring_create(&r, 1, 64), -EINVAL);
  assert_int_equal(ring_create(&r, 6, 64), -EINVAL);
  assert_int_equal(ring_create(&r, 8, 0), -EINVAL);
  assert_int_equal(ring_create(&r, 8, 100), 0);
  assert_non_null(r);
  assert_int_equal(ring_capacity(r), 8);
  assert_int_equal(ring_slot_bytes(r), 100);
  ring_destroy(r);
  ring_destroy(NULL);
}

static void test_ring_peek__empty__null(void **state)
{
  (void)state;
  struct ring *r;
  size_t len = 77;
  int64_t t = 77;
  assert_int_equal(ring_create(&r, 4, 16), 0);
  assert_null(ring_peek(r, &len, &t));
  assert_int_equal(len, 77);   /* untouched */
  assert_int_equal(ring_count(r), 0);
  ring_destroy(r);
}

static void test_ring_push__full_at_capacity__enobufs_then_frees(void **state)
{
  (void)state;
  struct ring *r;
  uint8_t b[16];
  size_t len;
  int64_t t;
  const uint8_t *p;

  assert_int_equal(ring_create(&r, 4, 16), 0);
  for (int i = 0; i < 4; i++) {
    memset(b, i, sizeof b);
    assert_int_equal(ring_push(r, b, (size_t)i + 1, 1000 + i), 0);
  }
  assert_int_equal(ring_count(r), 4);
  assert_int_equal(ring_push(r, b, 1, 0), -ENOBUFS);
  assert_null(ring_claim(r));
  /* The oldest comes out first, with its length and time. */
  p = ring_peek(r, &len, &t);
  assert_non_null(p);
  assert_int_equal(len, 1);
  assert_int_equal(t, 1000);
  assert_int_equal(p[0], 0);
  /* Peeking twice without popping gives the same slot. */
  assert_ptr_equal(ring_peek(r, NULL, NULL), p);
  ring_pop(r);
  assert_int_equal(ring_count(r), 3);
  assert_int_equal(ring_push(r, b, 5, 2000), 0);   /* one slot freed */
  assert_int_equal(ring_push(r, b, 5, 2001), -ENOBUFS);
  for (int i = 1; i < 4; i++) {
    p = ring_peek(r, &len, &t);
    assert_non_null(p);
    assert_int_equal(len, (size_t)i + 1);
    assert_int_equal(t, 1000 + i);
    for (size_t k = 0; k < len; k++)
      assert_int_equal(p[k], i);
    ring_pop(r);
  }
  p = ring_peek(r, &len, &t);
  assert_non_null(p);
  assert_int_equal(t, 2000);
  ring_pop(r);
  assert_null(ring_peek(r, &len, &t));
  ring_destroy(r);
}

static void test_ring_push__too_long__emsgsize(void **state)
{
  (void)state;
  struct ring *r;
  uint8_t b[33] = {0};
  assert_int_equal(ring_create(&r, 2, 32), 0);
  assert_int_equal(ring_push(r, b, 33, 0), -EMSGSIZE);
  assert_int_equal(ring_count(r), 0);
  assert_int_equal(ring_push(r, b, 32, 0), 0);
  assert_int_equal(ring_push(r, b, 0, 1), 0);   /* empty datagrams pass too */
  assert_int_equal(ring_count(r), 2);
  ring_destroy(r);
}

static void test_ring_claim_commit__in_place__wraps_many_times(void **state)
{
  (void)state;
  struct ring *r;
  size_t len;
  int64_t t;
  assert_int_equal(ring_create(&r, 8, 8), 0);
  /* 1000 rounds through 8 slots, 3 in flight: indices wrap the mask often. */
  uint32_t next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; round++) {
    while (ring_count(r) < 3) {
      uint8_t *d = ring_claim(r);
      assert_non_null(d);
      memcpy(d, &next_in, 4);
      ring_commit(r, 4, (int64_t)next_in * 7);
      next_in++;
    }
    const uint8_t *p = ring_peek(r, &len, &t);
    assert_non_null(p);
    uint32_t v;
    memcpy(&v, p, 4);
    assert_int_equal(len, 4);
    assert_int_equal(v, next_out);
    assert_int_equal(t, (int64_t)next_out * 7);
    ring_pop(r);
    next_out++;
  }
  assert_int_equal(next_in - next_out, 2);   /* refilled to 3, one popped */
  ring_destroy(r);
}

/* The stress: items are numbered; each carries a length drawn from the
 * seeded generator and bytes derived from its number, so a torn, skipped,
 * repeated or reordered item fails the check. */
#define STRESS_ITEMS 1000000u
#define STRESS_SLOTS 64u
#define STRESS_BYTES 200u

struct stress {
  struct ring *r;
  unsigned seed;
  uint64_t full;        /* producer: pushes refused (retried) */
  uint64_t bad;         /* consumer: items that failed a check */
  uint64_t got;
};

static uint32_t xorshift(uint32_t *s)
{
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static size_t item_len(uint32_t n, unsigned seed)
{
  uint32_t s = (n * 2654435761u) ^ seed ^ 0x9e3779b9u;
  if (s == 0)
    s = 1;
  return 4 + xorshift(&s) % (STRESS_BYTES - 4);
}

static void *producer(void *arg)
{
  struct stress *st = arg;
  uint32_t rng = st->seed | 1;
  for (uint32_t n = 0; n < STRESS_ITEMS; n++) {
    size_t len = item_len(n, st->seed);
    uint8_t *d;
    while ((d = ring_claim(st->r)) == NULL) {
      st->full++;
      sched_yield();
    }
    memcpy(d, &n, 4);
    for (size_t k = 4; k < len; k++)
      d[k] = (uint8_t)(n + k);
    ring_commit(st->r, len, (int64_t)n * 20000000);
    /* Vary the pace so both the full and the empty paths are taken. */
    if (xorshift(&rng) % 1024 == 0)
      sched_yield();
  }
  return NULL;
}

static void *consumer(void *arg)
{
  struct stress *st = arg;
  uint32_t rng = (st->seed * 31u) | 1;
  uint32_t want = 0;
  while (want < STRESS_ITEMS) {
    size_t len;
    int64_t t;
    const uint8_t *p = ring_peek(st->r, &len, &t);
    if (p == NULL) {
      sched_yield();
      continue;
    }
    uint32_t n;
    memcpy(&n, p, 4);
    int ok = n == want && len == item_len(n, st->seed) && t == (int64_t)n * 20000000;
    for (size_t k = 4; ok && k < len; k++)
      ok = p[k] == (uint8_t)(n + k);
    if (!ok && st->bad++ < 5)
      fprintf(stderr, "ring stress: item %u: got n=%u len=%zu t=%lld\n", want, n, len, (long long)t);
    ring_pop(st->r);
    st->got++;
    want++;
    if (xorshift(&rng) % 1024 == 0)
      sched_yield();
  }
  return NULL;
}

static void test_ring_stress__two_threads__every_item_once_in_order(void **state)
{
  (void)state;
  struct stress st = {0};
  pthread_t tp, tc;
  const char *env = getenv("DL_SEED");
  st.seed = env != NULL ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
  printf("ring stress: seed %u (DL_SEED=%u reproduces)\n", st.seed, st.seed);
  assert_int_equal(ring_create(&st.r, STRESS_SLOTS, STRESS_BYTES), 0);
  assert_int_equal(pthread_create(&tc, NULL, consumer, &st), 0);
  assert_int_equal(pthread_create(&tp, NULL, producer, &st), 0);
  pthread_join(tp, NULL);
  pthread_join(tc, NULL);
  printf("ring stress: %llu items, %llu pushes found the ring full\n",
         (unsigned long long)st.got, (unsigned long long)st.full);
  assert_int_equal(st.bad, 0);
  assert_int_equal(st.got, STRESS_ITEMS);
  assert_int_equal(ring_count(st.r), 0);
  assert_null(ring_peek(st.r, NULL, NULL));
  ring_destroy(st.r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ring_create__bad_sizes__einval),
    cmocka_unit_test(test_ring_peek__empty__null),
    cmocka_unit_test(test_ring_push__full_at_capacity__enobufs_then_frees),
    cmocka_unit_test(test_ring_push__too_long__emsgsize),
    cmocka_unit_test(test_ring_claim_commit__in_place__wraps_many_times),
    cmocka_unit_test(test_ring_stress__two_threads__every_item_once_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
