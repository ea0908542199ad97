/* A lock-free single-producer, single-consumer ring of fixed-size slots,
 * each holding one datagram, its length and its arrival time.
 *
 * In the receiver the libuv loop thread is the only producer and the
 * playback thread the only consumer: neither ever waits for the other, and
 * a full ring refuses the push (the caller drops and counts). Indices grow
 * without bound and are masked, so the slot count is a power of two; each
 * side caches the other's index to touch the shared cache line only when
 * it must. No allocation after ring_create. */
#ifndef DL_RING_H
#define DL_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

/* slots: a power of two >= 2; slot_bytes: capacity of each slot (> 0).
 * Returns 0, -EINVAL or -ENOMEM. Any thread, before the ring is shared. */
int ring_create(struct ring **out, unsigned slots, size_t slot_bytes);
void ring_destroy(struct ring *r);   /* accepts NULL; when neither side uses it */

size_t ring_slot_bytes(const struct ring *r);
unsigned ring_capacity(const struct ring *r);

/* Producer thread only. The free slot's buffer (ring_slot_bytes long) to
 * fill in place, or NULL when the ring is full. Nothing is visible to the
 * consumer until ring_commit. */
uint8_t *ring_claim(struct ring *r);
/* Producer thread only, after a successful ring_claim: publishes the slot
 * with len bytes (<= slot_bytes) that arrived at arrival_ns. */
void ring_commit(struct ring *r, size_t len, int64_t arrival_ns);
/* Producer thread only: claim, copy, commit. Returns 0, -ENOBUFS (full)
 * or -EMSGSIZE (len > slot_bytes). */
int ring_push(struct ring *r, const void *data, size_t len, int64_t arrival_ns);

/* Consumer thread only. The oldest slot's bytes (valid until ring_pop),
 * with its length and arrival time; NULL when the ring is empty. */
const uint8_t *ring_peek(struct ring *r, size_t *len, int64_t *arrival_ns);
/* Consumer thread only, after a successful ring_peek: frees that slot. */
void ring_pop(struct ring *r);

/* Slots in use; exact from either side for its own view, a snapshot
 * otherwise. Any thread. */
size_t ring_count(const struct ring *r);

#endif /* DL_RING_H */
