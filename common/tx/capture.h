/* The pure parts of live input, shared by the ALSA capture path and the
 * standard-input path: the --raw RATE:CHANNELS:FORMAT spec, a WAV header
 * read from a pipe, samples of those formats as floats, the peak level of
 * an interval in dBFS and its meter, and the RTP timestamp gap an overrun
 * leaves.
 *
 * No I/O, no clock reads: times are arguments. Any thread. */
#ifndef DL_CAPTURE_H
#define DL_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

enum capture_fmt { CAPTURE_S16 = 1, CAPTURE_S24, CAPTURE_S32, CAPTURE_F32 };

struct capture_raw {
  int rate;              /* Hz, 1000..384000 */
  int channels;          /* 1..8 */
  enum capture_fmt fmt;  /* little-endian, interleaved */
};

/* Parses "RATE:CHANNELS:FORMAT" (FORMAT s16, s24, s32 or f32), e.g.
 * "48000:2:s16". Returns 0, or -EINVAL with a one-line reason in why (if
 * not NULL) that names the part that is wrong. */
int capture_parse_raw(const char *spec, struct capture_raw *out, char *why, size_t why_cap);

/* Bytes of one sample of fmt (s24 is packed, 3 bytes); 0 for a bad fmt. */
int capture_fmt_bytes(enum capture_fmt fmt);

/* Converts `samples` samples of fmt (little-endian; s24 packed) at raw
 * into floats in [-1, 1) at out. raw needs no alignment. */
void capture_to_float(const void *raw, enum capture_fmt fmt, size_t samples, float *out);

/* A WAV header at the start of a stream (a pipe: no seeking, the data
 * chunk's size may be 0 or 0xffffffff as ffmpeg and sox write it there).
 * len bytes of it are at buf. Returns 0 with the format in *out and the
 * offset of the first sample in *data_off; -EAGAIN if more bytes are
 * needed (the header is not complete in len); -EPROTO if it is not a WAV
 * or not one of the formats (PCM 16, 24 or 32 bit, float 32 bit, also as
 * WAVE_FORMAT_EXTENSIBLE; 1..8 channels, 1000..384000 Hz), with a
 * one-line reason in why (if not NULL). A header longer than
 * CAPTURE_WAV_MAX_HEADER bytes is -EPROTO. */
#define CAPTURE_WAV_MAX_HEADER 65536
int capture_parse_wav(const uint8_t *buf, size_t len, struct capture_raw *out, size_t *data_off,
                      char *why, size_t why_cap);

/* The peak level, as a running maximum over an interval of int16 samples. */
struct capture_peak {
  int peak;              /* max |sample|, 0..32768 */
};

void capture_peak_feed(struct capture_peak *p, const int16_t *pcm, size_t samples);
/* The interval's peak in dBFS (0 = full scale, 20*log10(peak/32768)),
 * CAPTURE_SILENCE_DBFS for digital silence; then starts a new interval. */
double capture_peak_take(struct capture_peak *p);
#define CAPTURE_SILENCE_DBFS (-120.0)

/* A meter of `width` cells (width + 1 bytes, NUL-terminated, into out) for
 * dbfs over -60..0 dBFS: '#' for each lit cell, '-' for the rest. */
void capture_meter(double dbfs, char *out, int width);

/* An overrun: the last read before it returned at last_ns, the first
 * read after the recovery returned at now_ns with got frames. The time
 * between them held round((now_ns - last_ns) * rate / 1e9) frames; those
 * not delivered were lost. Returns that count (>= 0), the frames at rate
 * by which the stream's timestamp jumps (the caller converts to 48 kHz). */
int64_t capture_gap_frames(int64_t last_ns, int64_t now_ns, int64_t got, int rate);

#endif /* DL_CAPTURE_H */
