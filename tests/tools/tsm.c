/* tsm: applies a playback rate to a WAV through common/rx/tsm, for
 * listening to what the receiver's time-scale modification does.
 *
 *   build/tools/tsm --rate 1.1 in.wav out.wav
 *
 * The input (any file libsndfile reads, mono or stereo, resampled to
 * 48 kHz) is cut into 20 ms blocks; each asks tsm for what a ramp at the
 * rate owes by the end of the block plus one longest period, as the
 * receiver should. A rate above 1 shortens (plays faster), below 1
 * lengthens. --seconds limits the stretch that is modified; the rest
 * passes through. The output is 16-bit WAV at 48 kHz. Prints one line:
 * the change achieved and the splices made. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "defaults.h"
#include "rx/tsm.h"
#include "tx/audio_in.h"
#include "util/args.h"

#define PROG "tsm"
#define BLOCK 960

static void usage(FILE *f)
{
  fprintf(f,
"usage: tsm --rate R [--from S] [--seconds S] IN OUT.wav\n"
"  Plays IN at rate R (0.5..2; 1.1: 10 %% faster, 0.9: 10 %% slower) by\n"
"  common/rx/tsm, pitch unchanged, and writes OUT.wav (48 kHz, 16 bit).\n"
"  --from S      start modifying S seconds in (default 0)\n"
"  --seconds S   modify this long, then pass through (default: to the end)\n");
}

int main(int argc, char **argv)
{
  double rate = 0, from = 0, seconds = 1e9;
  const char *in_path = NULL, *out_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--rate") && v != NULL) {
      if (args_double(v, 0.5, 2, &rate) < 0) {
        fprintf(stderr, PROG ": --rate: expected 0.5..2, got \"%s\"\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(argv[i], "--from") && v != NULL) {
      if (args_double(v, 0, 1e6, &from) < 0) {
        fprintf(stderr, PROG ": --from: expected seconds >= 0, got \"%s\"\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(argv[i], "--seconds") && v != NULL) {
      if (args_double(v, 0, 1e6, &seconds) < 0) {
        fprintf(stderr, PROG ": --seconds: expected seconds >= 0, got \"%s\"\n", v);
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
  if (rate == 0 || in_path == NULL || out_path == NULL) {
    usage(stderr);
    return 2;
  }

  struct audio_in *a = NULL;
  struct audio_in_info info;
  struct tsm *t = NULL;
  SNDFILE *sf = NULL;
  char why[256] = "";
  int rc = audio_in_open(&a, in_path, 0, DL_RESAMPLE_QUALITY, why, sizeof why);
  if (rc < 0) {
    fprintf(stderr, PROG ": %s: %s\n", in_path, why[0] ? why : strerror(-rc));
    return 1;
  }
  audio_in_get_info(a, &info);
  int ch = info.channels;
  struct tsm_config cfg = {.channels = ch};
  int16_t *buf = malloc((size_t)2 * BLOCK * ch * sizeof *buf);
  SF_INFO si = {.samplerate = DL_RATE, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  if (buf == NULL || (rc = tsm_create(&t, &cfg)) < 0) {
    fprintf(stderr, PROG ": %s\n", strerror(rc < 0 ? -rc : ENOMEM));
    rc = -1;
    goto fail;
  }
  sf = sf_open(out_path, SFM_WRITE, &si);
  if (sf == NULL) {
    fprintf(stderr, PROG ": %s: %s\n", out_path, sf_strerror(NULL));
    rc = -1;
    goto fail;
  }
  long in = 0, changed = 0, splices = 0, quiet = 0;
  long start = (long)(from * DL_RATE), stop = start + (long)(seconds * DL_RATE);
  double speed = fabs(1 - 1 / rate);   /* change per input frame */
  long total = (long)lrint(speed * (double)(stop - start));
  int lead = DL_RATE * DL_TSM_MAX_LAG_US / 1000000;
  for (;;) {
    int n = audio_in_read(a, buf, BLOCK);
    if (n < 0) {
      fprintf(stderr, PROG ": %s: %s\n", in_path, strerror(-n));
      rc = -1;
      goto fail;
    }
    if (n == 0)
      break;
    int want = 0;
    if (in + n > start && in < stop) {
      long due = (long)lrint(speed * (double)(in + n - start)) + lead;
      if (due > total)
        due = total;
      long owed = due - labs(changed);
      want = rate > 1 ? -(int)owed : (int)owed;
    }
    struct tsm_result res;
    int got = tsm_process(t, buf, n, 2 * BLOCK, want, &res);
    if (got < 0) {
      fprintf(stderr, PROG ": tsm: %s\n", strerror(-got));
      rc = -1;
      goto fail;
    }
    for (int k = 0; k < res.n; k++)
      quiet += res.s[k].kind == TSM_QUIET;
    splices += res.n;
    changed += res.change;
    in += n;
    if (sf_writef_short(sf, buf, got) != got) {
      fprintf(stderr, PROG ": %s: %s\n", out_path, sf_strerror(sf));
      rc = -1;
      goto fail;
    }
  }
  printf("tsm: %ld input frames, change %+ld frames (%+.1f ms), %ld splices (%ld in pauses)\n",
         in, changed, changed * 1000.0 / DL_RATE, splices, quiet);
  rc = 0;
fail:
  if (sf != NULL)
    sf_close(sf);
  tsm_destroy(t);
  audio_in_close(a);
  free(buf);
  return rc < 0 ? 1 : 0;
}
