/* The capture thread (alsacap.h). The device is opened and configured on
 * the main thread, so that every error is said before the stream starts;
 * the thread only waits, reads, stamps and hands over. */
#include "alsacap.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <alsa/asoundlib.h>

#include "defaults.h"
#include "shell/clock.h"
#include "util/ring.h"

#define HOLD 6   /* reads before and after an overrun that measure its gap (thread_loop) */

struct alsacap {
  snd_pcm_t *pcm;
  struct alsacap_info info;
  size_t frame_bytes;
  uint8_t *scratch;               /* a period read while the ring is full */
  uint8_t *hold;                  /* periods held after an overrun (thread_loop) */

  struct ring *ring;
  void (*wake)(void *);
  void *wake_arg;
  pthread_t thread;
  int started;
  atomic_int stop;

  atomic_uint_least64_t overruns;
  atomic_int_least64_t delay;
  atomic_int rt;
  atomic_int error;
  char error_why[160];
  atomic_int_least64_t cpu_at_exit;   /* the thread's CPU time when it ended */

  /* Test only (alsacap.h): stall once, this long, after this many frames. */
  int64_t stall_at_frames;
  int stall_ms;
};

static void alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...)
{
  (void)file; (void)line; (void)function; (void)err; (void)fmt;
}

static const struct {
  snd_pcm_format_t alsa;
  enum capture_fmt fmt;
  const char *name;
} formats[] = {
  {SND_PCM_FORMAT_S16_LE, CAPTURE_S16, "S16_LE"},
  {SND_PCM_FORMAT_S32_LE, CAPTURE_S32, "S32_LE"},
  {SND_PCM_FORMAT_S24_3LE, CAPTURE_S24, "S24_3LE"},
  {SND_PCM_FORMAT_FLOAT_LE, CAPTURE_F32, "FLOAT_LE"},
};

/* DL_TEST_CAPTURE_STALL_MS=MS@SEC; anything else is ignored. */
static void stall_from_env(struct alsacap *c)
{
  const char *v = getenv("DL_TEST_CAPTURE_STALL_MS");
  int ms;
  double at;
  char end;

  if (v != NULL && sscanf(v, "%d@%lf%c", &ms, &at, &end) == 2 && ms > 0 && at >= 0) {
    c->stall_ms = ms;
    c->stall_at_frames = (int64_t)(at * c->info.rate);
  }
}

int alsacap_open(struct alsacap **out, const char *name, int channels, int buffer_us,
                 char *why, size_t why_cap)
{
  struct alsacap *c;
  snd_pcm_hw_params_t *hw;
  snd_pcm_sw_params_t *sw;
  const char *step = "open";
  unsigned ch, rate = DL_RATE, period_us = DL_CAPTURE_PERIOD_US, buf_us = (unsigned)buffer_us;
  snd_pcm_uframes_t period, buffer;
  int r, dir = 0;
  size_t f;

  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    snprintf(why, why_cap, "out of memory");
    return -ENOMEM;
  }
  atomic_init(&c->rt, -1);
  /* alsa-lib prints its own diagnostics on stderr; we word the error once. */
  snd_lib_error_set_handler(alsa_quiet);
  /* Non-blocking: a busy card answers -EBUSY at once instead of waiting
   * for its owner, and the thread waits for data itself (thread_loop). */
  r = snd_pcm_open(&c->pcm, name, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
  if (r < 0) {
    c->pcm = NULL;
    if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
      snprintf(why, why_cap, "no such ALSA capture device (%s)", snd_strerror(r));
    else if (r == -EBUSY)
      snprintf(why, why_cap, "the capture device is busy (another program is using it)");
    else
      snprintf(why, why_cap, "cannot open the capture device: %s", snd_strerror(r));
    goto fail;
  }
  snd_pcm_hw_params_alloca(&hw);
  snd_pcm_sw_params_alloca(&sw);
  step = "hardware parameters";
  if ((r = snd_pcm_hw_params_any(c->pcm, hw)) < 0)
    goto fail_step;
  /* Any rate the device has is converted to 48 kHz by us (speexdsp), not
   * by ALSA's plug layer. */
  snd_pcm_hw_params_set_rate_resample(c->pcm, hw, 0);
  step = "interleaved access";
  if ((r = snd_pcm_hw_params_set_access(c->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
    goto fail_step;
  for (f = 0; f < sizeof formats / sizeof *formats; f++)
    if (snd_pcm_hw_params_test_format(c->pcm, hw, formats[f].alsa) == 0)
      break;
  if (f == sizeof formats / sizeof *formats) {
    r = -EINVAL;
    snprintf(why, why_cap, "the capture device offers no usable sample format "
                           "(S16_LE, S32_LE, S24_3LE or FLOAT_LE)");
    goto fail;
  }
  step = "sample format";
  if ((r = snd_pcm_hw_params_set_format(c->pcm, hw, formats[f].alsa)) < 0)
    goto fail_step;
  step = "channels";
  ch = channels > 0 ? (unsigned)channels : 2;
  if ((r = snd_pcm_hw_params_set_channels_near(c->pcm, hw, &ch)) < 0)
    goto fail_step;
  if (ch < 1 || ch > 8) {
    r = -EINVAL;
    snprintf(why, why_cap, "the capture device offers %u channels (1..8 are usable)", ch);
    goto fail;
  }
  step = "rate";
  if ((r = snd_pcm_hw_params_set_rate_near(c->pcm, hw, &rate, &dir)) < 0)
    goto fail_step;
  if (rate < 1000 || rate > 384000) {
    r = -EINVAL;
    snprintf(why, why_cap, "the capture device's rate %u Hz is not usable (1000..384000)", rate);
    goto fail;
  }
  step = "period";
  if ((r = snd_pcm_hw_params_set_period_time_near(c->pcm, hw, &period_us, &dir)) < 0)
    goto fail_step;
  step = "buffer";
  if ((r = snd_pcm_hw_params_set_buffer_time_near(c->pcm, hw, &buf_us, &dir)) < 0)
    goto fail_step;
  step = "hardware parameters";
  if ((r = snd_pcm_hw_params(c->pcm, hw)) < 0)
    goto fail_step;
  snd_pcm_hw_params_get_period_size(hw, &period, &dir);
  snd_pcm_hw_params_get_buffer_size(hw, &buffer);
  step = "software parameters";
  if ((r = snd_pcm_sw_params_current(c->pcm, sw)) < 0 ||
      (r = snd_pcm_sw_params_set_avail_min(c->pcm, sw, period)) < 0 ||
      (r = snd_pcm_sw_params_set_start_threshold(c->pcm, sw, 1)) < 0 ||
      (r = snd_pcm_sw_params_set_stop_threshold(c->pcm, sw, buffer)) < 0 ||
      (r = snd_pcm_sw_params(c->pcm, sw)) < 0)
    goto fail_step;
  step = "prepare";
  if ((r = snd_pcm_prepare(c->pcm)) < 0)
    goto fail_step;

  c->info.rate = (int)rate;
  c->info.channels = (int)ch;
  c->info.fmt = formats[f].fmt;
  c->info.fmt_name = formats[f].name;
  c->info.period_frames = (int)period;
  c->info.buffer_frames = (int)buffer;
  c->frame_bytes = (size_t)capture_fmt_bytes(c->info.fmt) * ch;
  c->scratch = malloc(c->frame_bytes * period);
  c->hold = malloc(c->frame_bytes * period * HOLD);
  if (c->scratch == NULL || c->hold == NULL) {
    r = -ENOMEM;
    snprintf(why, why_cap, "out of memory");
    goto fail;
  }
  stall_from_env(c);
  *out = c;
  return 0;

fail_step:
  snprintf(why, why_cap, "capture device refused the %s: %s", step, snd_strerror(r));
fail:
  alsacap_close(c);
  return r < 0 ? r : -EINVAL;
}

void alsacap_get_info(const struct alsacap *c, struct alsacap_info *out)
{
  *out = c->info;
}

size_t alsacap_slot_bytes(const struct alsacap *c)
{
  return sizeof(struct alsacap_slot) + c->frame_bytes * (size_t)c->info.period_frames;
}

static void fatal(struct alsacap *c, const char *what, int err)
{
  snprintf(c->error_why, sizeof c->error_why, "capture %s: %s", what, snd_strerror(err));
  atomic_store_explicit(&c->error, err < 0 ? err : -EIO, memory_order_release);
  c->wake(c->wake_arg);
}

/* A stalled thread (test only), then the recovery of an overrun. A card
 * overruns during the stall (-EPIPE, prepared again); a sound server's
 * device (PulseAudio) does not: the server queued what came meanwhile,
 * which is read and thrown away here until the device is as far behind
 * as after a normal read, since a card would have lost it. (Restarting
 * the server's stream instead costs it 0.2 to 2 s to start again.)
 * Returns 1 (prepared: the stream starts again), 0, or a negative errno. */
static int prepared(int r)
{
  return r < 0 ? r : 1;
}

static int test_stall(struct alsacap *c)
{
  struct timespec ts = {.tv_sec = c->stall_ms / 1000, .tv_nsec = (long)(c->stall_ms % 1000) * 1000000};
  snd_pcm_sframes_t d, avail, period = c->info.period_frames;

  nanosleep(&ts, NULL);
  if (snd_pcm_state(c->pcm) == SND_PCM_STATE_XRUN)
    return prepared(snd_pcm_prepare(c->pcm));
  for (;;) {
    avail = snd_pcm_avail(c->pcm);
    if (avail == -EPIPE)
      return prepared(snd_pcm_prepare(c->pcm));
    if (avail < 0)
      return (int)avail;
    if (snd_pcm_delay(c->pcm, &d) < 0 || d <= 2 * period || avail < period)
      return 0;
    snd_pcm_sframes_t n = snd_pcm_readi(c->pcm, c->scratch, (snd_pcm_uframes_t)period);
    if (n == -EPIPE)
      return prepared(snd_pcm_prepare(c->pcm));
    if (n == -EAGAIN)
      return 0;
    if (n < 0)
      return (int)n;
  }
}

static void *thread_loop(struct alsacap *c);

static void *thread_main(void *arg)
{
  struct alsacap *c = arg;
  thread_loop(c);
  atomic_store(&c->cpu_at_exit, clock_thread_cpu_ns());
  return NULL;
}

/* Waits for a period. While the stream starts (before its first period,
 * and again after an overrun's restart) it looks every half period: the
 * PulseAudio plugin's poll descriptor is ready over and over while its
 * server starts the stream, and snd_pcm_wait spun a core for 1.5 s on it
 * (at SCHED_FIFO that starves the server it waits for). Once data flows,
 * snd_pcm_wait. Returns 1 ready, 0 not yet, or a negative errno. */
static int wait_period(struct alsacap *c, int starting)
{
  if (!starting)
    return snd_pcm_wait(c->pcm, DL_CAPTURE_WAIT_MS);
  snd_pcm_sframes_t avail = snd_pcm_avail_update(c->pcm);
  if (avail < 0)
    return (int)avail;
  if (avail >= c->info.period_frames)
    return 1;
  struct timespec ts = {0, (long)c->info.period_frames * 500000000L / c->info.rate};
  nanosleep(&ts, NULL);
  /* Then a read regardless (non-blocking: -EAGAIN when there is nothing):
   * a plugin chain over the sound server (route, plug over pulse) moves
   * its pointer only when it is read or polled, never by avail alone. */
  return 1;
}

/* The gap of an overrun, from each read's lag: x = the frames the device's
 * clock has produced since the first read, minus those delivered (read,
 * or handed over as a gap already) and those it holds (snd_pcm_delay).
 * Audio lost raises x by exactly its length. A single read's x is late by
 * up to a period more (how long after the data came the thread woke; a
 * sound server hands over in bursts), but the least of a few reads is
 * steady to a fraction of a millisecond: the gap is the least x of the
 * HOLD reads after the recovery minus the least of the HOLD before it.
 * Those first reads after it are held back until then (HOLD periods, only
 * after an overrun). */

struct lag {
  double pre[HOLD];       /* x of the last HOLD reads */
  int npre;
  double post_min;        /* least x since the recovery */
  int held;               /* periods held since the recovery */
  uint32_t held_frames[HOLD];
};

static double min_of(const double *v, int n)
{
  double m = v[0];
  for (int i = 1; i < n; i++)
    m = v[i] < m ? v[i] : m;
  return m;
}

/* Hands one period over; with the ring full it is lost to the loop
 * thread like an overrun. Returns 1 if it went into the ring. */
static int hand_over(struct alsacap *c, uint8_t *slot, const uint8_t *data, uint32_t frames,
                     int64_t gap, int64_t at_ns)
{
  struct alsacap_slot h = {.gap = gap, .frames = frames};

  if (slot == NULL)
    slot = ring_claim(c->ring);
  if (slot == NULL)
    return 0;
  if (data != NULL)
    memcpy(slot + sizeof h, data, (size_t)frames * c->frame_bytes);
  memcpy(slot, &h, sizeof h);
  ring_commit(c->ring, sizeof h + (size_t)frames * c->frame_bytes, at_ns);
  c->wake(c->wake_arg);
  return 1;
}

static void *thread_loop(struct alsacap *c)
{
  struct sched_param sp = {.sched_priority = DL_CAPTURE_RT_PRIORITY};
  snd_pcm_uframes_t period = (snd_pcm_uframes_t)c->info.period_frames;
  int64_t t0 = 0, delivered = 0, captured = 0, gap = 0;
  struct lag lag = {.npre = 0};
  int recovering = 0, starting = 1;

  while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
    int w = wait_period(c, starting);
    if (w == 0)
      continue;   /* nothing yet: look at the stop flag */
    uint8_t *slot = recovering ? NULL : ring_claim(c->ring);
    uint8_t *data = recovering ? c->hold + (size_t)lag.held * period * c->frame_bytes
                    : slot != NULL ? slot + sizeof(struct alsacap_slot) : c->scratch;
    snd_pcm_sframes_t n = w < 0 ? w : snd_pcm_readi(c->pcm, data, period);
    if (n == -EAGAIN || n == -EINTR || n == 0)
      continue;
    if (n == -EPIPE || n == -ESTRPIPE) {
      int r = n == -ESTRPIPE ? snd_pcm_resume(c->pcm) : -1;
      while (r == -EAGAIN && !atomic_load(&c->stop)) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        r = snd_pcm_resume(c->pcm);
      }
      if (r < 0 && (r = snd_pcm_prepare(c->pcm)) < 0) {
        fatal(c, "overrun recovery", r);
        return NULL;
      }
      atomic_fetch_add(&c->overruns, 1);
      if (!recovering)
        lag.held = 0, lag.post_min = 1e300;
      recovering = 1;
      starting = 1;
      continue;
    }
    if (n < 0) {
      fatal(c, "read", (int)n);
      return NULL;
    }
    int64_t now = clock_mono_ns();
    snd_pcm_sframes_t d = 0;
    if (starting && atomic_load_explicit(&c->rt, memory_order_relaxed) < 0)
      /* Data flows: from now on the thread must not be kept from reading. */
      atomic_store(&c->rt, pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0);
    starting = 0;
    if (snd_pcm_delay(c->pcm, &d) < 0 || d < 0)
      d = 0;
    if (t0 == 0)
      t0 = now - (int64_t)((double)(n + d) * 1e9 / c->info.rate);
    delivered += n;
    captured += n;
    atomic_store_explicit(&c->delay, (int64_t)d, memory_order_relaxed);
    double x = (double)(now - t0) * 1e-9 * c->info.rate - (double)(delivered + d);

    if (recovering) {
      lag.held_frames[lag.held++] = (uint32_t)n;
      if (x < lag.post_min)
        lag.post_min = x;
      if (lag.held < HOLD)
        continue;
      /* The gap is known: it and the held periods go over. */
      int64_t lost = lag.npre > 0 ? (int64_t)llround(lag.post_min - min_of(lag.pre, lag.npre)) : 0;
      if (lost < 0)
        lost = 0;
      gap += lost;
      delivered += lost;   /* handed over as a gap: x comes back down */
      for (int i = 0; i < lag.held; i++) {
        const uint8_t *p = c->hold + (size_t)i * period * c->frame_bytes;
        if (hand_over(c, NULL, p, lag.held_frames[i], gap, now)) {
          gap = 0;
        } else {
          atomic_fetch_add(&c->overruns, 1);
          gap += lag.held_frames[i];
        }
      }
      recovering = 0;
      lag.npre = 0;
      continue;
    }
    if (lag.npre < HOLD)
      lag.pre[lag.npre++] = x;
    else {
      memmove(lag.pre, lag.pre + 1, sizeof lag.pre[0] * (HOLD - 1));
      lag.pre[HOLD - 1] = x;
    }
    if (slot != NULL) {
      hand_over(c, slot, NULL, (uint32_t)n, gap, now);
      gap = 0;
    } else {
      /* The loop thread is behind by a whole ring: this period is lost to
       * it, as if the device had overrun. */
      atomic_fetch_add(&c->overruns, 1);
      gap += n;
    }
    if (c->stall_ms > 0 && captured >= c->stall_at_frames) {
      int r = test_stall(c);
      c->stall_ms = 0;
      if (r < 0) {
        fatal(c, "overrun recovery", r);
        return NULL;
      }
      atomic_fetch_add(&c->overruns, 1);
      recovering = 1;
      lag.held = 0;
      lag.post_min = 1e300;
      starting = r == 1;
    }
  }
  return NULL;
}

int alsacap_start(struct alsacap *c, struct ring *ring, void (*wake)(void *), void *arg)
{
  int r;

  c->ring = ring;
  c->wake = wake;
  c->wake_arg = arg;
  if ((r = snd_pcm_start(c->pcm)) < 0 && r != -EBADFD)
    return r;
  r = pthread_create(&c->thread, NULL, thread_main, c);
  if (r != 0)
    return -r;
  c->started = 1;
  return 0;
}

void alsacap_stop(struct alsacap *c)
{
  if (c == NULL || !c->started)
    return;
  atomic_store(&c->stop, 1);
  pthread_join(c->thread, NULL);
  c->started = 0;
}

void alsacap_close(struct alsacap *c)
{
  if (c == NULL)
    return;
  alsacap_stop(c);
  if (c->pcm != NULL)
    snd_pcm_close(c->pcm);
  free(c->scratch);
  free(c->hold);
  free(c);
}

uint64_t alsacap_overruns(const struct alsacap *c)
{
  return atomic_load_explicit(&((struct alsacap *)c)->overruns, memory_order_relaxed);
}

int64_t alsacap_delay_frames(const struct alsacap *c)
{
  return atomic_load_explicit(&((struct alsacap *)c)->delay, memory_order_relaxed);
}

int alsacap_rt(const struct alsacap *c)
{
  return atomic_load(&((struct alsacap *)c)->rt);
}

int alsacap_error(const struct alsacap *c, const char **why)
{
  int e = atomic_load_explicit(&((struct alsacap *)c)->error, memory_order_acquire);
  if (e != 0 && why != NULL)
    *why = c->error_why;
  return e;
}

int64_t alsacap_cpu_ns(const struct alsacap *c)
{
  clockid_t cid;
  struct timespec ts;

  if (!c->started)
    return atomic_load(&((struct alsacap *)c)->cpu_at_exit);
  if (pthread_getcpuclockid(c->thread, &cid) != 0 || clock_gettime(cid, &ts) != 0)
    return 0;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
