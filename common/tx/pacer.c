#include "tx/pacer.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>

int pacer_init(struct pacer *p, int64_t t0_ns, int64_t frame_ns, double skew_ppm)
{
  if (p == NULL || frame_ns <= 0 || !(skew_ppm > -1e6 && skew_ppm < 1e6))
    return -EINVAL;
  p->t0_ns = t0_ns;
  p->frame_ns = frame_ns;
  p->skew_ppm = skew_ppm;
  p->next = 0;
  p->sent = 0;
  p->late = 0;
  p->max_late_ns = INT64_MIN;
  return 0;
}

int64_t pacer_deadline(const struct pacer *p, uint64_t k)
{
  /* k * frame_ns is exact in 64 bits for any real stream (60 ms frames
   * overflow after 4.9 million years); the division is done in long
   * double (64-bit mantissa on x86-64), so the result is exact to the ns
   * and does not depend on how deadlines were computed before. */
  long double span = (long double)k * (long double)p->frame_ns;
  if (p->skew_ppm != 0)
    span /= 1.0L + (long double)p->skew_ppm * 1e-6L;
  return p->t0_ns + (int64_t)llroundl(span);
}

uint64_t pacer_due(const struct pacer *p, int64_t now_ns)
{
  if (now_ns < pacer_deadline(p, p->next))
    return 0;
  /* Estimate the last due index from the period, then correct it against
   * the exact deadlines (rounding may put the estimate one off). */
  long double period = (long double)p->frame_ns / (1.0L + (long double)p->skew_ppm * 1e-6L);
  uint64_t k = (uint64_t)((long double)(now_ns - p->t0_ns) / period);
  if (k < p->next)
    k = p->next;
  while (k > p->next && pacer_deadline(p, k) > now_ns)
    k--;
  while (pacer_deadline(p, k + 1) <= now_ns)
    k++;
  return k - p->next + 1;
}

int64_t pacer_sent(struct pacer *p, int64_t now_ns)
{
  int64_t late = now_ns - pacer_deadline(p, p->next);
  if (now_ns >= pacer_deadline(p, p->next + 1))
    p->late++;
  if (late > p->max_late_ns)
    p->max_late_ns = late;
  p->next++;
  p->sent++;
  return late;
}
