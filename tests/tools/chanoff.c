/* chanoff: how far apart the two channels of a stereo recording are, window
 * by window; for the two-channel probe (TESTBED.md), where two receivers of
 * one stream play into the left and right channels of one null sink and
 * its monitor is recorded once, so that both are on one time base.
 *
 *   chanoff FILE.wav [--window-ms MS] [--max-lag-ms MS] [--skip-s S]
 *                    [--min-ncc X] [--dump FILE]
 *
 * Each window of --window-ms (1000) of the left channel, from --skip-s on,
 * is looked for in the right one within +-max-lag (200 ms) of the same
 * place: first at a quarter of the rate (4-sample means), then at full rate
 * within 1 ms of that, the peak fitted by a parabola to a fraction of a
 * sample. A window whose best normalised correlation stays below --min-ncc
 * (0.7), or that is nearly silent, is not counted. Prints JSON: windows,
 * used, and of the used windows' offsets (ms, > 0: the right channel is
 * later) mean, p50, p99 and max of the magnitude, min and max signed, and
 * spread (max - min). --dump writes "start_s offset_ms ncc" per window. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *msg)
{
  fprintf(stderr, "chanoff: %s\n", msg);
  exit(2);
}

/* Normalised correlation of a[0..n) with b[lag..lag+n) (b holds nb). */
static double ncc(const float *a, const float *b, long n, long nb, long lag)
{
  double ab = 0, aa = 0, bb = 0;

  if (lag < 0 || lag + n > nb)
    return -2;
  for (long i = 0; i < n; i++) {
    ab += (double)a[i] * b[lag + i];
    aa += (double)a[i] * a[i];
    bb += (double)b[lag + i] * b[lag + i];
  }
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : -2;
}

static int cmp_double(const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double quantile(double *v, int n, double q)
{
  int i = (int)(q * n);
  if (i >= n)
    i = n - 1;
  return v[i];
}

int main(int argc, char **argv)
{
  double window_ms = 1000, max_lag_ms = 200, skip_s = 0, min_ncc = 0.7;
  const char *path = NULL, *dump = NULL;
  SF_INFO info;
  SNDFILE *sf;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--window-ms") == 0 && i + 1 < argc)
      window_ms = atof(argv[++i]);
    else if (strcmp(argv[i], "--max-lag-ms") == 0 && i + 1 < argc)
      max_lag_ms = atof(argv[++i]);
    else if (strcmp(argv[i], "--skip-s") == 0 && i + 1 < argc)
      skip_s = atof(argv[++i]);
    else if (strcmp(argv[i], "--min-ncc") == 0 && i + 1 < argc)
      min_ncc = atof(argv[++i]);
    else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
      dump = argv[++i];
    else if (argv[i][0] != '-' && path == NULL)
      path = argv[i];
    else
      die("usage: chanoff FILE.wav [--window-ms MS] [--max-lag-ms MS] [--skip-s S] [--min-ncc X] [--dump FILE]");
  }
  if (path == NULL || window_ms < 10 || max_lag_ms < 1 || skip_s < 0)
    die("usage: chanoff FILE.wav [--window-ms MS] [--max-lag-ms MS] [--skip-s S] [--min-ncc X] [--dump FILE]");
  memset(&info, 0, sizeof info);
  sf = sf_open(path, SFM_READ, &info);
  if (sf == NULL)
    die(sf_strerror(NULL));
  if (info.channels != 2)
    die("not a stereo file");
  long n = (long)info.frames, rate = info.samplerate;
  float *x = malloc((size_t)n * 2 * sizeof *x), *l = malloc((size_t)n * sizeof *l),
        *r = malloc((size_t)n * sizeof *r), *l4 = malloc((size_t)(n / 4 + 1) * sizeof *l4),
        *r4 = malloc((size_t)(n / 4 + 1) * sizeof *r4);
  if (x == NULL || l == NULL || r == NULL || l4 == NULL || r4 == NULL)
    die("out of memory");
  if (sf_readf_float(sf, x, n) != n)
    die("short read");
  sf_close(sf);
  for (long i = 0; i < n; i++) {
    l[i] = x[2 * i];
    r[i] = x[2 * i + 1];
  }
  for (long i = 0; i + 4 <= n; i += 4) {
    l4[i / 4] = (l[i] + l[i + 1] + l[i + 2] + l[i + 3]) / 4;
    r4[i / 4] = (r[i] + r[i + 1] + r[i + 2] + r[i + 3]) / 4;
  }

  long win = (long)(window_ms * rate / 1000), lagmax = (long)(max_lag_ms * rate / 1000);
  long fine = rate / 1000 + 4;
  int cap = (int)(n / win + 1), used = 0, windows = 0;
  double *off = malloc((size_t)cap * sizeof *off), *mag = malloc((size_t)cap * sizeof *mag);
  FILE *df = dump != NULL ? fopen(dump, "w") : NULL;
  if (off == NULL || mag == NULL || (dump != NULL && df == NULL))
    die("cannot allocate or open --dump");

  for (long s = (long)(skip_s * rate) + lagmax; s + win + lagmax <= n; s += win) {
    double e = 0;
    windows++;
    for (long i = 0; i < win; i++)
      e += (double)l[s + i] * l[s + i];
    if (sqrt(e / win) < 1e-3)   /* -60 dBFS: a pause */
      continue;
    /* Coarse: a quarter of the rate. */
    long best4 = 0;
    double bv = -3;
    for (long k = -lagmax / 4; k <= lagmax / 4; k++) {
      double v = ncc(l4 + s / 4, r4, win / 4, n / 4, s / 4 + k);
      if (v > bv) {
        bv = v;
        best4 = k;
      }
    }
    /* Fine: full rate around it. */
    long best = 0;
    double fv = -3, vm = 0, vp = 0;
    for (long k = best4 * 4 - fine; k <= best4 * 4 + fine; k++) {
      double v = ncc(l + s, r, win, n, s + k);
      if (v > fv) {
        fv = v;
        best = k;
      }
    }
    vm = ncc(l + s, r, win, n, s + best - 1);
    vp = ncc(l + s, r, win, n, s + best + 1);
    double frac = 0, den = vm - 2 * fv + vp;
    if (vm > -2 && vp > -2 && den < 0)
      frac = 0.5 * (vm - vp) / den;
    double ms = ((double)best + frac) * 1000.0 / (double)rate;
    if (df != NULL)
      fprintf(df, "%.3f\t%.4f\t%.4f\n", (double)s / rate, ms, fv);
    if (fv < min_ncc)
      continue;
    off[used] = ms;
    mag[used] = fabs(ms);
    used++;
  }
  if (df != NULL)
    fclose(df);
  if (used == 0) {
    printf("{\"windows\":%d,\"used\":0}\n", windows);
    return 1;
  }
  double mean = 0, mn = off[0], mx = off[0];
  for (int i = 0; i < used; i++) {
    mean += mag[i];
    mn = off[i] < mn ? off[i] : mn;
    mx = off[i] > mx ? off[i] : mx;
  }
  mean /= used;
  qsort(mag, (size_t)used, sizeof *mag, cmp_double);
  qsort(off, (size_t)used, sizeof *off, cmp_double);
  printf("{\"windows\":%d,\"used\":%d,\"mean_abs_ms\":%.4f,\"p50_abs_ms\":%.4f,\"p99_abs_ms\":%.4f,"
         "\"max_abs_ms\":%.4f,\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,\"spread_ms\":%.4f}\n",
         windows, used, mean, quantile(mag, used, 0.5), quantile(mag, used, 0.99), mag[used - 1],
         quantile(off, used, 0.5), mn, mx, mx - mn);
  free(x);
  free(l);
  free(r);
  free(l4);
  free(r4);
  free(off);
  free(mag);
  return 0;
}
