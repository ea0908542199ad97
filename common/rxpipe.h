/* The receiver's pull pipeline without socket and sink: datagram -> RTP
 * parse and checks -> playout queue -> concealment choice -> Opus decode ->
 * PCM. Pure, single-threaded: in the receiver the playback thread owns it
 * (datagrams reach it through the SPSC ring with their arrival time); the
 * simulator and the benchmarks drive it directly with virtual time.
 *
 * Drift compensation (a resampler between decoder and sink, steered by the
 * latency controller) plugs in between playout and output; until then the
 * ratio is 1. */
#ifndef DL_RXPIPE_H
#define DL_RXPIPE_H

#include <stddef.h>
#include <stdint.h>

#include "playout.h"

struct rxpipe_config {
  struct playout_config playout;
  int channels;       /* output channels, 1 or 2 (the decoder up/downmixes) */
  int pt;             /* accepted payload type; 0: lock to the first dynamic one seen */
};

/* Everything the receiver reports (DESIGN.md "Statistics"); a plain copy. */
struct rxpipe_stats {
  struct playout_stats po;
  uint64_t invalid;          /* datagrams that failed parsing or checks, pt mismatch
                                (includes po.invalid: RTP fine, payload not Opus) */
  double jitter_ms;          /* RFC 3550 A.8 interarrival jitter */
  double latency_target_ms;
  double latency_mean_ms;    /* arrival to sink, of played packets; NaN before any */
  double latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_max_ms;
  double loss_pct;           /* lost / expected * 100 */
  double drift_ppm;          /* NaN until drift compensation exists */
  double resample_ratio;
};

struct rxpipe;

int rxpipe_create(struct rxpipe **out, const struct rxpipe_config *cfg);
void rxpipe_destroy(struct rxpipe *rp);   /* accepts NULL */

/* One datagram as received, arrival_ns its CLOCK_MONOTONIC arrival time.
 * Returns the playout_put result, or PLAYOUT_INVALID (counted in invalid). */
int rxpipe_put(struct rxpipe *rp, const uint8_t *dgram, size_t len, int64_t arrival_ns);

/* Fills pcm with exactly `frames` frames (interleaved int16, `channels`
 * per frame). now_ns: when pcm[0] will be heard. Never waits: what is
 * missing is concealed or silent. Returns frames. */
int rxpipe_read(struct rxpipe *rp, int64_t now_ns, int16_t *pcm, int frames);

void rxpipe_get_stats(const struct rxpipe *rp, struct rxpipe_stats *out);

/* The playout engine inside, for tests and the latency controller. */
struct playout *rxpipe_playout(struct rxpipe *rp);

#endif /* DL_RXPIPE_H */
