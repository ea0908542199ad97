/* The playout engine: a timestamp-indexed queue of received Opus packets and
 * the decision, frame by frame, of what the sink plays next.
 *
 * A state machine driven by explicit times (CLOCK_MONOTONIC ns, given by the
 * caller): no threads, no clock reads, no allocation after playout_create,
 * no decoding. The receiver's playback thread and the simulator run this same
 * code. One thread at a time (the playback thread in the receiver).
 *
 * Time: the engine keeps a cursor, the RTP timestamp of the next sample to
 * play. The first packet (arrival A, timestamp ts0) arms it: the sink gets
 * silence until A + target, then the cursor starts at ts0 and advances by
 * the samples of each frame returned. A packet that arrives when the cursor
 * has passed its last sample is late: discarded and counted. A packet that
 * the cursor has partly passed (a GStreamer stream's first step is 648, not
 * 960) is played with its head skipped.
 *
 * Each playout_next returns one frame:
 *   PACKET   the packet at the cursor: opus_decode(data, len)
 *   FEC      the packet at the cursor is missing but the next one is here
 *            and follows it directly: opus_decode(data, len, decode_fec=1)
 *            with frame_size = samples (data is the *next* packet, which is
 *            still queued and will be returned as PACKET after this)
 *   PLC      missing, no FEC possible: opus_decode(NULL, 0, samples)
 *   SILENCE  nothing to play yet, after DL_SILENCE_AFTER_MS of continuous
 *            loss, always with conceal_silence, and once the stream stopped
 * The caller discards the first `skip` decoded samples: the frame puts
 * samples - skip samples into the sink (all of them for SILENCE: skip 0).
 *
 * Resync (flush the queue, arm again at arrival + target, PLAYOUT_RESYNC on
 * the next frame, counted): at once on an SSRC change (the receiver filters
 * strangers before this); after two consecutive packets that do not fit the
 * stream (RFC 3550 A.1 probation: a sequence jump over 3000, a timestamp
 * that disagrees with the sequence number, or one further ahead of the
 * cursor than max_latency). A single such packet is PLAYOUT_INVALID and
 * counted in invalid. A packet that continues the newest one exactly (d
 * sequence numbers on, d times its duration later) is never such a jump,
 * however far ahead of the cursor: while the sink does not pull (a stall,
 * an underrun) the cursor stands still and the stream queues up ahead of
 * it. And after late_resync_ns of nothing but late arrivals (a sender that
 * resumed its old timeline); a short burst of stale packets (a released
 * backlog) is only dropped as late.
 *
 * Latency bound: a pull at which the packet at the cursor would be heard
 * more than max_latency after its arrival (the sink lost that much time, or
 * without resampling its clock ran slow that long) resyncs once onto the
 * newest queued packet: the backlog before it is dropped (received, never
 * played), the newest plays at its arrival + target. Below the bound the
 * stream keeps its mapping and the latency controller brings the latency
 * back by resampling (PLAYOUT_SINK_GAP tells it the step is not drift).
 */
#ifndef DL_PLAYOUT_H
#define DL_PLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "wire/rtp.h"

enum playout_kind { PLAYOUT_SILENCE, PLAYOUT_PACKET, PLAYOUT_FEC, PLAYOUT_PLC };

#define PLAYOUT_FADE_OUT 1u   /* fade this frame's output to zero (last PLC before silence) */
#define PLAYOUT_FADE_IN  2u   /* fade in from zero (first packet after silence) */
#define PLAYOUT_RESYNC   4u   /* the stream was resynced before this frame */
#define PLAYOUT_SINK_GAP 8u   /* this pull came DL_SINK_GAP_MS or more later than the
                                 last one plus what it returned, or the sink said it
                                 lost time (playout_sink_gap): a stall, an underrun,
                                 so the latency stepped up by that much; not drift
                                 (the controller restarts) */

struct playout_frame {
  enum playout_kind kind;
  const uint8_t *data;    /* PACKET, FEC: valid until the next playout_* call */
  size_t len;
  int samples;            /* 48 kHz samples to decode (or of silence) */
  int skip;               /* leading decoded samples to discard */
  unsigned flags;
  uint32_t ts;            /* RTP timestamp of the first output sample */
  uint16_t seq;           /* PACKET, FEC: the packet's (FEC: the next packet's) */
  int64_t arrival_ns;     /* PACKET: when it arrived */
};

/* Results of playout_put. */
enum playout_put_result {
  PLAYOUT_QUEUED = 0,
  PLAYOUT_LATE = 1,        /* its play time had passed: dropped */
  PLAYOUT_DUPLICATE = 2,   /* seen before: dropped */
  PLAYOUT_FULL = 3,        /* no slot free: dropped (counted as late) */
  PLAYOUT_HELD = 4,        /* another stream's, while this one ends at its BYE: held
                              (copied), put once it has ended (counted then) */
  PLAYOUT_INVALID = -1     /* does not fit the stream (a jump on probation): dropped */
};

struct playout_config {
  int64_t target_ns;        /* target latency, arrival to sink */
  int64_t max_latency_ns;   /* a packet further ahead than this resyncs */
  int64_t silence_after_ns; /* continuous loss before silence (DL_SILENCE_AFTER_MS) */
  int64_t late_resync_ns;   /* only-late arrivals for this long resync (DL_LATE_RESYNC_MS) */
  int conceal_silence;      /* 1: silence instead of PLC (FEC still used) */
  int slots;                /* queue capacity in packets (DL_PLAYOUT_SLOTS) */
};

/* Counts since start; frames are counted per returned frame.
 *
 * PLC frames: the engine cannot tell a loss from the end of a stream when
 * it conceals, so the PLC frames since the last PACKET/FEC frame are held
 * as pending and counted only once it can:
 *   - a later PACKET or FEC frame of the same sync is returned (the stream
 *     resumed): all pending frames go to concealed;
 *   - a resync or a new stream (see above): they go to concealed if the
 *     packet after the last one played is inside the old stream's sequence
 *     range (the sender went on past it) and was never received (late or
 *     duplicate arrivals count as received); else to tail_concealed;
 *   - while the stream has gone to silence (silence_after_ns of continuous
 *     loss reached, PLAYOUT_FADE_OUT returned) and nothing resumed it,
 *     playout_get_stats reports them in tail_concealed (the sender stopped:
 *     reported, not a loss). This is provisional: should the same stream
 *     resume later, they move to concealed (tail_concealed goes down by
 *     that many, the only count that can).
 * Pending frames before silence (under silence_after_ns of loss) are in
 * neither count yet. The SILENCE frames of a gap follow the same rule:
 * silence when they stood in for lost audio, tail_silence when they came
 * after the stream's end (provisionally while it has gone to silence and
 * nothing resumed it; --conceal silence's frames in a gap shorter than
 * silence_after_ns count as silence meanwhile). So on a clean path that
 * ends, concealed and silence are 0, tail_concealed is the
 * silence_after_ns of PLC (5 frames of 20 ms by default) and tail_silence
 * what the sink pulled after it. */
struct playout_stats {
  uint64_t received;       /* packets accepted into the queue */
  uint64_t late;           /* packets dropped because their time had passed (or queue full) */
  uint64_t duplicate;
  uint64_t reordered;      /* arrived with a lower sequence number than one before */
  uint64_t invalid;        /* packets that did not fit the stream (probation, above) */
  uint64_t resyncs;        /* SSRC changes and timestamp jumps */
  uint64_t expected;       /* packets expected (RFC 3550 A.3, over all syncs) */
  uint64_t lost;           /* expected - received - late - duplicate..., never negative */
  uint64_t played;         /* PACKET frames */
  uint64_t fec_recovered;  /* FEC frames */
  uint64_t concealed;      /* PLC frames that stood in for lost audio (committed, see above) */
  uint64_t tail_concealed; /* PLC frames after the stream's last packet (it stopped) */
  uint64_t silence;        /* SILENCE frames that stood in for lost audio (above) */
  uint64_t tail_silence;   /* SILENCE frames after the stream's last packet (it stopped) */
  uint64_t samples_out;    /* samples returned to the sink (after skip), all kinds */
};

/* Stream events: this engine is their one owner. Each is told once, in
 * the caller's thread, from inside the playout_put or playout_next that
 * caused it, before that call returns (so a CONCEALED event comes before
 * the PACKET or FEC frame that resumed the stream).
 *   RESYNC     the stream was armed anew (counted in resyncs); the next
 *              frame carries PLAYOUT_RESYNC. new_timeline: the sender's
 *              timeline changed (a new SSRC, a confirmed jump, a run of late
 *              packets), so what was learnt of its arrivals no longer holds;
 *              0: only this receiver's mapping moved (the latency bound),
 *              the sender's timestamps still mean what they meant.
 *   CONCEALED  the concealment since the last PACKET/FEC frame (plc_frames
 *              PLC frames and then silence_samples of silence) stood in for
 *              lost audio: the stream resumed, or a resync found the packet
 *              after the last one played missing (see playout_stats).
 *   TAIL       it came after the stream's last packet: the sender stopped.
 * PLC and silence that nothing has settled yet are in neither. */
enum playout_event_kind { PLAYOUT_EV_RESYNC, PLAYOUT_EV_CONCEALED, PLAYOUT_EV_TAIL };

struct playout_event {
  enum playout_event_kind kind;
  int new_timeline;          /* RESYNC */
  uint64_t plc_frames;       /* CONCEALED, TAIL */
  int64_t silence_samples;   /* CONCEALED, TAIL: 48 kHz samples */
};

typedef void (*playout_event_cb)(void *arg, const struct playout_event *ev);

struct playout;   /* opaque; sized by playout_create */

/* Allocates the engine and its slots. Returns 0 or -ENOMEM/-EINVAL. */
int playout_create(struct playout **out, const struct playout_config *cfg);
void playout_destroy(struct playout *p);   /* accepts NULL */

/* Where stream events go (NULL: nowhere). Set before the first put. */
void playout_set_event_cb(struct playout *p, playout_event_cb cb, void *arg);

/* Files one received packet, parsed once by rtp_packet_parse (its payload
 * is copied; its arrival_ns is when it came off the network). A record
 * that could not have come from rtp_packet_parse is PLAYOUT_INVALID. */
enum playout_put_result playout_put(struct playout *p, const struct rtp_packet *pkt);

/* The next frame to play. now_ns: when its first sample will be heard (the
 * caller adds what the sink still holds). max_samples bounds the frame
 * (>= DL_MAX_PACKET_SAMPLES lets any packet through whole; smaller values
 * split only SILENCE). Returns samples that reach the sink (samples - skip). */
int playout_next(struct playout *p, int64_t now_ns, int max_samples, struct playout_frame *out);

/* The sink lost time that the pulls' timing may not show (an underrun
 * shorter than DL_SINK_GAP_MS, which the device reported): the next frame
 * of a started stream carries PLAYOUT_SINK_GAP. */
void playout_sink_gap(struct playout *p);

/* The sender said BYE for ssrc (RTCP, RFC 3550 6.6): the stream ends once
 * what it sent is played. end_ts (if have_end_ts: the RTP timestamp of the
 * SR sent with the BYE, the sender's "now") says where its audio ends;
 * without it, or when it is not after the newest packet, the end is the
 * newest packet's; it is taken at most DL_BYE_TAIL_MS past that (a peer's
 * SR may map its clock loosely). Packets still arriving are played if in
 * time. At the first pull whose cursor has reached the end with nothing
 * queued there, the stream ends: concealment since the last packet stood
 * in for audio the sender sent (committed as concealed), nothing after it
 * is counted (no tail_concealed, no tail_silence: the engine is unarmed,
 * as before the first packet), and a stray packet of that SSRC from before
 * the end (within DL_BYE_STRAY_MS of it, in time and on its timeline) is
 * late. The next packet, of any SSRC, starts a new stream at
 * once (a RESYNC event with new_timeline, counted in resyncs as a
 * restart's is); one that comes while the ending stream still plays is
 * held (PLAYOUT_HELD, up to DL_PLAYOUT_HELD_SLOTS packets; more cut the
 * ending stream short) and put when it has ended. Ignored for another
 * SSRC than the stream's, or with no stream.
 * Returns 1 if the stream will end, else 0. */
int playout_end(struct playout *p, uint32_t ssrc, int have_end_ts, uint32_t end_ts);

/* Whether a stream ended at its BYE since the last call (cleared by it). */
int playout_take_ended(struct playout *p);

/* A route change of `back` samples made these n packets late (they were
 * dropped as late, the cursor has passed them): the timeline moves back
 * once, by back or to the earliest of them if that is nearer, and those
 * after the new cursor are queued after all (the first maybe with its head
 * skipped), so that the stream goes on that much later with as little of
 * it lost as the step allows; what was concealed meanwhile stays concealed
 * (counted when the stream resumes). They leave `late` for `received`.
 * Only packets of this stream, behind the cursor by at most max_latency;
 * returns the samples the timeline moved (0: nothing done). Only a started
 * stream. */
int playout_rewind(struct playout *p, const struct rtp_packet *pkts, int n, int back);

/* Target latency may change at any time (the latency controller). It sets
 * where the next stream (or resync) arms: a running stream keeps its
 * mapping, so a change never drops or repeats audio. Moving a running
 * stream to the new target is the drift resampler's job (play slightly
 * faster or slower until the latency matches, common/rx/rxpipe). */
void playout_set_target(struct playout *p, int64_t target_ns);
int64_t playout_target(const struct playout *p);

/* Whether a stream is playing (armed and started), and the cursor. */
int playout_started(const struct playout *p);
uint32_t playout_cursor(const struct playout *p);

/* Queue depth: the span from the cursor to the end of the newest queued
 * packet, in 48 kHz samples (0 when empty or not started). */
int playout_depth(const struct playout *p);

void playout_get_stats(const struct playout *p, struct playout_stats *out);

#endif /* DL_PLAYOUT_H */
