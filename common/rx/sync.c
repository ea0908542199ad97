/* Synchronized playout's estimates (see sync.h). */
#include "rx/sync.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wire/rtp.h"

#define NOMINAL_NS_PER_TICK (1e9 / DL_RATE)

void sync_init(struct sync *s, const struct sync_config *cfg)
{
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->ns_per_tick = NOMINAL_NS_PER_TICK;
}

void sync_reset(struct sync *s)
{
  struct sync_config cfg = s->cfg;
  sync_init(s, &cfg);
}

static void add_sample(struct sync_clock_sample *buf, unsigned *n, unsigned *next, int64_t at,
                       int64_t v, int sr)
{
  buf[*next].at_ns = at;
  buf[*next].v_ns = v;
  buf[*next].sr = sr;
  *next = (*next + 1) % DL_SYNC_SAMPLES;
  if (*n < DL_SYNC_SAMPLES)
    (*n)++;
}

/* The sample whose value, carried to now_ns at `slope` (ns per ns) and
 * aged by `age_mul` * PHI per second since it was taken, is least; that
 * carried value (unaged) in *carried and the aged one, less the carried,
 * in *ageing. Values stay int64: as doubles, offsets against a wall clock
 * since 1970 (1.7e18 ns) would lose a quarter microsecond. Returns its
 * index, or -1. */
static int select_sample(const struct sync_clock_sample *buf, unsigned n, int64_t now_ns, double slope,
                         double age_mul, int64_t *carried, double *ageing)
{
  int best = -1;
  double bv = 0, ba = 0;
  int64_t bc = 0;

  for (unsigned i = 0; i < n; i++) {
    double age = now_ns > buf[i].at_ns ? (double)(now_ns - buf[i].at_ns) : 0;
    int64_t c = buf[i].v_ns + (int64_t)llround(slope * (double)(now_ns - buf[i].at_ns));
    double a = age_mul * age * DL_SYNC_PHI_PPM * 1e-6;
    double v = (double)(c - buf[0].v_ns) + a;
    if (best < 0 || v < bv) {
      best = (int)i;
      bv = v;
      bc = c;
      ba = a;
    }
  }
  if (ageing != NULL)
    *ageing = ba;
  if (carried != NULL)
    *carried = bc;
  return best;
}

/* Least squares of v against at over the samples whose flag is set;
 * returns the slope (0 without two distinct times) and the residuals. */
static double fit(const struct sync_clock_sample *buf, unsigned n, const int *use, double *res)
{
  double tm = 0, vm = 0, stt = 0, stv = 0, m = 0, b;
  int64_t t0 = buf[0].at_ns, v0 = buf[0].v_ns;   /* doubles of ns since 1970 would lose the microseconds */

  for (unsigned i = 0; i < n; i++)
    if (use[i]) {
      tm += (double)(buf[i].at_ns - t0);
      vm += (double)(buf[i].v_ns - v0);
      m++;
    }
  if (m < 2)
    return 0;
  tm /= m;
  vm /= m;
  for (unsigned i = 0; i < n; i++)
    if (use[i]) {
      double dt = (double)(buf[i].at_ns - t0) - tm;
      stt += dt * dt;
      stv += dt * ((double)(buf[i].v_ns - v0) - vm);
    }
  b = stt > 0 ? stv / stt : 0;
  for (unsigned i = 0; i < n; i++)
    res[i] = (double)(buf[i].v_ns - v0) - vm - b * ((double)(buf[i].at_ns - t0) - tm);
  return b;
}

/* How fast our clock runs against the sender's (ns per ns; > 0: ours
 * faster): without NTP two machines' clocks differ by tens of ppm, which
 * over the filter's samples would otherwise bias the least-delayed one by
 * milliseconds. The slope of the SRs' offsets against time, fitted again
 * over the lower half of the residuals (the less-delayed packets: queueing
 * only adds); 0 until they span DL_SYNC_SLOPE_MIN_S, within
 * DL_SYNC_MAX_RATE_PPM. Only SRs: the header extension's stamps of the
 * first second, a cluster at one end of the span, sit as much higher as
 * the sender was late then; fitted with them, 0.5 ms gave 50 ppm and a
 * loaded start the bound, 1000 ppm (the offset then walked a millisecond
 * a second until they had left the filter). */
static double clock_slope(const struct sync *s)
{
  double res[DL_SYNC_SAMPLES], sorted[DL_SYNC_SAMPLES], b, med;
  int use[DL_SYNC_SAMPLES];
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  unsigned n = s->n_off, m = 0;

  for (unsigned i = 0; i < n; i++) {
    use[i] = s->off[i].sr;
    if (!use[i])
      continue;
    lo = s->off[i].at_ns < lo ? s->off[i].at_ns : lo;
    hi = s->off[i].at_ns > hi ? s->off[i].at_ns : hi;
    m++;
  }
  if (m < 4 || hi - lo < (int64_t)DL_SYNC_SLOPE_MIN_S * 1000000000)
    return 0;
  b = fit(s->off, n, use, res);
  m = 0;
  for (unsigned i = 0; i < n; i++)
    if (use[i])
      sorted[m++] = res[i];
  for (unsigned i = 1; i < m; i++)   /* insertion sort: at most DL_SYNC_SAMPLES */
    for (unsigned j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
      double x = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = x;
    }
  med = sorted[(m - 1) / 2];
  for (unsigned i = 0; i < n; i++)
    use[i] = use[i] && res[i] <= med;
  b = fit(s->off, n, use, res);
  if (b > DL_SYNC_MAX_RATE_PPM * 1e-6)
    b = DL_SYNC_MAX_RATE_PPM * 1e-6;
  if (b < -DL_SYNC_MAX_RATE_PPM * 1e-6)
    b = -DL_SYNC_MAX_RATE_PPM * 1e-6;
  return b;
}

double sync_clock_rate_ppm(const struct sync *s)
{
  return clock_slope(s) * 1e6;
}

static void source_seen(struct sync *s, uint32_t ssrc)
{
  if (s->have_ssrc && s->ssrc != ssrc)
    sync_reset(s);
  s->have_ssrc = 1;
  s->ssrc = ssrc;
}

void sync_sr(struct sync *s, uint32_t ssrc, int64_t wall_ns, uint32_t rtp_ts, int64_t arrival_ns)
{
  source_seen(s, ssrc);
  if (!s->have_first_sr) {
    s->have_first_sr = 1;
    s->first_sr_ts = rtp_ts;
    s->first_sr_wall_ns = wall_ns;
  } else {
    /* The sender's RTP clock against its wall clock, over the SRs' whole
     * span (but within 2^31 ticks); an implausible one (a restart that
     * kept its SSRC, a wall clock stepped) restarts the span. */
    int32_t dt = rtp_ts_diff(rtp_ts, s->first_sr_ts);
    double dw = (double)(wall_ns - s->first_sr_wall_ns);
    if (dt > 0 && dw >= DL_SYNC_RATE_MIN_S * 1e9) {
      double r = dw / dt;
      if (fabs(r / NOMINAL_NS_PER_TICK - 1) <= DL_SYNC_MAX_RATE_PPM * 1e-6) {
        s->ns_per_tick = r;
      } else {
        s->first_sr_ts = rtp_ts;
        s->first_sr_wall_ns = wall_ns;
        s->ns_per_tick = NOMINAL_NS_PER_TICK;
      }
    } else if (dt <= 0 || dw <= 0) {
      s->first_sr_ts = rtp_ts;
      s->first_sr_wall_ns = wall_ns;
      s->ns_per_tick = NOMINAL_NS_PER_TICK;
    }
  }
  s->map_source = SYNC_SR;
  s->anchor_ts = rtp_ts;
  s->anchor_wall_ns = wall_ns;
  add_sample(s->off, &s->n_off, &s->next_off, arrival_ns, arrival_ns - wall_ns, 1);
}

void sync_ext(struct sync *s, uint32_t ssrc, int64_t wall_ns, uint32_t ts, int64_t arrival_ns)
{
  source_seen(s, ssrc);
  if (s->map_source != SYNC_SR) {
    s->map_source = SYNC_EXT;
    s->anchor_ts = ts;
    s->anchor_wall_ns = wall_ns;
  }
  add_sample(s->off, &s->n_off, &s->next_off, arrival_ns, arrival_ns - wall_ns, 0);
}

void sync_rtt(struct sync *s, int64_t rtt_ns, int64_t now_ns)
{
  if (rtt_ns < 0)
    return;
  add_sample(s->rtt, &s->n_rtt, &s->next_rtt, now_ns, rtt_ns, 0);
}

/* Half the least (aged) round trip: the transit; -1 without one. The
 * round trip's bound ages twice as fast: both its ends drift. */
static int64_t half_rtt(const struct sync *s, int64_t now_ns, double *aged_half)
{
  double ageing;
  int i = select_sample(s->rtt, s->n_rtt, now_ns, 0, 2.0, NULL, &ageing);

  if (i < 0)
    return -1;
  if (aged_half != NULL)
    *aged_half = ((double)s->rtt[i].v_ns + ageing) / 2;
  return s->rtt[i].v_ns / 2;
}

int64_t sync_clock_offset_ns(const struct sync *s, int64_t now_ns)
{
  int64_t c, t;
  int i = select_sample(s->off, s->n_off, now_ns, clock_slope(s), 1.0, &c, NULL);

  if (i < 0)
    return 0;
  t = half_rtt(s, now_ns, NULL);
  return c - (t > 0 ? t : 0);
}

enum sync_source sync_get(const struct sync *s, int64_t now_ns, struct sync_map *out)
{
  memset(out, 0, sizeof *out);
  if (s->map_source == SYNC_NONE || s->n_off == 0)
    return SYNC_NONE;
  out->valid = 1;
  out->ssrc = s->ssrc;
  out->ts = s->anchor_ts;
  /* RTP time runs at the sender's rate on its wall clock, which runs at
   * 1 + slope on ours. */
  out->ns_per_tick = s->ns_per_tick * (1 + clock_slope(s));
  out->play_ns = s->anchor_wall_ns + sync_clock_offset_ns(s, now_ns) + s->cfg.delay_ns + s->cfg.trim_ns;
  if (s->map_source == SYNC_SR && s->n_rtt > 0)
    return SYNC_RTT;
  return s->map_source;
}

int64_t sync_error_ns(const struct sync *s, int64_t now_ns)
{
  double half, ageing;

  if (s->map_source == SYNC_NONE || half_rtt(s, now_ns, &half) < 0)
    return -1;
  if (select_sample(s->off, s->n_off, now_ns, clock_slope(s), 1.0, NULL, &ageing) < 0)
    return -1;
  /* The round trip's half (the path's asymmetry may hide in it, and the
   * selected sample's own transit), aged, plus the offset sample's age. */
  return (int64_t)llround(half + ageing);
}

const char *sync_source_name(enum sync_source src)
{
  switch (src) {
  case SYNC_EXT: return "ntp-ext";
  case SYNC_SR: return "sr";
  case SYNC_RTT: return "rtt";
  default: return "none";
  }
}

int64_t sync_play_ns(const struct sync_map *m, uint32_t ts)
{
  return m->play_ns + (int64_t)llround((double)rtp_ts_diff(ts, m->ts) * m->ns_per_tick);
}

int64_t sync_target_ns(const struct sync_map *m, uint32_t ts, int64_t expected_arrival_ns)
{
  return sync_play_ns(m, ts) - expected_arrival_ns;
}
