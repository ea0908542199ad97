/* The playback thread (see playback.h). One period per iteration:
 *
 *   sink_wait   -> room for a period; play_ns = when its first frame is heard
 *   drain ring  -> rxpipe_put(packet) for every record the loop thread queued
 *   rxpipe_read -> one period of PCM for play_ns (packet, FEC, PLC, silence)
 *   sink_write
 *
 * Draining after the wait hands the engine every packet that arrived up to
 * the moment it decides, which is what keeps the target latency honest.
 *
 * With --trace, each packet played, recovered by FEC or dropped (late,
 * duplicate) becomes a fixed-size record pushed into the trace's ring
 * (trace.h): no file I/O and no allocation here. */
#include "playback.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "defaults.h"
#include "shell/clock.h"
#include "shell/notify.h"
#include "wire/rtp.h"

/* Playback thread. blocking: at exit, where a stale copy would be wrong;
 * otherwise a busy lock means "next time". */
static void publish(struct playback *p, int blocking)
{
  if (blocking)
    pthread_mutex_lock(&p->snap_lock);
  else if (pthread_mutex_trylock(&p->snap_lock) != 0)
    return;
  rxpipe_get_stats(p->rx, &p->snap.rx);
  p->snap.underruns = sink_underruns(p->sink);
  p->snap.sink_frames = sink_frames(p->sink);
  p->snap.taken_ns = clock_mono_ns();
  pthread_mutex_unlock(&p->snap_lock);
}

static void fail(struct playback *p, const char *what)
{
  snprintf(p->error, sizeof p->error, "%s", what);
  atomic_store(&p->failed, 1);
  if (p->failed_async != NULL)
    uv_async_send(p->failed_async);
}

/* Playback thread (rxpipe_read's frame callback): a played or
 * FEC-recovered packet goes to the trace. PLC and silence are no packet. */
static void trace_frame_cb(void *arg, const struct rxpipe_frame_info *fi)
{
  struct playback *p = arg;
  struct trace_rec r;

  memset(&r, 0, sizeof r);
  if (fi->kind == PLAYOUT_PACKET) {
    r.kind = TRACE_PACKET;
    r.seq = fi->seq;
    r.arrival_ns = fi->arrival_ns;
  } else if (fi->kind == PLAYOUT_FEC) {
    /* fi->seq is the packet that carried the FEC; the frame stands in for
     * the one just before it, which never arrived. */
    r.kind = TRACE_FEC;
    r.seq = (uint16_t)(fi->seq - 1);
  } else {
    return;
  }
  r.ts = fi->ts;
  r.play_ns = fi->heard_ns;
  trace_push(p->trace, &r);
}

/* Playback thread: a packet rxpipe_put dropped (late, duplicate) goes to
 * the trace, never heard. */
static void trace_dropped_packet(struct playback *p, const struct rtp_packet *pkt, int result)
{
  struct trace_rec r;

  memset(&r, 0, sizeof r);
  r.kind = result == PLAYOUT_DUPLICATE ? TRACE_DUP : TRACE_LATE;
  r.seq = pkt->seq;
  r.ts = pkt->ts;
  r.arrival_ns = pkt->arrival_ns;
  trace_push(p->trace, &r);
}

/* Every record the loop thread queued, into the pipeline (parsed there,
 * once: rtp_packet_load only points at the slot's payload). */
static void drain_ring(struct playback *p)
{
  struct rtp_packet pkt;
  const uint8_t *d;
  size_t len;
  int64_t arrival;
  int r;

  while ((d = ring_peek(p->ring, &len, &arrival)) != NULL) {
    struct playback_end m;
    struct playback_sync sy;
    if (len == sizeof m) {
      memcpy(&m, d, sizeof m);   /* the sender's BYE, behind its last packets */
      if (m.magic == PLAYBACK_END_MAGIC)
        rxpipe_end(p->rx, m.ssrc, m.have_end_ts, m.end_ts);
    } else if (len == sizeof sy) {
      memcpy(&sy, d, sizeof sy);   /* --sync: a new estimate of the sender's clock */
      if (sy.magic == PLAYBACK_SYNC_MAGIC) {
        struct sync_map map = {.valid = sy.valid, .ssrc = sy.ssrc, .ts = sy.ts, .play_ns = sy.play_ns,
                               .ns_per_tick = sy.ns_per_tick};
        rxpipe_set_sync(p->rx, &map);
      }
    } else if (rtp_packet_load(d, len, &pkt) == 0) {
      r = rxpipe_put(p->rx, &pkt);
      /* A full playout queue drops the packet as late (and counts it so). */
      if (p->trace != NULL && (r == PLAYOUT_LATE || r == PLAYOUT_DUPLICATE || r == PLAYOUT_FULL))
        trace_dropped_packet(p, &pkt, r);
    }
    ring_pop(p->ring);
  }
}

static void *playback_main(void *arg)
{
  struct playback *p = arg;
  int64_t play_ns, now, next_publish = 0;
  uint64_t underruns = 0;
  int r;

  while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
    r = sink_wait(p->sink, &play_ns);
    if (r == -ETIMEDOUT)
      continue;
    if (r < 0) {
      fail(p, sink_strerror(p->sink));
      break;
    }
    if (p->stall_at_ns > 0 && play_ns >= p->stall_at_ns) {
      /* --stall-at: a deliberate stall, so that tests can force an
       * underrun and see it recovered and counted. */
      struct timespec ts = {.tv_sec = p->stall_ns / 1000000000, .tv_nsec = p->stall_ns % 1000000000};
      p->stall_at_ns = 0;
      nanosleep(&ts, NULL);
      continue;
    }
    if (p->trace != NULL && p->trace_start) {
      /* Where the sink's frame 0 lands on the clocks (trace.h "start"). */
      struct trace_rec tr = {.kind = TRACE_START, .play_ns = play_ns,
                             .arrival_ns = clock_real_ns() + p->wallclock_offset_ns};
      trace_push(p->trace, &tr);
      p->trace_start = 0;
    }
    if (sink_underruns(p->sink) != underruns) {
      underruns = sink_underruns(p->sink);
      rxpipe_sink_gap(p->rx);
    }
    drain_ring(p);
    now = clock_mono_ns();
    rxpipe_set_sink_queue(p->rx, now, play_ns - now);
    rxpipe_set_transit(p->rx, atomic_load_explicit(&p->transit_ns, memory_order_relaxed));
    rxpipe_read(p->rx, play_ns, p->pcm, p->period);
    if (rxpipe_take_ended(p->rx)) {
      atomic_fetch_add(&p->ended, 1);
      if (p->ended_async != NULL)
        uv_async_send(p->ended_async);
    }
    if (sink_write(p->sink, p->pcm, p->period) < 0) {
      fail(p, sink_strerror(p->sink));
      break;
    }
    notify_watchdog();
    if (play_ns >= next_publish) {
      publish(p, 0);
      next_publish = play_ns + (int64_t)DL_SNAPSHOT_MS * 1000000;
    }
  }
  publish(p, 1);
  return NULL;
}

int playback_start(struct playback *p)
{
  pthread_attr_t attr;
  struct sched_param sp;
  int r;

  atomic_init(&p->stop, 0);
  atomic_init(&p->failed, 0);
  atomic_init(&p->ended, 0);
  memset(&p->snap, 0, sizeof p->snap);
  r = pthread_mutex_init(&p->snap_lock, NULL);
  if (r != 0)
    return -r;
  if (p->trace != NULL)
    rxpipe_set_frame_cb(p->rx, trace_frame_cb, p);

  /* SCHED_FIFO where permitted (root, or an rtprio limit); else the normal
   * scheduler, and -v says so. */
  pthread_attr_init(&attr);
  memset(&sp, 0, sizeof sp);
  sp.sched_priority = DL_PLAYBACK_RT_PRIORITY;
  if (sp.sched_priority > sched_get_priority_max(SCHED_FIFO))
    sp.sched_priority = sched_get_priority_max(SCHED_FIFO);
  pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
  pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
  pthread_attr_setschedparam(&attr, &sp);
  r = pthread_create(&p->thread, &attr, playback_main, p);
  pthread_attr_destroy(&attr);
  if (r == 0) {
    p->realtime = 1;
    snprintf(p->sched_note, sizeof p->sched_note, "SCHED_FIFO priority %d", sp.sched_priority);
  } else {
    int why = r;
    r = pthread_create(&p->thread, NULL, playback_main, p);
    if (r != 0) {
      pthread_mutex_destroy(&p->snap_lock);
      rxpipe_set_frame_cb(p->rx, NULL, NULL);
      return -r;
    }
    p->realtime = 0;
    snprintf(p->sched_note, sizeof p->sched_note, "SCHED_OTHER (SCHED_FIFO refused: %s)", strerror(why));
  }
  p->running = 1;
  return 0;
}

void playback_stop(struct playback *p)
{
  if (!p->running)
    return;
  atomic_store_explicit(&p->stop, 1, memory_order_release);
  pthread_join(p->thread, NULL);
  p->running = 0;
  /* The trace may be closed from here on. */
  if (p->trace != NULL)
    rxpipe_set_frame_cb(p->rx, NULL, NULL);
}

void playback_snapshot(struct playback *p, struct playback_snapshot *out)
{
  pthread_mutex_lock(&p->snap_lock);
  *out = p->snap;
  pthread_mutex_unlock(&p->snap_lock);
}
