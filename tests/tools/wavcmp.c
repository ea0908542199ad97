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

#include "args.h"
#include "defaults.h"

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
    "Exit: 0; 1 if --min-corr is not met; 2 on usage, file or format errors.\n",
    DEFAULT_MAX_LAG_MS, DEFAULT_WINDOW_MS, DEFAULT_SNR_THRESHOLD_DB, ABS_FLOOR_DBFS,
    DEFAULT_FLOOR_DB, DEFAULT_SPAN_DBFS);
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
  double complex *tw = xmalloc(n / 2 * sizeof *tw);
  for (size_t k = 0; k < n / 2; k++) {
    double ang = sign * 2.0 * M_PI * (double)k / (double)n;
    tw[k] = cos(ang) + I * sin(ang);
  }
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
  free(tw);
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

struct opts {
  double window_ms, snr_threshold_db, max_lag_ms, floor_db, min_corr, span_db;
  int have_min_corr, json, rate_check;
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
                   DEFAULT_FLOOR_DB, 0, DEFAULT_SPAN_DBFS, 0, 0, 0};
  enum { O_WINDOW = 256, O_SNR, O_MAXLAG, O_MINCORR, O_JSON, O_RATE, O_FLOOR, O_SPAN };
  static const struct option longopts[] = {
    {"window-ms", required_argument, NULL, O_WINDOW},
    {"snr-threshold", required_argument, NULL, O_SNR},
    {"max-lag-ms", required_argument, NULL, O_MAXLAG},
    {"min-corr", required_argument, NULL, O_MINCORR},
    {"floor-db", required_argument, NULL, O_FLOOR},
    {"span-db", required_argument, NULL, O_SPAN},
    {"json", no_argument, NULL, O_JSON},
    {"rate-check", no_argument, NULL, O_RATE},
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
  if (o.json) printf("}\n");
  free(ref.x);
  free(out.x);
  if (o.have_min_corr && !(corr >= o.min_corr)) {
    fprintf(stderr, PROG ": corr %.4f below --min-corr %.4f\n", corr, o.min_corr);
    return 1;
  }
  return 0;
}
