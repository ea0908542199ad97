/* The sender's pipeline without a socket: 48 kHz PCM frames -> Opus encode
 * -> RTP pack. Pure and single-threaded: the sender program drives it
 * between sends, the benchmarks drive it directly.
 *
 * RTP (RFC 3550 / RFC 7587): sequence +1 per datagram produced, timestamp
 * + frame samples per frame encoded (also for a frame that DTX suppressed),
 * marker on the first datagram and on the first one after a DTX gap (the
 * start of a talkspurt). SSRC and initial sequence/timestamp come from the
 * caller (random per session: common/ draws no random numbers). */
#ifndef DL_TXPIPE_H
#define DL_TXPIPE_H

#include <stddef.h>
#include <stdint.h>

struct audio_in;

struct txpipe_config {
  int channels;           /* 1 or 2 */
  int frame_samples;      /* per channel at 48 kHz: 120, 240, 480, 960, 1920, 2880 */
  int bitrate;            /* bit/s, DL_MIN_BITRATE..DL_MAX_BITRATE */
  int complexity;         /* 0..10 */
  int application;        /* OPUS_APPLICATION_VOIP, _AUDIO or _RESTRICTED_LOWDELAY */
  int fec;                /* 1: in-band FEC */
  int loss_perc;          /* 0..100, OPUS_SET_PACKET_LOSS_PERC (FEC needs it > 0) */
  int dtx;                /* 1: discontinuous transmission */
  int pt;                 /* RTP payload type 0..127 */
  uint32_t ssrc;
  uint16_t seq0;          /* sequence number of the first datagram */
  uint32_t ts0;           /* timestamp of the first frame */
};

struct txpipe_stats {
  uint64_t frames;        /* frames encoded */
  uint64_t packets;       /* datagrams produced */
  uint64_t dtx_frames;    /* frames DTX suppressed (no datagram) */
  uint64_t payload_bytes; /* Opus bytes in the datagrams */
  uint64_t bytes;         /* datagram bytes (RTP header + payload) */
};

struct txpipe;

/* Returns 0, -EINVAL (bad config) or -ENOMEM; *opus_err gets the OPUS_*
 * code of a refused encoder setting (for opus_strerror), if not NULL. */
int txpipe_create(struct txpipe **out, const struct txpipe_config *cfg, int *opus_err);
void txpipe_destroy(struct txpipe *tp);   /* accepts NULL */

/* Encodes one frame (frame_samples * channels interleaved int16) into an
 * RTP datagram in buf. Returns the datagram length, 0 when DTX suppressed
 * the frame (nothing to send; the timestamp still advances), or a negative
 * error: -ENOBUFS (buf too small), -EIO (opus_encode failed). */
int txpipe_encode(struct txpipe *tp, const int16_t *pcm, uint8_t *buf, size_t cap);

/* Pulls one frame from `in` and encodes it like txpipe_encode. The last,
 * partial frame of a pass is padded with silence. With loop set, the input
 * is rewound at its end and the frame continues from the start (seamless).
 * Returns the datagram length, 0 for a DTX frame, TXPIPE_END when the input
 * is exhausted (nothing encoded), or a negative errno. */
#define TXPIPE_END (-1000)
int txpipe_pull(struct txpipe *tp, struct audio_in *in, int loop, uint8_t *buf, size_t cap);

/* Changes the FEC setting and expected loss on the fly (RTCP feedback). */
int txpipe_set_fec(struct txpipe *tp, int fec, int loss_perc);

/* Changes the bitrate on the fly (RTCP feedback: tx/adapt), within
 * DL_MIN_BITRATE..DL_MAX_BITRATE. Returns 0 or -EINVAL. */
int txpipe_set_bitrate(struct txpipe *tp, int bitrate);

/* Live input lost `frames` whole frames (a capture overrun, tx/livein's
 * skip): the next datagram's sequence number and timestamp jump by that
 * many, as if their datagrams had been lost on the way, so that the
 * receiver conceals exactly them and its timeline does not move (a
 * timestamp jump alone would not fit the sequence numbers: RFC 3550's
 * receiver takes it for a new timeline). No marker: the talkspurt goes on. */
void txpipe_skip(struct txpipe *tp, unsigned frames);

/* RFC 6051: whether the next datagram is within `window` samples of RTP
 * time after the last marker (or carries one), where a receiver wants the
 * sender's wall clock before an SR; and, stamped, the next datagram made
 * carries the NTP-64 element (ID DL_RTP_EXT_NTP_ID, RFC 8285 one-byte
 * form) with ntp, the sender's wall clock at that datagram's timestamp on
 * the SR's mapping. Once: a DTX frame drops the stamp. */
int txpipe_ntp_due(const struct txpipe *tp, uint32_t window);
void txpipe_stamp_ntp(struct txpipe *tp, uint64_t ntp);

/* The RTP timestamp and sequence number the next frame/datagram gets. */
uint32_t txpipe_next_ts(const struct txpipe *tp);
uint16_t txpipe_next_seq(const struct txpipe *tp);

void txpipe_get_stats(const struct txpipe *tp, struct txpipe_stats *out);

#endif /* DL_TXPIPE_H */
