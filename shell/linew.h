/* linew: text lines written to files by a thread of their own, so that the
 * thread that paces packets never waits for a disk, a pipe or a terminal.
 *
 * One producer thread (the libuv loop) copies each line into a bounded,
 * lock-free single-producer/single-consumer byte ring and goes on; the
 * writer thread takes the lines out in order, writes them to their streams
 * and flushes. A full ring drops the line and counts it (said once on
 * stderr while running, and per stream at the end). Lines to several
 * streams keep their relative order, which matters when two are stderr.
 *
 * It lives in shell/ (common/ has no threads): the sender, the receiver and
 * impair all write their lines through it. */
#ifndef DL_LINEW_H
#define DL_LINEW_H

#include <stddef.h>
#include <stdio.h>

#define LINEW_MAX_STREAMS 8
#define LINEW_MAX_LINE    16384  /* bytes of one line (or a replace stream's text), with its newline */

struct linew;

/* Any thread, before linew_start. prog: the program's name for messages
 * (kept, not copied). queue_bytes: the ring's size, rounded up to a power
 * of two. Returns 0 or -ENOMEM. */
int linew_create(struct linew **out, const char *prog, size_t queue_bytes);

/* Before linew_start. Hands f over: it is flushed after every batch of
 * lines and closed by linew_destroy, unless it is stderr or stdout. name
 * says which stream in messages ("--trace out.tsv"; copied). Returns the
 * stream's id (>= 0) or -ENOSPC. */
int linew_add(struct linew *w, FILE *f, const char *name);

/* Before linew_start. A stream whose every put is the whole new content
 * of the file at path (copied), which is replaced atomically: written to
 * PATH.tmp, then renamed over PATH, so that a reader (node_exporter's
 * textfile collector) never sees half a file. name as for linew_add.
 * Returns the stream's id or -ENOSPC / -ENOMEM. */
int linew_add_replace(struct linew *w, const char *path, const char *name);

/* Starts the writer thread. Returns 0 or a negative errno. Lines put
 * before it are kept and written first. */
int linew_start(struct linew *w);

/* Producer thread only; never blocks. Copies len bytes (a whole line with
 * its newline; len <= LINEW_MAX_LINE). Returns 0, or -ENOBUFS when the
 * ring is full (the line is dropped and counted). */
int linew_put(struct linew *w, int id, const char *line, size_t len);

/* Producer thread only; never blocks. Formats one line (the caller ends it
 * with "\n") and puts it. Returns as linew_put, or -EINVAL if too long. */
int linew_printf(struct linew *w, int id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Producer thread only. text is one line without its newline (a JSON
 * stats line): it goes out with one. wait: as linew_put_wait (a final line,
 * which must not be lost), else as linew_put. Returns as they do, or
 * -EINVAL if too long. */
int linew_put_line(struct linew *w, int id, const char *text, int wait);

/* Producer thread only: lines of stream id dropped so far (ring full). */
unsigned long long linew_dropped(const struct linew *w, int id);

/* Producer thread only. As linew_put, but waits for room instead of
 * dropping: for the last lines, once nothing is paced any more. */
int linew_put_wait(struct linew *w, int id, const char *line, size_t len);

/* Producer thread. Writes everything queued, stops the writer thread,
 * closes the streams and says on stderr what was dropped and which
 * stream failed. Accepts NULL. Returns 0, or the first write or close
 * error as a negative errno. */
int linew_destroy(struct linew *w);

#endif /* DL_LINEW_H */
