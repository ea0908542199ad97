/* cost: what driftless's pipelines cost per stream, against bare libopus on
 * the same audio and settings, measured pair by pair in one run.
 *
 * Four sides:
 *   tx-ours  the sender's pipeline without the socket: common/txpipe pulls
 *            frames from common/audio_in (file read, resampling to 48 kHz
 *            when needed), encodes and packs them as RTP
 *   tx-raw   opus_encode over the same 48 kHz PCM, preloaded in memory
 *   rx-ours  the receiver's pipeline without socket and sink: common/rxpipe
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
#include <time.h>

#include <opus/opus.h>

#include "args.h"
#include "audio_in.h"
#include "defaults.h"
#include "json.h"
#include "rtp.h"
#include "rxpipe.h"
#include "txpipe.h"

#define PROG "cost"
#define TRANSIT_NS 5000000LL   /* constant network transit in the receiver pass */

enum side { TX_OURS, TX_RAW, RX_OURS, RX_RAW, NSIDES };
static const char *const side_name[NSIDES] = {"tx-ours", "tx-raw", "rx-ours", "rx-raw"};

struct opts {
  const char *input;
  double seconds;
  int runs;
  int frame_samples;
  int bitrate, complexity, fec, loss_perc;
  int side;                  /* -1: all, interleaved */
  int no_resample;           /* rx-ours without the drift resampler */
  int quiet;
};

/* What every side works on, prepared once. */
struct work {
  const struct opts *o;
  int frames;                /* frames in the pass */
  int16_t *pcm;              /* frames * frame_samples, the audio of tx-ours */
  uint8_t **dgram;           /* frames datagrams made by txpipe */
  int *dlen;
  int64_t *frame_ns;         /* per-frame times of the last pass */
};

struct pass {
  double cpu_s;              /* thread CPU time of the pass */
  double p50_us, p99_us, max_us;
  uint64_t check;            /* bytes made or samples played, to compare sides */
};

static int64_t frame_clock_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct txpipe_config tx_config(const struct opts *o)
{
  struct txpipe_config c = {
    .channels = 1,
    .frame_samples = o->frame_samples,
    .bitrate = o->bitrate,
    .complexity = o->complexity,
    .application = OPUS_APPLICATION_VOIP,
    .fec = o->fec,
    .loss_perc = o->loss_perc,
    .dtx = 0,
    .pt = DL_DEFAULT_PT,
    .ssrc = 0x0c057c05u,
    .seq0 = 65000,          /* wraps during the pass, as it would */
    .ts0 = 0xfff00000u,
  };
  return c;
}

/* The same encoder settings as txpipe_create, on a bare encoder. */
static OpusEncoder *raw_encoder(const struct opts *o)
{
  int err;
  OpusEncoder *enc = opus_encoder_create(DL_RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (enc == NULL)
    return NULL;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(o->bitrate));
  opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(o->complexity));
  opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(o->fec));
  opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(o->loss_perc));
  opus_encoder_ctl(enc, OPUS_SET_DTX(0));
  return enc;
}

static int open_input(const struct opts *o, struct audio_in **in)
{
  char why[256] = "";
  int rc = audio_in_open(in, o->input, 1, DL_RESAMPLE_QUALITY, why, sizeof why);
  if (rc < 0)
    fprintf(stderr, PROG ": --input %s: %s\n", o->input, why[0] ? why : strerror(-rc));
  return rc;
}

/* ---- the four passes; each returns 0 or a negative errno ---- */

static int pass_tx_ours(struct work *w, struct pass *p)
{
  struct txpipe_config c = tx_config(w->o);
  struct txpipe *tp = NULL;
  struct audio_in *in = NULL;
  uint8_t buf[RTP_HEADER_LEN + DL_MAX_PAYLOAD];
  int rc;

  /* Opening the file and the encoder is set-up, not per-stream cost. */
  if ((rc = open_input(w->o, &in)) < 0)
    return rc;
  if ((rc = txpipe_create(&tp, &c, NULL)) < 0)
    goto fail;
  double c0 = cpu_s();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = frame_clock_ns();
    int n = txpipe_pull(tp, in, 1, buf, sizeof buf);
    w->frame_ns[k] = frame_clock_ns() - t0;
    if (n < 0) {
      rc = n == TXPIPE_END ? -ENODATA : n;
      goto fail;
    }
    p->check += (uint64_t)n;
  }
  p->cpu_s = cpu_s() - c0;
  rc = 0;
fail:
  txpipe_destroy(tp);
  audio_in_close(in);
  return rc;
}

static int pass_tx_raw(struct work *w, struct pass *p)
{
  OpusEncoder *enc = raw_encoder(w->o);
  uint8_t buf[DL_MAX_PAYLOAD];
  int fs = w->o->frame_samples;

  if (enc == NULL)
    return -ENOMEM;
  double c0 = cpu_s();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = frame_clock_ns();
    int n = opus_encode(enc, w->pcm + (size_t)k * fs, fs, buf, (opus_int32)sizeof buf);
    w->frame_ns[k] = frame_clock_ns() - t0;
    if (n < 0) {
      opus_encoder_destroy(enc);
      return -EIO;
    }
    p->check += (uint64_t)n + RTP_HEADER_LEN;
  }
  p->cpu_s = cpu_s() - c0;
  opus_encoder_destroy(enc);
  return 0;
}

static int pass_rx_ours(struct work *w, struct pass *p)
{
  struct rxpipe_config c = {
    .playout = {
      .target_ns = (int64_t)DL_DEFAULT_LATENCY_MS * 1000000,
      .max_latency_ns = (int64_t)DL_DEFAULT_MAX_LATENCY_MS * 1000000,
      .silence_after_ns = (int64_t)DL_SILENCE_AFTER_MS * 1000000,
      .late_resync_ns = (int64_t)DL_LATE_RESYNC_MS * 1000000,
      .conceal_silence = 0,
      .slots = DL_PLAYOUT_SLOTS,
    },
    .channels = 1,
    .pt = 0,
    /* The receiver's defaults: adaptive target, drift resampler on. */
    .latency_auto = 1,
    .min_latency_ns = (int64_t)DL_DEFAULT_MIN_LATENCY_MS * 1000000,
    .resample = !w->o->no_resample,
  };
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
  double c0 = cpu_s();
  /* Frame k is sent at k * frame and arrives TRANSIT later; the sink reads
   * a block at each multiple of block_ns. Frame k's time covers its put
   * and the blocks read until frame k + 1 arrives. */
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = frame_clock_ns();
    int64_t arrival = (int64_t)k * frame_ns + TRANSIT_NS;
    rxpipe_put(rp, w->dgram[k], (size_t)w->dlen[k], arrival);
    for (; t < arrival + frame_ns; t += block_ns)
      rxpipe_read(rp, t, pcm, block);
    w->frame_ns[k] = frame_clock_ns() - t0;
  }
  /* Play out what is still queued: the latency's worth of blocks. */
  for (int64_t end = t + c.playout.target_ns + 2 * frame_ns; t < end; t += block_ns)
    rxpipe_read(rp, t, pcm, block);
  p->cpu_s = cpu_s() - c0;
  rxpipe_get_stats(rp, &st);
  p->check = st.po.played;
  rxpipe_destroy(rp);
  return 0;
}

static int pass_rx_raw(struct work *w, struct pass *p)
{
  int err;
  OpusDecoder *dec = opus_decoder_create(DL_RATE, 1, &err);
  static int16_t pcm[DL_MAX_PACKET_SAMPLES];
  int fs = w->o->frame_samples;

  if (dec == NULL)
    return -ENOMEM;
  double c0 = cpu_s();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = frame_clock_ns();
    int n = opus_decode(dec, w->dgram[k] + RTP_HEADER_LEN, w->dlen[k] - RTP_HEADER_LEN, pcm, fs, 0);
    w->frame_ns[k] = frame_clock_ns() - t0;
    if (n == fs)
      p->check++;
  }
  p->cpu_s = cpu_s() - c0;
  opus_decoder_destroy(dec);
  return 0;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The one function callgrind counts (--toggle-collect=measured). */
__attribute__((noinline)) static int measured(struct work *w, int s, struct pass *p)
{
  switch (s) {
  case TX_OURS: return pass_tx_ours(w, p);
  case TX_RAW: return pass_tx_raw(w, p);
  case RX_OURS: return pass_rx_ours(w, p);
  case RX_RAW: return pass_rx_raw(w, p);
  }
  return -EINVAL;
}

static int run_side(struct work *w, int s, struct pass *p)
{
  memset(p, 0, sizeof *p);
  int rc = measured(w, s, p);
  if (rc < 0)
    return rc;
  qsort(w->frame_ns, (size_t)w->frames, sizeof *w->frame_ns, cmp_i64);
  p->p50_us = (double)w->frame_ns[(size_t)(0.50 * (w->frames - 1))] / 1e3;
  p->p99_us = (double)w->frame_ns[(size_t)ceil(0.99 * (w->frames - 1))] / 1e3;
  p->max_us = (double)w->frame_ns[w->frames - 1] / 1e3;
  return 0;
}

/* ---- set-up: the audio and the packets every pass uses ---- */

static int prepare(struct work *w, const struct opts *o)
{
  struct audio_in *in = NULL;
  struct txpipe *tp = NULL;
  struct txpipe_config c = tx_config(o);
  uint8_t buf[RTP_HEADER_LEN + DL_MAX_PAYLOAD];
  int fs = o->frame_samples;
  int rc;

  memset(w, 0, sizeof *w);
  w->o = o;
  w->frames = (int)ceil(o->seconds * DL_RATE / fs);
  w->pcm = calloc((size_t)w->frames * (size_t)fs, sizeof *w->pcm);
  w->dgram = calloc((size_t)w->frames, sizeof *w->dgram);
  w->dlen = calloc((size_t)w->frames, sizeof *w->dlen);
  w->frame_ns = calloc((size_t)w->frames, sizeof *w->frame_ns);
  if (!w->pcm || !w->dgram || !w->dlen || !w->frame_ns)
    return -ENOMEM;
  /* The PCM the raw encoder gets: the file looped exactly as txpipe_pull
   * loops it (a seamless rewind at the end of each pass). */
  if ((rc = open_input(o, &in)) < 0)
    return rc;
  size_t need = (size_t)w->frames * (size_t)fs, got = 0;
  while (got < need) {
    int want = need - got > 65536 ? 65536 : (int)(need - got);
    int n = audio_in_read(in, w->pcm + got, want);
    if (n < 0) {
      rc = n;
      goto fail;
    }
    if (n == 0 && (rc = audio_in_rewind(in)) < 0)
      goto fail;
    if (n == 0 && got == 0) {
      rc = -ENODATA;
      goto fail;
    }
    got += (size_t)n;
  }
  /* The receiver's packets; a sender side run alone needs none (under
   * callgrind this encoding is the slow part of the set-up). */
  if (o->side == TX_OURS || o->side == TX_RAW) {
    rc = 0;
    goto fail;
  }
  if ((rc = txpipe_create(&tp, &c, NULL)) < 0)
    goto fail;
  for (int k = 0; k < w->frames; k++) {
    int n = txpipe_encode(tp, w->pcm + (size_t)k * fs, buf, sizeof buf);
    if (n <= 0) {
      rc = n < 0 ? n : -EIO;
      goto fail;
    }
    w->dgram[k] = malloc((size_t)n);
    if (w->dgram[k] == NULL) {
      rc = -ENOMEM;
      goto fail;
    }
    memcpy(w->dgram[k], buf, (size_t)n);
    w->dlen[k] = n;
  }
  rc = 0;
fail:
  txpipe_destroy(tp);
  audio_in_close(in);
  return rc;
}

static void release(struct work *w)
{
  if (w->dgram != NULL)
    for (int k = 0; k < w->frames; k++)
      free(w->dgram[k]);
  free(w->dgram);
  free(w->dlen);
  free(w->pcm);
  free(w->frame_ns);
}

/* ---- statistics over the repetitions ---- */

struct spread {
  double median, min, max;
};

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static struct spread spread_of(const double *v, int n)
{
  double *s = malloc((size_t)n * sizeof *s);
  struct spread r = {NAN, NAN, NAN};
  if (s == NULL || n == 0) {
    free(s);
    return r;
  }
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_d);
  r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  r.min = s[0];
  r.max = s[n - 1];
  free(s);
  return r;
}

static void put_spread(struct json *j, const char *key, struct spread s, int decimals)
{
  json_obj_begin(j, key);
  json_num(j, "median", s.median, decimals);
  json_num(j, "min", s.min, decimals);
  json_num(j, "max", s.max, decimals);
  json_obj_end(j);
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
"\n"
"  --input FILE       audio, looped to --seconds (default tests/data/speech.flac)\n"
"  --seconds S        seconds of audio per pass, 1..3600 (default 60)\n"
"  --runs N           repetitions, 1..1000 (default 7)\n"
"  --frame-ms MS      2.5, 5, 10, 20, 40 or 60 (default %d)\n"
"  --bitrate BPS      %d..%d (default %d)\n"
"  --complexity N     0..10 (default %d)\n"
"  --no-fec           no in-band FEC (default: FEC on, expected loss %d %%)\n"
"  --no-resample      rx-ours without the drift resampler (ratio held at 1),\n"
"                     to see what the resampler costs\n"
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
"Exit: 0, 1 on a run-time error, 2 on bad usage.\n",
          DL_DEFAULT_FRAME_US / 1000, DL_MIN_BITRATE, DL_MAX_BITRATE, DL_DEFAULT_BITRATE_MONO,
          DL_DEFAULT_COMPLEXITY, DL_DEFAULT_EXPECT_LOSS);
}

static int bad(const char *flag, const char *val, const char *why)
{
  fprintf(stderr, PROG ": %s: %s, got \"%s\"\n", flag, why, val ? val : "");
  return 2;
}

static int parse(struct opts *o, int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long l;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      o->quiet = 1;
      continue;
    } else if (strcmp(a, "--no-resample") == 0) {
      o->no_resample = 1;
      continue;
    } else if (strcmp(a, "--no-fec") == 0) {
      o->fec = 0;
      o->loss_perc = 0;
      continue;
    } else if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, PROG ": unexpected argument \"%s\" (see --help)\n", a);
      return 2;
    } else if (v == NULL && (strcmp(a, "--input") == 0 || strcmp(a, "--seconds") == 0 ||
                             strcmp(a, "--runs") == 0 || strcmp(a, "--frame-ms") == 0 ||
                             strcmp(a, "--bitrate") == 0 || strcmp(a, "--complexity") == 0 ||
                             strcmp(a, "--side") == 0)) {
      return bad(a, NULL, "needs a value");
    }
    if (strcmp(a, "--input") == 0) {
      o->input = v;
    } else if (strcmp(a, "--seconds") == 0) {
      if (args_double(v, 1, 3600, &o->seconds) < 0)
        return bad(a, v, "expected 1..3600 s");
    } else if (strcmp(a, "--runs") == 0) {
      if (args_long(v, 1, 1000, &l) < 0)
        return bad(a, v, "expected 1..1000");
      o->runs = (int)l;
    } else if (strcmp(a, "--frame-ms") == 0) {
      int us;
      if (args_frame_us(v, &us) < 0)
        return bad(a, v, "expected 2.5, 5, 10, 20, 40 or 60");
      o->frame_samples = DL_RATE / 1000 * us / 1000;
    } else if (strcmp(a, "--bitrate") == 0) {
      if (args_long(v, DL_MIN_BITRATE, DL_MAX_BITRATE, &l) < 0)
        return bad(a, v, "expected 6000..510000 bit/s");
      o->bitrate = (int)l;
    } else if (strcmp(a, "--complexity") == 0) {
      if (args_long(v, 0, 10, &l) < 0)
        return bad(a, v, "expected 0..10");
      o->complexity = (int)l;
    } else if (strcmp(a, "--side") == 0) {
      o->side = -2;
      for (int s = 0; s < NSIDES; s++)
        if (strcmp(v, side_name[s]) == 0)
          o->side = s;
      if (o->side < 0)
        return bad(a, v, "expected tx-ours, tx-raw, rx-ours or rx-raw");
    } else {
      fprintf(stderr, PROG ": unknown option \"%s\" (see --help)\n", a);
      return 2;
    }
    i++;
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct opts o = {
    .input = "tests/data/speech.flac",
    .seconds = 60,
    .runs = 7,
    .frame_samples = DL_RATE / 1000 * DL_DEFAULT_FRAME_US / 1000,
    .bitrate = DL_DEFAULT_BITRATE_MONO,
    .complexity = DL_DEFAULT_COMPLEXITY,
    .fec = 1,
    .loss_perc = DL_DEFAULT_EXPECT_LOSS,
    .side = -1,
  };
  struct work w;
  int rc = parse(&o, argc, argv);
  if (rc != 0)
    return rc;
  rc = prepare(&w, &o);
  if (rc < 0) {
    if (rc != -ENOENT && rc != -EPROTO && rc != -EACCES && rc != -EISDIR && rc != -ERANGE)
      fprintf(stderr, PROG ": set-up: %s\n", strerror(-rc));
    release(&w);
    return 1;
  }
  double audio_s = (double)w.frames * o.frame_samples / DL_RATE;

  if (o.side >= 0) {
    struct pass p;
    rc = run_side(&w, o.side, &p);
    if (rc < 0) {
      fprintf(stderr, PROG ": %s: %s\n", side_name[o.side], strerror(-rc));
      release(&w);
      return 1;
    }
    printf("{\"side\":\"%s\",\"audio_s\":%.3f,\"cpu_ms_per_s\":%.4f,\"p99_us\":%.2f,\"check\":%llu}\n",
           side_name[o.side], audio_s, p.cpu_s * 1e3 / audio_s, p.p99_us,
           (unsigned long long)p.check);
    release(&w);
    return 0;
  }

  /* Per repetition and side pair: [0] ours, [1] raw. */
  int n = o.runs;
  double *v = calloc((size_t)n * 12, sizeof *v);
  if (v == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    release(&w);
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
    if ((rc = run_side(&w, s, &p)) < 0) {
      fprintf(stderr, PROG ": %s: %s\n", side_name[s], strerror(-rc));
      goto out;
    }
  }
  for (int r = 0; r < n; r++) {
    for (int pr = 0; pr < 2; pr++) {
      struct pass p[2];
      for (int i = 0; i < 2; i++) {
        int which = (r % 2) ? 1 - i : i;   /* alternate which goes first */
        if ((rc = run_side(&w, pr * 2 + which, &p[which])) < 0) {
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
      if (!o.quiet)
        fprintf(stderr, PROG ": run %d/%d %s: ours %.2f ms/s, raw %.2f ms/s, ratio %.3f, p99 %.0f/%.0f us\n",
                r + 1, n, pr ? "rx" : "tx", ms[pr][0][r], ms[pr][1][r], ratio[pr][r],
                p[0].p99_us, p[1].p99_us);
    }
  }

  char buf[4096];
  struct json j;
  json_begin(&j, buf, sizeof buf);
  json_str(&j, "input", o.input);
  json_num(&j, "audio_s", audio_s, 3);
  json_u64(&j, "runs", (uint64_t)n);
  json_num(&j, "frame_ms", o.frame_samples * 1000.0 / DL_RATE, 1);
  json_u64(&j, "bitrate", (uint64_t)o.bitrate);
  json_u64(&j, "complexity", (uint64_t)o.complexity);
  json_bool(&j, "fec", o.fec);
  json_bool(&j, "resample", !o.no_resample);
  for (int pr = 0; pr < 2; pr++) {
    json_obj_begin(&j, pr ? "rx" : "tx");
    put_spread(&j, "ours_ms_per_s", spread_of(ms[pr][0], n), 4);
    put_spread(&j, "raw_ms_per_s", spread_of(ms[pr][1], n), 4);
    put_spread(&j, "ratio", spread_of(ratio[pr], n), 4);
    put_spread(&j, "ours_p99_us", spread_of(p99[pr][0], n), 1);
    put_spread(&j, "raw_p99_us", spread_of(p99[pr][1], n), 1);
    put_spread(&j, "ours_max_us", spread_of(mx[pr], n), 1);
    if (pr == 1) {
      double spc[1000];
      for (int r = 0; r < n; r++)
        spc[r] = 1000.0 / ms[1][0][r];
      put_spread(&j, "streams_per_core", spread_of(spc, n), 1);
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
  release(&w);
  return rc < 0 ? 1 : 0;
}
