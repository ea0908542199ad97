/* The receiver's lines (see report.h). Every line to stderr, to --stats and
 * to --trace goes through one linew, so that lines to two streams that are
 * both stderr keep their order. A live status line ends without a newline
 * (the next one overwrites it with "\r"); any other line to stderr first
 * ends it. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults.h"
#include "options.h"
#include "shell/linew.h"
#include "shell/metrics.h"
#include "util/json.h"

struct report {
  struct report_config cfg;
  struct linew *w;
  int err_id, stats_id, trace_id, metrics_id;   /* linew streams; -1: none */
  int status_on;
  int status_dirty;                 /* a status line is on screen without a newline */
};

int report_status_on(const struct report *r)
{
  return r->status_on;
}

int report_is_verbose(const struct report *r)
{
  return r->cfg.verbose;
}

int report_trace_id(const struct report *r)
{
  return r->trace_id;
}

struct linew *report_linew(struct report *r)
{
  return r->w;
}

/* Ends a live status line before anything else is written on stderr. */
static void status_break(struct report *r)
{
  if (r->status_dirty) {
    linew_put(r->w, r->err_id, "\n", 1);
    r->status_dirty = 0;
  }
}

static void vsay(struct report *r, const char *fmt, va_list ap)
{
  char line[LINEW_MAX_LINE];
  int n = snprintf(line, sizeof line, PROG ": ");

  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  if (n > (int)sizeof line - 2)
    n = (int)sizeof line - 2;
  line[n++] = '\n';
  status_break(r);
  linew_put(r->w, r->err_id, line, (size_t)n);
}

void report_error(struct report *r, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsay(r, fmt, ap);
  va_end(ap);
}

void report_verbose(struct report *r, const char *fmt, ...)
{
  va_list ap;
  if (!r->cfg.verbose)
    return;
  va_start(ap, fmt);
  vsay(r, fmt, ap);
  va_end(ap);
}

/* Adds path to the writer as a stream named "what path"; returns its id,
 * or -1 after saying why on stderr (the writer is not running yet). */
static int add_file(struct report *r, const char *path, const char *what, const char *verb)
{
  char name[300];
  FILE *f = fopen(path, "w");
  int id;

  if (f == NULL) {
    fprintf(stderr, PROG ": %s %s: cannot %s: %s\n", what, path, verb, strerror(errno));
    return -1;
  }
  snprintf(name, sizeof name, "%s %s", what, path);
  id = linew_add(r->w, f, name);
  if (id < 0) {
    fclose(f);
    fprintf(stderr, PROG ": %s %s: %s\n", what, path, strerror(-id));
  }
  return id;
}

int report_open(struct report **out, const struct report_config *cfg)
{
  struct report *r;
  int rc = -ENOMEM;

  *out = NULL;
  r = calloc(1, sizeof *r);
  if (r == NULL || linew_create(&r->w, PROG, DL_LINEW_QUEUE_BYTES) < 0) {
    fprintf(stderr, PROG ": output queue: %s\n", strerror(ENOMEM));
    goto fail;
  }
  r->cfg = *cfg;
  r->stats_id = r->trace_id = r->metrics_id = -1;
  r->err_id = linew_add(r->w, stderr, "stderr");
  rc = -EIO;
  if (cfg->stats_path != NULL) {
    if (strcmp(cfg->stats_path, "-") == 0)
      r->stats_id = r->err_id;
    else if ((r->stats_id = add_file(r, cfg->stats_path, "--stats", "create")) < 0)
      goto fail;
  }
  if (cfg->trace_path != NULL && (r->trace_id = add_file(r, cfg->trace_path, "--trace", "create")) < 0)
    goto fail;
  if (cfg->metrics_path != NULL) {
    char name[300];
    snprintf(name, sizeof name, "--metrics-file %s", cfg->metrics_path);
    if ((r->metrics_id = linew_add_replace(r->w, cfg->metrics_path, name)) < 0) {
      fprintf(stderr, PROG ": --metrics-file %s: %s\n", cfg->metrics_path, strerror(-r->metrics_id));
      goto fail;
    }
  }
  r->status_on = !cfg->quiet && r->stats_id != r->err_id && isatty(STDERR_FILENO);
  if ((rc = linew_start(r->w)) < 0) {
    fprintf(stderr, PROG ": writer thread: %s\n", strerror(-rc));
    goto fail;
  }
  *out = r;
  return 0;
fail:
  report_close(r);
  return rc;
}

/* The stats keys that count since start and never go down: Prometheus
 * counters. lost (expected - received) may go down when a late packet
 * fills a gap, silence and the tails while a stream is settled: gauges. */
static const char *const counters[] = {
  "received", "late", "duplicate", "reordered", "invalid", "rejected", "auth_failed",
  "fec_recovered", "concealed", "played", "underruns", "datagrams", "overflow", "resyncs",
  "restarts", "sink_frames", "frames_out", "tsm_splices", "route_steps", "rtcp_invalid", "rtcp_sent", "rtcp_received",
  "rtcp_rejected", "sr_received", "bye_received", "sap_seen", "sap_invalid", "sap_deleted", NULL,
};

void report_stats(struct report *r, const struct receiver_stats *s, int final)
{
  const struct rxpipe_stats *rx = &s->pb.rx;
  struct json j;
  char line[3072];
  const char *text;

  if (r->stats_id < 0 && r->metrics_id < 0)
    return;
  json_begin(&j, line, sizeof line);
  json_num(&j, "t", s->t_s, 3);
  json_u64(&j, "received", rx->po.received);
  json_u64(&j, "lost", rx->po.lost);
  json_u64(&j, "late", rx->po.late);
  json_u64(&j, "duplicate", rx->po.duplicate);
  json_u64(&j, "reordered", rx->po.reordered);
  /* Datagrams refused by admission, and packets that did not fit the
   * stream (playout's probation). */
  json_u64(&j, "invalid", s->ad.invalid + rx->po.invalid);
  json_u64(&j, "rejected", s->ad.rejected);
  json_u64(&j, "auth_failed", s->ad.auth_failed);
  json_u64(&j, "fec_recovered", rx->po.fec_recovered);
  json_u64(&j, "concealed", rx->po.concealed);
  /* Beyond DESIGN.md: PLC frames after a stream's last packet (the sender
   * stopped; not a loss, see playout.h), so that concealed is 0 on a clean
   * path that ends. */
  json_u64(&j, "tail_concealed", rx->po.tail_concealed);
  json_u64(&j, "silence", rx->po.silence);
  /* Beyond DESIGN.md: silence after a stream's last packet (it stopped),
   * as tail_concealed is for PLC; silence is what stood in for lost audio. */
  json_u64(&j, "tail_silence", rx->po.tail_silence);
  json_u64(&j, "played", rx->po.played);
  json_u64(&j, "underruns", s->pb.underruns);
  json_num(&j, "jitter_ms", rx->jitter_ms, 3);
  json_obj_begin(&j, "latency_ms");
  json_num(&j, "target", rx->latency_target_ms, 1);
  json_num(&j, "mean", rx->latency_mean_ms, 2);
  json_num(&j, "p50", rx->latency_p50_ms, 2);
  json_num(&j, "p95", rx->latency_p95_ms, 2);
  json_num(&j, "p99", rx->latency_p99_ms, 2);
  json_num(&j, "max", rx->latency_max_ms, 2);
  json_obj_end(&j);
  /* Beyond DESIGN.md: the adaptive target (latency_ms.target) taken
   * apart (rxpipe_stats), ms. */
  json_obj_begin(&j, "target_parts_ms");
  json_num(&j, "quantile", rx->target_quantile_ms, 2);
  json_num(&j, "margin", rx->target_margin_ms, 2);
  json_num(&j, "sink_queue", rx->target_sinkq_ms, 2);
  json_num(&j, "block", rx->target_block_ms, 2);
  json_num(&j, "resampler", rx->target_resampler_ms, 2);
  json_obj_end(&j);
  json_num(&j, "drift_ppm", rx->drift_ppm, 2);
  json_num(&j, "resample_ratio", rx->resample_ratio, 6);
  json_num(&j, "loss_pct", rx->loss_pct, 3);
  /* ITU-T G.107 (rxpipe_get_stats): null until a frame was heard. */
  json_num(&j, "r_factor", rx->r_factor, 1);
  json_num(&j, "mos", rx->mos, 2);
  /* Beyond DESIGN.md: the E-model's inputs, so that a script that knows
   * more of the path (its one-way transit) can recompute R with
   * tests/tools/emodel over the same common/rx/emodel. */
  json_obj_begin(&j, "emodel");
  json_num(&j, "delay_ms", rx->emodel_delay_ms, 2);
  json_num(&j, "loss_pct", rx->quality_frames > 0 ? rx->quality_loss_pct : NAN, 3);
  json_num(&j, "burst_r", rx->quality_frames > 0 ? rx->quality_burst_r : NAN, 3);
  json_obj_end(&j);
  /* Beyond DESIGN.md: datagrams off the socket, ring overflows, resyncs;
   * sink_frames: 48 kHz frames written to the sink (a WAV's length);
   * frames_out: frames the playout engine produced, sink_frames plus the
   * part of a decoded packet still waiting for the next period (and, once
   * drift compensation is on, what the resampler changed);
   * latency_ctl_ms: the latency controller's smoothed latency. */
  /* Issue 16, --sap: announcements heard (any name), refused, and
   * whether the named one came (and was deleted). */
  if (s->sap.on) {
    json_u64(&j, "sap_seen", s->sap.seen);
    json_u64(&j, "sap_invalid", s->sap.invalid);
    json_bool(&j, "sap_found", s->sap.found);
    json_u64(&j, "sap_deleted", s->sap.deleted);
  }
  json_u64(&j, "datagrams", s->datagrams);
  json_u64(&j, "overflow", s->overflow);
  json_u64(&j, "resyncs", rx->po.resyncs);
  json_u64(&j, "restarts", s->ad.restarts);
  json_u64(&j, "sink_frames", s->pb.sink_frames);
  json_u64(&j, "frames_out", rx->po.samples_out);
  json_num(&j, "latency_ctl_ms", rx->latency_ctl_ms, 2);
  /* Beyond DESIGN.md: re-targeting by time-scale modification (splices,
   * audio taken out and put in) and route changes recognised. */
  json_u64(&j, "tsm_splices", rx->tsm_splices);
  json_num(&j, "tsm_removed_ms", rx->tsm_removed_ms, 1);
  json_num(&j, "tsm_added_ms", rx->tsm_added_ms, 1);
  json_u64(&j, "route_steps", rx->route_steps);
  /* Issue 13, RTCP: reports sent and taken, refused (unparsable;
   * another host's); the sender's SR (its mapping, its counts), our round
   * trip (RRT/DLRR), and the transit the E-model uses, with its source. */
  if (s->rtcp.on) {
    const struct rxrtcp_stats *rt = &s->rtcp;
    json_u64(&j, "rtcp_sent", rt->sent);
    json_u64(&j, "rtcp_received", rt->received);
    json_u64(&j, "rtcp_invalid", rt->invalid);
    json_u64(&j, "rtcp_rejected", rt->rejected);
    json_u64(&j, "sr_received", rt->rx.sr_received);
    json_bool(&j, "wallclock_mapped", rt->rx.have_sr);
    if (rt->rx.have_sr)
      json_u64(&j, "sender_packets", rt->rx.sender_packets);
    else
      json_null(&j, "sender_packets");
    json_u64(&j, "bye_received", rt->bye_received);
    /* The session's members (RFC 3550 6.3.2): in a group, every receiver
     * heard; the report interval grows with them. */
    json_u64(&j, "rtcp_members", rt->rx.members);
    json_num(&j, "rtt_ms", rt->rx.rtt_ns >= 0 ? (double)rt->rx.rtt_ns / 1e6 : NAN, 2);
    json_num(&j, "transit_ms", (double)rt->transit_ns / 1e6, 2);
    json_str(&j, "transit_source", rtcp_transit_source_name(rt->transit_source));
    json_num(&j, "transit_clock_ms",
             rt->rx.transit_clock_ns != INT64_MIN ? (double)rt->rx.transit_clock_ns / 1e6 : NAN, 2);
    /* Issue 16, --sync: the presentation delay and trim asked for; where
     * the map of the sender's clock comes from and its error bound (the
     * receiver's own estimate; null while unknown: no round trip yet); our
     * wall clock minus the sender's as estimated, and our clock's rate
     * against its (0 until the samples span 10 s); the target the sync asks
     * for, how far the path and the sink fall short of it (0: made), how
     * often it went unmet, and the heard time of the last packets minus
     * their sync instant. */
    if (rt->sync_on) {
      json_num(&j, "sync_delay_ms", r->cfg.sync_delay_ms, 1);
      json_num(&j, "sync_trim_ms", r->cfg.sync_trim_ms, 2);
      json_str(&j, "sync_source", sync_source_name(rt->sync_source));
      json_num(&j, "sync_error_ms", rt->sync_error_ns >= 0 ? (double)rt->sync_error_ns / 1e6 : NAN, 3);
      json_num(&j, "clock_offset_ms", rt->sync_source != SYNC_NONE ? (double)rt->clock_offset_ns / 1e6 : NAN, 3);
      json_num(&j, "clock_rate_ppm", rt->clock_rate_ppm, 2);
      json_bool(&j, "sync_met", rx->sync_on && rx->sync_short_ms == 0);
      json_num(&j, "sync_target_ms", rx->sync_target_ms, 2);
      json_num(&j, "sync_short_ms", rx->sync_short_ms, 2);
      json_u64(&j, "sync_unmet", rx->sync_unmet);
      json_num(&j, "sync_miss_ms", rx->sync_miss_ms, 3);
    }
  }
  if (final)
    json_bool(&j, "final", 1);
  text = json_end(&j);
  if (text == NULL)
    return;
  if (r->metrics_id >= 0 &&
      metrics_put(r->w, r->metrics_id, text, "receiver", r->cfg.metrics_stream, counters, final) == -EINVAL)
    report_error(r, "--metrics-file: the stats line did not convert");
  if (r->stats_id < 0)
    return;
  if (r->stats_id == r->err_id)
    status_break(r);
  /* The final line must not be lost, and nothing is paced any more. */
  linew_put_line(r->w, r->stats_id, text, final);
}

void report_status(struct report *r, const struct receiver_stats *s)
{
  const struct rxpipe_stats *rx = &s->pb.rx;
  char lat[32], mos[16];

  if (!r->status_on)
    return;
  if (isfinite(rx->latency_now_ms))
    snprintf(lat, sizeof lat, "%.0f ms", rx->latency_now_ms);
  else
    snprintf(lat, sizeof lat, "-");
  if (isfinite(rx->mos))
    snprintf(mos, sizeof mos, "%.2f", rx->mos);
  else
    snprintf(mos, sizeof mos, "-");
  linew_printf(r->w, r->err_id,
               "\r" PROG ": %7.1f s  %s  latency %s (target %.0f)  loss %.1f %%  jitter %.1f ms  MOS %s\033[K",
               (double)s->pb.sink_frames / DL_RATE, s->playing ? "playing" : "waiting", lat,
               rx->latency_target_ms, isfinite(rx->loss_pct) ? rx->loss_pct : 0.0,
               isfinite(rx->jitter_ms) ? rx->jitter_ms : 0.0, mos);
  r->status_dirty = 1;
}

int report_close(struct report *r)
{
  int rc;

  if (r == NULL)
    return 0;
  if (r->w != NULL)
    status_break(r);
  rc = linew_destroy(r->w);
  free(r);
  return rc;
}
