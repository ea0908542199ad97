/* Generated arrival delays (see arrivals.h). The order of the random draws
 * is part of the output: loss state first, then the kind's draws, then the
 * calm-path jitter; a change to it changes every published trace. */
#include "util/arrivals.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "util/args.h"

static uint64_t rng_next(struct arrivals *a)
{
  uint64_t z = (a->rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rng_unit(struct arrivals *a)   /* (0, 1): log() never sees 0 */
{
  return ((double)(rng_next(a) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_gauss(struct arrivals *a)
{
  return sqrt(-2 * log(rng_unit(a))) * cos(2 * M_PI * rng_unit(a));
}

int arrivals_parse_trace(const char *s, struct arrivals_config *cfg, const char **path)
{
  struct arrivals_config c = *cfg;   /* all or nothing: cfg changes on success only */
  char *end;
  const char *colon;
  size_t n;

  if (strcmp(s, "constant") == 0) {
    cfg->kind = ARRIVALS_CONSTANT;
    return 0;
  }
  if (strncmp(s, "file:", 5) == 0 && s[5]) {
    cfg->kind = ARRIVALS_TABLE;
    if (path != NULL)
      *path = s + 5;
    return 0;
  }
  colon = strchr(s, ':');
  n = colon ? (size_t)(colon - s) : strlen(s);
  int need = 0;   /* parameters that must all be given */
  if (n == 6 && strncmp(s, "normal", 6) == 0) {
    c.kind = ARRIVALS_NORMAL;
    c.p1 = 10;
  } else if (n == 6 && strncmp(s, "pareto", 6) == 0) {
    c.kind = ARRIVALS_PARETO;
    c.p1 = 10;
    c.p2 = 3;
  } else if (n == 6 && strncmp(s, "spikes", 6) == 0) {
    c.kind = ARRIVALS_SPIKES;
    c.p1 = 30;
    c.p2 = 150;
  } else if (n == 5 && strncmp(s, "route", 5) == 0) {
    c.kind = ARRIVALS_ROUTE;
    c.p1 = 60;
    c.p2 = 20;
  } else if (n == 4 && strncmp(s, "step", 4) == 0) {
    c.kind = ARRIVALS_STEP;
    need = 2;
  } else if (n == 5 && strncmp(s, "burst", 5) == 0) {
    c.kind = ARRIVALS_BURST;
    need = 4;
  } else {
    return -EINVAL;
  }
  double v[4];
  int got = 0;
  for (const char *q = colon; q != NULL && *q == ':' && got < 4; q = end) {
    v[got] = strtod(q + 1, &end);
    if (end == q + 1)
      return -EINVAL;
    got++;
  }
  if ((colon != NULL && *end) || got < need || (need == 0 && got > 2))
    return -EINVAL;
  if (c.kind == ARRIVALS_STEP) {
    if (!(v[0] >= 0) || v[1] == 0 || !isfinite(v[1]))
      return -EINVAL;
  } else {
    for (int i = 0; i < got; i++)
      if (!(v[i] > 0) || !isfinite(v[i]))
        return -EINVAL;
  }
  double *p[4] = {&c.p1, &c.p2, &c.p3, &c.p4};
  for (int i = 0; i < got; i++)
    *p[i] = v[i];
  cfg->kind = c.kind;
  cfg->p1 = c.p1;
  cfg->p2 = c.p2;
  cfg->p3 = c.p3;
  cfg->p4 = c.p4;
  return 0;
}

int arrivals_parse_loss(const char *s, struct arrivals_config *cfg)
{
  /* PCT is copied out to be read whole by args_double; a percentage
   * needs far fewer characters than this. */
  char pct[32];
  const char *colon = strchr(s, ':');
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  double l, b = cfg->loss_burst;

  if (n >= sizeof pct)
    return -E2BIG;
  memcpy(pct, s, n);
  pct[n] = '\0';
  if (args_double(pct, 0, 50, &l) < 0 || (colon && args_double(colon + 1, 1, 1000, &b) < 0))
    return -EINVAL;
  cfg->loss_pct = l;
  cfg->loss_burst = b;
  return 0;
}

void arrivals_init(struct arrivals *a, const struct arrivals_config *cfg)
{
  memset(a, 0, sizeof *a);
  a->cfg = *cfg;
  a->rng = cfg->seed;
  if (cfg->kind == ARRIVALS_SPIKES || cfg->kind == ARRIVALS_ROUTE)
    a->event_t = -log(rng_unit(a)) * cfg->p1;
  a->spike_t = -1e9;
}

double arrivals_delay(struct arrivals *a, size_t k, double t)
{
  const struct arrivals_config *c = &a->cfg;
  double extra = 0;

  if (c->loss_pct > 0) {
    /* Gilbert: bursts of mean length loss_burst, overall rate loss_pct. */
    double l = c->loss_pct / 100, b = c->loss_burst >= 1 ? c->loss_burst : 1;
    double p_enter = l / (b * (1 - l));
    if (a->bad)
      a->bad = rng_unit(a) >= 1 / b;
    else
      a->bad = rng_unit(a) < p_enter;
  }
  switch (c->kind) {
  case ARRIVALS_CONSTANT:
    break;
  case ARRIVALS_NORMAL:
    extra = 3 * c->p1 + c->p1 * rng_gauss(a);
    if (extra < 0)
      extra = 0;
    break;
  case ARRIVALS_PARETO:
    extra = c->p1 * (pow(rng_unit(a), -1.0 / c->p2) - 1);
    break;
  case ARRIVALS_SPIKES:
    /* A queue stalls for h ms and then releases what it held at once. */
    while (t >= a->event_t) {
      a->spike_t = a->event_t;
      a->spike_h = c->p2 * (0.5 + rng_unit(a));
      a->event_t += -log(rng_unit(a)) * c->p1;
    }
    if ((t - a->spike_t) * 1000 < a->spike_h)
      extra = a->spike_h - (t - a->spike_t) * 1000;
    extra += 1.0 * fabs(rng_gauss(a));
    break;
  case ARRIVALS_ROUTE:
    while (t >= a->event_t) {
      double step = c->p2 * (0.5 + 0.5 * rng_unit(a));
      a->route_ms += rng_unit(a) < 0.5 ? -step : step;
      if (a->route_ms < 0)
        a->route_ms = -a->route_ms;
      if (a->route_ms > 3 * c->p2)
        a->route_ms -= 2 * step;
      a->event_t += -log(rng_unit(a)) * c->p1;
    }
    extra = a->route_ms + 1.0 * fabs(rng_gauss(a));
    break;
  case ARRIVALS_TABLE:
    return k < c->table_n ? c->table_ms[k] : NAN;
  case ARRIVALS_STEP:
    extra = (t >= c->p1 ? c->p2 : 0) + 1.0 * fabs(rng_gauss(a));
    break;
  case ARRIVALS_BURST: {
    double sd = t >= c->p1 && t < c->p1 + c->p2 ? c->p4 : c->p3;
    extra = 3 * sd + sd * rng_gauss(a);
    if (extra < 0)
      extra = 0;
    break;
  }
  }
  if (c->calm_after_s > 0 && t >= c->calm_after_s)
    extra = 0.5 * fabs(rng_gauss(a));
  if (a->bad)
    return NAN;
  return c->base_ms + extra;
}
