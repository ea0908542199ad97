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

#include "util/ring.h"

struct trace {
  struct ring *ring;
  FILE *f;
  char *path;
  atomic_uint_least64_t dropped;   /* playback thread adds, any thread reads */
  int dropped_said;                /* loop thread */
  int failed;                      /* loop thread: a write failed, records are discarded */
  int err;                         /* its errno */
};

static const char *const kind_names[] = {"packet", "fec", "late", "dup"};

int trace_open(struct trace **out, const char *path, unsigned slots, char *err, size_t errcap)
{
  struct trace *t;
  int r = -ENOMEM;

  *out = NULL;
  t = calloc(1, sizeof *t);
  if (t == NULL || (t->path = strdup(path)) == NULL)
    goto fail;
  atomic_init(&t->dropped, 0);
  r = ring_create(&t->ring, slots, sizeof(struct trace_rec));
  if (r < 0)
    goto fail;
  t->f = fopen(path, "w");
  if (t->f == NULL) {
    r = -errno;
    snprintf(err, errcap, "cannot create: %s", strerror(-r));
    goto fail;
  }
  if (fputs("seq\tts\tarrival_ns\tplay_ns\tkind\n", t->f) < 0 || fflush(t->f) != 0) {
    r = -errno;
    snprintf(err, errcap, "cannot write: %s", strerror(-r));
    goto fail;
  }
  *out = t;
  return 0;
fail:
  if (r == -ENOMEM)
    snprintf(err, errcap, "out of memory");
  if (t != NULL) {
    if (t->f != NULL)
      fclose(t->f);
    ring_destroy(t->ring);
    free(t->path);
    free(t);
  }
  return r;
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

int trace_drain(struct trace *t, char *msg, size_t cap)
{
  const uint8_t *d;
  size_t len;
  int64_t arrival;
  int said = 0;

  while ((d = ring_peek(t->ring, &len, &arrival)) != NULL) {
    struct trace_rec r;

    if (!t->failed && len == sizeof r) {
      memcpy(&r, d, sizeof r);
      if (fprintf(t->f, "%u\t%" PRIu32 "\t%" PRId64 "\t%" PRId64 "\t%s\n", (unsigned)r.seq, r.ts,
                  r.arrival_ns, r.play_ns, r.kind < 4 ? kind_names[r.kind] : "?") < 0) {
        t->failed = 1;
        t->err = errno;
      }
    }
    ring_pop(t->ring);
  }
  /* Lines go out whole at every drain, so that a killed receiver leaves a
   * file of complete lines. */
  if (!t->failed && fflush(t->f) != 0) {
    t->failed = 1;
    t->err = errno;
  }
  if (t->failed == 1) {
    t->failed = 2;   /* said */
    snprintf(msg, cap, "--trace %s: cannot write: %s (no more trace lines)", t->path,
             strerror(t->err));
    said = 1;
  } else if (!t->dropped_said && trace_dropped(t) > 0) {
    t->dropped_said = 1;
    snprintf(msg, cap, "--trace %s: the trace ring is full: lines dropped (the file is incomplete)",
             t->path);
    said = 1;
  }
  return said;
}

int trace_close(struct trace *t, char *msg, size_t cap)
{
  int r = 0;

  msg[0] = '\0';
  if (t == NULL)
    return 0;
  if (!trace_drain(t, msg, cap))
    msg[0] = '\0';
  if (t->failed)
    r = -(t->err ? t->err : EIO);
  if (fclose(t->f) != 0 && r == 0) {
    r = -errno;
    snprintf(msg, cap, "--trace %s: cannot close: %s", t->path, strerror(-r));
  }
  ring_destroy(t->ring);
  free(t->path);
  free(t);
  return r;
}
