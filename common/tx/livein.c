/* Live input (livein.h): raw bytes -> whole input frames (a split one is
 * carried over) -> float, in chunks of CHUNK frames -> channel mix ->
 * resampler (bypassed at 48 kHz) -> the framer.
 *
 * The framer holds one frame being filled (fill samples) and the silence
 * owed to a gap (zeros, 48 kHz frames). Owed silence is placed before the
 * next audio: into the frame being filled, or, while a whole frame of it
 * is owed at a frame boundary, as a skipped frame (skip, reported with
 * the next frame). So a gap of G samples that starts f samples into a
 * frame pads that frame, skips (G - (frame - f)) / frame frames and starts
 * the next one with the rest: every sample after it keeps its place.
 *
 * Through the resampler, the samples captured before a gap are still in
 * its filter when the gap comes: the first input-latency frames of the gap
 * are fed to it as zeros, which pushes them out in order, and only the
 * rest is owed to the framer (converted to 48 kHz on a running total, so
 * that many gaps do not accumulate rounding). */
#include "tx/livein.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include "defaults.h"
#include "tx/audio_in.h"

#define CHUNK 256                       /* input frames converted at a time */
#define OUT_CAP (CHUNK * 48 + 64)       /* resampler output frames per chunk (1 kHz -> 48 kHz) */

struct livein {
  struct livein_config cfg;
  SpeexResamplerState *rs;        /* NULL at 48 kHz */
  size_t in_bytes;                /* bytes per input frame */
  uint8_t carry[8 * 4];           /* a partial input frame */
  size_t carry_len;
  float *raw;                     /* CHUNK * in_channels */
  float *mix;                     /* CHUNK * channels */
  float *out;                     /* OUT_CAP * channels */
  float *zero;                    /* CHUNK * channels of silence */

  int16_t *frame;                 /* frame_samples * channels */
  int fill;                       /* samples in frame */
  int64_t zeros;                  /* 48 kHz frames of silence owed */
  unsigned skip;                  /* frames skipped before the next one */
  int64_t gap_in, gap_out;        /* the gaps' running totals, input and 48 kHz frames */
};

static int64_t scale_frames(int64_t in, int rate)
{
  int64_t q = in / rate, r = in % rate;
  return q * DL_RATE + (r * DL_RATE + rate / 2) / rate;
}

int livein_create(struct livein **out, const struct livein_config *cfg)
{
  struct livein *li;
  int bytes = cfg != NULL ? capture_fmt_bytes(cfg->fmt) : 0;

  if (out == NULL || bytes == 0 || cfg->rate < 1000 || cfg->rate > 384000 || cfg->in_channels < 1 ||
      cfg->in_channels > 8 || cfg->channels < 1 || cfg->channels > DL_MAX_CHANNELS ||
      cfg->frame_samples <= 0 || cfg->frame_samples > DL_MAX_PACKET_SAMPLES || cfg->quality < 0 ||
      cfg->quality > 10)
    return -EINVAL;
  *out = NULL;
  li = calloc(1, sizeof *li);
  if (li == NULL)
    return -ENOMEM;
  li->cfg = *cfg;
  li->in_bytes = (size_t)bytes * (size_t)cfg->in_channels;
  li->raw = malloc(sizeof(float) * CHUNK * (size_t)cfg->in_channels);
  li->mix = malloc(sizeof(float) * CHUNK * (size_t)cfg->channels);
  li->out = malloc(sizeof(float) * OUT_CAP * (size_t)cfg->channels);
  li->zero = calloc(CHUNK * (size_t)cfg->channels, sizeof(float));
  li->frame = calloc((size_t)cfg->frame_samples * (size_t)cfg->channels, sizeof *li->frame);
  if (li->raw == NULL || li->mix == NULL || li->out == NULL || li->zero == NULL || li->frame == NULL)
    goto fail;
  if (cfg->rate != DL_RATE) {
    int err = 0;
    li->rs = speex_resampler_init((spx_uint32_t)cfg->channels, (spx_uint32_t)cfg->rate, DL_RATE,
                                  cfg->quality, &err);
    if (li->rs == NULL)
      goto fail;
    /* Output sample j is input time j / 48000: the timeline starts with
     * the first captured sample, not the filter's delay. */
    speex_resampler_skip_zeros(li->rs);
  }
  *out = li;
  return 0;

fail:
  livein_destroy(li);
  return -ENOMEM;
}

void livein_destroy(struct livein *li)
{
  if (li == NULL)
    return;
  if (li->rs != NULL)
    speex_resampler_destroy(li->rs);
  free(li->raw);
  free(li->mix);
  free(li->out);
  free(li->zero);
  free(li->frame);
  free(li);
}

/* ---- the framer ------------------------------------------------------------ */

static int frame_out(struct livein *li, livein_frame_fn *fn, void *arg)
{
  unsigned skip = li->skip;
  li->skip = 0;
  li->fill = 0;
  return fn(arg, li->frame, skip);
}

/* Places the silence owed. Returns 0 or fn's stop value. */
static int place_zeros(struct livein *li, livein_frame_fn *fn, void *arg)
{
  int fs = li->cfg.frame_samples, ch = li->cfg.channels, rc;

  while (li->zeros > 0) {
    if (li->fill == 0 && li->zeros >= fs) {
      li->skip += (unsigned)(li->zeros / fs);
      li->zeros %= fs;
      continue;
    }
    int n = fs - li->fill;
    if (n > li->zeros)
      n = (int)li->zeros;
    memset(li->frame + (size_t)li->fill * (size_t)ch, 0, sizeof *li->frame * (size_t)n * (size_t)ch);
    li->fill += n;
    li->zeros -= n;
    if (li->fill == fs && (rc = frame_out(li, fn, arg)) != 0)
      return rc;
  }
  return 0;
}


/* n frames of 48 kHz audio at x. Returns 0 or fn's stop value. */
static int put_audio(struct livein *li, const float *x, size_t n, livein_frame_fn *fn, void *arg)
{
  int fs = li->cfg.frame_samples, ch = li->cfg.channels, rc;

  if ((rc = place_zeros(li, fn, arg)) != 0)
    return rc;
  while (n > 0) {
    size_t take = (size_t)(fs - li->fill);
    if (take > n)
      take = n;
    int16_t *d = li->frame + (size_t)li->fill * (size_t)ch;
    for (size_t i = 0; i < take * (size_t)ch; i++)
      d[i] = audio_to_s16(x[i]);
    li->fill += (int)take;
    x += take * (size_t)ch;
    n -= take;
    if (li->fill == fs && (rc = frame_out(li, fn, arg)) != 0)
      return rc;
  }
  return 0;
}

/* ---- conversion ------------------------------------------------------------ */

/* raw (in_channels) -> mix (channels), n frames, as a file is mixed. */
static void mix_frames(struct livein *li, size_t n)
{
  audio_mix(li->raw, li->cfg.in_channels, li->mix, li->cfg.channels, n);
}

/* n (<= CHUNK) frames at the input rate, mixed, at x: resampled to the
 * framer. Returns 0 or fn's stop value. */
static int resample(struct livein *li, const float *x, size_t n, livein_frame_fn *fn, void *arg)
{
  size_t ch = (size_t)li->cfg.channels;
  int rc;

  if (li->rs == NULL)
    return put_audio(li, x, n, fn, arg);
  while (n > 0) {
    spx_uint32_t in_len = (spx_uint32_t)n, out_len = OUT_CAP;
    speex_resampler_process_interleaved_float(li->rs, x, &in_len, li->out, &out_len);
    if ((rc = put_audio(li, li->out, out_len, fn, arg)) != 0)
      return rc;
    if (in_len == 0 && out_len == 0)
      break;   /* cannot happen with OUT_CAP; never spin */
    x += (size_t)in_len * ch;
    n -= in_len;
  }
  return 0;
}

/* n whole input frames at p. */
static int convert(struct livein *li, const uint8_t *p, size_t n, livein_frame_fn *fn, void *arg)
{
  size_t ic = (size_t)li->cfg.in_channels;
  int rc;

  while (n > 0) {
    size_t k = n < CHUNK ? n : CHUNK;
    capture_to_float(p, li->cfg.fmt, k * ic, li->raw);
    mix_frames(li, k);
    if ((rc = resample(li, li->mix, k, fn, arg)) != 0)
      return rc;
    p += k * li->in_bytes;
    n -= k;
  }
  return 0;
}

int livein_feed(struct livein *li, const void *raw, size_t bytes, livein_frame_fn *fn, void *arg)
{
  const uint8_t *p = raw;
  int rc;

  if (li->carry_len > 0) {
    size_t take = li->in_bytes - li->carry_len;
    if (take > bytes)
      take = bytes;
    memcpy(li->carry + li->carry_len, p, take);
    li->carry_len += take;
    p += take;
    bytes -= take;
    if (li->carry_len < li->in_bytes)
      return 0;
    li->carry_len = 0;
    if ((rc = convert(li, li->carry, 1, fn, arg)) != 0)
      return rc;
  }
  size_t n = bytes / li->in_bytes;
  if ((rc = convert(li, p, n, fn, arg)) != 0)
    return rc;
  li->carry_len = bytes - n * li->in_bytes;
  memcpy(li->carry, p + n * li->in_bytes, li->carry_len);
  return 0;
}

/* Zeros at the input rate through the resampler: n frames. */
static int feed_zeros(struct livein *li, int64_t n, livein_frame_fn *fn, void *arg)
{
  int rc;
  while (n > 0) {
    size_t k = n < CHUNK ? (size_t)n : CHUNK;
    if ((rc = resample(li, li->zero, k, fn, arg)) != 0)
      return rc;
    n -= (int64_t)k;
  }
  return 0;
}

int livein_gap(struct livein *li, int64_t in_frames, livein_frame_fn *fn, void *arg)
{
  int rc;

  if (in_frames <= 0)
    return 0;
  /* A partial sample before the gap belongs to nothing now. */
  li->carry_len = 0;
  if (li->rs != NULL) {
    int64_t flush = (int64_t)speex_resampler_get_input_latency(li->rs);
    if (flush > in_frames)
      flush = in_frames;
    if ((rc = feed_zeros(li, flush, fn, arg)) != 0)
      return rc;
    in_frames -= flush;
  }
  li->gap_in += in_frames;
  int64_t total = scale_frames(li->gap_in, li->cfg.rate);
  li->zeros += total - li->gap_out;
  li->gap_out = total;
  return place_zeros(li, fn, arg);
}

int livein_flush(struct livein *li, livein_frame_fn *fn, void *arg)
{
  int rc;

  li->carry_len = 0;
  if (li->rs != NULL &&
      (rc = feed_zeros(li, (int64_t)speex_resampler_get_input_latency(li->rs), fn, arg)) != 0)
    return rc;
  if ((rc = place_zeros(li, fn, arg)) != 0)
    return rc;
  if (li->fill == 0)
    return 0;
  li->zeros = li->cfg.frame_samples - li->fill;
  return place_zeros(li, fn, arg);
}

int livein_held(const struct livein *li)
{
  return li->fill + (li->rs != NULL ? (int)speex_resampler_get_output_latency(li->rs) : 0);
}
