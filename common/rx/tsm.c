/* Time-scale modification by whole pitch periods: see tsm.h. */
#include "rx/tsm.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"

#define DECIM 6                 /* the search runs at 8 kHz */
#define BOX (2 * DECIM)         /* its low-pass: a box with a null at 4 kHz */
#define REFINE (DECIM - 1)      /* +- frames searched at 48 kHz around a coarse lag */
#define OCTAVE_SLACK 0.05       /* a shorter lag this close to the best is preferred */
#define POSITIONS 4             /* splice positions tried per chunk */
#define SUB_US 2500             /* the quiet test's windows */
#define GOOD_ENOUGH 0.97        /* a candidate this good ends the search */

struct tsm {
  int ch;
  int max_block;
  double min_corr;
  int min_lag, max_lag;         /* frames */
  int min_fade, quiet_fade;     /* frames */
  int step;                     /* between candidate positions, frames (a multiple of DECIM) */
  int sub;                      /* quiet test window, frames */
  int chunk, chunk_max;         /* a block is processed in chunks of chunk..chunk_max */
  int hist_cap;                 /* frames of history kept (a multiple of DECIM) */
  double floor_ms;              /* -60 dBFS as a mean square */
  double quiet_ratio;           /* -30 dB as an energy ratio */
  double decay_per_frame;       /* of the peak level, as a log */

  int16_t *hist;                /* the last hist_len frames emitted, oldest first */
  int hist_len;
  double level;                 /* recent peak mean square of 2.5 ms windows */
  double corr_floor;            /* the lowest the threshold relaxes to */
  int relax;                    /* frames of vain search over which it does */
  int waited;                   /* frames searched in vain since the last splice */

  int16_t *in;                  /* a copy of the caller's block */
  int16_t *win;                 /* [history | chunk], interleaved; x[0] at win + hist_cap * ch */
  int64_t *e2;                  /* prefix sums over win of the frame's sum of squares */
  float *xd;                    /* decimated chunk per channel, ch * nd */
  double *ed;                   /* prefix sums of the decimated sum of squares */
  int nd;                       /* decimated points per channel */
  double *ncc;                  /* coarse correlation per decimated lag */
};

int tsm_create(struct tsm **out, const struct tsm_config *cfg)
{
  struct tsm *t = NULL;
  int max_block, win_frames;

  if (out == NULL || cfg == NULL)
    return -EINVAL;
  *out = NULL;
  max_block = cfg->max_block ? cfg->max_block : DL_MAX_PACKET_SAMPLES;
  if ((cfg->channels != 1 && cfg->channels != 2) || max_block < 1 ||
      max_block > DL_MAX_PACKET_SAMPLES || !(cfg->min_corr >= 0 && cfg->min_corr <= 1))
    return -EINVAL;
  t = calloc(1, sizeof *t);
  if (t == NULL)
    return -ENOMEM;
  t->ch = cfg->channels;
  t->max_block = max_block;
  t->min_corr = cfg->min_corr > 0 ? cfg->min_corr : DL_TSM_MIN_CORR;
  t->corr_floor = cfg->min_corr > 0 && cfg->min_corr < DL_TSM_MIN_CORR_FLOOR ? cfg->min_corr
                                                                             : DL_TSM_MIN_CORR_FLOOR;
  t->relax = (int)((int64_t)DL_RATE * DL_TSM_RELAX_MS / 1000);
  t->min_lag = (int)((int64_t)DL_RATE * DL_TSM_MIN_LAG_US / 1000000);
  t->max_lag = (int)((int64_t)DL_RATE * DL_TSM_MAX_LAG_US / 1000000);
  t->min_fade = (int)((int64_t)DL_RATE * DL_TSM_MIN_FADE_US / 1000000);
  t->quiet_fade = (int)((int64_t)DL_RATE * DL_TSM_QUIET_FADE_US / 1000000);
  t->sub = (int)((int64_t)DL_RATE * SUB_US / 1000000);
  t->step = t->quiet_fade / DECIM * DECIM;
  /* Two of the longest periods: a shortening there may use any lag. A
   * block's tail shorter than a shortest period plus its fade joins the
   * chunk before it rather than being a chunk too short for any splice. */
  t->chunk = 2 * t->max_lag;
  t->chunk_max = t->chunk + t->min_lag + t->min_fade;
  t->hist_cap = (2 * t->max_lag + DECIM - 1) / DECIM * DECIM;
  t->floor_ms = pow(32768.0 * pow(10.0, DL_TSM_FLOOR_DBFS / 20.0), 2);
  t->quiet_ratio = pow(10.0, -DL_TSM_QUIET_DB / 10.0);
  t->decay_per_frame = -1.0 / ((double)DL_TSM_LEVEL_TAU_MS * DL_RATE / 1000.0);

  win_frames = t->hist_cap + t->chunk_max;
  t->nd = win_frames / DECIM + 1;
  t->hist = calloc((size_t)t->hist_cap * t->ch, sizeof *t->hist);
  t->in = calloc((size_t)max_block * t->ch, sizeof *t->in);
  t->win = calloc((size_t)win_frames * t->ch, sizeof *t->win);
  t->e2 = calloc((size_t)win_frames + 1, sizeof *t->e2);
  t->xd = calloc((size_t)t->nd * t->ch, sizeof *t->xd);
  t->ed = calloc((size_t)t->nd + 1, sizeof *t->ed);
  t->ncc = calloc((size_t)t->max_lag / DECIM + 2, sizeof *t->ncc);
  if (t->hist == NULL || t->in == NULL || t->win == NULL || t->e2 == NULL || t->xd == NULL ||
      t->ed == NULL || t->ncc == NULL)
    goto fail;
  *out = t;
  return 0;
fail:
  tsm_destroy(t);
  return -ENOMEM;
}

void tsm_destroy(struct tsm *t)
{
  if (t == NULL)
    return;
  free(t->hist);
  free(t->in);
  free(t->win);
  free(t->e2);
  free(t->xd);
  free(t->ed);
  free(t->ncc);
  free(t);
}

void tsm_reset(struct tsm *t)
{
  t->hist_len = 0;
  t->level = 0;
  t->waited = 0;
}

/* Appends n emitted frames to the history, keeping the newest hist_cap. */
static void hist_push(struct tsm *t, const int16_t *pcm, int n)
{
  int ch = t->ch, cap = t->hist_cap;

  if (n <= 0)
    return;
  if (n >= cap) {
    memcpy(t->hist, pcm + (size_t)(n - cap) * ch, (size_t)cap * ch * sizeof *pcm);
    t->hist_len = cap;
    return;
  }
  int keep = t->hist_len + n > cap ? cap - n : t->hist_len;
  memmove(t->hist, t->hist + (size_t)(t->hist_len - keep) * ch, (size_t)keep * ch * sizeof *pcm);
  memcpy(t->hist + (size_t)keep * ch, pcm, (size_t)n * ch * sizeof *pcm);
  t->hist_len = keep + n;
}

/* Mean square per sample of frames [a, b) of interleaved pcm. */
static double mean_square(const int16_t *pcm, int ch, int a, int b)
{
  int64_t acc = 0;

  for (int i = a * ch; i < b * ch; i++)
    acc += (int32_t)pcm[i] * pcm[i];
  return b > a ? (double)acc / ((double)(b - a) * ch) : 0;
}

/* Follows the peak level: the loudest 2.5 ms window, decaying with
 * DL_TSM_LEVEL_TAU_MS, so that "quiet" means quiet for this stream. */
static void level_update(struct tsm *t, const int16_t *pcm, int frames)
{
  double peak = 0;

  for (int a = 0; a < frames; a += t->sub) {
    int b = a + t->sub < frames ? a + t->sub : frames;
    double m = mean_square(pcm, t->ch, a, b);
    if (m > peak)
      peak = m;
  }
  t->level *= exp(t->decay_per_frame * frames);
  if (peak > t->level)
    t->level = peak;
}

/* 1 if every 2.5 ms of frames [a, b) of x (x[0] the chunk's first frame,
 * negative indices the history) is quiet. */
static int is_quiet(const struct tsm *t, const int16_t *x, int a, int b)
{
  double thr = t->level * t->quiet_ratio;

  if (thr < t->floor_ms)
    thr = t->floor_ms;
  for (int p = a; p < b; p += t->sub) {
    int q = p + t->sub < b ? p + t->sub : b;
    if (mean_square(x, t->ch, p, q) >= thr)
      return 0;
  }
  return 1;
}

/* Fills win with the history and the chunk, and the search's sums. x[i]
 * for i in [-hist_len, c) is then win's frame hist_cap + i. */
static void prepare(struct tsm *t, const int16_t *chunk, int c)
{
  int ch = t->ch, h = t->hist_cap, n = h + c;
  int16_t *w = t->win;

  memset(w, 0, (size_t)(h - t->hist_len) * ch * sizeof *w);
  memcpy(w + (size_t)(h - t->hist_len) * ch, t->hist, (size_t)t->hist_len * ch * sizeof *w);
  memcpy(w + (size_t)h * ch, chunk, (size_t)c * ch * sizeof *w);
  t->e2[0] = 0;
  for (int i = 0; i < n; i++) {
    int64_t s = 0;
    for (int k = 0; k < ch; k++)
      s += (int32_t)w[i * ch + k] * w[i * ch + k];
    t->e2[i + 1] = t->e2[i] + s;
  }
  /* Point m is the mean of the BOX frames centred on frame m * DECIM of
   * win (zeros outside what is known, which only shortens the edges). */
  int lo = h - t->hist_len;
  t->ed[0] = 0;
  for (int m = 0; m < t->nd; m++) {
    double s2 = 0;
    for (int k = 0; k < ch; k++) {
      int acc = 0;
      for (int j = m * DECIM - BOX / 2; j < m * DECIM + BOX / 2; j++)
        if (j >= lo && j < n)
          acc += w[j * ch + k];
      float v = (float)acc / BOX;
      t->xd[(size_t)k * t->nd + m] = v;
      s2 += (double)v * v;
    }
    t->ed[m + 1] = t->ed[m] + s2;
  }
}

/* The cross-fade length for lag p at position s of a chunk of c frames;
 * 0 if the splice does not fit. dir < 0 shortens. */
static int fade_len(const struct tsm *t, int dir, int c, int s, int p)
{
  int room = dir < 0 ? c - s - p : c - s;
  int w = p < room ? p : room;
  int need = (p + 1) / 2 > t->min_fade ? (p + 1) / 2 : t->min_fade;

  if (dir > 0 && s - p < -t->hist_len)
    return 0;
  return w >= need ? w : 0;
}

/* Normalised correlation at 48 kHz of x[a..a+w) and x[b..b+w), summed
 * over channels; a and b are chunk frame indices. */
static double ncc_full(const struct tsm *t, int a, int b, int w)
{
  int ch = t->ch, h = t->hist_cap;
  const int16_t *xa = t->win + (size_t)(h + a) * ch, *xb = t->win + (size_t)(h + b) * ch;
  int64_t cross = 0;

  for (int i = 0; i < w * ch; i++)
    cross += (int32_t)xa[i] * xb[i];
  double ea = (double)(t->e2[h + a + w] - t->e2[h + a]);
  double eb = (double)(t->e2[h + b + w] - t->e2[h + b]);
  return ea > 0 && eb > 0 ? (double)cross / sqrt(ea * eb) : 0;
}

/* The same at 8 kHz: decimated points a and b (win indices / DECIM), wd long. */
static double ncc_coarse(const struct tsm *t, int a, int b, int wd)
{
  double cross = 0;

  for (int k = 0; k < t->ch; k++) {
    const float *xa = t->xd + (size_t)k * t->nd + a, *xb = t->xd + (size_t)k * t->nd + b;
    float acc = 0;
    for (int i = 0; i < wd; i++)
      acc += xa[i] * xb[i];
    cross += acc;
  }
  double ea = t->ed[a + wd] - t->ed[a], eb = t->ed[b + wd] - t->ed[b];
  return ea > 0 && eb > 0 ? cross / sqrt(ea * eb) : 0;
}

struct cand {
  int s, lag, fade;
  double corr;
};

/* Refines a coarse lag pd at position s: the best of +-REFINE frames at
 * 48 kHz. Returns 0 and the candidate, or 1 if that best is longer than
 * lim (the peak is there, not at the edge lim would cut it to: a lag off
 * the peak is not a whole period), or -1 if nothing fits. */
static int refine(const struct tsm *t, int dir, int c, int s, int pd, int lim, struct cand *out)
{
  struct cand b = {0, 0, 0, -1};
  for (int p = pd * DECIM - REFINE; p <= pd * DECIM + REFINE; p++) {
    if (p < t->min_lag || p > t->max_lag)
      continue;
    int w = fade_len(t, dir, c, s, p);
    if (w == 0)
      continue;
    double r = ncc_full(t, s, s - dir * p, w);
    if (r > b.corr)
      b = (struct cand){s, p, w, r};
  }
  if (b.corr == -1)
    return -1;
  *out = b;
  return b.lag > lim;
}

/* The best voiced splice in a prepared chunk of c frames with lag <= lim;
 * corr -1 if none fits. At each position the coarse correlation is
 * computed for every lag that fits, and two of its peaks are refined: the
 * shortest within OCTAVE_SLACK of the best (a period rather than two) and
 * the best (for polyphonic music, whose 8 kHz picture misleads: the bass
 * dominates it). The result is the shortest refined candidate within
 * OCTAVE_SLACK of the best refined one. Every lag is searched, lim or not,
 * so that *later is 1 when the signal's period is longer than lim: then a
 * splice is to be had once more is asked, and waiting is not the
 * signal's fault. */
static struct cand search(struct tsm *t, int dir, int c, int lim, double thr, int *later)
{
  struct cand got[2 * POSITIONS];
  int ngot = 0;
  int h = t->hist_cap;
  int lo_d = (t->min_lag + DECIM - 1) / DECIM, hi_d = t->max_lag / DECIM;

  *later = 0;
  for (int k = 0; k < POSITIONS; k++) {
    int s = k * t->step;
    double top = -1;
    int arg = -1;

    if (s + t->min_fade > c)
      break;
    for (int pd = lo_d; pd <= hi_d; pd++) {
      int w = fade_len(t, dir, c, s, pd * DECIM);
      t->ncc[pd] = -2;
      if (w == 0)
        continue;
      int a = (h + s) / DECIM, b = (h + s - dir * pd * DECIM) / DECIM;
      t->ncc[pd] = ncc_coarse(t, a, b, w / DECIM);
      if (t->ncc[pd] > top) {
        top = t->ncc[pd];
        arg = pd;
      }
    }
    if (arg < 0)
      continue;
    int pick = -1;
    for (int pd = lo_d; pd <= hi_d && pick < 0; pd++) {
      double v = t->ncc[pd];
      if (v >= top - OCTAVE_SLACK && (pd == lo_d || v >= t->ncc[pd - 1]) &&
          (pd == hi_d || v >= t->ncc[pd + 1]))
        pick = pd;
    }
    int peaks[2] = {pick, arg};
    for (int j = 0; j < 2; j++) {
      if (peaks[j] < 0 || (j == 1 && peaks[1] == peaks[0]))
        continue;
      struct cand cd;
      int rc = refine(t, dir, c, s, peaks[j], lim, &cd);
      if (rc == 0)
        got[ngot++] = cd;
      else if (rc == 1 && cd.corr >= thr)
        *later = 1;
    }
    /* Half the cost in voiced speech: the first position usually has a
     * period that no later one beats by much. */
    if (ngot > 0 && got[ngot - 1].corr >= GOOD_ENOUGH && got[0].corr >= GOOD_ENOUGH)
      break;
  }
  struct cand best = {0, 0, 0, -1};
  for (int j = 0; j < ngot; j++)
    if (got[j].corr > best.corr)
      best = got[j];
  for (int j = 0; j < ngot; j++)
    if (got[j].corr >= best.corr - OCTAVE_SLACK && got[j].lag < best.lag && got[j].corr >= thr)
      best = got[j];
  return best;
}

static int16_t mix(int16_t a, int16_t b, double wb)
{
  double v = floor(a + (b - a) * wb + 0.5);
  return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* Writes the chunk (x[0] its first frame) with the splice into out and
 * returns the frames written: x[0..s), the raised-cosine fade from
 * x[s..s+w) to x[s+lag..) (shortening) or x[s-lag..), then what follows the fade's far side. */
static int emit(const struct tsm *t, const int16_t *x, int c, int dir, const struct cand *sp,
                int16_t *out)
{
  int ch = t->ch, s = sp->s, w = sp->fade, far = s - dir * sp->lag;
  int n = 0;

  memcpy(out, x, (size_t)s * ch * sizeof *out);
  n = s;
  for (int k = 0; k < w; k++, n++) {
    double wb = 0.5 - 0.5 * cos(M_PI * (k + 0.5) / w);
    for (int j = 0; j < ch; j++)
      out[n * ch + j] = mix(x[(s + k) * ch + j], x[(far + k) * ch + j], wb);
  }
  int rest = c - (far + w);
  memcpy(out + (size_t)n * ch, x + (ptrdiff_t)(far + w) * ch, (size_t)rest * ch * sizeof *out);
  return n + rest;
}

int tsm_process(struct tsm *t, int16_t *pcm, int frames, int cap, int want,
                struct tsm_result *res)
{
  int ch, dir, rem, in_pos = 0, out_pos = 0, splices = 0;

  if (res != NULL)
    memset(res, 0, sizeof *res);
  if (t == NULL || frames < 0 || frames > t->max_block || cap < frames ||
      (pcm == NULL && frames > 0))
    return -EINVAL;
  ch = t->ch;
  level_update(t, pcm, frames);
  if (want == 0 || frames == 0) {
    if (want == 0)
      t->waited = 0;
    hist_push(t, pcm, frames);
    return frames;
  }
  dir = want < 0 ? -1 : 1;
  /* -INT_MIN does not exist; nothing asks for more than a block anyway. */
  rem = want < -t->max_block ? t->max_block : want > t->max_block ? t->max_block : abs(want);
  memcpy(t->in, pcm, (size_t)frames * ch * sizeof *pcm);

  while (in_pos < frames) {
    int c = frames - in_pos;
    struct cand sp = {0, 0, 0, -1};
    enum tsm_kind kind = TSM_VOICED;

    if (c > t->chunk_max)
      c = t->chunk;
    prepare(t, t->in + (size_t)in_pos * ch, c);
    const int16_t *x = t->win + (size_t)t->hist_cap * ch;
    /* The room a lengthening has: what cap leaves after the rest of the block. */
    int lim = rem;
    if (dir > 0 && cap - out_pos - (frames - in_pos) < lim)
      lim = cap - out_pos - (frames - in_pos);
    if (lim > 0 && splices < TSM_MAX_SPLICES) {
      /* A pause first: there any amount fits and the request is met. */
      int qf = t->quiet_fade < c / 2 ? t->quiet_fade : c / 2;
      int qlag = dir < 0 ? c - qf : (c < t->hist_len ? c : t->hist_len);
      if (qlag > lim)
        qlag = lim;
      if (qf > 0 && qlag > 0 &&
          is_quiet(t, x, dir < 0 ? 0 : -qlag, dir < 0 ? qlag + qf : qf)) {
        sp = (struct cand){0, qlag, qf, 0};
        sp.corr = ncc_full(t, 0, -dir * qlag, qf);
        kind = TSM_QUIET;
      } else if (lim >= t->min_lag) {
        /* Picky while it can afford to be: the threshold falls from
         * min_corr to DL_TSM_MIN_CORR_FLOOR over DL_TSM_RELAX_MS of audio
         * searched in vain (polyphonic music rarely correlates at 0.9 within
         * 20 ms; speech nearly always does within a few frames). */
        double thr = t->min_corr - (t->min_corr - t->corr_floor) *
                                       (t->waited < t->relax ? (double)t->waited / t->relax : 1);
        int later;
        sp = search(t, dir, c, lim, thr, &later);
        if (sp.corr < thr) {
          sp.lag = 0;
          if (!later)
            t->waited += c;
        }
      }
    }
    int n;
    if (sp.lag > 0) {
      n = emit(t, x, c, dir, &sp, pcm + (size_t)out_pos * ch);
      rem -= sp.lag;
      splices++;
      t->waited = 0;
      if (res != NULL) {
        res->s[res->n++] = (struct tsm_splice){kind, out_pos + sp.s, in_pos + sp.s, sp.lag,
                                               sp.fade, sp.corr};
        res->change += dir * sp.lag;
      }
    } else {
      n = c;
      memmove(pcm + (size_t)out_pos * ch, x, (size_t)c * ch * sizeof *pcm);
    }
    hist_push(t, pcm + (size_t)out_pos * ch, n);
    in_pos += c;
    out_pos += n;
  }
  return out_pos;
}
