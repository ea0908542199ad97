/* Audio file input at the RTP clock: any file libsndfile reads (WAV in all
 * its sample formats, FLAC, Ogg/Vorbis, ...), at any sample rate, converted
 * to 48 kHz int16 interleaved frames with the speexdsp resampler, as mono or
 * stereo. More than two input channels are downmixed to stereo (reported in
 * the info, for the program to say once).
 *
 * The output of one pass has exactly round(in_frames * 48000 / in_rate)
 * frames: the resampler's leading delay is skipped and its tail flushed at
 * the end of the file, so a stream's duration matches the file's.
 *
 * A file wrapper: it reads the file, nothing else (no clock, no printing).
 * One thread at a time. */
#ifndef DL_AUDIO_IN_H
#define DL_AUDIO_IN_H

#include <stddef.h>
#include <stdint.h>

struct audio_in;

struct audio_in_info {
  int in_rate;          /* the file's sample rate, Hz */
  int in_channels;      /* the file's channels */
  int channels;         /* output channels, 1 or 2 */
  int downmixed;        /* 1: more than 2 input channels were mixed to stereo */
  int resampled;        /* 1: in_rate != 48000 */
  int64_t in_frames;    /* the file's frames as libsndfile reports them (-1 unknown) */
  int64_t out_frames;   /* 48 kHz frames of one pass (-1 unknown) */
  char format[64];      /* e.g. "FLAC 16 bit" */
};

/* Opens path. channels: 1 or 2 for the output, 0 for the file's (at most 2).
 * quality: speexdsp resampler quality 0..10. On error returns a negative
 * errno and, if why is not NULL, puts a one-line reason into why:
 *   -ENOENT   no such file          -EACCES  permission denied
 *   -EISDIR   a directory           -EPROTO  not an audio file libsndfile reads
 *   -ERANGE   sample rate 0 (or absurd), or no channels
 *   -EINVAL   bad arguments         -ENOMEM  out of memory */
int audio_in_open(struct audio_in **out, const char *path, int channels, int quality,
                  char *why, size_t why_cap);
/* The same for headerless PCM (--raw): path's bytes are samples of raw
 * (little-endian, interleaved; "-" is standard input). */
struct capture_raw;
int audio_in_open_raw(struct audio_in **out, const char *path, const struct capture_raw *raw,
                      int channels, int quality, char *why, size_t why_cap);
void audio_in_close(struct audio_in *a);   /* accepts NULL */

/* Reads up to `frames` 48 kHz frames (interleaved, `channels` per frame) into
 * pcm. Returns the frames read: exactly `frames` until the end of the pass,
 * fewer at its end, 0 after it; or a negative errno on a read error. */
int audio_in_read(struct audio_in *a, int16_t *pcm, int frames);

/* Starts a new pass from the beginning of the file (for --loop). Returns 0
 * or a negative errno. */
int audio_in_rewind(struct audio_in *a);

void audio_in_get_info(const struct audio_in *a, struct audio_in_info *out);

/* n interleaved frames of ic channels in raw to oc (1 or 2) in mix: the
 * average for mono; more than two channels fold the rest into both sides
 * at half weight, normalised so that neither can clip. Pure: any thread.
 * Used for files and for live input alike. */
void audio_mix(const float *raw, int ic, float *mix, int oc, size_t n);

/* A float sample (full scale +-1) as int16, rounded and clipped. */
int16_t audio_to_s16(float v);

#endif /* DL_AUDIO_IN_H */
