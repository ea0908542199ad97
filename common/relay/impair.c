/* The impairment decision engine; see impair.h for the semantics.
 *
 * Every random draw comes from a stream of its own, drawn a fixed number of
 * times per packet whatever the outcome, so the fate of packet k depends on
 * the seed and k (and, for the rate queue and blackouts, on arrival times)
 * and on nothing else. */
#include "relay/impair.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  STREAM_LOSS,
  STREAM_DELAY,
  STREAM_DELAY_DUP,
  STREAM_REORDER,
  STREAM_DUPLICATE,
  STREAM_COUNT
};

/* Pareto shape for the "pareto" jitter: 3 has a finite variance (so the
 * jitter is a standard deviation, as for "normal") and a heavy tail. */
#define PARETO_SHAPE 3.0

struct impair {
  struct impair_config cfg;
  int64_t start_ns;
  struct impair_rng rng[STREAM_COUNT];
  /* Gilbert model: probabilities per packet, and the state (1: bad). */
  double ge_p, ge_r;
  int ge_bad;
  /* Token bucket: tokens (bytes) valid at tb_ns; the last departure. */
  double tb_tokens;
  int64_t tb_ns;
  int64_t tb_last_ns;
  int64_t last_send_ns;   /* keep_order: the latest delayed copy */
  struct impair_stats st;
};

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

void impair_rng_seed(struct impair_rng *r, uint64_t seed)
{
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

uint64_t impair_rng_next(struct impair_rng *r)
{
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double impair_rng_uniform(struct impair_rng *r)
{
  /* The top 53 bits: every double in [0, 1) with step 2^-53. */
  return (double)(impair_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

void impair_config_default(struct impair_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->seed = 1;
  cfg->dist = IMPAIR_DIST_NORMAL;
  cfg->overhead_bytes = 28;
  cfg->bucket_bytes = 1514;
  cfg->queue_ms = 100;
}

static int pct_ok(double v)
{
  return isfinite(v) && v >= 0 && v <= 100;
}

int impair_config_check(const struct impair_config *cfg)
{
  if (!pct_ok(cfg->loss_pct) || !pct_ok(cfg->reorder_pct) || !pct_ok(cfg->duplicate_pct))
    return -EINVAL;
  if (!isfinite(cfg->delay_ms) || cfg->delay_ms < 0 || cfg->delay_ms > 60000)
    return -EINVAL;
  if (!isfinite(cfg->jitter_ms) || cfg->jitter_ms < 0 || cfg->jitter_ms > 60000)
    return -EINVAL;
  if (cfg->dist != IMPAIR_DIST_NORMAL && cfg->dist != IMPAIR_DIST_PARETO &&
      cfg->dist != IMPAIR_DIST_UNIFORM)
    return -EINVAL;
  if (!isfinite(cfg->rate_kbit) || cfg->rate_kbit < 0)
    return -EINVAL;
  if (cfg->overhead_bytes < 0 || cfg->bucket_bytes < 1)
    return -EINVAL;
  if (!isfinite(cfg->queue_ms) || cfg->queue_ms < 0)
    return -EINVAL;
  if (cfg->n_blackout < 0 || cfg->n_blackout > IMPAIR_MAX_BLACKOUTS)
    return -EINVAL;
  if (cfg->loss_window.start_ns < 0 || cfg->loss_window.len_ns < 0)
    return -EINVAL;
  for (int i = 0; i < cfg->n_blackout; i++)
    if (cfg->blackout[i].start_ns < 0 || cfg->blackout[i].len_ns < 0)
      return -EINVAL;
  if (cfg->n_change < 0 || cfg->n_change > IMPAIR_MAX_CHANGES)
    return -EINVAL;
  for (int i = 0; i < cfg->n_change; i++)
    if (cfg->change[i].at_ns < 0 || (i > 0 && cfg->change[i].at_ns < cfg->change[i - 1].at_ns) ||
        !isfinite(cfg->change[i].delay_ms) || cfg->change[i].delay_ms < 0 ||
        cfg->change[i].delay_ms > 60000 || !isfinite(cfg->change[i].jitter_ms) ||
        cfg->change[i].jitter_ms < 0 || cfg->change[i].jitter_ms > 60000)
      return -EINVAL;
  if (cfg->burst_len != 0) {
    double l = cfg->loss_pct / 100.0;
    if (!isfinite(cfg->burst_len) || cfg->burst_len < 1)
      return -EINVAL;
    /* p = r L / (1 - L) must be a probability. */
    if (l >= 1 || l / (1 - l) > cfg->burst_len)
      return -EINVAL;
  }
  return 0;
}

int impair_create(struct impair **out, const struct impair_config *cfg, int64_t start_ns)
{
  struct impair *im = NULL;
  int err = impair_config_check(cfg);

  *out = NULL;
  if (err < 0)
    goto fail;
  err = -ENOMEM;
  im = calloc(1, sizeof *im);
  if (im == NULL)
    goto fail;
  im->cfg = *cfg;
  im->start_ns = start_ns;
  for (int i = 0; i < STREAM_COUNT; i++)
    impair_rng_seed(&im->rng[i], cfg->seed * (uint64_t)STREAM_COUNT + (uint64_t)i);
  if (cfg->burst_len != 0) {
    double l = cfg->loss_pct / 100.0;
    im->ge_r = 1.0 / cfg->burst_len;
    im->ge_p = im->ge_r * l / (1 - l);
  }
  im->tb_tokens = cfg->bucket_bytes;
  im->tb_ns = start_ns;
  im->tb_last_ns = INT64_MIN;
  im->last_send_ns = INT64_MIN;
  *out = im;
  return 0;

fail:
  free(im);
  return err;
}

void impair_destroy(struct impair *im)
{
  free(im);
}

/* A draw of mean 0 and deviation 1 (uniform: on [-1, 1]); always two
 * uniforms, so the stream stays aligned with the packet count. */
static double jitter_draw(struct impair_rng *r, enum impair_dist dist)
{
  double u1 = impair_rng_uniform(r);
  double u2 = impair_rng_uniform(r);

  switch (dist) {
  case IMPAIR_DIST_UNIFORM:
    return 2 * u1 - 1;
  case IMPAIR_DIST_PARETO: {
    double x = pow(1.0 - u1, -1.0 / PARETO_SHAPE);   /* x_m = 1 */
    double mean = PARETO_SHAPE / (PARETO_SHAPE - 1);
    double sd = sqrt(PARETO_SHAPE / ((PARETO_SHAPE - 1) * (PARETO_SHAPE - 1) * (PARETO_SHAPE - 2)));
    return (x - mean) / sd;
  }
  case IMPAIR_DIST_NORMAL:
  default:
    /* Box-Muller; 1 - u1 is in (0, 1], so the log is finite. */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
  }
}

/* t_ns: since the start, for the changes in force. */
static int64_t delay_ns(struct impair *im, struct impair_rng *r, int64_t t_ns)
{
  double ms = im->cfg.delay_ms, jit = im->cfg.jitter_ms;
  double j = jitter_draw(r, im->cfg.dist);   /* drawn even without jitter */

  for (int i = 0; i < im->cfg.n_change && t_ns >= im->cfg.change[i].at_ns; i++) {
    ms = im->cfg.change[i].delay_ms;
    jit = im->cfg.change[i].jitter_ms;
  }
  ms += jit * j;
  if (ms < 0)
    ms = 0;
  return (int64_t)llround(ms * 1e6);
}

/* The departure of a packet of `bytes` from the rate queue, or -1 if it
 * would wait longer than queue_ms (then the bucket is left untouched). */
static int64_t rate_departure(struct impair *im, int64_t now_ns, size_t bytes)
{
  double bytes_per_ns = im->cfg.rate_kbit * 1000.0 / 8.0 / 1e9;
  int64_t start, dep;
  double tokens, need = (double)bytes;

  if (im->cfg.rate_kbit <= 0)
    return now_ns;
  start = now_ns > im->tb_last_ns ? now_ns : im->tb_last_ns;
  tokens = im->tb_tokens + (double)(start - im->tb_ns) * bytes_per_ns;
  dep = start;
  if (tokens > im->cfg.bucket_bytes)
    tokens = im->cfg.bucket_bytes;
  if (tokens >= need) {
    tokens -= need;
  } else {
    dep = start + (int64_t)ceil((need - tokens) / bytes_per_ns);
    tokens = 0;
  }
  if ((double)(dep - now_ns) > im->cfg.queue_ms * 1e6)
    return -1;
  im->tb_tokens = tokens;
  im->tb_ns = dep;
  im->tb_last_ns = dep;
  return dep;
}

static int in_blackout(const struct impair *im, int64_t now_ns)
{
  int64_t t = now_ns - im->start_ns;
  for (int i = 0; i < im->cfg.n_blackout; i++) {
    const struct impair_blackout *b = &im->cfg.blackout[i];
    if (t >= b->start_ns && t < b->start_ns + b->len_ns)
      return 1;
  }
  return 0;
}

void impair_decide(struct impair *im, int64_t now_ns, size_t len, struct impair_fate *fate)
{
  const struct impair_config *c = &im->cfg;
  /* All draws first, a fixed number per packet (see the file comment). */
  double u_loss = impair_rng_uniform(&im->rng[STREAM_LOSS]);
  int64_t d1 = delay_ns(im, &im->rng[STREAM_DELAY], now_ns - im->start_ns);
  int64_t d2 = delay_ns(im, &im->rng[STREAM_DELAY_DUP], now_ns - im->start_ns);
  double u_reorder = impair_rng_uniform(&im->rng[STREAM_REORDER]);
  double u_dup = impair_rng_uniform(&im->rng[STREAM_DUPLICATE]);
  size_t wire = len + (size_t)c->overhead_bytes;
  int lost;

  memset(fate, 0, sizeof *fate);
  im->st.packets++;
  im->st.bytes += len;

  /* The loss chain advances on every packet, blackout or not. */
  if (c->burst_len != 0) {
    if (im->ge_bad)
      im->ge_bad = !(u_loss < im->ge_r);
    else
      im->ge_bad = u_loss < im->ge_p;
    lost = im->ge_bad;
  } else {
    lost = u_loss < c->loss_pct / 100.0;
  }

  if (c->loss_window.len_ns > 0) {
    int64_t t = now_ns - im->start_ns;
    if (t < c->loss_window.start_ns || t >= c->loss_window.start_ns + c->loss_window.len_ns)
      lost = 0;
  }

  if (in_blackout(im, now_ns)) {
    fate->verdict = IMPAIR_BLACKOUT;
    im->st.blackout++;
    return;
  }
  if (lost) {
    fate->verdict = IMPAIR_LOST;
    im->st.lost++;
    return;
  }

  int64_t dep = rate_departure(im, now_ns, wire);
  if (dep < 0) {
    fate->verdict = IMPAIR_QUEUE_FULL;
    im->st.queue_full++;
    return;
  }
  fate->verdict = IMPAIR_PASS;
  fate->copies = 1;
  im->st.passed++;
  if (c->delay_ms > 0 && u_reorder < c->reorder_pct / 100.0) {
    fate->reordered = 1;
    fate->send_ns[0] = dep;
    im->st.reordered++;
  } else {
    int64_t t = dep + d1;
    if (c->keep_order && t < im->last_send_ns)
      t = im->last_send_ns;
    fate->send_ns[0] = t;
    if (t > im->last_send_ns)
      im->last_send_ns = t;
  }

  if (u_dup < c->duplicate_pct / 100.0) {
    int64_t dep2 = rate_departure(im, now_ns, wire);
    if (dep2 >= 0) {
      int64_t t = dep2 + d2;
      if (c->keep_order && t < im->last_send_ns)
        t = im->last_send_ns;
      if (t > im->last_send_ns)
        im->last_send_ns = t;
      fate->send_ns[1] = t;
      fate->copies = 2;
      im->st.duplicated++;
    }
  }
}

void impair_get_stats(const struct impair *im, struct impair_stats *out)
{
  *out = im->st;
}

const char *impair_verdict_name(enum impair_verdict v)
{
  switch (v) {
  case IMPAIR_PASS: return "pass";
  case IMPAIR_LOST: return "lost";
  case IMPAIR_BLACKOUT: return "blackout";
  case IMPAIR_QUEUE_FULL: return "queue_full";
  }
  return "?";
}

int impair_dist_parse(const char *s, enum impair_dist *out)
{
  if (strcmp(s, "normal") == 0)
    *out = IMPAIR_DIST_NORMAL;
  else if (strcmp(s, "pareto") == 0)
    *out = IMPAIR_DIST_PARETO;
  else if (strcmp(s, "uniform") == 0)
    *out = IMPAIR_DIST_UNIFORM;
  else
    return -EINVAL;
  return 0;
}

/* The send queue: a binary min-heap on (send_ns, order). */

static int item_before(const struct impair_queue_item *a, const struct impair_queue_item *b)
{
  if (a->send_ns != b->send_ns)
    return a->send_ns < b->send_ns;
  return a->order < b->order;
}

int impair_queue_init(struct impair_queue *q, size_t cap)
{
  memset(q, 0, sizeof *q);
  q->items = calloc(cap ? cap : 1, sizeof *q->items);
  if (q->items == NULL)
    return -ENOMEM;
  q->cap = cap;
  return 0;
}

void impair_queue_destroy(struct impair_queue *q)
{
  free(q->items);
  memset(q, 0, sizeof *q);
}

int impair_queue_push(struct impair_queue *q, int64_t send_ns, void *data)
{
  size_t i;

  if (q->len >= q->cap)
    return -ENOBUFS;
  i = q->len++;
  q->items[i].send_ns = send_ns;
  q->items[i].order = q->next_order++;
  q->items[i].data = data;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    struct impair_queue_item tmp;
    if (!item_before(&q->items[i], &q->items[parent]))
      break;
    tmp = q->items[i];
    q->items[i] = q->items[parent];
    q->items[parent] = tmp;
    i = parent;
  }
  return 0;
}

const struct impair_queue_item *impair_queue_peek(const struct impair_queue *q)
{
  return q->len ? &q->items[0] : NULL;
}

void *impair_queue_pop(struct impair_queue *q)
{
  void *data;
  size_t i = 0;

  if (q->len == 0)
    return NULL;
  data = q->items[0].data;
  q->items[0] = q->items[--q->len];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    struct impair_queue_item tmp;
    if (l < q->len && item_before(&q->items[l], &q->items[m]))
      m = l;
    if (r < q->len && item_before(&q->items[r], &q->items[m]))
      m = r;
    if (m == i)
      break;
    tmp = q->items[i];
    q->items[i] = q->items[m];
    q->items[m] = tmp;
    i = m;
  }
  return data;
}
