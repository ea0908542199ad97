/* The receiver's pull pipeline (see rxpipe.h).
 *
 * Output side, from the sink back:
 *   rxpipe_read  copies `frames` out of the 48 kHz stage
 *   pcm48_pull   the seam for drift compensation: produces exactly n frames
 *                of 48 kHz PCM on demand (a resampler will sit between it
 *                and rxpipe_read and pull a few frames more or fewer)
 *   refill       one playout_next frame, decoded (packet, FEC, PLC) or
 *                silent, faded, its head skipped, into the FIFO
 * The FIFO holds at most one decoded frame and is refilled only when empty,
 * so the time of the next frame's first sample is known exactly: the time
 * the caller gave for its first output frame plus what is ahead of it.
 */
#include "rxpipe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "defaults.h"
#include "latstats.h"
#include "rtp.h"

#define FADE_SAMPLES (DL_RATE / 1000 * DL_FADE_MS)

struct rxpipe {
  struct rxpipe_config cfg;
  struct playout *po;
  OpusDecoder *dec;
  int locked_pt;              /* -1 until the first dynamic pt (cfg pt 0) */

  /* The 48 kHz stage: decoded samples not yet handed out. */
  int16_t fifo[DL_MAX_PACKET_SAMPLES * DL_MAX_CHANNELS];
  int fifo_pos, fifo_len;     /* in frames */
  int16_t scratch[DL_MAX_PACKET_SAMPLES * DL_MAX_CHANNELS];

  /* RFC 3550 A.8 jitter, in 48 kHz timestamp units. */
  int have_transit;
  uint32_t jitter_ssrc;
  uint64_t jitter_resyncs;
  double transit, jitter;

  uint64_t invalid;
  struct latstats lat;
};

static int64_t frames_to_ns(int64_t frames)
{
  return frames * 1000000000 / DL_RATE;
}

int rxpipe_create(struct rxpipe **out, const struct rxpipe_config *cfg)
{
  struct rxpipe *rp;
  int err, rc = -ENOMEM;

  if (out == NULL || cfg == NULL || cfg->channels < 1 || cfg->channels > DL_MAX_CHANNELS ||
      cfg->pt < 0 || cfg->pt > 127)
    return -EINVAL;
  *out = NULL;
  rp = calloc(1, sizeof *rp);
  if (rp == NULL)
    goto fail;
  rp->cfg = *cfg;
  rp->locked_pt = cfg->pt ? cfg->pt : -1;
  rc = playout_create(&rp->po, &cfg->playout);
  if (rc < 0)
    goto fail;
  rp->dec = opus_decoder_create(DL_RATE, cfg->channels, &err);
  if (rp->dec == NULL) {
    rc = err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
    goto fail;
  }
  latstats_reset(&rp->lat);
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
  free(rp);
}

/* RFC 3550 A.8, restarted on a new SSRC or a resync (a new timeline). */
static void jitter_update(struct rxpipe *rp, const struct rtp_header *h, int64_t arrival_ns)
{
  struct playout_stats st;
  double arrival = (double)arrival_ns * DL_RATE / 1e9;
  double transit = arrival - (double)h->timestamp;

  playout_get_stats(rp->po, &st);
  if (!rp->have_transit || h->ssrc != rp->jitter_ssrc || st.resyncs != rp->jitter_resyncs) {
    rp->have_transit = 1;
    rp->jitter_ssrc = h->ssrc;
    rp->jitter_resyncs = st.resyncs;
    rp->transit = transit;
    return;
  }
  double d = transit - rp->transit;
  /* The timestamp wraps at 2^32: the transit difference is small. */
  d = remainder(d, 4294967296.0);
  rp->transit = transit;
  rp->jitter += (fabs(d) - rp->jitter) / 16.0;
}

int rxpipe_put(struct rxpipe *rp, const uint8_t *dgram, size_t len, int64_t arrival_ns)
{
  struct rtp_header h;
  const uint8_t *payload;
  size_t plen;
  int r;

  if (rtp_parse(dgram, len, &h, &payload, &plen) != RTP_OK)
    goto invalid;
  if (rp->locked_pt < 0) {
    if (h.payload_type < DL_MIN_DYNAMIC_PT || h.payload_type > DL_MAX_DYNAMIC_PT)
      goto invalid;
    rp->locked_pt = (int)h.payload_type;
  } else if ((int)h.payload_type != rp->locked_pt) {
    goto invalid;
  }
  r = playout_put(rp->po, &h, payload, plen, arrival_ns);
  if (r == PLAYOUT_INVALID)
    goto invalid;
  if (r != PLAYOUT_DUPLICATE)
    jitter_update(rp, &h, arrival_ns);
  return r;
invalid:
  rp->invalid++;
  return PLAYOUT_INVALID;
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

/* Decodes one playout frame into the (empty) FIFO. t_ns: when its first
 * output sample reaches the sink. */
static void refill(struct rxpipe *rp, int64_t t_ns, int max_frames)
{
  struct playout_frame f;
  int ch = rp->cfg.channels;
  int out, got = 0;

  out = playout_next(rp->po, t_ns, max_frames, &f);
  if (f.samples > DL_MAX_PACKET_SAMPLES || f.skip < 0 || f.skip > f.samples) {
    f.kind = PLAYOUT_SILENCE;   /* cannot happen: playout bounds both */
    f.samples = out;
    f.skip = 0;
  }
  switch (f.kind) {
  case PLAYOUT_PACKET:
    got = opus_decode(rp->dec, f.data, (opus_int32)f.len, rp->scratch, f.samples, 0);
    latstats_add(&rp->lat, (double)(t_ns - f.arrival_ns) / 1e6);
    break;
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
  rp->fifo_pos = 0;
  rp->fifo_len = out;
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
  if (frames <= 0)
    return 0;
  /* Resampling ratio 1: the output is the 48 kHz stage itself. */
  pcm48_pull(rp, now_ns, pcm, frames);
  return frames;
}

void rxpipe_get_stats(const struct rxpipe *rp, struct rxpipe_stats *out)
{
  memset(out, 0, sizeof *out);
  playout_get_stats(rp->po, &out->po);
  out->invalid = rp->invalid;
  out->jitter_ms = rp->jitter * 1000.0 / DL_RATE;
  out->latency_target_ms = (double)playout_target(rp->po) / 1e6;
  out->latency_mean_ms = latstats_mean(&rp->lat);
  out->latency_p50_ms = latstats_quantile(&rp->lat, 0.50);
  out->latency_p95_ms = latstats_quantile(&rp->lat, 0.95);
  out->latency_p99_ms = latstats_quantile(&rp->lat, 0.99);
  out->latency_max_ms = latstats_max(&rp->lat);
  out->loss_pct = out->po.expected ? 100.0 * (double)out->po.lost / (double)out->po.expected : 0.0;
  out->drift_ppm = NAN;
  out->resample_ratio = 1.0;
}

struct playout *rxpipe_playout(struct rxpipe *rp)
{
  return rp->po;
}
