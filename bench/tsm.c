/* tsm: what common/rx/tsm costs per second of audio, against one bare Opus
 * decode of the same audio, measured side by side in one run.
 *
 * The input (speech by default) is read at 48 kHz mono, looped to
 * --seconds, encoded once with the sender's defaults (20 ms frames, VoIP,
 * 32 kbit/s) and decoded once; then, per repetition, four passes:
 *   decode    opus_decode of every packet (the receiver's decode alone)
 *   pass      tsm_process with want 0 on every 20 ms block (the steady
 *             path: level tracking and the history copy)
 *   shorten   the decoded audio at +10 % throughout (the test's pacing:
 *             the ramp owes 10 % plus one longest period), the worst case:
 *             a receiver shortens for about a second after a change
 *   lengthen  the same at -10 %
 * The order rotates each repetition, so a noisy machine slows every pass
 * alike and the ratios, taken per repetition, cancel it. CPU time is the
 * thread's (CLOCK_THREAD_CPUTIME_ID), per pass and per block (the largest
 * block matters to a real-time thread). Prints one JSON line: medians over
 * the repetitions, us of CPU per second of audio, and the ratio to decode. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "defaults.h"
#include "rx/tsm.h"
#include "shell/clock.h"
#include "tx/audio_in.h"
#include "util/args.h"
#include "util/json.h"

#define PROG "tsm"
#define BLOCK 960
#define RUNS_MAX 101

enum pass { DECODE, PASS, SHORTEN, LENGTHEN, NPASS };
static const char *const pass_name[NPASS] = {"decode", "pass", "shorten", "lengthen"};

struct work {
  int frames;               /* 20 ms blocks */
  int16_t *pcm;             /* the input, frames * BLOCK */
  uint8_t (*pkt)[DL_MAX_PAYLOAD];
  int *plen;
  int16_t *dec;             /* decoded, frames * BLOCK */
  int16_t *buf;             /* one block with room to lengthen */
};

struct result {
  double cpu_ns;            /* the pass */
  double max_block_ns;      /* its costliest block */
  long change;              /* frames, tsm passes */
};

static int do_decode(struct work *w, struct result *r)
{
  int err;
  OpusDecoder *dec = opus_decoder_create(DL_RATE, 1, &err);
  if (dec == NULL)
    return -ENOMEM;
  int64_t t0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    int64_t b0 = clock_thread_cpu_ns();
    int n = opus_decode(dec, w->pkt[k], w->plen[k], w->dec + (size_t)k * BLOCK, BLOCK, 0);
    double d = (double)(clock_thread_cpu_ns() - b0);
    if (n != BLOCK) {
      opus_decoder_destroy(dec);
      return -EIO;
    }
    if (d > r->max_block_ns)
      r->max_block_ns = d;
  }
  r->cpu_ns = (double)(clock_thread_cpu_ns() - t0);
  opus_decoder_destroy(dec);
  return 0;
}

/* rate: 0 pass through, -0.1 shorten, +0.1 lengthen. */
static int do_tsm(struct work *w, double rate, struct result *r)
{
  struct tsm *t;
  struct tsm_config cfg = {.channels = 1};
  int rc = tsm_create(&t, &cfg);
  if (rc < 0)
    return rc;
  long in = 0, out = 0;
  int lead = DL_RATE * DL_TSM_MAX_LAG_US / 1000000;
  int64_t t0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    memcpy(w->buf, w->dec + (size_t)k * BLOCK, BLOCK * sizeof *w->buf);
    long due = (long)lrint(fabs(rate) * (double)(in + BLOCK)) + (rate != 0 ? lead : 0);
    long owed = due - labs(out - in);
    int want = rate < 0 ? -(int)owed : rate > 0 ? (int)owed : 0;
    int64_t b0 = clock_thread_cpu_ns();
    int n = tsm_process(t, w->buf, BLOCK, 2 * BLOCK, want, NULL);
    double d = (double)(clock_thread_cpu_ns() - b0);
    if (n < 0) {
      tsm_destroy(t);
      return n;
    }
    if (d > r->max_block_ns)
      r->max_block_ns = d;
    in += BLOCK;
    out += n;
  }
  r->cpu_ns = (double)(clock_thread_cpu_ns() - t0);
  r->change = out - in;
  tsm_destroy(t);
  return 0;
}

static int prepare(struct work *w, const char *input, double seconds)
{
  struct audio_in *a = NULL;
  OpusEncoder *enc = NULL;
  char why[256] = "";
  int rc = audio_in_open(&a, input, 1, DL_RESAMPLE_QUALITY, why, sizeof why);
  if (rc < 0) {
    fprintf(stderr, PROG ": --input %s: %s\n", input, why[0] ? why : strerror(-rc));
    return rc;
  }
  w->frames = (int)(seconds * DL_RATE / BLOCK);
  w->pcm = calloc((size_t)w->frames * BLOCK, sizeof *w->pcm);
  w->dec = calloc((size_t)w->frames * BLOCK, sizeof *w->dec);
  w->pkt = calloc((size_t)w->frames, sizeof *w->pkt);
  w->plen = calloc((size_t)w->frames, sizeof *w->plen);
  w->buf = calloc(2 * BLOCK, sizeof *w->buf);
  rc = -ENOMEM;
  if (w->pcm == NULL || w->dec == NULL || w->pkt == NULL || w->plen == NULL || w->buf == NULL)
    goto fail;
  for (long got = 0, total = (long)w->frames * BLOCK; got < total;) {
    int n = audio_in_read(a, w->pcm + got, (int)(total - got > 4096 ? 4096 : total - got));
    if (n < 0) {
      rc = n;
      goto fail;
    }
    if (n == 0 && (rc = audio_in_rewind(a)) < 0)
      goto fail;
    got += n;
  }
  int err;
  enc = opus_encoder_create(DL_RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (enc == NULL)
    goto fail;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(DL_DEFAULT_BITRATE_MONO));
  opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(DL_DEFAULT_COMPLEXITY));
  for (int k = 0; k < w->frames; k++) {
    w->plen[k] = opus_encode(enc, w->pcm + (size_t)k * BLOCK, BLOCK, w->pkt[k], DL_MAX_PAYLOAD);
    if (w->plen[k] < 0) {
      rc = -EIO;
      goto fail;
    }
  }
  rc = 0;
fail:
  opus_encoder_destroy(enc);
  audio_in_close(a);
  return rc;
}

static int cmp_double(const void *a, const void *b)
{
  double u = *(const double *)a, v = *(const double *)b;
  return u < v ? -1 : u > v;
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void usage(FILE *f)
{
  fprintf(f,
"usage: tsm [--input FILE] [--seconds S] [--runs N]\n"
"  The cost of common/rx/tsm (pass-through, shortening and lengthening by\n"
"  10 %%, 20 ms blocks) against one bare Opus decode of the same audio, in\n"
"  thread CPU time per second of audio; one JSON line on stdout.\n"
"  --input FILE   audio, looped to --seconds (default tests/data/speech.flac)\n"
"  --seconds S    audio per pass, 1..600 (default 20)\n"
"  --runs N       repetitions, odd, 1..%d (default 7); medians are reported\n",
          RUNS_MAX);
}

int main(int argc, char **argv)
{
  const char *input = "tests/data/speech.flac";
  double seconds = 20;
  long runs = 7;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--input") && v != NULL) {
      input = v;
      i++;
    } else if (!strcmp(argv[i], "--seconds") && v != NULL) {
      if (args_double(v, 1, 600, &seconds) < 0) {
        fprintf(stderr, PROG ": --seconds: expected 1..600, got \"%s\"\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(argv[i], "--runs") && v != NULL) {
      if (args_long(v, 1, RUNS_MAX, &runs) < 0 || runs % 2 == 0) {
        fprintf(stderr, PROG ": --runs: expected an odd number 1..%d, got \"%s\"\n", RUNS_MAX, v);
        return 2;
      }
      i++;
    } else {
      fprintf(stderr, PROG ": unknown or incomplete option \"%s\"\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }

  struct work w = {0};
  int rc = prepare(&w, input, seconds);
  /* A first decode fills w.dec for the tsm passes, whatever the order, and
   * warms the caches. */
  struct result warm = {0};
  if (rc == 0)
    rc = do_decode(&w, &warm);
  static double cost[NPASS][RUNS_MAX], peak[NPASS][RUNS_MAX], ratio[NPASS][RUNS_MAX];
  long change[NPASS] = {0};
  for (int r = 0; rc == 0 && r < runs; r++) {
    struct result res[NPASS];
    memset(res, 0, sizeof res);
    for (int j = 0; j < NPASS && rc == 0; j++) {
      int p = (j + r) % NPASS;
      rc = p == DECODE ? do_decode(&w, &res[p])
                       : do_tsm(&w, p == PASS ? 0 : p == SHORTEN ? -0.1 : 0.1, &res[p]);
    }
    for (int p = 0; p < NPASS && rc == 0; p++) {
      cost[p][r] = res[p].cpu_ns / 1e3 / seconds;
      peak[p][r] = res[p].max_block_ns / 1e3;
      ratio[p][r] = res[p].cpu_ns / res[DECODE].cpu_ns;
      change[p] = res[p].change;
    }
  }
  if (rc < 0) {
    fprintf(stderr, PROG ": %s\n", strerror(-rc));
  } else {
    char buf[4096];
    struct json j;
    json_begin(&j, buf, sizeof buf);
    json_str(&j, "bench", "tsm");
    json_str(&j, "input", input);
    json_num(&j, "audio_s", (double)w.frames * BLOCK / DL_RATE, 2);
    json_u64(&j, "runs", (uint64_t)runs);
    json_u64(&j, "block_frames", BLOCK);
    for (int p = 0; p < NPASS; p++) {
      json_obj_begin(&j, pass_name[p]);
      json_num(&j, "us_per_s", median(cost[p], (int)runs), 1);
      json_num(&j, "max_block_us", median(peak[p], (int)runs), 1);
      if (p != DECODE)
        json_num(&j, "vs_decode", median(ratio[p], (int)runs), 3);
      if (p == SHORTEN || p == LENGTHEN)
        json_num(&j, "achieved_pct", 100.0 * (double)change[p] / ((double)w.frames * BLOCK), 2);
      json_obj_end(&j);
    }
    const char *line = json_end(&j);
    if (line != NULL)
      printf("%s\n", line);
    else
      rc = -ENOBUFS;
  }
  free(w.pcm);
  free(w.dec);
  free(w.pkt);
  free(w.plen);
  free(w.buf);
  return rc < 0 ? 1 : 0;
}
