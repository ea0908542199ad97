/* live: the sender's live inputs, whose clock is their own: an ALSA
 * capture device (alsa:NAME, read by alsacap's thread) or standard input
 * with --live (a pipe, polled by the loop thread; its writer sets the
 * pace). Either way the loop thread converts what came (tx/livein) and
 * hands each 48 kHz frame to the program the moment it is complete: no
 * timer paces a live stream.
 *
 * Loop thread only, but for live_open (main thread, before the loop
 * runs: a WAV header on standard input is read there, blocking). */
#ifndef DL_LIVE_H
#define DL_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tx/capture.h"

struct live;

struct live_config {
  const char *input;              /* "alsa:NAME" or "-" */
  const struct capture_raw *raw;  /* "-": its format (--raw); NULL: a WAV header */
  int channels;                   /* output 1 or 2; 0: the input's, at most 2 */
  int frame_samples;              /* 48 kHz samples per channel of a frame */
  int buffer_ms;                  /* alsa: the device's buffer (--capture-buffer) */
  int quality;                    /* speexdsp resampler quality */
};

struct live_info {
  int rate, in_channels, channels;
  char format[64];                /* "ALSA S16_LE, period 5.0 ms, buffer 40.0 ms", "raw s16", "WAV s16" */
};

struct live_stats {
  uint64_t overruns;              /* device overruns and periods the ring had no room for */
  double latency_ms;              /* snd_pcm_delay (a pipe: its unread bytes) + the ring + livein's held */
  int64_t cpu_ns;                 /* the capture thread's CPU time; -1 without a thread */
  int rt;                         /* the capture thread: 1 SCHED_FIFO, 0 normal, -1 none or not yet */
};

/* One frame (frame_samples * channels int16), skip whole frames lost just
 * before it (livein_frame_fn); at_ns: CLOCK_MONOTONIC when its last
 * samples were handed over (read off the device or the pipe). Return 0,
 * or non-zero to have no more frames from this wake-up. */
typedef int live_frame_fn(void *arg, const int16_t *pcm, unsigned skip, int64_t at_ns);
/* The input ended (err 0: the pipe closed; its last frame went out
 * first) or failed (err < 0, why: one line). Called once. */
typedef void live_end_fn(void *arg, int err, const char *why);

/* Returns 0, or a negative errno with one line in why. */
int live_open(struct live **out, const struct live_config *c, char *why, size_t why_cap);
void live_get_info(const struct live *l, struct live_info *out);
int live_start(struct live *l, uv_loop_t *loop, live_frame_fn *frame, live_end_fn *end, void *arg,
               char *why, size_t why_cap);
/* Stops the capture thread and the input's handles. Idempotent; before
 * the loop's handles are closed. */
void live_stop(struct live *l);
void live_destroy(struct live *l);   /* after the loop has closed; accepts NULL */
void live_get_stats(struct live *l, struct live_stats *out);

#endif /* DL_LIVE_H */
