#include "shell/usage.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/args.h"

const char *usage_prog = "driftless";
const char *usage_hint = "";

void usage_error(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", usage_prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", usage_hint);
  exit(2);
}

long usage_long(const char *flag, const char *s, long min, long max, const char *unit)
{
  long v;
  if (args_long(s, min, max, &v) < 0)
    usage_error("%s: expected %ld..%ld%s%s, got \"%s\"", flag, min, max, *unit ? " " : "", unit, s);
  return v;
}

double usage_double(const char *flag, const char *s, double min, double max, const char *unit)
{
  double v;
  if (args_double(s, min, max, &v) < 0)
    usage_error("%s: expected %g..%g%s%s, got \"%s\"", flag, min, max, *unit ? " " : "", unit, s);
  return v;
}
