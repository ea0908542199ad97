/* The drift and latency controller. See drift.h.
 *
 * Loop: dL/dt = drift - u, u = ratio - 1 = integ + kp e + ff, e = L - ref,
 * integ' = ki e. With kp = 2 zeta w and ki = w^2 the error obeys
 * e'' + 2 zeta w e' + w^2 e = drift', a critically damped (zeta = 0.9)
 * second-order loop: a drift step of D leaves a peak error of about
 * D / (w e) and then decays as exp(-w t); the integral term converges to D.
 * The measurement is smoothed first (a first-order filter far faster than
 * the loop) so that network jitter does not wobble the pitch. */
#include "drift.h"

#include <errno.h>
#include <math.h>

#include "defaults.h"

#define ZETA 0.9
#define SLEW_MARGIN 300e-6   /* ratio kept free for the proportional term */
#define DRIFT_REPORT_S 10.0  /* the reported drift: the integral term over this */

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
  if (!(c.max_ppm > 0 && c.max_ppm <= 100000) || !(c.bandwidth_hz > 0 && c.bandwidth_hz < 10) ||
      !(c.rise_ns_per_s > 0) || !(c.fall_ns_per_s > 0) || c.smooth_ns < 0)
    return -EINVAL;
  double w = 2 * M_PI * c.bandwidth_hz;
  dc->cfg = c;
  dc->kp = 2 * ZETA * w;
  dc->ki = w * w;
  dc->started = 0;
  dc->last_ns = 0;
  dc->ref = dc->lat = 0;
  dc->integ = dc->est = 0;
  dc->ratio = 1.0;
  return 0;
}

static double clampd(double v, double lo, double hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

double drift_update(struct drift *dc, int64_t now_ns, int64_t latency_ns, int64_t target_ns)
{
  double maxdev = dc->cfg.max_ppm * 1e-6;
  if (!dc->started) {
    dc->started = 1;
    dc->last_ns = now_ns;
    dc->ref = dc->lat = (double)latency_ns;
    return dc->ratio;
  }
  double dt = (double)(now_ns - dc->last_ns) * 1e-9;
  if (dt <= 0)
    return dc->ratio;
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
  double step = clampd((double)target_ns - dc->ref, -down, up);
  dc->ref += step;
  double ff = -step / (dt * 1e9);   /* latency up: consume less input */

  double e = (dc->lat - dc->ref) * 1e-9;   /* s */
  /* The integral term is bounded by the ratio's bound (its anti-windup):
   * target changes do not reach it as errors (the ramp has feed-forward),
   * so a lasting error is drift, up to and at the bound. */
  dc->integ = clampd(dc->integ + dc->ki * e * dt, -maxdev, maxdev);
  double u = clampd(dc->integ + dc->kp * e + ff, -maxdev, maxdev);
  dc->ratio = 1.0 + u;
  dc->est += (1.0 - exp(-dt / DRIFT_REPORT_S)) * (dc->integ - dc->est);
  return dc->ratio;
}

void drift_restart(struct drift *dc)
{
  dc->started = 0;
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
