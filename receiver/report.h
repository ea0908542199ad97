/* What the receiver says: -v and error lines, the JSON stats lines
 * (DESIGN.md "Statistics") and the live status line on a terminal. Lines
 * are composed on the loop thread and written by shell/linew's writer
 * thread, so that a slow disk, pipe or terminal never stalls the loop that
 * stamps arrivals. Loop thread only (and the main thread before the loop
 * runs, which is the same thread). */
#ifndef DL_RECEIVER_REPORT_H
#define DL_RECEIVER_REPORT_H

#include <stdint.h>

#include "playback.h"
#include "rtcp.h"
#include "rx/admit.h"
#include "rxsap.h"

/* Everything one stats line or status line tells. */
struct receiver_stats {
  struct playback_snapshot pb;  /* the playback thread's counters */
  struct admit_stats ad;        /* the loop thread's admission */
  uint64_t datagrams;           /* everything that came off the socket */
  uint64_t overflow;            /* dropped: the ring to the playback thread was full */
  struct rxrtcp_stats rtcp;     /* RTCP (rtcp.c) */
  struct rxsap_stats sap;       /* --sap (rxsap.c) */
  double t_s;                   /* since start */
  int playing;                  /* a stream has started */
};

struct report_config {
  int verbose;                  /* -v lines */
  int quiet;                    /* no live line */
  const char *stats_path;       /* --stats FILE or "-" (stderr); NULL: no JSON */
  const char *trace_path;       /* --trace FILE: a stream for trace.c's lines; NULL: none */
  const char *metrics_path;     /* --metrics-file: the stats in Prometheus' format; NULL: none */
  const char *metrics_stream;   /* its stream label */
  int sync_delay_ms;            /* --sync: for the stats */
  double sync_trim_ms;
};

struct report;

/* Creates the files (a bad path is an error before anything runs: one
 * line said on stderr) and starts the writer thread. Returns 0 or a
 * negative errno. */
int report_open(struct report **out, const struct report_config *cfg);

/* Whether the live status line is on (stderr a terminal, not -q, stats
 * not on stderr). */
int report_status_on(const struct report *r);

/* One line on stderr: always / with -v only. */
void report_error(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_verbose(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int report_is_verbose(const struct report *r);

/* One JSON line (and the metrics file anew); final: the last one
 * ("final": true), which waits for room rather than being dropped. */
void report_stats(struct report *r, const struct receiver_stats *s, int final);

/* The live line (overwritten in place on the terminal). */
void report_status(struct report *r, const struct receiver_stats *s);

/* The --trace stream's id for linew_put (-1: none), and the writer. */
int report_trace_id(const struct report *r);
struct linew *report_linew(struct report *r);

/* Ends the live line, writes what is queued, stops the writer thread and
 * closes the files. Accepts NULL. Returns 0, or a negative errno when a
 * file could not be written completely (said on stderr). */
int report_close(struct report *r);

#endif /* DL_RECEIVER_REPORT_H */
