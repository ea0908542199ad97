/* resampler: cost and fidelity of the receiver's drift resampler's options.
 *
 * The receiver's drift resampler runs at a ratio within 0.5 % of 1, set as a
 * fraction num / 65536 (rxpipe.c RS_DEN), which puts speexdsp in its
 * interpolating mode (the direct mode needs a filter table per phase, that
 * is 65536 of them). Its artefacts only need to stay far below Opus's own
 * coding noise. This study stretches the decoded speech at 1 + and - 100 ppm
 * with each quality 0..4, in 5 ms output blocks as the receiver pulls them,
 * and measures CPU time per second of audio and the SNR against a quality
 * 10 resample at the same ratio (both with speex_resampler_skip_zeros, so
 * aligned sample for sample): over the speech band (0..SPEECH_HZ, both
 * signals low-passed alike) and the full band. Beside it: Opus's own coding
 * noise (the decoded speech against the encoder's input, aligned by the
 * encoder's look-ahead) in the same bands, the cost at ratio exactly 1
 * (speexdsp reduces 65536/65536 to 1/1: its direct mode), and how often the
 * receiver's controller actually sits at ratio exactly 1.
 *
 * The speech and its packets are bench/cost's workload (bench/workload.h):
 * the same file, encoder settings and flags. CPU time is the thread's, as
 * there. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <speex/speex_resampler.h>

#include "defaults.h"
#include "rx/rxpipe.h"
#include "shell/clock.h"
#include "spread.h"
#include "util/json.h"
#include "wire/rtp.h"
#include "workload.h"

#define PROG "resampler"

#define STUDY_DEN 65536         /* as rxpipe.c RS_DEN */
#define STUDY_QMAX 4            /* qualities 0..STUDY_QMAX are candidates */
#define STUDY_REF_Q 10
#define SPEECH_HZ 8000.0        /* Opus wideband: the band speech lives in */
#define OPUS_BAND_HZ 20000.0    /* Opus fullband: nothing above is ever coded */
#define LP_TAPS 255             /* speech-band low-pass, odd: linear phase, (LP_TAPS-1)/2 delay */

/* Resamples in (n frames, mono) at num / STUDY_DEN into out (n frames
 * made; the tail beyond what the input yields stays zero), in blocks of
 * `block` output frames. Returns thread CPU seconds, or -1. */
static double stretch(const int16_t *in, int n, int16_t *out, uint32_t num, int quality, int block)
{
  int err;
  SpeexResamplerState *rs = speex_resampler_init_frac(1, num, STUDY_DEN, DL_RATE, DL_RATE, quality, &err);
  if (rs == NULL)
    return -1;
  speex_resampler_skip_zeros(rs);
  memset(out, 0, (size_t)n * sizeof *out);
  int ip = 0, op = 0;
  int64_t c0 = clock_thread_cpu_ns();
  while (op < n && ip < n) {
    spx_uint32_t il = (spx_uint32_t)(n - ip), ol = (spx_uint32_t)(n - op < block ? n - op : block);
    speex_resampler_process_int(rs, 0, in + ip, &il, out + op, &ol);
    if (il == 0 && ol == 0)
      break;
    ip += (int)il;
    op += (int)ol;
  }
  double c = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  speex_resampler_destroy(rs);
  return c;
}

/* y = x low-passed at fc_hz (Blackman-windowed sinc), its delay removed. */
static void lowpass(const float *x, float *y, int n, double fc_hz)
{
  double h[LP_TAPS], fc = fc_hz / DL_RATE, sum = 0;
  int m = (LP_TAPS - 1) / 2;
  for (int i = 0; i < LP_TAPS; i++) {
    int k = i - m;
    double s = k == 0 ? 2 * fc : sin(2 * M_PI * fc * k) / (M_PI * k);
    double wdw = 0.42 - 0.5 * cos(2 * M_PI * i / (LP_TAPS - 1)) + 0.08 * cos(4 * M_PI * i / (LP_TAPS - 1));
    h[i] = s * wdw;
    sum += h[i];
  }
  for (int i = 0; i < LP_TAPS; i++)
    h[i] /= sum;
  for (int i = 0; i < n; i++) {
    double acc = 0;
    int lo = i - m < 0 ? m - i : 0, hi = i + m >= n ? n - 1 - i + m : LP_TAPS - 1;
    for (int k = lo; k <= hi; k++)
      acc += h[k] * x[i + k - m];
    y[i] = (float)acc;
  }
}

struct snr {
  double full_db;            /* unfiltered, 0..24 kHz */
  double opus_db;            /* 0..OPUS_BAND_HZ, where Opus codes anything */
  double speech_db;          /* 0..SPEECH_HZ */
};

static double band_snr(const float *r, const float *e, float *rl, float *el, int n, int from, int to,
                       double fc_hz)
{
  double sr = 0, se = 0;
  if (fc_hz > 0) {
    lowpass(r, rl, n, fc_hz);
    lowpass(e, el, n, fc_hz);
    r = rl;
    e = el;
  }
  for (int i = from; i < to; i++) {
    sr += (double)r[i] * r[i];
    se += (double)e[i] * e[i];
  }
  return se > 0 ? 10 * log10(sr / se) : INFINITY;
}

/* SNR of test against ref over [from, to) in three bands. tmp: 4 * n floats. */
static struct snr snr_of(const int16_t *ref, const int16_t *test, int n, int from, int to, float *tmp)
{
  float *r = tmp, *e = tmp + n, *rl = tmp + 2 * (size_t)n, *el = tmp + 3 * (size_t)n;
  for (int i = 0; i < n; i++) {
    r[i] = ref[i];
    e[i] = (float)test[i] - (float)ref[i];
  }
  struct snr s = {
    .full_db = band_snr(r, e, rl, el, n, from, to, 0),
    .opus_db = band_snr(r, e, rl, el, n, from, to, OPUS_BAND_HZ),
    .speech_db = band_snr(r, e, rl, el, n, from, to, SPEECH_HZ),
  };
  return s;
}

struct ratio1_count {
  uint64_t packets, at_one;
};

static void ratio1_cb(void *arg, const struct rxpipe_frame_info *fi)
{
  struct ratio1_count *c = arg;
  if (fi->kind != PLAYOUT_PACKET)
    return;
  c->packets++;
  c->at_one += fi->ratio == 1.0;
}

/* The receiver's pipeline with its defaults, the sender's clock off by ppm:
 * the share of packets played while the controller's ratio is exactly 1. */
static int ratio1_share(const struct workload *w, double ppm, double *share)
{
  struct rxpipe_config c = workload_rx_config(1);
  struct rxpipe *rp = NULL;
  struct ratio1_count cnt = {0, 0};
  static int16_t pcm[DL_MAX_PACKET_SAMPLES];
  int fs = w->o->frame_samples;
  double frame_ns = (double)fs * 1e9 / DL_RATE * (1 - ppm * 1e-6);
  int64_t block_ns = (int64_t)DL_ALSA_PERIOD_US * 1000;
  int block = DL_RATE / 1000 * DL_ALSA_PERIOD_US / 1000;
  int64_t t = 0;
  int rc = rxpipe_create(&rp, &c);
  if (rc < 0)
    return rc;
  rxpipe_set_frame_cb(rp, ratio1_cb, &cnt);
  for (int k = 0; k < w->frames; k++) {
    int64_t arrival = (int64_t)(k * frame_ns) + WORKLOAD_TRANSIT_NS;
    struct rtp_packet pkt;
    if (rtp_packet_parse(w->dgram[k], (size_t)w->dlen[k], arrival, &pkt) == RTP_OK)
      rxpipe_put(rp, &pkt);
    for (; t < arrival + (int64_t)frame_ns; t += block_ns)
      rxpipe_read(rp, t, pcm, block);
  }
  rxpipe_destroy(rp);
  *share = cnt.packets ? (double)cnt.at_one / (double)cnt.packets : NAN;
  return 0;
}

/* The signals and buffers of the study, made once. */
struct study {
  struct workload *w;
  int n;                     /* samples of speech */
  int nn;                    /* samples of noise */
  int tn;                    /* samples of a tone */
  int block;                 /* output frames per pull, as the receiver's sink */
  int edge;                  /* samples at either end left out of the SNR */
  int16_t *dec;              /* the packets decoded: what the resampler sees */
  int16_t *ref, *nref;       /* speech, noise at quality STUDY_REF_Q */
  int16_t *noise, *tone, *out;
  float *tmp;                /* snr_of's, 4 * n */
  double *cpu;               /* one figure per run */
};

static void study_free(struct study *st)
{
  free(st->dec);
  free(st->ref);
  free(st->out);
  free(st->noise);
  free(st->nref);
  free(st->tone);
  free(st->tmp);
  free(st->cpu);
}

/* Allocates the buffers, makes the noise and decodes the packets. Returns
 * 0 or a negative errno; study_free either way. */
static int study_init(struct study *st, struct workload *w)
{
  int n = w->frames * w->o->frame_samples;
  double decode_s;
  int rc;

  memset(st, 0, sizeof *st);
  st->w = w;
  st->n = n;
  st->block = DL_RATE / 1000 * DL_ALSA_PERIOD_US / 1000;
  st->edge = DL_RATE / 10;   /* 100 ms */
  /* White noise, for a signal with content up to 24 kHz (decoded speech
   * has little above Opus's coded band). Seeded: the numbers repeat. */
  st->nn = n < 10 * DL_RATE ? n : 10 * DL_RATE;
  st->tn = DL_RATE / 2;   /* tones: half a second each */
  st->dec = calloc((size_t)n, sizeof *st->dec);
  st->ref = calloc((size_t)n, sizeof *st->ref);
  st->out = calloc((size_t)(n > DL_RATE ? n : DL_RATE), sizeof *st->out);   /* also a tone's */
  st->noise = calloc((size_t)st->nn, sizeof *st->noise);
  st->nref = calloc((size_t)st->nn, sizeof *st->nref);
  st->tone = calloc((size_t)st->tn, sizeof *st->tone);
  st->tmp = calloc((size_t)n * 4, sizeof *st->tmp);
  st->cpu = calloc((size_t)w->o->runs, sizeof *st->cpu);
  if (!st->dec || !st->ref || !st->out || !st->noise || !st->nref || !st->tone || !st->tmp || !st->cpu ||
      n <= 2 * st->edge + LP_TAPS)
    return -ENOMEM;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < st->nn; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    st->noise[i] = (int16_t)((int)(x >> 40 & 0x3fff) - 0x2000);   /* uniform, +-8192 */
  }
  if ((rc = workload_decode(w, st->dec, &decode_s)) != w->frames)
    return rc < 0 ? rc : -EIO;
  return 0;
}

/* Opus's coding noise: decoded sample i + lag is input sample i, the lag
 * near the encoder's look-ahead (the decoder's phase is a few samples off
 * it): the one with the least error, which is fairest to Opus. */
static int put_opus_noise(struct study *st, struct json *j)
{
  OpusEncoder *e = workload_encoder(st->w->o);
  const int16_t *pcm = st->w->pcm;
  int n = st->n, edge = st->edge;
  opus_int32 la = 0;

  if (e == NULL)
    return -ENOMEM;
  opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&la));
  opus_encoder_destroy(e);
  int best = (int)la;
  double best_e = INFINITY;
  for (int l = (int)la - 16; l <= (int)la + 16; l++) {
    double se = 0;
    for (int i = edge; i < n - l - edge; i++) {
      double df = (double)st->dec[i + l] - pcm[i];
      se += df * df;
    }
    if (se < best_e) {
      best_e = se;
      best = l;
    }
  }
  int m = n - best;
  struct snr s = snr_of(pcm, st->dec + best, m, edge, m - edge, st->tmp);
  json_obj_begin(j, "opus_noise");
  json_u64(j, "lag", (uint64_t)best);
  json_num(j, "full_db", s.full_db, 2);
  json_num(j, "opus_band_db", s.opus_db, 2);
  json_num(j, "speech_db", s.speech_db, 2);
  json_obj_end(j);
  return 0;
}

/* Gain (dB) of tones at ratio num / STUDY_DEN and quality q: the filter's
 * pass band edge. */
static int put_tone_gains(struct study *st, struct json *j, uint32_t num, int q)
{
  static const int tone_hz[4] = {12000, 16000, 18000, 20000};
  for (int t = 0; t < 4; t++) {
    double e_in = 0, e_out = 0;
    for (int i = 0; i < st->tn; i++)
      st->tone[i] = (int16_t)lrint(8000 * sin(2 * M_PI * tone_hz[t] * i / DL_RATE));
    if (stretch(st->tone, st->tn, st->out, num, q, st->block) < 0)
      return -ENOMEM;
    for (int i = st->edge; i < st->tn - st->edge; i++) {
      e_in += (double)st->tone[i] * st->tone[i];
      e_out += (double)st->out[i] * st->out[i];
    }
    char tk[32];
    snprintf(tk, sizeof tk, "gain_db_%dk", tone_hz[t] / 1000);
    json_num(j, tk, 10 * log10(e_out / e_in), 2);
  }
  return 0;
}

/* The row of quality q at 1 + ppm (num / STUDY_DEN), keyed "p100_q3";
 * st->ref and st->nref hold the reference resample at that ratio. */
static int put_row(struct study *st, struct json *j, double ppm, uint32_t num, int q)
{
  int n = st->n, nn = st->nn, edge = st->edge, block = st->block, runs = st->w->o->runs;
  double per_s = 1e3 * DL_RATE / n;   /* CPU s of the whole pass to ms per s of audio */

  for (int r = 0; r < runs; r++)
    if ((st->cpu[r] = stretch(st->dec, n, st->out, num, q, block)) < 0)
      return -ENOMEM;
  struct spread c = spread_of(st->cpu, runs);
  struct snr s = snr_of(st->ref, st->out, n, edge, n - edge - block, st->tmp);
  if (stretch(st->noise, nn, st->out, num, q, block) < 0)
    return -ENOMEM;
  struct snr sn = snr_of(st->nref, st->out, nn, edge, nn - edge - block, st->tmp);
  /* The same quality at ratio exactly 1 (direct mode), for its cost. */
  for (int r = 0; r < runs; r++)
    st->cpu[r] = stretch(st->dec, n, st->out, STUDY_DEN, q, block);
  struct spread c1 = spread_of(st->cpu, runs);
  char key[32];
  snprintf(key, sizeof key, "%c%.0f_q%d", ppm < 0 ? 'm' : 'p', fabs(ppm), q);
  json_obj_begin(j, key);
  json_num(j, "ppm", (double)((int64_t)num - STUDY_DEN) * 1e6 / STUDY_DEN, 1);
  json_u64(j, "quality", (uint64_t)q);
  spread_put(j, "ms_per_s", (struct spread){c.median * per_s, c.min * per_s, c.max * per_s}, 4);
  json_num(j, "ms_per_s_at_1", c1.median * per_s, 4);
  json_num(j, "snr_full_db", s.full_db, 2);
  json_num(j, "snr_speech_db", s.speech_db, 2);
  json_num(j, "snr_opus_band_db", s.opus_db, 2);
  int rc = put_tone_gains(st, j, num, q);
  if (rc < 0)
    return rc;
  json_num(j, "noise_snr_full_db", sn.full_db, 2);
  json_num(j, "noise_snr_opus_band_db", sn.opus_db, 2);
  json_num(j, "noise_snr_speech_db", sn.speech_db, 2);
  json_obj_end(j);
  if (!st->w->o->quiet)
    fprintf(stderr, PROG ": q%d at %+.0f ppm: %.3f ms/s (at 1: %.3f), SNR %.1f dB speech, %.1f dB full; noise %.1f / %.1f / %.1f dB\n",
            q, ppm, c.median * per_s, c1.median * per_s, s.speech_db, s.full_db, sn.speech_db, sn.opus_db,
            sn.full_db);
  return 0;
}

/* Qualities 0..STUDY_QMAX and the reference's own cost last, at 1 + and
 * - 100 ppm. */
static int put_rows(struct study *st, struct json *j)
{
  static const double ppms[2] = {100, -100};
  json_obj_begin(j, "rows");
  for (int pi = 0; pi < 2; pi++) {
    uint32_t num = (uint32_t)lround((1 + ppms[pi] * 1e-6) * STUDY_DEN);
    if (stretch(st->dec, st->n, st->ref, num, STUDY_REF_Q, st->block) < 0 ||
        stretch(st->noise, st->nn, st->nref, num, STUDY_REF_Q, st->block) < 0)
      return -ENOMEM;
    for (int q = 0; q <= STUDY_QMAX + 1; q++) {
      int rc = put_row(st, j, ppms[pi], num, q <= STUDY_QMAX ? q : STUDY_REF_Q);
      if (rc < 0)
        return rc;
    }
  }
  json_obj_end(j);
  return 0;
}

/* A bypass at ratio exactly 1: how often would it apply? */
static int put_ratio1_shares(struct study *st, struct json *j)
{
  static const double drifts[3] = {0, 20, 100};
  static const char *const keys[3] = {"drift_0ppm", "drift_20ppm", "drift_100ppm"};
  json_obj_begin(j, "ratio_exactly_1_share");
  for (int i = 0; i < 3; i++) {
    double sh;
    int rc = ratio1_share(st->w, drifts[i], &sh);
    if (rc < 0)
      return rc;
    json_num(j, keys[i], sh, 4);
  }
  json_obj_end(j);
  return 0;
}

/* The whole study as one JSON object on stdout. Returns 0 or a negative
 * errno. */
static int resampler_study(struct workload *w)
{
  static char buf[32768];
  struct study st;
  struct json j;
  double decode_s;
  int rc;

  if ((rc = study_init(&st, w)) < 0)
    goto fail;
  json_begin(&j, buf, sizeof buf);
  json_str(&j, "input", w->o->input);
  json_num(&j, "audio_s", (double)st.n / DL_RATE, 3);
  json_u64(&j, "runs", (uint64_t)w->o->runs);
  json_u64(&j, "block_frames", (uint64_t)st.block);
  json_num(&j, "speech_band_hz", SPEECH_HZ, 0);
  json_num(&j, "opus_band_hz", OPUS_BAND_HZ, 0);
  json_u64(&j, "ref_quality", STUDY_REF_Q);
  json_u64(&j, "ratio_den", STUDY_DEN);
  if ((rc = put_opus_noise(&st, &j)) < 0)
    goto fail;
  /* The decode itself, for scale: CPU ms per s of the raw decoder. */
  if ((rc = workload_decode(w, NULL, &decode_s)) < 0)
    goto fail;
  json_num(&j, "decode_ms_per_s", decode_s * 1e3 * DL_RATE / st.n, 4);
  if ((rc = put_rows(&st, &j)) < 0 || (rc = put_ratio1_shares(&st, &j)) < 0)
    goto fail;
  const char *text = json_end(&j);
  if (text == NULL) {
    rc = -EOVERFLOW;
    goto fail;
  }
  printf("%s\n", text);
  rc = 0;
fail:
  study_free(&st);
  return rc;
}

static void usage(FILE *f)
{
  fprintf(f,
"usage: resampler [options]\n"
"Measures the options of the receiver's drift resampler: speexdsp quality\n"
"0..4 (and 10) at 1 +- 100 ppm in 5 ms blocks, on the decoded packets of\n"
"bench/cost's workload: CPU ms per s of audio (also at ratio exactly 1),\n"
"SNR against a quality-10 resample at the same ratio (speech band 0..8 kHz,\n"
"Opus's band 0..20 kHz, full band; decoded speech and white noise), gain of\n"
"12..20 kHz tones, Opus's own coding noise, and the share of packets the\n"
"receiver's controller plays at ratio 1, as one JSON object on stdout.\n"
"\n");
  workload_usage(f);
  fprintf(f,
"  -q, --quiet        no progress lines on stderr\n"
"  -h, --help         this text\n"
"\n"
"Output keys: input, audio_s, runs, block_frames, speech_band_hz,\n"
"opus_band_hz, ref_quality, ratio_den; opus_noise (lag, full_db,\n"
"opus_band_db, speech_db); decode_ms_per_s (a bare decode, for scale); rows\n"
"keyed p100_q3 (ratio 1 + 100 ppm, quality 3: ppm, quality, ms_per_s as\n"
"median, min and max, ms_per_s_at_1, snr_*_db, gain_db_*k, noise_snr_*_db);\n"
"ratio_exactly_1_share (drift_0ppm, drift_20ppm, drift_100ppm).\n"
"Exit: 0, 1 on a run-time error, 2 on bad usage.\n");
}

int main(int argc, char **argv)
{
  struct workload_opts o;
  struct workload w;
  int took, rc;

  workload_defaults(&o);
  for (int i = 1; i < argc; i += took) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if ((took = workload_flag(PROG, &o, a, v)) < 0) {
      return 2;
    } else if (took == 0 && strncmp(a, "--", 2) != 0) {
      fprintf(stderr, PROG ": unexpected argument \"%s\" (see --help)\n", a);
      return 2;
    } else if (took == 0) {
      fprintf(stderr, PROG ": unknown option \"%s\" (see --help)\n", a);
      return 2;
    }
  }
  if (workload_prepare(&w, &o, PROG, 1) < 0) {
    workload_release(&w);
    return 1;
  }
  rc = resampler_study(&w);
  if (rc < 0)
    fprintf(stderr, PROG ": run: %s\n", strerror(-rc));
  workload_release(&w);
  return rc < 0 ? 1 : 0;
}
