/* --metrics-file (see metrics.h). */
#include "shell/metrics.h"

#include "shell/linew.h"
#include "util/prom.h"

int metrics_put(struct linew *w, int id, const char *json, const char *prog, const char *stream,
                const char *const *counters, int final)
{
  /* One producer thread per writer; the text is copied by the put. */
  static _Thread_local char text[LINEW_MAX_LINE];
  int n = prom_from_json(json, prog, stream, counters, text, sizeof text);

  if (n < 0)
    return n;
  return final ? linew_put_wait(w, id, text, (size_t)n) : linew_put(w, id, text, (size_t)n);
}
