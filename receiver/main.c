/* receiver: plays an Opus/RTP stream on an ALSA device or into a WAV file.
 *
 * Two threads. The libuv loop thread (this file) receives datagrams, stamps
 * their arrival (CLOCK_MONOTONIC, first thing), with --key authenticates and
 * decrypts them (common/wire/srtp), checks them with rtp_parse and
 * rtp_opus_samples, filters the payload type and the source (locked to one
 * address and SSRC, see source_check) and pushes them into the SPSC ring; it also runs
 * the stats and status timers, the signals and the exit conditions. It never
 * blocks and never decodes. The playback thread (playback.c) owns the
 * playout engine, the decoder and the sink.
 *
 * Exit: SIGINT, SIGTERM, SIGHUP, --duration or --idle-exit stop the playback
 * thread, finalise the sink (a WAV's header), write the final stats line and
 * exit 0; a fatal sink error does the same and exits 1. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <alsa/asoundlib.h>

#include "defaults.h"
#include "playback.h"
#include "rx/emodel.h"
#include "rx/rxpipe.h"
#include "shell/clock.h"
#include "shell/keyfile.h"
#include "shell/usage.h"
#include "sink.h"
#include "trace.h"
#include "util/args.h"
#include "util/json.h"
#include "util/ring.h"
#include "wire/rtp.h"
#include "wire/srtp.h"

#define PROG "receiver"
#define EXIT_RUNTIME 1

struct options {
  const char *device;
  int device_buffer_ms;     /* 0: auto (sink_alsa_open's rule) */
  const char *output;
  double skew_ppm;
  int skew_set;
  int latency_ms;             /* 0: auto */
  int min_latency_ms;
  int max_latency_ms;
  double latency_quantile;    /* auto: the quantile of arrival delays aimed at */
  int no_resample;            /* 1: no drift compensation */
  double stall_at_s, stall_ms;  /* --stall-at (testing); stall_ms 0: none */
  int conceal_silence;
  int pt;                     /* 0: lock to the first dynamic payload type */
  double duration_s;          /* 0: run until stopped */
  double idle_exit_s;         /* 0: never */
  const char *stats_path;
  int stats_interval_ms;
  const char *trace_path;     /* --trace: per-packet lines; NULL: none */
  int quiet;
  int verbose;
  const char *key_path;       /* --key: SRTP */
  const char *gen_key_path;   /* --gen-key: write a key and exit */
  const char *peer;           /* --peer HOST[:PORT] as given */
  int restart_after_ms;
  char host[256];
  char port[8];
};

struct receiver {
  struct options o;
  uv_loop_t *loop;
  uv_udp_t sock;
  uv_timer_t stats_timer, status_timer, duration_timer, idle_timer;
  uv_signal_t sig_int, sig_term, sig_hup;
  uv_async_t failed_async;
  int status_on;              /* live line on stderr */
  int status_dirty;           /* a status line is on screen without a newline */

  struct ring *ring;
  struct rxpipe *rx;
  struct sink *sink;
  struct playback pb;
  FILE *stats;                /* NULL: no JSON lines */
  struct trace *trace;        /* --trace; NULL: none */
  uv_timer_t trace_timer;     /* drains it into the file */
  int stats_is_stderr;

  int64_t start_ns;
  int64_t last_packet_ns;     /* loop thread; 0 until a stream started */
  int locked_pt;              /* -1 until locked */
  int stopping;
  int exit_code;

  /* Source locking and SRTP, loop thread only (see source_check). */
  struct dl_srtp *srtp;              /* --key; NULL: plain RTP */
  struct sockaddr_storage peer;      /* --peer, resolved; ss_family 0: none */
  int peer_any_port;                 /* --peer HOST without a port */
  int locked;
  struct sockaddr_storage lock_addr; /* the locked source */
  uint32_t lock_ssrc;
  int64_t last_accept_ns;            /* arrival of the last packet accepted */
  uint32_t probe_ssrc;               /* keyless: the stream being judged */
  unsigned probe_n, probe_fail;      /* its first packets, and how many were not Opus */
  int probe_srtp;                    /* 1: it looks like SRTP: refused */
  int srtp_said, auth_said;
  uint64_t auth_good;                /* keyed: packets that authenticated */
  /* Keyless: a stream's first packet, held until the next one vouches for
   * it (hold_gate); held_len 0: none. */
  uint8_t held[DL_RING_SLOT_BYTES];
  size_t held_len;
  int64_t held_arrival;
  uint32_t held_ssrc, held_ts, plain_ssrc;
  uint16_t held_seq;
  int held_samples, plain_ok;        /* plain_ok: plain_ssrc passed hold_gate */

  /* Loop-thread counters, atomics so any reader sees whole values. */
  atomic_uint_least64_t datagrams;   /* everything that came off the socket */
  atomic_uint_least64_t invalid;     /* truncated or failed rtp_parse */
  atomic_uint_least64_t rejected;    /* valid RTP, wrong payload type or source */
  atomic_uint_least64_t auth_failed; /* SRTP: bad tag or replayed */
  atomic_uint_least64_t restarts;    /* a locked source began a new SSRC after silence */
  atomic_uint_least64_t overflow;    /* dropped: the ring was full */

  uint8_t buf[DL_MAX_DATAGRAM];      /* the receive buffer, reused */
};

static struct receiver R;

static void counter_add(atomic_uint_least64_t *c)
{
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t counter(atomic_uint_least64_t *c)
{
  return atomic_load_explicit(c, memory_order_relaxed);
}

/* Ends a live status line before anything else is printed on stderr. */
static void status_break(void)
{
  if (R.status_dirty) {
    fputc('\n', stderr);
    R.status_dirty = 0;
  }
}

static void vsay(const char *fmt, va_list ap)
{
  status_break();
  fprintf(stderr, PROG ": ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

/* One line on stderr with -v only. */
__attribute__((format(printf, 1, 2)))
static void verbose(const char *fmt, ...)
{
  va_list ap;
  if (!R.o.verbose)
    return;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

/* One line on stderr, always. */
__attribute__((format(printf, 1, 2)))
static void error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

/* ---- statistics ---- */

/* Counters of the playback thread: its last published copy, or, once it
 * has stopped, the engine itself (the join ordered every write). */
static void current_snapshot(struct playback_snapshot *s)
{
  if (R.pb.running) {
    playback_snapshot(&R.pb, s);
    return;
  }
  memset(s, 0, sizeof *s);
  rxpipe_get_stats(R.rx, &s->rx);
  s->underruns = sink_underruns(R.sink);
  s->sink_frames = sink_frames(R.sink);
  s->taken_ns = clock_mono_ns();
}

/* snap: the counters to write, or NULL for the current ones. */
static void write_stats(const struct playback_snapshot *snap, int final)
{
  struct playback_snapshot s;
  struct json j;
  char line[2048];
  const char *text;

  if (R.stats == NULL)
    return;
  if (snap != NULL)
    s = *snap;
  else
    current_snapshot(&s);
  json_begin(&j, line, sizeof line);
  json_num(&j, "t", (double)(clock_mono_ns() - R.start_ns) / 1e9, 3);
  json_u64(&j, "received", s.rx.po.received);
  json_u64(&j, "lost", s.rx.po.lost);
  json_u64(&j, "late", s.rx.po.late);
  json_u64(&j, "duplicate", s.rx.po.duplicate);
  json_u64(&j, "reordered", s.rx.po.reordered);
  json_u64(&j, "invalid", counter(&R.invalid) + s.rx.invalid);
  json_u64(&j, "rejected", counter(&R.rejected));
  json_u64(&j, "auth_failed", counter(&R.auth_failed));
  json_u64(&j, "fec_recovered", s.rx.po.fec_recovered);
  json_u64(&j, "concealed", s.rx.po.concealed);
  /* Beyond DESIGN.md: PLC frames after a stream's last packet (the sender
   * stopped; not a loss, see playout.h), so that concealed is 0 on a clean
   * path that ends. */
  json_u64(&j, "tail_concealed", s.rx.po.tail_concealed);
  json_u64(&j, "silence", s.rx.po.silence);
  json_u64(&j, "played", s.rx.po.played);
  json_u64(&j, "underruns", s.underruns);
  json_num(&j, "jitter_ms", s.rx.jitter_ms, 3);
  json_obj_begin(&j, "latency_ms");
  json_num(&j, "target", s.rx.latency_target_ms, 1);
  json_num(&j, "mean", s.rx.latency_mean_ms, 2);
  json_num(&j, "p50", s.rx.latency_p50_ms, 2);
  json_num(&j, "p95", s.rx.latency_p95_ms, 2);
  json_num(&j, "p99", s.rx.latency_p99_ms, 2);
  json_num(&j, "max", s.rx.latency_max_ms, 2);
  json_obj_end(&j);
  json_num(&j, "drift_ppm", s.rx.drift_ppm, 2);
  json_num(&j, "resample_ratio", s.rx.resample_ratio, 6);
  json_num(&j, "loss_pct", s.rx.loss_pct, 3);
  /* The E-model (ITU-T G.107, common/rx/emodel.h): the mouth-to-ear delay is
   * the frame (packetization) + Opus' look-ahead + the mean latency from
   * arrival to sink; the network's one-way transit is not known here (no
   * RTCP yet) and counts as 0, right on a LAN. Loss: frames concealed inside
   * the stream, with their burstiness. null until a frame was heard. */
  if (s.rx.quality_frames > 0 && isfinite(s.rx.latency_mean_ms) && isfinite(s.rx.frame_ms)) {
    double d = s.rx.frame_ms + DL_OPUS_LOOKAHEAD_MS + s.rx.latency_mean_ms;
    double r = emodel_r(d, s.rx.quality_loss_pct, s.rx.quality_burst_r);
    json_num(&j, "r_factor", r, 1);
    json_num(&j, "mos", emodel_mos(r), 2);
  } else {
    json_null(&j, "r_factor");
    json_null(&j, "mos");
  }
  /* Beyond DESIGN.md: datagrams off the socket, ring overflows, resyncs;
   * sink_frames: 48 kHz frames written to the sink (a WAV's length);
   * frames_out: frames the playout engine produced, sink_frames plus the
   * part of a decoded packet still waiting for the next period (and, once
   * drift compensation is on, what the resampler changed);
   * latency_ctl_ms: the latency controller's smoothed latency. */
  json_u64(&j, "datagrams", counter(&R.datagrams));
  json_u64(&j, "overflow", counter(&R.overflow));
  json_u64(&j, "resyncs", s.rx.po.resyncs);
  json_u64(&j, "restarts", counter(&R.restarts));
  json_u64(&j, "sink_frames", s.sink_frames);
  json_u64(&j, "frames_out", s.rx.po.samples_out);
  json_num(&j, "latency_ctl_ms", s.rx.latency_ctl_ms, 2);
  if (final)
    json_bool(&j, "final", 1);
  text = json_end(&j);
  if (text == NULL)
    return;
  if (R.stats_is_stderr)
    status_break();
  fprintf(R.stats, "%s\n", text);
  fflush(R.stats);
}

static void stats_cb(uv_timer_t *t)
{
  (void)t;
  write_stats(NULL, 0);
}

static void status_cb(uv_timer_t *t)
{
  struct playback_snapshot s;
  char lat[32];
  (void)t;
  current_snapshot(&s);
  if (isfinite(s.rx.latency_mean_ms))
    snprintf(lat, sizeof lat, "%.0f ms", s.rx.latency_mean_ms);
  else
    snprintf(lat, sizeof lat, "-");
  fprintf(stderr, "\r" PROG ": %7.1f s  %s  latency %s (target %.0f)  loss %.1f %%  jitter %.1f ms  MOS -   ",
          (double)s.sink_frames / DL_RATE, R.last_packet_ns != 0 ? "playing" : "waiting",
          lat, s.rx.latency_target_ms, isfinite(s.rx.loss_pct) ? s.rx.loss_pct : 0.0,
          isfinite(s.rx.jitter_ms) ? s.rx.jitter_ms : 0.0);
  fflush(stderr);
  R.status_dirty = 1;
}

/* Loop thread: --trace records from the playback thread into the file. */
static void trace_cb(uv_timer_t *t)
{
  char msg[512];
  (void)t;
  if (trace_drain(R.trace, msg, sizeof msg))
    error("%s", msg);
}

/* ---- exit ---- */

static void close_cb(uv_handle_t *h)
{
  (void)h;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, close_cb);
}

/* Loop thread: stop playback, finalise the sink, final stats, close
 * everything so uv_run returns. */
static void shutdown_receiver(int code)
{
  struct playback_snapshot fin;
  int r;

  if (R.stopping)
    return;
  R.stopping = 1;
  R.exit_code = code;
  uv_udp_recv_stop(&R.sock);
  playback_stop(&R.pb);
  if (atomic_load(&R.pb.failed)) {
    error("%s: %s", R.o.output != NULL ? R.o.output : R.o.device, R.pb.error);
    R.exit_code = EXIT_RUNTIME;
  }
  /* Final counts before the sink goes; then finalise it (a WAV's header),
   * so that the final line describes a complete file. */
  current_snapshot(&fin);
  verbose("stopped: %llu frames written to the sink (%.3f s)",
          (unsigned long long)fin.sink_frames, (double)fin.sink_frames / DL_RATE);
  r = sink_close(R.sink);
  R.sink = NULL;
  if (r < 0) {
    error("%s: cannot finalise: %s", R.o.output != NULL ? R.o.output : R.o.device, strerror(-r));
    R.exit_code = EXIT_RUNTIME;
  }
  write_stats(&fin, 1);
  status_break();
  uv_walk(R.loop, close_walk_cb, NULL);
}

static void signal_cb(uv_signal_t *s, int signum)
{
  (void)s;
  verbose("%s: stopping", strsignal(signum));
  shutdown_receiver(0);
}

static void duration_cb(uv_timer_t *t)
{
  (void)t;
  verbose("--duration reached: stopping");
  shutdown_receiver(0);
}

static void idle_cb(uv_timer_t *t)
{
  (void)t;
  if (R.last_packet_ns == 0)
    return;
  if (clock_mono_ns() - R.last_packet_ns >= (int64_t)llround(R.o.idle_exit_s * 1e9)) {
    verbose("no packet for %.3g s (--idle-exit): stopping", R.o.idle_exit_s);
    shutdown_receiver(0);
  }
}

static void failed_cb(uv_async_t *a)
{
  (void)a;
  shutdown_receiver(EXIT_RUNTIME);
}

/* ---- network ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  (void)suggested;
  /* libuv hands the datagram to recv_cb before asking again: one buffer. */
  *buf = uv_buf_init((char *)R.buf, sizeof R.buf);
}

/* Same IP address (and port, if with_port). */
static int same_source(const struct sockaddr_storage *a, const struct sockaddr *b, int with_port)
{
  if (b == NULL || a->ss_family != b->sa_family)
    return 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_addr.s_addr == y->sin_addr.s_addr && (!with_port || x->sin_port == y->sin_port);
  }
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
           (!with_port || x->sin6_port == y->sin6_port);
  }
  return 0;
}

static void addr_text(const struct sockaddr *a, char *out, size_t cap)
{
  char host[INET6_ADDRSTRLEN], port[8];
  if (getnameinfo(a, a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
                  host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    snprintf(out, cap, "?");
  else
    snprintf(out, cap, a->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Source locking (RTP Bleed: never follow a stranger). The receiver locks
 * to the source address (IP and port) and SSRC of the first packet it
 * accepts, or only takes packets from --peer. Then:
 *   - the locked address and SSRC: accepted;
 *   - the locked IP (any port: a restarted sender has a new socket) after
 *     --restart-after of silence (no packet accepted for that long), with a
 *     new SSRC or port: a sender restart, accepted and relocked (the
 *     playout engine resyncs on the new SSRC);
 *   - anything else: rejected; without --peer, a different source may take
 *     over only once the locked one has been silent for 10 x --restart-after.
 * Returns 0 reject, 1 accept, 2 accept and (re)lock. Decides only. */
static int source_check(const struct sockaddr *addr, uint32_t ssrc, int64_t now)
{
  int64_t silent = now - R.last_accept_ns, restart = (int64_t)R.o.restart_after_ms * 1000000;

  if (R.peer.ss_family != 0 && !same_source(&R.peer, addr, !R.peer_any_port))
    return 0;
  if (!R.locked)
    return 2;
  if (same_source(&R.lock_addr, addr, 0)) {
    if (same_source(&R.lock_addr, addr, 1) && ssrc == R.lock_ssrc)
      return 1;
    return silent >= restart ? 2 : 0;
  }
  return R.peer.ss_family == 0 && silent >= 10 * restart ? 2 : 0;
}

/* Keyless: does the stream look like SRTP (its payloads encrypted)? Of
 * the first 50 packets of a stream (an SSRC from an acceptable source), a
 * real Opus sender's are all valid Opus; an encrypted payload fails
 * rtp_opus_samples about half the time. At 20 % such a stream is refused
 * (its packets invalid), said once. Packets that passed before the verdict
 * went on to the decoder: the first failure usually comes within the first
 * two or three packets. Returns 1 to refuse this packet's stream. */
static int probe_srtp(uint32_t ssrc, int not_opus)
{
  if (R.srtp != NULL)
    return 0;
  if (R.probe_n == 0 || ssrc != R.probe_ssrc) {
    R.probe_ssrc = ssrc;
    R.probe_n = R.probe_fail = 0;
    R.probe_srtp = 0;
  }
  if (R.probe_n < 50) {
    R.probe_n++;
    R.probe_fail += not_opus != 0;
    if (R.probe_fail > 0 && R.probe_fail * 5 >= R.probe_n && !R.probe_srtp) {
      R.probe_srtp = 1;
      if (R.held_len > 0 && R.held_ssrc == ssrc) {   /* it never reaches the decoder */
        R.held_len = 0;
        counter_add(&R.invalid);
      }
      if (!R.srtp_said && !R.o.quiet)
        error("the stream looks like SRTP: give --key");
      R.srtp_said = 1;
    }
  }
  return R.probe_srtp;
}

/* Keyless: an encrypted payload passes rtp_opus_samples about half the
 * time, so the packets before probe_srtp's verdict would reach the
 * decoder. A stream's first packet therefore waits (one frame, well inside
 * any target latency; its arrival time is kept) for the next packet of its
 * SSRC, which vouches for it if it follows it (sequence + 1), lasts as
 * long, and its timestamp advanced by at least half of that (GStreamer's
 * first step is 648 of 960; DTX gaps are longer). Random payloads rarely
 * agree twice; one that does not vouch turns the held packet invalid and is
 * held itself. Returns 1 if the packet was held, 0 to push it now (after
 * the held one). */
static int hold_gate(const struct rtp_header *h, const uint8_t *pkt, size_t len, int samples,
                     int64_t arrival)
{
  if (R.srtp != NULL)
    return 0;
  if (R.held_len > 0) {
    int ok = h->ssrc == R.held_ssrc && h->seq == (uint16_t)(R.held_seq + 1) &&
             samples == R.held_samples && rtp_ts_diff(h->timestamp, R.held_ts) >= samples / 2;
    size_t n = R.held_len;
    R.held_len = 0;
    if (ok) {
      if (ring_push(R.ring, R.held, n, R.held_arrival) != 0)
        counter_add(&R.overflow);
      R.plain_ssrc = h->ssrc;
      R.plain_ok = 1;
      return 0;
    }
    counter_add(&R.invalid);
  } else if (R.plain_ok && h->ssrc == R.plain_ssrc) {
    return 0;
  }
  if (len > sizeof R.held)
    return 0;
  memcpy(R.held, pkt, len);
  R.held_len = len;
  R.held_arrival = arrival;
  R.held_ssrc = h->ssrc;
  R.held_seq = h->seq;
  R.held_ts = h->timestamp;
  R.held_samples = samples;
  return 1;
}

/* Loop thread. Per datagram, in the order of DESIGN.md: SRTP unprotect
 * (--key), RTP parse, Opus check, payload type, source/SSRC lock, ring. */
static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
  int64_t arrival = clock_mono_ns();   /* first: everything downstream trusts it */
  struct rtp_header hdr;
  const uint8_t *payload;
  size_t plen, len = (size_t)nread;
  int r, opus, src;

  (void)h;
  if (nread == 0 && addr == NULL)
    return;   /* nothing more to read */
  if (nread < 0) {
    verbose("receive: %s", uv_strerror((int)nread));
    return;
  }
  counter_add(&R.datagrams);
  if (flags & UV_UDP_PARTIAL) {   /* larger than any datagram we accept */
    counter_add(&R.invalid);
    return;
  }
  if (R.srtp != NULL) {
    r = dl_srtp_unprotect(R.srtp, (uint8_t *)buf->base, &len);
    if (r == DL_SRTP_ERR_AUTH || r == DL_SRTP_ERR_REPLAY) {
      counter_add(&R.auth_failed);
      if (R.auth_good == 0 && counter(&R.auth_failed) >= 50 && !R.auth_said && !R.o.quiet) {
        error("packets fail authentication: wrong --key, or the sender does not use SRTP");
        R.auth_said = 1;
      }
      return;
    }
    if (r != 0) {
      counter_add(&R.invalid);
      if (counter(&R.invalid) <= 3)
        verbose("invalid datagram (%zd bytes): SRTP: %s", nread, dl_srtp_strerror(r));
      return;
    }
    R.auth_good++;
  }
  r = rtp_parse((const uint8_t *)buf->base, len, &hdr, &payload, &plen);
  if (r != RTP_OK) {
    counter_add(&R.invalid);
    if (counter(&R.invalid) <= 3)
      verbose("invalid datagram (%zd bytes): %s", nread, rtp_strerror(r));
    return;
  }
  opus = rtp_opus_samples(payload, plen);
  src = source_check(addr, hdr.ssrc, arrival);
  if (src != 0 && probe_srtp(hdr.ssrc, opus == RTP_ERR_OPUS)) {
    counter_add(&R.invalid);
    return;
  }
  if (opus < 0) {
    counter_add(&R.invalid);
    if (counter(&R.invalid) <= 3)
      verbose("invalid datagram (%zd bytes): %s", nread, rtp_strerror(opus));
    return;
  }
  if (src == 0) {
    counter_add(&R.rejected);
    return;
  }
  if (R.o.pt != 0) {
    if ((int)hdr.payload_type != R.o.pt) {
      counter_add(&R.rejected);
      return;
    }
  } else if (R.locked_pt < 0) {
    if (hdr.payload_type < DL_MIN_DYNAMIC_PT || hdr.payload_type > DL_MAX_DYNAMIC_PT) {
      counter_add(&R.rejected);
      return;
    }
    R.locked_pt = (int)hdr.payload_type;
    verbose("locked to payload type %d", R.locked_pt);
  } else if ((int)hdr.payload_type != R.locked_pt) {
    counter_add(&R.rejected);
    return;
  }
  if (src == 2) {
    char text[INET6_ADDRSTRLEN + 16];
    addr_text(addr, text, sizeof text);
    if (R.locked) {
      counter_add(&R.restarts);
      verbose("source %s SSRC %08x after %.1f s of silence: taken as a sender restart", text,
              (unsigned)hdr.ssrc, (double)(arrival - R.last_accept_ns) / 1e9);
    } else {
      verbose("locked to source %s SSRC %08x", text, (unsigned)hdr.ssrc);
    }
    memcpy(&R.lock_addr, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in));
    R.lock_addr.ss_family = addr->sa_family;
    R.lock_ssrc = hdr.ssrc;
    R.locked = 1;
  }
  R.last_accept_ns = arrival;
  if (hold_gate(&hdr, (const uint8_t *)buf->base, len, opus, arrival))
    return;

  if (len <= ring_slot_bytes(R.ring)) {
    r = ring_push(R.ring, buf->base, len, arrival);
  } else {
    /* A valid packet made large by CSRCs or a header extension: the
     * playback side needs neither, so pass header and payload alone. */
    uint8_t *slot = ring_claim(R.ring);
    r = -ENOBUFS;
    if (slot != NULL) {
      int n = rtp_pack(&hdr, payload, plen, slot, ring_slot_bytes(R.ring));
      if (n < 0) {
        counter_add(&R.invalid);
        return;
      }
      ring_commit(R.ring, (size_t)n, arrival);
      r = 0;
    }
  }
  if (r != 0) {
    counter_add(&R.overflow);
    return;
  }
  if (R.last_packet_ns == 0)
    verbose("stream started: SSRC %08x, payload type %u", (unsigned)hdr.ssrc, hdr.payload_type);
  R.last_packet_ns = arrival;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
  fprintf(f,
"usage: " PROG " [OPTIONS] [HOST:]PORT\n"
"       " PROG " --gen-key FILE\n"
"Receives an Opus stream over RTP (RFC 7587) on UDP PORT and plays it on an\n"
"ALSA device, or writes it to a WAV file paced in real time like a device.\n"
"HOST is the local address to bind (default: all IPv4 addresses); an IPv6\n"
"address is written [ADDR]:PORT. Output is mono, 16-bit, 48000 Hz.\n"
"\n"
"  -d, --device NAME        ALSA playback device (default \"default\")\n"
"      --device-buffer MS   the ALSA buffer, %d..%d ms (default auto: %d ms on a\n"
"                           card, %d ms through a sound server's plugin such\n"
"                           as PulseAudio's or PipeWire's, whose own thread\n"
"                           feeds the server and may be late); a larger\n"
"                           buffer rides out longer stalls and adds latency\n"
"  -o, --output FILE.wav    write a WAV file instead of playing; it is paced in\n"
"                           real time in %d ms blocks and its header is kept\n"
"                           valid as it grows (rewritten every %d ms)\n"
"      --sink-skew-ppm PPM  with -o: run the WAV sink's clock PPM parts per million\n"
"                           fast (positive) or slow (negative), -100000..100000,\n"
"                           to test drift compensation without hardware\n"
"      --latency MS|auto    target latency from a packet's arrival to its first\n"
"                           sample being heard, 1..%d ms, or auto (default;\n"
"                           starts at %d ms within the bounds below)\n"
"      --min-latency MS     lower bound for auto (default %d)\n"
"      --latency-quantile Q auto: the target is this quantile of the recent\n"
"                           arrival delays plus one frame plus what the sink\n"
"                           takes ahead of hearing it (the device's queue,\n"
"                           snd_pcm_delay when a period is written, and the\n"
"                           period itself), 0.5..0.9999 (default %.2f)\n"
"      --max-latency MS     upper bound for auto; a packet that would be heard\n"
"                           more than this after it arrived (a sink that\n"
"                           stalled, a timestamp far ahead) resyncs the stream\n"
"                           once, onto the newest packet (default %d, max %d)\n"
"      --conceal plc|silence  what replaces a lost packet when the next one\n"
"                           carries no FEC: Opus packet loss concealment (plc,\n"
"                           default) or silence; after %d ms of continuous loss\n"
"                           it is silence either way\n"
"      --no-resample        no drift compensation: the decoder's output goes to\n"
"                           the sink unchanged (bit-exact), and latency follows\n"
"                           the difference between the sender's and the sink's\n"
"                           clocks (default: a resampler within +-0.5 %% holds\n"
"                           latency at its target)\n"
"      --pt N               accept only RTP payload type N (%d..%d); default:\n"
"                           lock to the first dynamic payload type seen\n"
"      --key FILE           SRTP (AES_CM_128_HMAC_SHA1_80, replay window %d):\n"
"                           authenticate and decrypt every packet with the key\n"
"                           in FILE (30 bytes of key and salt in base64, bare,\n"
"                           inline:KEY or an SDP a=crypto line, as the sender's\n"
"                           --key); a packet that fails or replays counts in\n"
"                           auth_failed and is dropped. Without --key a stream\n"
"                           that looks encrypted is refused (counted invalid)\n"
"      --gen-key FILE       write a new random key to FILE (mode 0600, must not\n"
"                           exist) and exit; no PORT needed\n"
"      --peer HOST[:PORT]   accept packets only from HOST (and PORT); default:\n"
"                           lock to the address and port of the first valid\n"
"                           packet. Others count in rejected and are dropped\n"
"      --restart-after MS   the locked host sending a new SSRC (or from a new\n"
"                           port) after MS ms without a packet is a sender\n"
"                           restart: accepted, the stream resyncs (counted in\n"
"                           restarts); sooner, it is rejected. Without --peer,\n"
"                           another host may take over after 10 x MS ms of\n"
"                           silence. 1..600000 (default %d)\n"
"      --duration SEC       stop after SEC seconds\n"
"      --idle-exit SEC      stop SEC seconds after the last packet, once a\n"
"                           stream has started\n"
"      --stats FILE|-       write statistics as JSON lines to FILE (- = stderr):\n"
"                           every --stats-interval and once at exit with\n"
"                           \"final\":true; keys as in DESIGN.md \"Statistics\"\n"
"      --stats-interval MS  100..3600000 (default %d)\n"
"      --trace FILE         one line per packet, tab-separated, after a header\n"
"                           line: seq, ts (RTP), arrival_ns (off the socket),\n"
"                           play_ns (its first sample reaches the sink; 0 if\n"
"                           dropped), kind (packet, fec: recovered from the next\n"
"                           packet, late, dup); times CLOCK_MONOTONIC ns\n"
"      --stall-at SEC:MS    testing: stall the playback thread once, for MS ms,\n"
"                           SEC s after start, to force a sink underrun (counted\n"
"                           in underruns, recovered)\n"
"  -q, --quiet              no live status line on a terminal, no notices\n"
"  -v, --verbose            say what happens: sink set-up, scheduling\n"
"                           (SCHED_FIFO or not), stream start, stop\n"
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"SIGINT, SIGTERM and SIGHUP stop it cleanly: the WAV is finalised and the\n"
"final stats line written. Exit status: 0 done, 1 runtime error (device,\n"
"file, port), 2 bad usage (also: a --key file that holds no valid key).\n",
          DL_ALSA_BUFFER_MIN_MS, DL_ALSA_BUFFER_MAX_MS, DL_ALSA_PERIODS * DL_ALSA_PERIOD_US / 1000,
          DL_ALSA_SERVER_BUFFER_MS,
          DL_WAV_BLOCK_US / 1000, DL_WAV_SYNC_MS, DL_MAX_LATENCY_LIMIT_MS, DL_DEFAULT_LATENCY_MS,
          DL_DEFAULT_MIN_LATENCY_MS, DL_DEFAULT_LATENCY_QUANTILE, DL_DEFAULT_MAX_LATENCY_MS,
          DL_MAX_LATENCY_LIMIT_MS, DL_SILENCE_AFTER_MS, DL_MIN_DYNAMIC_PT, DL_MAX_DYNAMIC_PT, DL_SRTP_REPLAY_WINDOW,
          DL_RESTART_AFTER_MS, DL_DEFAULT_STATS_INTERVAL_MS);
}

enum {
  OPT_SKEW = 256, OPT_LATENCY, OPT_MIN_LATENCY, OPT_MAX_LATENCY, OPT_CONCEAL, OPT_PT,
  OPT_DURATION, OPT_IDLE_EXIT, OPT_STATS, OPT_STATS_INTERVAL, OPT_QUANTILE, OPT_NO_RESAMPLE,
  OPT_KEY, OPT_GEN_KEY, OPT_PEER, OPT_RESTART_AFTER,
  OPT_TRACE, OPT_STALL_AT, OPT_DEVICE_BUFFER
};

static void parse_args(int argc, char **argv, struct options *o)
{
  static const struct option longs[] = {
    {"device", required_argument, NULL, 'd'},
    {"device-buffer", required_argument, NULL, OPT_DEVICE_BUFFER},
    {"output", required_argument, NULL, 'o'},
    {"sink-skew-ppm", required_argument, NULL, OPT_SKEW},
    {"latency", required_argument, NULL, OPT_LATENCY},
    {"min-latency", required_argument, NULL, OPT_MIN_LATENCY},
    {"max-latency", required_argument, NULL, OPT_MAX_LATENCY},
    {"latency-quantile", required_argument, NULL, OPT_QUANTILE},
    {"no-resample", no_argument, NULL, OPT_NO_RESAMPLE},
    {"stall-at", required_argument, NULL, OPT_STALL_AT},
    {"conceal", required_argument, NULL, OPT_CONCEAL},
    {"pt", required_argument, NULL, OPT_PT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
    {"stats", required_argument, NULL, OPT_STATS},
    {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
    {"key", required_argument, NULL, OPT_KEY},
    {"gen-key", required_argument, NULL, OPT_GEN_KEY},
    {"peer", required_argument, NULL, OPT_PEER},
    {"restart-after", required_argument, NULL, OPT_RESTART_AFTER},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
  };
  int c, device_set = 0;

  usage_prog = PROG;
  usage_hint = " (see --help)";
  memset(o, 0, sizeof *o);
  o->device = "default";
  o->min_latency_ms = DL_DEFAULT_MIN_LATENCY_MS;
  o->max_latency_ms = DL_DEFAULT_MAX_LATENCY_MS;
  o->stats_interval_ms = DL_DEFAULT_STATS_INTERVAL_MS;
  o->latency_quantile = DL_DEFAULT_LATENCY_QUANTILE;
  o->restart_after_ms = DL_RESTART_AFTER_MS;

  opterr = 0;
  while ((c = getopt_long(argc, argv, ":d:o:qvhV", longs, NULL)) != -1) {
    switch (c) {
    case 'd': o->device = optarg; device_set = 1; break;
    case OPT_DEVICE_BUFFER:
      o->device_buffer_ms = (int)usage_long("--device-buffer", optarg, DL_ALSA_BUFFER_MIN_MS,
                                            DL_ALSA_BUFFER_MAX_MS, "ms");
      break;
    case 'o': o->output = optarg; break;
    case OPT_SKEW:
      o->skew_ppm = usage_double("--sink-skew-ppm", optarg, -100000, 100000, "ppm");
      o->skew_set = 1;
      break;
    case OPT_LATENCY:
      if (strcmp(optarg, "auto") == 0)
        o->latency_ms = 0;
      else
        o->latency_ms = (int)usage_long("--latency", optarg, 1, DL_MAX_LATENCY_LIMIT_MS, "ms or auto");
      break;
    case OPT_MIN_LATENCY:
      o->min_latency_ms = (int)usage_long("--min-latency", optarg, 1, DL_MAX_LATENCY_LIMIT_MS, "ms");
      break;
    case OPT_MAX_LATENCY:
      o->max_latency_ms = (int)usage_long("--max-latency", optarg, 1, DL_MAX_LATENCY_LIMIT_MS, "ms");
      break;
    case OPT_QUANTILE:
      o->latency_quantile = usage_double("--latency-quantile", optarg, 0.5, 0.9999, "");
      break;
    case OPT_NO_RESAMPLE: o->no_resample = 1; break;
    case OPT_STALL_AT: {
      char *colon = strchr(optarg, ':');
      if (colon == NULL)
        usage_error("--stall-at: expected SEC:MS, got \"%s\"", optarg);
      *colon = '\0';
      o->stall_at_s = usage_double("--stall-at", optarg, 0, 1e6, "s");
      o->stall_ms = usage_double("--stall-at", colon + 1, 1, 60000, "ms");
      break;
    }
    case OPT_CONCEAL:
      if (strcmp(optarg, "plc") == 0)
        o->conceal_silence = 0;
      else if (strcmp(optarg, "silence") == 0)
        o->conceal_silence = 1;
      else
        usage_error("--conceal: expected plc or silence, got \"%s\"", optarg);
      break;
    case OPT_PT:
      o->pt = (int)usage_long("--pt", optarg, DL_MIN_DYNAMIC_PT, DL_MAX_DYNAMIC_PT, "");
      break;
    case OPT_DURATION:
      o->duration_s = usage_double("--duration", optarg, 0.001, 1e7, "s");
      break;
    case OPT_IDLE_EXIT:
      o->idle_exit_s = usage_double("--idle-exit", optarg, 0.001, 1e7, "s");
      break;
    case OPT_STATS: o->stats_path = optarg; break;
    case OPT_STATS_INTERVAL:
      o->stats_interval_ms = (int)usage_long("--stats-interval", optarg, 100, 3600000, "ms");
      break;
    case OPT_KEY: o->key_path = optarg; break;
    case OPT_GEN_KEY: o->gen_key_path = optarg; break;
    case OPT_PEER: o->peer = optarg; break;
    case OPT_RESTART_AFTER:
      o->restart_after_ms = (int)usage_long("--restart-after", optarg, 1, 600000, "ms");
      break;
    case OPT_TRACE: o->trace_path = optarg; break;
    case 'q': o->quiet = 1; break;
    case 'v': o->verbose = 1; break;
    case 'h': usage(stdout); exit(0);
    case 'V': printf(PROG " (driftless) %s\n", DL_VERSION); exit(0);
    case ':': usage_error("%s: needs a value", argv[optind - 1]);
    default:
      if (optopt != 0)
        usage_error("unknown option '-%c'", optopt);
      usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (o->gen_key_path != NULL) {
    if (optind < argc || o->key_path != NULL)
      usage_error("--gen-key FILE is used alone: it writes a key and exits");
    return;
  }
  if (optind >= argc)
    usage_error("missing [HOST:]PORT to listen on");
  if (optind + 1 < argc)
    usage_error("unexpected argument \"%s\"", argv[optind + 1]);
  if (args_hostport(argv[optind], 1, o->host, sizeof o->host, o->port, sizeof o->port) != 0)
    usage_error("expected [HOST:]PORT with PORT 1..65535, got \"%s\"", argv[optind]);
  if (o->output != NULL && device_set)
    usage_error("-d/--device and -o/--output exclude each other");
  if (o->output != NULL && o->device_buffer_ms != 0)
    usage_error("--device-buffer: only with an ALSA device, not -o/--output");
  if (o->skew_set && o->output == NULL)
    usage_error("--sink-skew-ppm: only with -o/--output (a device runs on its own clock)");
  if (o->min_latency_ms > o->max_latency_ms)
    usage_error("--min-latency %d ms is above --max-latency %d ms", o->min_latency_ms, o->max_latency_ms);
  if (o->latency_ms > o->max_latency_ms)
    usage_error("--latency %d ms is above --max-latency %d ms", o->latency_ms, o->max_latency_ms);
}

/* The target latency "auto" starts from, within the bounds. The adaptive
 * controller (a later issue) moves it from there. */
static int start_latency_ms(const struct options *o)
{
  int ms = o->latency_ms;
  if (ms == 0) {
    ms = DL_DEFAULT_LATENCY_MS;
    if (ms < o->min_latency_ms)
      ms = o->min_latency_ms;
    if (ms > o->max_latency_ms)
      ms = o->max_latency_ms;
  }
  return ms;
}

static int bind_socket(const struct options *o)
{
  struct addrinfo hints, *ai = NULL;
  const char *host = o->host[0] != '\0' ? o->host : "0.0.0.0";
  int r;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  r = getaddrinfo(host, o->port, &hints, &ai);
  if (r != 0) {
    error("%s: cannot resolve: %s", host, gai_strerror(r));
    return -1;
  }
  r = uv_udp_init(R.loop, &R.sock);
  if (r == 0)
    r = uv_udp_bind(&R.sock, ai->ai_addr, 0);
  if (r == 0) {
    int size = 1 << 20;   /* room for a burst while the loop is busy; best effort */
    uv_recv_buffer_size((uv_handle_t *)&R.sock, &size);
    r = uv_udp_recv_start(&R.sock, alloc_cb, recv_cb);
  }
  freeaddrinfo(ai);
  if (r != 0) {
    if (o->host[0] != '\0' && strchr(o->host, ':') != NULL)
      error("[%s]:%s: cannot listen: %s", o->host, o->port, uv_strerror(r));
    else
      error("%s:%s: cannot listen: %s", host, o->port, uv_strerror(r));
    return -1;
  }
  verbose("listening on %s port %s", host, o->port);
  return 0;
}

static void alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...)
{
  /* alsa-lib prints its own diagnostics on stderr; we word the error once. */
  (void)file; (void)line; (void)function; (void)err; (void)fmt;
}

/* Opens the ALSA sink with this thread briefly SCHED_FIFO (where
 * permitted): plugins such as pulse start their own threads on open, and
 * those feed the device as much as the playback thread does, so they must
 * inherit its scheduling rather than compete with every busy process. */
static int open_alsa_realtime(char *err, size_t errcap)
{
  struct sched_param old_sp, sp;
  int old_policy, r, raised;

  raised = pthread_getschedparam(pthread_self(), &old_policy, &old_sp) == 0;
  if (raised) {
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = DL_PLAYBACK_RT_PRIORITY;
    if (sp.sched_priority > sched_get_priority_max(SCHED_FIFO))
      sp.sched_priority = sched_get_priority_max(SCHED_FIFO);
    raised = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  }
  r = sink_alsa_open(&R.sink, R.o.device, 1, R.o.device_buffer_ms, err, errcap);
  if (raised)
    pthread_setschedparam(pthread_self(), old_policy, &old_sp);
  verbose("ALSA device opened %s", raised ? "with SCHED_FIFO (its helper threads inherit it)"
                                          : "with normal scheduling (SCHED_FIFO refused)");
  return r;
}

/* At exit, on every path: the session holds the key. */
static void srtp_free(void)
{
  dl_srtp_destroy(R.srtp);
  R.srtp = NULL;
}

/* --peer HOST[:PORT] ([V6]:PORT, or a bare V6 address): resolved once, in
 * the family the socket listens in. Returns 0, or -1 after one line. */
static int resolve_peer(const struct options *o)
{
  struct addrinfo hints, *ai = NULL, *a;
  char host[256], port[8] = "";
  int r, v6 = o->host[0] != '\0' && strchr(o->host, ':') != NULL;

  if (args_hostport(o->peer, 0, host, sizeof host, port, sizeof port) != 0 || host[0] == '\0') {
    size_t n = strlen(o->peer);
    port[0] = '\0';
    if (n >= 2 && o->peer[0] == '[' && o->peer[n - 1] == ']' && n - 2 < sizeof host)
      snprintf(host, sizeof host, "%.*s", (int)(n - 2), o->peer + 1);
    else if (n > 0 && n < sizeof host && o->peer[0] != '[')
      snprintf(host, sizeof host, "%s", o->peer);
    else
      usage_error("--peer: expected HOST, HOST:PORT or [IPV6]:PORT, got \"%s\"", o->peer);
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_family = v6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  r = getaddrinfo(host, port[0] != '\0' ? port : NULL, &hints, &ai);
  if (r != 0) {
    error("--peer %s: cannot resolve%s: %s", o->peer, v6 ? " as IPv6" : " as IPv4", gai_strerror(r));
    return -1;
  }
  a = ai;
  memcpy(&R.peer, a->ai_addr, a->ai_addrlen);
  R.peer_any_port = port[0] == '\0';
  freeaddrinfo(ai);
  return 0;
}

int main(int argc, char **argv)
{
  struct rxpipe_config rc;
  char err[256];
  int r;

  parse_args(argc, argv, &R.o);
  if (R.o.gen_key_path != NULL)
    return keyfile_generate(PROG, R.o.gen_key_path);
  if (R.o.key_path != NULL) {
    uint8_t key[DL_SRTP_KEY_LEN];
    r = keyfile_read(PROG, R.o.key_path, key);
    if (r == 0 && (r = dl_srtp_create(&R.srtp, key, DL_SRTP_RECV)) < 0) {
      error("SRTP: %s", dl_srtp_strerror(r));
      r = EXIT_RUNTIME;
    }
    memset(key, 0, sizeof key);
    if (r != 0)
      return r;
    atexit(srtp_free);
  }
  if (R.o.peer != NULL && resolve_peer(&R.o) != 0)
    return EXIT_RUNTIME;
  signal(SIGPIPE, SIG_IGN);
  R.locked_pt = -1;
  R.start_ns = clock_mono_ns();
  R.loop = uv_default_loop();

  /* Stats file first: a bad path is a runtime error before anything runs. */
  if (R.o.stats_path != NULL) {
    if (strcmp(R.o.stats_path, "-") == 0) {
      R.stats = stderr;
      R.stats_is_stderr = 1;
    } else if ((R.stats = fopen(R.o.stats_path, "w")) == NULL) {
      error("--stats %s: cannot create: %s", R.o.stats_path, strerror(errno));
      return EXIT_RUNTIME;
    }
  }

  if (R.o.trace_path != NULL) {
    r = trace_open(&R.trace, R.o.trace_path, DL_TRACE_SLOTS, err, sizeof err);
    if (r < 0) {
      error("--trace %s: %s", R.o.trace_path, err);
      return EXIT_RUNTIME;
    }
  }

  /* The socket before the sink, so a port in use leaves no empty WAV. */
  if (bind_socket(&R.o) != 0)
    return EXIT_RUNTIME;

  if (R.o.output != NULL) {
    r = sink_wav_open(&R.sink, R.o.output, 1, R.o.skew_ppm, err, sizeof err);
    if (r < 0) {
      error("%s: %s", R.o.output, err);
      return EXIT_RUNTIME;
    }
  } else {
    if (!R.o.verbose)
      snd_lib_error_set_handler(alsa_quiet);
    r = open_alsa_realtime(err, sizeof err);
    if (r < 0) {
      error("--device %s: %s", R.o.device, err);
      return EXIT_RUNTIME;
    }
  }
  verbose("sink: %s", sink_describe(R.sink));
  verbose("%s; source: %s, restart after %d ms of silence",
          R.srtp != NULL ? "SRTP " DL_SRTP_SUITE ": every packet must authenticate" : "plain RTP",
          R.o.peer != NULL ? R.o.peer : "the first valid stream's", R.o.restart_after_ms);

  memset(&rc, 0, sizeof rc);
  rc.playout.target_ns = (int64_t)start_latency_ms(&R.o) * 1000000;
  rc.playout.max_latency_ns = (int64_t)R.o.max_latency_ms * 1000000;
  rc.playout.silence_after_ns = (int64_t)DL_SILENCE_AFTER_MS * 1000000;
  rc.playout.late_resync_ns = (int64_t)DL_LATE_RESYNC_MS * 1000000;
  rc.playout.conceal_silence = R.o.conceal_silence;
  rc.playout.slots = DL_PLAYOUT_SLOTS;
  rc.channels = 1;
  rc.pt = R.o.pt;
  /* The adaptive target (common/rx/delay) with --latency auto, and drift
   * compensation (common/rx/drift: a resampler steered so that latency follows
   * the target) unless --no-resample. */
  rc.latency_auto = R.o.latency_ms == 0;
  rc.latency_quantile = R.o.latency_quantile;
  rc.min_latency_ns = (int64_t)R.o.min_latency_ms * 1000000;
  rc.resample = !R.o.no_resample;
  r = rxpipe_create(&R.rx, &rc);
  if (r < 0) {
    error("cannot set up the playout pipeline: %s", strerror(-r));
    sink_close(R.sink);
    return EXIT_RUNTIME;
  }
  verbose("target latency %d ms (%s), max %d ms, concealment %s", start_latency_ms(&R.o),
          R.o.latency_ms == 0 ? "auto" : "fixed", R.o.max_latency_ms,
          R.o.conceal_silence ? "silence" : "plc");
  r = ring_create(&R.ring, DL_RING_SLOTS, DL_RING_SLOT_BYTES);
  if (r < 0) {
    error("cannot allocate the packet ring: %s", strerror(-r));
    sink_close(R.sink);
    return EXIT_RUNTIME;
  }

  uv_async_init(R.loop, &R.failed_async, failed_cb);
  R.pb.ring = R.ring;
  R.pb.rx = R.rx;
  R.pb.sink = R.sink;
  R.pb.period = sink_period(R.sink);
  R.pb.channels = 1;
  R.pb.pcm = calloc((size_t)R.pb.period * 1, sizeof *R.pb.pcm);
  R.pb.failed_async = &R.failed_async;
  R.pb.trace = R.trace;
  if (R.o.stall_ms > 0) {
    R.pb.stall_at_ns = R.start_ns + (int64_t)(R.o.stall_at_s * 1e9);
    R.pb.stall_ns = (int64_t)(R.o.stall_ms * 1e6);
  }
  if (R.pb.pcm == NULL || (r = playback_start(&R.pb)) < 0) {
    error("cannot start the playback thread: %s", strerror(R.pb.pcm == NULL ? ENOMEM : -r));
    sink_close(R.sink);
    return EXIT_RUNTIME;
  }
  verbose("playback thread: %s", R.pb.sched_note);

  uv_signal_init(R.loop, &R.sig_int);
  uv_signal_start(&R.sig_int, signal_cb, SIGINT);
  uv_signal_init(R.loop, &R.sig_term);
  uv_signal_start(&R.sig_term, signal_cb, SIGTERM);
  uv_signal_init(R.loop, &R.sig_hup);
  uv_signal_start(&R.sig_hup, signal_cb, SIGHUP);
  if (R.stats != NULL) {
    uv_timer_init(R.loop, &R.stats_timer);
    uv_timer_start(&R.stats_timer, stats_cb, (uint64_t)R.o.stats_interval_ms,
                   (uint64_t)R.o.stats_interval_ms);
  }
  if (!R.o.quiet && !R.stats_is_stderr && isatty(STDERR_FILENO)) {
    uv_timer_init(R.loop, &R.status_timer);
    uv_timer_start(&R.status_timer, status_cb, DL_STATUS_INTERVAL_MS, DL_STATUS_INTERVAL_MS);
  }
  if (R.o.duration_s > 0) {
    uv_timer_init(R.loop, &R.duration_timer);
    uv_timer_start(&R.duration_timer, duration_cb, (uint64_t)llround(R.o.duration_s * 1000), 0);
  }
  if (R.trace != NULL) {
    uv_timer_init(R.loop, &R.trace_timer);
    uv_timer_start(&R.trace_timer, trace_cb, DL_TRACE_DRAIN_MS, DL_TRACE_DRAIN_MS);
  }
  if (R.o.idle_exit_s > 0) {
    uv_timer_init(R.loop, &R.idle_timer);
    uv_timer_start(&R.idle_timer, idle_cb, DL_IDLE_CHECK_MS, DL_IDLE_CHECK_MS);
  }

  uv_run(R.loop, UV_RUN_DEFAULT);

  uv_loop_close(R.loop);
  /* The playback thread has stopped: the rest of the trace, then the file. */
  if (R.trace != NULL) {
    char msg[512];
    r = trace_close(R.trace, msg, sizeof msg);
    R.trace = NULL;
    if (msg[0] != '\0')
      error("%s", msg);
    if (r < 0 && R.exit_code == 0)
      R.exit_code = EXIT_RUNTIME;
  }
  rxpipe_destroy(R.rx);
  ring_destroy(R.ring);
  free(R.pb.pcm);
  if (R.stats != NULL && !R.stats_is_stderr && fclose(R.stats) != 0) {
    error("--stats %s: %s", R.o.stats_path, strerror(errno));
    if (R.exit_code == 0)
      R.exit_code = EXIT_RUNTIME;
  }
  return R.exit_code;
}
