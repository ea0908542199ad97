/* stretch: plays a WAV through the receiver's drift resampler at a ratio
 * that moves, to make the time stretch a receiver makes, for wavcmp's
 * self-tests.
 *
 *   build/tools/stretch --ratio 1.005:1 --seconds 10 in.wav out.wav
 *
 * The resampler is set up as common/rx/rxpipe.c sets it up: speexdsp,
 * quality 1, the ratio as num / 65536 (its interpolating mode), the
 * leading zeros skipped, and pulled in 5 ms output blocks as the
 * playback thread pulls them; the ratio is set again before every block.
 * A ratio is input samples per output sample (the receiver's
 * resample_ratio): above 1 the output is shorter (plays faster), below 1
 * longer. With R0:R1:... it moves linearly from each ratio to the next
 * over --seconds of output, and stays at the last. Prints one line:
 * frames in and out. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>
#include <speex/speex_resampler.h>

#include "defaults.h"
#include "util/args.h"

#define PROG "stretch"
#define RS_QUALITY 1
#define RS_DEN 65536
#define BLOCK (DL_RATE / 200)
#define MAX_POINTS 16

static void usage(FILE *f)
{
  fprintf(f,
"usage: stretch --ratio R0[:R1...] [--seconds S] IN.wav OUT.wav\n"
"  Resamples IN (mono, 48 kHz) as the receiver's drift resampler does\n"
"  (speexdsp quality 1, num/65536, 5 ms blocks) at ratio R0 (input per\n"
"  output sample, 0.9..1.1), moving linearly to R1, then to the next, each\n"
"  over S seconds of output (default 10), and staying at the last (at most\n"
"  %d ratios). Writes OUT.wav, 16 bit.\n", MAX_POINTS);
}

static int parse_ratios(const char *s, double *r, int *n)
{
  *n = 0;
  while (*n < MAX_POINTS) {
    char a[64];
    const char *c = strchr(s, ':');
    size_t len = c ? (size_t)(c - s) : strlen(s);
    if (len == 0 || len >= sizeof a)
      return -1;
    memcpy(a, s, len);
    a[len] = '\0';
    if (args_double(a, 0.9, 1.1, &r[(*n)++]) < 0)
      return -1;
    if (c == NULL)
      return 0;
    s = c + 1;
  }
  return -1;
}

int main(int argc, char **argv)
{
  double r[MAX_POINTS], seconds = 10;
  int nr = 0;
  const char *in_path = NULL, *out_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--ratio") && v != NULL) {
      if (parse_ratios(v, r, &nr) < 0) {
        fprintf(stderr, PROG ": --ratio: expected R0[:R1...] (at most %d) within 0.9..1.1, got \"%s\"\n",
                MAX_POINTS, v);
        return 2;
      }
      i++;
    } else if (!strcmp(argv[i], "--seconds") && v != NULL) {
      if (args_double(v, 0.001, 1e6, &seconds) < 0) {
        fprintf(stderr, PROG ": --seconds: expected seconds > 0, got \"%s\"\n", v);
        return 2;
      }
      i++;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, PROG ": unknown or incomplete option \"%s\"\n", argv[i]);
      return 2;
    } else if (in_path == NULL) {
      in_path = argv[i];
    } else if (out_path == NULL) {
      out_path = argv[i];
    } else {
      fprintf(stderr, PROG ": one input and one output, not \"%s\"\n", argv[i]);
      return 2;
    }
  }
  if (nr == 0 || in_path == NULL || out_path == NULL) {
    usage(stderr);
    return 2;
  }

  SF_INFO ii = {0};
  SNDFILE *in = sf_open(in_path, SFM_READ, &ii);
  if (in == NULL) {
    fprintf(stderr, PROG ": %s: %s\n", in_path, sf_strerror(NULL));
    return 1;
  }
  if (ii.samplerate != DL_RATE || ii.channels != 1 || ii.frames <= 0) {
    fprintf(stderr, PROG ": %s: expected mono at %d Hz\n", in_path, DL_RATE);
    sf_close(in);
    return 1;
  }
  size_t n = (size_t)ii.frames;
  short *x = malloc((n + (size_t)BLOCK * 4) * sizeof *x);
  short *y = malloc((size_t)BLOCK * sizeof *y);
  int err = 0, rc = 1;
  SNDFILE *out = NULL;
  SpeexResamplerState *rs = speex_resampler_init_frac(1, RS_DEN, RS_DEN, DL_RATE, DL_RATE, RS_QUALITY, &err);
  if (x == NULL || y == NULL || rs == NULL) {
    fprintf(stderr, PROG ": %s\n", rs == NULL && x && y ? speex_resampler_strerror(err) : strerror(ENOMEM));
    goto fail;
  }
  if ((size_t)sf_readf_short(in, x, (sf_count_t)n) != n) {
    fprintf(stderr, PROG ": %s: short read\n", in_path);
    goto fail;
  }
  /* Zeros past the end flush the filter's tail. */
  memset(x + n, 0, (size_t)BLOCK * 4 * sizeof *x);
  speex_resampler_skip_zeros(rs);
  SF_INFO oi = {.samplerate = DL_RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  out = sf_open(out_path, SFM_WRITE, &oi);
  if (out == NULL) {
    fprintf(stderr, PROG ": %s: %s\n", out_path, sf_strerror(NULL));
    goto fail;
  }
  size_t pos = 0, total = n + (size_t)BLOCK * 4;
  long produced = 0;
  spx_uint32_t num = RS_DEN;
  while (pos < total) {
    double t = (double)produced / DL_RATE / seconds, ratio = r[nr - 1];
    int k = (int)floor(t);
    if (k < nr - 1)
      ratio = r[k] + (r[k + 1] - r[k]) * (t - k);
    spx_uint32_t want = (spx_uint32_t)lround(ratio * RS_DEN);
    if (want != num) {
      num = want;
      speex_resampler_set_rate_frac(rs, num, RS_DEN, DL_RATE, DL_RATE);
    }
    spx_uint32_t in_len = (spx_uint32_t)(total - pos), out_len = BLOCK;
    speex_resampler_process_int(rs, 0, x + pos, &in_len, y, &out_len);
    if (in_len == 0 && out_len == 0)
      break;
    pos += in_len;
    if (sf_writef_short(out, y, out_len) != (sf_count_t)out_len) {
      fprintf(stderr, PROG ": %s: %s\n", out_path, sf_strerror(out));
      goto fail;
    }
    produced += (long)out_len;
  }
  printf("stretch: %zu frames in, %ld out\n", n, produced);
  rc = 0;
fail:
  if (out != NULL)
    sf_close(out);
  sf_close(in);
  if (rs != NULL)
    speex_resampler_destroy(rs);
  free(x);
  free(y);
  return rc;
}
