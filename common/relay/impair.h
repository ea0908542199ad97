/* The network impairment engine behind build/impair: for each datagram, a
 * seeded, reproducible decision of its fate (lost, blacked out, dropped by
 * a full rate queue, or passed, perhaps twice) and of the time each copy
 * leaves the relay. Pure: no I/O, no clock; the caller passes the arrival
 * time and later sends each copy at the time decided here. One engine per
 * flow of datagrams (build/impair runs four: RTP and RTCP, each way); not
 * thread-safe (one thread drives it).
 *
 * Semantics follow Linux netem where they overlap:
 *  - loss: independent with probability loss_pct, or (burst_len > 0) a
 *    two-state Gilbert model (netem "loss gemodel p r" with 1-h = 100 %,
 *    1-k = 0 %) whose stationary loss is loss_pct and whose mean loss run
 *    is burst_len packets: r = 1 / burst_len, p = r * L / (1 - L).
 *  - delay: delay_ms + jitter_ms * X, X of mean 0 and standard deviation 1
 *    for "normal", uniform on [-1, 1] for "uniform" (as netem: jitter is the
 *    half-width there), and a Pareto of shape 3 shifted and scaled to mean
 *    0, deviation 1 for "pareto" (netem uses a table). Negative results
 *    are 0. Copies leave in order of their times, so jitter larger than the
 *    packet interval reorders, as netem's tfifo does; keep_order stops that
 *    (a packet never leaves before the one before it).
 *  - reorder: with probability reorder_pct a packet skips the delay (not
 *    the rate queue) and so overtakes those delayed before it; with no
 *    delay it has no effect, as in netem.
 *  - duplicate: with probability duplicate_pct a second copy is sent, with
 *    its own delay draw. A lost packet is not duplicated.
 *  - rate: a token bucket of bucket_bytes filled at rate_kbit (1000 bit/s),
 *    charged len + overhead_bytes per packet, before the delay (a
 *    bottleneck link, then the path). A packet that would wait longer than
 *    queue_ms is dropped at the tail (as tbf's "latency").
 *  - blackouts: packets arriving in [start, start + len) after the engine's
 *    start time are dropped.
 *  - loss window: the loss model loses packets only in [start, start +
 *    len), a loss step for tests (netem has no such thing).
 * Each impairment draws from its own PRNG stream (xoshiro256** seeded by
 * splitmix64 from the seed) a fixed number of times per packet, so packet
 * k's loss, delay, reorder and duplicate draws depend on the seed and k
 * only, not on the other settings or on timing. */
#ifndef DL_IMPAIR_H
#define DL_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

#define IMPAIR_MAX_BLACKOUTS 16
#define IMPAIR_MAX_CHANGES   8

enum impair_dist {
  IMPAIR_DIST_NORMAL = 0,
  IMPAIR_DIST_PARETO,
  IMPAIR_DIST_UNIFORM
};

struct impair_blackout {
  int64_t start_ns;   /* after the engine's start time */
  int64_t len_ns;
};

/* From at_ns (after the engine's start) on, the delay and the jitter are
 * these: a route change, a jitter burst and its end. */
struct impair_change {
  int64_t at_ns;
  double delay_ms;
  double jitter_ms;
};

struct impair_config {
  uint64_t seed;
  double loss_pct;         /* 0..100 */
  double burst_len;        /* mean loss run in packets; 0: independent loss */
  double delay_ms;         /* 0.. */
  double jitter_ms;        /* 0.. */
  enum impair_dist dist;
  int keep_order;          /* 1: jitter never reorders */
  double reorder_pct;      /* 0..100 */
  double duplicate_pct;    /* 0..100 */
  double rate_kbit;        /* 0: unlimited */
  int overhead_bytes;      /* added per packet for the rate (28: IPv4 + UDP) */
  int bucket_bytes;        /* token bucket depth */
  double queue_ms;         /* longest wait in the rate queue */
  struct impair_blackout blackout[IMPAIR_MAX_BLACKOUTS];
  int n_blackout;
  /* The loss model loses only packets arriving in this window after the
   * start time (its chain still advances on every packet, so the draws
   * stay the seed's); len_ns 0: always. */
  struct impair_blackout loss_window;
  struct impair_change change[IMPAIR_MAX_CHANGES];   /* in time order */
  int n_change;
};

/* Why a packet was dropped, or IMPAIR_PASS. */
enum impair_verdict {
  IMPAIR_PASS = 0,
  IMPAIR_LOST,
  IMPAIR_BLACKOUT,
  IMPAIR_QUEUE_FULL
};

struct impair_fate {
  enum impair_verdict verdict;
  int copies;               /* 0 (dropped), 1, or 2 (duplicated) */
  int reordered;            /* 1: sent without the delay */
  int64_t send_ns[2];       /* when each copy leaves (>= arrival) */
};

struct impair_stats {
  uint64_t packets;         /* decided */
  uint64_t bytes;           /* of those packets */
  uint64_t lost;            /* by the loss model */
  uint64_t blackout;        /* dropped in a blackout */
  uint64_t queue_full;      /* dropped by the rate queue */
  uint64_t duplicated;      /* extra copies */
  uint64_t reordered;       /* sent without the delay */
  uint64_t passed;          /* packets with at least one copy */
};

struct impair;

/* Fills every field with a default: nothing impaired, seed 1, normal
 * jitter, overhead 28, bucket 1514 bytes, queue 100 ms. */
void impair_config_default(struct impair_config *cfg);

/* Returns 0 or -EINVAL (a value out of range, or a loss and burst length
 * that no Gilbert model has: loss / (1 - loss) > burst_len). */
int impair_config_check(const struct impair_config *cfg);

/* start_ns: the time blackouts count from. Returns 0, -EINVAL or -ENOMEM. */
int impair_create(struct impair **out, const struct impair_config *cfg, int64_t start_ns);
void impair_destroy(struct impair *im);   /* accepts NULL */

/* The fate of the next datagram, of len bytes, arriving at now_ns. Calls
 * must come in arrival order (now_ns not decreasing). */
void impair_decide(struct impair *im, int64_t now_ns, size_t len, struct impair_fate *fate);

void impair_get_stats(const struct impair *im, struct impair_stats *out);

/* "pass", "lost", "blackout", "queue_full". */
const char *impair_verdict_name(enum impair_verdict v);

/* "normal", "pareto", "uniform" to the enum. Returns 0 or -EINVAL. */
int impair_dist_parse(const char *s, enum impair_dist *out);

/* The seeded generator, exposed for tests and tools: xoshiro256** seeded
 * by splitmix64. */
struct impair_rng {
  uint64_t s[4];
};
void impair_rng_seed(struct impair_rng *r, uint64_t seed);
uint64_t impair_rng_next(struct impair_rng *r);
double impair_rng_uniform(struct impair_rng *r);   /* [0, 1) */

/* A send queue ordered by time, then by insertion, for the relay: a binary
 * heap of (send_ns, pointer). Fixed capacity. */
struct impair_queue_item {
  int64_t send_ns;
  uint64_t order;
  void *data;
};
struct impair_queue {
  struct impair_queue_item *items;
  size_t len;
  size_t cap;
  uint64_t next_order;
};
int impair_queue_init(struct impair_queue *q, size_t cap);   /* 0 or -ENOMEM */
void impair_queue_destroy(struct impair_queue *q);           /* accepts a zeroed one */
/* Returns 0 or -ENOBUFS (full). */
int impair_queue_push(struct impair_queue *q, int64_t send_ns, void *data);
/* The earliest item, or NULL when empty. */
const struct impair_queue_item *impair_queue_peek(const struct impair_queue *q);
/* Removes the earliest item and returns its data (NULL when empty). */
void *impair_queue_pop(struct impair_queue *q);

#endif /* DL_IMPAIR_H */
