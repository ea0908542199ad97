/* Synchronized playout (--sync): where on the receiver's own clock the
 * sample with RTP time T must be heard so that every receiver of a stream
 * hears it at the same instant, the sender's wall-clock W(T) plus a shared
 * presentation delay D.
 *
 * Two mappings meet here:
 *   - RTP time to the sender's wall clock, from its SRs (and, before the
 *     first, from the RFC 6051 NTP-64 header extension in its first
 *     packets): W(T) = ntp + (T - rtp_ts) / rate, the rate nominal until
 *     two SRs DL_SYNC_RATE_MIN_S apart measure it;
 *   - the sender's wall clock to our CLOCK_MONOTONIC, as NTP's clock
 *     filter finds it, without trusting that our wall clock agrees with
 *     the sender's: each SR (or stamped packet) that arrives gives
 *     a = arrival - W, which is the clock offset plus that packet's transit;
 *     the sample with the least a (the least-delayed packet), aged by
 *     DL_SYNC_PHI_PPM per second, is kept, and the transit is taken off as
 *     half the round trip (RFC 3611 RRT/DLRR), the least of recent ones.
 *     Before a round trip is known the transit is taken as 0 (a LAN's is
 *     well under a millisecond) and the error is unknown.
 * The error bound (sync_error) is the round trip's half, which the
 * asymmetry of the path may take, plus the selected samples' ageing.
 *
 * Pure, one thread (the receiver's loop thread); every time is an argument,
 * CLOCK_MONOTONIC ns (mono) or the sender's wall clock as ns since 1970. */
#ifndef DL_SYNC_H
#define DL_SYNC_H

#include <stdint.h>

#include "defaults.h"

enum sync_source {
  SYNC_NONE,       /* no mapping yet */
  SYNC_EXT,        /* RTP header extension only, transit taken as 0 */
  SYNC_SR,         /* SR, transit taken as 0 (no round trip yet) */
  SYNC_RTT         /* SR and half the round trip */
};

struct sync_config {
  int64_t delay_ns;          /* D: --sync-delay */
  int64_t trim_ns;           /* --sync-trim: this receiver plays that much later */
};

/* The result, for the playback thread: RTP time ts is heard at play_ns
 * (mono, delay and trim included); other times at ns_per_tick per tick
 * from it. */
struct sync_map {
  int valid;
  uint32_t ssrc;
  uint32_t ts;
  int64_t play_ns;
  double ns_per_tick;
};

struct sync_clock_sample {
  int64_t at_ns;             /* mono, when it was taken */
  int64_t v_ns;              /* a = arrival - W (offsets), or a round trip */
  int sr;                    /* an SR's offset: W is when it was sent; an RFC 6051
                                stamp's W is its packet's deadline, which the
                                sender's own lateness (its first second's most)
                                follows */
};

struct sync {
  struct sync_config cfg;
  int have_ssrc;
  uint32_t ssrc;
  /* RTP time to the sender's wall clock. */
  enum sync_source map_source;   /* SYNC_NONE, SYNC_EXT or SYNC_SR */
  uint32_t anchor_ts;
  int64_t anchor_wall_ns;
  int have_first_sr;
  uint32_t first_sr_ts;
  int64_t first_sr_wall_ns;
  double ns_per_tick;
  /* The clock filter. */
  struct sync_clock_sample off[DL_SYNC_SAMPLES];
  unsigned n_off, next_off;
  struct sync_clock_sample rtt[DL_SYNC_SAMPLES];
  unsigned n_rtt, next_rtt;
};

void sync_init(struct sync *s, const struct sync_config *cfg);

/* Forget the stream's mapping (a new source); the clock samples go too
 * (a new source may be another host). */
void sync_reset(struct sync *s);

/* An SR of ssrc: its NTP time (ns since 1970) and RTP time, arrived at
 * arrival_ns. A new SSRC resets first. */
void sync_sr(struct sync *s, uint32_t ssrc, int64_t wall_ns, uint32_t rtp_ts, int64_t arrival_ns);

/* A packet of ssrc with the RFC 6051 extension: the sender's wall clock
 * wall_ns at its timestamp ts, arrived at arrival_ns. It maps RTP time only
 * until an SR came; it is a clock sample all the same. */
void sync_ext(struct sync *s, uint32_t ssrc, int64_t wall_ns, uint32_t ts, int64_t arrival_ns);

/* Our round trip to the sender (RRT/DLRR), measured at now_ns. */
void sync_rtt(struct sync *s, int64_t rtt_ns, int64_t now_ns);

/* The estimate at now_ns: the map (valid 0 before any), and where it comes
 * from. Returns the source. */
enum sync_source sync_get(const struct sync *s, int64_t now_ns, struct sync_map *out);

/* The estimate's error bound (ns) at now_ns: half the least round trip
 * plus the ageing of the selected samples; -1 when unknown (no round trip
 * yet, or no mapping). */
int64_t sync_error_ns(const struct sync *s, int64_t now_ns);

/* mono - sender's wall clock at the same instant, as estimated (ns; the
 * transit taken off); 0 before a sample. Our wall clock minus the
 * sender's is this plus (realtime - mono). */
int64_t sync_clock_offset_ns(const struct sync *s, int64_t now_ns);

/* Our monotonic clock's rate against the sender's wall clock, as the
 * offset samples show it (ppm; > 0: ours runs fast); 0 until they span
 * DL_SYNC_SLOPE_MIN_S. */
double sync_clock_rate_ppm(const struct sync *s);

const char *sync_source_name(enum sync_source src);   /* "none", "ntp-ext", "sr", "rtt" */

/* When the map says ts is heard (mono ns), ts within 2^31 ticks of its
 * anchor. */
int64_t sync_play_ns(const struct sync_map *m, uint32_t ts);

/* The latency target that puts ts at its sync instant: play(ts) minus the
 * arrival the delay estimator expects for it (common/rx/delay's sense of
 * latency: heard - expected arrival). */
int64_t sync_target_ns(const struct sync_map *m, uint32_t ts, int64_t expected_arrival_ns);

#endif /* DL_SYNC_H */
