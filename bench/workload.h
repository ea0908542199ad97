/* The workload of bench/cost and bench/resampler: an audio file looped to
 * --seconds as 48 kHz mono PCM, and the RTP datagrams the sender's
 * pipeline makes of it, prepared once before anything is measured; the
 * flags that choose them, and the bare libopus encoder and decoder and the
 * receiver's defaults that both programs measure against. Bench-only, a
 * header as bench/gen.h is; each function is used by both programs, so
 * that neither keeps a copy of the other's set-up. */
#ifndef DL_BENCH_WORKLOAD_H
#define DL_BENCH_WORKLOAD_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "defaults.h"
#include "rx/rxpipe.h"
#include "shell/clock.h"
#include "tx/audio_in.h"
#include "tx/txpipe.h"
#include "util/args.h"
#include "wire/rtp.h"

/* The constant network transit of the receiver's virtual-time passes. */
#define WORKLOAD_TRANSIT_NS 5000000LL

struct workload_opts {
  const char *input;
  double seconds;
  int runs;
  int frame_samples;
  int bitrate, complexity, fec, loss_perc;
  int quiet;
};

/* What every pass works on, prepared once. */
struct workload {
  const struct workload_opts *o;
  int frames;                /* frames in the pass */
  int16_t *pcm;              /* frames * frame_samples, the audio of the encoders */
  uint8_t **dgram;           /* frames datagrams made by txpipe */
  int *dlen;
  int64_t *frame_ns;         /* per-frame thread CPU times of the last pass */
};

static void workload_defaults(struct workload_opts *o)
{
  memset(o, 0, sizeof *o);
  o->input = "tests/data/speech.flac";
  o->seconds = 60;
  o->runs = 7;
  o->frame_samples = DL_RATE / 1000 * DL_DEFAULT_FRAME_US / 1000;
  o->bitrate = DL_DEFAULT_BITRATE_MONO;
  o->complexity = DL_DEFAULT_COMPLEXITY;
  o->fec = 1;
  o->loss_perc = DL_DEFAULT_EXPECT_LOSS;
}

/* The --help lines of the flags workload_flag reads. */
static void workload_usage(FILE *f)
{
  fprintf(f,
"  --input FILE       audio, looped to --seconds (default tests/data/speech.flac)\n"
"  --seconds S        seconds of audio per pass, 1..3600 (default 60)\n"
"  --runs N           repetitions, 1..1000 (default 7)\n"
"  --frame-ms MS      2.5, 5, 10, 20, 40 or 60 (default %d)\n"
"  --bitrate BPS      %d..%d (default %d)\n"
"  --complexity N     0..10 (default %d)\n"
"  --no-fec           no in-band FEC (default: FEC on, expected loss %d %%)\n",
          DL_DEFAULT_FRAME_US / 1000, DL_MIN_BITRATE, DL_MAX_BITRATE, DL_DEFAULT_BITRATE_MONO,
          DL_DEFAULT_COMPLEXITY, DL_DEFAULT_EXPECT_LOSS);
}

static int workload_bad(const char *prog, const char *flag, const char *val, const char *why)
{
  fprintf(stderr, "%s: %s: %s, got \"%s\"\n", prog, flag, why, val ? val : "");
  return -EINVAL;
}

/* Reads flag a (v: the argument after it, or NULL) when it is one of the
 * workload's: --input, --seconds, --runs, --frame-ms, --bitrate,
 * --complexity, --no-fec, -q/--quiet. Returns the arguments it took (1 or
 * 2), 0 when a is not one of them, or -EINVAL after printing the usage
 * error ("PROG: --runs: expected 1..1000, got "x""). */
static int workload_flag(const char *prog, struct workload_opts *o, const char *a, const char *v)
{
  long l;
  if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
    o->quiet = 1;
    return 1;
  } else if (strcmp(a, "--no-fec") == 0) {
    o->fec = 0;
    o->loss_perc = 0;
    return 1;
  } else if (strcmp(a, "--input") != 0 && strcmp(a, "--seconds") != 0 && strcmp(a, "--runs") != 0 &&
             strcmp(a, "--frame-ms") != 0 && strcmp(a, "--bitrate") != 0 &&
             strcmp(a, "--complexity") != 0) {
    return 0;
  } else if (v == NULL) {
    return workload_bad(prog, a, NULL, "needs a value");
  }
  if (strcmp(a, "--input") == 0) {
    o->input = v;
  } else if (strcmp(a, "--seconds") == 0) {
    if (args_double(v, 1, 3600, &o->seconds) < 0)
      return workload_bad(prog, a, v, "expected 1..3600 s");
  } else if (strcmp(a, "--runs") == 0) {
    if (args_long(v, 1, 1000, &l) < 0)
      return workload_bad(prog, a, v, "expected 1..1000");
    o->runs = (int)l;
  } else if (strcmp(a, "--frame-ms") == 0) {
    int us;
    if (args_frame_us(v, &us) < 0)
      return workload_bad(prog, a, v, "expected 2.5, 5, 10, 20, 40 or 60");
    o->frame_samples = DL_RATE / 1000 * us / 1000;
  } else if (strcmp(a, "--bitrate") == 0) {
    if (args_long(v, DL_MIN_BITRATE, DL_MAX_BITRATE, &l) < 0)
      return workload_bad(prog, a, v, "expected 6000..510000 bit/s");
    o->bitrate = (int)l;
  } else {
    if (args_long(v, 0, 10, &l) < 0)
      return workload_bad(prog, a, v, "expected 0..10");
    o->complexity = (int)l;
  }
  return 2;
}

static struct txpipe_config workload_tx_config(const struct workload_opts *o)
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
static OpusEncoder *workload_encoder(const struct workload_opts *o)
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

/* The receiver's pipeline with the receiver's defaults: adaptive target,
 * and the drift resampler on unless resample is 0. */
static struct rxpipe_config workload_rx_config(int resample)
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
    .latency_auto = 1,
    .min_latency_ns = (int64_t)DL_DEFAULT_MIN_LATENCY_MS * 1000000,
    .resample = resample,
  };
  return c;
}

/* Opens --input as 48 kHz mono; says why on stderr when it cannot. */
static int workload_open_input(const char *prog, const struct workload_opts *o, struct audio_in **in)
{
  char why[256] = "";
  int rc = audio_in_open(in, o->input, 1, DL_RESAMPLE_QUALITY, why, sizeof why);
  if (rc < 0)
    fprintf(stderr, "%s: --input %s: %s\n", prog, o->input, why[0] ? why : strerror(-rc));
  return rc;
}

static int workload_fill(struct workload *w, const char *prog, int packets)
{
  const struct workload_opts *o = w->o;
  struct audio_in *in = NULL;
  struct txpipe *tp = NULL;
  struct txpipe_config c = workload_tx_config(o);
  uint8_t buf[RTP_HEADER_LEN + DL_MAX_PAYLOAD];
  int fs = o->frame_samples;
  int rc;

  /* The PCM the raw encoder gets: the file looped exactly as txpipe_pull
   * loops it (a seamless rewind at the end of each pass). */
  if ((rc = workload_open_input(prog, o, &in)) < 0)
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
  if (!packets) {
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

/* Reads and loops the audio, and with packets set encodes it into
 * datagrams. Returns 0 or a negative errno, said on stderr (prog: the
 * first word). workload_release frees *w either way. */
static int workload_prepare(struct workload *w, const struct workload_opts *o, const char *prog,
                            int packets)
{
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
    rc = -ENOMEM;
  else
    rc = workload_fill(w, prog, packets);
  /* The errors audio_in_open has already said are not said twice. */
  if (rc < 0 && rc != -ENOENT && rc != -EPROTO && rc != -EACCES && rc != -EISDIR && rc != -ERANGE)
    fprintf(stderr, "%s: set-up: %s\n", prog, strerror(-rc));
  return rc;
}

static void workload_release(struct workload *w)
{
  if (w->dgram != NULL)
    for (int k = 0; k < w->frames; k++)
      free(w->dgram[k]);
  free(w->dgram);
  free(w->dlen);
  free(w->pcm);
  free(w->frame_ns);
}

/* Decodes every datagram's payload with a bare opus_decode on a fresh
 * decoder, each frame into out (frames * frame_samples samples; NULL: a
 * scratch frame) and its thread CPU time into w->frame_ns. *cpu_s: the
 * pass's thread CPU time. Returns the frames decoded whole, or -ENOMEM. */
static int workload_decode(struct workload *w, int16_t *out, double *cpu_s)
{
  int err;
  OpusDecoder *dec = opus_decoder_create(DL_RATE, 1, &err);
  static int16_t scratch[DL_MAX_PACKET_SAMPLES];
  int fs = w->o->frame_samples, whole = 0;

  if (dec == NULL)
    return -ENOMEM;
  int64_t c0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    int16_t *pcm = out != NULL ? out + (size_t)k * fs : scratch;
    int64_t t0 = clock_thread_cpu_ns();
    int n = opus_decode(dec, w->dgram[k] + RTP_HEADER_LEN, w->dlen[k] - RTP_HEADER_LEN, pcm, fs, 0);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
    if (n == fs)
      whole++;
  }
  *cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  opus_decoder_destroy(dec);
  return whole;
}

#endif /* DL_BENCH_WORKLOAD_H */
