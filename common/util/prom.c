/* Stats lines to Prometheus text (see prom.h). The reader knows exactly the
 * JSON that common/util/json writes: an object of "key": value pairs, the
 * values numbers, true, false, null, strings, or one level of nested
 * objects of the same. Anything else is refused. */
#include "util/prom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct out {
  char *buf;
  size_t cap, len;
  int full;
};

static void emit(struct out *o, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (o->full)
    return;
  va_start(ap, fmt);
  n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->cap - o->len)
    o->full = 1;
  else
    o->len += (size_t)n;
}

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

/* A "key" into k (at most cap - 1 characters of [a-z0-9_]); returns the
 * position after it, or NULL. */
static const char *read_key(const char *p, char *k, size_t cap)
{
  size_t n = 0;

  if (*p != '"')
    return NULL;
  for (p++; *p != '"'; p++) {
    int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ok || n + 1 >= cap)
      return NULL;
    k[n++] = *p;
  }
  k[n] = '\0';
  return p + 1;
}

/* A string value: skipped (not a metric). */
static const char *skip_string(const char *p)
{
  for (p++; *p != '"'; p++) {
    if (*p == '\0')
      return NULL;
    if (*p == '\\' && *++p == '\0')
      return NULL;
  }
  return p + 1;
}

/* An array (the sender's "dests"): skipped whole, strings and nesting
 * included; its elements have no name of their own for a metric. Returns
 * the position after it, or NULL. */
static const char *skip_array(const char *p)
{
  int depth = 0;

  for (; *p != '\0'; p++) {
    if (*p == '"') {
      if ((p = skip_string(p)) == NULL)
        return NULL;
      p--;
    } else if (*p == '[' || *p == '{') {
      depth++;
    } else if (*p == ']' || *p == '}') {
      if (--depth == 0)
        return *p == ']' ? p + 1 : NULL;
      if (depth < 0)
        return NULL;
    }
  }
  return NULL;
}

static int is_counter(const char *key, const char *const *counters)
{
  for (; counters != NULL && *counters != NULL; counters++)
    if (strcmp(key, *counters) == 0)
      return 1;
  return 0;
}

/* The label value, escaped as the format says (backslash, quote, newline). */
static void emit_label(struct out *o, const char *v)
{
  for (; *v != '\0'; v++) {
    if (*v == '\\' || *v == '"')
      emit(o, "\\%c", *v);
    else if (*v == '\n')
      emit(o, "\\n");
    else
      emit(o, "%c", *v);
  }
}

static void emit_metric(struct out *o, const char *prog, const char *name, int counter,
                        const char *stream, const char *value, size_t vlen)
{
  emit(o, "# TYPE driftless_%s_%s%s %s\n", prog, name, counter ? "_total" : "",
       counter ? "counter" : "gauge");
  emit(o, "driftless_%s_%s%s{stream=\"", prog, name, counter ? "_total" : "");
  emit_label(o, stream);
  emit(o, "\"} %.*s\n", (int)vlen, value);
}

/* One value at p for metric `name` (top: its key is `key`). depth 0: a
 * nested object is read, its members named name_member. Returns the
 * position after it, or NULL. */
static const char *read_value(const char *p, const char *name, const char *key, int depth,
                              struct out *o, const char *prog, const char *stream,
                              const char *const *counters)
{
  p = skip_ws(p);
  if (*p == '{') {
    if (depth > 0)
      return NULL;
    p = skip_ws(p + 1);
    if (*p == '}')
      return p + 1;
    for (;;) {
      char k[64], full[160];
      p = read_key(skip_ws(p), k, sizeof k);
      if (p == NULL || *(p = skip_ws(p)) != ':')
        return NULL;
      snprintf(full, sizeof full, "%s_%s", name, k);
      p = read_value(p + 1, full, key, 1, o, prog, stream, counters);
      if (p == NULL)
        return NULL;
      p = skip_ws(p);
      if (*p == '}')
        return p + 1;
      if (*p != ',')
        return NULL;
      p++;
    }
  }
  if (*p == '"')
    return skip_string(p);
  if (*p == '[')
    return depth == 0 ? skip_array(p) : NULL;
  if (strncmp(p, "null", 4) == 0)
    return p + 4;
  if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
    int t = *p == 't';
    if (strcmp(name, "final") != 0)
      emit_metric(o, prog, name, 0, stream, t ? "1" : "0", 1);
    return p + (t ? 4 : 5);
  }
  const char *v = p;
  if (*p == '-')
    p++;
  while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')
    p++;
  if (p == v || (p == v + 1 && *v == '-'))
    return NULL;
  emit_metric(o, prog, name, depth == 0 && is_counter(key, counters), stream, v, (size_t)(p - v));
  return p;
}

int prom_from_json(const char *json, const char *prog, const char *stream,
                   const char *const *counters, char *out, size_t cap)
{
  struct out o = {out, cap, 0, 0};
  const char *p = skip_ws(json);

  if (cap == 0)
    return -ENOBUFS;
  out[0] = '\0';
  if (*p++ != '{')
    return -EINVAL;
  p = skip_ws(p);
  if (*p != '}') {
    for (;;) {
      char k[64];
      p = read_key(skip_ws(p), k, sizeof k);
      if (p == NULL || *(p = skip_ws(p)) != ':')
        return -EINVAL;
      p = read_value(p + 1, k, k, 0, &o, prog, stream, counters);
      if (p == NULL)
        return -EINVAL;
      p = skip_ws(p);
      if (*p == '}')
        break;
      if (*p != ',')
        return -EINVAL;
      p++;
    }
  }
  if (*skip_ws(p + 1) != '\0')
    return -EINVAL;
  if (o.full)
    return -ENOBUFS;
  return (int)o.len;
}
