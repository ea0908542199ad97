/* receiver --trace FILE: one tab-separated line per packet, for latency
 * measurements (scripts/bench, tests/integration/receiver_trace.sh).
 *
 * The playback thread knows when a packet is heard, but must not write
 * files or allocate: it pushes fixed-size records into a lock-free SPSC
 * ring (common/util/ring), and the loop thread drains the ring into lines
 * for the line writer (shell/linew, whose thread writes the file), on a
 * timer and once at exit. A full ring drops the record and counts it; the
 * loop thread says so once.
 *
 * File: a header line, then one line per record:
 *   seq  ts  arrival_ns  play_ns  kind
 * seq, ts: the packet's RTP sequence number and timestamp. arrival_ns: when
 * it came off the socket; play_ns: when its first sample reaches the sink
 * (the WAV sink's block deadline, ALSA's write time plus snd_pcm_delay);
 * both CLOCK_MONOTONIC ns. kind:
 *   packet  played
 *   fec     not received; recovered from the next packet's in-band FEC
 *           (seq is the recovered one's, arrival_ns 0)
 *   late    arrived after its play time (or with the queue full): dropped,
 *           play_ns 0
 *   dup     a duplicate: dropped, play_ns 0
 *   start   (with --sync) the sink's first frame: play_ns is when it is
 *           heard, arrival_ns our wall clock (CLOCK_REALTIME with
 *           --wallclock-offset-ms, ns since 1970) read then; seq, ts 0.
 *           With the WAV sink's known rate this maps every sample of the
 *           file onto the clock */
#ifndef DL_TRACE_H
#define DL_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct linew;

enum trace_kind { TRACE_PACKET, TRACE_FEC, TRACE_LATE, TRACE_DUP, TRACE_START };

struct trace_rec {
  int64_t arrival_ns;
  int64_t play_ns;
  uint32_t ts;
  uint16_t seq;
  uint8_t kind;     /* enum trace_kind */
};

struct trace;

/* Main thread, before the playback thread starts: allocates a ring of
 * `slots` records (a power of two) and puts the header line into stream
 * `id` of w (which the caller opened as "--trace PATH"; path is kept for
 * messages, not copied). Returns 0 or a negative errno. */
int trace_open(struct trace **out, unsigned slots, struct linew *w, int id, const char *path);

/* Playback thread only (the single producer): queues one record. Never
 * waits, never allocates; a full ring counts the record as dropped. */
void trace_push(struct trace *t, const struct trace_rec *r);

/* Loop thread only (the single consumer): turns every queued record into a
 * line for the writer; wait: rather wait for the writer's room than drop a
 * line (at exit, once nothing is paced). Returns 1 with msg set the first
 * time records were dropped (the ring was full), else 0. */
int trace_drain(struct trace *t, int wait, char *msg, size_t cap);

/* Any thread: records dropped so far (the ring was full). */
uint64_t trace_dropped(const struct trace *t);

/* Frees t (NULL accepted); the caller drained it last. */
void trace_close(struct trace *t);

#endif /* DL_TRACE_H */
