/* The adaptive target latency: an estimate of the arrival-delay
 * distribution, as WebRTC NetEq's delay manager keeps it, turned into the
 * latency the playout should hold.
 *
 * Each packet's arrival delay is taken relative to the RTP timeline:
 * d = arrival - ts / 48 kHz. A tracker with a slope term (an alpha-beta
 * filter, so that a sender or sink clock skew of some hundred ppm does not
 * bias it) follows the typical d; the relative delay r = d - tracked d goes
 * into a histogram of 1 ms buckets whose old entries fade with a forgetting
 * factor per packet. The target is the histogram's q-quantile (default
 * 0.97) plus the duration of one more frame, bounded by min and max.
 *
 * The histogram rises quickly: a run of late packets soon holds a few
 * percent of its mass. It falls slowly: old delays fade with the
 * forgetting factor (a time constant of some seconds), and a falling
 * target is also followed only slowly by the drift controller.
 *
 * "Latency" in this module's sense is the latency of a packet that arrives
 * at the tracked delay: heard - delay_expected_arrival(ts). A packet with
 * relative delay r sees latency - r, and is late when that is below zero.
 *
 * Pure, one thread at a time (the receiver's playback thread). Times in ns
 * of the receiver's CLOCK_MONOTONIC (or virtual time), given by the caller. */
#ifndef DL_DELAY_H
#define DL_DELAY_H

#include <stdint.h>

struct delay_config {
  double quantile;       /* 0.5 .. 0.9999; DL_DEFAULT_LATENCY_QUANTILE */
  int64_t min_ns;        /* bounds of the target */
  int64_t max_ns;
  int64_t initial_ns;    /* target until enough packets were seen */
  int64_t memory_ns;     /* forgetting time constant; 0: DL_DELAY_MEMORY_MS */
};

struct delay;

/* Returns 0, -EINVAL (bad config) or -ENOMEM. */
int delay_create(struct delay **out, const struct delay_config *cfg);
void delay_destroy(struct delay *d);   /* accepts NULL */

/* One received packet: its arrival time, RTP timestamp (48 kHz) and the
 * samples it carries. Late and duplicate packets belong here too: they are
 * what the distribution is about. */
void delay_put(struct delay *d, int64_t arrival_ns, uint32_t ts, int samples);

/* The target latency in ns (initial_ns before enough packets): the
 * quantile plus one frame (the margin the next packet's FEC needs). */
int64_t delay_target(const struct delay *d);

/* The same with margin_ns instead of the frame (0: the quantile alone),
 * within the bounds. */
int64_t delay_target_margin(const struct delay *d, int64_t margin_ns);

/* The arrival time (receiver clock) at which a packet with timestamp ts
 * is expected, at the tracked delay. ts within 2^31 of the last packet's.
 * Returns 0 before the first packet. */
int64_t delay_expected_arrival(const struct delay *d, uint32_t ts);

/* The last packet's relative delay (ns; positive: later than tracked),
 * and the quantile alone (ns, without the frame). */
int64_t delay_last_relative(const struct delay *d);
int64_t delay_quantile(const struct delay *d);

/* The path's delay stepped by step_ns (a route change, seen by the caller
 * in a run of packets that agree): the tracked delay moves by it at once;
 * the distribution of delays around it, which is the path's jitter, is
 * kept. */
void delay_shift(struct delay *d, int64_t step_ns);

/* The mean absolute relative delay (ns): the path's jitter, about 0.8 of
 * its standard deviation for normal jitter; 0 before a packet. */
int64_t delay_spread(const struct delay *d);

/* Forget everything (a new stream); the target returns to initial_ns. */
void delay_reset(struct delay *d);

#endif /* DL_DELAY_H */
