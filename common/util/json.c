#include "util/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 2, 3)))
static void emit(struct json *j, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (j->overflow)
    return;
  va_start(ap, fmt);
  n = vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= j->cap - j->len) {
    j->overflow = 1;
    return;
  }
  j->len += (size_t)n;
}

static void key(struct json *j, const char *k)
{
  emit(j, "%s\"%s\":", j->need_comma ? "," : "", k);
  j->need_comma = 1;
}

void json_begin(struct json *j, char *buf, size_t cap)
{
  j->buf = buf;
  j->cap = cap;
  j->len = 0;
  j->need_comma = 0;
  j->overflow = cap == 0;
  emit(j, "{");
}

void json_u64(struct json *j, const char *k, uint64_t v) { key(j, k); emit(j, "%" PRIu64, v); }
void json_i64(struct json *j, const char *k, int64_t v) { key(j, k); emit(j, "%" PRId64, v); }
void json_bool(struct json *j, const char *k, int v) { key(j, k); emit(j, "%s", v ? "true" : "false"); }
void json_null(struct json *j, const char *k) { key(j, k); emit(j, "null"); }

void json_num(struct json *j, const char *k, double v, int decimals)
{
  key(j, k);
  if (!isfinite(v))
    emit(j, "null");
  else
    emit(j, "%.*f", decimals, v);
}

void json_str(struct json *j, const char *k, const char *s)
{
  key(j, k);
  emit(j, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      emit(j, "\\%c", c);
    else if (c < 0x20)
      emit(j, "\\u%04x", c);
    else
      emit(j, "%c", c);
  }
  emit(j, "\"");
}

void json_obj_begin(struct json *j, const char *k)
{
  key(j, k);
  emit(j, "{");
  j->need_comma = 0;
}

void json_obj_end(struct json *j)
{
  emit(j, "}");
  j->need_comma = 1;
}

void json_arr_begin(struct json *j, const char *k)
{
  key(j, k);
  emit(j, "[");
  j->need_comma = 0;
}

void json_elem_begin(struct json *j)
{
  emit(j, "%s{", j->need_comma ? "," : "");
  j->need_comma = 0;
}

void json_arr_end(struct json *j)
{
  emit(j, "]");
  j->need_comma = 1;
}

const char *json_end(struct json *j)
{
  emit(j, "}");
  return j->overflow ? NULL : j->buf;
}
