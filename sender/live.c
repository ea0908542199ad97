/* The sender's live inputs (live.h). The loop thread's side of both:
 * alsa: drains alsacap's ring on each uv_async wake-up; "-": reads the
 * pipe when uv_poll says it is readable (a read then returns what is
 * there without waiting). What comes goes through tx/livein to the
 * program's frame callback at once. */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alsacap.h"
#include "defaults.h"
#include "shell/clock.h"
#include "tx/livein.h"
#include "util/ring.h"

struct live {
  struct live_config cfg;
  struct live_info info;
  struct livein *li;
  size_t frame_bytes;             /* bytes of one input frame */

  struct alsacap *cap;            /* alsa: */
  struct ring *ring;
  uv_async_t async;
  int period_frames;

  int fd;                         /* "-": a duplicate of standard input; -1 */
  uv_poll_t poll;
  int poll_on;
  uint8_t *buf;                   /* DL_LIVE_READ_BYTES */
  uint8_t *pre;                   /* bytes read with a WAV header, after it */
  size_t pre_len;

  live_frame_fn *frame;
  live_end_fn *end;
  void *arg;
  int64_t at_ns;                  /* the hand-over being converted */
  int started, stopped, ended;
};

static const char *fmt_name(enum capture_fmt f)
{
  switch (f) {
  case CAPTURE_S16: return "s16";
  case CAPTURE_S24: return "s24";
  case CAPTURE_S32: return "s32";
  case CAPTURE_F32: return "f32";
  }
  return "?";
}

/* Standard input: a pipe (not a regular file: it cannot be polled and has
 * no pace), and its WAV header unless --raw gave the format. */
static int open_stdin(struct live *l, struct capture_raw *fmt, char *why, size_t why_cap)
{
  struct stat st;
  size_t len = 0, off = 0;
  int rc;

  l->fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
  if (l->fd < 0) {
    rc = -errno;
    snprintf(why, why_cap, "%s", strerror(errno));
    return rc;
  }
  if (fstat(l->fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    snprintf(why, why_cap, "--live reads a pipe or a socket, and standard input is a file "
                           "(without --live it is sent paced)");
    return -EINVAL;
  }
  l->buf = malloc(DL_LIVE_READ_BYTES);
  if (l->buf == NULL) {
    snprintf(why, why_cap, "out of memory");
    return -ENOMEM;
  }
  if (l->cfg.raw != NULL) {
    *fmt = *l->cfg.raw;
    snprintf(l->info.format, sizeof l->info.format, "raw %s", fmt_name(fmt->fmt));
    return 0;
  }
  /* The header, read here before the stream starts (blocking: the loop
   * does not run yet); whatever came with it is the first audio. */
  l->pre = malloc(CAPTURE_WAV_MAX_HEADER);
  if (l->pre == NULL) {
    snprintf(why, why_cap, "out of memory");
    return -ENOMEM;
  }
  for (;;) {
    rc = capture_parse_wav(l->pre, len, fmt, &off, why, why_cap);
    if (rc == 0)
      break;
    if (rc != -EAGAIN)
      return rc;
    ssize_t n = read(l->fd, l->pre + len, CAPTURE_WAV_MAX_HEADER - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      snprintf(why, why_cap, "%s", strerror(errno));
      return rc;
    }
    if (n == 0) {
      snprintf(why, why_cap, "standard input ended before a whole WAV header%s",
               len == 0 ? " (it was empty)" : "");
      return -EPROTO;
    }
    len += (size_t)n;
  }
  l->pre_len = len - off;
  memmove(l->pre, l->pre + off, l->pre_len);
  snprintf(l->info.format, sizeof l->info.format, "WAV %s", fmt_name(fmt->fmt));
  return 0;
}

int live_open(struct live **out, const struct live_config *c, char *why, size_t why_cap)
{
  struct live *l = calloc(1, sizeof *l);
  struct capture_raw fmt;
  int rc;

  *out = NULL;
  if (l == NULL) {
    snprintf(why, why_cap, "out of memory");
    return -ENOMEM;
  }
  l->cfg = *c;
  l->fd = -1;
  if (strncmp(c->input, "alsa:", 5) == 0) {
    struct alsacap_info ai;
    rc = alsacap_open(&l->cap, c->input + 5, c->channels, c->buffer_ms * 1000, why, why_cap);
    if (rc < 0)
      goto fail;
    alsacap_get_info(l->cap, &ai);
    fmt.rate = ai.rate;
    fmt.channels = ai.channels;
    fmt.fmt = ai.fmt;
    l->period_frames = ai.period_frames;
    snprintf(l->info.format, sizeof l->info.format, "ALSA %s, period %.1f ms, buffer %.1f ms",
             ai.fmt_name, ai.period_frames * 1000.0 / ai.rate, ai.buffer_frames * 1000.0 / ai.rate);
  } else if ((rc = open_stdin(l, &fmt, why, why_cap)) < 0) {
    goto fail;
  }
  l->info.rate = fmt.rate;
  l->info.in_channels = fmt.channels;
  l->info.channels = c->channels != 0 ? c->channels : fmt.channels > 2 ? 2 : fmt.channels;
  l->frame_bytes = (size_t)capture_fmt_bytes(fmt.fmt) * (size_t)fmt.channels;
  struct livein_config lc = {.rate = fmt.rate, .in_channels = fmt.channels, .fmt = fmt.fmt,
                             .channels = l->info.channels, .frame_samples = c->frame_samples,
                             .quality = c->quality};
  if ((rc = livein_create(&l->li, &lc)) < 0) {
    snprintf(why, why_cap, "input conversion: %s", strerror(-rc));
    goto fail;
  }
  *out = l;
  return 0;

fail:
  live_destroy(l);
  return rc;
}

void live_get_info(const struct live *l, struct live_info *out)
{
  *out = l->info;
}

static int on_frame(void *arg, const int16_t *pcm, unsigned skip)
{
  struct live *l = arg;
  return l->frame(l->arg, pcm, skip, l->at_ns);
}

static void end_once(struct live *l, int err, const char *why)
{
  if (l->ended)
    return;
  l->ended = 1;
  l->end(l->arg, err, why);
}

/* ---- alsa: ------------------------------------------------------------------ */

static void wake(void *arg)
{
  struct live *l = arg;
  uv_async_send(&l->async);
}

static void async_cb(uv_async_t *h)
{
  struct live *l = h->data;
  const uint8_t *p;
  size_t len;
  int64_t at;
  const char *why = NULL;
  int err;

  if (l->stopped || l->ended)
    return;
  while ((p = ring_peek(l->ring, &len, &at)) != NULL) {
    struct alsacap_slot hs;
    int rc = 0;
    memcpy(&hs, p, sizeof hs);
    l->at_ns = at;
    if (hs.gap > 0)
      rc = livein_gap(l->li, hs.gap, on_frame, l);
    if (rc == 0)
      rc = livein_feed(l->li, p + sizeof hs, (size_t)hs.frames * l->frame_bytes, on_frame, l);
    ring_pop(l->ring);
    if (rc != 0 || l->stopped)
      return;
  }
  if ((err = alsacap_error(l->cap, &why)) != 0)
    end_once(l, err, why);
}

static unsigned ring_slots(const struct live *l)
{
  int64_t want = (int64_t)DL_CAPTURE_RING_MS * l->info.rate / 1000 / (l->period_frames > 0 ? l->period_frames : 1);
  unsigned n = 2;
  while ((int64_t)n < want && n < (1u << 16))
    n <<= 1;
  return n;
}

/* ---- "-" --------------------------------------------------------------------- */

static void poll_cb(uv_poll_t *h, int status, int events)
{
  struct live *l = h->data;
  char line[160];
  ssize_t n;
  (void)events;

  if (l->stopped || l->ended)
    return;
  l->at_ns = clock_mono_ns();
  if (l->pre_len > 0) {
    size_t k = l->pre_len;
    l->pre_len = 0;
    if (livein_feed(l->li, l->pre, k, on_frame, l) != 0 || l->stopped)
      return;
  }
  if (status < 0) {
    snprintf(line, sizeof line, "standard input: %s", uv_strerror(status));
    end_once(l, status, line);
    return;
  }
  n = read(l->fd, l->buf, DL_LIVE_READ_BYTES);
  if (n > 0) {
    livein_feed(l->li, l->buf, (size_t)n, on_frame, l);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  uv_poll_stop(&l->poll);
  l->poll_on = 0;
  if (n == 0) {
    /* The pipe closed: the last partial frame goes out, then the end. */
    livein_flush(l->li, on_frame, l);
    end_once(l, 0, NULL);
    return;
  }
  snprintf(line, sizeof line, "standard input: %s", strerror(errno));
  end_once(l, -errno, line);
}

/* ---- both ---------------------------------------------------------------------- */

int live_start(struct live *l, uv_loop_t *loop, live_frame_fn *frame, live_end_fn *end, void *arg,
               char *why, size_t why_cap)
{
  int rc;

  l->frame = frame;
  l->end = end;
  l->arg = arg;
  if (l->cap != NULL) {
    if ((rc = ring_create(&l->ring, ring_slots(l), alsacap_slot_bytes(l->cap))) < 0) {
      snprintf(why, why_cap, "capture ring: %s", strerror(-rc));
      return rc;
    }
    if ((rc = uv_async_init(loop, &l->async, async_cb)) < 0) {
      snprintf(why, why_cap, "uv_async_init: %s", uv_strerror(rc));
      return rc;
    }
    l->async.data = l;
    if ((rc = alsacap_start(l->cap, l->ring, wake, l)) < 0) {
      snprintf(why, why_cap, "cannot start capturing: %s", strerror(-rc));
      return rc;
    }
  } else {
    if ((rc = uv_poll_init(loop, &l->poll, l->fd)) < 0) {
      snprintf(why, why_cap, "standard input cannot be polled: %s", uv_strerror(rc));
      return rc;
    }
    l->poll.data = l;
    if ((rc = uv_poll_start(&l->poll, UV_READABLE | UV_DISCONNECT, poll_cb)) < 0) {
      snprintf(why, why_cap, "standard input cannot be polled: %s", uv_strerror(rc));
      return rc;
    }
    l->poll_on = 1;
  }
  l->started = 1;
  return 0;
}

void live_stop(struct live *l)
{
  if (l == NULL || l->stopped)
    return;
  l->stopped = 1;
  alsacap_stop(l->cap);
  if (l->poll_on) {
    uv_poll_stop(&l->poll);
    l->poll_on = 0;
  }
}

void live_destroy(struct live *l)
{
  if (l == NULL)
    return;
  alsacap_close(l->cap);
  ring_destroy(l->ring);
  livein_destroy(l->li);
  if (l->fd >= 0)
    close(l->fd);
  free(l->buf);
  free(l->pre);
  free(l);
}

void live_get_stats(struct live *l, struct live_stats *out)
{
  double held_ms = l->li != NULL ? livein_held(l->li) * 1000.0 / DL_RATE : 0;

  memset(out, 0, sizeof *out);
  out->cpu_ns = -1;
  out->rt = -1;
  if (l->cap != NULL) {
    double rate = l->info.rate;
    out->overruns = alsacap_overruns(l->cap);
    out->latency_ms = (double)alsacap_delay_frames(l->cap) * 1000.0 / rate +
                      (l->ring != NULL ? (double)ring_count(l->ring) * l->period_frames * 1000.0 / rate : 0) +
                      held_ms;
    out->cpu_ns = alsacap_cpu_ns(l->cap);
    out->rt = alsacap_rt(l->cap);
  } else {
    int queued = 0;
    if (l->fd >= 0 && ioctl(l->fd, FIONREAD, &queued) < 0)
      queued = 0;
    out->latency_ms = (double)queued / (double)l->frame_bytes * 1000.0 / l->info.rate + held_ms;
  }
}
