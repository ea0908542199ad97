/* RTP (RFC 3550) header packing and validating parsing, the Opus payload
 * (RFC 7587), and serial-number arithmetic for sequence numbers and
 * timestamps. Pure functions: any thread. */
#ifndef DL_RTP_H
#define DL_RTP_H

#include <stddef.h>
#include <stdint.h>

#define RTP_VERSION     2
#define RTP_HEADER_LEN  12
#define RTP_MAX_CSRC    15

/* Parse results. Negative, distinct, and named so that a test table (and a
 * counter) can say exactly why a datagram was refused. */
enum rtp_error {
  RTP_OK = 0,
  RTP_ERR_SHORT = -1,      /* fewer than 12 bytes */
  RTP_ERR_VERSION = -2,    /* version is not 2 */
  RTP_ERR_CSRC = -3,       /* CSRC list runs past the end */
  RTP_ERR_EXT = -4,        /* extension header or its length runs past the end */
  RTP_ERR_PADDING = -5,    /* padding count 0, or past the payload */
  RTP_ERR_EMPTY = -6,      /* no payload */
  RTP_ERR_OPUS = -7,       /* payload is not a valid Opus packet */
  RTP_ERR_TOO_LONG = -8,   /* Opus packet longer than 120 ms, or payload over DL_MAX_PAYLOAD */
  RTP_ERR_NOBUFS = -9      /* pack: output buffer too small */
};

struct rtp_header {
  unsigned version;
  unsigned padding;        /* flag */
  unsigned extension;      /* flag */
  unsigned csrc_count;
  unsigned marker;
  unsigned payload_type;
  uint16_t seq;
  uint32_t timestamp;
  uint32_t ssrc;
  uint32_t csrc[RTP_MAX_CSRC];
  uint16_t ext_profile;    /* parse: when extension is set */
  size_t ext_len;          /* parse: extension data bytes (after its 4-byte header) */
};

/* Writes the header h (version forced to 2, no padding, no extension) and
 * then the payload into buf. Returns the datagram length, or RTP_ERR_NOBUFS. */
int rtp_pack(const struct rtp_header *h, const uint8_t *payload, size_t payload_len,
             uint8_t *buf, size_t cap);

/* Validates and parses a datagram of len bytes. Every length is checked
 * before a byte is read. On success fills h and points *payload into buf
 * (padding removed). Returns RTP_OK or an enum rtp_error. */
int rtp_parse(const uint8_t *buf, size_t len, struct rtp_header *h,
              const uint8_t **payload, size_t *payload_len);

/* RFC 7587: the duration in samples at 48 kHz of the Opus packet, after
 * checking its TOC and frame count. Returns > 0, RTP_ERR_EMPTY, RTP_ERR_OPUS
 * or RTP_ERR_TOO_LONG. */
int rtp_opus_samples(const uint8_t *payload, size_t len);

/* A short English text for an enum rtp_error ("too short", ...). */
const char *rtp_strerror(int err);

/* Serial-number arithmetic (RFC 1982 style): a - b as a signed distance,
 * correct across wrap-around. */
static inline int16_t rtp_seq_diff(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b); }
static inline int32_t rtp_ts_diff(uint32_t a, uint32_t b) { return (int32_t)(uint32_t)(a - b); }
static inline int rtp_seq_before(uint16_t a, uint16_t b) { return rtp_seq_diff(a, b) < 0; }
static inline int rtp_ts_before(uint32_t a, uint32_t b) { return rtp_ts_diff(a, b) < 0; }

#endif /* DL_RTP_H */
