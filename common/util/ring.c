/* SPSC ring: the producer owns `head`, the consumer owns `tail`; each
 * publishes its index with a release store and reads the other's with an
 * acquire load, which orders the slot's bytes with the index. The two
 * indices live on separate cache lines, next to the private cached copy of
 * the other side's index, so that a steady stream costs one shared load
 * per ring's worth of slots rather than per slot. */
#include "util/ring.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define RING_LINE 64

struct ring_slot {
  int64_t arrival_ns;
  size_t len;
  /* data follows, slot_bytes long */
};

struct ring {
  _Alignas(RING_LINE) atomic_size_t head;   /* next slot to fill; producer writes */
  size_t tail_cache;                         /* producer's copy of tail */
  _Alignas(RING_LINE) atomic_size_t tail;   /* next slot to read; consumer writes */
  size_t head_cache;                         /* consumer's copy of head */
  _Alignas(RING_LINE) size_t mask;          /* read-only after create */
  size_t slot_bytes;
  size_t stride;                             /* bytes from one slot to the next */
  unsigned char *slots;
};

static struct ring_slot *slot_at(const struct ring *r, size_t index)
{
  return (struct ring_slot *)(void *)(r->slots + (index & r->mask) * r->stride);
}

static uint8_t *slot_data(struct ring_slot *s)
{
  return (uint8_t *)(s + 1);
}

int ring_create(struct ring **out, unsigned slots, size_t slot_bytes)
{
  struct ring *r = NULL;
  size_t stride;

  *out = NULL;
  if (slots < 2 || (slots & (slots - 1)) != 0 || slot_bytes == 0 || slot_bytes > (1u << 24))
    return -EINVAL;
  stride = (sizeof(struct ring_slot) + slot_bytes + RING_LINE - 1) / RING_LINE * RING_LINE;
  r = aligned_alloc(RING_LINE, (sizeof *r + RING_LINE - 1) / RING_LINE * RING_LINE);
  if (r == NULL)
    goto fail;
  memset(r, 0, sizeof *r);
  r->slots = aligned_alloc(RING_LINE, stride * slots);
  if (r->slots == NULL)
    goto fail;
  /* Touch every page now: the real-time consumer must not fault them in. */
  memset(r->slots, 0, stride * slots);
  atomic_init(&r->head, 0);
  atomic_init(&r->tail, 0);
  r->mask = slots - 1;
  r->slot_bytes = slot_bytes;
  r->stride = stride;
  *out = r;
  return 0;
fail:
  ring_destroy(r);
  return -ENOMEM;
}

void ring_destroy(struct ring *r)
{
  if (r == NULL)
    return;
  free(r->slots);
  free(r);
}

size_t ring_slot_bytes(const struct ring *r)
{
  return r->slot_bytes;
}

unsigned ring_capacity(const struct ring *r)
{
  return (unsigned)(r->mask + 1);
}

uint8_t *ring_claim(struct ring *r)
{
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

  if (head - r->tail_cache > r->mask) {
    /* Looks full: look at the consumer's real index, once. */
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - r->tail_cache > r->mask)
      return NULL;
  }
  return slot_data(slot_at(r, head));
}

void ring_commit(struct ring *r, size_t len, int64_t arrival_ns)
{
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  struct ring_slot *s = slot_at(r, head);

  s->len = len <= r->slot_bytes ? len : r->slot_bytes;
  s->arrival_ns = arrival_ns;
  atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

int ring_push(struct ring *r, const void *data, size_t len, int64_t arrival_ns)
{
  uint8_t *dst;

  if (len > r->slot_bytes)
    return -EMSGSIZE;
  dst = ring_claim(r);
  if (dst == NULL)
    return -ENOBUFS;
  if (len > 0)
    memcpy(dst, data, len);
  ring_commit(r, len, arrival_ns);
  return 0;
}

const uint8_t *ring_peek(struct ring *r, size_t *len, int64_t *arrival_ns)
{
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  struct ring_slot *s;

  if (tail == r->head_cache) {
    /* Looks empty: look at the producer's real index, once. */
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail == r->head_cache)
      return NULL;
  }
  s = slot_at(r, tail);
  if (len != NULL)
    *len = s->len;
  if (arrival_ns != NULL)
    *arrival_ns = s->arrival_ns;
  return slot_data(s);
}

void ring_pop(struct ring *r)
{
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

size_t ring_count(const struct ring *r)
{
  /* Read tail first: head only grows, so the difference never underflows. */
  size_t tail = atomic_load_explicit(&((struct ring *)r)->tail, memory_order_acquire);
  size_t head = atomic_load_explicit(&((struct ring *)r)->head, memory_order_acquire);

  return head - tail;
}
