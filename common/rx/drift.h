/* Drift compensation: a PI controller, in the style of roc-toolkit's
 * frequency estimator, that steers the ratio of a resampler between the
 * decoder and the sink so that the measured latency follows the target.
 *
 * ratio = input samples consumed per output sample. The latency grows by
 * (drift - (ratio - 1)) seconds per second, where drift is the sender's
 * clock rate against the sink's; the integral term therefore settles on
 * the drift, which is reported in ppm (positive: the sender's clock runs
 * fast against the sink's, or the sink's slow).
 *
 * A change of target is not fed to the loop as a step: a reference ramps
 * toward it at a bounded slew (up faster than down) and the ramp's slope is
 * added as feed-forward, so the latency moves smoothly, by resampling only,
 * and the integrator keeps estimating drift rather than winding up on the
 * transition. The ratio stays within 1 +- max_ppm; the slew is reduced so
 * that drift plus slew fit.
 *
 * Pure, one thread at a time (the playback thread). Times in ns. */
#ifndef DL_DRIFT_H
#define DL_DRIFT_H

#include <stdint.h>

struct drift_config {
  double max_ppm;         /* |ratio - 1| bound; 0: DL_DRIFT_MAX_PPM */
  double bandwidth_hz;    /* loop natural frequency; 0: DL_DRIFT_BANDWIDTH_MHZ */
  double ratio_step;      /* the resampler's ratio resolution (0: continuous); the
                             ratio returned is a multiple of it, as applied */
  double rise_ns_per_s;   /* target slew up; 0: DL_DRIFT_RISE_US_PER_S */
  double fall_ns_per_s;   /* and down; 0: DL_DRIFT_FALL_US_PER_S */
  int64_t smooth_ns;      /* latency measurement smoothing; 0: DL_DRIFT_SMOOTH_MS */
};

#define DRIFT_WINDOW_S 60   /* the reported drift's measuring window, s */

struct drift {
  struct drift_config cfg;
  double kp, ki;          /* per s, per s^2 */
  int started;
  int64_t start_ns;       /* when the loop (re)started */
  int64_t last_ns;
  double ref;             /* the ramped reference, ns */
  double lat;             /* smoothed measured latency, ns */
  double ref_f;           /* the reference through the same smoothing */
  double integ;           /* integral term: the drift estimate (ratio - 1) */
  double est;             /* the reported drift (ratio - 1 units) */
  double used;            /* integral of (ratio - 1) dt, s: input consumed beyond 1:1 */
  double shifted;         /* sum of drift_shift steps, s: latency moved by other means */
  /* The drift measured directly: over a window, what the latency gained
   * plus what the resampler took away, per second (the least-squares slope
   * of their sum). One sample a second,
   * each the mean over that second (exact for a ramp, and less noisy). */
  struct drift_sample { double t, lat, used; } win[DRIFT_WINDOW_S + 1];
  int win_n, win_head;
  double win_next;        /* s: when the next sample is due */
  double acc_t, acc_lat, acc_used;
  int acc_n;
  double ratio;
  int frozen;             /* drift_learn(0): the integral term holds */
};

/* Fills in defaults. Returns 0 or -EINVAL. */
int drift_init(struct drift *dc, const struct drift_config *cfg);

/* One latency measurement (ns) at now_ns against the target (ns).
 * Returns the new ratio. The first call only starts the loop (the
 * reference begins at the measured latency). */
double drift_update(struct drift *dc, int64_t now_ns, int64_t latency_ns, int64_t target_ns);

/* After a resync the latency jumps: restart the reference and smoothing at
 * the new latency, keeping the drift estimate. */
void drift_restart(struct drift *dc);

/* The latency was moved by delta_ns on purpose, by other means than the
 * ratio (time-scale modification took or gave that much audio, or the
 * timeline was held): the next measurements are delta_ns off. The
 * smoothed latency and the reference move with it, so the loop sees no
 * error and the drift estimate no slope. Before the loop started: nothing
 * to move. */
void drift_shift(struct drift *dc, int64_t delta_ns);

/* Whether the integral term (the drift estimate the loop acts on) learns
 * from the error of the next updates: 0 while the latency is being moved
 * by other means (a change of target being made by splices), when its
 * error is not drift. The proportional term acts either way. */
void drift_learn(struct drift *dc, int on);

double drift_ratio(const struct drift *dc);     /* 1.0 before the first update */
/* The drift estimate in ppm: measured over the last DRIFT_WINDOW_S (latency
 * gained plus input consumed beyond 1:1, per second, as a least-squares
 * slope: exact whatever the loop is doing), or the loop's integral term before 10 s of that (the
 * window opens 15 s after a start or resync). */
double drift_ppm(const struct drift *dc);
int64_t drift_reference(const struct drift *dc);  /* the ramped target, ns */
int64_t drift_latency(const struct drift *dc);    /* the smoothed latency, ns */

#endif /* DL_DRIFT_H */
