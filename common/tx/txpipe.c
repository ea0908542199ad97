#include "tx/txpipe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "defaults.h"
#include "tx/audio_in.h"
#include "wire/rtp.h"

struct txpipe {
  struct txpipe_config cfg;
  OpusEncoder *enc;
  int16_t *pcm;              /* one frame, for txpipe_pull */
  uint8_t payload[DL_MAX_PAYLOAD];
  uint16_t seq;
  uint32_t ts;
  int talkspurt;             /* 1: the next datagram starts a talkspurt (marker) */
  int ended;                 /* txpipe_pull: the input had no more frames */
  uint32_t marker_ts;        /* the timestamp of the last datagram with the marker */
  int have_marker;
  int stamp;                 /* the next datagram carries the NTP-64 element of stamp_ntp */
  uint64_t stamp_ntp;
  struct txpipe_stats st;
};

static int valid_frame(int n)
{
  return n == 120 || n == 240 || n == 480 || n == 960 || n == 1920 || n == 2880;
}

int txpipe_create(struct txpipe **out, const struct txpipe_config *cfg, int *opus_err)
{
  struct txpipe *tp = NULL;
  int err = OPUS_OK, rc;

  if (opus_err != NULL)
    *opus_err = OPUS_OK;
  if (out == NULL || cfg == NULL || cfg->channels < 1 || cfg->channels > DL_MAX_CHANNELS ||
      !valid_frame(cfg->frame_samples) || cfg->bitrate < DL_MIN_BITRATE ||
      cfg->bitrate > DL_MAX_BITRATE || cfg->complexity < 0 || cfg->complexity > 10 ||
      cfg->loss_perc < 0 || cfg->loss_perc > 100 || cfg->pt < 0 || cfg->pt > 127)
    return -EINVAL;
  *out = NULL;
  tp = calloc(1, sizeof *tp);
  if (tp == NULL)
    return -ENOMEM;
  tp->cfg = *cfg;
  tp->seq = cfg->seq0;
  tp->ts = cfg->ts0;
  tp->talkspurt = 1;
  tp->pcm = calloc((size_t)cfg->frame_samples * (size_t)cfg->channels, sizeof *tp->pcm);
  if (tp->pcm == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  tp->enc = opus_encoder_create(DL_RATE, cfg->channels, cfg->application, &err);
  if (tp->enc == NULL) {
    rc = err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
    goto fail;
  }
  /* Each setting is checked: a refused one is a configuration error. */
  if ((err = opus_encoder_ctl(tp->enc, OPUS_SET_BITRATE(cfg->bitrate))) != OPUS_OK ||
      (err = opus_encoder_ctl(tp->enc, OPUS_SET_COMPLEXITY(cfg->complexity))) != OPUS_OK ||
      (err = opus_encoder_ctl(tp->enc, OPUS_SET_INBAND_FEC(cfg->fec ? 1 : 0))) != OPUS_OK ||
      (err = opus_encoder_ctl(tp->enc, OPUS_SET_PACKET_LOSS_PERC(cfg->loss_perc))) != OPUS_OK ||
      (err = opus_encoder_ctl(tp->enc, OPUS_SET_DTX(cfg->dtx ? 1 : 0))) != OPUS_OK) {
    rc = -EINVAL;
    goto fail;
  }
  *out = tp;
  return 0;

fail:
  if (opus_err != NULL)
    *opus_err = err;
  txpipe_destroy(tp);
  return rc;
}

void txpipe_destroy(struct txpipe *tp)
{
  if (tp == NULL)
    return;
  if (tp->enc != NULL)
    opus_encoder_destroy(tp->enc);
  free(tp->pcm);
  free(tp);
}

int txpipe_encode(struct txpipe *tp, const int16_t *pcm, uint8_t *buf, size_t cap)
{
  struct rtp_header h;
  int n, len;

  n = opus_encode(tp->enc, pcm, tp->cfg.frame_samples, tp->payload, (opus_int32)sizeof tp->payload);
  if (n < 0)
    return -EIO;
  tp->st.frames++;
  /* With DTX, libopus returns a packet of at most 2 bytes for a frame
   * that need not be sent (RFC 7587 section 3.1.3): skip it; the
   * timestamp advances and the next datagram starts a talkspurt. */
  if (tp->cfg.dtx && n <= 2) {
    tp->ts += (uint32_t)tp->cfg.frame_samples;
    tp->talkspurt = 1;
    tp->stamp = 0;
    tp->st.dtx_frames++;
    return 0;
  }
  memset(&h, 0, sizeof h);
  h.payload_type = (unsigned)tp->cfg.pt;
  h.marker = tp->talkspurt ? 1 : 0;
  h.seq = tp->seq;
  h.timestamp = tp->ts;
  h.ssrc = tp->cfg.ssrc;
  if (tp->stamp) {
    uint8_t ext[RTP_EXT_NTP64_BLOCK];
    rtp_ext_ntp64(ext, DL_RTP_EXT_NTP_ID, tp->stamp_ntp);
    len = rtp_pack_ext(&h, RTP_EXT_ONE_BYTE, ext, sizeof ext, tp->payload, (size_t)n, buf, cap);
    tp->stamp = 0;
  } else {
    len = rtp_pack(&h, tp->payload, (size_t)n, buf, cap);
  }
  if (len < 0)
    return -ENOBUFS;
  if (h.marker) {
    tp->marker_ts = tp->ts;
    tp->have_marker = 1;
  }
  tp->seq++;
  tp->ts += (uint32_t)tp->cfg.frame_samples;
  tp->talkspurt = 0;
  tp->st.packets++;
  tp->st.payload_bytes += (uint64_t)n;
  tp->st.bytes += (uint64_t)len;
  return len;
}

int txpipe_pull(struct txpipe *tp, struct audio_in *in, int loop, uint8_t *buf, size_t cap)
{
  int want = tp->cfg.frame_samples, got = 0, rewound = 0;

  if (tp->ended)
    return TXPIPE_END;
  while (got < want) {
    int n = audio_in_read(in, tp->pcm + (size_t)got * (size_t)tp->cfg.channels, want - got);
    if (n < 0)
      return n;
    got += n;
    if (got == want)
      break;
    /* The end of a pass. Rewinding twice in a row without a frame in
     * between means the file yields nothing: stop rather than spin. */
    if (!loop || (n == 0 && rewound)) {
      tp->ended = 1;
      break;
    }
    int err = audio_in_rewind(in);
    if (err < 0)
      return err;
    rewound = n == 0 ? rewound + 1 : 0;
  }
  if (got == 0)
    return TXPIPE_END;
  if (got < want)
    memset(tp->pcm + (size_t)got * (size_t)tp->cfg.channels, 0,
           sizeof *tp->pcm * (size_t)(want - got) * (size_t)tp->cfg.channels);
  return txpipe_encode(tp, tp->pcm, buf, cap);
}

int txpipe_set_fec(struct txpipe *tp, int fec, int loss_perc)
{
  if (loss_perc < 0 || loss_perc > 100)
    return -EINVAL;
  if (opus_encoder_ctl(tp->enc, OPUS_SET_INBAND_FEC(fec ? 1 : 0)) != OPUS_OK ||
      opus_encoder_ctl(tp->enc, OPUS_SET_PACKET_LOSS_PERC(loss_perc)) != OPUS_OK)
    return -EINVAL;
  tp->cfg.fec = fec ? 1 : 0;
  tp->cfg.loss_perc = loss_perc;
  return 0;
}

int txpipe_set_bitrate(struct txpipe *tp, int bitrate)
{
  if (bitrate < DL_MIN_BITRATE || bitrate > DL_MAX_BITRATE ||
      opus_encoder_ctl(tp->enc, OPUS_SET_BITRATE(bitrate)) != OPUS_OK)
    return -EINVAL;
  tp->cfg.bitrate = bitrate;
  return 0;
}

void txpipe_skip(struct txpipe *tp, unsigned frames)
{
  tp->seq = (uint16_t)(tp->seq + frames);
  tp->ts += (uint32_t)frames * (uint32_t)tp->cfg.frame_samples;
}

int txpipe_ntp_due(const struct txpipe *tp, uint32_t window)
{
  if (tp->talkspurt || !tp->have_marker)
    return 1;
  int32_t since = rtp_ts_diff(tp->ts, tp->marker_ts);
  return since >= 0 && (uint32_t)since < window;
}

void txpipe_stamp_ntp(struct txpipe *tp, uint64_t ntp)
{
  tp->stamp = 1;
  tp->stamp_ntp = ntp;
}

uint32_t txpipe_next_ts(const struct txpipe *tp) { return tp->ts; }
uint16_t txpipe_next_seq(const struct txpipe *tp) { return tp->seq; }

void txpipe_get_stats(const struct txpipe *tp, struct txpipe_stats *out)
{
  *out = tp->st;
}
