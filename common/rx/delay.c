/* Adaptive target latency: a histogram of relative arrival delays with
 * forgetting (NetEq's delay manager) read at a high quantile. See delay.h.
 *
 * Forgetting without touching every bucket per packet: each new entry
 * weighs more than the last by 1/f, so that relative to the newest, older
 * entries have faded by f = exp(-frame / memory) per packet; the weights are scaled
 * back down before they overflow. Until 1/(1 - f) packets have been
 * seen the entries weigh equally, so that the first estimate is a plain
 * histogram rather than one dominated by the first packet. */
#include "rx/delay.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "defaults.h"

#define NS_PER_TS (1e9 / DL_RATE)   /* ns per RTP timestamp unit */
#define NEG_BUCKETS 200             /* relative delays down to -200 ms; 1 ms buckets */
#define MIN_PACKETS 25              /* before that, the target is initial_ns */
#define TRACK_ALPHA 0.01            /* tracked delay: gain per packet (2 s at 50 packets/s) */
#define TRACK_BETA  0.0001          /* its slope gain: slow, clocks drift slowly */
#define TRACK_CLIP_MIN_NS 5e6       /* residuals clipped to max(this, 5 x mean |r|) */
#define SLOPE_CLIP_NS 1e6           /* the slope learns from residuals clipped to 1 ms */
#define SLOPE_MAX 0.003             /* 3000 ppm: beyond any sound card or crystal */

struct delay {
  struct delay_config cfg;
  int nb;                 /* buckets: 1 ms each, bucket 0 is -NEG_BUCKETS ms */
  double *hist;
  double total;           /* sum of hist */
  int hi;                 /* highest bucket ever filled */
  uint64_t n;             /* packets seen */
  int have;               /* a first packet arrived */
  int64_t t0;             /* first arrival: times are kept relative to it */
  int64_t ext;            /* last in-order timestamp, unwrapped */
  uint32_t last_ts;
  double m;               /* tracked delay at ext, ns (arrival - ts time) */
  double v;               /* its slope, ns per ns of RTP time */
  double mad;             /* mean |residual|, ns */
  int64_t frame_ns;       /* duration of the last packet */
  int64_t last_rel;
  int64_t q_ns;           /* the quantile */
  int64_t target;
};

int delay_create(struct delay **out, const struct delay_config *cfg)
{
  struct delay *d = NULL;
  *out = NULL;
  if (!(cfg->quantile >= 0.5 && cfg->quantile < 1.0) || cfg->min_ns < 0 ||
      cfg->max_ns < cfg->min_ns || cfg->max_ns > (int64_t)DL_MAX_LATENCY_LIMIT_MS * 1000000 ||
      cfg->memory_ns < 0)
    return -EINVAL;
  d = calloc(1, sizeof *d);
  if (!d)
    goto fail;
  d->cfg = *cfg;
  if (d->cfg.memory_ns == 0)
    d->cfg.memory_ns = DL_DELAY_MEMORY_MS * 1000000LL;
  d->nb = NEG_BUCKETS + (int)(cfg->max_ns / 1000000) + 2;
  d->hist = calloc((size_t)d->nb, sizeof *d->hist);
  if (!d->hist)
    goto fail;
  delay_reset(d);
  *out = d;
  return 0;
fail:
  delay_destroy(d);
  return -ENOMEM;
}

void delay_destroy(struct delay *d)
{
  if (!d)
    return;
  free(d->hist);
  free(d);
}

void delay_reset(struct delay *d)
{
  for (int i = 0; i < d->nb; i++)
    d->hist[i] = 0;
  d->total = 0;
  d->hi = 0;
  d->n = 0;
  d->have = 0;
  d->m = d->v = d->mad = 0;
  d->frame_ns = DL_DEFAULT_FRAME_US * 1000LL;
  d->last_rel = 0;
  d->q_ns = 0;
  d->target = d->cfg.initial_ns < d->cfg.min_ns ? d->cfg.min_ns
            : d->cfg.initial_ns > d->cfg.max_ns ? d->cfg.max_ns : d->cfg.initial_ns;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* Adds one relative delay (ns) to the histogram. */
static void hist_add(struct delay *d, double rel_ns)
{
  /* Per packet, so that the memory is a time whatever the frame size. */
  double f = exp(-(double)d->frame_ns / (double)d->cfg.memory_ns);
  double fn = d->n > 1 ? (double)(d->n - 1) / (double)d->n : 0;
  if (fn < f)
    f = fn;   /* equal weights while the history is short */
  double w = d->total > 0 ? d->total * (1 - f) / f : 1.0;
  /* Bucket k holds [k - 0.5, k + 0.5) ms: a steady path's +-1 ns of
   * rounding stays in one bucket. */
  int b = (int)floor(rel_ns / 1e6 + 0.5) + NEG_BUCKETS;
  if (b < 0)
    b = 0;
  if (b >= d->nb)
    b = d->nb - 1;
  d->hist[b] += w;
  d->total += w;
  if (b > d->hi)
    d->hi = b;
  if (d->total > 1e200) {
    double s = 1.0 / d->total;
    for (int i = 0; i <= d->hi; i++)
      d->hist[i] *= s;
    d->total = 1.0;
  }
}

/* The q-quantile of the histogram in ns, interpolated within a bucket.
 * Scans down from the top: the tail is short. */
static int64_t hist_quantile(const struct delay *d)
{
  double tail = (1.0 - d->cfg.quantile) * d->total, cum = 0;
  for (int b = d->hi; b >= 0; b--) {
    if (cum + d->hist[b] >= tail && d->hist[b] > 0) {
      double frac = (tail - cum) / d->hist[b];   /* of this bucket, from its top */
      return (int64_t)(((double)(b - NEG_BUCKETS) + 0.5 - frac) * 1e6);
    }
    cum += d->hist[b];
  }
  return -(int64_t)NEG_BUCKETS * 1000000;
}

void delay_put(struct delay *d, int64_t arrival_ns, uint32_t ts, int samples)
{
  if (samples > 0)
    d->frame_ns = (int64_t)((double)samples * NS_PER_TS);
  if (!d->have) {
    d->have = 1;
    d->t0 = arrival_ns;
    d->ext = 0;
    d->last_ts = ts;
    d->m = 0;
    d->v = 0;
    d->mad = 0;
    d->n = 1;
    d->last_rel = 0;
    hist_add(d, 0);
    return;
  }
  d->n++;
  int64_t ext = d->ext + (int32_t)(ts - d->last_ts);
  double dt = (double)(ext - d->ext) * NS_PER_TS;
  double delay = (double)(arrival_ns - d->t0) - (double)ext * NS_PER_TS;
  double pred = d->m + d->v * dt;
  double rel = delay - pred;
  d->last_rel = (int64_t)rel;
  hist_add(d, rel);
  if (ext > d->ext) {
    /* In order: move the tracker. Residuals are clipped so that a spike
     * or a heavy tail does not drag it; a lasting shift still gets through
     * (the clip widens with the mean residual). */
    double clip = 5 * d->mad;
    if (clip < TRACK_CLIP_MIN_NS)
      clip = TRACK_CLIP_MIN_NS;
    double res = rel > clip ? clip : rel < -clip ? -clip : rel;
    /* At the start a plain running mean: the first packet's delay is as
     * random as any, and the mapping it set must be judged from the mean
     * soon, not seconds later. */
    double gain = TRACK_ALPHA;
    if (d->n < 1.0 / TRACK_ALPHA) {
      gain = 1.0 / (double)d->n;
      res = rel;
    }
    d->m = pred + gain * res;
    /* The slope is a clock's drift: small and steady. It learns from small
     * residuals only, so that a step in the path (a route change, the end
     * of a rough spell) moves the level, not the slope. */
    if (d->n >= 1.0 / TRACK_ALPHA)
      d->v += TRACK_BETA * fmax(-SLOPE_CLIP_NS, fmin(SLOPE_CLIP_NS, res)) / dt;
    d->v = fmax(-SLOPE_MAX, fmin(SLOPE_MAX, d->v));
    d->mad += fmax(0.02, 1.0 / (double)d->n) * (fabs(res) - d->mad);
    d->ext = ext;
    d->last_ts = ts;
  }
  if (d->n >= MIN_PACKETS) {
    d->q_ns = hist_quantile(d);
    d->target = clamp64(d->q_ns + d->frame_ns, d->cfg.min_ns, d->cfg.max_ns);
  }
}

void delay_shift(struct delay *d, int64_t step_ns)
{
  if (d->have)
    d->m += (double)step_ns;
}

int64_t delay_target(const struct delay *d)
{
  return d->target;
}

int64_t delay_spread(const struct delay *d)
{
  return (int64_t)d->mad;
}

int64_t delay_target_margin(const struct delay *d, int64_t margin_ns)
{
  if (d->n < MIN_PACKETS)
    return d->target;
  return clamp64(d->q_ns + margin_ns, d->cfg.min_ns, d->cfg.max_ns);
}

int64_t delay_expected_arrival(const struct delay *d, uint32_t ts)
{
  if (!d->have)
    return 0;
  int64_t ext = d->ext + (int32_t)(ts - d->last_ts);
  double dt = (double)(ext - d->ext) * NS_PER_TS;
  return d->t0 + (int64_t)llround((double)ext * NS_PER_TS + d->m + d->v * dt);
}

int64_t delay_last_relative(const struct delay *d)
{
  return d->last_rel;
}

int64_t delay_quantile(const struct delay *d)
{
  return d->q_ns;
}
