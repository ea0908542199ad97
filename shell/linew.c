/* linew: lines to files from a writer thread (see linew.h).
 *
 * The ring holds records [header][line bytes], back to back, wrapping at
 * the end. head and tail count bytes since the start (unsigned, so they
 * may wrap); the producer alone moves head, the writer alone moves tail,
 * each publishing with release and reading the other's with acquire. No
 * lock: the producer never waits, not even for a writer thread that was
 * preempted in the middle of a batch. The writer polls every
 * DL_LINEW_POLL_MS instead of being woken, so putting a line costs the
 * producer a memcpy and no system call. */
#include "shell/linew.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"

struct linew_stream {
  FILE *f;              /* NULL for a replace stream */
  char *path;           /* a replace stream's file; NULL otherwise */
  char name[256];
  int err;              /* writer thread: first errno of a write or flush */
  uint64_t dropped;     /* producer thread */
};

struct rec {
  uint16_t len;
  uint8_t id;
  uint8_t pad;
};

struct linew {
  const char *prog;
  uint8_t *buf;
  size_t cap, mask;
  _Atomic size_t head;  /* bytes put; producer moves it */
  _Atomic size_t tail;  /* bytes written out; writer moves it */
  atomic_int stop;
  atomic_int dropped_any;
  int started;
  pthread_t thread;
  struct linew_stream st[LINEW_MAX_STREAMS];
  int n;
};

int linew_create(struct linew **out, const char *prog, size_t queue_bytes)
{
  struct linew *w;
  size_t cap = 4096;

  *out = NULL;
  while (cap < queue_bytes)
    cap <<= 1;
  w = calloc(1, sizeof *w);
  if (w == NULL)
    goto fail;
  w->buf = malloc(cap);
  if (w->buf == NULL)
    goto fail;
  w->prog = prog;
  w->cap = cap;
  w->mask = cap - 1;
  atomic_init(&w->head, 0);
  atomic_init(&w->tail, 0);
  atomic_init(&w->stop, 0);
  atomic_init(&w->dropped_any, 0);
  *out = w;
  return 0;

fail:
  free(w);
  return -ENOMEM;
}

int linew_add(struct linew *w, FILE *f, const char *name)
{
  struct linew_stream *s;

  if (w->n >= LINEW_MAX_STREAMS)
    return -ENOSPC;
  s = &w->st[w->n];
  s->f = f;
  snprintf(s->name, sizeof s->name, "%s", name);
  return w->n++;
}

int linew_add_replace(struct linew *w, const char *path, const char *name)
{
  int id;
  char *p = strdup(path);

  if (p == NULL)
    return -ENOMEM;
  id = linew_add(w, NULL, name);
  if (id < 0) {
    free(p);
    return id;
  }
  w->st[id].path = p;
  return id;
}

/* Writer thread: the file of a replace stream becomes data[0..a) and
 * data2[0..b) (a record may wrap in the ring). Returns 0 or an errno. */
static int replace_file(const char *path, const uint8_t *data, size_t a, const uint8_t *data2, size_t b)
{
  char tmp[4096 + 8];
  FILE *f;
  int e = 0;

  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return ENAMETOOLONG;
  f = fopen(tmp, "w");
  if (f == NULL)
    return errno != 0 ? errno : EIO;
  if (fwrite(data, 1, a, f) != a || fwrite(data2, 1, b, f) != b)
    e = errno != 0 ? errno : EIO;
  if (fclose(f) != 0 && e == 0)
    e = errno != 0 ? errno : EIO;
  if (e == 0 && rename(tmp, path) != 0)
    e = errno != 0 ? errno : EIO;
  if (e != 0)
    unlink(tmp);
  return e;
}

static void copy_in(struct linew *w, size_t pos, const void *src, size_t n)
{
  size_t off = pos & w->mask, first = w->cap - off < n ? w->cap - off : n;
  memcpy(w->buf + off, src, first);
  memcpy(w->buf, (const uint8_t *)src + first, n - first);
}

static void copy_out(struct linew *w, size_t pos, void *dst, size_t n)
{
  size_t off = pos & w->mask, first = w->cap - off < n ? w->cap - off : n;
  memcpy(dst, w->buf + off, first);
  memcpy((uint8_t *)dst + first, w->buf, n - first);
}

/* Producer. Returns 0 or -ENOBUFS, counting nothing. */
static int try_put(struct linew *w, int id, const char *line, size_t len)
{
  size_t head = atomic_load_explicit(&w->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit(&w->tail, memory_order_acquire);
  struct rec r;

  if (sizeof r + len > w->cap - (head - tail))
    return -ENOBUFS;
  memset(&r, 0, sizeof r);
  r.len = (uint16_t)len;
  r.id = (uint8_t)id;
  copy_in(w, head, &r, sizeof r);
  copy_in(w, head + sizeof r, line, len);
  atomic_store_explicit(&w->head, head + sizeof r + len, memory_order_release);
  return 0;
}

int linew_put(struct linew *w, int id, const char *line, size_t len)
{
  if (w == NULL || id < 0 || id >= w->n || len > LINEW_MAX_LINE)
    return -EINVAL;
  if (try_put(w, id, line, len) == 0)
    return 0;
  w->st[id].dropped++;
  atomic_store_explicit(&w->dropped_any, 1, memory_order_relaxed);
  return -ENOBUFS;
}

int linew_printf(struct linew *w, int id, const char *fmt, ...)
{
  char line[LINEW_MAX_LINE + 1];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0 || n > LINEW_MAX_LINE)
    return -EINVAL;
  return linew_put(w, id, line, (size_t)n);
}

/* Writes out every whole record put so far. Writer thread (or the
 * producer, when there is no writer thread). */
static void drain(struct linew *w)
{
  size_t head = atomic_load_explicit(&w->head, memory_order_acquire);
  size_t tail = atomic_load_explicit(&w->tail, memory_order_relaxed);
  unsigned touched = 0;

  while (tail != head) {
    struct linew_stream *s;
    struct rec r;
    size_t off, first;

    copy_out(w, tail, &r, sizeof r);
    s = &w->st[r.id];
    off = (tail + sizeof r) & w->mask;
    first = w->cap - off < r.len ? w->cap - off : r.len;
    if (s->path != NULL) {
      if (s->err == 0)
        s->err = replace_file(s->path, w->buf + off, first, w->buf, r.len - first);
    } else {
      if (s->err == 0 &&
          (fwrite(w->buf + off, 1, first, s->f) != first ||
           fwrite(w->buf, 1, r.len - first, s->f) != r.len - first))
        s->err = errno != 0 ? errno : EIO;
      touched |= 1u << r.id;
    }
    /* stdio has its own copy now: free the room before the flush, which
     * is where a slow disk makes us wait. */
    tail += sizeof r + r.len;
    atomic_store_explicit(&w->tail, tail, memory_order_release);
  }
  for (int i = 0; i < w->n; i++) {
    if ((touched & (1u << i)) && fflush(w->st[i].f) != 0 && w->st[i].err == 0)
      w->st[i].err = errno != 0 ? errno : EIO;
  }
}

static void *writer_main(void *arg)
{
  struct linew *w = arg;
  const struct timespec poll = {0, (long)DL_LINEW_POLL_MS * 1000000L};
  int said = 0;

  for (;;) {
    /* Read stop before draining: every line put before it is seen. */
    int stopping = atomic_load_explicit(&w->stop, memory_order_acquire);
    drain(w);
    if (!said && atomic_load_explicit(&w->dropped_any, memory_order_relaxed)) {
      fprintf(stderr, "%s: output is written slower than it comes: dropping lines "
              "(counted at exit)\n", w->prog);
      said = 1;
    }
    if (stopping)
      break;
    nanosleep(&poll, NULL);
  }
  return NULL;
}

int linew_start(struct linew *w)
{
  sigset_t all, old;
  int rc;

  /* Signals go to the loop thread (libuv's handlers), never here. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&w->thread, NULL, writer_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0)
    return -rc;
  w->started = 1;
  return 0;
}

int linew_put_line(struct linew *w, int id, const char *text, int wait)
{
  char line[LINEW_MAX_LINE];
  size_t len = strlen(text);

  if (len + 1 > sizeof line)
    return -EINVAL;
  memcpy(line, text, len);
  line[len++] = '\n';
  return wait ? linew_put_wait(w, id, line, len) : linew_put(w, id, line, len);
}

unsigned long long linew_dropped(const struct linew *w, int id)
{
  return id >= 0 && id < w->n ? (unsigned long long)w->st[id].dropped : 0;
}

int linew_put_wait(struct linew *w, int id, const char *line, size_t len)
{
  const struct timespec pause = {0, 1000000L};

  if (w == NULL || id < 0 || id >= w->n || len > LINEW_MAX_LINE)
    return -EINVAL;
  for (;;) {
    if (try_put(w, id, line, len) == 0)
      return 0;
    if (!w->started)
      drain(w);
    else
      nanosleep(&pause, NULL);
  }
}

int linew_destroy(struct linew *w)
{
  int rc = 0;

  if (w == NULL)
    return 0;
  if (w->started) {
    atomic_store_explicit(&w->stop, 1, memory_order_release);
    pthread_join(w->thread, NULL);
  } else {
    drain(w);
  }
  for (int i = 0; i < w->n; i++) {
    struct linew_stream *s = &w->st[i];
    if (s->path != NULL) {
      free(s->path);
    } else if (s->f == stderr || s->f == stdout) {
      if (fflush(s->f) != 0 && s->err == 0)
        s->err = errno != 0 ? errno : EIO;
    } else if (fclose(s->f) != 0 && s->err == 0) {
      s->err = errno != 0 ? errno : EIO;
    }
    if (s->dropped > 0)
      fprintf(stderr, "%s: %s: %llu lines dropped (written slower than they came)\n",
              w->prog, s->name, (unsigned long long)s->dropped);
    if (s->err != 0) {
      fprintf(stderr, "%s: %s: %s\n", w->prog, s->name, strerror(s->err));
      if (rc == 0)
        rc = -s->err;
    }
  }
  free(w->buf);
  free(w);
  return rc;
}
