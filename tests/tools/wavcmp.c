/* wavcmp: align a decoded recording with its reference and say how alike
 * they are.
 *
 * Both files are read with libsndfile and mixed down to mono. The lag of OUT
 * behind REF is found by normalised cross-correlation, computed with a
 * radix-2 FFT: both signals go into one complex transform (REF real, OUT
 * imaginary), their spectra are separated by conjugate symmetry, and the
 * inverse transform of conj(REF)*OUT gives sum_n ref[n]*out[n+lag] for every
 * lag at once. Each lag's value is divided by the energies of the two
 * overlapping parts (prefix sums), so a lag with a short overlap does not win
 * by size alone; the overlap must cover half the reference segment.
 *
 * Over the overlap at that lag it reports the Pearson correlation, the SNR
 * of OUT against REF (no gain fitted: a level error is damage too), the
 * least-squares gain, and the share of short windows with audible reference
 * content whose own SNR falls below a threshold ("damaged"). With
 * --rate-check the lag is measured again near the start and near the end of
 * the overlap, with sub-sample precision, to give the rate difference in ppm.
 * With --track the lag is followed along REF block by block (a stretch, a
 * hole, a missing chunk) and the same figures are computed with each REF
 * sample compared at its own lag (see track() below).
 *
 * A test tool: it allocates freely and exits on error. */
#include <complex.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "defaults.h"
#include "util/args.h"

#define PROG "wavcmp"

/* The lag search looks at this much of REF at most: enough speech to be
 * unambiguous, small enough that the FFT of an hour-long recording is not
 * an hour long (2^22 points, 64 MiB). */
#define SEARCH_MAX_S 30.0
/* --rate-check: probe length and spacing, how far a probe may move from
 * the previous one, and the normalised correlation a probe needs to count. */
#define PROBE_S 0.5
#define PROBE_STEP_S 1.0
#define PROBE_MARGIN_MS 20.0
#define PROBE_MIN_NCC 0.5
#define PROBE_OUTLIER_MS 0.5

#define DEFAULT_WINDOW_MS 20.0
#define DEFAULT_SNR_THRESHOLD_DB 10.0
#define DEFAULT_MAX_LAG_MS 2000.0
#define DEFAULT_FLOOR_DB (-30.0)
#define ABS_FLOOR_DBFS (-60.0)
#define DEFAULT_SPAN_DBFS (-50.0)
/* --track: see track() for what each means. */
#define DEFAULT_TRACK_BLOCK_MS 100.0
#define DEFAULT_TRACK_SEARCH_MS 250.0
#define DEFAULT_TRACK_MIN_NCC 0.6
#define DEFAULT_TRACK_STEP_MS 2.0

struct signal {
  float *x;
  size_t n;
  int channels;
  int rate;
};

static void usage(FILE *f) {
  fprintf(f,
    "usage: " PROG " REF.wav OUT.wav [OPTIONS]\n"
    "\n"
    "Aligns OUT (a decoded recording) with REF by FFT cross-correlation and\n"
    "compares them over their overlap. Any file libsndfile reads; both are\n"
    "mixed down to mono and must be 48000 Hz (resample with sox first).\n"
    "\n"
    "  --max-lag-ms MS       search lags of OUT behind REF within +-MS (%.0f)\n"
    "  --window-ms MS        window length for damaged_pct (%.0f)\n"
    "  --snr-threshold DB    a window whose SNR is below DB is damaged (%.0f):\n"
    "                        the error is then within 10 dB of the signal,\n"
    "                        plainly audible. Against the clean-path decode\n"
    "                        (tests/tools/encdec) an undamaged stream is\n"
    "                        bit-exact; with 10 %% of packets lost, a PLC frame\n"
    "                        and the decoder's re-convergence after it put about\n"
    "                        2.5 windows per lost packet below 10 dB, FEC about\n"
    "                        0.7, while windows far from a loss stay above 40 dB.\n"
    "                        Against the original input Opus itself scores only\n"
    "                        about 10 dB overall: use about 0 dB there.\n"
    "  --floor-db DB         windows whose REF energy is more than -DB below the\n"
    "                        REF overlap's mean energy (and any below %.0f dBFS)\n"
    "                        are pauses and not counted (%.0f)\n"
    "  --span-db DBFS        ref_span_s and out_span_s run from the first to the\n"
    "                        last sample louder than DBFS (%.0f): the audio\n"
    "                        between a receiver's leading and trailing silence\n"
    "  --rate-check          also measure the lag (sub-sample) in 0.5 s probes\n"
    "                        every second along the overlap, fit a line, and\n"
    "                        report drift_ppm (> 0: OUT is stretched, its lag\n"
    "                        grows), lag_start_ms and lag_end_ms (the line at the\n"
    "                        ends of the overlap) and probes (how many counted)\n"
    "  --track               follow the lag along REF instead of comparing at one\n"
    "                        lag: for OUT stretched by a resampler (up to 1 %%),\n"
    "                        or with a hole inserted or a chunk missing (a\n"
    "                        recorder's dropout). REF is walked in blocks; each\n"
    "                        block above the floor is looked for in OUT near the\n"
    "                        lag its predecessors predict (the last lag plus the\n"
    "                        recent drift) by normalised cross-correlation. A lag\n"
    "                        more than --track-step-ms from the prediction is a\n"
    "                        step only if it correlates clearly better than the\n"
    "                        prediction and the next two blocks that match\n"
    "                        anything would choose it too (speech matches itself\n"
    "                        a pitch period away: one block is no evidence);\n"
    "                        a block below --track-min-ncc keeps the predicted lag\n"
    "                        (unaligned): noise or concealment is damage, never\n"
    "                        a reason to move. Each block's lag is then fitted to\n"
    "                        a fraction of a sample, every REF sample gets its\n"
    "                        lag on the line through the blocks' lags (refitted\n"
    "                        in fifth-of-a-block pieces where the match is\n"
    "                        excellent; OUT interpolated), a step switches where\n"
    "                        it errs least, and corr, snr_db, gain, overlap_s,\n"
    "                        windows, damaged and damaged_pct are computed that\n"
    "                        way (--min-corr then applies to that corr). lag_ms\n"
    "                        stays the global lag; --rate-check is independent\n"
    "                        of it\n"
    "  --track-block-ms MS   block length (%.0f)\n"
    "  --track-search-ms MS  how far from the prediction a block is looked for\n"
    "                        (%.0f): the largest hole or chunk followed\n"
    "  --track-min-ncc X     a block's best normalised correlation must reach X\n"
    "                        to be aligned (%.2f). Against a clean-path decode\n"
    "                        an intact block scores about 1; the input against\n"
    "                        its Opus 32 kbit/s decode leaves about 1 block in 8\n"
    "                        of the speech sample below 0.6 (they follow the\n"
    "                        line of their neighbours)\n"
    "  --track-step-ms MS    a lag this far from the prediction is a step\n"
    "                        (%.0f); smaller moves are followed as drift\n"
    "  --min-corr X          exit 1 if corr < X (-1..1)\n"
    "  --json                one JSON object instead of key=value lines\n"
    "  -h, --help            this text\n"
    "\n"
    "Reports: lag_ms (OUT behind REF; negative: OUT starts later in the\n"
    "content, its head is missing), corr (Pearson over the overlap), snr_db\n"
    "(10 log10 of REF energy / energy of OUT - REF), gain (least-squares level\n"
    "of OUT relative to REF), ref_s, out_s, overlap_s, windows (counted, above\n"
    "the floor), damaged (windows below the threshold), damaged_pct,\n"
    "ref_span_s, out_span_s.\n"
    "With --track also: track_blocks (blocks above the floor), track_unaligned\n"
    "(of those, blocks not matched well enough anywhere), lag_min_ms and\n"
    "lag_max_ms (over the aligned blocks), lag_steps (discontinuities of more\n"
    "than --track-step-ms: a hole inserted in OUT is a step up, a chunk\n"
    "missing from OUT a step down), max_step_ms (the largest step, signed; 0\n"
    "without), track_drift_ppm (least-squares slope through the blocks' lags,\n"
    "one slope for all the pieces between steps; > 0: OUT is stretched).\n"
    "lag_min_ms, lag_max_ms and track_drift_ppm are null (nan) where no block\n"
    "is aligned.\n"
    "Exit: 0; 1 if --min-corr is not met; 2 on usage, file or format errors.\n",
    DEFAULT_MAX_LAG_MS, DEFAULT_WINDOW_MS, DEFAULT_SNR_THRESHOLD_DB, ABS_FLOOR_DBFS,
    DEFAULT_FLOOR_DB, DEFAULT_SPAN_DBFS, DEFAULT_TRACK_BLOCK_MS, DEFAULT_TRACK_SEARCH_MS,
    DEFAULT_TRACK_MIN_NCC, DEFAULT_TRACK_STEP_MS);
}

static void die(const char *what, const char *why) {
  fprintf(stderr, PROG ": %s: %s\n", what, why);
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("memory", strerror(ENOMEM));
  return p;
}

/* Seconds from the first to the last sample whose magnitude reaches thr
 * (0 if none does). */
static double span_s(const struct signal *s, double thr) {
  size_t a = 0, b = s->n;
  while (a < s->n && fabsf(s->x[a]) < thr) a++;
  while (b > a && fabsf(s->x[b - 1]) < thr) b--;
  return (double)(b - a) / DL_RATE;
}

static void read_mono(const char *path, struct signal *s) {
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *f = sf_open(path, SFM_READ, &info);
  if (!f) die(path, sf_strerror(NULL));
  if (info.samplerate != DL_RATE) {
    char why[128];
    snprintf(why, sizeof why, "sample rate %d Hz, expected %d (resample it first)",
             info.samplerate, DL_RATE);
    sf_close(f);
    die(path, why);
  }
  if (info.channels < 1 || info.frames < 0) {
    sf_close(f);
    die(path, "no audio channels");
  }
  size_t frames = (size_t)info.frames;
  int ch = info.channels;
  float *buf = xmalloc(4096 * (size_t)ch * sizeof *buf);
  s->x = xmalloc(frames * sizeof *s->x);
  s->n = 0;
  for (;;) {
    sf_count_t got = sf_readf_float(f, buf, 4096);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got && s->n < frames; i++) {
      double sum = 0;
      for (int c = 0; c < ch; c++) sum += buf[(size_t)i * (size_t)ch + (size_t)c];
      s->x[s->n++] = (float)(sum / ch);
    }
  }
  free(buf);
  s->channels = ch;
  s->rate = info.samplerate;
  sf_close(f);
}

/* In-place iterative radix-2 FFT of n (a power of two) points.
 * sign -1: forward, +1: inverse (unscaled). The twiddles come from one
 * table of n/2 values computed with cos/sin directly (no recurrence), so
 * the error stays small at 2^22 points. */
static void fft(double complex *a, size_t n, int sign) {
  if (n < 2) return;
  /* --track transforms hundreds of blocks of one size, forward and back:
   * keep one table per direction instead of recomputing it each time. */
  static double complex *tabs[2];
  static size_t tab_n[2];
  int slot = sign > 0;
  if (tab_n[slot] != n) {
    free(tabs[slot]);
    tabs[slot] = xmalloc(n / 2 * sizeof *tabs[slot]);
    tab_n[slot] = n;
    for (size_t k = 0; k < n / 2; k++) {
      double ang = sign * 2.0 * M_PI * (double)k / (double)n;
      tabs[slot][k] = cos(ang) + I * sin(ang);
    }
  }
  const double complex *tw = tabs[slot];
  for (size_t i = 1, j = 0; i < n; i++) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      double complex t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    size_t half = len / 2, step = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t k = 0; k < half; k++) {
        double complex v = a[i + k + half] * tw[k * step];
        double complex u = a[i + k];
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
    }
  }
}

struct lag_result {
  long lag;        /* samples: y[n + lag] matches x[n] */
  double frac;     /* sub-sample refinement in (-0.5, 0.5) */
  double ncc;      /* normalised correlation at lag */
  int found;
};

/* Best lag in [lo, hi] of y against x by normalised cross-correlation,
 * considering only lags whose overlap is at least min_overlap samples. */
static struct lag_result best_lag(const float *x, size_t nx, const float *y, size_t ny,
                                  long lo, long hi, size_t min_overlap) {
  struct lag_result r = {0, 0, 0, 0};
  /* Lags beyond either end overlap nothing. */
  if (lo < -(long)nx + 1) lo = -(long)nx + 1;
  if (hi > (long)ny - 1) hi = (long)ny - 1;
  if (lo > hi) return r;
  size_t n = 1;
  while (n < nx + ny) n <<= 1;
  double complex *a = xmalloc(n * sizeof *a);
  for (size_t i = 0; i < n; i++)
    a[i] = (i < nx ? x[i] : 0.0f) + I * (double)(i < ny ? y[i] : 0.0f);
  fft(a, n, -1);
  /* X = FFT(x), Y = FFT(y) from Z = X + iY by conjugate symmetry, then
   * C = conj(X) * Y, in place, k and n-k together. */
  for (size_t k = 0; k <= n / 2; k++) {
    size_t m = (n - k) & (n - 1);
    double complex zk = a[k], zm = a[m];
    double complex xk = (zk + conj(zm)) / 2.0, yk = (zk - conj(zm)) / (2.0 * I);
    double complex xm = (zm + conj(zk)) / 2.0, ym = (zm - conj(zk)) / (2.0 * I);
    a[k] = conj(xk) * yk;
    a[m] = conj(xm) * ym;
  }
  fft(a, n, +1);

  double *px = xmalloc((nx + 1) * sizeof *px), *py = xmalloc((ny + 1) * sizeof *py);
  px[0] = py[0] = 0;
  for (size_t i = 0; i < nx; i++) px[i + 1] = px[i] + (double)x[i] * x[i];
  for (size_t i = 0; i < ny; i++) py[i + 1] = py[i] + (double)y[i] * y[i];

  double *ncc = xmalloc((size_t)(hi - lo + 1) * sizeof *ncc);
  for (long L = lo; L <= hi; L++) {
    double v = -2.0;
    long n0 = L < 0 ? -L : 0;
    long n1 = (long)nx < (long)ny - L ? (long)nx : (long)ny - L;
    if (n1 - n0 >= (long)min_overlap && n1 > n0) {
      double c = creal(a[(size_t)(L < 0 ? (long)n + L : L)]) / (double)n;
      double ex = px[n1] - px[n0], ey = py[n1 + L] - py[n0 + L];
      if (ex > 0 && ey > 0) v = c / sqrt(ex * ey);
    }
    ncc[L - lo] = v;
    if (v > -2.0 && (!r.found || v > r.ncc)) {
      r.found = 1;
      r.ncc = v;
      r.lag = L;
    }
  }
  if (r.found && r.lag > lo && r.lag < hi) {
    double a1 = ncc[r.lag - 1 - lo], b = ncc[r.lag - lo], c1 = ncc[r.lag + 1 - lo];
    double den = a1 - 2 * b + c1;
    if (a1 > -2.0 && c1 > -2.0 && den < 0) {
      double f = 0.5 * (a1 - c1) / den;
      if (f > -0.5 && f < 0.5) r.frac = f;
    }
  }
  free(ncc);
  free(px);
  free(py);
  free(a);
  return r;
}

/* --track: the lag followed block by block.
 *
 * REF is cut into blocks (--track-block-ms). Each block with audible
 * content is looked for in OUT within +-S (--track-search-ms) of the lag
 * the blocks before it predict (the last aligned block's lag plus the
 * recent drift), by normalised cross-correlation over one FFT per block.
 * The best lag within the step threshold of the prediction wins unless a
 * lag further away is clearly better (TRACK_NEAR_MARGIN); a lag further
 * away is a step (a hole inserted in OUT, a chunk missing from it) only if
 * the next audible blocks would choose it too (track_confirm), so that a
 * block of noise or concealment, or voiced speech matching itself a pitch
 * period away, does not move the lag. A block whose best correlation is
 * below --track-min-ncc keeps the predicted lag and is counted as
 * unaligned: damage stays damage.
 *
 * Each aligned block gives an anchor: the lag at its centre to a fraction
 * of a sample, from a Gauss-Newton fit of a line (lag and local drift) to
 * the block's squared error (block_refine). A second pass fits each block
 * again from its neighbours on both sides and drops anchors off their
 * neighbours' line and anchors of damaged blocks (track_clean). Between
 * steps the lag of every REF sample is the line through the anchors (a
 * resampler's stretch is followed sample by sample, OUT interpolated
 * between its samples); at a step the switch is put where it makes the
 * least error, so a hole of silence costs no window at all. */
/* A near-tie between the predicted lag and one further away is no
 * evidence of a discontinuity: keep the prediction. */
#define TRACK_NEAR_MARGIN 0.1
/* A step candidate is confirmed by the next TRACK_CONFIRM_COUNT audible
 * blocks within TRACK_CONFIRM_BLOCKS blocks, or rejected. */
#define TRACK_CONFIRM_BLOCKS 5
#define TRACK_CONFIRM_COUNT 2
/* The drift that predicts the next lag: a line through this many of the
 * last anchors, its slope bounded (1 % is twice a resampler's reach). */
#define TRACK_SLOPE_ANCHORS 10
#define TRACK_MAX_SLOPE 0.01

struct anchor {
  double x;     /* REF position (samples) the lag belongs to */
  double lag;   /* samples, fractional */
  long a0;      /* start of its block in REF */
  double err;   /* the block's squared error at that lag */
};

struct segment {
  long f, l;        /* first and last anchor */
  double slo, shi;  /* slope used before the first and after the last */
  long d0, d1;      /* REF samples [d0, d1) take their lag from it */
};

struct tracker {
  const struct signal *ref, *out;
  double *pout;           /* prefix sums of out^2, out->n + 1 */
  long blk;
  double complex *buf;
  size_t cap;
};

struct pick {
  long lag;
  double ncc;
  int found;
};

/* NCC of ref[a0, a0 + blk) against OUT over the lags in [lo, hi] at which
 * at least 3/4 of the block lies inside OUT (OUT is silent beyond its
 * ends: the first block of a recording that starts a few samples late
 * must still find its lag): the best in *best, the best within [nlo, nhi]
 * in *near. No wrap-around: the transform holds the block and the whole
 * OUT span it is compared with. */
static void block_search(struct tracker *t, long a0, long lo, long hi, long nlo, long nhi,
                         struct pick *best, struct pick *near) {
  best->found = near->found = 0;
  long B = t->blk, on = (long)t->out->n;
  if (lo < -a0 - B / 4) lo = -a0 - B / 4;
  if (hi > on - a0 - B + B / 4) hi = on - a0 - B + B / 4;
  if (lo > hi) return;
  long M = B + (hi - lo);
  size_t n = 1;
  while (n < (size_t)M) n <<= 1;
  if (t->cap < n) {
    free(t->buf);
    t->buf = xmalloc(n * sizeof *t->buf);
    t->cap = n;
  }
  double complex *a = t->buf;
  const float *x = t->ref->x + a0;
  long y0 = a0 + lo;   /* OUT index of a[0]'s imaginary part */
  double ex = 0;
  for (long i = 0; i < B; i++) ex += (double)x[i] * x[i];
  for (size_t i = 0; i < n; i++) {
    long j = y0 + (long)i;
    float yv = (long)i < M && j >= 0 && j < on ? t->out->x[j] : 0.0f;
    a[i] = ((long)i < B ? x[i] : 0.0f) + I * (double)yv;
  }
  fft(a, n, -1);
  for (size_t k = 0; k <= n / 2; k++) {
    size_t m = (n - k) & (n - 1);
    double complex zk = a[k], zm = a[m];
    double complex xk = (zk + conj(zm)) * 0.5, yk = (zk - conj(zm)) * (-0.5 * I);
    double complex xm = (zm + conj(zk)) * 0.5, ym = (zm - conj(zk)) * (-0.5 * I);
    a[k] = conj(xk) * yk;
    a[m] = conj(xm) * ym;
  }
  fft(a, n, +1);
  if (ex <= 0) return;
  for (long L = lo; L <= hi; L++) {
    long j0 = a0 + L < 0 ? 0 : a0 + L, j1 = a0 + L + B > on ? on : a0 + L + B;
    double ey = t->pout[j1] - t->pout[j0];
    if (ey <= 0) continue;
    double v = creal(a[L - lo]) / (double)n / sqrt(ex * ey);
    if (!best->found || v > best->ncc) *best = (struct pick){L, v, 1};
    if (L >= nlo && L <= nhi && (!near->found || v > near->ncc)) *near = (struct pick){L, v, 1};
  }
}

/* Adds the centred moments of anchors [f, l] (position against lag, each
 * about the range's own mean) to *sxx and *sxy: the least-squares slope
 * of one range, or one slope pooled over several. */
static void anchor_moments(const struct anchor *an, long f, long l, double *sxx, double *sxy) {
  double mx = 0, my = 0;
  for (long i = f; i <= l; i++) { mx += an[i].x; my += an[i].lag; }
  mx /= (double)(l - f + 1);
  my /= (double)(l - f + 1);
  for (long i = f; i <= l; i++) {
    *sxx += (an[i].x - mx) * (an[i].x - mx);
    *sxy += (an[i].x - mx) * (an[i].lag - my);
  }
}

/* Least-squares slope through anchors [f, l], centred (equal lags give
 * exactly 0), bounded by TRACK_MAX_SLOPE; 0 for fewer than two. */
static double anchor_slope(const struct anchor *an, long f, long l) {
  if (l <= f) return 0;
  double sxx = 0, sxy = 0;
  anchor_moments(an, f, l, &sxx, &sxy);
  double s = sxx > 0 ? sxy / sxx : 0;
  if (s > TRACK_MAX_SLOPE) s = TRACK_MAX_SLOPE;
  if (s < -TRACK_MAX_SLOPE) s = -TRACK_MAX_SLOPE;
  return s;
}

/* Lag of the segment at REF position i: the line through its anchors,
 * extended beyond them with its edge slopes. */
static double segment_lag(const struct anchor *an, const struct segment *s, double i) {
  if (i <= an[s->f].x) return an[s->f].lag + s->slo * (i - an[s->f].x);
  if (i >= an[s->l].x) return an[s->l].lag + s->shi * (i - an[s->l].x);
  long lo = s->f, hi = s->l;   /* an[lo].x < i < an[hi].x */
  while (hi - lo > 1) {
    long mid = (lo + hi) / 2;
    if (an[mid].x < i) lo = mid; else hi = mid;
  }
  double u = (i - an[lo].x) / (an[hi].x - an[lo].x);
  return an[lo].lag + u * (an[hi].lag - an[lo].lag);
}

/* OUT at a fractional position: the sample itself at whole positions,
 * else Catmull-Rom between its neighbours. Returns 0 outside OUT. */
static int out_at(const struct signal *o, double pos, double *v) {
  double fl = floor(pos);
  if (fl < 0 || fl >= (double)o->n) return 0;
  long j = (long)fl;
  double f = pos - fl;
  if (f == 0) {
    *v = o->x[j];
    return 1;
  }
  if (j + 1 >= (long)o->n) return 0;
  double y0 = o->x[j > 0 ? j - 1 : j], y1 = o->x[j], y2 = o->x[j + 1];
  double y3 = o->x[j + 2 < (long)o->n ? j + 2 : j + 1];
  *v = y1 + 0.5 * f * (y2 - y0 + f * (2 * y0 - 5 * y1 + 4 * y2 - y3 + f * (3 * (y1 - y2) + y3 - y0)));
  return 1;
}

/* The block's lag at its centre to a fraction of a sample: the lag of
 * its samples modelled as a line, lag(n) = L + delta + g (n - centre),
 * fitted to sum (ref - out)^2 by a few Gauss-Newton steps from delta 0
 * and g the drift so far (OUT's slope by central difference). The integer
 * peak of the NCC belongs to wherever the block's energy sits, which a
 * stretch of 0.3 % makes several samples off at the centre; the fit says
 * where it belongs. Kept only if it lowers the error and stays within
 * TRACK_REFINE_MAX of L, else the block's lag is L. */
#define TRACK_REFINE_ITER 20
#define TRACK_REFINE_MAX 24.0
static double block_refine(const struct tracker *t, long a0, long L, double delta, double g,
                           double *errp) {
  long B = t->blk;
  double c = (double)a0 + (double)(B - 1) / 2.0, err0 = -1, err = 0;
  const float *r = t->ref->x;
  if (fabs(delta) > TRACK_REFINE_MAX) delta = 0;
  double start = delta;
  long used = 0;
  *errp = INFINITY;
  for (int it = 0; it <= TRACK_REFINE_ITER; it++) {
    double h11 = 0, h12 = 0, h22 = 0, b1 = 0, b2 = 0;
    err = 0;
    used = 0;
    for (long i = a0; i < a0 + B; i++) {
      double u = (double)i - c, pos = (double)i + (double)L + delta + g * u;
      double v, vp, vm;
      if (!out_at(t->out, pos, &v) || !out_at(t->out, pos + 1, &vp) || !out_at(t->out, pos - 1, &vm))
        continue;   /* past an end of OUT */
      used++;
      double d = (vp - vm) / 2.0, e = (double)r[i] - v;
      err += e * e;
      h11 += d * d;
      h12 += d * d * u;
      h22 += d * d * u * u;
      b1 += e * d;
      b2 += e * d * u;
    }
    if (used < B / 2) return (double)L + start;
    if (it == 0) err0 = *errp = err;
    if (it == TRACK_REFINE_ITER || err == 0) break;
    double det = h11 * h22 - h12 * h12;
    if (det <= 0) break;
    double dd = (b1 * h22 - b2 * h12) / det, dg = (b2 * h11 - b1 * h12) / det;
    delta += dd;
    g += dg;
    if (g > TRACK_MAX_SLOPE) g = TRACK_MAX_SLOPE;
    if (g < -TRACK_MAX_SLOPE) g = -TRACK_MAX_SLOPE;
    if (fabs(delta) > 2 * TRACK_REFINE_MAX) return (double)L + start;
    if (fabs(dd) < 1e-3 && fabs(dg) * (double)B < 2e-3) break;
  }
  if (err > err0 || fabs(delta) > TRACK_REFINE_MAX) return (double)L + start;
  *errp = err;
  return (double)L + delta;
}

/* Line through anchors [lo, hi] of a segment but k, at an[k].x: the lag
 * and slope its neighbours predict there. Returns 0 with fewer than two. */
static int neighbour_line(const struct anchor *an, long lo, long hi, long k, double *lag, double *g) {
  double n = 0, mx = 0, my = 0, sxx = 0, sxy = 0;
  for (long i = lo; i <= hi; i++)
    if (i != k) { n++; mx += an[i].x; my += an[i].lag; }
  if (n < 2) return 0;
  mx /= n;
  my /= n;
  for (long i = lo; i <= hi; i++)
    if (i != k) {
      sxx += (an[i].x - mx) * (an[i].x - mx);
      sxy += (an[i].x - mx) * (an[i].lag - my);
    }
  *g = sxx > 0 ? sxy / sxx : 0;
  if (*g > TRACK_MAX_SLOPE) *g = TRACK_MAX_SLOPE;
  if (*g < -TRACK_MAX_SLOPE) *g = -TRACK_MAX_SLOPE;
  *lag = my + *g * (an[k].x - mx);
  return 1;
}

#define TRACK_NEIGHBOURS 3
#define TRACK_OUTLIER 1.0
#define TRACK_OUTLIER_K 5.0
#define TRACK_DAMAGED_DB 10.0
#define TRACK_DAMAGED_MAX_DB 30.0

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* |lag - the line through the nearest kept anchors of [f, l] around k,
 * TRACK_NEIGHBOURS on each side|. Returns 0 with fewer than three. */
static int kept_residual(const struct anchor *an, const char *drop, long f, long l, long k,
                         double *res) {
  struct anchor nb[2 * TRACK_NEIGHBOURS + 1];
  long m = 0, c = 0;
  for (long i = k - 1, got = 0; i >= f && got < TRACK_NEIGHBOURS; i--)
    if (!drop[i - f]) { got++; c++; }
  for (long i = k - 1, got = 0; i >= f && got < TRACK_NEIGHBOURS; i--)
    if (!drop[i - f]) nb[c - 1 - got++] = an[i];
  m = c;
  nb[m++] = an[k];
  for (long i = k + 1, got = 0; i <= l && got < TRACK_NEIGHBOURS; i++)
    if (!drop[i - f]) { nb[m++] = an[i]; got++; }
  double p, g;
  if (m < 4 || !neighbour_line(nb, 0, m - 1, c, &p, &g)) return 0;
  *res = fabs(an[k].lag - p);
  return 1;
}

/* The walk refines each block from what came before it; the first blocks
 * of a segment and a block whose fit fell into a neighbouring minimum (a
 * pitch period away, or a fraction of one) are fitted again from the line
 * of their neighbours on both sides, the better fit kept. Then an anchor
 * still off that line by more than TRACK_OUTLIER samples, or
 * TRACK_OUTLIER_K times the median anchor's distance, is dropped (its
 * block is still aligned, its lag comes from the line). Compacts an[] and
 * renumbers sg[]; returns the anchors left. */
static long track_clean(const struct tracker *t, struct anchor *an, struct segment *sg, long ns) {
  long out_n = 0;
  for (long s = 0; s < ns; s++) {
    long f = sg[s].f, l = sg[s].l, cnt = l - f + 1;
    double *nl = xmalloc((size_t)cnt * sizeof *nl), *ne = xmalloc((size_t)cnt * sizeof *ne);
    char *drop = xmalloc((size_t)cnt);
    for (long k = f; k <= l; k++) {
      long lo = k - TRACK_NEIGHBOURS < f ? f : k - TRACK_NEIGHBOURS;
      long hi = k + TRACK_NEIGHBOURS > l ? l : k + TRACK_NEIGHBOURS;
      double p, g, e;
      nl[k - f] = an[k].lag;
      ne[k - f] = an[k].err;
      drop[k - f] = 0;
      if (!neighbour_line(an, lo, hi, k, &p, &g)) continue;
      long L = lround(p);
      double v = block_refine(t, an[k].a0, L, p - (double)L, g, &e);
      if (e < an[k].err) {
        nl[k - f] = v;
        ne[k - f] = e;
      }
    }
    for (long k = f; k <= l; k++) {
      an[k].lag = nl[k - f];
      an[k].err = ne[k - f];
    }
    /* A block much worse matched than its segment's typical block, and
     * badly in itself, is damaged: its fit leans towards whatever lag
     * makes the damage least bad, so its lag comes from the line instead.
     * (Both: against a bit-exact decode the typical block scores 100 dB
     * or more, and one at 50 dB, resampled, is not damaged.) */
    if (cnt >= 3) {
      double *snr = xmalloc((size_t)cnt * sizeof *snr), *sorted = xmalloc((size_t)cnt * sizeof *sorted);
      for (long k = f; k <= l; k++) {
        double e = 0;
        for (long i = an[k].a0; i < an[k].a0 + t->blk; i++) e += (double)t->ref->x[i] * t->ref->x[i];
        snr[k - f] = sorted[k - f] = an[k].err > 0 ? 10 * log10(e / an[k].err) : 999.0;
      }
      qsort(sorted, (size_t)cnt, sizeof *sorted, cmp_double);
      double med = sorted[cnt / 2];
      for (long k = f; k <= l; k++)
        if (snr[k - f] < med - TRACK_DAMAGED_DB && snr[k - f] < TRACK_DAMAGED_MAX_DB) drop[k - f] = 1;
      /* Never all of them: keep the best. */
      long bestk = f;
      for (long k = f; k <= l; k++) if (snr[k - f] > snr[bestk - f]) bestk = k;
      drop[bestk - f] = 0;
      free(snr);
      free(sorted);
    }
    /* One pass, against the neighbours as they are (dropping one by one
     * and looking again would cascade where the lag bends: a receiver's
     * resampler hunting moves it a few samples at a time). The threshold
     * scales with how much the lag wanders from block to block; against a
     * bit-exact decode nothing wanders at all. */
    if (cnt >= 4) {
      double *res = xmalloc((size_t)cnt * sizeof *res), *sorted = xmalloc((size_t)cnt * sizeof *sorted);
      char *has = xmalloc((size_t)cnt);
      long nr = 0;
      for (long k = f; k <= l; k++) {
        has[k - f] = !drop[k - f] && kept_residual(an, drop, f, l, k, &res[k - f]);
        if (has[k - f]) sorted[nr++] = res[k - f];
      }
      if (nr > 0) {
        qsort(sorted, (size_t)nr, sizeof *sorted, cmp_double);
        double thr = TRACK_OUTLIER_K * sorted[nr / 2];
        if (thr < TRACK_OUTLIER) thr = TRACK_OUTLIER;
        for (long k = f; k <= l; k++)
          if (has[k - f] && res[k - f] > thr) drop[k - f] = 1;
      }
      free(res);
      free(sorted);
      free(has);
    }
    long nf = out_n;
    for (long k = f; k <= l; k++)
      if (!drop[k - f]) an[out_n++] = an[k];
    sg[s].f = nf;
    sg[s].l = out_n - 1;
    free(nl);
    free(ne);
    free(drop);
  }
  return out_n;
}

struct track_result {
  long blocks, unaligned, steps;
  double lag_min, lag_max, max_step, drift_ppm;   /* samples; ppm */
  float *outv;   /* OUT aligned to each REF sample, NAN where none */
};

/* A lag cand for block b that is far from the prediction p (slope: the
 * drift so far) stands only if each of the next TRACK_CONFIRM_COUNT audible
 * blocks (within TRACK_CONFIRM_BLOCKS) that match anything would choose
 * it too: its best correlation anywhere in reach lies near cand, and it
 * is better there than near the old prediction. Voiced speech correlates well a pitch
 * period or two away; a block that peaks there by chance (cut short by a
 * missing chunk, smeared by a fast drift) has no successors that agree. */
static int track_confirm(struct tracker *t, const char *aud, long nb, long b, long cand0, double p,
                         double slope, long search, long stepthr, double min_ncc) {
  int agreed = 0;
  for (long b2 = b + 1; b2 < nb && b2 <= b + TRACK_CONFIRM_BLOCKS; b2++) {
    if (!aud[b2]) continue;
    double dx = (double)(b2 - b) * (double)t->blk;
    long cand = lround((double)cand0 + slope * dx), old = lround(p + slope * dx);
    struct pick cb, cn, ob, on;
    block_search(t, b2 * t->blk, cand - search, cand + search, cand - stepthr, cand + stepthr, &cb, &cn);
    block_search(t, b2 * t->blk, old - stepthr, old + stepthr, old - stepthr, old + stepthr, &ob, &on);
    if (!cb.found || cb.ncc < min_ncc) continue;   /* matches nothing: no say */
    if (!cn.found || cn.ncc < cb.ncc || (on.found && on.ncc >= cn.ncc)) return 0;
    if (++agreed == TRACK_CONFIRM_COUNT) return 1;
  }
  return 0;
}

/* The line through the blocks' lags misses a lag that bends within a
 * block: a receiver's resampler under jitter swings its ratio by +-0.3 %
 * every few hundred ms, which moves the lag a few samples off the line
 * and costs an intact window 10-20 dB. So each sub-block of
 * [d0, d1) (TRACK_SUBBLOCKS per block) is fitted again, a constant
 * offset to lagv[] by Gauss-Newton; the offset counts only where the fit
 * is excellent (TRACK_SUB_MIN_DB: intact audio, which no damage can
 * imitate by a shift of a few samples) and small (TRACK_SUB_MAX samples).
 * Offsets are interpolated between the centres of the sub-blocks that
 * count (held at the ends, 0 with none) and added to lagv[]. */
#define TRACK_SUBBLOCKS 5
#define TRACK_SUB_MIN_DB 20.0
#define TRACK_SUB_MAX 12.0
static void track_fine(const struct signal *ref, const struct signal *out, double *lagv, long d0,
                       long d1, long sub, double floor_e) {
  if (sub < 16 || d1 - d0 < sub) return;
  long ns = (d1 - d0) / sub;
  double *cx = xmalloc((size_t)ns * sizeof *cx), *cd = xmalloc((size_t)ns * sizeof *cd);
  long nk = 0;
  for (long j = 0; j < ns; j++) {
    long a0 = d0 + j * sub;
    double e = 0;
    for (long i = a0; i < a0 + sub; i++) e += (double)ref->x[i] * ref->x[i];
    if (e / (double)sub < floor_e) continue;
    double delta = 0, err = 0, err0 = -1;
    int ok = 1;
    for (int it = 0; it <= TRACK_REFINE_ITER && ok; it++) {
      double num = 0, den = 0;
      err = 0;
      for (long i = a0; i < a0 + sub; i++) {
        double pos = (double)i + lagv[i] + delta, v, vp, vm;
        if (!out_at(out, pos, &v) || !out_at(out, pos + 1, &vp) || !out_at(out, pos - 1, &vm)) {
          ok = 0;
          break;
        }
        double d = (vp - vm) / 2.0, r = (double)ref->x[i] - v;
        err += r * r;
        num += r * d;
        den += d * d;
      }
      if (!ok) break;
      if (it == 0) err0 = err;
      if (err == 0 || den <= 0 || it == TRACK_REFINE_ITER) break;
      double dd = num / den;
      delta += dd;
      if (fabs(delta) > 2 * TRACK_SUB_MAX) ok = 0;
      if (fabs(dd) < 1e-3) break;
    }
    if (!ok || err > err0 || fabs(delta) > TRACK_SUB_MAX) continue;
    if (err > 0 && 10 * log10(e / err) < TRACK_SUB_MIN_DB) continue;
    cx[nk] = (double)a0 + (double)(sub - 1) / 2.0;
    cd[nk++] = err0 == 0 ? 0 : delta;
  }
  long k = 0;
  for (long i = d0; i < d1 && nk > 0; i++) {
    while (k + 1 < nk && cx[k + 1] <= (double)i) k++;
    double v;
    if ((double)i <= cx[0]) v = cd[0];
    else if (k + 1 >= nk) v = cd[nk - 1];
    else v = cd[k] + (cd[k + 1] - cd[k]) * ((double)i - cx[k]) / (cx[k + 1] - cx[k]);
    lagv[i] += v;
  }
  free(cx);
  free(cd);
}

/* Fills r: the block walk, then OUT aligned sample by sample to REF. */
static void track(const struct signal *ref, const struct signal *out, long glag, double floor_e,
                  long blk, long search, long stepthr, double min_ncc, struct track_result *r) {
  struct tracker t = {ref, out, NULL, blk, NULL, 0};
  t.pout = xmalloc((out->n + 1) * sizeof *t.pout);
  t.pout[0] = 0;
  for (size_t i = 0; i < out->n; i++) t.pout[i + 1] = t.pout[i] + (double)out->x[i] * out->x[i];
  size_t cap = ref->n / (size_t)blk + 2;
  struct anchor *an = xmalloc(cap * sizeof *an);
  struct segment *sg = xmalloc(cap * sizeof *sg);
  long na = 0, ns = 0, seg_first = 0;
  memset(r, 0, sizeof *r);
  r->lag_min = r->lag_max = r->drift_ppm = NAN;

  /* Audible blocks: mean REF energy at or above the floor. */
  long nb = (long)(ref->n / (size_t)blk);
  char *aud = xmalloc((size_t)nb + 1);
  for (long b = 0; b < nb; b++) {
    double e = 0;
    for (long i = b * blk; i < (b + 1) * blk; i++) e += (double)ref->x[i] * ref->x[i];
    aud[b] = e / (double)blk >= floor_e;
  }

  for (long b = 0; b < nb; b++) {
    if (!aud[b]) continue;
    r->blocks++;
    long a0 = b * blk;
    double xc = (double)a0 + (double)blk / 2.0;
    long cnt = na - seg_first;
    double slope = cnt >= 2 ? anchor_slope(an, na - (cnt < TRACK_SLOPE_ANCHORS ? cnt : TRACK_SLOPE_ANCHORS), na - 1) : 0;
    double p = cnt ? an[na - 1].lag + slope * (xc - an[na - 1].x) : (double)glag;
    long pl = lround(p);
    struct pick best, near;
    /* Near the prediction first: a correlation there within the margin
     * of 1 wins whatever the wide search finds, and that is most blocks
     * (a transform a quarter the size). */
    block_search(&t, a0, pl - stepthr, pl + stepthr, pl - stepthr, pl + stepthr, &best, &near);
    if (!near.found || near.ncc < 1 - TRACK_NEAR_MARGIN)
      block_search(&t, a0, pl - search, pl + search, pl - stepthr, pl + stepthr, &best, &near);
    long L = 0;
    int ok = 0, step = 0;
    if (cnt && near.found && near.ncc >= min_ncc && near.ncc >= best.ncc - TRACK_NEAR_MARGIN) {
      L = near.lag;
      ok = 1;
    } else if (best.found && best.ncc >= min_ncc) {
      /* The first block has no history (the global lag is a compromise
       * when the lag moves): its best stands if it is near the global
       * lag, else it needs confirming like a step. */
      if (!cnt && labs(best.lag - pl) <= stepthr) ok = 1;
      else ok = track_confirm(&t, aud, nb, b, best.lag, p, slope, search, stepthr, min_ncc);
      L = best.lag;
      step = ok && cnt;
    }
    if (!ok) {
      r->unaligned++;
      continue;
    }
    double x = (double)a0 + (double)(blk - 1) / 2.0;
    double err, lag = step || !cnt ? block_refine(&t, a0, L, 0, 0, &err)
                                   : block_refine(&t, a0, L, p - (double)L, slope, &err);
    if (step) {
      sg[ns++] = (struct segment){seg_first, na - 1, 0, 0, 0, 0};
      seg_first = na;
    }
    /* The fit gives the lag at the block's centre: anchors are in REF order. */
    an[na++] = (struct anchor){x, lag, a0, err};
  }
  if (na > seg_first) sg[ns++] = (struct segment){seg_first, na - 1, 0, 0, 0, 0};
  na = track_clean(&t, an, sg, ns);

  r->outv = xmalloc(ref->n * sizeof *r->outv);
  if (ns == 0) {   /* nothing aligned: the global lag throughout */
    an[0] = (struct anchor){0, (double)glag, 0, 0};
    sg[ns++] = (struct segment){0, 0, 0, 0, 0, 0};
  } else {
    double sxx = 0, sxy = 0;
    r->lag_min = r->lag_max = an[0].lag;
    for (long s = 0; s < ns; s++) {
      long f = sg[s].f, l = sg[s].l;
      long k = l - f + 1 < TRACK_SLOPE_ANCHORS ? l - f + 1 : TRACK_SLOPE_ANCHORS;
      sg[s].slo = anchor_slope(an, f, f + k - 1);
      sg[s].shi = anchor_slope(an, l - k + 1, l);
      /* Drift: one slope for all segments, each about its own mean. */
      anchor_moments(an, f, l, &sxx, &sxy);
      for (long i = f; i <= l; i++) {
        if (an[i].lag < r->lag_min) r->lag_min = an[i].lag;
        if (an[i].lag > r->lag_max) r->lag_max = an[i].lag;
      }
    }
    if (sxx > 0) r->drift_ppm = sxy / sxx * 1e6;
  }

  /* Where each step happens: between the block of the last anchor before
   * it and the block of the first after it, at the position that makes
   * the least squared error (a missing OUT sample costs the REF sample). */
  sg[0].d0 = 0;
  sg[ns - 1].d1 = (long)ref->n;
  for (long s = 1; s < ns; s++) {
    long lo = an[sg[s - 1].l].a0, hi = an[sg[s].f].a0 + blk;
    if (lo < sg[s - 1].d0) lo = sg[s - 1].d0;   /* a one-anchor segment */
    long len = hi - lo;
    double *el = xmalloc((size_t)len * sizeof *el), *er = xmalloc((size_t)len * sizeof *er);
    double tr = 0;
    for (long i = lo; i < hi; i++) {
      double v, a = ref->x[i];
      el[i - lo] = out_at(out, (double)i + segment_lag(an, &sg[s - 1], (double)i), &v) ? (v - a) * (v - a) : a * a;
      er[i - lo] = out_at(out, (double)i + segment_lag(an, &sg[s], (double)i), &v) ? (v - a) * (v - a) : a * a;
      tr += er[i - lo];
    }
    double cl = 0, cr = tr, bestc = tr;
    long bestp = lo;
    for (long i = lo; i < hi; i++) {
      cl += el[i - lo];
      cr -= er[i - lo];
      if (cl + cr < bestc) { bestc = cl + cr; bestp = i + 1; }
    }
    sg[s - 1].d1 = sg[s].d0 = bestp;
    /* The step's size: the two lines where it happens (a block next to
     * it, cut short by a missing chunk, may lean a little either way).
     * Lines that meet there were one piece after all (the walk predicted
     * badly across a gap while the lag bent): not a step. */
    double d = segment_lag(an, &sg[s], (double)bestp) - segment_lag(an, &sg[s - 1], (double)bestp);
    if (fabs(d) > (double)stepthr) {
      r->steps++;
      if (fabs(d) > fabs(r->max_step)) r->max_step = d;
    }
    free(el);
    free(er);
  }
  double *lagv = xmalloc(ref->n * sizeof *lagv);
  for (long s = 0; s < ns; s++)
    for (long i = sg[s].d0; i < sg[s].d1; i++) lagv[i] = segment_lag(an, &sg[s], (double)i);
  for (long s = 0; s < ns; s++) track_fine(ref, out, lagv, sg[s].d0, sg[s].d1, blk / TRACK_SUBBLOCKS, floor_e);
  for (size_t i = 0; i < ref->n; i++) {
    double v;
    r->outv[i] = out_at(out, (double)i + lagv[i], &v) ? (float)v : NAN;
  }
  free(lagv);
  free(aud);
  free(an);
  free(sg);
  free(t.pout);
  free(t.buf);
}

struct opts {
  double window_ms, snr_threshold_db, max_lag_ms, floor_db, min_corr, span_db;
  int have_min_corr, json, rate_check, track;
  double track_block_ms, track_search_ms, track_min_ncc, track_step_ms;
};

static double parse_num(const char *flag, const char *s, double lo, double hi) {
  double v;
  if (args_double(s, lo, hi, &v) != 0) {
    fprintf(stderr, PROG ": %s: expected a number in %g..%g, got \"%s\"\n", flag, lo, hi, s);
    exit(2);
  }
  return v;
}

static void emit_num(const struct opts *o, int *first, const char *key, double v, int dec) {
  if (o->json) {
    if (isfinite(v)) printf("%s\"%s\": %.*f", *first ? "{" : ", ", key, dec, v);
    else printf("%s\"%s\": null", *first ? "{" : ", ", key);
  } else {
    if (isfinite(v)) printf("%s=%.*f\n", key, dec, v);
    else printf("%s=nan\n", key);
  }
  *first = 0;
}

int main(int argc, char **argv) {
  struct opts o = {DEFAULT_WINDOW_MS, DEFAULT_SNR_THRESHOLD_DB, DEFAULT_MAX_LAG_MS,
                   DEFAULT_FLOOR_DB, 0, DEFAULT_SPAN_DBFS, 0, 0, 0, 0,
                   DEFAULT_TRACK_BLOCK_MS, DEFAULT_TRACK_SEARCH_MS, DEFAULT_TRACK_MIN_NCC,
                   DEFAULT_TRACK_STEP_MS};
  enum { O_WINDOW = 256, O_SNR, O_MAXLAG, O_MINCORR, O_JSON, O_RATE, O_FLOOR, O_SPAN, O_TRACK,
         O_TBLOCK, O_TSEARCH, O_TNCC, O_TSTEP };
  static const struct option longopts[] = {
    {"window-ms", required_argument, NULL, O_WINDOW},
    {"snr-threshold", required_argument, NULL, O_SNR},
    {"max-lag-ms", required_argument, NULL, O_MAXLAG},
    {"min-corr", required_argument, NULL, O_MINCORR},
    {"floor-db", required_argument, NULL, O_FLOOR},
    {"span-db", required_argument, NULL, O_SPAN},
    {"json", no_argument, NULL, O_JSON},
    {"rate-check", no_argument, NULL, O_RATE},
    {"track", no_argument, NULL, O_TRACK},
    {"track-block-ms", required_argument, NULL, O_TBLOCK},
    {"track-search-ms", required_argument, NULL, O_TSEARCH},
    {"track-min-ncc", required_argument, NULL, O_TNCC},
    {"track-step-ms", required_argument, NULL, O_TSTEP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_WINDOW: o.window_ms = parse_num("--window-ms", optarg, 1, 10000); break;
    case O_SNR: o.snr_threshold_db = parse_num("--snr-threshold", optarg, -100, 200); break;
    case O_MAXLAG: o.max_lag_ms = parse_num("--max-lag-ms", optarg, 0, 60000); break;
    case O_MINCORR:
      o.min_corr = parse_num("--min-corr", optarg, -1, 1);
      o.have_min_corr = 1;
      break;
    case O_FLOOR: o.floor_db = parse_num("--floor-db", optarg, -200, 0); break;
    case O_SPAN: o.span_db = parse_num("--span-db", optarg, -200, 0); break;
    case O_JSON: o.json = 1; break;
    case O_RATE: o.rate_check = 1; break;
    case O_TRACK: o.track = 1; break;
    case O_TBLOCK: o.track_block_ms = parse_num("--track-block-ms", optarg, 5, 2000); break;
    case O_TSEARCH: o.track_search_ms = parse_num("--track-search-ms", optarg, 1, 5000); break;
    case O_TNCC: o.track_min_ncc = parse_num("--track-min-ncc", optarg, 0, 1); break;
    case O_TSTEP: o.track_step_ms = parse_num("--track-step-ms", optarg, 0.1, 1000); break;
    case 'h': usage(stdout); return 0;
    default:
      fprintf(stderr, PROG ": try --help\n");
      return 2;
    }
  }
  if (argc - optind != 2) {
    fprintf(stderr, PROG ": expected REF and OUT files, got %d argument(s); try --help\n",
            argc - optind);
    return 2;
  }
  struct signal ref, out;
  read_mono(argv[optind], &ref);
  read_mono(argv[optind + 1], &out);
  if (ref.n == 0) die(argv[optind], "no samples");
  if (out.n == 0) die(argv[optind + 1], "no samples");

  const double rate = DL_RATE;
  long maxlag = lround(o.max_lag_ms * rate / 1000.0);

  /* Global lag: the head of REF (at most SEARCH_MAX_S) against the part
   * of OUT it can reach. */
  size_t nx = ref.n;
  if ((double)nx > SEARCH_MAX_S * rate) nx = (size_t)(SEARCH_MAX_S * rate);
  size_t ny = out.n;
  if (ny > nx + (size_t)maxlag) ny = nx + (size_t)maxlag;
  size_t min_ov = nx / 2;
  if (min_ov > ny / 2) min_ov = ny / 2;
  if (min_ov < 1) min_ov = 1;
  struct lag_result g = best_lag(ref.x, nx, out.x, ny, -maxlag, maxlag, min_ov);
  /* A silent OUT (a receiver that played nothing) is a result, not an
   * error: compare at lag 0, where corr comes out null. */
  if (!g.found)
    fprintf(stderr, PROG ": no lag has energy in both files (one is silent): comparing at lag 0\n");
  long lag = g.found ? g.lag : 0;

  /* Overlap: ref[r0, r1) against out[r0 + lag, r1 + lag). */
  long r0 = lag < 0 ? -lag : 0;
  long r1 = (long)ref.n < (long)out.n - lag ? (long)ref.n : (long)out.n - lag;
  if (r1 <= r0) die("alignment", "no overlap");
  double sr = 0, so = 0, srr = 0, soo = 0, sro = 0, serr = 0;
  for (long i = r0; i < r1; i++) {
    double a = ref.x[i], b = out.x[i + lag];
    sr += a; so += b; srr += a * a; soo += b * b; sro += a * b;
    serr += (b - a) * (b - a);
  }
  double nov = (double)(r1 - r0);
  double cov = sro - sr * so / nov, vr = srr - sr * sr / nov, vo = soo - so * so / nov;
  double corr = (vr > 0 && vo > 0) ? cov / sqrt(vr * vo) : NAN;
  double snr = serr > 0 ? 10 * log10(srr / serr) : INFINITY;
  if (srr <= 0) snr = NAN;
  double gain = srr > 0 ? sro / srr : NAN;
  if (isinf(snr)) snr = 999.0;   /* identical: report a large finite value */

  /* Windows. */
  long win = lround(o.window_ms * rate / 1000.0);
  if (win < 1) win = 1;
  double mean_e = srr / nov;
  double floor_e = mean_e * pow(10, o.floor_db / 10);
  double abs_floor = pow(10, ABS_FLOOR_DBFS / 10);
  if (floor_e < abs_floor) floor_e = abs_floor;
  long windows = 0, damaged = 0;
  for (long w = r0; w + win <= r1; w += win) {
    double e = 0, d = 0;
    for (long i = w; i < w + win; i++) {
      double a = ref.x[i], b = out.x[i + lag];
      e += a * a;
      d += (b - a) * (b - a);
    }
    if (e / (double)win < floor_e) continue;
    windows++;
    double wsnr = d > 0 ? 10 * log10(e / d) : 999.0;
    if (wsnr < o.snr_threshold_db) damaged++;
  }

  /* Rate check: short probes along the overlap, each tracked from the
   * last one, and a least-squares line through their lags. Probes are
   * short because a rate difference stretches the content: over a long
   * probe the lag itself moves and the peak smears (1000 ppm over 2 s is
   * 2 ms, a quarter of a voice's pitch period). */
  double lag_start = NAN, lag_end = NAN, drift_ppm = NAN;
  long probes = 0;
  if (o.rate_check) {
    long len = lround(PROBE_S * rate), step = lround(PROBE_STEP_S * rate);
    long m = lround(PROBE_MARGIN_MS * rate / 1000.0);
    double track = (double)lag;   /* samples */
    size_t cap = (size_t)((r1 - r0) / step + 2);
    double *px = xmalloc(cap * sizeof *px), *py = xmalloc(cap * sizeof *py);
    for (long a0 = r0; a0 + len <= r1; a0 += step) {
      double e = 0;
      for (long i = a0; i < a0 + len; i++) e += (double)ref.x[i] * ref.x[i];
      if (e / (double)len < floor_e) continue;
      long pl = lround(track);
      long y0 = a0 + pl - m, y1 = a0 + pl + len + m;
      if (y0 < 0) y0 = 0;
      if (y1 > (long)out.n) y1 = (long)out.n;
      if (y1 - y0 < len) continue;
      /* out[y0 + j] ~ ref[a0 + n] at j = n + (a0 + pl - y0) + d. */
      long base = a0 + pl - y0;
      struct lag_result pr = best_lag(ref.x + a0, (size_t)len, out.x + y0, (size_t)(y1 - y0),
                                      base - m, base + m, (size_t)len * 3 / 4);
      if (!pr.found || pr.ncc < PROBE_MIN_NCC) continue;
      double lv = (double)(pr.lag - base + pl) + pr.frac;
      double x = (double)a0 + len / 2.0 - (double)r0;
      track = lv;
      px[probes] = x;
      py[probes] = lv;
      probes++;
    }
    /* Fit, then drop the worst probe while it is off the line by more than
     * PROBE_OUTLIER_MS (a peak one pitch period away), and fit again. */
    for (;;) {
      double s0 = 0, s1 = 0, s2 = 0, sy = 0, sxy = 0;
      for (long i = 0; i < probes; i++) {
        s0 += 1; s1 += px[i]; s2 += px[i] * px[i]; sy += py[i]; sxy += px[i] * py[i];
      }
      double den = s0 * s2 - s1 * s1;
      if (probes < 2 || den <= 0) break;
      double slope = (s0 * sxy - s1 * sy) / den, icpt = (sy - slope * s1) / s0;
      long worst = -1;
      double wr = PROBE_OUTLIER_MS * rate / 1000.0;
      for (long i = 0; i < probes; i++) {
        double r = fabs(py[i] - (icpt + slope * px[i]));
        if (r > wr) { wr = r; worst = i; }
      }
      if (worst >= 0 && probes > 3) {
        px[worst] = px[probes - 1];
        py[worst] = py[probes - 1];
        probes--;
        continue;
      }
      drift_ppm = slope * 1e6;
      lag_start = icpt * 1000.0 / rate;
      lag_end = (icpt + slope * nov) * 1000.0 / rate;
      break;
    }
    free(px);
    free(py);
  }

  /* --track: the same figures over OUT aligned sample by sample. */
  struct track_result tr;
  memset(&tr, 0, sizeof tr);
  if (o.track) {
    track(&ref, &out, lag, floor_e, lround(o.track_block_ms * rate / 1000.0),
          lround(o.track_search_ms * rate / 1000.0), lround(o.track_step_ms * rate / 1000.0),
          o.track_min_ncc, &tr);
    sr = so = srr = soo = sro = serr = 0;
    nov = 0;
    for (long i = 0; i < (long)ref.n; i++) {
      if (isnan(tr.outv[i])) continue;
      double a = ref.x[i], b = tr.outv[i];
      sr += a; so += b; srr += a * a; soo += b * b; sro += a * b;
      serr += (b - a) * (b - a);
      nov++;
    }
    if (nov == 0) die("alignment", "no overlap");
    cov = sro - sr * so / nov;
    vr = srr - sr * sr / nov;
    vo = soo - so * so / nov;
    corr = (vr > 0 && vo > 0) ? cov / sqrt(vr * vo) : NAN;
    snr = serr > 0 ? 10 * log10(srr / serr) : INFINITY;
    if (srr <= 0) snr = NAN;
    gain = srr > 0 ? sro / srr : NAN;
    if (isinf(snr)) snr = 999.0;
    /* Windows on the same grid as above (so that where the lags agree,
     * the windows are the same ones); one with a sample that has no OUT
     * counterpart is not counted. */
    floor_e = srr / nov * pow(10, o.floor_db / 10);
    if (floor_e < abs_floor) floor_e = abs_floor;
    windows = damaged = 0;
    for (long w = r0 % win; w + win <= (long)ref.n; w += win) {
      double e = 0, d = 0;
      int whole = 1;
      for (long i = w; i < w + win && whole; i++) {
        double a = ref.x[i], b = tr.outv[i];
        if (isnan(b)) whole = 0;
        e += a * a;
        d += (b - a) * (b - a);
      }
      if (!whole || e / (double)win < floor_e) continue;
      windows++;
      double wsnr = d > 0 ? 10 * log10(e / d) : 999.0;
      if (wsnr < o.snr_threshold_db) damaged++;
    }
  }

  int first = 1;
  emit_num(&o, &first, "lag_ms", (double)lag * 1000.0 / rate, 3);
  emit_num(&o, &first, "corr", corr, 4);
  emit_num(&o, &first, "snr_db", snr, 2);
  emit_num(&o, &first, "gain", gain, 4);
  emit_num(&o, &first, "ref_s", (double)ref.n / rate, 4);
  emit_num(&o, &first, "out_s", (double)out.n / rate, 4);
  emit_num(&o, &first, "overlap_s", nov / rate, 4);
  emit_num(&o, &first, "windows", (double)windows, 0);
  emit_num(&o, &first, "damaged", (double)damaged, 0);
  emit_num(&o, &first, "damaged_pct", windows ? 100.0 * (double)damaged / (double)windows : 0.0,
           2);
  double thr = pow(10, o.span_db / 20);
  emit_num(&o, &first, "ref_span_s", span_s(&ref, thr), 4);
  emit_num(&o, &first, "out_span_s", span_s(&out, thr), 4);
  if (o.rate_check) {
    emit_num(&o, &first, "lag_start_ms", lag_start, 4);
    emit_num(&o, &first, "lag_end_ms", lag_end, 4);
    emit_num(&o, &first, "drift_ppm", drift_ppm, 1);
    emit_num(&o, &first, "probes", (double)probes, 0);
  }
  if (o.track) {
    double ms = 1000.0 / rate;
    emit_num(&o, &first, "track_blocks", (double)tr.blocks, 0);
    emit_num(&o, &first, "track_unaligned", (double)tr.unaligned, 0);
    emit_num(&o, &first, "lag_min_ms", tr.lag_min * ms, 3);
    emit_num(&o, &first, "lag_max_ms", tr.lag_max * ms, 3);
    emit_num(&o, &first, "lag_steps", (double)tr.steps, 0);
    emit_num(&o, &first, "max_step_ms", tr.max_step * ms, 3);
    emit_num(&o, &first, "track_drift_ppm", tr.drift_ppm, 1);
    free(tr.outv);
  }
  if (o.json) printf("}\n");
  free(ref.x);
  free(out.x);
  if (o.have_min_corr && !(corr >= o.min_corr)) {
    fprintf(stderr, PROG ": corr %.4f below --min-corr %.4f\n", corr, o.min_corr);
    return 1;
  }
  return 0;
}
