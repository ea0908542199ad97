/* alsacap: an ALSA capture device read by a thread of its own.
 *
 * The thread (SCHED_FIFO where permitted, silently normal otherwise)
 * waits for a period, reads it with snd_pcm_readi into a free slot of a
 * lock-free SPSC ring (util/ring) and wakes the loop thread with
 * uv_async_send. It never waits for the loop thread: with the ring full
 * it reads into a scratch buffer and the period is lost (counted as an
 * overrun, and as a gap like one).
 *
 * An overrun (-EPIPE: the thread read too late and the device lost
 * audio) is recovered with snd_pcm_prepare and counted; the first period
 * read after it carries the gap: the frames the device's clock produced
 * between the last read before and the first read after that were never
 * delivered (tx/capture's capture_gap_frames, each read's snd_pcm_delay
 * accounted for), so the stream's timeline jumps by exactly them.
 *
 * Test only: DL_TEST_CAPTURE_STALL_MS=MS@SEC stalls the thread for MS
 * milliseconds once SEC seconds have been captured, then recovers as
 * from an overrun; a sound server's device (PulseAudio) keeps what came
 * meanwhile instead of overrunning, so that is read and thrown away
 * first, as a card would have lost it. */
#ifndef DL_ALSACAP_H
#define DL_ALSACAP_H

#include <stddef.h>
#include <stdint.h>

#include "tx/capture.h"

struct ring;
struct alsacap;

struct alsacap_info {
  int rate;               /* the device's, Hz */
  int channels;           /* the device's, as opened */
  enum capture_fmt fmt;
  const char *fmt_name;   /* "S16_LE", ... */
  int period_frames, buffer_frames;
};

/* What each ring slot holds: this header, then frames * channels samples
 * of fmt. */
struct alsacap_slot {
  int64_t gap;            /* frames lost just before these (an overrun) */
  uint32_t frames;
  uint32_t reserved;
};

/* Opens device `name` for capture: interleaved, S16_LE if it has it (else
 * S32_LE, S24_3LE, FLOAT_LE), the channels nearest `channels` (0: 2), the
 * rate nearest 48000 without ALSA's own resampling, DL_CAPTURE_PERIOD_US
 * periods in a buffer of buffer_us. Main thread. Returns 0, or a negative
 * errno with one line in why: -ENOENT (no such device), -EBUSY (in use),
 * -EINVAL (no usable format or parameters), others from alsa-lib. */
int alsacap_open(struct alsacap **out, const char *name, int channels, int buffer_us,
                 char *why, size_t why_cap);
void alsacap_get_info(const struct alsacap *c, struct alsacap_info *out);
/* Bytes a ring slot needs. */
size_t alsacap_slot_bytes(const struct alsacap *c);

/* Starts the thread: it fills ring (the producer side) and calls
 * wake(arg) from the thread after each slot. Returns 0 or a negative
 * errno. Whether it got SCHED_FIFO is known once it runs (alsacap_rt). */
int alsacap_start(struct alsacap *c, struct ring *ring, void (*wake)(void *), void *arg);
/* Stops and joins the thread (at most about DL_CAPTURE_WAIT_MS).
 * Idempotent. After it, the thread calls wake no more. */
void alsacap_stop(struct alsacap *c);
void alsacap_close(struct alsacap *c);   /* stops first; accepts NULL */

/* Any thread. */
uint64_t alsacap_overruns(const struct alsacap *c);
int64_t alsacap_delay_frames(const struct alsacap *c);   /* snd_pcm_delay after the last read */
int alsacap_rt(const struct alsacap *c);                 /* -1 not yet known, 0 normal, 1 SCHED_FIFO */
/* A fatal read error (the device went away): the thread stopped; 0 while
 * none. why: a line saying which (valid once this is non-zero). */
int alsacap_error(const struct alsacap *c, const char **why);
/* The thread's CPU time so far, ns (0 before it runs). */
int64_t alsacap_cpu_ns(const struct alsacap *c);

#endif /* DL_ALSACAP_H */
