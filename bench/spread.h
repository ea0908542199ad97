/* The spread of a figure over repeated runs, for bench/cost and
 * bench/resampler: a noisy machine moves single runs, so each figure is
 * reported as its median with the min and max beside it. Bench-only, a
 * header as bench/workload.h is; each function is used by both programs. */
#ifndef DL_BENCH_SPREAD_H
#define DL_BENCH_SPREAD_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

struct spread {
  double median, min, max;
};

static int spread_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The spread of v[0..n); NaNs when n is 0 or memory is short. v is left
 * as it was (sorted in a copy). */
static struct spread spread_of(const double *v, int n)
{
  double *s = malloc((size_t)n * sizeof *s);
  struct spread r = {NAN, NAN, NAN};
  if (s == NULL || n == 0) {
    free(s);
    return r;
  }
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, spread_cmp);
  r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  r.min = s[0];
  r.max = s[n - 1];
  free(s);
  return r;
}

/* Writes "key":{"median":..,"min":..,"max":..}. */
static void spread_put(struct json *j, const char *key, struct spread s, int decimals)
{
  json_obj_begin(j, key);
  json_num(j, "median", s.median, decimals);
  json_num(j, "min", s.min, decimals);
  json_num(j, "max", s.max, decimals);
  json_obj_end(j);
}

#endif /* DL_BENCH_SPREAD_H */
