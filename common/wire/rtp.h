/* RTP (RFC 3550) header packing and validating parsing, the Opus payload
 * (RFC 7587), and serial-number arithmetic for sequence numbers and
 * timestamps. Pure functions: any thread. */
#ifndef DL_RTP_H
#define DL_RTP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_VERSION     2
#define RTP_HEADER_LEN  12
#define RTP_MAX_CSRC    15

/* Parse results: RTP_OK, or a reason of the module's own range, below
 * RTP_ERR_BASE so that no value collides with a negative errno; distinct
 * and named so that a test table (and a counter) can say exactly why a
 * datagram was refused. rtp_pack's one error is a real errno. */
#define RTP_ERR_BASE (-1000)
enum rtp_error {
  RTP_OK = 0,
  RTP_ERR_SHORT = RTP_ERR_BASE - 1,     /* fewer than 12 bytes */
  RTP_ERR_VERSION = RTP_ERR_BASE - 2,   /* version is not 2 */
  RTP_ERR_CSRC = RTP_ERR_BASE - 3,      /* CSRC list runs past the end */
  RTP_ERR_EXT = RTP_ERR_BASE - 4,       /* extension header or its length runs past the end */
  RTP_ERR_PADDING = RTP_ERR_BASE - 5,   /* padding count 0, or past the payload */
  RTP_ERR_EMPTY = RTP_ERR_BASE - 6,     /* no payload */
  RTP_ERR_OPUS = RTP_ERR_BASE - 7,      /* payload is not a valid Opus packet */
  RTP_ERR_TOO_LONG = RTP_ERR_BASE - 8,  /* Opus packet longer than 120 ms, or payload over DL_MAX_PAYLOAD */
  RTP_ERR_NOBUFS = -ENOBUFS             /* pack: output buffer too small */
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
  const uint8_t *ext_data; /* parse: those bytes, inside the datagram; NULL without */
};

/* Writes the header h (version forced to 2, no padding, no extension) and
 * then the payload into buf. Returns the datagram length, or RTP_ERR_NOBUFS. */
int rtp_pack(const struct rtp_header *h, const uint8_t *payload, size_t payload_len,
             uint8_t *buf, size_t cap);

/* RFC 8285 header extensions. The one-byte form (profile 0xBEDE: a byte
 * of ID << 4 | (length - 1), then 1..16 bytes; ID 0 is padding, ID 15
 * ends the list) and the two-byte form (0x100 << 4 | appbits: ID byte,
 * length byte, 0..255 bytes; ID 0 is padding). */
#define RTP_EXT_ONE_BYTE   0xBEDEu
#define RTP_EXT_TWO_BYTE   0x1000u   /* the top 12 bits of the profile */
/* RFC 6051 3.3: the sender's 64-bit NTP timestamp for the packet's RTP
 * timestamp, as an element of 8 bytes. */
#define RTP_EXT_NTP64_LEN  8
/* The element block rtp_ext_ntp64 writes: the element (1 + 8 bytes) padded
 * to a 32-bit word. */
#define RTP_EXT_NTP64_BLOCK 12

/* Like rtp_pack, with a header extension: profile, then ext_len bytes of
 * data (a multiple of 4, at most 4 * 65535). Returns the datagram length,
 * RTP_ERR_NOBUFS, or RTP_ERR_EXT for a bad ext_len. */
int rtp_pack_ext(const struct rtp_header *h, uint16_t profile, const uint8_t *ext, size_t ext_len,
                 const uint8_t *payload, size_t payload_len, uint8_t *buf, size_t cap);

/* Writes the one-byte-form element block for an RFC 6051 NTP-64 element
 * with ID id (1..14) into out[RTP_EXT_NTP64_BLOCK]. Returns its length
 * (RTP_EXT_NTP64_BLOCK), or RTP_ERR_EXT for a bad ID. */
int rtp_ext_ntp64(uint8_t *out, unsigned id, uint64_t ntp);

/* Looks up the element with ID id in an extension of the given profile
 * (the one- or two-byte form; any other profile holds no elements we
 * know). Every element length is checked against what is left. Returns 1
 * with *val and *vlen set, 0 when absent (or an unknown profile), or
 * RTP_ERR_EXT when the element list runs past the end (RFC 8285 says: then
 * ignore the extension, not the packet). */
int rtp_ext_find(uint16_t profile, const uint8_t *data, size_t len, unsigned id,
                 const uint8_t **val, size_t *vlen);

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

/* A received datagram, parsed and checked once, on the receiver's loop
 * thread (rtp_packet_parse): the header fields the receive engine uses,
 * the Opus payload and its duration, and when it arrived. Everything
 * downstream (admission, the ring, playout, the delay estimator, the
 * trace) reads this record and never parses again. payload points into
 * the buffer that was parsed (or the ring slot it was stored in). */
struct rtp_packet {
  uint32_t ssrc;
  uint32_t ts;
  uint16_t seq;
  uint8_t pt;
  uint8_t marker;
  int samples;               /* the Opus packet's duration, 48 kHz samples (> 0) */
  size_t len;                /* payload bytes, 1..DL_MAX_PAYLOAD */
  const uint8_t *payload;
  int64_t arrival_ns;        /* CLOCK_MONOTONIC, stamped as it came off the socket */
  uint64_t ntp;              /* RFC 6051 NTP-64 extension (ID DL_RTP_EXT_NTP_ID): the
                                sender's wall clock at ts; valid when has_ntp */
  uint8_t has_ntp;
};

/* rtp_parse, then rtp_opus_samples on the payload; an RFC 6051 NTP-64
 * element of ID DL_RTP_EXT_NTP_ID in a one- or two-byte-form extension
 * sets ntp and has_ntp (a malformed extension, an element of another
 * length, or other elements are ignored: the packet stays good). Returns RTP_OK with out
 * complete, or the first refusal. For RTP_ERR_EMPTY, RTP_ERR_OPUS and
 * RTP_ERR_TOO_LONG the datagram is valid RTP and out's header fields (ssrc,
 * ts, seq, pt, marker, arrival_ns) are filled, samples is 0: a caller that
 * judges the source (SRTP without a key looks like this) may use them. */
int rtp_packet_parse(const uint8_t *buf, size_t len, int64_t arrival_ns, struct rtp_packet *out);

/* The record as flat bytes, for a ring slot: the struct, then the payload.
 * Returns the bytes used, or -ENOBUFS when cap is too small. */
int rtp_packet_store(const struct rtp_packet *pkt, uint8_t *slot, size_t cap);

/* Reads a record rtp_packet_store wrote; out->payload points into slot.
 * Returns 0, or -EINVAL when len does not hold what the record says. */
int rtp_packet_load(const uint8_t *slot, size_t len, struct rtp_packet *out);

/* Serial-number arithmetic (RFC 1982 style): a - b as a signed distance,
 * correct across wrap-around. */
static inline int16_t rtp_seq_diff(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b); }
static inline int32_t rtp_ts_diff(uint32_t a, uint32_t b) { return (int32_t)(uint32_t)(a - b); }
static inline int rtp_seq_before(uint16_t a, uint16_t b) { return rtp_seq_diff(a, b) < 0; }
static inline int rtp_ts_before(uint32_t a, uint32_t b) { return rtp_ts_diff(a, b) < 0; }

#endif /* DL_RTP_H */
