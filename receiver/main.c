/* receiver: plays an Opus/RTP stream on an ALSA device or into a WAV file.
 *
 * Two threads and a writer. The libuv loop thread (net.c) receives
 * datagrams, stamps their arrival, authenticates them (--key), parses and
 * admits each once and pushes the records into the SPSC ring; it also runs
 * the stats, status and trace timers, the signals and the exit conditions
 * (this file). It never blocks and never decodes. The playback thread
 * (playback.c) owns the playout engine, the decoder and the sink. Lines
 * (stderr, --stats, --trace) are written by shell/linew's thread
 * (report.c), so no file write ever stalls the loop.
 *
 * Exit: SIGINT, SIGTERM, SIGHUP, --duration or --idle-exit stop the playback
 * thread, finalise the sink (a WAV's header), write the final stats line and
 * exit 0; a fatal sink error does the same and exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <uv.h>

#include "defaults.h"
#include "net.h"
#include "options.h"
#include "playback.h"
#include "report.h"
#include "rtcp.h"
#include "rx/rxpipe.h"
#include "rxsap.h"
#include "shell/clock.h"
#include "shell/keyfile.h"
#include "shell/notify.h"
#include "sink.h"
#include "trace.h"
#include "util/addr.h"
#include "util/ring.h"
#include "wire/srtp.h"

struct receiver {
  struct options o;
  uv_loop_t loop;
  struct net net;
  struct net_config nc;       /* net's, kept: with --sap it opens when the announcement comes */
  int net_opened;
  struct rxsap sap;           /* --sap NAME */
  uv_timer_t stats_timer, status_timer, duration_timer, idle_timer, trace_timer, watchdog_timer;
  uv_signal_t sig_int, sig_term, sig_hup;
  uv_async_t failed_async;
  uv_async_t ended_async;     /* the playback thread ended a stream at its BYE */
  uv_timer_t bye_timer;       /* --exit-on-bye: the longest wait for that */
  int handles;                /* the handles above are initialised */
  struct rxrtcp rtcp;         /* RTCP (rtcp.h); unused with --no-rtcp */
  struct dl_srtp *srtcp_out;  /* --key: our RTCP's sending session */
  int bye_seen;               /* the stream's BYE came */

  struct report *rep;
  struct dl_srtp *srtp;       /* --key; NULL: plain RTP */
  struct ring *ring;
  struct rxpipe *rx;
  struct sink *sink;
  struct playback pb;
  struct trace *trace;        /* --trace; NULL: none */
  /* --channels auto: the sink is opened by a worker once the first
   * packet says how many channels the stream has. */
  uv_work_t open_req;
  int channels;               /* the pipeline's and the sink's; 0 until known */
  int open_pending;           /* open_req is queued or running */
  int open_rc;                /* its result */
  int64_t open_ns;            /* and how long it took */
  char open_err[256];

  int64_t start_ns;
  int stopping;
  int exit_code;
};

/* ---- statistics ---- */

/* Everything a stats or status line tells, now. The playback thread's
 * counters: its last published copy, or, once it has stopped, the engine
 * itself (the join ordered every write). */
static void snapshot(struct receiver *r, struct receiver_stats *s)
{
  memset(s, 0, sizeof *s);
  if (r->pb.running) {
    playback_snapshot(&r->pb, &s->pb);
  } else {
    rxpipe_get_stats(r->rx, &s->pb.rx);
    if (r->sink != NULL) {   /* with --channels auto, none before a stream */
      s->pb.underruns = sink_underruns(r->sink);
      s->pb.sink_frames = sink_frames(r->sink);
    }
  }
  admit_get_stats(&r->net.admit, &s->ad);
  s->datagrams = r->net.datagrams;
  s->overflow = r->net.overflow;
  s->t_s = (double)(clock_mono_ns() - r->start_ns) / 1e9;
  s->playing = r->net.last_packet_ns != 0;
  rxrtcp_get_stats(&r->rtcp, &s->rtcp);
  rxsap_get_stats(&r->sap, &s->sap);
}

/* rtcp.c's view of the playback thread's counters. */
static void rtcp_snapshot_cb(void *arg, struct receiver_stats *s)
{
  snapshot(arg, s);
}

static void stats_cb(uv_timer_t *t)
{
  struct receiver *r = t->data;
  struct receiver_stats s;
  snapshot(r, &s);
  report_stats(r->rep, &s, 0);
}

static void status_cb(uv_timer_t *t)
{
  struct receiver *r = t->data;
  struct receiver_stats s;
  snapshot(r, &s);
  report_status(r->rep, &s);
}

/* --trace records from the playback thread into lines. */
static void drain_trace(struct receiver *r, int wait)
{
  char msg[512];
  if (trace_drain(r->trace, wait, msg, sizeof msg))
    report_error(r->rep, "%s", msg);
}

static void trace_cb(uv_timer_t *t)
{
  drain_trace(t->data, 0);
}

/* ---- exit ---- */

static void close_walk_cb(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Loop thread: stop playback, finalise the sink, final stats, close
 * everything so uv_run returns. */
static void shutdown_receiver(struct receiver *r, int code)
{
  const char *where = r->o.output != NULL ? r->o.output : r->o.device;
  struct receiver_stats fin;
  int rc;

  if (r->stopping)
    return;
  r->stopping = 1;
  r->exit_code = code;
  notify_stopping();
  if (r->net_opened)
    net_stop(&r->net);
  rxsap_stop(&r->sap);
  rxrtcp_stop(&r->rtcp);
  playback_stop(&r->pb);
  if (atomic_load(&r->pb.failed)) {
    report_error(r->rep, "%s: %s", where, r->pb.error);
    r->exit_code = EXIT_RUNTIME;
  }
  /* Final counts before the sink goes; then finalise it (a WAV's header),
   * so that the final line describes a complete file. */
  snapshot(r, &fin);
  report_verbose(r->rep, "stopped: %llu frames written to the sink (%.3f s)",
                 (unsigned long long)fin.pb.sink_frames, (double)fin.pb.sink_frames / DL_RATE);
  rc = sink_close(r->sink);
  r->sink = NULL;
  if (rc < 0) {
    report_error(r->rep, "%s: cannot finalise: %s", where, strerror(-rc));
    r->exit_code = EXIT_RUNTIME;
  }
  /* The playback thread has stopped: the rest of the trace before the
   * final line. */
  if (r->trace != NULL)
    drain_trace(r, 1);
  report_stats(r->rep, &fin, 1);
  uv_walk(&r->loop, close_walk_cb, NULL);
}

static void signal_cb(uv_signal_t *s, int signum)
{
  struct receiver *r = s->data;
  report_verbose(r->rep, "%s: stopping", strsignal(signum));
  shutdown_receiver(r, 0);
}

static void duration_cb(uv_timer_t *t)
{
  struct receiver *r = t->data;
  report_verbose(r->rep, "--duration reached: stopping");
  shutdown_receiver(r, 0);
}

static void idle_cb(uv_timer_t *t)
{
  struct receiver *r = t->data;
  if (r->net.last_packet_ns == 0)
    return;
  if (clock_mono_ns() - r->net.last_packet_ns >= (int64_t)llround(r->o.idle_exit_s * 1e9)) {
    report_verbose(r->rep, "no packet for %.3g s (--idle-exit): stopping", r->o.idle_exit_s);
    shutdown_receiver(r, 0);
  }
}

/* A service manager's watchdog while no playback thread runs yet (with
 * --channels auto, until a stream comes): the loop is what is alive then.
 * Once the thread runs, its periods feed the watchdog. */
static void watchdog_cb(uv_timer_t *t)
{
  struct receiver *r = t->data;
  if (!r->pb.running)
    notify_watchdog();
}

static void failed_cb(uv_async_t *a)
{
  shutdown_receiver(a->data, EXIT_RUNTIME);
}

/* --exit-on-bye: the stream ended at its BYE and what it sent is played. */
static void ended_cb(uv_async_t *a)
{
  struct receiver *r = a->data;
  if (r->o.exit_on_bye && r->bye_seen) {
    report_verbose(r->rep, "the stream ended with BYE (--exit-on-bye): stopping");
    shutdown_receiver(r, 0);
  }
}

/* --exit-on-bye when the playback thread never said the stream ended (no
 * sink open yet, a full ring that lost the marker). */
static void bye_timer_cb(uv_timer_t *t)
{
  struct receiver *r = t->data;
  report_verbose(r->rep, "BYE %d ms ago (--exit-on-bye): stopping", r->o.max_latency_ms + 500);
  shutdown_receiver(r, 0);
}

/* rtcp.c: the locked stream said BYE. */
static void bye_cb(void *arg)
{
  struct receiver *r = arg;
  r->bye_seen = 1;
  if (r->o.exit_on_bye && !uv_is_active((uv_handle_t *)&r->bye_timer))
    uv_timer_start(&r->bye_timer, bye_timer_cb, (uint64_t)r->o.max_latency_ms + 500, 0);
}

/* ---- set-up ---- */

/* --key FILE: the SRTP session. Returns 0, or the exit status after one
 * line (keyfile_read words a bad file itself). */
static int open_srtp(struct receiver *r)
{
  uint8_t key[DL_SRTP_KEY_LEN];
  int rc = keyfile_read(PROG, r->o.key_path, key);

  if (rc == 0 && ((rc = dl_srtp_create(&r->srtp, key, DL_SRTP_RECV)) < 0 ||
                  (rc = dl_srtp_create(&r->srtcp_out, key, DL_SRTP_SEND)) < 0)) {
    fprintf(stderr, PROG ": SRTP: %s\n", dl_srtp_strerror(rc));
    rc = EXIT_RUNTIME;
  }
  memset(key, 0, sizeof key);
  return rc;
}

/* Opens the sink with `channels`; on error words it into err. Any thread
 * (the main thread with --channels 1|2, a loop worker with auto). */
static int sink_open(const struct options *o, int channels, struct sink **out, char *err, size_t cap)
{
  if (o->output != NULL)
    return sink_wav_open(out, o->output, channels, o->skew_ppm, err, cap);
  return sink_alsa_open(out, o->device, channels, o->device_buffer_ms, err, cap);
}

static void say_sink_error(struct receiver *r, const char *err)
{
  if (r->o.output != NULL)
    report_error(r->rep, "%s: %s", r->o.output, err);
  else
    report_error(r->rep, "--device %s: %s", r->o.device, err);
}

static void say_sink(struct receiver *r)
{
  report_verbose(r->rep, "sink: %s", sink_describe(r->sink));
  report_verbose(r->rep, "%s; source: %s, restart after %d ms of silence",
                 r->srtp != NULL ? "SRTP " DL_SRTP_SUITE ": every packet must authenticate" : "plain RTP",
                 r->o.peer != NULL ? r->o.peer : "the first valid stream's", r->o.restart_after_ms);
}

/* At start-up. --channels 1|2: the sink itself. auto: the sink is opened
 * and closed again, so that a bad path or device is said now; a WAV file
 * stays, empty and valid until a stream comes; a device has played a
 * moment of silence, so that a sound server's start of a new stream (over
 * a second for PulseAudio's first client) is not paid when the stream
 * comes, when it opens again (about 0.1 s). */
static int open_sink(struct receiver *r)
{
  char err[256];
  int rc;

  if (r->o.output == NULL && !r->o.verbose)
    sink_alsa_quiet();
  rc = sink_open(&r->o, r->o.channels != 0 ? r->o.channels : 1, &r->sink, err, sizeof err);
  if (rc < 0) {
    say_sink_error(r, err);
    return rc;
  }
  if (r->o.channels == 0) {
    report_verbose(r->rep, "checked at start-up (--channels auto opens it when a stream comes): %s",
                   sink_describe(r->sink));
    sink_close(r->sink);
    r->sink = NULL;
    return 0;
  }
  r->channels = r->o.channels;
  say_sink(r);
  return 0;
}

/* The playout pipeline: the adaptive target (common/rx/delay) with
 * --latency auto, and drift compensation (common/rx/drift: a resampler
 * steered so that latency follows the target) unless --no-resample. */
static int make_pipeline(struct receiver *r, int channels)
{
  const struct options *o = &r->o;
  struct rxpipe_config rc;
  int rv;

  memset(&rc, 0, sizeof rc);
  rc.playout.target_ns = (int64_t)options_start_latency_ms(o) * 1000000;
  rc.playout.max_latency_ns = (int64_t)o->max_latency_ms * 1000000;
  rc.playout.silence_after_ns = (int64_t)DL_SILENCE_AFTER_MS * 1000000;
  rc.playout.late_resync_ns = (int64_t)DL_LATE_RESYNC_MS * 1000000;
  rc.playout.conceal_silence = o->conceal_silence;
  rc.playout.slots = DL_PLAYOUT_SLOTS;
  rc.channels = channels;
  rc.latency_auto = o->latency_ms == 0;
  rc.latency_quantile = o->latency_quantile;
  rc.min_latency_ns = (int64_t)o->min_latency_ms * 1000000;
  rc.resample = !o->no_resample;
  rc.sync = o->sync;
  rv = rxpipe_create(&r->rx, &rc);
  if (rv < 0) {
    report_error(r->rep, "cannot set up the playout pipeline: %s", strerror(-rv));
    return rv;
  }
  report_verbose(r->rep, "target latency %d ms (%s), max %d ms, concealment %s",
                 options_start_latency_ms(o), o->latency_ms == 0 ? "auto" : "fixed",
                 o->max_latency_ms, o->conceal_silence ? "silence" : "plc");
  return 0;
}

static int start_playback(struct receiver *r)
{
  struct playback *pb = &r->pb;
  int rc;

  pb->ring = r->ring;
  pb->rx = r->rx;
  pb->sink = r->sink;
  pb->period = sink_period(r->sink);
  pb->channels = r->channels;
  pb->pcm = calloc((size_t)pb->period * (size_t)r->channels, sizeof *pb->pcm);
  pb->failed_async = &r->failed_async;
  pb->ended_async = &r->ended_async;
  pb->trace = r->trace;
  pb->trace_start = r->o.sync;
  pb->wallclock_offset_ns = (int64_t)llround(r->o.wallclock_offset_ms * 1e6);
  if (r->o.stall_ms > 0) {
    pb->stall_at_ns = r->start_ns + (int64_t)(r->o.stall_at_s * 1e9);
    pb->stall_ns = (int64_t)(r->o.stall_ms * 1e6);
  }
  rc = pb->pcm == NULL ? -ENOMEM : playback_start(pb);
  if (rc < 0) {
    report_error(r->rep, "cannot start the playback thread: %s", strerror(-rc));
    return rc;
  }
  report_verbose(r->rep, "playback thread: %s", pb->sched_note);
  return 0;
}

/* Loop worker (--channels auto): the sink, with the stream's channels. A
 * device's open may take a second (a sound server starting a stream),
 * which the loop thread must not wait for. */
static void open_work_cb(uv_work_t *w)
{
  struct receiver *r = w->data;
  int64_t t0 = clock_mono_ns();
  r->open_rc = sink_open(&r->o, r->channels, &r->sink, r->open_err, sizeof r->open_err);
  r->open_ns = clock_mono_ns() - t0;
}

/* Loop thread: the sink is open (or not); the playback thread starts and
 * drains what the ring has held since the first packet. */
static void open_after_cb(uv_work_t *w, int status)
{
  struct receiver *r = w->data;

  r->open_pending = 0;
  if (status != 0 || r->open_rc < 0) {
    if (status != 0)
      snprintf(r->open_err, sizeof r->open_err, "%s", uv_strerror(status));
    say_sink_error(r, r->open_err);
    shutdown_receiver(r, EXIT_RUNTIME);
    return;
  }
  if (r->stopping) {   /* stopped meanwhile: the sink goes again, finalised */
    if (sink_close(r->sink) < 0)
      r->exit_code = EXIT_RUNTIME;
    r->sink = NULL;
    return;
  }
  say_sink(r);
  report_verbose(r->rep, "the stream's sink opened in %.0f ms", (double)r->open_ns / 1e6);
  if (start_playback(r) < 0)
    shutdown_receiver(r, EXIT_RUNTIME);
}

/* Loop thread (net.c, at the first packet): with --channels auto, the
 * pipeline takes the stream's channels (made anew if they differ: nothing
 * has been put into it yet) and a worker opens the sink. */
static void first_cb(void *arg, int channels)
{
  struct receiver *r = arg;
  int rc;

  if (r->o.channels != 0 || r->channels != 0 || r->stopping)
    return;
  r->channels = channels;
  if (channels != 1) {
    rxpipe_destroy(r->rx);
    r->rx = NULL;
    if (make_pipeline(r, channels) < 0) {
      shutdown_receiver(r, EXIT_RUNTIME);
      return;
    }
  }
  r->open_req.data = r;
  rc = uv_queue_work(&r->loop, &r->open_req, open_work_cb, open_after_cb);
  if (rc != 0) {
    report_error(r->rep, "cannot open the sink: %s", uv_strerror(rc));
    shutdown_receiver(r, EXIT_RUNTIME);
    return;
  }
  r->open_pending = 1;
}

/* RTCP beside the socket: its own port (unless --rtcp-mux), a random
 * SSRC and CNAME. Returns 0 or -1 after one line. */
static int open_rtcp(struct receiver *r)
{
  uint64_t rnd[2];

  if (r->o.no_rtcp)
    return 0;
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    rnd[0] = (uint64_t)clock_mono_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    rnd[1] = rnd[0] * 0xbf58476d1ce4e5b9ull;
  }
  r->rtcp.o = &r->o;
  r->rtcp.net = &r->net;
  r->rtcp.pb = &r->pb;
  r->rtcp.rep = r->rep;
  r->rtcp.srtp_in = r->srtp;
  r->rtcp.srtp_out = r->srtcp_out;
  r->rtcp.snapshot = rtcp_snapshot_cb;
  r->rtcp.snapshot_arg = r;
  r->rtcp.bye_cb = bye_cb;
  r->rtcp.bye_arg = r;
  return rxrtcp_open(&r->rtcp, &r->loop, (uint32_t)rnd[0], rnd[1]);
}

static void start_timer(struct receiver *r, uv_timer_t *t, uv_timer_cb cb, uint64_t first_ms,
                        uint64_t repeat_ms)
{
  uv_timer_init(&r->loop, t);
  t->data = r;
  uv_timer_start(t, cb, first_ms, repeat_ms);
}

static void start_signal(struct receiver *r, uv_signal_t *s, int signum)
{
  uv_signal_init(&r->loop, s);
  s->data = r;
  uv_signal_start(s, signal_cb, signum);
}

/* The stream's socket and its RTCP. Returns 0 or -1 after one line. */
static int open_net(struct receiver *r)
{
  if (net_open(&r->net, &r->loop, &r->nc) != 0)
    return -1;
  r->net_opened = 1;
  return open_rtcp(r);
}

/* Loop thread (rxsap.c): the announcement named by --sap came: its address
 * and port are the stream's, as if given as HOST:PORT. */
static void sap_found_cb(void *arg, const struct sdp_info *sdp)
{
  struct receiver *r = arg;
  struct sockaddr_storage ss;
  int group;

  if (r->stopping)
    return;
  snprintf(r->o.host, sizeof r->o.host, "%s", sdp->addr);
  snprintf(r->o.port, sizeof r->o.port, "%d", sdp->port);
  /* sdp_parse checked the address is numeric in its family. */
  memset(&ss, 0, sizeof ss);
  ss.ss_family = sdp->ipv6 ? AF_INET6 : AF_INET;
  inet_pton(ss.ss_family, sdp->addr, sdp->ipv6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                               : (void *)&((struct sockaddr_in *)&ss)->sin_addr);
  group = addr_is_multicast((const struct sockaddr *)&ss);
  if (r->o.pt == 0)
    r->nc.pt = sdp->pt;
  /* --iface was for the SAP group; a unicast stream is bound as given. */
  if (!group) {
    r->nc.iface = NULL;
    r->nc.source = NULL;
  }
  report_verbose(r->rep, "SAP: \"%s\" is %s%s%s port %d, %s, payload type %d%s", r->o.sap_name,
                 sdp->ipv6 ? "[" : "", sdp->addr, sdp->ipv6 ? "]" : "", sdp->port,
                 sdp->savp ? "RTP/SAVP" : "RTP/AVP", sdp->pt, group ? " (a group: joining it)" : "");
  if ((sdp->savp || sdp->has_crypto) && r->srtp == NULL)
    report_error(r->rep, "SAP: \"%s\" is SRTP (RTP/SAVP) and no --key was given: its packets will be refused",
                 r->o.sap_name);
  if (open_net(r) < 0)
    shutdown_receiver(r, EXIT_RUNTIME);
}

/* Signals, timers: the loop's work besides the socket. */
static void start_handles(struct receiver *r)
{
  const struct options *o = &r->o;

  start_signal(r, &r->sig_int, SIGINT);
  start_signal(r, &r->sig_term, SIGTERM);
  start_signal(r, &r->sig_hup, SIGHUP);
  if (o->stats_path != NULL || o->metrics_path != NULL)
    start_timer(r, &r->stats_timer, stats_cb, (uint64_t)o->stats_interval_ms, (uint64_t)o->stats_interval_ms);
  if (report_status_on(r->rep))
    start_timer(r, &r->status_timer, status_cb, DL_STATUS_INTERVAL_MS, DL_STATUS_INTERVAL_MS);
  if (o->duration_s > 0)
    start_timer(r, &r->duration_timer, duration_cb, (uint64_t)llround(o->duration_s * 1000), 0);
  if (r->trace != NULL)
    start_timer(r, &r->trace_timer, trace_cb, DL_TRACE_DRAIN_MS, DL_TRACE_DRAIN_MS);
  if (o->idle_exit_s > 0)
    start_timer(r, &r->idle_timer, idle_cb, DL_IDLE_CHECK_MS, DL_IDLE_CHECK_MS);
  if (notify_watchdog_usec() > 0) {
    uint64_t ms = notify_watchdog_usec() / 4000;
    start_timer(r, &r->watchdog_timer, watchdog_cb, 0, ms > 0 ? ms : 1);
  }
}

/* Everything up to the running loop, in an order that leaves nothing
 * behind on an error: the output files first (a bad path fails before
 * anything runs), the socket before the sink (a port in use leaves no
 * empty WAV). Returns 0, or -1 after one line on what failed. */
static int setup(struct receiver *r)
{
  struct report_config rc = {
    .verbose = r->o.verbose, .quiet = r->o.quiet,
    .stats_path = r->o.stats_path, .trace_path = r->o.trace_path,
    .metrics_path = r->o.metrics_path, .metrics_stream = r->o.metrics_stream,
    .sync_delay_ms = r->o.sync_delay_ms, .sync_trim_ms = r->o.sync_trim_ms,
  };
  struct net_config nc = {
    .host = r->o.host, .port = r->o.port, .peer = r->o.peer,
    .peer_host = r->o.peer_host, .peer_port = r->o.peer_port,
    .pt = r->o.pt, .restart_after_ms = r->o.restart_after_ms, .quiet = r->o.quiet,
  };
  int rc2, net_rc;

  if (report_open(&r->rep, &rc) < 0)
    return -1;
  if (uv_loop_init(&r->loop) != 0) {
    report_error(r->rep, "cannot start the event loop");
    return -1;
  }
  r->handles = 1;
  uv_async_init(&r->loop, &r->failed_async, failed_cb);
  r->failed_async.data = r;
  uv_async_init(&r->loop, &r->ended_async, ended_cb);
  r->ended_async.data = r;
  uv_timer_init(&r->loop, &r->bye_timer);
  r->bye_timer.data = r;
  if (r->o.trace_path != NULL &&
      (rc2 = trace_open(&r->trace, DL_TRACE_SLOTS, report_linew(r->rep), report_trace_id(r->rep),
                        r->o.trace_path)) < 0) {
    report_error(r->rep, "--trace %s: %s", r->o.trace_path, strerror(-rc2));
    return -1;
  }
  if ((rc2 = ring_create(&r->ring, DL_RING_SLOTS, DL_RING_SLOT_BYTES)) < 0) {
    report_error(r->rep, "cannot allocate the packet ring: %s", strerror(-rc2));
    return -1;
  }
  nc.srtp = r->srtp;
  nc.ring = r->ring;
  nc.rep = r->rep;
  nc.first_cb = first_cb;
  nc.first_arg = r;
  if (!r->o.no_rtcp) {
    nc.rtcp = &r->rtcp;
    nc.rtcp_mux = r->o.rtcp_mux;
  }
  nc.iface = r->o.iface;
  nc.source = r->o.source;
  r->nc = nc;
  if (r->o.sap_name != NULL) {
    r->sap.name = r->o.sap_name;
    r->sap.rep = r->rep;
    r->sap.found_cb = sap_found_cb;
    r->sap.found_arg = r;
    net_rc = rxsap_open(&r->sap, &r->loop, (const struct sockaddr *)&r->o.sap_group, r->o.iface);
  } else {
    net_rc = open_net(r);
  }
  if (net_rc != 0 || open_sink(r) < 0 ||
      make_pipeline(r, r->channels != 0 ? r->channels : 1) < 0)
    return -1;
  /* With a known channel count the sink is open: play (silence until the
   * stream comes). With auto, first_cb opens it and starts playing. */
  if (r->sink != NULL && start_playback(r) < 0)
    return -1;
  start_handles(r);
  return 0;
}

/* After the loop (or a failed set-up): everything the receiver holds. */
static int teardown(struct receiver *r, int code)
{
  playback_stop(&r->pb);
  if (r->handles) {
    uv_walk(&r->loop, close_walk_cb, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
  }
  if (r->sink != NULL && sink_close(r->sink) < 0 && code == 0)
    code = EXIT_RUNTIME;
  trace_close(r->trace);
  rxpipe_destroy(r->rx);
  ring_destroy(r->ring);
  free(r->pb.pcm);
  if (report_close(r->rep) < 0 && code == 0)
    code = EXIT_RUNTIME;
  dl_srtp_destroy(r->srtp);
  dl_srtp_destroy(r->srtcp_out);
  free(r);
  return code;
}

int main(int argc, char **argv)
{
  struct receiver *r = calloc(1, sizeof *r);   /* the receive buffer is large */
  int code = EXIT_RUNTIME;

  if (r == NULL) {
    fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
    return EXIT_RUNTIME;
  }
  options_parse(argc, argv, &r->o);
  if (r->o.gen_key_path != NULL) {
    code = keyfile_generate(PROG, r->o.gen_key_path);
    goto out;
  }
  if (r->o.key_path != NULL && (code = open_srtp(r)) != 0)
    goto out;
  code = EXIT_RUNTIME;
  signal(SIGPIPE, SIG_IGN);
  r->start_ns = clock_mono_ns();
  if (setup(r) != 0)
    goto out;
  notify_ready();   /* a service manager's READY=1: the socket and the sink are up */
  uv_run(&r->loop, UV_RUN_DEFAULT);
  code = r->exit_code;
out:
  return teardown(r, code);
}
