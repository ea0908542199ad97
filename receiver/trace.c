/* receiver --trace (see trace.h). The playback thread is the ring's only
 * producer, the loop thread its only consumer; the dropped count is the
 * one value both touch outside the ring, an atomic. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell/linew.h"
#include "util/ring.h"

struct trace {
  struct ring *ring;
  struct linew *w;
  int id;                          /* the writer's stream */
  const char *path;                /* for messages */
  atomic_uint_least64_t dropped;   /* playback thread adds, any thread reads */
  int dropped_said;                /* loop thread */
};

static const char *const kind_names[] = {"packet", "fec", "late", "dup", "start"};
static const char header[] = "seq\tts\tarrival_ns\tplay_ns\tkind\n";

int trace_open(struct trace **out, unsigned slots, struct linew *w, int id, const char *path)
{
  struct trace *t;
  int r;

  *out = NULL;
  t = calloc(1, sizeof *t);
  if (t == NULL)
    return -ENOMEM;
  atomic_init(&t->dropped, 0);
  r = ring_create(&t->ring, slots, sizeof(struct trace_rec));
  if (r < 0) {
    free(t);
    return r;
  }
  t->w = w;
  t->id = id;
  t->path = path;
  linew_put_wait(w, id, header, sizeof header - 1);
  *out = t;
  return 0;
}

void trace_push(struct trace *t, const struct trace_rec *r)
{
  if (ring_push(t->ring, r, sizeof *r, r->arrival_ns) != 0)
    atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
}

uint64_t trace_dropped(const struct trace *t)
{
  return atomic_load_explicit(&((struct trace *)t)->dropped, memory_order_relaxed);
}

int trace_drain(struct trace *t, int wait, char *msg, size_t cap)
{
  const uint8_t *d;
  size_t len;
  int64_t arrival;

  while ((d = ring_peek(t->ring, &len, &arrival)) != NULL) {
    struct trace_rec r;
    char line[128];
    int n;

    if (len == sizeof r) {
      memcpy(&r, d, sizeof r);
      n = snprintf(line, sizeof line, "%u\t%" PRIu32 "\t%" PRId64 "\t%" PRId64 "\t%s\n",
                   (unsigned)r.seq, r.ts, r.arrival_ns, r.play_ns,
                   r.kind < 5 ? kind_names[r.kind] : "?");
      if (wait)
        linew_put_wait(t->w, t->id, line, (size_t)n);
      else
        linew_put(t->w, t->id, line, (size_t)n);
    }
    ring_pop(t->ring);
  }
  if (!t->dropped_said && trace_dropped(t) > 0) {
    t->dropped_said = 1;
    snprintf(msg, cap, "--trace %s: the trace ring is full: lines dropped (the file is incomplete)",
             t->path);
    return 1;
  }
  return 0;
}

void trace_close(struct trace *t)
{
  if (t == NULL)
    return;
  ring_destroy(t->ring);
  free(t);
}
