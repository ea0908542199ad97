/* Latency percentiles from a fixed histogram: 0.1 ms bins up to
 * LATSTATS_MAX_MS, one overflow bin above. No allocation (the histogram is
 * part of the struct, about 80 KB: embed it in a heap object), O(1) add,
 * O(bins) quantile. Single-threaded; the caller resets it for a window. */
#ifndef DL_LATSTATS_H
#define DL_LATSTATS_H

#include <stdint.h>

#define LATSTATS_BIN_MS 0.1
#define LATSTATS_MAX_MS 2000
#define LATSTATS_BINS   20000   /* LATSTATS_MAX_MS / LATSTATS_BIN_MS */

struct latstats {
  uint64_t count;
  double sum_ms;
  double min_ms, max_ms;
  uint32_t bins[LATSTATS_BINS + 1];   /* the last one: at or above LATSTATS_MAX_MS */
};

/* Empties the histogram (start of a window). */
void latstats_reset(struct latstats *s);

/* One latency sample in ms; negative values count as 0. */
void latstats_add(struct latstats *s, double ms);

/* The q quantile (0..1) in ms, within one bin (0.1 ms) and never outside
 * [min, max] of the samples; NaN when empty. Above LATSTATS_MAX_MS: max. */
double latstats_quantile(const struct latstats *s, double q);
double latstats_mean(const struct latstats *s);   /* NaN when empty */
double latstats_max(const struct latstats *s);    /* NaN when empty */

#endif /* DL_LATSTATS_H */
