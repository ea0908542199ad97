/* The receiver's pull pipeline (see rxpipe.h).
 *
 * Input: rxpipe_put files a packet the receiver's loop thread parsed and
 * admitted (common/rx/admit) in the playout queue and feeds its arrival to
 * the jitter and delay estimators. Stream events (resyncs, settled
 * concealment) come from playout (event_cb); nothing here mirrors them.
 *
 * Output side, from the sink back:
 *   rxpipe_read  resamples the 48 kHz stage into `frames` output frames at
 *                the controller's ratio (input consumed per output frame)
 *   pcm48_pull   produces exactly n frames of 48 kHz PCM on demand
 *   refill       one playout_next frame, decoded (packet, FEC, PLC) or
 *                silent, faded, its head skipped, into the FIFO
 * The FIFO holds at most one decoded frame and is refilled only when empty,
 * so the time of the next frame's first sample is known exactly: the time
 * the caller gave for its first output frame plus what is ahead of it (the
 * output already made, the resampler's pending input and its filter delay,
 * scaled by the ratio).
 *
 * Time discipline: each packet's arrival goes to the delay estimator
 * (common/rx/delay), which gives the adaptive target; each decoded packet
 * gives a latency measurement (its first sample's heard time minus the
 * arrival the estimator expected for it) to the controller (common/rx/drift),
 * which sets the resampler's ratio. The playout's mapping is never moved
 * otherwise: no frame is dropped or inserted to hold the latency.
 */
#include "rx/rxpipe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <speex/speex_resampler.h>

#include "defaults.h"
#include "rx/delay.h"
#include "rx/drift.h"
#include "rx/emodel.h"
#include "rx/latstats.h"
#include "rx/tsm.h"
#include "wire/rtp.h"

#define FADE_SAMPLES (DL_RATE / 1000 * DL_FADE_MS)
/* speexdsp 0..10. At a ratio within 0.5 % of 1 set as n / RS_DEN (its
 * interpolating mode) quality 1 (16 taps) stays 71..75 dB above a quality
 * 10 resample in the speech band and is flat to 16 kHz (-0.2 dB), at
 * under half of quality 3's cost (0.7..0.8 against 1.6 ms per s of audio,
 * a bare decode 1.7..2.1): bench/resampler, bench/RESULTS.md.
 * Quality 0 rolls off -2 dB at 16 kHz; Opus's own coding noise is 10 dB. */
#define RS_QUALITY 1
/* Ratio resolution 1/65536 (15 ppm; the loop's integral evens it out).
 * Not finer: speexdsp rescales its phase as phase * new_den / old_den in 32
 * bits, which overflows (a jump in the output) for denominators past 2^16. */
#define RS_DEN 65536
#define RS_IN_MAX 1024          /* resampler input buffer, frames */
#define FIFO_FRAMES (2 * DL_MAX_PACKET_SAMPLES)
#define LOSS_HIST (DL_FEC_MARGIN_HOLD_MS / 1000 + 1)
#define STEP_KEEP 16             /* late packets a route change may give back: DL_STEP_MS of 2.5 ms ones */

struct rxpipe {
  struct rxpipe_config cfg;

  /* Frames lost or heard, for the E-model: playout settles each run of
   * concealment (PLAYOUT_EV_CONCEALED: lost; TAIL: the stream's end, not
   * counted), each PACKET or FEC frame is heard. */
  struct emodel_runs quality;
  int q_frame;                /* samples of the last heard packet; 0 before */
  struct playout *po;
  OpusDecoder *dec;

  /* The 48 kHz stage: decoded samples not yet handed out (room for a frame
   * that time-scale modification lengthened). */
  int16_t fifo[FIFO_FRAMES * DL_MAX_CHANNELS];
  int fifo_pos, fifo_len;     /* in frames */
  int16_t scratch[DL_MAX_PACKET_SAMPLES * DL_MAX_CHANNELS];

  /* RFC 3550 A.8 jitter, in 48 kHz timestamp units; restarted by a resync. */
  int have_transit;
  double transit, jitter;

  struct latstats lat;
  double lat_now_ms;          /* exponential mean of the latency, NaN before a packet */

  /* Time discipline. */
  struct delay *dm;           /* adaptive target (NULL: fixed) */
  struct drift dc;
  /* Re-targeting by pitch-preserving time-scale modification (rx/tsm):
   * while the latency is off its target by more than DL_TSM_ENGAGE_MS, whole
   * pitch periods (or stretches of pauses) are taken out or put in, at most
   * DL_TSM_RATE_PCT of the audio; the drift resampler keeps the slow part. */
  struct tsm *tsm;            /* NULL: --no-resample, the decode goes out as it is */
  int tsm_on;
  double tsm_credit;          /* frames the rate allows now */
  uint64_t tsm_splices;
  int64_t tsm_removed, tsm_added;   /* frames */
  int tsm_change;             /* the last frame's change, for the frame callback */
  /* A step in the path's delay (a route change): a run of packets whose
   * delays agree with each other and not with the tracked one. */
  int step_n, step_late;
  double step_sum, step_first;   /* ns */
  struct rtp_packet step_pkt[STEP_KEEP];   /* the run's late packets, kept for playout_rewind */
  uint8_t step_payload[STEP_KEEP][DL_MAX_PAYLOAD];
  uint64_t route_steps;
  int64_t last_arrival_ns;    /* of the last packet put */
  uint32_t newest_ts;         /* the newest timestamp step_watch saw */
  int have_newest;
  int64_t shorten_after_ns;   /* no shortening before the last arrival passes this */
  int loss_seen;              /* the path lost a packet lately: hold the FEC margin */
  uint64_t loss_hist[LOSS_HIST];   /* lost, once a second */
  int loss_head, loss_n;
  int64_t loss_next_ns;
  int64_t frame_ns;           /* the last packet's duration */
  SpeexResamplerState *rs;
  uint32_t rs_num;            /* ratio applied: rs_num / RS_DEN */
  int rs_delay;               /* the resampler's filter delay, input frames */
  int16_t rin[RS_IN_MAX * DL_MAX_CHANNELS];
  int rin_len;                /* input frames not yet consumed */
  int await_resync;           /* measurements wait for the first frame of a new timeline */
  int64_t settle_ns;          /* and, after the sink lost time, until then */
  int64_t target_ns;          /* the estimator's target plus sinkq_ns, bounded */
  int64_t sinkq_ns;           /* the sink's queue at decision time, peak held */
  int64_t margin_ns;          /* the target's margin above the quantile (update_target) */
  int64_t sinkq_at_ns;        /* when sinkq_ns was last updated */
  int block;                  /* the largest read (frames): what a read pulls at once */
  double ctl_latency_ms;
  int64_t transit_ns;         /* the network's one-way transit, for the E-model */
  rxpipe_frame_cb cb;
  void *cb_arg;
  /* --sync (rx/sync): the map, and the source the packets are of (a map
   * of another is not applied); the adaptive target (what the path and the
   * sink need), the sync target, and how far the first falls short. */
  struct sync_map sync;
  uint32_t cur_ssrc;
  int have_cur_ssrc;
  int64_t need_ns;
  int64_t sync_target_ns;
  int64_t sync_short_ns;
  int sync_unmet_now;
  uint64_t sync_unmet;
  double sync_miss_ms;
};

static void event_cb(void *arg, const struct playout_event *ev);
static void update_target(struct rxpipe *rp);
static int sync_active(const struct rxpipe *rp);
static void sync_apply(struct rxpipe *rp, uint32_t ts, int64_t expected_ns);

static int64_t frames_to_ns(int64_t frames)
{
  return frames * 1000000000 / DL_RATE;
}

int rxpipe_create(struct rxpipe **out, const struct rxpipe_config *cfg)
{
  struct rxpipe *rp;
  int err, rc = -ENOMEM;

  if (out == NULL || cfg == NULL || cfg->channels < 1 || cfg->channels > DL_MAX_CHANNELS)
    return -EINVAL;
  *out = NULL;
  rp = calloc(1, sizeof *rp);
  if (rp == NULL)
    goto fail;
  emodel_runs_init(&rp->quality);
  rp->cfg = *cfg;
  rc = playout_create(&rp->po, &cfg->playout);
  if (rc < 0)
    goto fail;
  playout_set_event_cb(rp->po, event_cb, rp);
  rp->dec = opus_decoder_create(DL_RATE, cfg->channels, &err);
  if (rp->dec == NULL) {
    rc = err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
    goto fail;
  }
  latstats_reset(&rp->lat);
  rp->target_ns = cfg->playout.target_ns;
  if (cfg->latency_auto) {
    struct delay_config dcf = {
      .quantile = cfg->latency_quantile > 0 ? cfg->latency_quantile : DL_DEFAULT_LATENCY_QUANTILE,
      .min_ns = cfg->min_latency_ns > 0 ? cfg->min_latency_ns : DL_DEFAULT_MIN_LATENCY_MS * 1000000LL,
      .max_ns = cfg->playout.max_latency_ns,
      .initial_ns = cfg->playout.target_ns,
    };
    rc = delay_create(&rp->dm, &dcf);
    if (rc < 0)
      goto fail;
  }
  struct drift_config dfc = {.ratio_step = 1.0 / RS_DEN};
  rc = drift_init(&rp->dc, &dfc);
  if (rc < 0)
    goto fail;
  rp->rs_num = RS_DEN;
  rp->rs = speex_resampler_init_frac((spx_uint32_t)cfg->channels, RS_DEN, RS_DEN, DL_RATE, DL_RATE,
                                     RS_QUALITY, &err);
  if (rp->rs == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  if (cfg->resample) {
    struct tsm_config tc = {.channels = cfg->channels, .max_block = DL_MAX_PACKET_SAMPLES};
    rc = tsm_create(&rp->tsm, &tc);
    if (rc < 0)
      goto fail;
  }
  /* Without this the first output would be the filter's zero history. */
  speex_resampler_skip_zeros(rp->rs);
  rp->rs_delay = speex_resampler_get_input_latency(rp->rs);
  rp->ctl_latency_ms = NAN;
  rp->lat_now_ms = NAN;
  rp->sync_miss_ms = NAN;
  *out = rp;
  return 0;
fail:
  rxpipe_destroy(rp);
  return rc;
}

void rxpipe_destroy(struct rxpipe *rp)
{
  if (rp == NULL)
    return;
  playout_destroy(rp->po);
  if (rp->dec != NULL)
    opus_decoder_destroy(rp->dec);
  if (rp->rs != NULL)
    speex_resampler_destroy(rp->rs);
  delay_destroy(rp->dm);
  tsm_destroy(rp->tsm);
  free(rp);
}

/* RFC 3550 A.8, restarted by a resync (event_cb): a new SSRC or timeline,
 * or a new mapping. */
static void jitter_update(struct rxpipe *rp, const struct rtp_packet *pkt)
{
  double arrival = (double)pkt->arrival_ns * DL_RATE / 1e9;
  double transit = arrival - (double)pkt->ts;

  if (!rp->have_transit) {
    rp->have_transit = 1;
    rp->transit = transit;
    return;
  }
  double d = transit - rp->transit;
  /* The timestamp wraps at 2^32: the transit difference is small. */
  d = remainder(d, 4294967296.0);
  rp->transit = transit;
  rp->jitter += (fabs(d) - rp->jitter) / 16.0;
}

/* The adaptive target: the estimator's (the arrival quantile and one
 * frame) plus what the pipeline pulls ahead of hearing it: the sink's
 * queue, and a read's block with the resampler's filter delay (a read
 * decodes every frame that starts within its block when it begins, up to
 * a block before the frame is heard; without this term the packet after
 * a loss missed its FEC turn in two cases of three at 2 ms jitter).
 * Within --max-latency. A fixed target stays as given. */
/* Whether the path lost packets lately: the RFC 3550 count of packets
 * never received (late ones count as received, so a target that was too
 * low does not look like loss), sampled once a second, grew over the last
 * DL_FEC_MARGIN_HOLD_MS. Then the target holds the FEC margin. t_ns: now. */
static void loss_note(struct rxpipe *rp, int64_t t_ns)
{
  int was = rp->loss_seen;
  struct playout_stats st;

  if (t_ns < rp->loss_next_ns)
    return;
  rp->loss_next_ns = t_ns + 1000000000;
  playout_get_stats(rp->po, &st);
  rp->loss_hist[rp->loss_head] = st.lost;
  rp->loss_head = (rp->loss_head + 1) % LOSS_HIST;
  if (rp->loss_n < LOSS_HIST)
    rp->loss_n++;
  uint64_t oldest = rp->loss_hist[rp->loss_n < LOSS_HIST ? 0 : rp->loss_head];
  rp->loss_seen = st.lost > oldest;
  if (rp->loss_seen != was)
    update_target(rp);
}

static void update_target(struct rxpipe *rp)
{
  int64_t t;

  if (rp->dm == NULL)
    return;
  /* Above the quantile, one frame: while the path loses packets, for the
   * next packet's FEC (it must be in when the missing one's turn comes);
   * else as much of it as the path's jitter asks, for the tail beyond the
   * quantile: the quantile again plus DL_JITTER_MARGIN_MADS of the mean
   * deviation (as wide a path has as long a tail), so that a clean path
   * plays at its floor and a rough one keeps the frame. */
  int64_t margin = rp->frame_ns;
  if (!rp->loss_seen) {
    int64_t j = delay_quantile(rp->dm) + (int64_t)(DL_JITTER_MARGIN_MADS * (double)delay_spread(rp->dm));
    if (j < margin)
      margin = j;
  }
  rp->margin_ns = margin;
  t = delay_target_margin(rp->dm, margin) + rp->sinkq_ns +
      frames_to_ns(rp->block + (rp->cfg.resample ? rp->rs_delay : 0));
  if (t > rp->cfg.playout.max_latency_ns)
    t = rp->cfg.playout.max_latency_ns;
  rp->need_ns = t;
  if (sync_active(rp))
    return;   /* sync_apply sets the target, per packet */
  rp->target_ns = t;
  playout_set_target(rp->po, t);   /* where a resync arms */
}

static int sync_active(const struct rxpipe *rp)
{
  return rp->cfg.sync && rp->sync.valid && rp->have_cur_ssrc && rp->sync.ssrc == rp->cur_ssrc;
}

/* --sync: the target that has timestamp ts heard at its sync instant,
 * given the arrival the estimator expects for it; never below what the
 * path and the sink need (need_ns), never above --max-latency. */
static void sync_apply(struct rxpipe *rp, uint32_t ts, int64_t expected_ns)
{
  int64_t st = sync_target_ns(&rp->sync, ts, expected_ns), t = st;
  int unmet = st < rp->need_ns;

  rp->sync_target_ns = st;
  rp->sync_short_ns = unmet ? rp->need_ns - st : 0;
  if (unmet) {
    t = rp->need_ns;
    if (!rp->sync_unmet_now)
      rp->sync_unmet++;
  }
  rp->sync_unmet_now = unmet;
  if (t > rp->cfg.playout.max_latency_ns)
    t = rp->cfg.playout.max_latency_ns;
  rp->target_ns = t;
  playout_set_target(rp->po, t);
}

void rxpipe_sink_gap(struct rxpipe *rp)
{
  playout_sink_gap(rp->po);
}

void rxpipe_set_sink_queue(struct rxpipe *rp, int64_t now_ns, int64_t queue_ns)
{
  int64_t q = rp->sinkq_ns;

  if (queue_ns < 0)
    queue_ns = 0;
  if (rp->sinkq_at_ns != 0 && now_ns > rp->sinkq_at_ns) {
    /* The peak falls slowly: a queue that shrank for a moment (a device
     * period's phase) must not pull the target down with it. */
    int64_t fall = (now_ns - rp->sinkq_at_ns) * DL_SINK_QUEUE_FALL_US_PER_S / 1000000;
    q = q > fall ? q - fall : 0;
  }
  if (queue_ns > q)
    q = queue_ns;
  rp->sinkq_at_ns = now_ns;
  if (q != rp->sinkq_ns) {
    rp->sinkq_ns = q;
    update_target(rp);
  }
}

/* Playout's stream events. A resync restarts the jitter; one onto a new
 * sender timeline also restarts the delay estimate, and the controller's
 * measurements wait for the new timeline's first frame (refill). A settled
 * run of concealment goes to the E-model as lost frames: the PLC frames,
 * and the silence after them in frames of the last packet's size. */
static void event_cb(void *arg, const struct playout_event *ev)
{
  struct rxpipe *rp = arg;

  switch (ev->kind) {
  case PLAYOUT_EV_RESYNC:
    rp->have_transit = 0;
    rp->have_newest = 0;
    rp->step_n = 0;
    if (ev->new_timeline) {
      rp->await_resync = 1;
      if (rp->dm != NULL)
        delay_reset(rp->dm);
    }
    break;
  case PLAYOUT_EV_CONCEALED: {
    uint64_t lost = ev->plc_frames;
    if (rp->q_frame > 0)
      lost += (uint64_t)((ev->silence_samples + rp->q_frame / 2) / rp->q_frame);
    emodel_runs_add_lost(&rp->quality, lost);
    break;
  }
  case PLAYOUT_EV_TAIL:
    break;
  }
}

/* A route change: packets in a row, DL_STEP_MS of them and at least two,
 * whose relative delays agree within DL_STEP_SPREAD_MS of the run's first
 * and lie beyond what the path's delays explain: more than DL_STEP_MIN_MS
 * above the quantile the target holds, or as far below the tracked delay
 * as that is above it
 * (a jitter burst scatters, a queue's release falls away packet by packet;
 * a new route is a new level). The tracked delay moves by the run's mean
 * at once, so that the target need not relearn the path. If the step made
 * the run's packets late, the timeline moves back by the step, once
 * (playout_rewind), and those packets the cursor reaches again are played
 * after all: the stream goes on at its latency, and what was concealed is
 * the time it took to see the step. A step
 * that made nothing late (the margin took it), or one down, is left to
 * time-scale modification: the latency against the moved line is off its
 * target by the step. */
static void step_watch(struct rxpipe *rp, const struct rtp_packet *pkt, int put_result)
{
  /* A packet older than one already seen says nothing of the route now
   * (after a step down, the old route's are still coming in). */
  if (rp->have_newest && rtp_ts_diff(pkt->ts, rp->newest_ts) <= 0)
    return;
  rp->newest_ts = pkt->ts;
  rp->have_newest = 1;
  double r = (double)delay_last_relative(rp->dm);
  /* The quantile measures the spread above the tracked delay; the spread
   * below is taken to be as wide (jitter is about symmetric there). */
  double hi = (double)delay_quantile(rp->dm) + DL_STEP_MIN_MS * 1e6, lo = -hi;
  int beyond = r > hi || r < lo;
  int need = (int)(DL_STEP_MS * (DL_RATE / 1000) / (pkt->samples > 0 ? pkt->samples : 1));

  if (!beyond || (rp->step_n > 0 && fabs(r - rp->step_first) > DL_STEP_SPREAD_MS * 1e6)) {
    rp->step_n = 0;
    if (!beyond)
      return;
  }
  if (rp->step_n == 0) {
    rp->step_first = r;
    rp->step_sum = 0;
    rp->step_late = 0;
  }
  rp->step_n++;
  rp->step_sum += r;
  if ((put_result == PLAYOUT_LATE || put_result == PLAYOUT_FULL) && rp->step_late < STEP_KEEP) {
    struct rtp_packet *k = &rp->step_pkt[rp->step_late];
    *k = *pkt;
    memcpy(rp->step_payload[rp->step_late], pkt->payload, pkt->len);
    k->payload = rp->step_payload[rp->step_late];
    rp->step_late++;
  }
  if (rp->step_n < (need > 2 ? need : 2))
    return;
  /* Measured against the moved line, every latency is off by the step
   * (and by what the rewind moved the timeline): the controller is told,
   * so that neither its loop nor its drift estimate takes it for an error;
   * what is left off the target is time-scale modification's. */
  int64_t step = (int64_t)(rp->step_sum / rp->step_n);
  delay_shift(rp->dm, step);
  /* Down: the old route's packets are still in flight, as late as the step
   * behind the new route's; the latency they need is not taken away until
   * they are in. */
  if (step < 0)
    rp->shorten_after_ns = pkt->arrival_ns - step;
  drift_shift(&rp->dc, -step);
  if (step > 0 && rp->step_late > 0)
    drift_shift(&rp->dc, frames_to_ns(playout_rewind(rp->po, rp->step_pkt, rp->step_late,
                                                     (int)(step * DL_RATE / 1000000000))));
  rp->route_steps++;
  rp->step_n = 0;
  rp->tsm_on = 1;   /* what the step left off the target is spliced away now, not slewed */
}

int rxpipe_put(struct rxpipe *rp, const struct rtp_packet *pkt)
{
  int r;

  if (rp->cfg.sync) {
    rp->cur_ssrc = pkt->ssrc;
    rp->have_cur_ssrc = 1;
    /* Where the stream arms if this packet starts it: arrival + target. */
    if (sync_active(rp) && !playout_started(rp->po))
      sync_apply(rp, pkt->ts, pkt->arrival_ns);
  }
  r = playout_put(rp->po, pkt);

  if (r != PLAYOUT_INVALID && r != PLAYOUT_DUPLICATE && r != PLAYOUT_HELD) {
    rp->last_arrival_ns = pkt->arrival_ns;
    rp->frame_ns = frames_to_ns(pkt->samples);
    jitter_update(rp, pkt);
    if (rp->dm != NULL) {
      delay_put(rp->dm, pkt->arrival_ns, pkt->ts, pkt->samples);
      if (playout_started(rp->po))
        step_watch(rp, pkt, r);
      update_target(rp);
      if (sync_active(rp) && playout_started(rp->po))
        sync_apply(rp, pkt->ts, delay_expected_arrival(rp->dm, pkt->ts));
    }
  }
  return r;
}

void rxpipe_set_sync(struct rxpipe *rp, const struct sync_map *m)
{
  rp->sync = *m;
}


/* Gain ramps: FADE_IN rises over the first DL_FADE_MS, FADE_OUT falls to
 * zero across the whole frame (it is the last concealed frame). */
static void apply_fades(int16_t *pcm, int n, int ch, unsigned flags)
{
  int i, c;

  if (flags & PLAYOUT_FADE_IN) {
    int m = n < FADE_SAMPLES ? n : FADE_SAMPLES;
    for (i = 0; i < m; i++)
      for (c = 0; c < ch; c++)
        pcm[i * ch + c] = (int16_t)(pcm[i * ch + c] * i / m);
  }
  if (flags & PLAYOUT_FADE_OUT) {
    for (i = 0; i < n; i++)
      for (c = 0; c < ch; c++)
        pcm[i * ch + c] = (int16_t)(pcm[i * ch + c] * (n - 1 - i) / n);
  }
}

/* One latency measurement from a decoded packet heard at t_ns: the
 * controller sets the resampler's ratio. */
static void control(struct rxpipe *rp, const struct playout_frame *f, int64_t t_ns)
{
  if (rp->await_resync || t_ns < rp->settle_ns)
    return;   /* a frame of the old timeline, or a sink restarting */
  int64_t expected = rp->dm ? delay_expected_arrival(rp->dm, f->ts) : f->arrival_ns;
  int64_t lat = t_ns - expected;
  rp->ctl_latency_ms = (double)lat / 1e6;
  if (sync_active(rp)) {
    /* The target for this very frame: the sync map and the tracked delay
     * both move with the clocks; their difference is what the loop holds. */
    double miss = (double)(t_ns - sync_play_ns(&rp->sync, f->ts)) / 1e6;
    rp->sync_miss_ms = isnan(rp->sync_miss_ms) ? miss : rp->sync_miss_ms + (miss - rp->sync_miss_ms) / 16;
    sync_apply(rp, f->ts, expected);
  }
  /* With time-scale modification the resampler's loop is given the target
   * no further than DL_TSM_ENGAGE_MS from its reference: larger moves are
   * made by splices (retarget), so that the ratio is not held at its bound
   * through a long change, which its integral would take for drift. */
  int64_t target = rp->target_ns;
  if (rp->tsm != NULL && rp->dc.started) {
    int64_t ref = drift_reference(&rp->dc), lim = (int64_t)DL_TSM_ENGAGE_MS * 1000000;
    target = target > ref + lim ? ref + lim : target < ref - lim ? ref - lim : target;
  }
  /* Its integral is the drift estimate: it learns only while the latency is
   * settled (no splicing, the target where the reference is). A target that
   * keeps moving, or a tracked delay that follows a changed path, would
   * otherwise be learnt as drift and then push the latency off. */
  drift_learn(&rp->dc, rp->tsm == NULL ||
                       (!rp->tsm_on && llabs(rp->target_ns - drift_reference(&rp->dc)) <
                                           (int64_t)DL_TSM_ENGAGE_MS * 1000000 / 2));
  double ratio = drift_update(&rp->dc, t_ns, lat, target);
  if (!rp->cfg.resample)
    return;
  uint32_t num = (uint32_t)lround(ratio * RS_DEN);
  if (num != rp->rs_num) {
    rp->rs_num = num;
    speex_resampler_set_rate_frac(rp->rs, num, RS_DEN, DL_RATE, DL_RATE);
    /* Its filter lengthens a little above ratio 1 (anti-aliasing). */
    rp->rs_delay = speex_resampler_get_input_latency(rp->rs);
  }
}

/* Time-scale modification on the frame just decoded into the FIFO (out
 * frames, heard from t_ns): engaged while the controller's smoothed latency
 * is more than DL_TSM_ENGAGE_MS below the target or DL_TSM_ENGAGE_DOWN_MS
 * above it, released within DL_TSM_RELEASE_MS; then it asks for what it owes, within a credit that
 * grows by DL_TSM_RATE_PCT of the audio (plus one longest pitch period of
 * lead, so that a whole period fits). Every frame goes through tsm_process
 * (want 0 too): a lengthening replays the history it keeps. Each splice
 * moves the latency by its length, which the controller is told
 * (drift_shift) so that it is neither error nor drift. Returns the frames
 * now in the FIFO. */
static int retarget(struct rxpipe *rp, const struct playout_frame *f, int out, int64_t t_ns)
{
  struct tsm_result res;
  int want = 0, n;

  if (rp->tsm == NULL)
    return out;
  if (f->kind != PLAYOUT_SILENCE || playout_started(rp->po)) {
    if (rp->dc.started && !rp->await_resync && t_ns >= rp->settle_ns) {
      double e = (double)(drift_latency(&rp->dc) - rp->target_ns);   /* > 0: too late */
      /* Up quickly (a late packet is lost audio), down only when far off
       * (the target's own noise must not make packets late): what is within
       * is the drift resampler's slow approach. */
      if (!rp->tsm_on && (e < -DL_TSM_ENGAGE_MS * 1e6 || e > DL_TSM_ENGAGE_DOWN_MS * 1e6))
        rp->tsm_on = 1;
      else if (rp->tsm_on && fabs(e) < DL_TSM_RELEASE_MS * 1e6)
        rp->tsm_on = 0;
      if (rp->tsm_on && e > 0 && rp->last_arrival_ns < rp->shorten_after_ns)
        e = 0;   /* after a step down, until the old route's packets are in */
      if (rp->tsm_on && e != 0) {
        double owed = fabs(e) * DL_RATE / 1e9;
        double lim = rp->tsm_credit + DL_TSM_MAX_LAG_US * (DL_RATE / 1000000.0);
        rp->tsm_credit = fmin(rp->tsm_credit + out * (DL_TSM_RATE_PCT / 100.0), DL_MAX_PACKET_SAMPLES);
        want = (int)fmin(owed, lim);
        if (e > 0)
          want = -want;
      } else {
        rp->tsm_credit = 0;
      }
    }
  }
  n = tsm_process(rp->tsm, rp->fifo, out, FIFO_FRAMES, want, &res);
  if (n < 0)
    return out;   /* cannot happen: out <= max_block, the FIFO holds twice that */
  rp->tsm_change = res.change;
  if (res.change != 0) {
    drift_shift(&rp->dc, frames_to_ns(res.change));
    rp->tsm_credit -= abs(res.change);
    rp->tsm_splices += (uint64_t)res.n;
    if (res.change < 0)
      rp->tsm_removed -= res.change;
    else
      rp->tsm_added += res.change;
  }
  return n;
}

/* Decodes one playout frame into the (empty) FIFO. t_ns: when its first
 * output sample reaches the sink. */
static void refill(struct rxpipe *rp, int64_t t_ns, int max_frames)
{
  struct playout_frame f;
  int ch = rp->cfg.channels;
  int out, got = 0;

  out = playout_next(rp->po, t_ns, max_frames, &f);
  /* A new timeline, or a sink that lost time: the latency stepped, which
   * is not drift. Any frame may carry the flag (a resync's is usually on
   * the silence before its start, and a resync at a pull, for the latency
   * bound, comes after the puts that delay_observe saw). */
  if (f.flags & PLAYOUT_RESYNC) {
    rp->await_resync = 0;
    if (rp->tsm != NULL)
      tsm_reset(rp->tsm);   /* the new timeline does not continue the old */
    rp->tsm_on = 0;
  }
  if (f.flags & (PLAYOUT_RESYNC | PLAYOUT_SINK_GAP))
    drift_restart(&rp->dc);
  /* A device restarting after an underrun reports its delay low at first
   * (PulseAudio: by ~8 ms for a few hundred ms): the loop restarts on the
   * latency after that, else the difference winds up as drift. */
  if (f.flags & PLAYOUT_SINK_GAP)
    rp->settle_ns = t_ns + (int64_t)DL_SINK_SETTLE_MS * 1000000;
  if (f.samples > DL_MAX_PACKET_SAMPLES || f.skip < 0 || f.skip > f.samples) {
    f.kind = PLAYOUT_SILENCE;   /* cannot happen: playout bounds both */
    f.samples = out;
    f.skip = 0;
  }
  switch (f.kind) {
  case PLAYOUT_PACKET: {
    double lat = (double)(t_ns - f.arrival_ns) / 1e6;
    double w = (double)f.samples * 1000.0 / DL_RATE / DL_LATENCY_NOW_MS;
    got = opus_decode(rp->dec, f.data, (opus_int32)f.len, rp->scratch, f.samples, 0);
    latstats_add(&rp->lat, lat);
    rp->lat_now_ms = isnan(rp->lat_now_ms) ? lat : rp->lat_now_ms + (lat - rp->lat_now_ms) * (w < 1 ? w : 1);
    control(rp, &f, t_ns);
    break;
  }
  case PLAYOUT_FEC:
    got = opus_decode(rp->dec, f.data, (opus_int32)f.len, rp->scratch, f.samples, 1);
    break;
  case PLAYOUT_PLC:
    got = opus_decode(rp->dec, NULL, 0, rp->scratch, f.samples, 0);
    break;
  case PLAYOUT_SILENCE:
    got = 0;
    break;
  }
  /* A decoder error or a short decode leaves zeros: the sink always gets
   * exactly `out` frames. */
  if (got < 0)
    got = 0;
  if (got < f.samples)
    memset(rp->scratch + (size_t)got * ch, 0, (size_t)(f.samples - got) * ch * sizeof(int16_t));
  memcpy(rp->fifo, rp->scratch + (size_t)f.skip * ch, (size_t)out * ch * sizeof(int16_t));
  apply_fades(rp->fifo, out, ch, f.flags);
  if (playout_started(rp->po))
    loss_note(rp, t_ns);
  out = retarget(rp, &f, out, t_ns);
  if (f.kind == PLAYOUT_PACKET || f.kind == PLAYOUT_FEC)
    emodel_runs_add(&rp->quality, 0);   /* heard (FEC: recovered, not lost) */
  if (f.kind == PLAYOUT_PACKET)
    rp->q_frame = f.samples;
  rp->fifo_pos = 0;
  rp->fifo_len = out;
  if (rp->cb != NULL) {
    struct rxpipe_frame_info fi = {
      .heard_ns = t_ns, .kind = f.kind, .flags = f.flags, .samples = out,
      .latency_ms = f.kind == PLAYOUT_PACKET ? (double)(t_ns - f.arrival_ns) / 1e6 : NAN,
      .ctl_latency_ms = rp->ctl_latency_ms, .target_ms = (double)rp->target_ns / 1e6,
      .ratio = rp->cfg.resample ? (double)rp->rs_num / RS_DEN : 1.0,
      .drift_ppm = rp->cfg.resample ? drift_ppm(&rp->dc) : NAN,
      .seq = f.seq, .ts = f.ts, .arrival_ns = f.kind == PLAYOUT_PACKET ? f.arrival_ns : 0,
      .tsm_change = rp->tsm_change,
    };
    rp->cb(rp->cb_arg, &fi);
  }
}

/* The 48 kHz source: exactly n frames into pcm. t_ns: when pcm[0] reaches
 * the sink. A drift resampler pulls its input from here. */
static void pcm48_pull(struct rxpipe *rp, int64_t t_ns, int16_t *pcm, int n)
{
  int ch = rp->cfg.channels;
  int done = 0;

  while (done < n) {
    int k;

    if (rp->fifo_pos == rp->fifo_len)
      refill(rp, t_ns + frames_to_ns(done), DL_MAX_PACKET_SAMPLES);
    k = rp->fifo_len - rp->fifo_pos;
    if (k > n - done)
      k = n - done;
    memcpy(pcm + (size_t)done * ch, rp->fifo + (size_t)rp->fifo_pos * ch,
           (size_t)k * ch * sizeof(int16_t));
    rp->fifo_pos += k;
    done += k;
  }
}

int rxpipe_read(struct rxpipe *rp, int64_t now_ns, int16_t *pcm, int frames)
{
  int ch = rp->cfg.channels;
  int done = 0, stuck = 0;

  if (frames <= 0)
    return 0;
  if (frames > rp->block) {
    rp->block = frames;
    update_target(rp);
  }
  if (!rp->cfg.resample) {
    pcm48_pull(rp, now_ns, pcm, frames);
    return frames;
  }
  while (done < frames) {
    double ratio = (double)rp->rs_num / RS_DEN;
    /* Input for what is left, plus one: pulled no earlier than needed, so
     * that a packet has as long as possible to arrive. */
    int want = (int)ceil((frames - done) * ratio) + 1;
    if (want > RS_IN_MAX)
      want = RS_IN_MAX;
    if (rp->rin_len < want) {
      /* When the first new input frame is heard: after the output made so
       * far and the input ahead of it in the resampler. */
      double ahead = (double)done + (double)(rp->rin_len + rp->rs_delay) / ratio;
      pcm48_pull(rp, now_ns + (int64_t)(ahead * 1e9 / DL_RATE),
                 rp->rin + (size_t)rp->rin_len * ch, want - rp->rin_len);
      rp->rin_len = want;
    }
    spx_uint32_t in_len = (spx_uint32_t)rp->rin_len, out_len = (spx_uint32_t)(frames - done);
    speex_resampler_process_interleaved_int(rp->rs, rp->rin, &in_len, pcm + (size_t)done * ch,
                                            &out_len);
    memmove(rp->rin, rp->rin + (size_t)in_len * ch,
            (size_t)(rp->rin_len - (int)in_len) * ch * sizeof(int16_t));
    rp->rin_len -= (int)in_len;
    done += (int)out_len;
    if (in_len == 0 && out_len == 0 && ++stuck > 4)
      break;   /* cannot happen with input available; never spin */
  }
  if (done < frames)
    memset(pcm + (size_t)done * ch, 0, (size_t)(frames - done) * ch * sizeof(int16_t));
  return frames;
}

void rxpipe_set_frame_cb(struct rxpipe *rp, rxpipe_frame_cb cb, void *arg)
{
  rp->cb = cb;
  rp->cb_arg = arg;
}

void rxpipe_get_stats(const struct rxpipe *rp, struct rxpipe_stats *out)
{
  memset(out, 0, sizeof *out);
  playout_get_stats(rp->po, &out->po);
  out->jitter_ms = rp->jitter * 1000.0 / DL_RATE;
  out->latency_target_ms = (double)rp->target_ns / 1e6;
  if (rp->dm != NULL) {
    out->target_quantile_ms = (double)delay_quantile(rp->dm) / 1e6;
    out->target_margin_ms = (double)rp->margin_ns / 1e6;
    out->target_sinkq_ms = (double)rp->sinkq_ns / 1e6;
    out->target_block_ms = (double)frames_to_ns(rp->block) / 1e6;
    out->target_resampler_ms = rp->cfg.resample ? (double)frames_to_ns(rp->rs_delay) / 1e6 : 0;
  } else {
    out->target_quantile_ms = out->target_margin_ms = out->target_sinkq_ms = NAN;
    out->target_block_ms = out->target_resampler_ms = NAN;
  }
  out->latency_mean_ms = latstats_mean(&rp->lat);
  out->latency_now_ms = rp->lat_now_ms;
  out->latency_p50_ms = latstats_quantile(&rp->lat, 0.50);
  out->latency_p95_ms = latstats_quantile(&rp->lat, 0.95);
  out->latency_p99_ms = latstats_quantile(&rp->lat, 0.99);
  out->latency_max_ms = latstats_max(&rp->lat);
  out->loss_pct = out->po.expected ? 100.0 * (double)out->po.lost / (double)out->po.expected : 0.0;
  /* Without the resampler the controller's ratio is not applied, and its
   * estimate (which counts what the resampler took) means nothing. */
  out->drift_ppm = rp->cfg.resample && rp->dc.started ? drift_ppm(&rp->dc) : NAN;
  out->resample_ratio = rp->cfg.resample ? (double)rp->rs_num / RS_DEN : 1.0;
  out->latency_ctl_ms = rp->ctl_latency_ms;
  out->quality_frames = rp->quality.frames;
  out->quality_loss_pct = emodel_runs_loss_pct(&rp->quality);
  out->quality_burst_r = emodel_runs_burst_r(&rp->quality);
  out->frame_ms = rp->q_frame > 0 ? (double)rp->q_frame * 1000.0 / DL_RATE : NAN;
  out->sync_on = sync_active(rp);
  out->sync_target_ms = out->sync_on ? (double)rp->sync_target_ns / 1e6 : NAN;
  out->sync_short_ms = out->sync_on ? (double)rp->sync_short_ns / 1e6 : NAN;
  out->sync_miss_ms = rp->sync_miss_ms;
  out->sync_unmet = rp->sync_unmet;
  out->tsm_splices = rp->tsm_splices;
  out->route_steps = rp->route_steps;
  out->tsm_removed_ms = (double)rp->tsm_removed * 1000.0 / DL_RATE;
  out->tsm_added_ms = (double)rp->tsm_added * 1000.0 / DL_RATE;
  /* The E-model (ITU-T G.107, common/rx/emodel): the mouth-to-ear delay is
   * the frame (packetization) + Opus' look-ahead + the network's one-way
   * transit (rxpipe_set_transit; 0 until known, right on a LAN) + the mean
   * latency from arrival to sink. Loss: the frames concealed inside the
   * stream, with their burstiness. NaN until a frame was heard. */
  out->emodel_delay_ms = out->r_factor = out->mos = NAN;
  if (out->quality_frames > 0 && isfinite(out->latency_mean_ms) && isfinite(out->frame_ms)) {
    out->emodel_delay_ms = out->frame_ms + DL_OPUS_LOOKAHEAD_MS + (double)rp->transit_ns / 1e6 +
                           out->latency_mean_ms;
    out->r_factor = emodel_r(out->emodel_delay_ms, out->quality_loss_pct, out->quality_burst_r);
    out->mos = emodel_mos(out->r_factor);
  }
}

void rxpipe_set_transit(struct rxpipe *rp, int64_t transit_ns)
{
  rp->transit_ns = transit_ns > 0 ? transit_ns : 0;
}

int rxpipe_end(struct rxpipe *rp, uint32_t ssrc, int have_end_ts, uint32_t end_ts)
{
  return playout_end(rp->po, ssrc, have_end_ts, end_ts);
}

int rxpipe_take_ended(struct rxpipe *rp)
{
  return playout_take_ended(rp->po);
}

struct playout *rxpipe_playout(struct rxpipe *rp)
{
  return rp->po;
}
