/* The drift and latency controller. See drift.h.
 *
 * Loop: dL/dt = drift - u, u = ratio - 1 = integ + kp e + ff, e = L - ref,
 * integ' = ki e. With kp = 2 zeta w and ki = w^2 the error obeys
 * e'' + 2 zeta w e' + w^2 e = drift', a critically damped (zeta = 0.9)
 * second-order loop: a drift step of D leaves a peak error of about
 * D / (w e) and then decays as exp(-w t); the integral term converges to D.
 * The measurement is smoothed first (a first-order filter far faster than
 * the loop) so that network jitter does not wobble the pitch. */
#include "rx/drift.h"

#include <errno.h>
#include <math.h>

#include "defaults.h"

#define ZETA 0.9
#define SLEW_MARGIN 300e-6   /* ratio kept free for the proportional term */
#define REF_TAU_S 4.0        /* the reference's approach to the target */
#define WINDOW_SKIP_S 15.0   /* the window starts this long after a (re)start: the
                                delay tracker is still learning the clock's slope,
                                and its error then would read as drift */
#define WINDOW_MIN_S 10.0    /* before this much window, report the integral term */

int drift_init(struct drift *dc, const struct drift_config *cfg)
{
  struct drift_config c = *cfg;
  if (c.max_ppm == 0)
    c.max_ppm = DL_DRIFT_MAX_PPM;
  if (c.bandwidth_hz == 0)
    c.bandwidth_hz = DL_DRIFT_BANDWIDTH_MHZ / 1000.0;
  if (c.rise_ns_per_s == 0)
    c.rise_ns_per_s = DL_DRIFT_RISE_US_PER_S * 1000.0;
  if (c.fall_ns_per_s == 0)
    c.fall_ns_per_s = DL_DRIFT_FALL_US_PER_S * 1000.0;
  if (c.smooth_ns == 0)
    c.smooth_ns = DL_DRIFT_SMOOTH_MS * 1000000LL;
  if (!(c.ratio_step >= 0 && c.ratio_step < 1e-3) || !(c.max_ppm > 0 && c.max_ppm <= 100000) || !(c.bandwidth_hz > 0 && c.bandwidth_hz < 10) ||
      !(c.rise_ns_per_s > 0) || !(c.fall_ns_per_s > 0) || c.smooth_ns < 0)
    return -EINVAL;
  double w = 2 * M_PI * c.bandwidth_hz;
  dc->cfg = c;
  dc->kp = 2 * ZETA * w;
  dc->ki = w * w;
  dc->started = 0;
  dc->last_ns = 0;
  dc->ref = dc->lat = dc->ref_f = 0;
  dc->integ = dc->est = 0;
  dc->used = 0;
  dc->shifted = 0;
  dc->frozen = 0;
  dc->win_n = dc->win_head = 0;
  dc->win_next = 0;
  dc->acc_n = 0;
  dc->acc_t = dc->acc_lat = dc->acc_used = 0;
  dc->ratio = 1.0;
  return 0;
}

static double clampd(double v, double lo, double hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* Once a second: a window sample, and the drift over the window. The
 * latency grows by drift - (ratio - 1) per second, so drift = d(latency)/dt
 * + d(used)/dt, measured, not inferred from the loop. */
static void window_update(struct drift *dc, double t, double lat_s)
{
  if (t < (double)dc->start_ns * 1e-9 + WINDOW_SKIP_S) {
    dc->est = dc->integ;
    return;
  }
  if (dc->acc_n == 0)
    dc->win_next = t + 1.0;
  dc->acc_t += t;
  dc->acc_lat += lat_s - dc->shifted;   /* the steps drift_shift was told of are not drift */
  dc->acc_used += dc->used;
  dc->acc_n++;
  if (t < dc->win_next) {
    if (dc->win_n == 0)
      dc->est = dc->integ;
    return;
  }
  int cap = DRIFT_WINDOW_S + 1;
  dc->win[dc->win_head].t = dc->acc_t / dc->acc_n;
  dc->win[dc->win_head].lat = dc->acc_lat / dc->acc_n;
  dc->win[dc->win_head].used = dc->acc_used / dc->acc_n;
  dc->acc_t = dc->acc_lat = dc->acc_used = 0;
  dc->acc_n = 0;
  t = dc->win[dc->win_head].t;
  dc->win_head = (dc->win_head + 1) % cap;
  if (dc->win_n < cap)
    dc->win_n++;
  int oldest = dc->win_n < cap ? 0 : dc->win_head;
  double span = t - dc->win[oldest].t;
  if (span < WINDOW_MIN_S) {
    dc->est = dc->integ;
    return;
  }
  /* The least-squares slope of latency + used over the window, not the
   * difference of its ends: one second whose latency a hiccup of the
   * machine bent by 4 ms moved the end-to-end figure by 100 ppm over a
   * 40 s window, and moves the slope by about a tenth of that. Centred
   * on the oldest sample, so the sums stay small. */
  double st = 0, sy = 0, stt = 0, sty = 0;
  int n = dc->win_n;
  for (int i = 0; i < n; i++) {
    const struct drift_sample *w = &dc->win[(oldest + i) % cap];
    double x = w->t - dc->win[oldest].t;
    double y = w->lat + w->used;
    st += x;
    sy += y;
    stt += x * x;
    sty += x * y;
  }
  double den = n * stt - st * st;
  dc->est = den > 0 ? (n * sty - st * sy) / den : dc->integ;
}

double drift_update(struct drift *dc, int64_t now_ns, int64_t latency_ns, int64_t target_ns)
{
  double maxdev = dc->cfg.max_ppm * 1e-6;
  if (!dc->started) {
    dc->started = 1;
    dc->last_ns = now_ns;
    dc->start_ns = now_ns;
    dc->ref = dc->lat = dc->ref_f = (double)latency_ns;
    dc->win_n = dc->win_head = 0;
    dc->acc_n = 0;
    dc->acc_t = dc->acc_lat = dc->acc_used = 0;
    return dc->ratio;
  }
  double dt = (double)(now_ns - dc->last_ns) * 1e-9;
  if (dt <= 0)
    return dc->ratio;
  dc->used += (dc->ratio - 1.0) * dt;   /* the ratio in force since the last call */
  if (dt > 1.0)
    dt = 1.0;   /* a stall: do not integrate over it */
  dc->last_ns = now_ns;

  double a = dc->cfg.smooth_ns > 0 ? 1.0 - exp(-dt * 1e9 / (double)dc->cfg.smooth_ns) : 1.0;
  dc->lat += a * ((double)latency_ns - dc->lat);

  /* Ramp the reference; the slew left after the drift fits in the bound. */
  double room = maxdev - fabs(dc->integ) - SLEW_MARGIN;
  if (room < 0)
    room = 0;
  double up = fmin(dc->cfg.rise_ns_per_s * 1e-9, room) * dt * 1e9;
  double down = fmin(dc->cfg.fall_ns_per_s * 1e-9, room) * dt * 1e9;
  /* The target moves a little with every packet; chasing each move at full
   * slew would flip the feed-forward (and the pitch) to and fro. The
   * reference approaches it exponentially (REF_TAU_S), within the slew. */
  double step = clampd(((double)target_ns - dc->ref) * fmin(1.0, dt / REF_TAU_S), -down, up);
  dc->ref += step;
  double ff = -step / (dt * 1e9);   /* latency up: consume less input */

  /* Compare like with like: the smoothed latency lags a ramp, and so does
   * the reference passed through the same filter. */
  dc->ref_f += a * (dc->ref - dc->ref_f);
  double e = (dc->lat - dc->ref_f) * 1e-9;   /* s */
  /* The integral term is bounded by the ratio's bound (its anti-windup):
   * target changes do not reach it as errors (the ramp has feed-forward),
   * so a lasting error is drift, up to and at the bound. */
  if (!dc->frozen)
    dc->integ = clampd(dc->integ + dc->ki * e * dt, -maxdev, maxdev);
  double u = clampd(dc->integ + dc->kp * e + ff, -maxdev, maxdev);
  if (dc->cfg.ratio_step > 0)
    u = round(u / dc->cfg.ratio_step) * dc->cfg.ratio_step;
  dc->ratio = 1.0 + u;
  window_update(dc, (double)now_ns * 1e-9, (double)latency_ns * 1e-9);
  return dc->ratio;
}

void drift_restart(struct drift *dc)
{
  dc->started = 0;
}

void drift_learn(struct drift *dc, int on)
{
  dc->frozen = !on;
}

void drift_shift(struct drift *dc, int64_t delta_ns)
{
  if (!dc->started)
    return;
  dc->lat += (double)delta_ns;
  dc->ref += (double)delta_ns;
  dc->ref_f += (double)delta_ns;
  dc->shifted += (double)delta_ns * 1e-9;
}

double drift_ratio(const struct drift *dc)
{
  return dc->ratio;
}

double drift_ppm(const struct drift *dc)
{
  return dc->est * 1e6;
}

int64_t drift_reference(const struct drift *dc)
{
  return (int64_t)dc->ref;
}

int64_t drift_latency(const struct drift *dc)
{
  return (int64_t)dc->lat;
}
