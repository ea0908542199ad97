/* Live input at the RTP clock: samples as they come from a capture device
 * or a pipe (any rate, 1..8 channels, s16/s24/s32/f32) -> float -> channel
 * mix to mono or stereo -> speexdsp resampler to 48 kHz -> int16 frames of
 * the Opus frame size, each handed to a callback as soon as it is complete.
 *
 * The stream's timeline is the input's: frame k of the stream starts at
 * 48 kHz sample k * frame_samples of what was captured. An overrun (the
 * device lost samples) is a gap: livein_gap inserts the lost time, whole
 * frames of it as frames *skipped* (the callback's skip says how many
 * frames' worth of RTP sequence numbers and timestamps to jump before the
 * frame it gets: the receiver sees them as lost and conceals them), the
 * part of a frame around them as silence, so that every sample after the
 * gap keeps the timestamp it would have had without it.
 *
 * Pure: no I/O, no clock, no threads. One thread at a time (the sender's
 * loop thread). No allocation after livein_create. */
#ifndef DL_LIVEIN_H
#define DL_LIVEIN_H

#include <stddef.h>
#include <stdint.h>

#include "tx/capture.h"

struct livein_config {
  int rate;               /* the input's sample rate, 1000..384000 Hz */
  int in_channels;        /* the input's channels, 1..8 */
  enum capture_fmt fmt;   /* its samples (little-endian, interleaved) */
  int channels;           /* output channels: 1 or 2 */
  int frame_samples;      /* per channel at 48 kHz, > 0 */
  int quality;            /* speexdsp resampler quality 0..10 */
};

/* One frame: frame_samples * channels interleaved int16, valid during the
 * call. skip: whole frames lost just before it (0 normally). Returns 0 to
 * go on, anything else to stop the current livein_* call at once (it
 * returns that value; the rest of its input is dropped). */
typedef int livein_frame_fn(void *arg, const int16_t *pcm, unsigned skip);

struct livein;

/* Returns 0, -EINVAL (bad config) or -ENOMEM. */
int livein_create(struct livein **out, const struct livein_config *cfg);
void livein_destroy(struct livein *li);   /* accepts NULL */

/* bytes of input at raw; a sample or frame split between two calls is
 * carried over. Calls fn for each frame completed. Returns 0 or what fn
 * returned to stop. */
int livein_feed(struct livein *li, const void *raw, size_t bytes, livein_frame_fn *fn, void *arg);

/* in_frames input frames (at the input's rate) were lost here. Returns 0
 * or what fn returned to stop. */
int livein_gap(struct livein *li, int64_t in_frames, livein_frame_fn *fn, void *arg);

/* The input ended: the resampler's tail and a last partial frame (padded
 * with silence) go out. Returns 0 or what fn returned to stop. */
int livein_flush(struct livein *li, livein_frame_fn *fn, void *arg);

/* 48 kHz frames held (the resampler's delay and the partial frame): part
 * of the capture latency. */
int livein_held(const struct livein *li);

#endif /* DL_LIVEIN_H */
