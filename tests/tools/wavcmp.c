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
 * sample compared at its own lag (see track() below). With --warp, OUT is
 * also resampled along a smooth lag line that follows a resampler's
 * stretch and time-scale modification's splices, and scored in the speech
 * band (see warp() below).
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
    "  --warp                --track, and also OUT resampled along a smooth lag\n"
    "                        line onto REF's timeline and scored in the speech\n"
    "                        band, for a receiver that stretches time (a drift\n"
    "                        resampler's slewing ratio, time-scale modification's\n"
    "                        splices of whole pitch periods): the lag is followed\n"
    "                        in 10 ms frames (a Viterbi path among the lags near\n"
    "                        its own last one, for the steps of a few ms a splice\n"
    "                        makes anywhere, and near --track's line, for its\n"
    "                        confirmed large steps), fitted to a fraction of a\n"
    "                        sample, and only frames that match excellently there\n"
    "                        (20 dB, or 10 dB under the best quarter) anchor the\n"
    "                        line: concealment, silence or noise never move it.\n"
    "                        Between anchors the lag is the line through them; it\n"
    "                        steps only between runs of anchors, where the error\n"
    "                        is least (at a splice, where its cross-fade's two\n"
    "                        sides meet: only those few ms can score low, by what\n"
    "                        the cross-fade changed). OUT is interpolated by a\n"
    "                        windowed sinc, both are band-passed to 100 Hz..8 kHz\n"
    "                        (zero phase), and each window of the grid above is\n"
    "                        scored with the same threshold and floor. The\n"
    "                        --track keys are unchanged; warp_* keys are added\n"
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
    "With --warp also: warp_snr_db (speech band, over the samples with an OUT\n"
    "counterpart), warp_windows, warp_damaged and warp_damaged_pct (as windows,\n"
    "damaged and damaged_pct, over the warped speech band), warp_steps (steps of\n"
    "the warp's line of 2 samples or more: splices, holes, missing chunks),\n"
    "warp_max_step_ms (the largest, signed as max_step_ms; 0 without),\n"
    "warp_frames (audible 10 ms frames, 5 ms apart) and warp_anchors (of those,\n"
    "matched excellently and in runs that confirm each other: the line's\n"
    "support).\n"
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
/* Cross-correlation of x[0, nx) against o[j0, j0 + ny) (o silent outside
 * [0, on)) by one FFT of nfft points (a power of two, at least ny): x in
 * the real part, o in the imaginary, split in the spectrum. Leaves in
 * buf[L] the sum of x[i] * o[j0 + L + i], for 0 <= L <= ny - nx. */
static void xcorr_packed(const float *x, long nx, const float *o, long on, long j0, long ny,
                         double complex *buf, size_t nfft) {
  for (size_t i = 0; i < nfft; i++) {
    long j = j0 + (long)i;
    double y = (long)i < ny && j >= 0 && j < on ? o[j] : 0.0;
    buf[i] = ((long)i < nx ? x[i] : 0.0f) + I * y;
  }
  fft(buf, nfft, -1);
  for (size_t k = 0; k <= nfft / 2; k++) {
    size_t m = (nfft - k) & (nfft - 1);
    double complex zk = buf[k], zm = buf[m];
    double complex xk = (zk + conj(zm)) * 0.5, yk = (zk - conj(zm)) * (-0.5 * I);
    double complex xm = (zm + conj(zk)) * 0.5, ym = (zm - conj(zk)) * (-0.5 * I);
    buf[k] = conj(xk) * yk;
    buf[m] = conj(xm) * ym;
  }
  fft(buf, nfft, +1);
}

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
  xcorr_packed(x, B, t->out->x, on, y0, M, a, n);
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
  double *lagv;  /* the lag of each REF sample (samples, fractional) */
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
  r->lagv = lagv;
  free(aud);
  free(an);
  free(sg);
  free(t.pout);
  free(t.buf);
}


/* --warp: OUT resampled along a smooth lag line onto REF's timeline and
 * scored in the speech band.
 *
 * --track compares each REF sample with OUT at the lag of a line through
 * 100 ms blocks, refitted in 20 ms pieces, OUT interpolated by a cubic, over
 * the full band. That counts as damage what is no damage: a block cannot
 * be matched while a resampler's ratio slews (0.5 % moves the lag 24
 * samples within a block) and its lag is then interpolated from blocks far
 * away; a splice of time-scale modification (a pitch period removed or
 * inserted, tens of them per second) falls inside a block; a cubic
 * interpolator is 20-30 dB off at 8 kHz; and a resampler's roll-off above
 * 16 kHz or a hum below 100 Hz is scored like a dropout. --warp instead:
 *
 *   - Both files are reduced to the speech band, 100 Hz .. 8 kHz
 *     (speech_band: Butterworth, forward and backward, so without delay),
 *     where speech carries what is heard and understood, and where OUT is
 *     oversampled three times, so that a windowed sinc (sinc_at) moves it
 *     by fractions of a sample far below any threshold.
 *   - The lag is followed in 10 ms frames, 5 ms apart (warp_path): within
 *     one, 0.5 % moves the lag 2.4 samples, and a splice falls between
 *     frames. Voiced speech matches itself a pitch period away, so no frame
 *     chooses its lag alone: a Viterbi path (frames at 12 kHz, lags to two
 *     48 kHz samples) chooses each frame's lag within WARP_RADIUS_MS of the
 *     path's own last lag (the small steps a splice makes, anywhere) and of
 *     --track's line (its large steps, confirmed by the blocks after
 *     them), at a cost per frame of how far its match at that lag falls
 *     short of WARP_COST_DB (a pause costs nothing), moving by a state per
 *     frame freely and stepping for WARP_STEP_COST.
 *   - Each frame's lag is then fitted at 48 kHz near the path as a line
 *     (lag and local stretch, frame_fit), to a fraction of a sample; where
 *     that match is not excellent, again from the best whole lag anywhere
 *     within WARP_RADIUS_MS (frame_search: the path is blind above 4 kHz,
 *     where a fricative's lag is plain). The frame is an anchor only where
 *     it matches excellently (WARP_ANCHOR_DB, or 10 dB under the best
 *     quarter of the frames where REF is not the bit-exact clean decode).
 *     Damage matches nowhere, so it never moves the line: a concealed frame
 *     that resembles the speech a period away is scored at its neighbours'
 *     lag, as it is heard.
 *   - Anchors form runs of consistent lag (moving at most WARP_MAX_SLOPE
 *     between them, plus WARP_STEP_MIN samples); a run of fewer than
 *     WARP_CONFIRM anchors is no evidence and is dropped. Within a run the
 *     lag is the line through its anchors (a stretch however it slews);
 *     between runs it steps, at the REF sample where the squared error of
 *     the two lines on either side is least (as --track places its steps).
 *     At a splice that is where the two sides of the cross-fade meet: a
 *     removed period is compared with the period beside it, which the
 *     splice chose for being alike, and an inserted one is stepped over,
 *     so only the few ms of the cross-fade can differ, by what the
 *     cross-fade of two unequal periods changes. Where splices follow each
 *     other closer than two frames, or audio quiet enough for TSM to cut
 *     any amount of it (a fricative's tail, a breath) is still above the
 *     floor here, there is no anchor between them and what was cut or
 *     blended scores as missing: it is.
 *   - OUT (full band) is interpolated along that line onto REF's samples,
 *     then taken to the speech band there, so that both are cut off at the
 *     same ends, and each window of REF's grid is scored as without --warp
 *     (--window-ms, --snr-threshold, --floor-db, REF's speech band deciding
 *     what is a pause). */
#define WARP_LO_HZ 100.0
#define WARP_HI_HZ 8000.0
#define WARP_HP_ORDER 4        /* each way: 8 in all, -6 dB at the edges */
#define WARP_LP_ORDER 8
#define SINC_HALF 16           /* taps on each side */
#define SINC_PHASES 512        /* tabulated fractions, linear between */
#define SINC_BETA 9.0          /* Kaiser window */
#define WARP_DECIM 4           /* the path at 12 kHz */
#define WARP_LP12_HZ 4000.0    /* before decimating */
#define WARP_HOP_MS 5.0
#define WARP_FRAME_MS 10.0
#define WARP_RADIUS_MS 25.0    /* a pitch period (at most 20 ms) and some */
#define WARP_TRACK_REACH_MS 300.0
#define WARP_COST_DB 30.0      /* a frame matching this well costs nothing */
#define WARP_STEP_COST 0.5     /* in frames of no match at all */
#define WARP_REFINE 6          /* 48 kHz samples either side of the path */
#define WARP_FIT_ITER 8
#define WARP_FIT_MAX 3.0       /* samples the fit may move from its start */
#define WARP_ANCHOR_DB 20.0
#define WARP_CONFIRM 2
#define WARP_EXCURSION_ANCHORS 12
#define WARP_SHORT_DB 5.0
#define WARP_EXCURSION_RUNS 4
#define WARP_MAX_SLOPE 0.01    /* twice a resampler's reach */
#define WARP_STEP_MIN 2.0      /* samples: smaller is noise, not a step */
#define WARP_SLOPE_FRAMES 20   /* a run extended with the slope of this many */

struct biquad { double b0, b1, b2, a1, a2; };

/* A second-order Butterworth section of quality q at f0 Hz (bilinear,
 * prewarped: RBJ's cookbook); hp: high-pass, else low-pass. */
static struct biquad biquad_butter(double f0, double q, int hp) {
  double w = 2 * M_PI * f0 / DL_RATE, cw = cos(w), al = sin(w) / (2 * q), a0 = 1 + al;
  double k = hp ? (1 + cw) / 2 : (1 - cw) / 2;
  return (struct biquad){k / a0, (hp ? -2 : 2) * k / a0, k / a0, -2 * cw / a0, (1 - al) / a0};
}

/* x[0, n) through the section in place, forward (dir 1) or backward (-1),
 * from rest. */
static void biquad_run(const struct biquad *b, float *x, long n, int dir) {
  double z1 = 0, z2 = 0;
  for (long k = 0; k < n; k++) {
    long i = dir > 0 ? k : n - 1 - k;
    double in = x[i], y = b->b0 * in + z1;
    z1 = b->b1 * in - b->a1 * y + z2;
    z2 = b->b2 * in - b->a2 * y;
    x[i] = (float)y;
  }
}

/* Butterworth of the given (even) order at f0 Hz, forward and backward,
 * in place. */
static void butter_filtfilt(float *x, long n, double f0, int order, int hp) {
  for (int dir = 1; dir >= -1; dir -= 2)
    for (int k = 0; k < order / 2; k++) {
      struct biquad b = biquad_butter(f0, 1 / (2 * cos((2 * k + 1) * M_PI / (2 * order))), hp);
      biquad_run(&b, x, n, dir);
    }
}

static void speech_band(float *x, long n) {
  butter_filtfilt(x, n, WARP_LO_HZ, WARP_HP_ORDER, 1);
  butter_filtfilt(x, n, WARP_HI_HZ, WARP_LP_ORDER, 0);
}

static double bessel_i0(double x) {
  double s = 1, t = 1;
  for (int k = 1; k < 50 && t > 1e-12 * s; k++) {
    t *= (x / (2 * k)) * (x / (2 * k));
    s += t;
  }
  return s;
}

/* Row p: the taps for a position p / SINC_PHASES past a sample, applied
 * to the samples from SINC_HALF - 1 before it to SINC_HALF after. */
static float sinc_tab[(SINC_PHASES + 1) * 2 * SINC_HALF];

static void sinc_init(void) {
  double i0b = bessel_i0(SINC_BETA);
  for (int p = 0; p <= SINC_PHASES; p++) {
    float *t = sinc_tab + (size_t)p * 2 * SINC_HALF;
    double f = (double)p / SINC_PHASES, sum = 0, v[2 * SINC_HALF];
    for (int k = 0; k < 2 * SINC_HALF; k++) {
      double x = (double)(k - SINC_HALF + 1) - f, u = x / SINC_HALF;
      double w = fabs(u) < 1 ? bessel_i0(SINC_BETA * sqrt(1 - u * u)) / i0b : 0;
      v[k] = (fabs(x) < 1e-12 ? 1 : sin(M_PI * x) / (M_PI * x)) * w;
      sum += v[k];
    }
    /* Unit gain at DC at every fraction. */
    for (int k = 0; k < 2 * SINC_HALF; k++) t[k] = (float)(v[k] / sum);
  }
}

/* x[0, n) at a fractional position, silent outside. Returns 0 where pos is
 * outside [0, n - 1]. At whole positions it is the sample itself. */
static int sinc_at(const float *x, long n, double pos, double *v) {
  double fl = floor(pos);
  if (fl < 0 || fl > (double)(n - 1)) return 0;
  long j = (long)fl;
  double fp = (pos - fl) * SINC_PHASES;
  int p = (int)fp;
  if (p >= SINC_PHASES) p = SINC_PHASES - 1;
  double g = fp - p, s = 0;
  const float *t0 = sinc_tab + (size_t)p * 2 * SINC_HALF, *t1 = t0 + 2 * SINC_HALF;
  long m0 = j - SINC_HALF + 1;
  int k0 = m0 < 0 ? (int)-m0 : 0, k1 = j + SINC_HALF >= n ? (int)(n - m0) : 2 * SINC_HALF;
  for (int k = k0; k < k1; k++) s += x[m0 + k] * ((1 - g) * t0[k] + g * t1[k]);
  *v = s;
  return 1;
}

/* x[0, n) low-passed and taken at every WARP_DECIM-th sample from phase
 * (48 kHz samples) on: *m samples. */
static float *decimate(const float *x, long n, long phase, long *m) {
  float *y = xmalloc((size_t)n * sizeof *y);
  memcpy(y, x, (size_t)n * sizeof *y);
  butter_filtfilt(y, n, WARP_LP12_HZ, 4, 0);
  *m = n > phase ? (n - phase) / WARP_DECIM : 0;
  for (long i = 0; i < *m; i++) y[i] = y[phase + i * WARP_DECIM];
  return y;
}

/* sum x[i] y[i + d] for i in [0, n), y silent outside [0, ny). */
static double dot_at(const float *x, long n, const float *y, long ny, long d) {
  long i0 = d < 0 ? -d : 0, i1 = ny - d < n ? ny - d : n;
  double s = 0;
  for (long i = i0; i < i1; i++) s += (double)x[i] * y[i + d];
  return s;
}

/* The Viterbi path: one lag per frame into path[nf], in states of
 * WARP_STATE 48 kHz samples. Frame f is r[f hop, f hop + flen) at 12 kHz;
 * OUT at 12 kHz from two phases, o[0] from sample 0 and o[1] from
 * WARP_STATE, so that a state's correlation is that of a lag half a 12 kHz
 * sample finer (at 12 kHz alone the true lag may lie half a sample from
 * every state, which at 1-2 kHz costs the truth 15 dB: no better than a
 * pitch period away). lagv: --track's lag of every 48 kHz REF sample (nref
 * of them). floor_e: mean energy below which a frame is a pause. */
#define WARP_STATE 2
#define WARP_PHASES (WARP_DECIM / WARP_STATE)
static void warp_path(const float *r, long rn, float *const o[WARP_PHASES], const long on[WARP_PHASES],
                      const double *lagv, long nref, long hop, long flen, double floor_e, long *path,
                      long nf) {
  long rad = lround(WARP_RADIUS_MS * DL_RATE / 1000.0 / WARP_STATE);
  double *po[WARP_PHASES];
  for (int p = 0; p < WARP_PHASES; p++) {
    po[p] = xmalloc(((size_t)on[p] + 1) * sizeof *po[p]);
    po[p][0] = 0;
    for (long i = 0; i < on[p]; i++) po[p][i + 1] = po[p][i] + (double)o[p][i] * o[p][i];
  }
  /* Per frame: its states are the lags base .. base + len - 1; how each
   * was reached (-1, 0, 1: from that lag less, the same, more; 2: a step
   * from the previous frame's best, amin). */
  long *base = xmalloc((size_t)nf * sizeof *base), *len = xmalloc((size_t)nf * sizeof *len);
  long *amin = xmalloc((size_t)nf * sizeof *amin);
  signed char **from = xmalloc((size_t)nf * sizeof *from);
  double *dprev = NULL, *dcur = NULL, *cost = NULL;
  size_t cap = 0;
  for (long f = 0; f < nf; f++) {
    /* The windows: around the path's own last lag, and around --track's
     * line here and WARP_TRACK_REACH_MS either side (its step is put
     * where its blocks say, which next to damage may be a few blocks off:
     * both of its lags are offered through the whole stretch). */
    long a = f * hop, c = (a + flen / 2) * WARP_DECIM, reach = lround(WARP_TRACK_REACH_MS * DL_RATE / 1000.0);
    long ctr[4];
    for (int k = 0; k < 3; k++) {
      long x = c + (k - 1) * reach;
      x = x < 0 ? 0 : x >= nref ? nref - 1 : x;
      ctr[k] = lround(lagv[x] / WARP_STATE);
    }
    ctr[3] = f ? amin[f - 1] : ctr[1];
    long fc = ctr[3], lo = ctr[0], hi = ctr[0];
    for (int k = 1; k < 4; k++) {
      if (ctr[k] < lo) lo = ctr[k];
      if (ctr[k] > hi) hi = ctr[k];
    }
    lo -= rad;
    hi += rad;
    base[f] = lo;
    len[f] = hi - lo + 1;
    if (cap < (size_t)len[f]) {
      cap = (size_t)len[f] * 2;
      double *t = xmalloc(cap * sizeof *t);
      if (f) memcpy(t, dprev, (size_t)len[f - 1] * sizeof *t);
      free(dprev);
      dprev = t;
      free(dcur);
      free(cost);
      dcur = xmalloc(cap * sizeof *dcur);
      cost = xmalloc(cap * sizeof *cost);
    }
    long n = a + flen <= rn ? flen : rn - a;
    double er = 0;
    for (long i = a; i < a + n; i++) er += (double)r[i] * r[i];
    int pause = er / (double)flen < floor_e;
    /* cost[] first holds the normalised correlation, NAN outside. */
    for (long k = 0; k < len[f]; k++) {
      long d = lo + k;
      int in = 0;
      for (int j = 0; j < 4; j++) in |= labs(d - ctr[j]) <= rad;
      if (!in) {
        cost[k] = NAN;   /* in the hull of the two windows, in neither */
      } else if (pause) {
        cost[k] = 1;
      } else {
        /* State d: OUT phase d mod WARP_PHASES, 12 kHz lag d div it. */
        int ph = (int)(((d % WARP_PHASES) + WARP_PHASES) % WARP_PHASES);
        long dl = (d - ph) / WARP_PHASES, m = on[ph];
        long j0 = a + dl, j1 = a + dl + n;
        j0 = j0 < 0 ? 0 : j0 > m ? m : j0;
        j1 = j1 < 0 ? 0 : j1 > m ? m : j1;
        double eo = po[ph][j1] - po[ph][j0];
        cost[k] = 2 * dot_at(r + a, n, o[ph], m, a + dl) / (er + eo);
      }
    }
    /* Then the cost: how far the match at that lag (at a peak, the
     * parabola's top: the true lag is up to a sample away) falls short of
     * WARP_COST_DB, in dB / WARP_COST_DB, within 0..1. A pitch period away
     * voiced speech still matches at 10-20 dB, which a linear measure
     * (1 - correlation: 0.01-0.1) would hardly tell from the truth. */
    double prev = NAN;
    for (long k = 0; k < len[f]; k++) {
      double v = cost[k], nx = k + 1 < len[f] ? cost[k + 1] : NAN, top = v;
      if (isnan(v)) {
        cost[k] = INFINITY;
        prev = v;
        continue;
      }
      double den = prev - 2 * v + nx;
      if (!pause && v >= prev && v >= nx && den < 0) top = v - (prev - nx) * (prev - nx) / (8 * den);
      double q = -10 * log10(1 - top > 1e-6 ? 1 - top : 1e-6);
      prev = v;
      cost[k] = q >= WARP_COST_DB ? 0 : q <= 0 ? 1 : 1 - q / WARP_COST_DB;
    }
    from[f] = xmalloc((size_t)len[f]);
    double pmin = f ? dprev[amin[f - 1] - base[f - 1]] : 0;
    long best = -1;
    for (long k = 0; k < len[f]; k++) {
      long d = lo + k;
      double v = f ? INFINITY : 0;
      signed char how = 0;
      for (int s = -1; f && s <= 1; s++) {
        long q = d - s - base[f - 1];
        if (q >= 0 && q < len[f - 1] && (dprev[q] < v || (dprev[q] == v && s == 0))) {
          v = dprev[q];
          how = (signed char)s;
        }
      }
      if (f && pmin + WARP_STEP_COST < v) {
        v = pmin + WARP_STEP_COST;
        how = 2;
      }
      dcur[k] = v + cost[k];
      from[f][k] = how;
      /* Ties (a pause costs nothing anywhere): the lag nearest the last. */
      if (isfinite(dcur[k]) && (best < 0 || dcur[k] < dcur[best] ||
                                (dcur[k] == dcur[best] && labs(d - fc) < labs(lo + best - fc))))
        best = k;
    }
    amin[f] = lo + (best >= 0 ? best : ctr[1] - lo);
    double *t = dprev;
    dprev = dcur;
    dcur = t;
  }
  long d = nf ? amin[nf - 1] : 0;
  for (long f = nf - 1; f >= 0; f--) {
    path[f] = d;
    signed char how = from[f][d - base[f]];
    if (f) d = how == 2 ? amin[f - 1] : d - how;
  }
  for (long f = 0; f < nf; f++) free(from[f]);
  free(from);
  free(base);
  free(len);
  free(amin);
  for (int p = 0; p < WARP_PHASES; p++) free(po[p]);
  free(cost);
  free(dprev);
  free(dcur);
}

/* A frame r[a, a + n)'s lag as a line, lag(i) = *lag + g (i - centre), by
 * Gauss-Newton on its squared error against o (sinc; the slope od[]
 * interpolated linearly, which only steers the steps), from *lag and g0.
 * One lag per frame would not do: within 0.5 % the lag moves 2.4 samples
 * across 10 ms, most of a cycle at 5 kHz. Sets *lag to the lag at the
 * frame's centre where the error was least and returns that error. */
static double frame_fit(const float *r, const float *o, const float *od, long on, long a, long n,
                        double *lag, double g0) {
  double c = (double)a + (double)(n - 1) / 2.0, d = *lag, bd = d, be = INFINITY;
  double g = g0 > WARP_MAX_SLOPE ? WARP_MAX_SLOPE : g0 < -WARP_MAX_SLOPE ? -WARP_MAX_SLOPE : g0;
  for (int it = 0; it <= WARP_FIT_ITER; it++) {
    double h11 = 0, h12 = 0, h22 = 0, b1 = 0, b2 = 0, e = 0;
    for (long i = a; i < a + n; i++) {
      double u = (double)i - c, pos = (double)i + d + g * u, v = 0, dv = 0;
      if (sinc_at(o, on, pos, &v)) {
        long j = (long)floor(pos);
        double fr = pos - (double)j;
        dv = (1 - fr) * od[j] + (j + 1 < on ? fr * od[j + 1] : 0);
      }
      double res = (double)r[i] - v;
      e += res * res;
      h11 += dv * dv;
      h12 += dv * dv * u;
      h22 += dv * dv * u * u;
      b1 += res * dv;
      b2 += res * dv * u;
    }
    if (e < be) {
      be = e;
      bd = d;
    }
    double det = h11 * h22 - h12 * h12;
    if (it == WARP_FIT_ITER || e == 0 || det <= 0) break;
    double dd = (b1 * h22 - b2 * h12) / det, dg = (b2 * h11 - b1 * h12) / det;
    d += dd;
    g += dg;
    if (g > WARP_MAX_SLOPE) g = WARP_MAX_SLOPE;
    if (g < -WARP_MAX_SLOPE) g = -WARP_MAX_SLOPE;
    if (fabs(d - *lag) > WARP_FIT_MAX) break;
    if (fabs(dd) < 1e-3 && fabs(dg) * (double)n < 2e-3) break;
  }
  *lag = bd;
  return be;
}

/* Frame r[a, a + n)'s lag near the whole lag c: the best whole lag within
 * WARP_REFINE, a parabola through its neighbours' errors, then the line
 * fitted (frame_fit) from there with slope g0. Returns the squared error
 * at *lag. */
static double frame_lag(const float *r, const float *o, const float *od, long on, long a, long n, long c,
                        double g0, double *lag) {
  double e[2 * WARP_REFINE + 1], be = INFINITY;
  long bl = c;
  for (long L = c - WARP_REFINE; L <= c + WARP_REFINE; L++) {
    double s = 0;
    for (long i = a; i < a + n; i++) {
      double v = i + L >= 0 && i + L < on ? o[i + L] : 0;
      s += (v - r[i]) * (v - r[i]);
    }
    e[L - c + WARP_REFINE] = s;
    if (s < be) {
      be = s;
      bl = L;
    }
  }
  long k = bl - c + WARP_REFINE;
  double den = k > 0 && k < 2 * WARP_REFINE ? e[k - 1] - 2 * e[k] + e[k + 1] : 0;
  *lag = (double)bl + (den > 0 ? 0.5 * (e[k - 1] - e[k + 1]) / den : 0);
  double ef = frame_fit(r, o, od, on, a, n, lag, g0);
  if (ef > be) {
    *lag = (double)bl;
    ef = be;
  }
  return ef;
}

/* The whole lag in [lo, hi] at which r[a, a + n) errs least against o
 * (OUT silent outside; po: prefix sums of o^2), by one FFT of nfft points
 * (at least n + hi - lo) in buf. */
static long frame_search(const float *r, const float *o, const double *po, long on, long a, long n, long lo,
                         long hi, double complex *buf, size_t nfft) {
  xcorr_packed(r + a, n, o, on, a + lo, n + hi - lo, buf, nfft);
  long best = lo;
  double be = INFINITY;
  for (long L = lo; L <= hi; L++) {
    long j0 = a + L, j1 = a + L + n;
    j0 = j0 < 0 ? 0 : j0 > on ? on : j0;
    j1 = j1 < 0 ? 0 : j1 > on ? on : j1;
    double e = po[j1] - po[j0] - 2 * creal(buf[L - lo]) / (double)nfft;
    if (e < be) {
      be = e;
      best = L;
    }
  }
  return best;
}

/* A run of anchors [f, l] (indices into x[] and lag[]). */
struct wrun {
  long f, l;
  double slo, shi;  /* slope used before the first and after the last */
  long d0, d1;      /* REF samples [d0, d1) take their lag from it */
};

/* The run's lag at REF position p: the line through its anchors, extended
 * with its edge slopes. */
static double run_lag(const double *x, const double *lag, const struct wrun *u, double p) {
  if (p <= x[u->f]) return lag[u->f] + u->slo * (p - x[u->f]);
  if (p >= x[u->l]) return lag[u->l] + u->shi * (p - x[u->l]);
  long lo = u->f, hi = u->l;
  while (hi - lo > 1) {
    long mid = (lo + hi) / 2;
    if (x[mid] < p) lo = mid; else hi = mid;
  }
  return lag[lo] + (lag[hi] - lag[lo]) * (p - x[lo]) / (x[hi] - x[lo]);
}

/* Least-squares slope of anchors [f, l], within +-WARP_MAX_SLOPE. */
static double run_slope(const double *x, const double *lag, long f, long l) {
  if (l <= f) return 0;
  double n = (double)(l - f + 1), mx = 0, my = 0, sxx = 0, sxy = 0;
  for (long i = f; i <= l; i++) { mx += x[i]; my += lag[i]; }
  mx /= n;
  my /= n;
  for (long i = f; i <= l; i++) { sxx += (x[i] - mx) * (x[i] - mx); sxy += (x[i] - mx) * (lag[i] - my); }
  double g = sxx > 0 ? sxy / sxx : 0;
  return g > WARP_MAX_SLOPE ? WARP_MAX_SLOPE : g < -WARP_MAX_SLOPE ? -WARP_MAX_SLOPE : g;
}

struct warp_result {
  long windows, damaged, steps, frames, anchors;
  double snr_db, max_step;   /* dB over all of it; samples, signed */
};

/* Fills w (see the comment above). lagv: --track's lag of every REF
 * sample. win, grid0: the windows and where their grid starts. */
static void warp(const struct signal *ref, const struct signal *out, const double *lagv, double floor_db,
                 long win, long grid0, double snr_thr, struct warp_result *w) {
  memset(w, 0, sizeof *w);
  sinc_init();
  long rn = (long)ref->n, on = (long)out->n;
  float *rb = xmalloc((size_t)rn * sizeof *rb), *ob = xmalloc((size_t)on * sizeof *ob);
  memcpy(rb, ref->x, (size_t)rn * sizeof *rb);
  memcpy(ob, out->x, (size_t)on * sizeof *ob);
  speech_band(rb, rn);
  speech_band(ob, on);
  double abs_floor = pow(10, ABS_FLOOR_DBFS / 10), me = 0;
  for (long i = 0; i < rn; i++) me += (double)rb[i] * rb[i];
  double floor_e = me / (double)rn * pow(10, floor_db / 10);
  if (floor_e < abs_floor) floor_e = abs_floor;

  /* The path at 12 kHz. */
  long rn12, on12[WARP_PHASES];
  float *r12 = decimate(rb, rn, 0, &rn12), *o12[WARP_PHASES];
  for (int p = 0; p < WARP_PHASES; p++) o12[p] = decimate(ob, on, p * WARP_STATE, &on12[p]);
  long hop = lround(WARP_HOP_MS * DL_RATE / 1000.0 / WARP_DECIM);
  long flen = lround(WARP_FRAME_MS * DL_RATE / 1000.0 / WARP_DECIM);
  long nf = rn12 >= flen ? (rn12 - flen) / hop + 1 : 0;
  long *path = xmalloc(((size_t)nf + 1) * sizeof *path);
  double me12 = 0;
  for (long i = 0; i < rn12; i++) me12 += (double)r12[i] * r12[i];
  double floor12 = rn12 ? me12 / (double)rn12 * pow(10, floor_db / 10) : 0;
  if (floor12 < abs_floor) floor12 = abs_floor;
  warp_path(r12, rn12, o12, on12, lagv, rn, hop, flen, floor12, path, nf);
  free(r12);
  for (int p = 0; p < WARP_PHASES; p++) free(o12[p]);

  /* Each audible frame at 48 kHz: its lag near the path, fitted, and how
   * well it matches there; where that is not excellent, once more from the
   * best lag anywhere within WARP_RADIUS_MS of the path (the path at 12 kHz
   * is blind above 4 kHz: a fricative, whose lag is plain at 48 kHz). */
  long H = hop * WARP_DECIM, F = flen * WARP_DECIM, rad = lround(WARP_RADIUS_MS * DL_RATE / 1000.0);
  float *od = xmalloc(((size_t)on + 1) * sizeof *od);
  double *pob = xmalloc(((size_t)on + 1) * sizeof *pob);
  pob[0] = 0;
  for (long j = 0; j < on; j++) {
    od[j] = 0.5f * ((j + 1 < on ? ob[j + 1] : 0) - (j > 0 ? ob[j - 1] : 0));
    pob[j + 1] = pob[j] + (double)ob[j] * ob[j];
  }
  size_t nfft = 1;
  while (nfft < (size_t)(F + 2 * rad + 1)) nfft <<= 1;
  double complex *fbuf = xmalloc(nfft * sizeof *fbuf);
  double *ax = xmalloc(((size_t)nf + 1) * sizeof *ax), *al = xmalloc(((size_t)nf + 1) * sizeof *al);
  double *aq = xmalloc(((size_t)nf + 1) * sizeof *aq), *qs = xmalloc(((size_t)nf + 1) * sizeof *qs);
  long na = 0;
  for (long f = 0; f < nf; f++) {
    long a = f * H;
    double er = 0;
    for (long i = a; i < a + F; i++) er += (double)rb[i] * rb[i];
    if (er / (double)F < floor_e) continue;
    long c0 = a, c1 = a + F - 1 < rn ? a + F - 1 : rn - 1;
    double g0 = (lagv[c1] - lagv[c0]) / (double)(c1 - c0), lag;
    double ef = frame_lag(rb, ob, od, on, a, F, path[f] * WARP_STATE, g0, &lag);
    if (ef > 0 && 10 * log10(er / ef) < WARP_ANCHOR_DB) {
      double lag2;
      long c = frame_search(rb, ob, pob, on, a, F, path[f] * WARP_STATE - rad, path[f] * WARP_STATE + rad,
                            fbuf, nfft);
      double ef2 = frame_lag(rb, ob, od, on, a, F, c, g0, &lag2);
      if (ef2 < ef) {
        ef = ef2;
        lag = lag2;
      }
    }
    ax[na] = (double)a + (double)(F - 1) / 2.0;
    al[na] = lag;
    aq[na] = qs[na] = ef > 0 ? 10 * log10(er / ef) : 999.0;
    na++;
  }
  free(fbuf);
  free(pob);
  w->frames = na;
  free(path);
  free(od);
  double acc = WARP_ANCHOR_DB;
  if (na > 0) {
    qsort(qs, (size_t)na, sizeof *qs, cmp_double);
    if (qs[na * 3 / 4] - 10 < acc) acc = qs[na * 3 / 4] - 10;
  }
  long m = 0;
  for (long i = 0; i < na; i++)
    if (aq[i] >= acc) {
      ax[m] = ax[i];
      al[m] = al[i];
      aq[m++] = aq[i];
    }

  /* Runs of consistent lag. A run of fewer than WARP_CONFIRM anchors is
   * dropped, and a short one (fewer than WARP_EXCURSION_ANCHORS) none of
   * whose anchors is WARP_SHORT_DB better than the threshold: at the edge
   * of a hole or of damage a frame can match the speech beside it a pitch
   * period away at 20-25 dB, where a true lag matches at 40 dB or more
   * even between the splices of time-scale modification. Then an
   * excursion: up to WARP_EXCURSION_RUNS runs, each of
   * fewer than WARP_EXCURSION_ANCHORS anchors and fewer than either
   * neighbour, between two that continue each other. Time-scale modification moves the lag one way for as long
   * as it is asked to; a lag that leaves and comes back is a concealed or
   * zeroed stretch whose edges match the speech a pitch period away (a
   * vowel's next period), and scoring them there would forgive the
   * damage. Dropping one may join its neighbours, so again until nothing
   * is dropped. */
  struct wrun *ru = xmalloc(((size_t)m + 1) * sizeof *ru);
  char *drop = xmalloc((size_t)m + 1);
  long nr;
  for (;;) {
    nr = 0;
    for (long i = 0; i < m; i++) {
      if (nr && fabs(al[i] - al[i - 1]) <= WARP_MAX_SLOPE * (ax[i] - ax[i - 1]) + WARP_STEP_MIN)
        ru[nr - 1].l = i;
      else
        ru[nr++] = (struct wrun){i, i, 0, 0, 0, 0};
    }
    long dropped = 0;
    for (long u = 0; u < nr; u++) {
      long n = ru[u].l - ru[u].f + 1;
      double best = 0;
      for (long i = ru[u].f; i <= ru[u].l; i++) best = aq[i] > best ? aq[i] : best;
      drop[u] = n < WARP_CONFIRM || (n < WARP_EXCURSION_ANCHORS && best < acc + WARP_SHORT_DB);
      dropped += drop[u];
    }
    /* Runs u..v (a damaged stretch may leave one at each edge, each
     * matching the speech on its own side a period away). */
    for (long u = 1; u + 1 < nr && !dropped; u++)
      for (long v = u; v + 1 < nr && v < u + WARP_EXCURSION_RUNS && !dropped; v++) {
        long pl = ru[u - 1].l, nx = ru[v + 1].f, shorter = 1;
        for (long j = u; j <= v; j++) {
          long n = ru[j].l - ru[j].f + 1;
          shorter &= n < WARP_EXCURSION_ANCHORS && n < pl - ru[u - 1].f + 1 && n < ru[v + 1].l - nx + 1;
        }
        if (shorter && fabs(al[nx] - al[pl]) <= WARP_MAX_SLOPE * (ax[nx] - ax[pl]) + WARP_STEP_MIN) {
          for (long j = u; j <= v; j++) drop[j] = 1;
          dropped = 1;
        }
      }
    if (!dropped) break;
    long k = 0;
    for (long u = 0; u < nr; u++) {
      if (drop[u]) continue;
      for (long i = ru[u].f; i <= ru[u].l; i++) {
        ax[k] = ax[i];
        al[k] = al[i];
        aq[k++] = aq[i];
      }
    }
    m = k;
  }
  free(drop);
  w->anchors = m;

  /* The lag of every REF sample: --track's where nothing matched. */
  double *lag = xmalloc((size_t)rn * sizeof *lag);
  if (nr == 0) memcpy(lag, lagv, (size_t)rn * sizeof *lag);
  for (long u = 0; u < nr; u++) {
    long f = ru[u].f, l = ru[u].l;
    ru[u].slo = run_slope(ax, al, f, f + WARP_SLOPE_FRAMES - 1 < l ? f + WARP_SLOPE_FRAMES - 1 : l);
    ru[u].shi = run_slope(ax, al, l - WARP_SLOPE_FRAMES + 1 > f ? l - WARP_SLOPE_FRAMES + 1 : f, l);
  }
  if (nr > 0) {
    ru[0].d0 = 0;
    ru[nr - 1].d1 = rn;
  }
  for (long u = 1; u < nr; u++) {
    /* The step: between the last anchor of one run and the first of the
     * next, where the squared error left of it on the one line and right
     * of it on the other is least (a missing OUT sample costs the REF
     * sample). */
    long lo = lround(ax[ru[u - 1].l]), hi = lround(ax[ru[u].f]) + 1;
    double *el = xmalloc((size_t)(hi - lo) * sizeof *el), *er = xmalloc((size_t)(hi - lo) * sizeof *er);
    double tr = 0;
    for (long i = lo; i < hi; i++) {
      double v, a = rb[i], x = (double)i;
      el[i - lo] = sinc_at(ob, on, x + run_lag(ax, al, &ru[u - 1], x), &v) ? (v - a) * (v - a) : a * a;
      er[i - lo] = sinc_at(ob, on, x + run_lag(ax, al, &ru[u], x), &v) ? (v - a) * (v - a) : a * a;
      tr += er[i - lo];
    }
    double cl = 0, cr = tr, bestc = tr;
    long bestp = lo;
    for (long i = lo; i < hi; i++) {
      cl += el[i - lo];
      cr -= er[i - lo];
      if (cl + cr < bestc) {
        bestc = cl + cr;
        bestp = i + 1;
      }
    }
    ru[u - 1].d1 = ru[u].d0 = bestp;
    double d = run_lag(ax, al, &ru[u], (double)bestp) - run_lag(ax, al, &ru[u - 1], (double)bestp);
    if (fabs(d) >= WARP_STEP_MIN) {
      w->steps++;
      if (fabs(d) > fabs(w->max_step)) w->max_step = d;
    }
    free(el);
    free(er);
  }
  for (long u = 0; u < nr; u++)
    for (long i = ru[u].d0; i < ru[u].d1; i++) lag[i] = run_lag(ax, al, &ru[u], (double)i);

  /* OUT along the line, then its speech band over REF's samples. */
  float *wv = xmalloc((size_t)rn * sizeof *wv);
  char *has = xmalloc((size_t)rn);
  for (long i = 0; i < rn; i++) {
    double v;
    has[i] = (char)sinc_at(out->x, on, (double)i + lag[i], &v);
    wv[i] = has[i] ? (float)v : 0.0f;
  }
  speech_band(wv, rn);
  double se = 0, sd = 0, cnt = 0;
  for (long i = 0; i < rn; i++) {
    if (!has[i]) continue;
    se += (double)rb[i] * rb[i];
    sd += ((double)wv[i] - rb[i]) * ((double)wv[i] - rb[i]);
    cnt++;
  }
  w->snr_db = se <= 0 ? NAN : sd > 0 ? 10 * log10(se / sd) : 999.0;
  double fe = cnt > 0 ? se / cnt * pow(10, floor_db / 10) : 0;
  if (fe < abs_floor) fe = abs_floor;
  for (long a = grid0; a + win <= rn; a += win) {
    double e = 0, d = 0;
    int whole = 1;
    for (long i = a; i < a + win && whole; i++) {
      whole = has[i];
      e += (double)rb[i] * rb[i];
      d += ((double)wv[i] - rb[i]) * ((double)wv[i] - rb[i]);
    }
    if (!whole || e / (double)win < fe) continue;
    w->windows++;
    if ((d > 0 ? 10 * log10(e / d) : 999.0) < snr_thr) w->damaged++;
  }
  free(wv);
  free(has);
  free(lag);
  free(ru);
  free(ax);
  free(al);
  free(aq);
  free(qs);
  free(rb);
  free(ob);
}

struct opts {
  double window_ms, snr_threshold_db, max_lag_ms, floor_db, min_corr, span_db;
  int have_min_corr, json, rate_check, track, warp;
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
                   DEFAULT_FLOOR_DB, 0, DEFAULT_SPAN_DBFS, 0, 0, 0, 0, 0,
                   DEFAULT_TRACK_BLOCK_MS, DEFAULT_TRACK_SEARCH_MS, DEFAULT_TRACK_MIN_NCC,
                   DEFAULT_TRACK_STEP_MS};
  enum { O_WINDOW = 256, O_SNR, O_MAXLAG, O_MINCORR, O_JSON, O_RATE, O_FLOOR, O_SPAN, O_TRACK,
         O_TBLOCK, O_TSEARCH, O_TNCC, O_TSTEP, O_WARP };
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
    {"warp", no_argument, NULL, O_WARP},
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
    case O_WARP: o.warp = o.track = 1; break;
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

  struct warp_result wr;
  memset(&wr, 0, sizeof wr);
  if (o.warp) warp(&ref, &out, tr.lagv, o.floor_db, win, r0 % win, o.snr_threshold_db, &wr);
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
    free(tr.lagv);
  }
  if (o.warp) {
    emit_num(&o, &first, "warp_snr_db", wr.snr_db, 2);
    emit_num(&o, &first, "warp_windows", (double)wr.windows, 0);
    emit_num(&o, &first, "warp_damaged", (double)wr.damaged, 0);
    emit_num(&o, &first, "warp_damaged_pct",
             wr.windows ? 100.0 * (double)wr.damaged / (double)wr.windows : 0.0, 2);
    emit_num(&o, &first, "warp_steps", (double)wr.steps, 0);
    emit_num(&o, &first, "warp_max_step_ms", wr.max_step * 1000.0 / rate, 3);
    emit_num(&o, &first, "warp_frames", (double)wr.frames, 0);
    emit_num(&o, &first, "warp_anchors", (double)wr.anchors, 0);
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
