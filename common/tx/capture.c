/* Pure helpers for live input (capture.h). */
#include "tx/capture.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int say(char *why, size_t cap, const char *msg, const char *spec)
{
  if (why && cap)
    snprintf(why, cap, "%s, got \"%s\" (expected RATE:CHANNELS:FORMAT, e.g. 48000:2:s16)",
             msg, spec);
  return -EINVAL;
}

/* A decimal in [min, max] that runs up to the next ':' (or the end). */
static int field(const char **p, long min, long max, long *out)
{
  char *end;
  if (**p < '0' || **p > '9')
    return -1;
  errno = 0;
  long v = strtol(*p, &end, 10);
  if (errno || v < min || v > max || (*end != ':' && *end != '\0'))
    return -1;
  *out = v;
  *p = end;
  return 0;
}

int capture_parse_raw(const char *spec, struct capture_raw *out, char *why, size_t why_cap)
{
  const char *p = spec;
  long rate, ch;

  if (!spec || !out)
    return -EINVAL;
  if (field(&p, 1000, 384000, &rate) < 0 || *p != ':')
    return say(why, why_cap, "--raw: RATE must be 1000..384000 Hz", spec);
  p++;
  if (field(&p, 1, 8, &ch) < 0 || *p != ':')
    return say(why, why_cap, "--raw: CHANNELS must be 1..8", spec);
  p++;
  enum capture_fmt f;
  if (strcmp(p, "s16") == 0)
    f = CAPTURE_S16;
  else if (strcmp(p, "s24") == 0)
    f = CAPTURE_S24;
  else if (strcmp(p, "s32") == 0)
    f = CAPTURE_S32;
  else if (strcmp(p, "f32") == 0)
    f = CAPTURE_F32;
  else
    return say(why, why_cap, "--raw: FORMAT must be s16, s24, s32 or f32", spec);
  out->rate = (int)rate;
  out->channels = (int)ch;
  out->fmt = f;
  return 0;
}

int capture_fmt_bytes(enum capture_fmt fmt)
{
  switch (fmt) {
  case CAPTURE_S16: return 2;
  case CAPTURE_S24: return 3;
  case CAPTURE_S32: return 4;
  case CAPTURE_F32: return 4;
  }
  return 0;
}

void capture_peak_feed(struct capture_peak *p, const int16_t *pcm, size_t samples)
{
  int peak = p->peak;
  for (size_t i = 0; i < samples; i++) {
    int v = pcm[i] < 0 ? -(int)pcm[i] : pcm[i];   /* -32768 gives 32768: full scale */
    if (v > peak)
      peak = v;
  }
  p->peak = peak;
}

double capture_peak_take(struct capture_peak *p)
{
  int peak = p->peak;
  p->peak = 0;
  if (peak == 0)
    return CAPTURE_SILENCE_DBFS;
  return 20.0 * log10((double)peak / 32768.0);
}

void capture_meter(double dbfs, char *out, int width)
{
  if (width < 0)
    width = 0;
  /* A cell lights when the level reaches its lower edge: -60 dBFS lights
   * none, 0 dBFS all of them. */
  double frac = (dbfs + 60.0) / 60.0;
  int lit = frac <= 0 ? 0 : frac >= 1 ? width : (int)floor(frac * width + 1e-9);
  for (int i = 0; i < width; i++)
    out[i] = i < lit ? '#' : '-';
  out[width] = '\0';
}

int64_t capture_gap_frames(int64_t last_ns, int64_t now_ns, int64_t got, int rate)
{
  if (now_ns <= last_ns || rate <= 0)
    return 0;
  __int128 num = (__int128)(now_ns - last_ns) * rate;
  int64_t expected = (int64_t)((num + 500000000) / 1000000000);
  int64_t lost = expected - got;
  return lost > 0 ? lost : 0;
}
