/* The playout engine (see playout.h for the model).
 *
 * Design. The queue is a fixed array of slots, each big enough for the
 * largest payload we accept; a packet is found by a linear scan over the
 * slots (a few hundred at most, a few times per frame: cheaper than keeping
 * an ordered structure right under reordering and wrap-around). Everything
 * is allocated in playout_create.
 *
 * The cursor is the RTP timestamp of the next sample the sink gets. Before a
 * stream is started the cursor is its first timestamp and start_ns the time
 * it is due (arrival of the first packet + target); after that the cursor
 * only moves by the samples of the frames returned, so the sink's own clock
 * paces the stream and a packet is late exactly when the cursor has passed
 * its last sample.
 *
 * Target changes: playout_set_target only changes where the next stream
 * (or resync) arms. Moving the mapping of a running stream is the job of
 * the drift resampler (it plays slightly faster or slower until the queue
 * depth matches the new target); nothing here drops or repeats audio for it.
 *
 * Counts follow RFC 3550 A.3 per sync (base and extended highest sequence
 * number of the current SSRC); a resync closes the current sync into
 * running totals so that expected and lost never go backwards or negative.
 */
#include "rx/playout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"

/* Opus decodes concealment (PLC, and the PLC part of FEC) only in multiples
 * of 2.5 ms. */
#define GRAIN (DL_RATE / 400)
/* Silence (not armed) comes in chunks of the default frame. */
#define CHUNK (DL_RATE / 1000 * (DL_DEFAULT_FRAME_US / 1000))
/* Sequence numbers remembered for duplicate detection. */
#define SEEN_BITS 1024
/* RFC 3550 A.1: a forward sequence jump this large needs confirmation. */
#define MAX_DROPOUT 3000
/* A pull this much later than the previous one plus what it returned: the
 * sink lost time (a stall, an underrun), flagged PLAYOUT_SINK_GAP. */
#define SINK_GAP_NS ((int64_t)DL_SINK_GAP_MS * 1000000)

struct slot {
  int used;
  uint16_t seq;
  uint32_t ts;
  int samples;
  size_t len;
  int64_t arrival_ns;
  uint8_t data[DL_MAX_PAYLOAD];
};

/* A packet of the next stream, held while the current one ends. */
struct held {
  struct rtp_packet pkt;
  uint8_t data[DL_MAX_PAYLOAD];
};

struct playout {
  struct playout_config cfg;
  struct slot *slots;
  int nslots;

  int armed;          /* a first packet was seen: ssrc, cursor, start_ns valid */
  int started;        /* start_ns has passed: the cursor runs */
  uint32_t ssrc;
  uint32_t cursor;
  int64_t start_ns;
  int64_t late_since_ns;  /* first arrival of the current run of late packets */
  int late_run;           /* late_since_ns is valid: nothing good since */

  /* RFC 3550 A.1 probation: a packet that does not fit the stream (its
   * sequence number or timestamp jumps) is dropped as invalid unless the
   * next one continues from it: then the stream really moved, resync. */
  int bad_valid;
  uint16_t bad_seq;       /* the sequence number that would confirm */
  uint32_t bad_ts;        /* the suspect packet's timestamp */

  int last_samples;       /* frame size of the last packet played: PLC size */
  uint16_t last_seq;      /* sequence number of the last packet played (this sync) */
  uint64_t pending;       /* PLC frames since the last PACKET/FEC, not yet counted */
  int64_t pending_silence; /* silence samples since then, in a started stream */
  uint64_t pending_silence_frames;   /* and its SILENCE frames, not yet counted */
  int loss_samples;       /* concealed samples since the last PACKET/FEC */
  int in_silence;         /* silence replaced audio: fade the next packet in */
  int resync_pending;     /* flag the next frame PLAYOUT_RESYNC */

  /* RFC 3550 A.3 for the current sync. */
  uint16_t max_seq;
  uint32_t max_ts;        /* timestamp of the packet with max_seq */
  int max_samples;        /* and its duration: where the next one starts */
  int64_t cycles;         /* count of wraps, times 65536 */
  int64_t base_seq;       /* extended; moves back for a reordered first packet */
  uint64_t seg_got;       /* received + late in this sync */
  uint64_t closed_expected, closed_lost;
  uint8_t seen[SEEN_BITS / 8];   /* seq % SEEN_BITS for seqs near max_seq */

  /* The sink's pulls: when the next one is due if the sink loses no time. */
  int pulled;
  int64_t next_pull_ns;
  int gap_reported;       /* playout_sink_gap since the last pull */

  /* The sender's BYE (playout_end): the stream ends at end_ts, or at the
   * newest packet's end if later; then ended_ssrc's stragglers before
   * ended_ts are late, and the next stream arms without counting. */
  int ending;
  uint32_t end_ts;
  int ended_valid, ended_flag, after_end;
  uint32_t ended_ssrc, ended_ts;
  int64_t ended_ns, pull_ns;  /* when it ended; the last pull's time */
  struct held *held;      /* the next stream's first packets, while one ends */
  int nheld;

  struct playout_stats st;
  playout_event_cb event_cb;
  void *event_arg;
};

static int64_t samples_to_ns(int64_t samples)
{
  return samples * 1000000000 / DL_RATE;
}

static int64_t ns_to_samples(int64_t ns)
{
  return ns * DL_RATE / 1000000000;
}

int playout_create(struct playout **out, const struct playout_config *cfg)
{
  struct playout *p;

  if (out == NULL || cfg == NULL || cfg->slots <= 0 || cfg->target_ns < 0 ||
      cfg->max_latency_ns <= 0 || cfg->silence_after_ns < 0 || cfg->late_resync_ns < 0)
    return -EINVAL;
  *out = NULL;
  p = calloc(1, sizeof *p);
  if (p == NULL)
    goto fail;
  p->cfg = *cfg;
  p->nslots = cfg->slots;
  p->slots = calloc((size_t)cfg->slots, sizeof *p->slots);
  p->held = calloc(DL_PLAYOUT_HELD_SLOTS, sizeof *p->held);
  if (p->slots == NULL || p->held == NULL)
    goto fail;
  p->last_samples = CHUNK;
  *out = p;
  return 0;
fail:
  playout_destroy(p);
  return -ENOMEM;
}

void playout_destroy(struct playout *p)
{
  if (p == NULL)
    return;
  free(p->slots);
  free(p->held);
  free(p);
}

static void seen_set(struct playout *p, uint16_t seq)
{
  p->seen[(seq % SEEN_BITS) / 8] |= (uint8_t)(1u << (seq % 8));
}

static int seen_get(const struct playout *p, uint16_t seq)
{
  return (p->seen[(seq % SEEN_BITS) / 8] >> (seq % 8)) & 1;
}

static uint64_t seg_expected(const struct playout *p)
{
  if (!p->armed)
    return 0;
  return (uint64_t)(p->cycles + p->max_seq - p->base_seq + 1);
}

static uint64_t seg_lost(const struct playout *p)
{
  uint64_t e = seg_expected(p);
  return e > p->seg_got ? e - p->seg_got : 0;
}

/* Whether the packet after the last one played was never received: it is
 * inside the sequence range (the sender went on past it) and its bit is not
 * set. Beyond the duplicate window nothing is known of it; a sequence that
 * ran that far past the last packet played lost it by any measure. */
static int next_lost(const struct playout *p)
{
  uint16_t next = (uint16_t)(p->last_seq + 1);
  int d = rtp_seq_diff(p->max_seq, next);

  if (d < 0)
    return 0;   /* the sender sent nothing after it: the stream ended */
  if (d >= SEEN_BITS)
    return 1;
  return !seen_get(p, next);
}

static void emit(struct playout *p, const struct playout_event *ev)
{
  if (p->event_cb != NULL)
    p->event_cb(p->event_arg, ev);
}

/* Settles the pending concealment (PLC frames, and the silence after them)
 * since the last PACKET/FEC frame: concealed if it stood in for lost audio
 * of the stream, tail_concealed if the stream ended under it. The one place
 * that decides; the event tells the E-model. */
static void commit_pending(struct playout *p, int lost)
{
  struct playout_event ev = {
    .kind = lost ? PLAYOUT_EV_CONCEALED : PLAYOUT_EV_TAIL,
    .plc_frames = p->pending,
    .silence_samples = p->pending_silence,
  };

  if (lost) {
    p->st.concealed += p->pending;
    p->st.silence += p->pending_silence_frames;
  } else {
    p->st.tail_concealed += p->pending;
    p->st.tail_silence += p->pending_silence_frames;
  }
  p->pending = 0;
  p->pending_silence = 0;
  p->pending_silence_frames = 0;
  if (ev.plc_frames > 0 || ev.silence_samples > 0)
    emit(p, &ev);
}

/* Starts a new sync with this packet as its first: the queue is flushed and
 * the stream plays from arrival + target. new_timeline: the sender's
 * timeline changed (a new SSRC, a jump, a run of late packets), not only
 * where this receiver maps it (the latency bound). */
static void arm(struct playout *p, const struct rtp_packet *pkt, int new_timeline)
{
  int i;

  if (!p->armed && p->after_end) {
    /* The first stream after one that ended at its BYE: a new timeline,
     * counted as a restart's resync is (nothing was left to cut). */
    struct playout_event ev = {.kind = PLAYOUT_EV_RESYNC, .new_timeline = 1};
    p->after_end = 0;
    p->resync_pending = 1;
    p->st.resyncs++;
    emit(p, &ev);
  }
  p->ending = 0;
  p->ended_valid = 0;
  if (p->armed) {
    struct playout_event ev = {.kind = PLAYOUT_EV_RESYNC, .new_timeline = new_timeline};
    commit_pending(p, (p->pending > 0 || p->pending_silence > 0) && next_lost(p));
    p->closed_expected += seg_expected(p);
    p->closed_lost += seg_lost(p);
    p->resync_pending = 1;
    p->st.resyncs++;
    p->in_silence = 1;   /* the old stream was cut: fade the new one in */
    emit(p, &ev);
  }
  for (i = 0; i < p->nslots; i++)
    p->slots[i].used = 0;
  p->armed = 1;
  p->started = 0;
  p->ssrc = pkt->ssrc;
  p->cursor = pkt->ts;
  p->start_ns = pkt->arrival_ns + p->cfg.target_ns;
  p->late_run = 0;
  p->bad_valid = 0;
  p->loss_samples = 0;
  p->last_seq = (uint16_t)(pkt->seq - 1);   /* its "next" is this first packet */
  p->max_seq = pkt->seq;
  p->max_ts = pkt->ts;
  p->max_samples = pkt->samples;
  p->base_seq = pkt->seq;
  p->cycles = 0;
  p->seg_got = 0;
  memset(p->seen, 0, sizeof p->seen);
}

/* RFC 3550 A.3: extends the highest sequence number; clears the duplicate
 * bits of the sequence numbers that come into the window. */
static void seq_update(struct playout *p, uint16_t seq, uint32_t ts, int samples)
{
  int d = rtp_seq_diff(seq, p->max_seq);
  int k;

  if (d <= 0)
    return;
  if (d >= SEEN_BITS) {
    memset(p->seen, 0, sizeof p->seen);
  } else {
    for (k = 1; k <= d; k++) {
      uint16_t s = (uint16_t)(p->max_seq + k);
      p->seen[(s % SEEN_BITS) / 8] &= (uint8_t)~(1u << (s % 8));
    }
  }
  if (seq < p->max_seq)
    p->cycles += 65536;
  p->max_seq = seq;
  p->max_ts = ts;
  p->max_samples = samples;
}

static struct slot *free_slot(struct playout *p)
{
  int i;

  for (i = 0; i < p->nslots; i++)
    if (!p->slots[i].used)
      return &p->slots[i];
  return NULL;
}

static enum playout_put_result store(struct playout *p, const struct rtp_packet *pkt)
{
  struct slot *s = free_slot(p);

  if (s == NULL) {
    p->st.late++;
    return PLAYOUT_FULL;
  }
  s->used = 1;
  s->seq = pkt->seq;
  s->ts = pkt->ts;
  s->samples = pkt->samples;
  s->len = pkt->len;
  s->arrival_ns = pkt->arrival_ns;
  memcpy(s->data, pkt->payload, pkt->len);
  p->st.received++;
  p->late_run = 0;
  return PLAYOUT_QUEUED;
}

/* A packet of a new sync (the sender's timeline is new): arm with it and
 * queue it. */
static enum playout_put_result put_first(struct playout *p, const struct rtp_packet *pkt)
{
  arm(p, pkt, 1);
  seen_set(p, pkt->seq);
  p->seg_got++;
  return store(p, pkt);
}

/* Whether a packet d sequence numbers after the highest one, dt samples
 * after its timestamp, belongs to the same timeline: each packet between
 * them is 2.5 .. 120 ms long, give or take the largest latency. */
static int fits_stream(const struct playout *p, int d, int32_t dt, int32_t ahead)
{
  int64_t slack = ns_to_samples(p->cfg.max_latency_ns);
  int64_t a = (int64_t)d * GRAIN, b = (int64_t)d * DL_MAX_PACKET_SAMPLES;
  int64_t lo = a < b ? a : b, hi = a < b ? b : a;

  if (d > MAX_DROPOUT || d <= -SEEN_BITS)
    return 0;
  if (dt < lo - slack || dt > hi + slack)
    return 0;
  return ahead <= slack;   /* further ahead than the largest latency */
}

/* Whether a packet d sequence numbers after the highest one, dt samples
 * after its timestamp, continues it exactly: every packet between them as
 * long as the highest one. That is the sender's own timeline, however far
 * ahead of the cursor it is: the cursor stands still while the sink does
 * not pull (a stall, an underrun), and packets arriving meanwhile are not a
 * jump. Whether such a stream's latency is still within max_latency is
 * decided where the latency is known, at the pull (check_latency). */
static int continues(const struct playout *p, int d, int32_t dt)
{
  return d >= 1 && d <= MAX_DROPOUT && (int64_t)dt == (int64_t)d * p->max_samples;
}

/* A run of nothing but late (or behind-the-cursor duplicate) arrivals for
 * late_resync_ns means the sender's timeline moved behind ours (a sender
 * resumed without skipping ahead): resync. A short burst of stale packets
 * (a released backlog) does not: it is dropped and the stream goes on. */
static int late_run_expired(struct playout *p, int64_t arrival_ns)
{
  if (!p->late_run) {
    p->late_run = 1;
    p->late_since_ns = arrival_ns;
  }
  return arrival_ns - p->late_since_ns >= p->cfg.late_resync_ns;
}

static void end_stream(struct playout *p);

/* A packet of the stream that ended at its BYE, sent before the end (a
 * queue on the path held it past the BYE): within DL_BYE_STRAY_MS of the
 * end and of its timestamp. The same SSRC later, or far from there on its
 * timeline (a restarted sender's random timestamps), is a new stream. */
static int straggler(const struct playout *p, const struct rtp_packet *pkt)
{
  int64_t win = ns_to_samples((int64_t)DL_BYE_STRAY_MS * 1000000);
  int32_t d = rtp_ts_diff(pkt->ts, p->ended_ts);

  return p->ended_valid && pkt->ssrc == p->ended_ssrc &&
         pkt->arrival_ns - p->ended_ns <= (int64_t)DL_BYE_STRAY_MS * 1000000 && d > -win && d < win;
}

enum playout_put_result playout_put(struct playout *p, const struct rtp_packet *pkt)
{
  int samples = pkt->samples;
  int64_t arrival_ns = pkt->arrival_ns;
  int32_t ahead, dt;
  int d, behind;

  /* A record from rtp_packet_parse always passes; anything else must not
   * reach a slot. */
  if (samples <= 0 || samples > DL_MAX_PACKET_SAMPLES || pkt->len == 0 || pkt->len > DL_MAX_PAYLOAD ||
      pkt->payload == NULL) {
    p->st.invalid++;
    return PLAYOUT_INVALID;
  }
  if (!p->armed && straggler(p, pkt)) {
    p->st.late++;   /* sent before the BYE, arrived after the end */
    return PLAYOUT_LATE;
  }
  if (p->armed && p->ending && pkt->ssrc != p->ssrc) {
    /* The next stream while this one plays out its end: held for it. */
    if (p->nheld < DL_PLAYOUT_HELD_SLOTS) {
      struct held *h = &p->held[p->nheld++];
      h->pkt = *pkt;
      memcpy(h->data, pkt->payload, pkt->len);
      h->pkt.payload = h->data;
      return PLAYOUT_HELD;
    }
    end_stream(p);   /* too much of it: the ending stream is cut short */
  }
  if (!p->armed || pkt->ssrc != p->ssrc)
    return put_first(p, pkt);
  ahead = rtp_ts_diff(pkt->ts, p->cursor);
  d = rtp_seq_diff(pkt->seq, p->max_seq);
  dt = rtp_ts_diff(pkt->ts, p->max_ts);

  if (!continues(p, d, dt) && !fits_stream(p, d, dt, ahead)) {
    int32_t step = rtp_ts_diff(pkt->ts, p->bad_ts);
    if (p->bad_valid && pkt->seq == p->bad_seq && step >= GRAIN && step <= DL_MAX_PACKET_SAMPLES)
      return put_first(p, pkt);
    p->bad_valid = 1;
    p->bad_seq = (uint16_t)(pkt->seq + 1);
    p->bad_ts = pkt->ts;
    p->st.invalid++;
    return PLAYOUT_INVALID;
  }

  behind = ahead + samples <= 0;
  if (behind && !p->started && p->start_ns + samples_to_ns(ahead) >= arrival_ns)
    behind = 0;   /* before the start: handled below, not late */

  if (d <= 0 && seen_get(p, pkt->seq)) {
    if (behind && late_run_expired(p, arrival_ns))
      return put_first(p, pkt);
    p->st.duplicate++;
    return PLAYOUT_DUPLICATE;
  }
  if (behind && late_run_expired(p, arrival_ns))
    return put_first(p, pkt);

  if (!behind && ahead < 0 && !p->started && p->start_ns + samples_to_ns(ahead) >= arrival_ns) {
    /* Before the start, a packet that precedes the first one (reordering)
     * moves the start back, keeping the mapping, if its own play time has
     * not passed yet. */
    p->start_ns += samples_to_ns(ahead);
    p->cursor = pkt->ts;
  }

  if (d < 0) {
    int64_t ext = p->cycles + p->max_seq + d;
    p->st.reordered++;
    if (ext < p->base_seq)
      p->base_seq = ext;   /* RFC 3550 counts from the first packet sent */
  }
  seq_update(p, pkt->seq, pkt->ts, samples);
  seen_set(p, pkt->seq);
  p->seg_got++;
  if (behind) {
    p->st.late++;
    return PLAYOUT_LATE;
  }
  return store(p, pkt);
}

/* The queued packet that covers the cursor (ts <= cursor < ts + samples),
 * preferring the one that starts latest (a whole packet over a tail). Drops
 * packets the cursor has passed entirely. */
static struct slot *find_at_cursor(struct playout *p)
{
  struct slot *best = NULL;
  int i;

  for (i = 0; i < p->nslots; i++) {
    struct slot *s = &p->slots[i];
    int32_t off;

    if (!s->used)
      continue;
    off = rtp_ts_diff(p->cursor, s->ts);
    if (off >= s->samples) {
      s->used = 0;
      continue;
    }
    if (off >= 0 && (best == NULL || rtp_ts_before(best->ts, s->ts)))
      best = s;
  }
  return best;
}

/* The queued packet that starts first after the cursor. */
static struct slot *find_next(struct playout *p)
{
  struct slot *best = NULL;
  int i;

  for (i = 0; i < p->nslots; i++) {
    struct slot *s = &p->slots[i];

    if (s->used && rtp_ts_diff(s->ts, p->cursor) > 0 &&
        (best == NULL || rtp_ts_before(s->ts, best->ts)))
      best = s;
  }
  return best;
}

static int emit_silence(struct playout *p, int n, struct playout_frame *out)
{
  memset(out, 0, sizeof *out);
  out->kind = PLAYOUT_SILENCE;
  out->samples = n;
  out->ts = p->cursor;
  return n;
}

/* The end of an ending stream: where its audio stops (playout_end). */
static uint32_t end_point(const struct playout *p)
{
  uint32_t newest = p->max_ts + (uint32_t)p->max_samples;
  return rtp_ts_diff(p->end_ts, newest) > 0 ? p->end_ts : newest;
}

/* The stream ended at its BYE: concealment since the last packet covered
 * audio the sender sent (it was lost); then the engine is unarmed, as
 * before the first packet, so nothing after the end is counted. */
static void end_stream(struct playout *p)
{
  int i, n;

  commit_pending(p, 1);
  p->closed_expected += seg_expected(p);
  p->closed_lost += seg_lost(p);
  for (i = 0; i < p->nslots; i++)
    p->slots[i].used = 0;
  p->armed = 0;
  p->started = 0;
  p->ending = 0;
  p->ended_valid = 1;
  p->ended_flag = 1;
  p->after_end = 1;
  p->ended_ssrc = p->ssrc;
  p->ended_ts = p->cursor;
  p->ended_ns = p->pull_ns;
  p->loss_samples = 0;
  p->in_silence = 1;
  p->late_run = 0;
  p->bad_valid = 0;
  /* The next stream, if it came meanwhile, in its arrival order. */
  n = p->nheld;
  p->nheld = 0;
  for (i = 0; i < n; i++)
    playout_put(p, &p->held[i].pkt);
}

static int next_started(struct playout *p, int max_samples, struct playout_frame *out)
{
  struct slot *s;
  struct slot *nx;
  int32_t gap;
  int n, silence_after;

  s = find_at_cursor(p);
  if (s == NULL && p->ending && rtp_ts_diff(p->cursor, end_point(p)) >= 0) {
    end_stream(p);
    return emit_silence(p, max_samples < CHUNK ? max_samples : CHUNK, out);
  }
  if (s != NULL) {
    int skip = rtp_ts_diff(p->cursor, s->ts);

    out->kind = PLAYOUT_PACKET;
    out->data = s->data;
    out->len = s->len;
    out->samples = s->samples;
    out->skip = skip;
    out->ts = p->cursor;
    out->seq = s->seq;
    out->arrival_ns = s->arrival_ns;
    out->flags = p->in_silence ? PLAYOUT_FADE_IN : 0;
    s->used = 0;
    p->cursor = s->ts + (uint32_t)s->samples;
    p->last_samples = s->samples;
    p->last_seq = s->seq;
    p->loss_samples = 0;
    p->in_silence = 0;
    commit_pending(p, 1);   /* the stream resumed: what PLC covered was lost */
    p->st.played++;
    return s->samples - skip;
  }

  nx = find_next(p);
  gap = nx != NULL ? rtp_ts_diff(nx->ts, p->cursor) : INT32_MAX;
  if (nx != NULL && gap == nx->samples) {
    /* The missing span is exactly the next packet's duration: its in-band
     * FEC (LBRR) describes it. Without LBRR the decoder falls back to PLC. */
    out->kind = PLAYOUT_FEC;
    out->data = nx->data;
    out->len = nx->len;
    out->samples = gap;
    out->ts = p->cursor;
    out->seq = nx->seq;
    out->flags = p->in_silence ? PLAYOUT_FADE_IN : 0;
    p->cursor = nx->ts;
    p->loss_samples = 0;
    p->in_silence = 0;
    commit_pending(p, 1);   /* the stream resumed (its next packet is here) */
    p->st.fec_recovered++;
    return gap;
  }

  /* Conceal up to where FEC can take over (or up to the next packet). */
  n = p->last_samples;
  if (nx != NULL) {
    int32_t room = gap > nx->samples ? gap - nx->samples : gap;
    if (n > room)
      n = room;
  }
  silence_after = (int)ns_to_samples(p->cfg.silence_after_ns);
  if (p->cfg.conceal_silence || p->loss_samples >= silence_after) {
    if (n > max_samples)
      n = max_samples;
    if (n < 1)
      n = 1;
    emit_silence(p, n, out);
    p->cursor += (uint32_t)n;
    p->loss_samples += n;
    p->pending_silence += n;   /* a loss or the stream's end, as the PLC before it */
    p->pending_silence_frames++;
    p->in_silence = 1;
    return n;
  }
  if (n > silence_after - p->loss_samples)
    n = silence_after - p->loss_samples;
  memset(out, 0, sizeof *out);
  out->kind = PLAYOUT_PLC;
  out->samples = (n + GRAIN - 1) / GRAIN * GRAIN;
  out->skip = out->samples - n;
  out->ts = p->cursor;
  p->cursor += (uint32_t)n;
  p->loss_samples += n;
  if (p->loss_samples >= silence_after)
    out->flags |= PLAYOUT_FADE_OUT;
  p->pending++;   /* a loss or the stream's end: the next PACKET/FEC or arm says */
  return n;
}

/* The queued packet that starts last. */
static struct slot *find_newest(struct playout *p)
{
  struct slot *best = NULL;
  int i;

  for (i = 0; i < p->nslots; i++) {
    struct slot *s = &p->slots[i];

    if (s->used && (best == NULL || rtp_ts_before(best->ts, s->ts)))
      best = s;
  }
  return best;
}

/* The stream's latency bound. If the packet at the cursor would be heard
 * more than max_latency after it arrived (the sink lost that much time: a
 * stall, an underrun, a device slow to start; or, without resampling, a
 * sink clock slower than the sender's for long enough), the stream resyncs
 * once onto its newest packet: the backlog before it is dropped (received,
 * never played), and it plays at its own arrival + target, as a new stream
 * would. Its sequence accounting goes on: the new sync starts after it.
 * Only when something newer is queued: the newest packet itself is kept
 * and played, so this cannot repeat on the same backlog. */
static void check_latency(struct playout *p, int64_t now_ns)
{
  struct slot *s = find_at_cursor(p), *nw;
  struct rtp_packet pkt;

  if (s == NULL || now_ns - s->arrival_ns <= p->cfg.max_latency_ns)
    return;
  nw = find_newest(p);
  if (nw == s)
    return;
  memset(&pkt, 0, sizeof pkt);
  pkt.ssrc = p->ssrc;
  pkt.seq = nw->seq;
  pkt.ts = nw->ts;
  pkt.samples = nw->samples;
  pkt.arrival_ns = nw->arrival_ns;
  arm(p, &pkt, 0);   /* frees every slot; the sender's timeline is the same */
  nw->used = 1;
  /* It was received in the sync just closed (counted there). */
  p->base_seq = (int64_t)pkt.seq + 1;
  seen_set(p, pkt.seq);
}

void playout_sink_gap(struct playout *p)
{
  p->gap_reported = 1;
}

int playout_next(struct playout *p, int64_t now_ns, int max_samples, struct playout_frame *out)
{
  int n, gap;

  if (max_samples < 1)
    max_samples = 1;
  p->pull_ns = now_ns;
  /* Only a stream already playing has its latency stepped up by a gap. */
  gap = p->pulled && p->started && (p->gap_reported || now_ns - p->next_pull_ns > SINK_GAP_NS);
  p->gap_reported = 0;
  if (p->armed && (p->started || now_ns >= p->start_ns))
    check_latency(p, now_ns);
  if (!p->armed) {
    n = emit_silence(p, max_samples < CHUNK ? max_samples : CHUNK, out);
  } else if (!p->started && now_ns < p->start_ns) {
    /* Silence until the first packet's play time, rounded up to a sample. */
    int64_t left = ((p->start_ns - now_ns) * DL_RATE + 999999999) / 1000000000;
    n = (int)(left < max_samples ? left : max_samples);
    if (n > CHUNK)
      n = CHUNK;
    emit_silence(p, n, out);
  } else {
    p->started = 1;
    memset(out, 0, sizeof *out);
    n = next_started(p, max_samples, out);
  }
  if (p->resync_pending) {
    out->flags |= PLAYOUT_RESYNC;
    p->resync_pending = 0;
  }
  if (gap)
    out->flags |= PLAYOUT_SINK_GAP;
  p->pulled = 1;
  p->next_pull_ns = now_ns + samples_to_ns(n);
  p->st.samples_out += (uint64_t)n;
  return n;
}

int playout_end(struct playout *p, uint32_t ssrc, int have_end_ts, uint32_t end_ts)
{
  uint32_t newest, limit = (uint32_t)ns_to_samples((int64_t)DL_BYE_TAIL_MS * 1000000);

  if (!p->armed || ssrc != p->ssrc)
    return 0;
  newest = p->max_ts + (uint32_t)p->max_samples;
  p->end_ts = newest;
  if (have_end_ts && rtp_ts_diff(end_ts, newest) > 0)
    p->end_ts = rtp_ts_diff(end_ts, newest) > (int32_t)limit ? newest + limit : end_ts;
  p->ending = 1;
  return 1;
}

int playout_take_ended(struct playout *p)
{
  int e = p->ended_flag;
  p->ended_flag = 0;
  return e;
}

int playout_rewind(struct playout *p, const struct rtp_packet *pkts, int n, int back)
{
  uint32_t to = p->cursor;
  int64_t room = ns_to_samples(p->cfg.max_latency_ns);
  int found = 0, i;

  if (!p->started)
    return 0;
  for (i = 0; i < n; i++) {
    int32_t behind = rtp_ts_diff(p->cursor, pkts[i].ts);
    if (pkts[i].ssrc != p->ssrc || behind <= 0 || behind > room)
      continue;
    if (!found || rtp_ts_before(pkts[i].ts, to))
      to = pkts[i].ts;
    found = 1;
  }
  if (!found || back <= 0)
    return 0;
  if (rtp_ts_diff(p->cursor, to) > back)
    to = p->cursor - (uint32_t)back;
  int moved = rtp_ts_diff(p->cursor, to);
  p->cursor = to;
  for (i = 0; i < n; i++) {
    /* The ones the cursor will reach: ending after it, starting before the
     * old cursor. */
    if (pkts[i].ssrc != p->ssrc || rtp_ts_diff(pkts[i].ts, to) + pkts[i].samples <= 0 ||
        rtp_ts_diff(pkts[i].ts, to) >= moved)
      continue;
    if (store(p, &pkts[i]) == PLAYOUT_QUEUED && p->st.late > 0)
      p->st.late--;
  }
  return moved;
}

void playout_set_event_cb(struct playout *p, playout_event_cb cb, void *arg)
{
  p->event_cb = cb;
  p->event_arg = arg;
}

void playout_set_target(struct playout *p, int64_t target_ns)
{
  if (target_ns >= 0)
    p->cfg.target_ns = target_ns;
}

int64_t playout_target(const struct playout *p)
{
  return p->cfg.target_ns;
}

int playout_started(const struct playout *p)
{
  return p->started;
}

uint32_t playout_cursor(const struct playout *p)
{
  return p->cursor;
}

int playout_depth(const struct playout *p)
{
  int32_t depth = 0;
  int i;

  if (!p->started)
    return 0;
  for (i = 0; i < p->nslots; i++) {
    const struct slot *s = &p->slots[i];
    int32_t end;

    if (!s->used)
      continue;
    end = rtp_ts_diff(s->ts + (uint32_t)s->samples, p->cursor);
    if (end > depth)
      depth = end;
  }
  return depth;
}

void playout_get_stats(const struct playout *p, struct playout_stats *out)
{
  *out = p->st;
  out->expected = p->closed_expected + seg_expected(p);
  out->lost = p->closed_lost + seg_lost(p);
  /* Gone to silence with nothing since: provisionally the stream's tail.
   * Silence in a gap shorter than that (--conceal silence) is a loss so
   * far. */
  if (p->loss_samples >= ns_to_samples(p->cfg.silence_after_ns)) {
    out->tail_concealed += p->pending;
    out->tail_silence += p->pending_silence_frames;
  } else {
    out->silence += p->pending_silence_frames;
  }
}
