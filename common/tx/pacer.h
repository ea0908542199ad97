/* The sender's packet schedule: absolute deadlines, never "one period after
 * the previous send" (the drift of the original prototype).
 *
 *   deadline(k) = t0 + k * frame_ns / (1 + skew_ppm * 1e-6)
 *
 * computed from k alone each time, so rounding never accumulates. A positive
 * skew runs the schedule fast (a 30 s stream at +1000 ppm takes 29.970 s).
 *
 * Catch-up: after a stall every overdue packet is due at once; the caller
 * sends them back to back (their RTP timestamps unchanged) and time is never
 * stretched. A send is counted late when it happens at or after the deadline
 * of the packet that follows it, i.e. the sender fell a whole frame behind.
 *
 * Pure: the caller passes the time (CLOCK_MONOTONIC ns). One thread. */
#ifndef DL_PACER_H
#define DL_PACER_H

#include <stdint.h>

struct pacer {
  int64_t t0_ns;        /* deadline of packet 0 */
  int64_t frame_ns;     /* nominal packet spacing */
  double skew_ppm;
  uint64_t next;        /* index of the next packet to send */
  uint64_t sent;        /* packets marked sent */
  uint64_t late;        /* of those, sent a frame or more behind */
  int64_t max_late_ns;  /* the largest send - deadline seen */
};

/* frame_ns > 0; skew_ppm in (-1e6, 1e6). Returns 0 or -EINVAL. */
int pacer_init(struct pacer *p, int64_t t0_ns, int64_t frame_ns, double skew_ppm);

/* Deadline of packet k, ns. Monotonic in k. */
int64_t pacer_deadline(const struct pacer *p, uint64_t k);

/* Deadline of the next packet to send. */
static inline int64_t pacer_next_deadline(const struct pacer *p) { return pacer_deadline(p, p->next); }

/* How many packets, from the next one on, are due at now_ns (0 if the next
 * one is not yet due). */
uint64_t pacer_due(const struct pacer *p, int64_t now_ns);

/* Marks the next packet as sent at now_ns (also when the caller chose not
 * to transmit it, e.g. Opus DTX): advances next, counts late sends. Returns
 * the packet's lateness, now_ns - deadline (negative if early). */
int64_t pacer_sent(struct pacer *p, int64_t now_ns);

#endif /* DL_PACER_H */
