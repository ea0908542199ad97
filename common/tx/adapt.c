/* The sender's adaptation (see adapt.h). */
#include "tx/adapt.h"

#include <math.h>
#include <string.h>

#include "defaults.h"

void adapt_init(struct adapt *a, const struct adapt_config *cfg)
{
  memset(a, 0, sizeof *a);
  a->cfg = *cfg;
  if (a->cfg.min_bitrate > a->cfg.bitrate)
    a->cfg.min_bitrate = a->cfg.bitrate;
  a->loss_perc = cfg->loss_perc;
  a->est = cfg->loss_perc;
  a->fec = cfg->fec && cfg->loss_perc > 0;
  a->bitrate = cfg->bitrate;
}

/* The expected loss the estimate asks for. */
static int wanted(double est)
{
  double w = est < 0.5 ? 0 : ceil(est - 1e-9);
  return w > DL_ADAPT_MAX_LOSS_PCT ? DL_ADAPT_MAX_LOSS_PCT : (int)w;
}

static unsigned adapt_loss(struct adapt *a, double l)
{
  int w, old = a->loss_perc;

  if (isnan(l))
    return 0;
  a->est = l > a->est ? l : a->est + (l - a->est) * 0.5;
  w = wanted(a->est);
  if (w >= a->loss_perc + DL_ADAPT_HYST_PCT || (a->loss_perc == 0 && w > 0)) {
    a->loss_perc = w;
    a->fall_votes = 0;
  } else if (w <= a->loss_perc - DL_ADAPT_HYST_PCT || (w == 0 && a->loss_perc > 0)) {
    if (++a->fall_votes >= DL_ADAPT_FALL_REPORTS) {
      a->loss_perc = w;
      a->fall_votes = 0;
    }
  } else {
    a->fall_votes = 0;
  }
  return a->loss_perc != old ? ADAPT_LOSS : 0;
}

static int round_rate(double r)
{
  return (int)(floor(r / 1000.0 + 0.5) * 1000.0);
}

static unsigned adapt_bitrate(struct adapt *a, const struct adapt_input *in)
{
  double q = in->rtt_ms - in->rtt_min_ms, l = isnan(in->loss_pct) ? 0 : in->loss_pct;
  int old = a->bitrate;

  if (isnan(q))
    return 0;
  if ((q >= DL_ADAPT_QUEUE_MS && l >= DL_ADAPT_CONGESTED_LOSS_PCT) || q >= 3 * DL_ADAPT_QUEUE_MS) {
    /* One late report is a hiccup (a stalled host); two in a row a queue. */
    if (++a->congested_reports >= DL_ADAPT_CONGESTED_REPORTS) {
      int r = round_rate(a->bitrate * 0.75);
      a->bitrate = r < a->cfg.min_bitrate ? a->cfg.min_bitrate : r;
      a->congested_reports = 0;
    }
    a->calm_reports = 0;
    return a->bitrate != old ? ADAPT_BITRATE : 0;
  }
  a->congested_reports = 0;
  if (l < 1.0 && q < DL_ADAPT_QUEUE_MS / 3.0) {
    if (++a->calm_reports >= DL_ADAPT_CALM_REPORTS && a->bitrate < a->cfg.bitrate) {
      int r = round_rate(a->bitrate * 1.25);
      a->bitrate = r > a->cfg.bitrate ? a->cfg.bitrate : r;
      a->calm_reports = 0;
    }
  } else {
    a->calm_reports = 0;
  }
  return a->bitrate != old ? ADAPT_BITRATE : 0;
}

unsigned adapt_report(struct adapt *a, const struct adapt_input *in)
{
  unsigned what = adapt_loss(a, in->loss_pct);
  int fec = a->cfg.fec && a->loss_perc > 0;

  if (fec != a->fec) {
    a->fec = fec;
    what |= ADAPT_FEC;
  }
  what |= adapt_bitrate(a, in);
  for (unsigned b = what; b != 0; b &= b - 1)
    a->events++;
  return what;
}
