/* The receiver's playback thread: it owns the rxpipe (playout queue,
 * concealment, decoder), the sink and a PCM buffer, all made before it
 * starts. Each sink period it drains the ring filled by the loop thread into
 * the rxpipe, asks the sink when the next frame will be heard, pulls one
 * period of audio and writes it. It never allocates, never waits for the
 * loop thread (its counters go out through a trylock'd copy, its --trace
 * records through a lock-free ring), and runs SCHED_FIFO where permitted. */
#ifndef DL_PLAYBACK_H
#define DL_PLAYBACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "rx/rxpipe.h"
#include "sink.h"
#include "trace.h"
#include "util/ring.h"

/* An end-of-stream marker in the ring (net_push_end: the sender's RTCP
 * BYE), behind the stream's last packets: a record of exactly this size,
 * which no packet record is (rtp_packet_store writes a struct rtp_packet
 * and its payload). */
#define PLAYBACK_END_MAGIC 0x42594521u
struct playback_end {
  uint32_t magic;
  uint32_t ssrc;
  uint32_t end_ts;            /* the RTP timestamp of the SR sent with the BYE */
  int32_t have_end_ts;
};

/* A --sync map (rx/sync) in the ring (net_push_sync), ahead of the packets
 * it applies to: a record of exactly this size, which neither an end
 * marker nor a packet record is. */
#define PLAYBACK_SYNC_MAGIC 0x53594e43u
struct playback_sync {
  uint32_t magic;
  uint32_t ssrc;
  uint32_t ts;
  int32_t valid;
  int64_t play_ns;
  double ns_per_tick;
};
_Static_assert(sizeof(struct playback_sync) != sizeof(struct playback_end) &&
                   sizeof(struct playback_sync) < sizeof(struct rtp_packet) + 1,
               "ring records are told apart by their size");

/* What the loop thread may read of the playback thread's state. */
struct playback_snapshot {
  struct rxpipe_stats rx;
  uint64_t underruns;
  uint64_t sink_frames;       /* frames written to the sink */
  int64_t taken_ns;           /* CLOCK_MONOTONIC when copied; 0: none yet */
};

struct playback {
  /* Set up by the main thread before playback_start, then owned by the
   * playback thread until playback_stop returns. */
  struct ring *ring;
  struct rxpipe *rx;
  struct sink *sink;
  int16_t *pcm;               /* one period */
  int period;                 /* frames */
  int channels;
  uv_async_t *failed_async;   /* woken (uv_async_send) when the thread fails */
  struct trace *trace;        /* --trace: one record per packet; NULL: none */
  int64_t stall_at_ns;        /* --stall-at (testing): stall once at this CLOCK_MONOTONIC time; 0: never */
  int64_t stall_ns;           /* ...for this long, to force a sink underrun */

  /* Shared. */
  atomic_llong transit_ns;    /* loop -> playback: the network's one-way transit (RTCP), for
                                 the E-model; read before each pull */
  atomic_uint ended;          /* playback -> loop: streams ended at their BYE */
  uv_async_t *ended_async;    /* woken when one did; NULL: not */
  atomic_int stop;            /* loop -> playback: finish */
  atomic_int failed;          /* playback -> loop: 1 after a fatal sink error */
  char error[256];            /* written before `failed` is set */
  pthread_mutex_t snap_lock;  /* the playback thread only ever trylocks it */
  struct playback_snapshot snap;

  pthread_t thread;
  int running;
  int realtime;               /* 1: SCHED_FIFO */
  char sched_note[128];       /* for -v */
  int trace_start;            /* --sync: the trace gets a start line at the first frame */
  int64_t wallclock_offset_ns;   /* --wallclock-offset-ms, for that line */
};

/* Main thread. p's set-up fields filled; allocates nothing the thread
 * needs later. Returns 0 or a negative errno. */
int playback_start(struct playback *p);

/* Loop thread: asks the thread to finish, joins it. After it, the rxpipe
 * and the sink are the caller's again. Safe to call twice. */
void playback_stop(struct playback *p);

/* Loop thread: the latest published counters. */
void playback_snapshot(struct playback *p, struct playback_snapshot *out);

#endif /* DL_PLAYBACK_H */
