/* receiver --trace FILE: one tab-separated line per packet, for latency
 * measurements (scripts/bench, tests/integration/receiver_trace.sh).
 *
 * The playback thread knows when a packet is heard, but must not write
 * files or allocate: it pushes fixed-size records into a lock-free SPSC
 * ring (common/util/ring), and the loop thread drains the ring into the file
 * (on a timer and once at exit). A full ring drops the record and counts
 * it; the loop thread says so once.
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
 *   dup     a duplicate: dropped, play_ns 0 */
#ifndef DL_TRACE_H
#define DL_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum trace_kind { TRACE_PACKET, TRACE_FEC, TRACE_LATE, TRACE_DUP };

struct trace_rec {
  int64_t arrival_ns;
  int64_t play_ns;
  uint32_t ts;
  uint16_t seq;
  uint8_t kind;     /* enum trace_kind */
};

struct trace;

/* Main thread, before the playback thread starts: creates (truncates) path,
 * writes the header line and allocates a ring of `slots` records (a power
 * of two). Returns 0, or a negative errno with err worded. */
int trace_open(struct trace **out, const char *path, unsigned slots, char *err, size_t errcap);

/* Playback thread only (the single producer): queues one record. Never
 * waits, never allocates; a full ring counts the record as dropped. */
void trace_push(struct trace *t, const struct trace_rec *r);

/* Loop thread only (the single consumer): writes every queued record.
 * Returns 1 with msg set when there is something to say, once each: the
 * first dropped records, a write error (after which records are discarded);
 * else 0. */
int trace_drain(struct trace *t, char *msg, size_t cap);

/* Any thread: records dropped so far (the ring was full). */
uint64_t trace_dropped(const struct trace *t);

/* Loop thread, once the playback thread has stopped: drains what is left,
 * closes the file and frees t (NULL accepted). msg: what trace_drain would
 * say, or a close error, or "" when nothing is left to say. Returns 0, or
 * a negative errno when the file is incomplete for a write or close error
 * (dropped records, which are reported, do not count as an error). */
int trace_close(struct trace *t, char *msg, size_t cap);

#endif /* DL_TRACE_H */
