/* A delay trace file for bench/sim and bench/jbuf (--trace file:PATH): one
 * delay in ms per packet and line, "-" (or any non-number) for a lost
 * packet, '#' comments and blank lines skipped. Its delays go to
 * common/util/arrivals as a table; reading the file is the programs' I/O, so it
 * is here, included by both, and not in common/. */
#ifndef DL_BENCH_TRACEFILE_H
#define DL_BENCH_TRACEFILE_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads PATH into *ms (malloc'd, NaN = lost) and *n. Returns 0, -errno,
 * -ENOMEM, or -EINVAL for a file without a packet. */
static int tracefile_read(const char *path, double **ms, size_t *n)
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

#endif /* DL_BENCH_TRACEFILE_H */
