/* The receiver's pull pipeline without socket and sink: parsed packet ->
 * playout queue -> concealment choice -> Opus decode -> PCM. Pure,
 * single-threaded: in the receiver the playback thread owns it (packets,
 * parsed and admitted once on the loop thread, reach it through the SPSC
 * ring as struct rtp_packet records); the simulator and the benchmarks
 * drive it directly with virtual time.
 *
 * Drift compensation: between the decoded 48 kHz stage and the output sits
 * a speexdsp resampler whose ratio (within +-0.5 %) the latency controller
 * (common/rx/drift) steers so that the measured latency, which includes what
 * the FIFO and the resampler hold, follows the target: fixed, or adaptive
 * from the arrival-delay distribution (common/rx/delay). No frame is dropped
 * or inserted to hold the latency. */
#ifndef DL_RXPIPE_H
#define DL_RXPIPE_H

#include <stddef.h>
#include <stdint.h>

#include "rx/playout.h"
#include "rx/sync.h"

struct rxpipe_config {
  struct playout_config playout;
  int channels;       /* output channels, 1 or 2 (the decoder up/downmixes) */
  /* Time discipline (zeroes: a fixed target of playout.target_ns, no
   * resampling: the pipeline as it was before drift compensation). */
  int latency_auto;          /* 1: adaptive target, starting at playout.target_ns */
  double latency_quantile;   /* 0: DL_DEFAULT_LATENCY_QUANTILE */
  int64_t min_latency_ns;    /* adaptive bounds; 0: DL_DEFAULT_MIN_LATENCY_MS, */
                             /* the upper one is playout.max_latency_ns */
  int resample;              /* 1: drift compensation (the receiver); 0: ratio 1, the
                                decoded stage goes out as it is (tests, comparisons) */
  /* --sync (needs latency_auto and resample): once rxpipe_set_sync gave a
   * map, the target of a packet with timestamp T is the one that has it
   * heard at the map's play time for T (rx/sync), or what the path and the
   * sink need (the adaptive target) when that is more: then the sync is
   * unmet, by sync_short_ms. */
  int sync;
};

/* Everything the receiver reports (DESIGN.md "Statistics"); a plain copy. */
struct rxpipe_stats {
  struct playout_stats po;
  double jitter_ms;          /* RFC 3550 A.8 interarrival jitter */
  double latency_target_ms;
  /* The target taken apart (update_target): the arrival-delay quantile
   * above the tracked delay, the margin above it (a frame after recent
   * loss, else what the jitter asks, at most a frame), the sink's measured
   * queue, the read block and the resampler's delay; they sum to the
   * target unless it is clamped or still the starting one. */
  double target_quantile_ms, target_margin_ms, target_sinkq_ms, target_block_ms,
      target_resampler_ms;
  double latency_mean_ms;    /* arrival to sink, of played packets; NaN before any */
  double latency_now_ms;     /* the same over about the last second (an exponential
                                mean, DL_LATENCY_NOW_MS); NaN before any */
  double latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_max_ms;
  double loss_pct;           /* lost / expected * 100 */
  double drift_ppm;          /* sender clock against sink clock; NaN before a stream */
  double resample_ratio;     /* input samples per output sample */
  double latency_ctl_ms;     /* the controller's smoothed latency (at the tracked delay) */
  /* For the E-model (common/rx/emodel): frames heard inside streams, lost ones
   * being those concealed by PLC or silence (FEC-recovered ones are not
   * lost); the concealment after a stream's last packet is not counted. */
  uint64_t quality_frames;
  double quality_loss_pct;   /* lost / frames * 100 */
  double quality_burst_r;    /* G.107 BurstR of those losses (1: random) */
  double frame_ms;           /* duration of the last packet played; NaN before */
  double emodel_delay_ms;    /* the E-model's mouth-to-ear delay: frame + look-ahead +
                                transit (rxpipe_set_transit) + latency_mean; NaN before */
  double r_factor, mos;      /* ITU-T G.107 of the above; NaN before a frame was heard */
  /* Re-targeting by time-scale modification: splices made, audio taken out
   * (the latency fell by it) and put in (it rose). */
  uint64_t tsm_splices;
  double tsm_removed_ms, tsm_added_ms;
  uint64_t route_steps;      /* steps in the path's delay recognised (step_watch) */
  /* --sync: whether a map is in use, the target it asks for (NaN before),
   * how far short of it the path and sink fall (0: met), how often it went
   * from met to unmet, and the last played packets' heard time minus their
   * sync instant (an exponential mean over some packets; NaN before). */
  int sync_on;
  double sync_target_ms, sync_short_ms, sync_miss_ms;
  uint64_t sync_unmet;
};

/* What happened to one frame taken out of the playout queue, for the
 * simulator's timeline and tests. latency_ms: this packet's arrival to
 * sink (NaN unless PACKET); ctl_latency_ms: the latency at the tracked
 * arrival delay, which the controller holds at the target. */
struct rxpipe_frame_info {
  int64_t heard_ns;          /* when its first sample reaches the sink */
  enum playout_kind kind;
  unsigned flags;
  int samples;
  double latency_ms;
  double ctl_latency_ms;
  double target_ms;
  double ratio;
  double drift_ppm;
  /* From playout_frame, for per-packet traces: ts is the RTP timestamp of
   * the sample heard at heard_ns (a PACKET's own unless its head was
   * skipped); seq is the packet's, for FEC the next packet's (whose in-band
   * FEC stood in), 0 for PLC and SILENCE; arrival_ns (CLOCK_MONOTONIC) is
   * set for PACKET only, else 0. */
  uint16_t seq;
  uint32_t ts;
  int64_t arrival_ns;
  int tsm_change;            /* frames time-scale modification added (> 0) or took (< 0) */
};
typedef void (*rxpipe_frame_cb)(void *arg, const struct rxpipe_frame_info *fi);

struct rxpipe;

int rxpipe_create(struct rxpipe **out, const struct rxpipe_config *cfg);
void rxpipe_destroy(struct rxpipe *rp);   /* accepts NULL */

/* Called from rxpipe_read for every frame, in the caller's thread. */
void rxpipe_set_frame_cb(struct rxpipe *rp, rxpipe_frame_cb cb, void *arg);

/* One packet, parsed once (rtp_packet_parse) and admitted; pkt->arrival_ns
 * is its CLOCK_MONOTONIC arrival time. Returns the playout_put result. */
int rxpipe_put(struct rxpipe *rp, const struct rtp_packet *pkt);

/* Fills pcm with exactly `frames` frames (interleaved int16, `channels`
 * per frame). now_ns: when pcm[0] will be heard. Never waits: what is
 * missing is concealed or silent. Returns frames. */
int rxpipe_read(struct rxpipe *rp, int64_t now_ns, int16_t *pcm, int frames);

/* The sink's queue when the caller decides what to play next: queue_ns is
 * how long from now_ns until what it writes now is heard (ALSA: the
 * snd_pcm_delay at the wait). A packet must arrive that long before it is
 * heard, so the adaptive target adds it (the peak of recent calls, falling
 * by DL_SINK_QUEUE_FALL_US_PER_S); a fixed --latency is left as given.
 * Not calling it means a sink that hears at once (the simulator). */
void rxpipe_set_sink_queue(struct rxpipe *rp, int64_t now_ns, int64_t queue_ns);

/* The sink lost time (it reported an underrun): the latency stepped up by
 * what it lost, which is not drift. Handled like a pull that came
 * DL_SINK_GAP_MS late (playout_sink_gap, PLAYOUT_SINK_GAP): the controller
 * restarts after DL_SINK_SETTLE_MS. Playout detects long gaps by itself;
 * this catches the short ones only the device knows of. */
void rxpipe_sink_gap(struct rxpipe *rp);

/* The network's one-way transit, for the E-model's mouth-to-ear delay
 * (0 until told: a LAN). */
void rxpipe_set_transit(struct rxpipe *rp, int64_t transit_ns);

/* --sync: the map from RTP time to when it is heard (rx/sync); a map of
 * another SSRC than the packets' is kept but not applied. */
void rxpipe_set_sync(struct rxpipe *rp, const struct sync_map *m);

/* The sender's BYE: playout_end on the stream (see playout.h), and whether
 * a stream has ended so since the last call (playout_take_ended). */
int rxpipe_end(struct rxpipe *rp, uint32_t ssrc, int have_end_ts, uint32_t end_ts);
int rxpipe_take_ended(struct rxpipe *rp);

void rxpipe_get_stats(const struct rxpipe *rp, struct rxpipe_stats *out);

/* The playout engine inside, for tests and the latency controller. */
struct playout *rxpipe_playout(struct rxpipe *rp);

#endif /* DL_RXPIPE_H */
