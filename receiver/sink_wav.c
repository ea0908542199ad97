/* The WAV sink: a 16-bit 48 kHz file written one block per deadline, so
 * that the playback thread runs exactly as it would against a device.
 *
 * Block k is "heard" at deadline(k) = t0 + k * block / (1 + skew): absolute
 * deadlines, so oversleeping once does not shift every later block (the
 * drift this project exists to avoid). A thread that falls more than
 * DL_WAV_RESYNC_MS behind (stopped, starved) counts an underrun and restarts
 * the schedule from now, like a device recovering from an xrun.
 *
 * The header is rewritten every DL_WAV_SYNC_MS so that a receiver killed by
 * SIGKILL leaves a file readable up to about its last second. libsndfile
 * writes with write(2), unbuffered, so the samples are in the page cache
 * already; we do not fsync: that guards only against power loss, and it can
 * stall the playback thread for as long as the disk likes. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "defaults.h"
#include "shell/clock.h"
#include "sink_impl.h"

struct wav_sink {
  struct sink base;             /* first: a struct sink * is a struct wav_sink * */
  SNDFILE *sf;
  double block_ns;              /* real time per block, skew applied */
  int64_t t0;                   /* schedule origin; 0 until the first wait */
  uint64_t k;                   /* next block */
  int64_t deadline;             /* of block k */
  uint64_t blocks_since_sync;
  uint64_t sync_every;          /* blocks */
};

static int wav_wait(struct sink *s, int64_t *play_ns)
{
  struct wav_sink *w = (struct wav_sink *)s;
  struct timespec ts;
  int64_t now;
  int r;

  if (w->t0 == 0) {
    w->t0 = clock_mono_ns();
    w->k = 0;
  }
  w->deadline = w->t0 + (int64_t)llround((double)w->k * w->block_ns);
  ts.tv_sec = (time_t)(w->deadline / 1000000000);
  ts.tv_nsec = (long)(w->deadline % 1000000000);
  do
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  while (r == EINTR);
  if (r != 0) {
    snprintf(s->error, sizeof s->error, "clock_nanosleep: %s", strerror(r));
    return -r;
  }
  now = clock_mono_ns();
  if (now - w->deadline > (int64_t)DL_WAV_RESYNC_MS * 1000000) {
    atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    w->t0 = now;
    w->k = 0;
    w->deadline = now;
  }
  /* The virtual device plays block k at its deadline, however late this
   * thread woke: the same as a device's clock, which does not wait. */
  *play_ns = w->deadline;
  return 0;
}

static int wav_write(struct sink *s, const int16_t *pcm, int frames)
{
  struct wav_sink *w = (struct wav_sink *)s;
  sf_count_t n = sf_writef_short(w->sf, pcm, frames);

  if (n != frames) {
    snprintf(s->error, sizeof s->error, "write: %s", sf_strerror(w->sf));
    return -EIO;
  }
  w->k++;
  if (++w->blocks_since_sync >= w->sync_every) {
    w->blocks_since_sync = 0;
    sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
  }
  return 0;
}

static int wav_close(struct sink *s)
{
  struct wav_sink *w = (struct wav_sink *)s;
  int r = 0;

  if (w->sf != NULL && sf_close(w->sf) != 0)
    r = -EIO;
  free(w);
  return r;
}

static const struct sink_ops wav_ops = { wav_wait, wav_write, wav_close };

int sink_wav_open(struct sink **out, const char *path, int channels, double skew_ppm,
                  char *err, size_t errcap)
{
  struct wav_sink *w;
  SF_INFO info;

  *out = NULL;
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    snprintf(err, errcap, "%s", strerror(ENOMEM));
    return -ENOMEM;
  }
  memset(&info, 0, sizeof info);
  info.samplerate = DL_RATE;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  errno = 0;
  w->sf = sf_open(path, SFM_WRITE, &info);
  if (w->sf == NULL) {
    const char *why = sf_strerror(NULL);
    /* libsndfile words a failed open(2) at length; the errno says it shorter. */
    snprintf(err, errcap, "cannot create: %s", errno != 0 ? strerror(errno) : why);
    free(w);
    return -EIO;
  }
  w->base.ops = &wav_ops;
  w->base.channels = channels;
  w->base.period = (int)((int64_t)DL_RATE * DL_WAV_BLOCK_US / 1000000);
  atomic_init(&w->base.underruns, 0);
  atomic_init(&w->base.frames, 0);
  w->block_ns = (double)w->base.period * 1e9 / ((double)DL_RATE * (1.0 + skew_ppm * 1e-6));
  w->sync_every = (uint64_t)DL_WAV_SYNC_MS * 1000 / DL_WAV_BLOCK_US;
  if (w->sync_every == 0)
    w->sync_every = 1;
  snprintf(w->base.describe, sizeof w->base.describe,
           "WAV file %s: 16-bit %d Hz, %d channel(s), %d-frame blocks paced in real time, clock skew %+.1f ppm",
           path, DL_RATE, channels, w->base.period, skew_ppm);
  *out = &w->base;
  return 0;
}
