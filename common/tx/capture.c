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

void capture_to_float(const void *raw, enum capture_fmt fmt, size_t samples, float *out)
{
  const uint8_t *b = raw;

  switch (fmt) {
  case CAPTURE_S16:
    for (size_t i = 0; i < samples; i++, b += 2)
      out[i] = (float)(int16_t)(b[0] | b[1] << 8) * (1.0f / 32768.0f);
    break;
  case CAPTURE_S24:
    for (size_t i = 0; i < samples; i++, b += 3) {
      /* Sign-extend from bit 23 through the top byte. */
      int32_t v = (int32_t)((uint32_t)b[0] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 24) >> 8;
      out[i] = (float)v * (1.0f / 8388608.0f);
    }
    break;
  case CAPTURE_S32:
    for (size_t i = 0; i < samples; i++, b += 4) {
      int32_t v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                            (uint32_t)b[3] << 24);
      out[i] = (float)((double)v * (1.0 / 2147483648.0));
    }
    break;
  case CAPTURE_F32:
    for (size_t i = 0; i < samples; i++, b += 4) {
      uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
      float f;
      memcpy(&f, &u, sizeof f);
      /* A NaN would poison the resampler's state for good. */
      out[i] = f == f ? f : 0.0f;
    }
    break;
  default:
    memset(out, 0, sizeof *out * samples);
    break;
  }
}

static uint32_t le32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const uint8_t *p)
{
  return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static int wav_bad(char *why, size_t cap, const char *msg)
{
  if (why && cap)
    snprintf(why, cap, "%s", msg);
  return -EPROTO;
}

int capture_parse_wav(const uint8_t *buf, size_t len, struct capture_raw *out, size_t *data_off,
                      char *why, size_t why_cap)
{
  size_t pos = 12;
  int have_fmt = 0;

  if (len < 12)
    return len >= 4 && memcmp(buf, "RIFF", 4) != 0 ? wav_bad(why, why_cap, "not a WAV (no RIFF header)")
                                                    : -EAGAIN;
  if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
    return wav_bad(why, why_cap, "not a WAV (no RIFF/WAVE header)");
  /* Chunks until "data"; each is padded to an even length. */
  for (;;) {
    if (pos + 8 > len)
      return pos + 8 > CAPTURE_WAV_MAX_HEADER ? wav_bad(why, why_cap, "WAV header too long") : -EAGAIN;
    const uint8_t *c = buf + pos;
    uint32_t size = le32(c + 4);
    if (memcmp(c, "data", 4) == 0) {
      if (!have_fmt)
        return wav_bad(why, why_cap, "WAV data before its fmt chunk");
      *data_off = pos + 8;
      return 0;
    }
    if (size > CAPTURE_WAV_MAX_HEADER || pos + 8 + size > CAPTURE_WAV_MAX_HEADER)
      return wav_bad(why, why_cap, "WAV header too long");
    if (pos + 8 + size > len)
      return -EAGAIN;
    if (memcmp(c, "fmt ", 4) == 0) {
      if (size < 16)
        return wav_bad(why, why_cap, "WAV fmt chunk too short");
      unsigned tag = le16(c + 8), ch = le16(c + 10), bits = le16(c + 22);
      uint32_t rate = le32(c + 12);
      if (tag == 0xfffe && size >= 40)
        tag = le16(c + 8 + 24);   /* WAVE_FORMAT_EXTENSIBLE: the sub-format GUID's first two bytes */
      if (tag == 1 && bits == 16)
        out->fmt = CAPTURE_S16;
      else if (tag == 1 && bits == 24)
        out->fmt = CAPTURE_S24;
      else if (tag == 1 && bits == 32)
        out->fmt = CAPTURE_S32;
      else if (tag == 3 && bits == 32)
        out->fmt = CAPTURE_F32;
      else
        return wav_bad(why, why_cap, "WAV sample format not supported live "
                                     "(PCM 16/24/32 bit or float 32 bit)");
      if (ch < 1 || ch > 8)
        return wav_bad(why, why_cap, "WAV channels must be 1..8");
      if (rate < 1000 || rate > 384000)
        return wav_bad(why, why_cap, "WAV sample rate must be 1000..384000 Hz");
      if (le16(c + 20) != ch * (unsigned)capture_fmt_bytes(out->fmt))
        return wav_bad(why, why_cap, "WAV block alignment does not match its format");
      out->rate = (int)rate;
      out->channels = (int)ch;
      have_fmt = 1;
    }
    pos += 8 + size + (size & 1);
  }
}
