/* Time-scale modification: a block of decoded 48 kHz audio is made shorter
 * or longer by whole pitch periods (WSOLA/PICOLA, as NetEq's accelerate and
 * preemptive expand), or, in a pause, by any amount, so that the receiver
 * reaches a new target latency within about a second without resampling
 * the pitch and without dropping or repeating frames (issue 15).
 *
 * Study: what Debian 12 packages, measured at 48 kHz mono on
 * tests/data/speech.flac in 20 ms blocks at tempo 1.1 and 0.9 (a probe
 * program, not kept; thread CPU time on the CI machine):
 *   libsoundtouch-dev 2.3.2 (LGPL-2.1, C++): WSOLA with a fixed sequence
 *     (~60 ms) and seek window; 4555 samples (95 ms) of initial latency,
 *     first output after 100 ms of input; 33-39 us per block. It splices
 *     on a fixed schedule whatever the signal, so it cannot decline an
 *     unsafe place, and it is a continuous tempo, not "remove N samples
 *     now": reaching an exact target needs a loop around its FIFO.
 *   librubberband-dev 3.1.2 (GPL-2+, C++ with a C API): phase vocoder.
 *     R2 "faster" engine: 1024 samples (21 ms) latency, first output after
 *     60 ms, 390-490 us per block (2-2.5 % of a core); R3 "finer": 2048
 *     samples (43 ms), 1.2 ms per block. Transients smear; GPL.
 *   libsonic-dev 0.2.0 (Apache-2.0, C): speech-only pitch-period removal
 *     (PICOLA-like) at a continuous speed; first output after 40 ms (it
 *     holds two periods of the lowest pitch, 65 Hz); 10-13 us per block.
 *   None allocated per call once running (counted with an interposed
 *   malloc). All three are streaming FIFOs: their latency is in the path
 *   for as long as they are, also at rate 1, which is most of the time for
 *   a receiver; switching one in and out would itself be a splice. None
 *   says how much it removed where, nor declines where a splice would be
 *   audible.
 * Choice: our own, NetEq-like. The receiver needs exact sample counts per
 * block (the latency controller counts them), zero added latency on the
 * steady path, a refusal where the signal is neither periodic nor quiet,
 * and a C11 core without allocation; the algorithm is small (a decimated
 * normalised cross-correlation and a raised-cosine cross-fade) and costs,
 * while it is asked to work, about what an Opus decode of the same audio
 * costs (bench/tsm, speech, 20 ms blocks: shortening 0.7x, lengthening
 * 1.2-1.4x a decode, ~2 ms of CPU per second of audio, at most ~0.15 ms
 * per block), and 1/15 of a decode when passing through.
 *
 * How it works, per block (processed in chunks of 40 ms at most, one
 * splice per chunk):
 *   - the pitch lag P (2.5..20 ms) and the splice position s (a few
 *     candidates 5 ms apart) are searched by normalised cross-correlation
 *     at 8 kHz (a 12-tap box filter, decimation by 6), then refined at
 *     48 kHz within +-5 samples; stereo sums both channels' correlations,
 *     so both get one lag and the stereo image does not move;
 *   - at each position the shortest lag at a peak within 0.05 of the best
 *     (a period rather than two) and the best peak are refined; of those
 *     the shortest within 0.05 of the best refined one is taken, always at
 *     a 48 kHz peak (a lag off the peak would not be a whole period);
 *   - shorten: out = x[0..s), fade(x[s..s+W) -> x[s+P..s+P+W)), x[s+P+W..):
 *     P samples fewer; W = min(P, room), at least P/2 and 2.5 ms;
 *   - lengthen: out = x[0..s), fade(x[s..s+W) -> x[s-P..s-P+W)),
 *     x[s-P+W..): P samples more. x before the block is the history of
 *     what this module emitted, so a lengthening needs no lookahead;
 *   - the splice is made where the correlation is >= min_corr (0.9, as
 *     NetEq); after DL_TSM_RELAX_MS (200 ms) of audio searched in vain the
 *     threshold has fallen linearly to DL_TSM_MIN_CORR_FLOOR (0.7), and it
 *     is back at min_corr after each splice: picky while it can afford to
 *     be (speech finds 0.9 within a few frames; polyphonic music often
 *     does not). Waiting because the period found is longer than what is
 *     left of want does not count as in vain;
 *   - where the touched stretch is quiet (every 2.5 ms of it 30 dB below
 *     the recent peak level, or under -60 dBFS) any amount is taken or
 *     given, with a 5 ms fade, so requests are met exactly in pauses;
 *   - elsewhere (noise, a transient, an unvoiced sound at speech level,
 *     dense chords without a period under 20 ms) it declines and the
 *     block passes unchanged.
 * The fade is a raised cosine (its weights sum to 1), so a periodic signal
 * keeps its level through the splice and the joints have no slope step.
 *
 * Latency: none. Every sample out is a sample of this block or of the
 * history already emitted; nothing is held back. A shortening needs the
 * period and a fade inside the block: a 20 ms block allows lags up to
 * 13 ms (75 Hz) at s = 0; 40 ms blocks allow the whole range. A
 * lengthening takes its far side from the history, so only its fade (at
 * least half the period) must fit: 10 ms blocks allow every lag.
 *
 * Asking: whole periods come in lumps of 2.5-20 ms, and each splice is at
 * most what is left of |want|. A caller that asks only for what its ramp
 * owes trails the ramp by about a period; one that asks for what the ramp
 * owes by the end of the block plus one longest period (20 ms), never
 * beyond the total change wanted, keeps to it (test_tsm: 4545-4800 of
 * 4800 frames over a second at 10 %).
 *
 * Deterministic (no randomness, the same input gives the same output), no
 * allocation after tsm_create, no I/O. One thread at a time: the receiver's
 * playback thread. */
#ifndef DL_TSM_H
#define DL_TSM_H

#include <stdint.h>

struct tsm_config {
  int channels;        /* 1 or 2, interleaved */
  int max_block;       /* largest block handed to tsm_process, frames;
                          0: DL_MAX_PACKET_SAMPLES (120 ms) */
  double min_corr;     /* a voiced splice's correlation; 0: DL_TSM_MIN_CORR. The
                          threshold relaxes to the lower of it and
                          DL_TSM_MIN_CORR_FLOOR */
};

enum tsm_kind {
  TSM_VOICED = 1,      /* whole pitch periods, correlated above the threshold */
  TSM_QUIET = 2,       /* in a pause: any amount */
};

/* One splice made by tsm_process, in the block's frame indices. */
struct tsm_splice {
  enum tsm_kind kind;
  int at;              /* output frame where the cross-fade starts */
  int src;             /* input frame heard at `at` (fade's outgoing side) */
  int lag;             /* frames removed (shorten) or added (lengthen) */
  int fade;            /* cross-fade length, frames */
  double corr;         /* normalised correlation of the two faded stretches */
};

#define TSM_MAX_SPLICES 4   /* per call: one per 40 ms chunk of a 120 ms block */

struct tsm_result {
  int change;          /* frames out - frames in: < 0 shortened, > 0 lengthened */
  int n;               /* splices made */
  struct tsm_splice s[TSM_MAX_SPLICES];
};

struct tsm;

/* Allocates everything it will use. Returns 0, -EINVAL (channels not 1 or
 * 2, max_block outside 1..DL_MAX_PACKET_SAMPLES, min_corr outside 0..1) or
 * -ENOMEM. Any thread, before the playback thread uses it. */
int tsm_create(struct tsm **out, const struct tsm_config *cfg);
void tsm_destroy(struct tsm *t);   /* accepts NULL */

/* Forgets the history and the level: the next block does not continue the
 * last one (a resync, a new stream). Playback thread. */
void tsm_reset(struct tsm *t);

/* Processes one block in place. pcm: `frames` frames (interleaved int16,
 * `channels` per frame) of the stream, in order, each block continuing the
 * last one: every block goes through here, want 0 included, since the
 * history a lengthening replays is what came out of this call. cap: frames
 * pcm can hold (>= frames; a lengthening never writes past it). want: < 0
 * shorten by up to -want frames, > 0 lengthen by up to want frames, 0 pass
 * through unchanged. The change is made of whole splices, each no larger
 * than what is left of |want|; it may be 0 (nothing safe in this block: ask
 * again with the next). res: NULL or where to describe the splices.
 * Returns the frames now in pcm (frames + res->change), or -EINVAL
 * (frames outside 0..max_block, cap < frames, pcm NULL with frames > 0).
 * Playback thread; no allocation, no I/O. */
int tsm_process(struct tsm *t, int16_t *pcm, int frames, int cap, int want,
                struct tsm_result *res);

#endif /* DL_TSM_H */
