/* common/rx/tsm: time-scale modification by whole pitch periods.
 *
 * The quality cases drive tsm_process as the receiver should: 20 ms blocks,
 * each asking for what a ramp of +-10 % owes by the end of the block plus
 * one longest period (LEAD), never beyond the 4800 frames of the second
 * (shorten: 1.1 s of audio heard in 1 s; lengthen: 0.9 s in 1 s), after
 * 200 ms passed through unchanged (the stream was running). They measure,
 * on speech (tests/data/speech.flac) and on synthesized music:
 *   rate   the change achieved over that second against the 4800 frames
 *          asked: within 1 % of the second (480 frames, a rate of 1.10 or
 *          0.90 to +-0.01), the pacing being the caller's;
 *   pitch  F0 per 40 ms window (normalised autocorrelation, 50..400 Hz,
 *          parabolic interpolation) of the output against the original at
 *          the same source instant: the median relative difference over
 *          windows voiced in both below 1 %; a naive speed change (linear
 *          interpolation at 1.1) fails the same measure by a factor of ten;
 *   click  see CLICK_DB: no splice above it, while cuts without a fade do
 *          go above it (test_tsm_click_measure__naive_cuts__fail and the
 *          hard-cut counts of the quality cases).
 * Each output frame is also traced to its source frame from the splices
 * reported, and every frame outside a cross-fade must be that frame exactly:
 * the module does what it says it did. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sndfile.h>

#include "defaults.h"
#include "rx/tsm.h"

#define RATE DL_RATE
#define BLOCK 960                 /* 20 ms: the receiver's usual frame */
#define WARM (RATE / 5)           /* passed through before the measured second */
#define SECOND RATE
#define ASKED (SECOND / 10)       /* +-10 % over the second */
#define RATE_TOL (SECOND / 100)   /* 1 % of the second */
#define F0_TOL 0.01
/* Whole periods come in lumps of up to 20 ms: a caller that asks only for
 * what its ramp owes trails it by a period (measured: 4320-4560 of 4800
 * at the end of the second on speech); asking one longest period ahead
 * lets the module keep to the ramp (4786-4800). */
#define LEAD (RATE * DL_TSM_MAX_LAG_US / 1000000)

/* Click threshold. A click is a broadband transient; what makes it audible
 * is high-frequency energy that the signal itself does not have at that
 * moment. The measure (click_db): the energy of the second difference (a
 * high-pass rising 12 dB per octave, where speech and music have little and
 * a step or a kink has a lot) in 1 ms windows (the ear's integration time
 * for clicks, 1-2 ms), from 2 ms before a splice to 2 ms after it, each
 * against the largest such window of the original over that window's own
 * source frames, 1 ms either side. A cross-fade only mixes what its two
 * sources have; a discontinuity adds a step neither has. The threshold,
 * 6 dB, is a window four times as strong at high frequencies as the
 * signal it came from: a step of about the local RMS in a vowel, which is
 * heard as a click (simultaneous masking by the signal's own high band
 * hides an addition some dB below it, not one well above it). Measured
 * here: our splices stay within +0.3 dB; hard cuts of 2 ms go up to +32 dB
 * and most of them above 6 dB; hard cuts at our own splice points, where
 * the waveform matches, are mostly below, as they should be. Below 1 LSB^2
 * per sample (the rounding of int16) nothing is counted. */
#define CLICK_DB 6.0
#define HF_WIN 48
#define HF_FLOOR (1.0 * HF_WIN)

static unsigned seed;

/* ---- signals ---- */

static int16_t *speech;
static int speech_n;

static int load_speech(void)
{
  SF_INFO si = {0};
  SNDFILE *sf = sf_open("tests/data/speech.flac", SFM_READ, &si);
  if (sf == NULL)
    return -1;
  if (si.samplerate != RATE || si.channels != 1) {
    sf_close(sf);
    return -1;
  }
  speech = malloc((size_t)si.frames * sizeof *speech);
  if (speech == NULL) {
    sf_close(sf);
    return -1;
  }
  speech_n = (int)sf_readf_short(sf, speech, si.frames);
  sf_close(sf);
  return 0;
}

/* Music: a chord progression in three voices (bass and two upper notes),
 * each note with eight harmonics (1/k), its own vibrato (5-6 Hz, +-0.5 %),
 * a 10 ms attack and an exponential decay; the chord changes every 500 ms
 * and the upper voices are struck again every 250 ms: onsets, polyphony,
 * and pitch that is never quite steady. Frames into out, ch channels (the
 * same in both). */
static void synth_music(int16_t *out, int n, int ch, int dense)
{
  static const double lead_gain[3] = {0.2, 0.12, 0.4};    /* a melody over chords */
  static const double dense_gain[3] = {0.3, 0.22, 0.22};  /* chords, no voice leading */
  static const double chords[4][3] = {
    {110.00, 261.63, 329.63},   /* A minor */
    {87.31, 220.00, 261.63},    /* F */
    {130.81, 329.63, 392.00},   /* C */
    {98.00, 246.94, 293.66},    /* G */
  };
  const double *gain = dense ? dense_gain : lead_gain;
  double phase[3][8] = {{0}};
  for (int i = 0; i < n; i++) {
    double t = (double)i / RATE, v = 0;
    int chord = (int)(t / 0.5) % 4;
    for (int voice = 0; voice < 3; voice++) {
      double since = voice == 0 ? fmod(t, 0.5) : fmod(t, 0.25);
      double env = (since < 0.01 ? since / 0.01 : exp(-(since - 0.01) / 0.4)) * gain[voice];
      double f = chords[chord][voice] * (1 + 0.005 * sin(2 * M_PI * (5 + 0.5 * voice) * t + voice));
      for (int k = 0; k < 8; k++) {
        phase[voice][k] += 2 * M_PI * f * (k + 1) / RATE;
        v += env / (k + 1) * sin(phase[voice][k]);
      }
    }
    for (int c = 0; c < ch; c++)
      out[i * ch + c] = (int16_t)lrint(v * 0.5 * 32767 / 1.6);
  }
}

/* ---- driving the module as the receiver would ---- */

struct rec {
  int dir, at, src, lag, fade, kind;   /* absolute output / input frames */
  double corr;
};

struct run {
  int ch;
  int16_t *out;
  int out_n;          /* all output, warm-up included */
  int m0;             /* output frame where the measured second starts */
  int change;         /* frames, over the measured second */
  int *src_of;        /* per output frame: the input frame it came from */
  struct rec *sp;
  int nsp, voiced, quiet;
};

static void run_free(struct run *r)
{
  free(r->out);
  free(r->src_of);
  free(r->sp);
  memset(r, 0, sizeof *r);
}

/* Runs x[start - WARM .. start + len) through a tsm in blocks of `block`,
 * asking over the measured part for what is owed at `rate` (-0.1: shorten
 * by 10 %, +0.1: lengthen). Checks every output frame outside a fade
 * against its source as it goes. */
static void run(const int16_t *x, int start, int len, int ch, int block, double rate,
                struct run *r)
{
  struct tsm *t;
  struct tsm_config cfg = {.channels = ch};
  int in0 = start - WARM, total = WARM + len;
  int cap_frames = (int)(total * 1.2) + 2 * block;

  memset(r, 0, sizeof *r);
  r->ch = ch;
  assert_true(in0 >= 0);
  assert_int_equal(tsm_create(&t, &cfg), 0);
  r->out = calloc((size_t)cap_frames * ch, sizeof *r->out);
  r->src_of = calloc((size_t)cap_frames, sizeof *r->src_of);
  r->sp = calloc((size_t)total / 100 + 16, sizeof *r->sp);
  assert_non_null(r->out);
  assert_non_null(r->src_of);
  assert_non_null(r->sp);
  int16_t *buf = malloc((size_t)(block + DL_MAX_PACKET_SAMPLES) * ch * sizeof *buf);
  assert_non_null(buf);

  int ib = 0, ob = 0;
  while (ib < total) {
    int n = total - ib < block ? total - ib : block;
    int want = 0;
    if (ib >= WARM) {
      int due = (int)lrint(fabs(rate) * (ib + n - WARM)) + LEAD;
      if (due > (int)lrint(fabs(rate) * len))
        due = (int)lrint(fabs(rate) * len);
      int owed = due - abs(ob - ib);
      want = rate < 0 ? -owed : owed;
    }
    int cap = block + DL_MAX_PACKET_SAMPLES;
    memcpy(buf, x + (size_t)(in0 + ib) * ch, (size_t)n * ch * sizeof *buf);
    struct tsm_result res;
    int got = tsm_process(t, buf, n, cap, want, &res);
    assert_int_equal(got, n + res.change);
    assert_true(abs(res.change) <= abs(want));
    assert_true(ob + got <= cap_frames);
    memcpy(r->out + (size_t)ob * ch, buf, (size_t)got * ch * sizeof *buf);

    /* Trace each output frame to its source. Relative input index j:
     * j >= 0 is this block's frame, j < 0 the history (output ob + j). */
    int o = 0, i = 0;
    for (int k = 0; k <= res.n; k++) {
      int upto = k < res.n ? res.s[k].at : got;
      if (k < res.n)
        assert_int_equal(res.s[k].src, i + (res.s[k].at - o));
      for (; o < upto; o++, i++) {
        int16_t *y = r->out + (size_t)(ob + o) * ch;
        const int16_t *want_v = i >= 0 ? x + (size_t)(in0 + ib + i) * ch
                                       : r->out + (size_t)(ob + i) * ch;
        for (int c = 0; c < ch; c++)
          assert_int_equal(y[c], want_v[c]);
        r->src_of[ob + o] = i >= 0 ? in0 + ib + i : r->src_of[ob + i];
      }
      if (k == res.n)
        break;
      const struct tsm_splice *s = &res.s[k];
      int dir = want < 0 ? -1 : 1;
      for (int f = 0; f < s->fade; f++, o++)
        r->src_of[ob + o] = in0 + ib + s->src + f;
      r->sp[r->nsp++] = (struct rec){dir, ob + s->at, in0 + ib + s->src, s->lag, s->fade,
                                     s->kind, s->corr};
      if (s->kind == TSM_VOICED) {
        assert_true(s->corr >= DL_TSM_MIN_CORR_FLOOR);
        r->voiced++;
      } else {
        r->quiet++;
      }
      i = s->src - dir * s->lag + s->fade;
    }
    assert_int_equal(i, n);
    if (ib < WARM)
      assert_int_equal(got, n);
    ib += n;
    ob += got;
    if (ib == WARM)
      r->m0 = ob;
  }
  r->out_n = ob;
  r->change = (ob - r->m0) - len;
  free(buf);
  tsm_destroy(t);
}

/* ---- pitch ---- */

/* F0 in Hz of channel c of y around frame `centre` (a 40 ms window), or 0
 * if not voiced (normalised autocorrelation peak below 0.8) or the window
 * does not fit. The shortest lag at a peak within 0.05 of the best is taken
 * (no octave errors between two near-equal peaks), refined by a parabola. */
static double f0_at(const int16_t *y, int n, int ch, int c, int centre)
{
  enum { HALF = RATE / 50, LO = RATE / 400, HI = RATE / 50 };
  static double r[HI + 2];
  int a = centre - HALF, b = centre + HALF;
  double best = -1;

  if (a < 0 || b > n)
    return 0;
  for (int tau = LO - 1; tau <= HI + 1; tau++) {
    double xy = 0, xx = 0, yy = 0;
    for (int i = a; i + tau < b; i++) {
      double u = y[(size_t)i * ch + c], v = y[(size_t)(i + tau) * ch + c];
      xy += u * v;
      xx += u * u;
      yy += v * v;
    }
    r[tau] = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
    if (tau >= LO && tau <= HI && r[tau] > best)
      best = r[tau];
  }
  if (best < 0.8)
    return 0;
  for (int tau = LO; tau <= HI; tau++) {
    if (r[tau] >= best - 0.05 && r[tau] >= r[tau - 1] && r[tau] >= r[tau + 1]) {
      double den = r[tau - 1] - 2 * r[tau] + r[tau + 1];
      double d = den < 0 ? 0.5 * (r[tau - 1] - r[tau + 1]) / den : 0;
      return RATE / (tau + d);
    }
  }
  return 0;
}

static int cmp_double(const void *a, const void *b)
{
  double u = *(const double *)a, v = *(const double *)b;
  return u < v ? -1 : u > v;
}

/* The median relative F0 difference between output windows (every 20 ms
 * of the measured second) and the original at their source instants; the
 * number of windows voiced in both goes to *voiced. */
static double f0_diff(const int16_t *x, int xn, const struct run *r, int c, int *voiced)
{
  double d[64];
  int k = 0;
  for (int o = r->m0 + RATE / 50; o + RATE / 50 < r->out_n && k < 64; o += RATE / 50) {
    double fo = f0_at(r->out, r->out_n, r->ch, c, o);
    double fi = f0_at(x, xn, r->ch, c, r->src_of[o]);
    if (fo > 0 && fi > 0)
      d[k++] = fabs(fo / fi - 1);
  }
  *voiced = k;
  if (k == 0)
    return NAN;
  qsort(d, (size_t)k, sizeof *d, cmp_double);
  return k % 2 ? d[k / 2] : 0.5 * (d[k / 2 - 1] + d[k / 2]);
}

/* ---- clicks ---- */

/* The second-difference energy of channel c of y in the 1 ms window
 * starting at frame p (0 outside y). */
static double hf_win(const int16_t *y, int n, int ch, int c, int p)
{
  double e = 0;
  if (p < 2 || p + HF_WIN > n)
    return 0;
  for (int i = p; i < p + HF_WIN; i++) {
    double d2 = (double)y[(size_t)i * ch + c] - 2.0 * y[(size_t)(i - 1) * ch + c] +
                y[(size_t)(i - 2) * ch + c];
    e += d2 * d2;
  }
  return e;
}

/* The largest of x's windows that overlap source frames [s0, s1], 1 ms
 * of slack either side. */
static double hf_ref(const int16_t *x, int xn, int ch, int c, int s0, int s1)
{
  double m = 0;
  for (int p = s0 - 2 * HF_WIN + 1; p <= s1 + HF_WIN; p += HF_WIN / 12) {
    double e = hf_win(x, xn, ch, c, p);
    if (e > m)
      m = e;
  }
  return m;
}

/* The click measure of the output around a splice, dB: over the 1 ms
 * windows of y starting from 2 ms before oa to 2 ms after ob, the largest
 * ratio of a window's high-frequency energy to that of the original at the
 * window's own source frames (src[q] for each output frame q, and for the
 * frames of a cross-fade [fa, fb) also their incoming side src[q] + inc),
 * 1 ms of slack either side. A cross-fade mixes what the sources have and
 * adds nothing; a discontinuity adds a broadband step the sources do not
 * have. */
static double click_db(const int16_t *y, int yn, const int *src, const int16_t *x, int xn, int ch,
                       int c, int oa, int ob, int fa, int fb, int inc)
{
  double worst = -INFINITY;
  for (int o = oa - RATE / 500; o < ob + RATE / 500; o += HF_WIN / 4) {
    if (o < 2 || o + HF_WIN > yn)
      continue;
    double ref = 0;
    for (int side = 0; side < 2; side++) {
      int s0 = -1, prev = -2;
      for (int q = o; q <= o + HF_WIN; q++) {
        int in = q < o + HF_WIN && (side == 0 || (q >= fa && q < fb));
        int sq = in ? src[q] + (side ? inc : 0) : -3;
        if (sq != prev + 1 || !in) {
          if (s0 >= 0) {
            double r = hf_ref(x, xn, ch, c, s0, prev);
            if (r > ref)
              ref = r;
          }
          s0 = in ? sq : -1;
        }
        prev = sq;
      }
    }
    double db = 10 * log10((hf_win(y, yn, ch, c, o) + HF_FLOOR) / (ref + HF_FLOOR));
    if (db > worst)
      worst = db;
  }
  return worst;
}

/* The worst click over the run's splices, channel c. */
static double worst_click(const int16_t *x, int xn, const struct run *r, int c)
{
  double worst = -INFINITY;
  for (int k = 0; k < r->nsp; k++) {
    const struct rec *s = &r->sp[k];
    double db = click_db(r->out, r->out_n, r->src_of, x, xn, r->ch, c, s->at, s->at + s->fade,
                         s->at, s->at + s->fade, -s->dir * s->lag);
    if (db > worst)
      worst = db;
  }
  return worst;
}

/* Hard cuts: y[0..n) made of x from frame i0, jumping by jump[k] frames
 * (forward or back) after at[k] output frames; src gets each frame's source. */
static int cut(const int16_t *x, int ch, int i0, int n, const int *at, const int *jump, int cuts,
               int16_t *y, int *src)
{
  int i = i0, k = 0;
  for (int o = 0; o < n; o++, i++) {
    if (k < cuts && o == at[k])
      i += jump[k++];
    memcpy(y + (size_t)o * ch, x + (size_t)i * ch, (size_t)ch * sizeof *y);
    src[o] = i;
  }
  return n;
}

/* The run's splices as hard cuts (no fade): x up to each splice's source,
 * then on from its far side. Returns the worst click and how many cuts
 * went above CLICK_DB. */
static double naive_click(const int16_t *x, int xn, const struct run *r, int c, int *over)
{
  int n = r->out_n - r->m0;
  int16_t *y = malloc((size_t)n * r->ch * sizeof *y);
  int *src = malloc((size_t)n * sizeof *src);
  int *at = malloc((size_t)(r->nsp + 1) * sizeof *at), *jump = malloc((size_t)(r->nsp + 1) * sizeof *jump);
  assert_non_null(y);
  assert_non_null(src);
  assert_non_null(at);
  assert_non_null(jump);
  int i0 = r->src_of[r->m0], shift = 0;
  for (int k = 0; k < r->nsp; k++) {
    jump[k] = r->sp[k].dir < 0 ? r->sp[k].lag : -r->sp[k].lag;
    at[k] = r->src_of[r->sp[k].at] - i0 - shift;
    shift += jump[k];
  }
  /* The last cuts may fall past the end when lengthening: keep the output
   * inside what x holds. */
  while (n > 0 && i0 + n + shift > xn)
    n--;
  cut(x, r->ch, i0, n, at, jump, r->nsp, y, src);
  double worst = -INFINITY;
  *over = 0;
  for (int k = 0; k < r->nsp; k++) {
    if (at[k] < 0 || at[k] >= n)
      continue;
    double db = click_db(y, n, src, x, xn, r->ch, c, at[k], at[k], 0, 0, 0);
    if (db > worst)
      worst = db;
    if (db > CLICK_DB)
      (*over)++;
  }
  free(y);
  free(src);
  free(at);
  free(jump);
  return worst;
}

/* ---- the quality cases ---- */

struct figures {
  int change;
  double f0, click, naive;
  int voiced_windows, naive_over, splices, quiet;
};

static struct figures quality(const int16_t *x, int xn, int start, int ch, double rate)
{
  struct run r;
  struct figures f = {0};
  run(x, start, SECOND, ch, BLOCK, rate, &r);
  f.change = r.change;
  f.splices = r.nsp;
  f.quiet = r.quiet;
  f.f0 = f0_diff(x, xn, &r, 0, &f.voiced_windows);
  f.click = worst_click(x, xn, &r, 0);
  f.naive = naive_click(x, xn, &r, 0, &f.naive_over);
  print_message("  %s at %.1f s: change %+d of %+d frames (rate %.4f), %d splices (%d quiet), "
                "F0 median diff %.3f %% over %d windows, worst click %+.1f dB (hard cuts: worst "
                "%+.1f dB, %d of %d over %.0f dB)\n",
                rate < 0 ? "shorten" : "lengthen", (double)start / RATE, f.change,
                rate < 0 ? -ASKED : ASKED, 1.0 - (double)f.change / SECOND, f.splices, f.quiet,
                f.f0 * 100, f.voiced_windows, f.click, f.naive, f.naive_over, f.splices, CLICK_DB);
  run_free(&r);
  return f;
}

static void check_quality(const struct figures *f, double rate)
{
  assert_true(abs(f->change - (int)lrint(rate * SECOND)) <= RATE_TOL);
  assert_true(f->voiced_windows >= 10);
  assert_true(f->f0 < F0_TOL);
  assert_true(f->click <= CLICK_DB);
}

static const int speech_starts[] = {RATE * 1, RATE * 6, RATE * 11, RATE * 16};

static void speech_case(double rate)
{
  int naive_over = 0;
  double naive_worst = -INFINITY;
  if (speech == NULL)
    skip();
  for (size_t k = 0; k < sizeof speech_starts / sizeof *speech_starts; k++) {
    struct figures f = quality(speech, speech_n, speech_starts[k], 1, rate);
    check_quality(&f, rate);
    naive_over += f.naive_over;
    if (f.naive > naive_worst)
      naive_worst = f.naive;
  }
  /* Hard cuts at these well-matched points are mostly inaudible in speech,
   * but not all: the same measure catches some (the unaligned cuts of
   * test_tsm_click_measure__naive_cuts__fail are the stronger proof). */
  assert_true(naive_over >= 1);
  assert_true(naive_worst > CLICK_DB);
}

static void test_tsm_speech__shorten_10pct__rate_pitch_no_click(void **state)
{
  (void)state;
  speech_case(-0.1);
}

static void test_tsm_speech__lengthen_10pct__rate_pitch_no_click(void **state)
{
  (void)state;
  speech_case(0.1);
}

#define MUSIC_N (RATE * 4)

static void test_tsm_music__shorten_and_lengthen_10pct__rate_pitch_no_click(void **state)
{
  (void)state;
  int16_t *m = malloc(MUSIC_N * sizeof *m);
  assert_non_null(m);
  synth_music(m, MUSIC_N, 1, 0);
  for (int start = RATE / 2; start + SECOND + RATE / 10 < MUSIC_N; start += RATE + RATE / 4) {
    for (double rate = -0.1; rate < 0.2; rate += 0.2) {
      struct figures f = quality(m, MUSIC_N, start, 1, rate);
      check_quality(&f, rate);
      /* In music the same splices as hard cuts click, most of them. */
      assert_true(f.naive > CLICK_DB);
      assert_true(2 * f.naive_over > f.splices);
    }
  }
  free(m);
}

/* Dense chords with no leading voice, whose common period is longer than
 * 20 ms (F and G spelled as here: 44 and 49 Hz), correlate at neither 0.9
 * nor the 0.7 floor: the module declines much of the time and the rate is
 * not reached (the caller's resampler slews the rest). What it does splice
 * must still be click-free; the rate is printed, not asserted. */
static void test_tsm_music_dense_chords__what_is_spliced__no_click(void **state)
{
  (void)state;
  int16_t *m = malloc(MUSIC_N * sizeof *m);
  assert_non_null(m);
  synth_music(m, MUSIC_N, 1, 1);
  int splices = 0;
  for (int start = RATE / 2; start + SECOND + RATE / 10 < MUSIC_N; start += RATE + RATE / 4) {
    for (double rate = -0.1; rate < 0.2; rate += 0.2) {
      struct run r;
      run(m, start, SECOND, 1, BLOCK, rate, &r);
      double worst = worst_click(m, MUSIC_N, &r, 0);
      print_message("  dense chords, %s at %.2f s: change %+d of %+d, %d splices, worst click "
                    "%+.1f dB\n", rate < 0 ? "shorten" : "lengthen", (double)start / RATE,
                    r.change, rate < 0 ? -ASKED : ASKED, r.nsp, worst);
      if (r.nsp > 0)
        assert_true(worst <= CLICK_DB);
      splices += r.nsp;
      run_free(&r);
    }
  }
  assert_true(splices > 0);
  free(m);
}

/* The pitch measure has teeth: a speed change by resampling (linear
 * interpolation at 1.1) moves F0 by 10 %, and the same median says so. */
static void test_tsm_pitch_measure__naive_resample__fails(void **state)
{
  (void)state;
  if (speech == NULL)
    skip();
  int start = speech_starts[0], n = SECOND;
  int16_t *y = malloc((size_t)n * sizeof *y);
  assert_non_null(y);
  for (int i = 0; i < n; i++) {
    double p = start + i * 1.1;
    int k = (int)p;
    y[i] = (int16_t)lrint(speech[k] + (p - k) * (speech[k + 1] - speech[k]));
  }
  double d[64];
  int m = 0;
  for (int o = RATE / 50; o + RATE / 50 < n && m < 64; o += RATE / 50) {
    double fo = f0_at(y, n, 1, 0, o), fi = f0_at(speech, speech_n, 1, 0, start + (int)(o * 1.1));
    if (fo > 0 && fi > 0)
      d[m++] = fabs(fo / fi - 1);
  }
  assert_true(m >= 10);
  qsort(d, (size_t)m, sizeof *d, cmp_double);
  print_message("  resampled at 1.1: F0 median diff %.2f %% over %d windows\n", d[m / 2] * 100, m);
  assert_true(d[m / 2] > 0.08);
  free(y);
}

/* The click measure has teeth. Two splicers without alignment search and
 * without cross-fade, each cutting at the start of 20 ms frames where the
 * original is voiced (F0 measured there):
 *   period  every fourth frame, one pitch period (48000 / F0 rounded);
 *   fixed   every frame, 2 ms (a 10 % rate by dropping samples).
 * The fixed cuts click and the measure says so for most of them. Whole
 * periods cut hard are another matter: on a steady periodic signal such a
 * cut has almost no discontinuity and is not heard, so the measure must
 * (and does) pass most of them; it catches those where the waveform has
 * moved on (figures printed; the hard cuts at the module's own splices are
 * counted in the quality cases). */
static double naive_cuts(const int16_t *x, int xn, int start, int fixed, int *cuts, int *over)
{
  int at[64], jump[64], n = 0, shift = 0;
  for (int k = 0; (k + 2) * BLOCK + shift < SECOND && n < 64; k++) {
    int i = start + k * BLOCK + shift;
    double f0 = f0_at(x, xn, 1, 0, i + BLOCK / 2);
    if ((fixed || k % 4 == 0) && f0 > 0) {
      at[n] = k * BLOCK;
      jump[n] = fixed ? RATE / 500 : (int)lrint(RATE / f0);
      shift += jump[n++];
    }
  }
  int16_t *y = malloc((size_t)SECOND * sizeof *y);
  int *src = malloc((size_t)SECOND * sizeof *src);
  assert_non_null(y);
  assert_non_null(src);
  int len = SECOND - shift - BLOCK;
  cut(x, 1, start, len, at, jump, n, y, src);
  double worst = -INFINITY;
  *over = 0;
  for (int j = 0; j < n; j++) {
    double db = click_db(y, len, src, x, xn, 1, 0, at[j], at[j], 0, 0, 0);
    if (db > worst)
      worst = db;
    if (db > CLICK_DB)
      (*over)++;
  }
  *cuts = n;
  free(y);
  free(src);
  return worst;
}

static void test_tsm_click_measure__naive_cuts__fail(void **state)
{
  (void)state;
  int16_t *m = malloc(MUSIC_N * sizeof *m);
  assert_non_null(m);
  synth_music(m, MUSIC_N, 1, 0);
  for (int fixed = 0; fixed < 2; fixed++) {
    int cuts, over;
    double worst = naive_cuts(m, MUSIC_N, RATE / 2, fixed, &cuts, &over);
    print_message("  music, %s cuts: %d, %d over %.0f dB, worst %+.1f dB\n",
                  fixed ? "fixed 2 ms" : "period", cuts, over, CLICK_DB, worst);
    assert_true(cuts >= 5);
    if (fixed)
      assert_true(2 * over > cuts);
  }
  free(m);
  if (speech == NULL)
    skip();
  for (int fixed = 0; fixed < 2; fixed++) {
    int all = 0, all_over = 0;
    double worst = -INFINITY;
    for (size_t k = 0; k < sizeof speech_starts / sizeof *speech_starts; k++) {
      int cuts, over;
      double w = naive_cuts(speech, speech_n, speech_starts[k], fixed, &cuts, &over);
      all += cuts;
      all_over += over;
      if (w > worst)
        worst = w;
    }
    print_message("  speech, %s cuts: %d, %d over %.0f dB, worst %+.1f dB\n",
                  fixed ? "fixed 2 ms" : "period", all, all_over, CLICK_DB, worst);
    assert_true(all >= 10);
    if (fixed)
      assert_true(2 * all_over > all);
  }
}

/* ---- edge cases ---- */

static struct tsm *make(int ch, int max_block)
{
  struct tsm *t;
  struct tsm_config cfg = {.channels = ch, .max_block = max_block};
  assert_int_equal(tsm_create(&t, &cfg), 0);
  return t;
}

/* Silence is a pause: any amount is taken or given, exactly, and stays
 * silence. */
static void test_tsm_process__silence__exact_amounts(void **state)
{
  (void)state;
  struct tsm *t = make(1, 0);
  int16_t buf[3 * BLOCK];
  struct tsm_result res;
  memset(buf, 0, sizeof buf);
  assert_int_equal(tsm_process(t, buf, BLOCK, BLOCK, 0, &res), BLOCK);
  assert_int_equal(tsm_process(t, buf, BLOCK, BLOCK, -300, &res), BLOCK - 300);
  assert_int_equal(res.n, 1);
  assert_int_equal(res.s[0].kind, TSM_QUIET);
  memset(buf, 0, sizeof buf);
  assert_int_equal(tsm_process(t, buf, BLOCK, 3 * BLOCK, 300, &res), BLOCK + 300);
  assert_int_equal(res.change, 300);
  /* More than the block: at most all of it but the fade. */
  memset(buf, 0, sizeof buf);
  int got = tsm_process(t, buf, BLOCK, BLOCK, -100000, &res);
  assert_true(got >= 1 && got < BLOCK);
  assert_int_equal(got, BLOCK - res.s[0].lag);
  for (int i = 0; i < 3 * BLOCK; i++)
    assert_int_equal(buf[i], 0);
  tsm_destroy(t);
}

/* A pure tone loses and gains whole periods of 440 Hz only, and keeps its
 * pitch, its rate and its smoothness. */
static void test_tsm_process__pure_tone__whole_periods(void **state)
{
  (void)state;
  int n = 3 * RATE;
  int16_t *x = malloc((size_t)n * sizeof *x);
  assert_non_null(x);
  for (int i = 0; i < n; i++)
    x[i] = (int16_t)lrint(12000 * sin(2 * M_PI * 440.0 * i / RATE));
  for (double rate = -0.1; rate < 0.2; rate += 0.2) {
    struct run r;
    run(x, RATE, SECOND, 1, BLOCK, rate, &r);
    assert_true(abs(r.change - (int)lrint(rate * SECOND)) <= RATE_TOL);
    for (int k = 0; k < r.nsp; k++) {
      double periods = r.sp[k].lag * 440.0 / RATE;
      assert_true(fabs(periods - lrint(periods)) < 0.02);
    }
    int voiced;
    assert_true(f0_diff(x, n, &r, 0, &voiced) < 0.001);
    assert_true(voiced >= 40);
    assert_true(worst_click(x, n, &r, 0) <= CLICK_DB);
    print_message("  tone, %s: change %+d, %d splices\n", rate < 0 ? "shorten" : "lengthen",
                  r.change, r.nsp);
    run_free(&r);
  }
  free(x);
}

/* White noise at full level is neither periodic nor quiet: every request
 * is declined and the audio passes untouched. */
static void test_tsm_process__white_noise__declines(void **state)
{
  (void)state;
  struct tsm *t = make(1, 0);
  int16_t x[BLOCK], buf[2 * BLOCK];
  srand(seed);
  for (int k = 0; k < 100; k++) {
    for (int i = 0; i < BLOCK; i++)
      x[i] = (int16_t)((rand() % 20001) - 10000);
    memcpy(buf, x, sizeof x);
    struct tsm_result res;
    int want = k < 10 ? 0 : k % 2 ? -480 : 480;
    assert_int_equal(tsm_process(t, buf, BLOCK, 2 * BLOCK, want, &res), BLOCK);
    assert_int_equal(res.n, 0);
    assert_memory_equal(buf, x, sizeof x);
  }
  tsm_destroy(t);
}

/* Blocks from 1 frame to a little over a fade: nothing written past cap
 * (canaries), counts consistent, speech in and out. */
static void test_tsm_process__short_blocks__bounded(void **state)
{
  (void)state;
  if (speech == NULL)
    skip();
  static const int sizes[] = {1, 7, 100, 119, 121, 240, 250};
  for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
    struct tsm *t = make(1, 0);
    int n = sizes[z], pos = RATE;
    for (int k = 0; k < 400; k++, pos += n) {
      int16_t buf[2 * 250 + 8];
      int want = k % 3 == 0 ? 0 : k % 3 == 1 ? -INT_MAX : INT_MAX;
      int cap = want > 0 ? 2 * n : n;
      for (int i = 0; i < 8; i++)
        buf[cap + i] = 0x5a5a;
      memcpy(buf, speech + pos, (size_t)n * sizeof *buf);
      struct tsm_result res;
      int got = tsm_process(t, buf, n, cap, want, &res);
      assert_true(got >= 1 && got <= cap);
      assert_int_equal(got, n + res.change);
      for (int i = 0; i < 8; i++)
        assert_int_equal(buf[cap + i], 0x5a5a);
    }
    tsm_destroy(t);
  }
}

/* Stereo with different channels (speech left, music right): one lag for
 * both (run() checks every frame of both channels against the same
 * source frame), no click in either channel. */
static void test_tsm_process__stereo_different_channels__one_lag(void **state)
{
  (void)state;
  if (speech == NULL)
    skip();
  int n = 3 * RATE;
  int16_t *m = malloc((size_t)n * sizeof *m), *x = malloc((size_t)n * 2 * sizeof *x);
  assert_non_null(m);
  assert_non_null(x);
  synth_music(m, n, 1, 0);
  for (int i = 0; i < n; i++) {
    x[2 * i] = speech[RATE + i];
    x[2 * i + 1] = m[i];
  }
  for (double rate = -0.1; rate < 0.2; rate += 0.2) {
    struct run r;
    run(x, RATE, SECOND, 2, BLOCK, rate, &r);
    double l = worst_click(x, n, &r, 0), rr = worst_click(x, n, &r, 1);
    print_message("  stereo, %s: change %+d, %d splices, worst click L %+.1f R %+.1f dB\n",
                  rate < 0 ? "shorten" : "lengthen", r.change, r.nsp, l, rr);
    assert_true(r.nsp > 0);
    assert_true(l <= CLICK_DB);
    assert_true(rr <= CLICK_DB);
    run_free(&r);
  }
  free(m);
  free(x);
}

/* The largest block and the largest requests: bounded by the block, the
 * cap and TSM_MAX_SPLICES; nothing past cap. */
static void test_tsm_process__max_request__bounded(void **state)
{
  (void)state;
  int n = DL_MAX_PACKET_SAMPLES, ch = 2;
  struct tsm *t = make(ch, 0);
  int16_t *buf = malloc((size_t)(2 * n + 8) * ch * sizeof *buf);
  assert_non_null(buf);
  for (int k = 0; k < 12; k++) {
    int want = k < 2 ? 0 : k % 2 ? INT_MIN : INT_MAX;
    int cap = want > 0 ? 2 * n : n;
    for (int i = 0; i < n; i++) {
      double v = 9000 * sin(2 * M_PI * 150.0 * (k * n + i) / RATE);
      buf[i * ch] = (int16_t)lrint(v);
      buf[i * ch + 1] = (int16_t)lrint(-v / 2);
    }
    for (int i = 0; i < 8 * ch; i++)
      buf[(size_t)cap * ch + i] = 0x5a5a;
    struct tsm_result res;
    int got = tsm_process(t, buf, n, cap, want, &res);
    assert_true(got >= 1 && got <= cap);
    assert_true(res.n <= TSM_MAX_SPLICES);
    assert_int_equal(got, n + res.change);
    if (want != 0)
      assert_true(res.n >= 1);   /* a steady 150 Hz tone: a period per chunk */
    for (int i = 0; i < 8 * ch; i++)
      assert_int_equal(buf[(size_t)cap * ch + i], 0x5a5a);
  }
  /* No room to lengthen: no change. */
  for (int i = 0; i < n * ch; i++)
    buf[i] = (int16_t)lrint(9000 * sin(2 * M_PI * 150.0 * i / RATE));
  struct tsm_result res;
  assert_int_equal(tsm_process(t, buf, n, n, 1000, &res), n);
  assert_int_equal(res.n, 0);
  free(buf);
  tsm_destroy(t);
}

static void test_tsm_create_process__bad_arguments__einval(void **state)
{
  (void)state;
  struct tsm *t = NULL;
  struct tsm_config bad[] = {
    {.channels = 0}, {.channels = 3}, {.channels = 1, .max_block = -1},
    {.channels = 1, .max_block = DL_MAX_PACKET_SAMPLES + 1}, {.channels = 1, .min_corr = 1.5},
    {.channels = 1, .min_corr = -0.1},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    assert_int_equal(tsm_create(&t, &bad[k]), -EINVAL);
    assert_null(t);
  }
  assert_int_equal(tsm_create(NULL, &bad[0]), -EINVAL);
  tsm_destroy(NULL);
  t = make(1, BLOCK);
  int16_t buf[2 * BLOCK] = {0};
  assert_int_equal(tsm_process(t, buf, BLOCK + 1, 2 * BLOCK, 0, NULL), -EINVAL);
  assert_int_equal(tsm_process(t, buf, BLOCK, BLOCK - 1, 0, NULL), -EINVAL);
  assert_int_equal(tsm_process(t, buf, -1, BLOCK, 0, NULL), -EINVAL);
  assert_int_equal(tsm_process(t, NULL, BLOCK, BLOCK, 0, NULL), -EINVAL);
  assert_int_equal(tsm_process(NULL, buf, BLOCK, BLOCK, 0, NULL), -EINVAL);
  assert_int_equal(tsm_process(t, NULL, 0, 0, -5, NULL), 0);
  tsm_destroy(t);
}

/* The same input gives the same output (two instances, res or not). */
static void test_tsm_process__same_input__same_output(void **state)
{
  (void)state;
  if (speech == NULL)
    skip();
  struct tsm *a = make(1, 0), *b = make(1, 0);
  int16_t ba[2 * BLOCK], bb[2 * BLOCK];
  int changed = 0;
  for (int k = 0; k < 200; k++) {
    int want = k % 2 ? -400 : 400;
    memcpy(ba, speech + RATE + k * BLOCK, BLOCK * sizeof *ba);
    memcpy(bb, ba, BLOCK * sizeof *bb);
    struct tsm_result res;
    int na = tsm_process(a, ba, BLOCK, 2 * BLOCK, want, &res);
    int nb = tsm_process(b, bb, BLOCK, 2 * BLOCK, want, NULL);
    assert_int_equal(na, nb);
    assert_memory_equal(ba, bb, (size_t)na * sizeof *ba);
    changed += res.n;
  }
  assert_true(changed > 10);
  tsm_destroy(a);
  tsm_destroy(b);
}

/* After tsm_reset nothing from before is replayed: a lengthening's far
 * side lies inside the new block. */
static void test_tsm_reset__history_forgotten(void **state)
{
  (void)state;
  struct tsm *t = make(1, 0);
  int16_t buf[4 * BLOCK];
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 2 * BLOCK; i++)
      buf[i] = (int16_t)lrint(9000 * sin(2 * M_PI * 200.0 * (k * 2 * BLOCK + i) / RATE));
    assert_int_equal(tsm_process(t, buf, 2 * BLOCK, 4 * BLOCK, 0, NULL), 2 * BLOCK);
  }
  tsm_reset(t);
  for (int i = 0; i < 2 * BLOCK; i++)
    buf[i] = (int16_t)lrint(9000 * sin(2 * M_PI * 200.0 * i / RATE));
  struct tsm_result res;
  tsm_process(t, buf, 2 * BLOCK, 4 * BLOCK, 2000, &res);
  assert_true(res.n >= 1);
  for (int k = 0; k < res.n; k++)
    assert_true(res.s[k].src - res.s[k].lag >= 0);
  tsm_destroy(t);
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  seed = s != NULL ? (unsigned)strtoul(s, NULL, 0) : 15u;
  printf("test_tsm: seed %u (DL_SEED to change)\n", seed);
  if (load_speech() < 0)
    printf("test_tsm: tests/data/speech.flac not readable: the speech cases skip\n");
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tsm_speech__shorten_10pct__rate_pitch_no_click),
    cmocka_unit_test(test_tsm_speech__lengthen_10pct__rate_pitch_no_click),
    cmocka_unit_test(test_tsm_music__shorten_and_lengthen_10pct__rate_pitch_no_click),
    cmocka_unit_test(test_tsm_music_dense_chords__what_is_spliced__no_click),
    cmocka_unit_test(test_tsm_pitch_measure__naive_resample__fails),
    cmocka_unit_test(test_tsm_click_measure__naive_cuts__fail),
    cmocka_unit_test(test_tsm_process__silence__exact_amounts),
    cmocka_unit_test(test_tsm_process__pure_tone__whole_periods),
    cmocka_unit_test(test_tsm_process__white_noise__declines),
    cmocka_unit_test(test_tsm_process__short_blocks__bounded),
    cmocka_unit_test(test_tsm_process__stereo_different_channels__one_lag),
    cmocka_unit_test(test_tsm_process__max_request__bounded),
    cmocka_unit_test(test_tsm_create_process__bad_arguments__einval),
    cmocka_unit_test(test_tsm_process__same_input__same_output),
    cmocka_unit_test(test_tsm_reset__history_forgotten),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(speech);
  return rc;
}
