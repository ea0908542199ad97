/* Where the receiver's audio goes: an ALSA playback device, whose blocking
 * writes pace the playback thread, or a WAV file paced in real time by
 * absolute deadlines as if it were a device (optionally with a skewed
 * clock, to exercise drift compensation without hardware).
 *
 * Open and close while the playback thread is not running (the main
 * thread, or a worker of the loop's that opens it when a stream's channel
 * count is known); sink_wait and sink_write from the playback thread
 * only. */
#ifndef DL_SINK_H
#define DL_SINK_H

#include <stddef.h>
#include <stdint.h>

struct sink;

/* Opens ALSA playback device `device` for S16 interleaved at DL_RATE with
 * a period near DL_ALSA_PERIOD_US and a buffer of buffer_ms, or with 0:
 * DL_ALSA_PERIODS periods on a card, DL_ALSA_SERVER_BUFFER_MS through a
 * sound server's plugin; with the calling thread SCHED_FIFO for the open
 * where permitted (sink_describe says whether). On error returns a
 * negative errno and words why into err. */
int sink_alsa_open(struct sink **out, const char *device, int channels, int buffer_ms, char *err,
                   size_t errcap);

/* Whether the device opens at all (opened and closed again at once, no
 * parameters set): a bad name is said at start-up, not when a stream
 * comes. Returns 0, or a negative errno with err worded. */
int sink_alsa_check(const char *device, char *err, size_t errcap);

/* alsa-lib's own diagnostics on stderr off (the caller words errors). */
void sink_alsa_quiet(void);

/* Creates (truncates) a 16-bit 48 kHz WAV file. skew_ppm > 0 runs the
 * sink's clock fast (it consumes 48000 * (1 + ppm/1e6) frames per second). */
int sink_wav_open(struct sink **out, const char *path, int channels, double skew_ppm,
                  char *err, size_t errcap);

/* Frames the playback thread should write per sink_write. */
int sink_period(const struct sink *s);

/* Playback thread. Waits until the sink takes one period; sets *play_ns to
 * the CLOCK_MONOTONIC time at which the next written frame will be heard
 * (now + what the sink still holds). Returns 0, -ETIMEDOUT (nothing yet:
 * look at the stop flag and call again) or a fatal negative errno. */
int sink_wait(struct sink *s, int64_t *play_ns);

/* Playback thread. Writes exactly `frames` interleaved frames. Returns 0 or
 * a fatal negative errno. Underruns are recovered and counted. */
int sink_write(struct sink *s, const int16_t *pcm, int frames);

/* Any thread (relaxed counters): underruns recovered, frames written. */
uint64_t sink_underruns(const struct sink *s);
uint64_t sink_frames(const struct sink *s);

/* Words the last fatal error of sink_wait/sink_write (after it returned). */
const char *sink_strerror(const struct sink *s);

/* A line for -v: device, period, buffer. */
const char *sink_describe(const struct sink *s);

/* Plays out (ALSA) or finalises the header (WAV) and frees. Returns 0 or a
 * negative errno (the WAV could not be completed). Accepts NULL. */
int sink_close(struct sink *s);

#endif /* DL_SINK_H */
