/* A tiny JSON object writer into a caller's buffer, for the stats lines.
 * No allocation; an overflow is remembered and reported by json_end. */
#ifndef DL_JSON_H
#define DL_JSON_H

#include <stddef.h>
#include <stdint.h>

struct json {
  char *buf;
  size_t cap;
  size_t len;
  int need_comma;
  int overflow;
};

void json_begin(struct json *j, char *buf, size_t cap);    /* writes "{" */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
/* A number with `decimals` places; NaN or infinity is written as null. */
void json_num(struct json *j, const char *key, double v, int decimals);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
void json_str(struct json *j, const char *key, const char *s);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
/* An array of objects: json_arr_begin(j, "dests"), then per element
 * json_elem_begin .. json_obj_end, then json_arr_end. */
void json_arr_begin(struct json *j, const char *key);
void json_elem_begin(struct json *j);
void json_arr_end(struct json *j);
/* Closes the object. Returns the NUL-terminated text, or NULL if it did
 * not fit. */
const char *json_end(struct json *j);

#endif /* DL_JSON_H */
