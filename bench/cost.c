/* cost: what driftless's pipelines cost per stream, against bare libopus on
 * the same audio and settings, measured pair by pair in one run.
 *
 * Four sides:
 *   tx-ours  the sender's pipeline without the socket: common/tx/txpipe pulls
 *            frames from common/tx/audio_in (file read, resampling to 48 kHz
 *            when needed), encodes and packs them as RTP
 *   tx-raw   opus_encode over the same 48 kHz PCM, preloaded in memory
 *   rx-ours  the receiver's pipeline without socket and sink: common/rx/rxpipe
 *            (RTP parse and checks, playout queue, concealment choice,
 *            decode, drift resampler) driven in virtual time: every
 *            datagram arrives a constant transit after its send time and
 *            a sink pulls a block every DL_ALSA_PERIOD_US
 *   rx-raw   opus_decode over the same packets' payloads
 *
 * Each repetition runs ours and raw back to back (the order alternates), so
 * a noisy machine slows both sides of a pair alike and the ratio, computed
 * per pair, cancels it. The figures are medians over the repetitions with
 * their spread (min, max).
 *
 * CPU time is the thread's (CLOCK_THREAD_CPUTIME_ID) over the whole pass,
 * and per frame around each frame's work (sender: one frame pulled and
 * encoded; receiver: the datagram put plus the blocks read during that
 * frame's period). Thread CPU time, not wall time: on a loaded machine a
 * preemption would otherwise put another process's time slice into a
 * frame (several ms), which says nothing about our code.
 *
 * --side runs one side once and nothing else, for
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured
 * which then counts the instructions of that side's pass alone. */
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
#include "tx/audio_in.h"
#include "tx/txpipe.h"
#include "util/json.h"
#include "wire/rtp.h"
#include "workload.h"

#define PROG "cost"

enum side { TX_OURS, TX_RAW, RX_OURS, RX_RAW, NSIDES };
static const char *const side_name[NSIDES] = {"tx-ours", "tx-raw", "rx-ours", "rx-raw"};

struct opts {
  struct workload_opts wl;   /* the audio, the encoder, runs, quiet */
  int side;                  /* -1: all, interleaved */
  int no_resample;           /* rx-ours without the drift resampler */
  int resampler_study;       /* --resampler: the drift resampler's options */
};

struct pass {
  double cpu_s;              /* thread CPU time of the pass */
  double p50_us, p99_us, max_us;
  uint64_t check;            /* bytes made or samples played, to compare sides */
};

/* ---- the four passes; each returns 0 or a negative errno ---- */

static int pass_tx_ours(struct workload *w, struct pass *p)
{
  struct txpipe_config c = workload_tx_config(w->o);
  struct txpipe *tp = NULL;
  struct audio_in *in = NULL;
  uint8_t buf[RTP_HEADER_LEN + DL_MAX_PAYLOAD];
  int rc;

  /* Opening the file and the encoder is set-up, not per-stream cost. */
  if ((rc = workload_open_input(PROG, w->o, &in)) < 0)
    return rc;
  if ((rc = txpipe_create(&tp, &c, NULL)) < 0)
    goto fail;
  int64_t c0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = clock_thread_cpu_ns();
    int n = txpipe_pull(tp, in, 1, buf, sizeof buf);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
    if (n < 0) {
      rc = n == TXPIPE_END ? -ENODATA : n;
      goto fail;
    }
    p->check += (uint64_t)n;
  }
  p->cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  rc = 0;
fail:
  txpipe_destroy(tp);
  audio_in_close(in);
  return rc;
}

static int pass_tx_raw(struct workload *w, struct pass *p)
{
  OpusEncoder *enc = workload_encoder(w->o);
  uint8_t buf[DL_MAX_PAYLOAD];
  int fs = w->o->frame_samples;

  if (enc == NULL)
    return -ENOMEM;
  int64_t c0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = clock_thread_cpu_ns();
    int n = opus_encode(enc, w->pcm + (size_t)k * fs, fs, buf, (opus_int32)sizeof buf);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
    if (n < 0) {
      opus_encoder_destroy(enc);
      return -EIO;
    }
    p->check += (uint64_t)n + RTP_HEADER_LEN;
  }
  p->cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  opus_encoder_destroy(enc);
  return 0;
}

static int pass_rx_ours(struct workload *w, int resample, struct pass *p)
{
  struct rxpipe_config c = workload_rx_config(resample);
  struct rxpipe *rp = NULL;
  struct rxpipe_stats st;
  static int16_t pcm[DL_MAX_PACKET_SAMPLES];
  int fs = w->o->frame_samples;
  int64_t frame_ns = (int64_t)fs * 1000000000 / DL_RATE;
  int64_t block_ns = (int64_t)DL_ALSA_PERIOD_US * 1000;
  int block = DL_RATE / 1000 * DL_ALSA_PERIOD_US / 1000;
  int64_t t = 0;
  int rc;

  if ((rc = rxpipe_create(&rp, &c)) < 0)
    return rc;
  int64_t c0 = clock_thread_cpu_ns();
  /* Frame k is sent at k * frame and arrives TRANSIT later; the sink reads
   * a block at each multiple of block_ns. Frame k's time covers its put
   * and the blocks read until frame k + 1 arrives. */
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = clock_thread_cpu_ns();
    int64_t arrival = (int64_t)k * frame_ns + WORKLOAD_TRANSIT_NS;
    struct rtp_packet pkt;
    /* The receiver's one parse (its loop thread's) is part of its cost. */
    if (rtp_packet_parse(w->dgram[k], (size_t)w->dlen[k], arrival, &pkt) == RTP_OK)
      rxpipe_put(rp, &pkt);
    for (; t < arrival + frame_ns; t += block_ns)
      rxpipe_read(rp, t, pcm, block);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
  }
  /* Play out what is still queued: the latency's worth of blocks. */
  for (int64_t end = t + c.playout.target_ns + 2 * frame_ns; t < end; t += block_ns)
    rxpipe_read(rp, t, pcm, block);
  p->cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  rxpipe_get_stats(rp, &st);
  p->check = st.po.played;
  rxpipe_destroy(rp);
  return 0;
}

static int pass_rx_raw(struct workload *w, struct pass *p)
{
  int n = workload_decode(w, NULL, &p->cpu_s);
  if (n < 0)
    return n;
  p->check = (uint64_t)n;
  return 0;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The one function callgrind counts (--toggle-collect=measured). */
__attribute__((noinline)) static int measured(struct workload *w, int s, int resample, struct pass *p)
{
  switch (s) {
  case TX_OURS: return pass_tx_ours(w, p);
  case TX_RAW: return pass_tx_raw(w, p);
  case RX_OURS: return pass_rx_ours(w, resample, p);
  case RX_RAW: return pass_rx_raw(w, p);
  }
  return -EINVAL;
}

/* Side s once (resample: rx-ours's drift resampler on), with the
 * per-frame quantiles of its times. */
static int run_side(struct workload *w, int s, int resample, struct pass *p)
{
  memset(p, 0, sizeof *p);
  int rc = measured(w, s, resample, p);
  if (rc < 0)
    return rc;
  qsort(w->frame_ns, (size_t)w->frames, sizeof *w->frame_ns, cmp_i64);
  p->p50_us = (double)w->frame_ns[(size_t)(0.50 * (w->frames - 1))] / 1e3;
  p->p99_us = (double)w->frame_ns[(size_t)ceil(0.99 * (w->frames - 1))] / 1e3;
  p->max_us = (double)w->frame_ns[w->frames - 1] / 1e3;
  return 0;
}

/* ---- --resampler: cost and fidelity of the drift resampler's options ----
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
 * receiver's controller actually sits at ratio exactly 1. */

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

static int resampler_study(struct workload *w)
{
  const struct workload_opts *o = w->o;
  int fs = o->frame_samples, n = w->frames * fs;
  int block = DL_RATE / 1000 * DL_ALSA_PERIOD_US / 1000;
  int edge = DL_RATE / 10;   /* 100 ms at either end left out of the SNR */
  static const double ppms[2] = {100, -100};
  int16_t *dec = calloc((size_t)n, sizeof *dec), *ref = calloc((size_t)n, sizeof *ref);
  int16_t *out = calloc((size_t)(n > DL_RATE ? n : DL_RATE), sizeof *out);   /* also a tone's */
  /* White noise, for a signal with content up to 24 kHz (decoded speech
   * has little above Opus's coded band). Seeded: the numbers repeat. */
  int nn = n < 10 * DL_RATE ? n : 10 * DL_RATE;
  int16_t *noise = calloc((size_t)nn, sizeof *noise), *nref = calloc((size_t)nn, sizeof *nref);
  int tn = DL_RATE / 2;   /* tones: half a second each */
  int16_t *tone = calloc((size_t)tn, sizeof *tone);
  float *tmp = calloc((size_t)n * 4, sizeof *tmp);
  double *cpu = calloc((size_t)o->runs, sizeof *cpu);
  char *buf = malloc(32768);
  OpusEncoder *e = NULL;
  double decode_s;
  int rc = -ENOMEM;

  if (!dec || !ref || !out || !noise || !nref || !tone || !tmp || !cpu || !buf || n <= 2 * edge + LP_TAPS)
    goto fail;
  {
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < nn; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      noise[i] = (int16_t)((int)(x >> 40 & 0x3fff) - 0x2000);   /* uniform, +-8192 */
    }
  }
  /* What the resampler sees: the packets decoded. */
  e = workload_encoder(o);
  if (e == NULL)
    goto fail;
  if ((rc = workload_decode(w, dec, &decode_s)) != w->frames) {
    rc = rc < 0 ? rc : -EIO;
    goto fail;
  }
  opus_int32 la = 0;
  opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&la));

  struct json j;
  json_begin(&j, buf, 32768);
  json_str(&j, "input", o->input);
  json_num(&j, "audio_s", (double)n / DL_RATE, 3);
  json_u64(&j, "runs", (uint64_t)o->runs);
  json_u64(&j, "block_frames", (uint64_t)block);
  json_num(&j, "speech_band_hz", SPEECH_HZ, 0);
  json_num(&j, "opus_band_hz", OPUS_BAND_HZ, 0);
  json_u64(&j, "ref_quality", STUDY_REF_Q);
  json_u64(&j, "ratio_den", STUDY_DEN);
  /* Opus's coding noise: decoded sample i + lag is input sample i, the lag
   * near the encoder's look-ahead (the decoder's phase is a few samples off
   * it): the one with the least error, which is fairest to Opus. */
  {
    int best = (int)la;
    double best_e = INFINITY;
    for (int l = (int)la - 16; l <= (int)la + 16; l++) {
      double se = 0;
      for (int i = edge; i < n - l - edge; i++) {
        double df = (double)dec[i + l] - w->pcm[i];
        se += df * df;
      }
      if (se < best_e) {
        best_e = se;
        best = l;
      }
    }
    la = best;
    int m = n - (int)la;
    struct snr s = snr_of(w->pcm, dec + la, m, edge, m - edge, tmp);
    json_obj_begin(&j, "opus_noise");
    json_u64(&j, "lag", (uint64_t)la);
    json_num(&j, "full_db", s.full_db, 2);
    json_num(&j, "opus_band_db", s.opus_db, 2);
    json_num(&j, "speech_db", s.speech_db, 2);
    json_obj_end(&j);
  }
  /* The decode itself, for scale: CPU ms per s of the raw decoder. */
  {
    if ((rc = workload_decode(w, NULL, &decode_s)) < 0)
      goto fail;
    json_num(&j, "decode_ms_per_s", decode_s * 1e3 * DL_RATE / n, 4);
  }
  json_obj_begin(&j, "rows");   /* keyed "p100_q3": ratio 1 + 100 ppm, quality 3 */
  for (int pi = 0; pi < 2; pi++) {
    uint32_t num = (uint32_t)lround((1 + ppms[pi] * 1e-6) * STUDY_DEN);
    if (stretch(dec, n, ref, num, STUDY_REF_Q, block) < 0 ||
        stretch(noise, nn, nref, num, STUDY_REF_Q, block) < 0)
      goto fail;
    for (int q = 0; q <= STUDY_QMAX + 1; q++) {
      int qq = q <= STUDY_QMAX ? q : STUDY_REF_Q;   /* the reference's own cost last */
      for (int r = 0; r < o->runs; r++)
        if ((cpu[r] = stretch(dec, n, out, num, qq, block)) < 0)
          goto fail;
      struct spread c = spread_of(cpu, o->runs);
      struct snr s = snr_of(ref, out, n, edge, n - edge - block, tmp);
      if (stretch(noise, nn, out, num, qq, block) < 0)
        goto fail;
      struct snr sn = snr_of(nref, out, nn, edge, nn - edge - block, tmp);
      /* The same quality at ratio exactly 1 (direct mode), for its cost. */
      for (int r = 0; r < o->runs; r++)
        cpu[r] = stretch(dec, n, out, STUDY_DEN, qq, block);
      struct spread c1 = spread_of(cpu, o->runs);
      char key[32];
      snprintf(key, sizeof key, "%c%.0f_q%d", ppms[pi] < 0 ? 'm' : 'p', fabs(ppms[pi]), qq);
      json_obj_begin(&j, key);
      json_num(&j, "ppm", (double)((int64_t)num - STUDY_DEN) * 1e6 / STUDY_DEN, 1);
      json_u64(&j, "quality", (uint64_t)qq);
      spread_put(&j, "ms_per_s", (struct spread){c.median * 1e3 * DL_RATE / n,
                                                 c.min * 1e3 * DL_RATE / n,
                                                 c.max * 1e3 * DL_RATE / n}, 4);
      json_num(&j, "ms_per_s_at_1", c1.median * 1e3 * DL_RATE / n, 4);
      json_num(&j, "snr_full_db", s.full_db, 2);
      json_num(&j, "snr_speech_db", s.speech_db, 2);
      json_num(&j, "snr_opus_band_db", s.opus_db, 2);
      /* Gain (dB) of tones, the filter's pass band edge. */
      {
        static const int tone_hz[4] = {12000, 16000, 18000, 20000};
        for (int t = 0; t < 4; t++) {
          double e_in = 0, e_out = 0;
          for (int i = 0; i < tn; i++)
            tone[i] = (int16_t)lrint(8000 * sin(2 * M_PI * tone_hz[t] * i / DL_RATE));
          if (stretch(tone, tn, out, num, qq, block) < 0)
            goto fail;
          for (int i = edge; i < tn - edge; i++) {
            e_in += (double)tone[i] * tone[i];
            e_out += (double)out[i] * out[i];
          }
          char tk[32];
          snprintf(tk, sizeof tk, "gain_db_%dk", tone_hz[t] / 1000);
          json_num(&j, tk, 10 * log10(e_out / e_in), 2);
        }
      }
      json_num(&j, "noise_snr_full_db", sn.full_db, 2);
      json_num(&j, "noise_snr_opus_band_db", sn.opus_db, 2);
      json_num(&j, "noise_snr_speech_db", sn.speech_db, 2);
      json_obj_end(&j);
      if (!o->quiet)
        fprintf(stderr, PROG ": resampler q%d at %+.0f ppm: %.3f ms/s (at 1: %.3f), SNR %.1f dB speech, %.1f dB full; noise %.1f / %.1f / %.1f dB\n",
                qq, ppms[pi], c.median * 1e3 * DL_RATE / n, c1.median * 1e3 * DL_RATE / n,
                s.speech_db, s.full_db, sn.speech_db, sn.opus_db, sn.full_db);
    }
  }
  json_obj_end(&j);
  /* A bypass at ratio exactly 1: how often would it apply? */
  json_obj_begin(&j, "ratio_exactly_1_share");
  {
    static const double drifts[3] = {0, 20, 100};
    static const char *const keys[3] = {"drift_0ppm", "drift_20ppm", "drift_100ppm"};
    for (int i = 0; i < 3; i++) {
      double sh;
      if ((rc = ratio1_share(w, drifts[i], &sh)) < 0)
        goto fail;
      json_num(&j, keys[i], sh, 4);
    }
  }
  json_obj_end(&j);
  const char *text = json_end(&j);
  if (text == NULL) {
    rc = -EOVERFLOW;
    goto fail;
  }
  printf("%s\n", text);
  rc = 0;
fail:
  if (e != NULL)
    opus_encoder_destroy(e);
  free(dec);
  free(ref);
  free(out);
  free(noise);
  free(nref);
  free(tone);
  free(tmp);
  free(cpu);
  free(buf);
  return rc;
}

static void usage(FILE *f)
{
  fprintf(f,
"usage: cost [options]\n"
"Measures the CPU cost of driftless's sender pipeline (audio_in + txpipe:\n"
"read, resample, encode, RTP pack; no socket) and receiver pipeline (rxpipe:\n"
"RTP parse, playout queue, concealment, decode, drift resampler; no socket,\n"
"no sink) against bare opus_encode / opus_decode loops over the same audio,\n"
"packets and encoder settings. Each repetition runs ours and raw back to\n"
"back (order alternating), the ratio is taken per pair, and every figure is\n"
"reported as median, min and max over the repetitions, as one JSON object\n"
"on stdout.\n"
"\n");
  workload_usage(f);
  fprintf(f,
"  --no-resample      rx-ours without the drift resampler (ratio held at 1),\n"
"                     to see what the resampler costs\n"
"  --resampler        instead of the pairs: the drift resampler's options,\n"
"                     speexdsp quality 0..4 (and 10) at 1 +- 100 ppm in 5 ms\n"
"                     blocks: CPU ms per s of audio (also at ratio exactly\n"
"                     1), SNR against a quality-10 resample at the same ratio\n"
"                     (speech band 0..8 kHz, Opus's band 0..20 kHz, full\n"
"                     band; decoded speech and white noise), gain of 12..20\n"
"                     kHz tones, Opus's own coding noise, and the share of\n"
"                     packets the receiver's controller plays at ratio 1\n"
"  --side S           run only side S once, no pairing: tx-ours, tx-raw,\n"
"                     rx-ours or rx-raw. Its pass is the function `measured`,\n"
"                     for valgrind --tool=callgrind --collect-atstart=no\n"
"                     --toggle-collect=measured (instruction counts)\n"
"  -q, --quiet        no progress lines on stderr\n"
"  -h, --help         this text\n"
"\n"
"Output keys per side pair (tx, rx): ours_ms_per_s and raw_ms_per_s (CPU ms\n"
"per second of audio), ratio (ours / raw, pair by pair), ours_p99_us and\n"
"raw_p99_us, ours_max_us (per-frame thread CPU time); rx also\n"
"streams_per_core (1000 / ours_ms_per_s: real-time streams one core decodes).\n"
"Exit: 0, 1 on a run-time error, 2 on bad usage.\n");
}

static int bad(const char *flag, const char *val, const char *why)
{
  fprintf(stderr, PROG ": %s: %s, got \"%s\"\n", flag, why, val ? val : "");
  return 2;
}

static int parse(struct opts *o, int argc, char **argv)
{
  int took;
  for (int i = 1; i < argc; i += took) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    took = 1;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if ((took = workload_flag(PROG, &o->wl, a, v)) != 0) {
      if (took < 0)
        return 2;
    } else if (strcmp(a, "--resampler") == 0) {
      o->resampler_study = 1;
      took = 1;
    } else if (strcmp(a, "--no-resample") == 0) {
      o->no_resample = 1;
      took = 1;
    } else if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, PROG ": unexpected argument \"%s\" (see --help)\n", a);
      return 2;
    } else if (strcmp(a, "--side") == 0) {
      if (v == NULL)
        return bad(a, NULL, "needs a value");
      o->side = -2;
      for (int s = 0; s < NSIDES; s++)
        if (strcmp(v, side_name[s]) == 0)
          o->side = s;
      if (o->side < 0)
        return bad(a, v, "expected tx-ours, tx-raw, rx-ours or rx-raw");
      took = 2;
    } else {
      fprintf(stderr, PROG ": unknown option \"%s\" (see --help)\n", a);
      return 2;
    }
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct opts o = {.side = -1};
  struct workload w;
  workload_defaults(&o.wl);
  int rc = parse(&o, argc, argv);
  if (rc != 0)
    return rc;
  if (workload_prepare(&w, &o.wl, PROG, o.side != TX_OURS && o.side != TX_RAW) < 0) {
    workload_release(&w);
    return 1;
  }
  int resample = !o.no_resample;
  double audio_s = (double)w.frames * o.wl.frame_samples / DL_RATE;

  if (o.resampler_study) {
    rc = resampler_study(&w);
    if (rc < 0)
      fprintf(stderr, PROG ": --resampler: %s\n", strerror(-rc));
    workload_release(&w);
    return rc < 0 ? 1 : 0;
  }
  if (o.side >= 0) {
    struct pass p;
    rc = run_side(&w, o.side, resample, &p);
    if (rc < 0) {
      fprintf(stderr, PROG ": %s: %s\n", side_name[o.side], strerror(-rc));
      workload_release(&w);
      return 1;
    }
    printf("{\"side\":\"%s\",\"audio_s\":%.3f,\"cpu_ms_per_s\":%.4f,\"p99_us\":%.2f,\"check\":%llu}\n",
           side_name[o.side], audio_s, p.cpu_s * 1e3 / audio_s, p.p99_us,
           (unsigned long long)p.check);
    workload_release(&w);
    return 0;
  }

  /* Per repetition and side pair: [0] ours, [1] raw. */
  int n = o.wl.runs;
  double *v = calloc((size_t)n * 12, sizeof *v);
  if (v == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    workload_release(&w);
    return 1;
  }
  double *ms[2][2], *p99[2][2], *mx[2], *ratio[2];
  for (int pr = 0; pr < 2; pr++) {
    ms[pr][0] = v + (size_t)n * (pr * 6 + 0);
    ms[pr][1] = v + (size_t)n * (pr * 6 + 1);
    p99[pr][0] = v + (size_t)n * (pr * 6 + 2);
    p99[pr][1] = v + (size_t)n * (pr * 6 + 3);
    mx[pr] = v + (size_t)n * (pr * 6 + 4);
    ratio[pr] = v + (size_t)n * (pr * 6 + 5);
  }
  /* One warm-up pass per side: page faults, caches, CPU frequency. */
  for (int s = 0; s < NSIDES; s++) {
    struct pass p;
    if ((rc = run_side(&w, s, resample, &p)) < 0) {
      fprintf(stderr, PROG ": %s: %s\n", side_name[s], strerror(-rc));
      goto out;
    }
  }
  for (int r = 0; r < n; r++) {
    for (int pr = 0; pr < 2; pr++) {
      struct pass p[2];
      for (int i = 0; i < 2; i++) {
        int which = (r % 2) ? 1 - i : i;   /* alternate which goes first */
        if ((rc = run_side(&w, pr * 2 + which, resample, &p[which])) < 0) {
          fprintf(stderr, PROG ": %s: %s\n", side_name[pr * 2 + which], strerror(-rc));
          goto out;
        }
      }
      for (int i = 0; i < 2; i++) {
        ms[pr][i][r] = p[i].cpu_s * 1e3 / audio_s;
        p99[pr][i][r] = p[i].p99_us;
      }
      mx[pr][r] = p[0].max_us;
      ratio[pr][r] = p[0].cpu_s / p[1].cpu_s;
      if (!o.wl.quiet)
        fprintf(stderr, PROG ": run %d/%d %s: ours %.2f ms/s, raw %.2f ms/s, ratio %.3f, p99 %.0f/%.0f us\n",
                r + 1, n, pr ? "rx" : "tx", ms[pr][0][r], ms[pr][1][r], ratio[pr][r],
                p[0].p99_us, p[1].p99_us);
    }
  }

  char buf[4096];
  struct json j;
  json_begin(&j, buf, sizeof buf);
  json_str(&j, "input", o.wl.input);
  json_num(&j, "audio_s", audio_s, 3);
  json_u64(&j, "runs", (uint64_t)n);
  json_num(&j, "frame_ms", o.wl.frame_samples * 1000.0 / DL_RATE, 1);
  json_u64(&j, "bitrate", (uint64_t)o.wl.bitrate);
  json_u64(&j, "complexity", (uint64_t)o.wl.complexity);
  json_bool(&j, "fec", o.wl.fec);
  json_bool(&j, "resample", !o.no_resample);
  for (int pr = 0; pr < 2; pr++) {
    json_obj_begin(&j, pr ? "rx" : "tx");
    spread_put(&j, "ours_ms_per_s", spread_of(ms[pr][0], n), 4);
    spread_put(&j, "raw_ms_per_s", spread_of(ms[pr][1], n), 4);
    spread_put(&j, "ratio", spread_of(ratio[pr], n), 4);
    spread_put(&j, "ours_p99_us", spread_of(p99[pr][0], n), 1);
    spread_put(&j, "raw_p99_us", spread_of(p99[pr][1], n), 1);
    spread_put(&j, "ours_max_us", spread_of(mx[pr], n), 1);
    if (pr == 1) {
      double spc[1000];
      for (int r = 0; r < n; r++)
        spc[r] = 1000.0 / ms[1][0][r];
      spread_put(&j, "streams_per_core", spread_of(spc, n), 1);
    }
    json_obj_end(&j);
  }
  const char *text = json_end(&j);
  if (text == NULL) {
    fprintf(stderr, PROG ": output: too long\n");
    rc = -EOVERFLOW;
    goto out;
  }
  printf("%s\n", text);
  rc = 0;
out:
  free(v);
  workload_release(&w);
  return rc < 0 ? 1 : 0;
}
