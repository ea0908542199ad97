#include "rx/emodel.h"

#include <math.h>
#include <string.h>

double emodel_id(double d)
{
  double id;

  if (isnan(d))
    return NAN;
  if (d < 0)
    d = 0;
  id = 0.024 * d;
  if (d > 177.3)
    id += 0.11 * (d - 177.3);
  return id;
}

double emodel_ie_eff(double loss_pct, double burst_r)
{
  double ppl = loss_pct;

  if (isnan(ppl) || isnan(burst_r))
    return NAN;
  if (ppl < 0)
    ppl = 0;
  if (ppl > 100)
    ppl = 100;
  if (burst_r <= 0)
    burst_r = 1;
  return EMODEL_IE + (95.0 - EMODEL_IE) * ppl / (ppl / burst_r + EMODEL_BPL);
}

double emodel_r(double delay_ms, double loss_pct, double burst_r)
{
  return EMODEL_R0 - emodel_id(delay_ms) - emodel_ie_eff(loss_pct, burst_r);
}

double emodel_mos(double r)
{
  double mos;

  if (isnan(r))
    return NAN;
  if (r <= 0)
    return 1.0;
  if (r >= 100)
    return 4.5;
  mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
  /* The cubic dips just below 1 for R under about 6.5. */
  return mos < 1.0 ? 1.0 : mos;
}

void emodel_runs_init(struct emodel_runs *r)
{
  memset(r, 0, sizeof *r);
}

void emodel_runs_add(struct emodel_runs *r, int lost)
{
  lost = lost != 0;
  r->frames++;
  r->lost += (uint64_t)lost;
  if (r->have_prev) {
    if (r->prev_lost && lost)
      r->lost_to_lost++;
    else if (r->prev_lost)
      r->lost_to_found++;
    else if (lost)
      r->found_to_lost++;
    else
      r->found_to_found++;
  }
  r->have_prev = 1;
  r->prev_lost = lost;
}

void emodel_runs_add_lost(struct emodel_runs *r, uint64_t n)
{
  /* The same as n calls of emodel_runs_add(r, 1), in constant time. */
  if (n == 0)
    return;
  emodel_runs_add(r, 1);
  r->frames += n - 1;
  r->lost += n - 1;
  r->lost_to_lost += n - 1;
}

double emodel_runs_loss_pct(const struct emodel_runs *r)
{
  return r->frames ? 100.0 * (double)r->lost / (double)r->frames : 0.0;
}

double emodel_runs_burst_r(const struct emodel_runs *r)
{
  uint64_t from_found = r->found_to_lost + r->found_to_found;
  uint64_t from_lost = r->lost_to_found + r->lost_to_lost;
  double p, q;

  if (r->lost == 0 || from_found == 0)
    return 1.0;
  p = (double)r->found_to_lost / (double)from_found;
  /* A loss run still open at the end has not yet shown its exit: with no
   * observed exit at all, count one so that BurstR stays finite. */
  q = from_lost ? (double)r->lost_to_found / (double)from_lost : 1.0;
  if (r->lost_to_found == 0)
    q = 1.0 / (double)(from_lost + 1);
  if (p + q <= 0)
    return 1.0;
  return 1.0 / (p + q);
}

double emodel_runs_mean_burst(const struct emodel_runs *r)
{
  uint64_t runs;

  if (r->lost == 0)
    return 0.0;
  /* Runs = starts of loss: transitions into loss, plus a first frame lost. */
  runs = r->found_to_lost;
  if (r->lost > r->lost_to_lost + r->found_to_lost)
    runs++;   /* the first frame was lost */
  return runs ? (double)r->lost / (double)runs : (double)r->lost;
}
