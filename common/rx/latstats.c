/* Latency histogram: see latstats.h. */
#include "rx/latstats.h"

#include <math.h>
#include <string.h>

void latstats_reset(struct latstats *s)
{
  memset(s, 0, sizeof *s);
}

void latstats_add(struct latstats *s, double ms)
{
  long bin;

  if (!(ms > 0))
    ms = 0;   /* also NaN */
  bin = ms >= LATSTATS_MAX_MS ? LATSTATS_BINS : (long)(ms / LATSTATS_BIN_MS);
  if (bin > LATSTATS_BINS)
    bin = LATSTATS_BINS;
  s->bins[bin]++;
  if (s->count == 0 || ms < s->min_ms)
    s->min_ms = ms;
  if (s->count == 0 || ms > s->max_ms)
    s->max_ms = ms;
  s->count++;
  s->sum_ms += ms;
}

double latstats_quantile(const struct latstats *s, double q)
{
  uint64_t rank, acc = 0;
  double v;
  long i;

  if (s->count == 0)
    return NAN;
  if (q <= 0)
    return s->min_ms;
  if (q >= 1)
    return s->max_ms;
  /* The smallest sample with at least q of all samples at or below it. */
  rank = (uint64_t)ceil(q * (double)s->count);
  if (rank < 1)
    rank = 1;
  for (i = 0; i <= LATSTATS_BINS; i++) {
    acc += s->bins[i];
    if (acc >= rank)
      break;
  }
  if (i >= LATSTATS_BINS)
    return s->max_ms;
  v = (i + 0.5) * LATSTATS_BIN_MS;
  if (v < s->min_ms)
    v = s->min_ms;
  if (v > s->max_ms)
    v = s->max_ms;
  return v;
}

double latstats_mean(const struct latstats *s)
{
  return s->count ? s->sum_ms / (double)s->count : NAN;
}

double latstats_max(const struct latstats *s)
{
  return s->count ? s->max_ms : NAN;
}
