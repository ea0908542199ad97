/* The arrival trace of bench/sim and bench/jbuf, as both take it: the
 * generator's flags (--trace, --base-delay, --loss, --seed; the specs
 * parsed by common/util/arrivals), the delay file of --trace file:PATH,
 * and the generator of one run. Reading the file is the programs' I/O, so
 * it is here and not in common/. Bench-only, a header as
 * bench/workload.h is: static functions, each used by both programs, so
 * that the two take the same flags with the same words.
 *
 * The file: one delay in ms per packet and line, "-" (or any non-number)
 * for a lost packet, '#' comments and blank lines skipped. */
#ifndef DL_BENCH_GEN_H
#define DL_BENCH_GEN_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/args.h"
#include "util/arrivals.h"

/* The trace as the flags say. */
struct gen_opts {
  struct arrivals_config cfg;   /* everything but the table */
  const char *spec;             /* --trace as given, for the outputs */
  const char *file;             /* --trace file:PATH: the PATH */
};

/* One run's generator. */
struct gen {
  struct arrivals a;
  double *file_ms;              /* file: delay per packet, NaN = lost */
  size_t file_n;
};

/* The defaults: the trace spec (one that parses), 5 ms base delay, no
 * loss (bursts of 1), seed from env DL_SEED, else 1. */
static void gen_defaults(struct gen_opts *o, const char *spec)
{
  const char *env = getenv("DL_SEED");
  memset(o, 0, sizeof *o);
  arrivals_parse_trace(spec, &o->cfg, &o->file);
  o->spec = spec;
  o->cfg.base_ms = 5;
  o->cfg.loss_burst = 1;
  o->cfg.seed = env != NULL ? strtoull(env, NULL, 10) : 1;
}

static int gen_bad(const char *prog, const char *flag, const char *val, const char *why)
{
  fprintf(stderr, "%s: %s: %s, got \"%s\"\n", prog, flag, why, val ? val : "");
  return -EINVAL;
}

/* Reads flag a with its value v (the next argument, or NULL) when it is
 * one of the generator's: --trace, --base-delay, --loss, --seed. Returns
 * 2 (the arguments it took), 0 when a is not one of them, or -EINVAL after
 * printing the usage error ("PROG: --loss: expected ..., got "x""). */
static int gen_flag(const char *prog, struct gen_opts *o, const char *a, const char *v)
{
  int rc;
  if (strcmp(a, "--trace") != 0 && strcmp(a, "--base-delay") != 0 && strcmp(a, "--loss") != 0 &&
      strcmp(a, "--seed") != 0)
    return 0;
  if (v == NULL)
    return gen_bad(prog, a, NULL, "needs a value");
  if (strcmp(a, "--trace") == 0) {
    if (arrivals_parse_trace(v, &o->cfg, &o->file) < 0)
      return gen_bad(prog, a, v, "expected constant, normal:SD, pareto:SCALE:SHAPE, spikes:P:H, route:P:S or file:PATH");
    o->spec = v;
  } else if (strcmp(a, "--base-delay") == 0) {
    if (args_double(v, 0, 10000, &o->cfg.base_ms) < 0)
      return gen_bad(prog, a, v, "expected 0..10000 ms");
  } else if (strcmp(a, "--loss") == 0) {
    if ((rc = arrivals_parse_loss(v, &o->cfg)) < 0)
      return gen_bad(prog, a, v, rc == -E2BIG ? "expected PCT[:BURST]" : "expected PCT 0..50 and BURST 1..1000 packets");
  } else {
    char *end;
    unsigned long long seed = strtoull(v, &end, 10);
    if (!*v || *end)
      return gen_bad(prog, a, v, "expected a whole number");
    o->cfg.seed = seed;
  }
  return 2;
}

/* Reads PATH into *ms (malloc'd, NaN = lost) and *n. Returns 0, -errno,
 * -ENOMEM, or -EINVAL for a file without a packet. */
static int gen_read_file(const char *path, double **ms, size_t *n)
{
  FILE *f = fopen(path, "r");
  char line[128];
  size_t cap = 0;

  *ms = NULL;
  *n = 0;
  if (!f)
    return -errno;
  while (fgets(line, sizeof line, f)) {
    char *end;
    double v = strtod(line, &end);
    if (line[0] == '#' || line[0] == '\n')
      continue;
    if (end == line)
      v = NAN;   /* "-" or "lost": a lost packet */
    if (*n == cap) {
      cap = cap ? cap * 2 : 4096;
      double *p = realloc(*ms, cap * sizeof *p);
      if (!p) {
        fclose(f);
        return -ENOMEM;
      }
      *ms = p;
    }
    (*ms)[(*n)++] = v;
  }
  fclose(f);
  return *n == 0 ? -EINVAL : 0;
}

/* Starts a run's trace: common/util/arrivals on o->cfg, a file's delays
 * handed to it as its table. Returns 0 or gen_read_file's error; gen_free
 * either way. */
static int gen_init(struct gen *g, const struct gen_opts *o)
{
  struct arrivals_config c = o->cfg;
  memset(g, 0, sizeof *g);
  if (c.kind == ARRIVALS_TABLE) {
    int rc = gen_read_file(o->file, &g->file_ms, &g->file_n);
    if (rc < 0)
      return rc;
  }
  c.table_ms = g->file_ms;
  c.table_n = g->file_n;
  arrivals_init(&g->a, &c);
  return 0;
}

static void gen_free(struct gen *g)
{
  free(g->file_ms);
  g->file_ms = NULL;
  g->file_n = 0;
}

#endif /* DL_BENCH_GEN_H */
