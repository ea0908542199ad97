/* Synchronized playout's estimates (see sync.h). */
#include "rx/sync.h"

#include <math.h>
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
                       int64_t v)
{
  buf[*next].at_ns = at;
  buf[*next].v_ns = v;
  *next = (*next + 1) % DL_SYNC_SAMPLES;
  if (*n < DL_SYNC_SAMPLES)
    (*n)++;
}

/* The sample whose value, aged by `age_mul` * PHI per second since it was
 * taken, is least; its aged value in *aged. Returns its index, or -1. */
static int select_sample(const struct sync_clock_sample *buf, unsigned n, int64_t now_ns,
                         double age_mul, double *aged)
{
  int best = -1;
  double bv = 0;

  for (unsigned i = 0; i < n; i++) {
    double age = now_ns > buf[i].at_ns ? (double)(now_ns - buf[i].at_ns) : 0;
    double v = (double)buf[i].v_ns + age_mul * age * DL_SYNC_PHI_PPM * 1e-6;
    if (best < 0 || v < bv) {
      best = (int)i;
      bv = v;
    }
  }
  if (aged != NULL)
    *aged = bv;
  return best;
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
  add_sample(s->off, &s->n_off, &s->next_off, arrival_ns, arrival_ns - wall_ns);
}

void sync_ext(struct sync *s, uint32_t ssrc, int64_t wall_ns, uint32_t ts, int64_t arrival_ns)
{
  source_seen(s, ssrc);
  if (s->map_source != SYNC_SR) {
    s->map_source = SYNC_EXT;
    s->anchor_ts = ts;
    s->anchor_wall_ns = wall_ns;
  }
  add_sample(s->off, &s->n_off, &s->next_off, arrival_ns, arrival_ns - wall_ns);
}

void sync_rtt(struct sync *s, int64_t rtt_ns, int64_t now_ns)
{
  if (rtt_ns < 0)
    return;
  add_sample(s->rtt, &s->n_rtt, &s->next_rtt, now_ns, rtt_ns);
}

/* Half the least (aged) round trip: the transit; -1 without one. The
 * round trip's bound ages twice as fast: both its ends drift. */
static int64_t half_rtt(const struct sync *s, int64_t now_ns, double *aged_half)
{
  double aged;
  int i = select_sample(s->rtt, s->n_rtt, now_ns, 2.0, &aged);

  if (i < 0)
    return -1;
  if (aged_half != NULL)
    *aged_half = aged / 2;
  return s->rtt[i].v_ns / 2;
}

int64_t sync_clock_offset_ns(const struct sync *s, int64_t now_ns)
{
  int i = select_sample(s->off, s->n_off, now_ns, 1.0, NULL);
  int64_t t;

  if (i < 0)
    return 0;
  t = half_rtt(s, now_ns, NULL);
  return s->off[i].v_ns - (t > 0 ? t : 0);
}

enum sync_source sync_get(const struct sync *s, int64_t now_ns, struct sync_map *out)
{
  memset(out, 0, sizeof *out);
  if (s->map_source == SYNC_NONE || s->n_off == 0)
    return SYNC_NONE;
  out->valid = 1;
  out->ssrc = s->ssrc;
  out->ts = s->anchor_ts;
  out->ns_per_tick = s->ns_per_tick;
  out->play_ns = s->anchor_wall_ns + sync_clock_offset_ns(s, now_ns) + s->cfg.delay_ns + s->cfg.trim_ns;
  if (s->map_source == SYNC_SR && s->n_rtt > 0)
    return SYNC_RTT;
  return s->map_source;
}

int64_t sync_error_ns(const struct sync *s, int64_t now_ns)
{
  double half, aged_off;
  int i;

  if (s->map_source == SYNC_NONE || half_rtt(s, now_ns, &half) < 0)
    return -1;
  i = select_sample(s->off, s->n_off, now_ns, 1.0, &aged_off);
  if (i < 0)
    return -1;
  /* The round trip's half (the path's asymmetry may hide in it, and the
   * selected sample's own transit), aged, plus the offset sample's age. */
  return (int64_t)llround(half + (aged_off - (double)s->off[i].v_ns));
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
