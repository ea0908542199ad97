/* Three stages on float samples, in chunks of DL_AUDIO_IN_CHUNK input
 * frames: libsndfile read (any sample format, normalised to [-1, 1)) ->
 * channel mix (downmix or up/down to the output channels) -> speexdsp
 * resampler to 48 kHz -> int16 with clipping.
 *
 * Exact duration: speex_resampler_skip_zeros removes the filter's leading
 * delay, so output frame j is input time j/48000; at the end of the file the
 * resampler is fed zeros until it has produced round(in * 48000 / rate)
 * frames, and the rest is dropped. A 48 kHz file bypasses the resampler. */
#include "tx/audio_in.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>
#include <speex/speex_resampler.h>

#include "defaults.h"
#include "tx/capture.h"

#define OUT_CAP 4096                /* resampler output frames per call */
#define MAX_RATE 2000000            /* a larger rate is a broken header */

struct audio_in {
  SNDFILE *sf;
  int fd;                         /* the file, closed after sf_close */
  SpeexResamplerState *rs;        /* NULL when the file is at 48 kHz */
  struct audio_in_info info;

  float *raw;                     /* DL_AUDIO_IN_CHUNK * in_channels */
  float *mix;                     /* DL_AUDIO_IN_CHUNK * channels */
  size_t mix_len, mix_pos;        /* frames */
  float *out;                     /* OUT_CAP * channels (or the mix when bypassing) */
  const float *outp;
  size_t out_len, out_pos;        /* frames */

  int eof;                        /* the file is read to its end this pass */
  int done;                       /* this pass produced all its frames */
  int64_t in_count;               /* input frames read this pass */
  int64_t out_count;              /* 48 kHz frames produced this pass */
  int64_t target;                 /* out frames of this pass, once eof */
  int64_t flush_fed;              /* zero frames fed after eof */
};

__attribute__((format(printf, 3, 4)))
static void set_why(char *why, size_t cap, const char *fmt, ...)
{
  va_list ap;

  if (why == NULL || cap == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
}

/* round(in * 48000 / rate) without overflow. */
static int64_t scale_frames(int64_t in, int rate)
{
  int64_t q = in / rate, r = in % rate;
  return q * DL_RATE + (r * DL_RATE + rate / 2) / rate;
}

static void format_name(const SF_INFO *si, char *buf, size_t cap)
{
  SF_FORMAT_INFO fi;
  const char *major = "audio", *sub = "";

  memset(&fi, 0, sizeof fi);
  fi.format = si->format & SF_FORMAT_TYPEMASK;
  if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name != NULL)
    major = fi.name;
  memset(&fi, 0, sizeof fi);
  fi.format = si->format & SF_FORMAT_SUBMASK;
  if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name != NULL)
    sub = fi.name;
  snprintf(buf, cap, "%s%s%s", major, *sub ? ", " : "", sub);
}

/* raw: NULL for a file with a header (libsndfile finds its format). */
static int open_any(struct audio_in **out, const char *path, const struct capture_raw *raw,
                    int channels, int quality, char *why, size_t why_cap)
{
  struct audio_in *a = NULL;
  SF_INFO si;
  struct stat st;
  int fd = -1, err;

  if (out == NULL || path == NULL || channels < 0 || channels > DL_MAX_CHANNELS ||
      quality < 0 || quality > 10) {
    set_why(why, why_cap, "%s", "bad arguments");
    return -EINVAL;
  }
  *out = NULL;
  /* Open the file ourselves first, so that a missing or unreadable file
   * gets its errno rather than libsndfile's generic message. */
  /* "-" is standard input (a pipe): a duplicate, so that closing ours
   * leaves the process's descriptor 0 alone. libsndfile reads a WAV from a
   * pipe without seeking. */
  fd = strcmp(path, "-") == 0 ? fcntl(0, F_DUPFD_CLOEXEC, 3) : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = -errno;
    set_why(why, why_cap, "%s", strerror(errno));
    goto fail;
  }
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    err = -EISDIR;
    set_why(why, why_cap, "%s", "is a directory");
    goto fail;
  }
  a = calloc(1, sizeof *a);
  if (a == NULL) {
    err = -ENOMEM;
    set_why(why, why_cap, "%s", "out of memory");
    goto fail;
  }
  a->fd = -1;
  memset(&si, 0, sizeof si);
  if (raw != NULL) {
    static const int sub[] = {
      [CAPTURE_S16] = SF_FORMAT_PCM_16, [CAPTURE_S24] = SF_FORMAT_PCM_24,
      [CAPTURE_S32] = SF_FORMAT_PCM_32, [CAPTURE_F32] = SF_FORMAT_FLOAT,
    };
    si.samplerate = raw->rate;
    si.channels = raw->channels;
    si.format = SF_FORMAT_RAW | sub[raw->fmt] | SF_ENDIAN_LITTLE;
  }
  /* libsndfile does not close the descriptor (close_desc 0): we own it in
   * every outcome. */
  a->fd = fd;
  fd = -1;
  a->sf = sf_open_fd(a->fd, SFM_READ, &si, 0);
  if (a->sf == NULL) {
    const char *msg = sf_strerror(NULL);
    /* libsndfile (1.1 and later) refuses a header whose sample rate or
     * channel count is 0 with this internal message; say what it means. */
    if (strstr(msg, "SF_INFO") != NULL) {
      err = -ERANGE;
      set_why(why, why_cap, "the header gives a sample rate or channel count of 0 (%s)", msg);
    } else {
      err = -EPROTO;
      set_why(why, why_cap, "not an audio file libsndfile can read (%s)", msg);
    }
    goto fail;
  }
  if (si.samplerate <= 0 || si.samplerate > MAX_RATE) {
    err = -ERANGE;
    set_why(why, why_cap, "sample rate %d Hz is not usable", si.samplerate);
    goto fail;
  }
  if (si.channels <= 0) {
    err = -ERANGE;
    set_why(why, why_cap, "%s", "the file has no channels");
    goto fail;
  }

  a->info.in_rate = si.samplerate;
  a->info.in_channels = si.channels;
  a->info.channels = channels != 0 ? channels
                                   : (si.channels > DL_MAX_CHANNELS ? DL_MAX_CHANNELS : si.channels);
  a->info.downmixed = si.channels > DL_MAX_CHANNELS && a->info.channels == 2;
  a->info.resampled = si.samplerate != DL_RATE;
  a->info.in_frames = si.frames >= 0 && si.frames != SF_COUNT_MAX ? (int64_t)si.frames : -1;
  a->info.out_frames = a->info.in_frames >= 0 ? scale_frames(a->info.in_frames, si.samplerate) : -1;
  format_name(&si, a->info.format, sizeof a->info.format);

  a->raw = malloc(sizeof(float) * DL_AUDIO_IN_CHUNK * (size_t)si.channels);
  a->mix = malloc(sizeof(float) * DL_AUDIO_IN_CHUNK * (size_t)a->info.channels);
  a->out = malloc(sizeof(float) * OUT_CAP * (size_t)a->info.channels);
  if (a->raw == NULL || a->mix == NULL || a->out == NULL) {
    err = -ENOMEM;
    set_why(why, why_cap, "%s", "out of memory");
    goto fail;
  }
  if (a->info.resampled) {
    int rerr = 0;
    a->rs = speex_resampler_init((spx_uint32_t)a->info.channels, (spx_uint32_t)si.samplerate,
                                 DL_RATE, quality, &rerr);
    if (a->rs == NULL) {
      err = -ENOMEM;
      set_why(why, why_cap, "resampler: %s", speex_resampler_strerror(rerr));
      goto fail;
    }
    speex_resampler_skip_zeros(a->rs);
  }
  *out = a;
  return 0;

fail:
  if (fd >= 0)
    close(fd);
  audio_in_close(a);
  return err;
}

int audio_in_open(struct audio_in **out, const char *path, int channels, int quality,
                  char *why, size_t why_cap)
{
  return open_any(out, path, NULL, channels, quality, why, why_cap);
}

int audio_in_open_raw(struct audio_in **out, const char *path, const struct capture_raw *raw,
                      int channels, int quality, char *why, size_t why_cap)
{
  if (raw == NULL || capture_fmt_bytes(raw->fmt) == 0 || raw->rate <= 0 || raw->channels <= 0) {
    set_why(why, why_cap, "%s", "bad arguments");
    return -EINVAL;
  }
  return open_any(out, path, raw, channels, quality, why, why_cap);
}

void audio_in_close(struct audio_in *a)
{
  if (a == NULL)
    return;
  if (a->sf != NULL)
    sf_close(a->sf);
  if (a->fd >= 0)
    close(a->fd);
  if (a->rs != NULL)
    speex_resampler_destroy(a->rs);
  free(a->raw);
  free(a->mix);
  free(a->out);
  free(a);
}

void audio_mix(const float *raw, int ic, float *mix, int oc, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const float *s = raw + i * (size_t)ic;
    float *d = mix + i * (size_t)oc;
    if (ic == oc) {
      memcpy(d, s, sizeof(float) * (size_t)oc);
    } else if (oc == 1) {
      float sum = 0;
      for (int c = 0; c < ic; c++)
        sum += s[c];
      d[0] = sum / (float)ic;
    } else if (ic == 1) {
      d[0] = d[1] = s[0];
    } else {
      /* More than two channels: the first two are left and right; every
       * other one goes to both sides at half weight (a centre-like
       * fold-down); each side is normalised so it cannot clip. */
      float rest = 0;
      for (int c = 2; c < ic; c++)
        rest += s[c];
      float norm = 1.0f + 0.5f * (float)(ic - 2);
      d[0] = (s[0] + 0.5f * rest) / norm;
      d[1] = (s[1] + 0.5f * rest) / norm;
    }
  }
}

/* raw (in_channels) -> mix (channels), n frames. */
static void mix_frames(struct audio_in *a, size_t n)
{
  audio_mix(a->raw, a->info.in_channels, a->mix, a->info.channels, n);
}

/* Fills a->outp/out_len with the next block of 48 kHz frames. Returns 0,
 * or a negative errno. Sets done when the pass has no more frames. */
static int produce(struct audio_in *a)
{
  size_t oc = (size_t)a->info.channels;

  a->out_pos = a->out_len = 0;
  if (a->mix_pos == a->mix_len) {
    a->mix_pos = a->mix_len = 0;
    if (!a->eof) {
      sf_count_t got = sf_readf_float(a->sf, a->raw, DL_AUDIO_IN_CHUNK);
      if (got < 0)
        return -EIO;
      if (got == 0) {
        if (sf_error(a->sf) != SF_ERR_NO_ERROR)
          return -EIO;
        a->eof = 1;
        a->target = scale_frames(a->in_count, a->info.in_rate);
      } else {
        a->in_count += got;
        mix_frames(a, (size_t)got);
        a->mix_len = (size_t)got;
      }
    }
    if (a->eof) {
      if (a->rs == NULL || a->out_count >= a->target) {
        a->done = 1;
        return 0;
      }
      /* Flush the resampler's tail with silence. Its input latency is
       * enough in theory; the bound guards against a resampler that
       * never catches up (the remainder is then padded with zeros). */
      if (a->flush_fed > 4 * (int64_t)speex_resampler_get_input_latency(a->rs) + 4 * DL_AUDIO_IN_CHUNK) {
        size_t n = (size_t)(a->target - a->out_count);
        if (n > OUT_CAP)
          n = OUT_CAP;
        memset(a->out, 0, sizeof(float) * n * oc);
        a->outp = a->out;
        a->out_len = n;
        a->out_count += (int64_t)n;
        return 0;
      }
      memset(a->mix, 0, sizeof(float) * DL_AUDIO_IN_CHUNK * oc);
      a->mix_len = DL_AUDIO_IN_CHUNK;
      a->flush_fed += DL_AUDIO_IN_CHUNK;
    }
  }
  if (a->rs == NULL) {
    a->outp = a->mix;
    a->out_len = a->mix_len;
    a->mix_pos = a->mix_len;
  } else {
    spx_uint32_t in_len = (spx_uint32_t)(a->mix_len - a->mix_pos);
    spx_uint32_t out_len = OUT_CAP;
    speex_resampler_process_interleaved_float(a->rs, a->mix + a->mix_pos * oc, &in_len,
                                              a->out, &out_len);
    a->mix_pos += in_len;
    a->outp = a->out;
    a->out_len = out_len;
  }
  if (a->eof && a->out_count + (int64_t)a->out_len > a->target)
    a->out_len = (size_t)(a->target - a->out_count);
  a->out_count += (int64_t)a->out_len;
  return 0;
}

int16_t audio_to_s16(float v)
{
  float s = v * 32768.0f;
  if (s >= 32767.0f)
    return 32767;
  if (s <= -32768.0f)
    return -32768;
  return (int16_t)lrintf(s);
}

int audio_in_read(struct audio_in *a, int16_t *pcm, int frames)
{
  size_t oc = (size_t)a->info.channels;
  int n = 0;

  while (n < frames) {
    if (a->out_pos < a->out_len) {
      size_t take = a->out_len - a->out_pos;
      if (take > (size_t)(frames - n))
        take = (size_t)(frames - n);
      const float *s = a->outp + a->out_pos * oc;
      int16_t *d = pcm + (size_t)n * oc;
      for (size_t i = 0; i < take * oc; i++)
        d[i] = audio_to_s16(s[i]);
      a->out_pos += take;
      n += (int)take;
      continue;
    }
    if (a->done)
      break;
    int err = produce(a);
    if (err < 0)
      return err;
  }
  return n;
}

int audio_in_rewind(struct audio_in *a)
{
  if (sf_seek(a->sf, 0, SEEK_SET) < 0)
    return -EIO;
  if (a->rs != NULL) {
    speex_resampler_reset_mem(a->rs);
    speex_resampler_skip_zeros(a->rs);
  }
  a->mix_len = a->mix_pos = a->out_len = a->out_pos = 0;
  a->eof = a->done = 0;
  a->in_count = a->out_count = a->target = a->flush_fed = 0;
  return 0;
}

void audio_in_get_info(const struct audio_in *a, struct audio_in_info *out)
{
  *out = a->info;
}
