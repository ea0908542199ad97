/* Generated network arrival delays for the simulator and the benchmarks
 * (bench/sim, bench/jbuf): one delay per packet, in send order, from a
 * seeded generator, so that two programs given the same configuration see
 * the very same trace. Pure: no I/O, no clock (time is an argument); a
 * trace read from a file is handed in as a table by the program. */
#ifndef DL_ARRIVALS_H
#define DL_ARRIVALS_H

#include <stddef.h>
#include <stdint.h>

enum arrivals_kind {
  ARRIVALS_CONSTANT,     /* base only */
  ARRIVALS_NORMAL,       /* base + max(0, 3 sd + sd N(0,1)); p1 = sd ms */
  ARRIVALS_PARETO,       /* base + Pareto excess; p1 = scale ms, p2 = shape */
  ARRIVALS_SPIKES,       /* a queue stalls for ~p2 ms every ~p1 s (Poisson), then
                            releases what it held; 1 ms |N| jitter besides */
  ARRIVALS_ROUTE,        /* the path steps by ~p2 ms every ~p1 s; 1 ms |N| jitter */
  ARRIVALS_TABLE,        /* the caller's table of delays, one per packet */
  ARRIVALS_STEP,         /* one route change: the path steps by p2 ms (either way) at
                            p1 s; 1 ms |N| jitter */
  ARRIVALS_BURST,        /* normal jitter of sd p3 ms, p4 ms from p1 s for p2 s (a
                            jitter burst) */
};

struct arrivals_config {
  enum arrivals_kind kind;
  double p1, p2, p3, p4;   /* per kind, see above */
  double base_ms;          /* the path's constant part */
  double loss_pct;         /* Gilbert loss: overall rate, % */
  double loss_burst;       /* its mean burst length, packets (< 1: 1) */
  double calm_after_s;     /* > 0: from this send time on, only 0.5 ms |N| jitter
                              (a calm path after a rough one); not for TABLE */
  uint64_t seed;
  const double *table_ms;  /* ARRIVALS_TABLE: delay of packet k in ms, NaN = lost; */
  size_t table_n;          /* the caller keeps it alive */
};

struct arrivals {
  struct arrivals_config cfg;
  uint64_t rng;            /* splitmix64 state */
  double event_t;          /* next spike or route change, s */
  double spike_t, spike_h; /* the current spike: start s, height ms */
  double route_ms;         /* the route's current extra delay */
  int bad;                 /* in a loss burst */
};

/* Parses a trace spec: constant, normal[:SD], pareto[:SCALE[:SHAPE]],
 * spikes[:PERIOD[:HEIGHT]], route[:PERIOD[:STEP]] (ms, s as above; omitted
 * parameters take the defaults normal:10, pareto:10:3, spikes:30:150,
 * route:60:20), step:AT:MS (MS may be negative) or burst:AT:LEN:SD:SD2
 * (every parameter given) into cfg->kind and p1..p4; nothing else in cfg
 * is touched.
 * "file:PATH" sets ARRIVALS_TABLE (p1, p2 kept) and *path (may be NULL) to
 * PATH within spec: the program reads the file and hands its delays over
 * as table_ms. Returns 0, or -EINVAL with cfg and *path untouched. */
int arrivals_parse_trace(const char *spec, struct arrivals_config *cfg, const char **path);

/* Parses a loss spec PCT[:BURST]: cfg->loss_pct = PCT (0..50 %) and, when
 * given, cfg->loss_burst = BURST (1..1000 packets); nothing else in cfg is
 * touched. Returns 0; -E2BIG when PCT is longer than 31 characters (no
 * percentage is), -EINVAL for any other spec; cfg untouched on error. */
int arrivals_parse_loss(const char *spec, struct arrivals_config *cfg);

/* Starts the trace over: the same config gives the same delays. */
void arrivals_init(struct arrivals *a, const struct arrivals_config *cfg);

/* Delay in ms of packet k, sent at t_s seconds (virtual time), or NaN when
 * it is lost. Call once per packet, k = 0, 1, ... in order. */
double arrivals_delay(struct arrivals *a, size_t k, double t_s);

#endif /* DL_ARRIVALS_H */
