/* The ALSA sink: S16 interleaved at 48 kHz, a period of about
 * DL_ALSA_PERIOD_US and a buffer of DL_ALSA_PERIODS periods on a card or
 * DL_ALSA_SERVER_BUFFER_MS through a sound server's plugin (or as told),
 * in blocking mode.
 * The playback thread waits for room for one period (snd_pcm_wait, bounded
 * so it can look at its stop flag), asks snd_pcm_delay how much is still
 * queued (that is when the next frame will be heard), then writes. Write
 * errors are handled as aplay's pcm_write does: -EAGAIN wait, -EPIPE
 * (underrun) prepare and count, -ESTRPIPE (suspend) resume, else fatal. */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "defaults.h"
#include "shell/clock.h"
#include "sink_impl.h"

struct alsa_sink {
  struct sink base;             /* first */
  snd_pcm_t *pcm;
  snd_pcm_uframes_t buffer;
  int64_t t0;                   /* first wait, CLOCK_MONOTONIC; 0 before */
};

/* Recovers from an underrun or a suspend; counts underruns. Returns 0 or
 * the error when it is neither (or recovery failed). */
static int xrun_recover(struct alsa_sink *a, int err)
{
  if (err == -EPIPE) {
    atomic_fetch_add_explicit(&a->base.underruns, 1, memory_order_relaxed);
    err = snd_pcm_prepare(a->pcm);
    if (err < 0)
      snprintf(a->base.error, sizeof a->base.error, "cannot recover from underrun: %s", snd_strerror(err));
    return err;
  }
  if (err == -ESTRPIPE) {
    struct timespec pause = {0, 10000000};
    int tries = 0;
    while ((err = snd_pcm_resume(a->pcm)) == -EAGAIN && tries++ < 100)
      nanosleep(&pause, NULL);   /* wait until the suspend flag is released */
    if (err < 0)
      err = snd_pcm_prepare(a->pcm);
    if (err < 0)
      snprintf(a->base.error, sizeof a->base.error, "cannot resume: %s", snd_strerror(err));
    return err;
  }
  snprintf(a->base.error, sizeof a->base.error, "%s", snd_strerror(err));
  return err;
}

/* A device that takes audio faster than real time (ALSA's "null" PCM, a
 * file plugin without a clock) would have this SCHED_FIFO thread spin at
 * full speed. Let it run at most 1 % fast plus a second ahead of the
 * monotonic clock, which no real device's drift comes near. */
static void alsa_pace(struct alsa_sink *a)
{
  int64_t now = clock_mono_ns(), written_ns, allowed_ns;
  struct timespec ts;

  if (a->t0 == 0) {
    a->t0 = now;
    return;
  }
  written_ns = (int64_t)(atomic_load_explicit(&a->base.frames, memory_order_relaxed) * 1000000000 / DL_RATE);
  allowed_ns = (now - a->t0) + (now - a->t0) / 100 + 1000000000;
  if (written_ns <= allowed_ns)
    return;
  now += (written_ns - allowed_ns) * 100 / 101;   /* until it is allowed again */
  ts.tv_sec = (time_t)(now / 1000000000);
  ts.tv_nsec = (long)(now % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

static int alsa_wait(struct sink *s, int64_t *play_ns)
{
  struct alsa_sink *a = (struct alsa_sink *)s;
  snd_pcm_sframes_t avail, delay;
  int r;

  alsa_pace(a);
  for (int early = 0;; ) {
    avail = snd_pcm_avail_update(a->pcm);
    if (avail < 0) {
      r = xrun_recover(a, (int)avail);
      if (r < 0)
        return r;
      continue;
    }
    if (avail >= s->period)
      break;
    r = snd_pcm_wait(a->pcm, DL_ALSA_WAIT_MS);
    if (r == 0)
      return -ETIMEDOUT;
    if (r < 0) {
      r = xrun_recover(a, r);
      if (r < 0)
        return r;
    } else if (++early > 4) {
      /* Woken again and again with less than a period free (a plugin
       * chain whose poll says ready too soon: a route PCM over PulseAudio
       * did so): a real-time thread must not spin on it. A millisecond
       * at a time, and after DL_ALSA_WAIT_MS a time-out, as a silent
       * device gets, so that the caller can still stop. */
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
      if (early > DL_ALSA_WAIT_MS)
        return -ETIMEDOUT;
    }
  }
  if (snd_pcm_delay(a->pcm, &delay) < 0 || delay < 0)
    delay = (snd_pcm_sframes_t)a->buffer - avail;   /* what is queued, near enough */
  if (delay < 0)
    delay = 0;
  *play_ns = clock_mono_ns() + (int64_t)delay * 1000000000 / DL_RATE;
  return 0;
}

static int alsa_write(struct sink *s, const int16_t *pcm, int frames)
{
  struct alsa_sink *a = (struct alsa_sink *)s;

  while (frames > 0) {
    snd_pcm_sframes_t r = snd_pcm_writei(a->pcm, pcm, (snd_pcm_uframes_t)frames);
    if (r == -EAGAIN || (r >= 0 && r < frames)) {
      snd_pcm_wait(a->pcm, DL_ALSA_WAIT_MS);
    } else if (r == -EPIPE || r == -ESTRPIPE) {
      int e = xrun_recover(a, (int)r);
      if (e < 0)
        return e;
    } else if (r < 0) {
      snprintf(s->error, sizeof s->error, "write: %s", snd_strerror((int)r));
      return (int)r;
    }
    if (r > 0) {
      pcm += r * s->channels;
      frames -= (int)r;
    }
  }
  return 0;
}

static int alsa_close(struct sink *s)
{
  struct alsa_sink *a = (struct alsa_sink *)s;

  if (a->pcm != NULL) {
    /* Play out what is queued (at most one buffer) if the device runs. */
    if (snd_pcm_state(a->pcm) == SND_PCM_STATE_RUNNING)
      snd_pcm_drain(a->pcm);
    else
      snd_pcm_drop(a->pcm);
    snd_pcm_close(a->pcm);
  }
  free(a);
  return 0;
}

static const struct sink_ops alsa_ops = { alsa_wait, alsa_write, alsa_close };

/* Some devices take a long time to start consuming: PulseAudio (ALSA's
 * "default" on most desktops) can hold a new stream's first buffer for
 * 0.2-1.7 s while its sink leaves an idle, long-latency state. A stream
 * arriving meanwhile would start that late (and with --max-latency below
 * it, resync, dropping its first second). So at open the device is played
 * silence until it consumes it in real time: DL_ALSA_PRIME_MS of audio in
 * at most 1.5 times that, with no wait longer than a few periods (a real
 * card gets there in about DL_ALSA_PRIME_MS), for at most
 * DL_ALSA_PRIME_MAX_MS; then stopped and prepared again, so the playback
 * thread starts it as before. Returns 1 primed, 0 gave up, or an error. */
static int alsa_prime(struct alsa_sink *a, snd_pcm_uframes_t period, int channels)
{
  int16_t *zero = calloc((size_t)period * (size_t)channels, sizeof *zero);
  int64_t start = clock_mono_ns(), last = start, t, t_mark = -1;
  int64_t want = (int64_t)DL_RATE * DL_ALSA_PRIME_MS / 1000, written = 0, w_mark = 0;
  int primed = 0, r = 0;

  if (zero == NULL)
    return -ENOMEM;
  while (!primed && (t = clock_mono_ns()) - start < (int64_t)DL_ALSA_PRIME_MAX_MS * 1000000) {
    snd_pcm_sframes_t avail;

    snd_pcm_wait(a->pcm, DL_ALSA_WAIT_MS);
    t = clock_mono_ns();
    avail = snd_pcm_avail_update(a->pcm);
    if (t - last > 4 * (int64_t)period * 1000000000 / DL_RATE + 20000000)
      t_mark = -1;   /* it held the audio: measure again from here */
    last = t;
    if (avail < 0) {
      if ((r = snd_pcm_prepare(a->pcm)) < 0)
        break;
      t_mark = -1;
      continue;
    }
    while (avail >= (snd_pcm_sframes_t)period) {
      snd_pcm_sframes_t w = snd_pcm_writei(a->pcm, zero, period);
      if (w < 0) {
        if ((r = snd_pcm_prepare(a->pcm)) < 0)
          goto out;
        t_mark = -1;
        break;
      }
      written += w;
      avail -= w;
    }
    if (written < (int64_t)a->buffer)
      continue;   /* still filling the buffer */
    if (t_mark < 0) {
      t_mark = t;
      w_mark = written;
    } else if (written - w_mark >= want) {
      primed = t - t_mark <= (int64_t)DL_ALSA_PRIME_MS * 1500000;
      t_mark = t;
      w_mark = written;
    }
  }
  r = 0;
out:
  free(zero);
  if (r < 0)
    return r;
  /* Back to the state the playback thread expects: prepared, empty (a
   * device left running would run dry while the receiver sets up). */
  snd_pcm_drop(a->pcm);
  if ((r = snd_pcm_prepare(a->pcm)) < 0)
    return r;
  return primed;
}

static int alsa_open(struct sink **out, const char *device, int channels, int buffer_ms, char *err,
                     size_t errcap)
{
  struct alsa_sink *a;
  snd_pcm_hw_params_t *hw;
  snd_pcm_sw_params_t *sw;
  snd_pcm_uframes_t period;
  unsigned rate = DL_RATE;
  snd_pcm_type_t type;
  int r, dir = 0, primed, server;
  int64_t prime_ns;
  const char *step = "open";

  *out = NULL;
  a = calloc(1, sizeof *a);
  if (a == NULL) {
    snprintf(err, errcap, "%s", strerror(ENOMEM));
    return -ENOMEM;
  }
  r = snd_pcm_open(&a->pcm, device, SND_PCM_STREAM_PLAYBACK, 0);
  if (r < 0)
    goto fail;
  snd_pcm_hw_params_alloca(&hw);
  snd_pcm_sw_params_alloca(&sw);
  step = "hardware parameters";
  if ((r = snd_pcm_hw_params_any(a->pcm, hw)) < 0)
    goto fail;
  if ((r = snd_pcm_hw_params_set_rate_resample(a->pcm, hw, 1)) < 0)
    goto fail;
  step = "interleaved access";
  if ((r = snd_pcm_hw_params_set_access(a->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
    goto fail;
  step = "format S16";
  if ((r = snd_pcm_hw_params_set_format(a->pcm, hw, SND_PCM_FORMAT_S16)) < 0)
    goto fail;
  step = "channels";
  if ((r = snd_pcm_hw_params_set_channels(a->pcm, hw, (unsigned)channels)) < 0)
    goto fail;
  step = "rate 48000";
  if ((r = snd_pcm_hw_params_set_rate(a->pcm, hw, rate, 0)) < 0)
    goto fail;
  step = "period";
  period = (snd_pcm_uframes_t)((int64_t)DL_RATE * DL_ALSA_PERIOD_US / 1000000);
  if ((r = snd_pcm_hw_params_set_period_size_near(a->pcm, hw, &period, &dir)) < 0)
    goto fail;
  step = "buffer";
  /* A sound server's plugin (ioplug, extplug) feeds the server from a
   * thread of its own, which an ordinary server may serve late. */
  type = snd_pcm_type(a->pcm);
  server = type == SND_PCM_TYPE_IOPLUG || type == SND_PCM_TYPE_EXTPLUG;
  if (buffer_ms == 0 && server)
    buffer_ms = DL_ALSA_SERVER_BUFFER_MS;
  a->buffer = buffer_ms > 0 ? (snd_pcm_uframes_t)DL_RATE * (unsigned)buffer_ms / 1000 : period * DL_ALSA_PERIODS;
  if (a->buffer < 2 * period)
    a->buffer = 2 * period;
  if ((r = snd_pcm_hw_params_set_buffer_size_near(a->pcm, hw, &a->buffer)) < 0)
    goto fail;
  step = "hardware parameters";
  if ((r = snd_pcm_hw_params(a->pcm, hw)) < 0)
    goto fail;
  snd_pcm_hw_params_get_period_size(hw, &period, &dir);
  snd_pcm_hw_params_get_buffer_size(hw, &a->buffer);
  step = "software parameters";
  /* Start once the buffer is full, so the first periods are not an
   * underrun in waiting; wake when a period is free. */
  if ((r = snd_pcm_sw_params_current(a->pcm, sw)) < 0 ||
      (r = snd_pcm_sw_params_set_start_threshold(a->pcm, sw, a->buffer - a->buffer % period)) < 0 ||
      (r = snd_pcm_sw_params_set_avail_min(a->pcm, sw, period)) < 0 ||
      (r = snd_pcm_sw_params(a->pcm, sw)) < 0)
    goto fail;
  if ((r = snd_pcm_prepare(a->pcm)) < 0)
    goto fail;
  step = "start";
  prime_ns = clock_mono_ns();
  if ((r = alsa_prime(a, period, channels)) < 0)
    goto fail;
  primed = r;
  prime_ns = clock_mono_ns() - prime_ns;
  a->base.ops = &alsa_ops;
  a->base.channels = channels;
  a->base.period = (int)period;
  atomic_init(&a->base.underruns, 0);
  atomic_init(&a->base.frames, 0);
  snprintf(a->base.describe, sizeof a->base.describe,
           "ALSA device %s (%s): S16 %u Hz, %d channel(s), period %lu frames (%.1f ms), buffer %lu frames (%.1f ms), %s %.0f ms",
           device, snd_pcm_type_name(type), rate, channels, (unsigned long)period,
           period * 1000.0 / DL_RATE, (unsigned long)a->buffer, a->buffer * 1000.0 / DL_RATE,
           primed ? "playing in real time after" : "not yet in real time after", prime_ns / 1e6);
  *out = &a->base;
  return 0;
fail:
  if (strcmp(step, "open") == 0 || strcmp(step, "start") == 0)
    snprintf(err, errcap, "cannot %s: %s", step, snd_strerror(r));
  else
    snprintf(err, errcap, "cannot set %s: %s", step, snd_strerror(r));
  if (a->pcm != NULL)
    snd_pcm_close(a->pcm);
  free(a);
  return r < 0 ? r : -EIO;
}

/* The device opens with this thread briefly SCHED_FIFO (where permitted):
 * plugins such as pulse start their own threads on open, and those feed
 * the device as much as the playback thread does, so they must inherit its
 * scheduling rather than compete with every busy process. */
int sink_alsa_open(struct sink **out, const char *device, int channels, int buffer_ms, char *err,
                   size_t errcap)
{
  struct sched_param old_sp, sp;
  int old_policy, r, raised;

  raised = pthread_getschedparam(pthread_self(), &old_policy, &old_sp) == 0;
  if (raised) {
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = DL_PLAYBACK_RT_PRIORITY;
    if (sp.sched_priority > sched_get_priority_max(SCHED_FIFO))
      sp.sched_priority = sched_get_priority_max(SCHED_FIFO);
    raised = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  }
  r = alsa_open(out, device, channels, buffer_ms, err, errcap);
  if (raised)
    pthread_setschedparam(pthread_self(), old_policy, &old_sp);
  if (r == 0) {
    size_t n = strlen((*out)->describe);
    snprintf((*out)->describe + n, sizeof (*out)->describe - n, "; opened %s",
             raised ? "with SCHED_FIFO (its helper threads inherit it)"
                    : "with normal scheduling (SCHED_FIFO refused)");
  }
  return r;
}

int sink_alsa_check(const char *device, char *err, size_t errcap)
{
  snd_pcm_t *pcm;
  int r = snd_pcm_open(&pcm, device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);

  if (r < 0) {
    snprintf(err, errcap, "cannot open: %s", snd_strerror(r));
    return r;
  }
  snd_pcm_close(pcm);
  return 0;
}

static void alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...)
{
  (void)file; (void)line; (void)function; (void)err; (void)fmt;
}

void sink_alsa_quiet(void)
{
  /* alsa-lib prints its own diagnostics on stderr; the receiver words the
   * error once. */
  snd_lib_error_set_handler(alsa_quiet);
}
