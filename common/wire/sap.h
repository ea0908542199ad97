/* SAP, the Session Announcement Protocol (RFC 2974), version 1: the
 * packet that carries an SDP to a well-known group, as PipeWire's RTP sink
 * and VLC's SAP discovery use it.
 *
 *   0                   1                   2                   3
 *   | V=1 |A|R|T|E|C|   auth len    |         msg id hash           |
 *   |        originating source (4 bytes, IPv4; 16 with A=1)        |
 *   |        authentication data (auth len 32-bit words)            |
 *   |   optional payload type ("application/sdp", NUL-terminated)   |
 *   |        payload (the SDP)                                      |
 *
 * T=1 deletes the announcement of the same origin and hash. Encrypted
 * (E) and compressed (C) payloads are refused: nobody sends them (RFC 2974
 * deprecates the one, we do not link zlib for the other). The packets
 * come from anyone on the LAN: sap_parse checks every length before it
 * reads a byte. Pure: any thread. */
#ifndef DL_SAP_H
#define DL_SAP_H

#include <stddef.h>
#include <stdint.h>

#define SAP_VERSION     1
#define SAP_HEADER_LEN  4
#define SAP_MIME_SDP    "application/sdp"
/* RFC 2974 3: an announcement SHOULD NOT exceed 1 kB; that is what we
 * build. We read up to 4 kB (a longer SDP is not one of a LAN's audio
 * streams; anything longer is refused). */
#define SAP_MAX_BUILD   1024
#define SAP_MAX_PACKET  4096

struct sap_msg {
  int deletion;               /* T: 1 deletes the announcement */
  int ipv6;                   /* A: the origin is IPv6 (16 bytes) */
  uint16_t hash;              /* msg id hash */
  uint8_t origin[16];         /* originating source, network order (4 used for IPv4) */
  size_t auth_len;            /* bytes of authentication data (parse: skipped; build: none) */
  int had_type;               /* parse: a payload type field was present */
  const uint8_t *payload;     /* the SDP: parse points into the packet */
  size_t payload_len;
};

enum sap_error {
  SAP_OK = 0,
  SAP_ERR_SHORT = -1,         /* shorter than the header and its origin */
  SAP_ERR_LONG = -2,          /* longer than SAP_MAX_PACKET */
  SAP_ERR_VERSION = -3,       /* V is not 1 */
  SAP_ERR_ENCRYPTED = -4,     /* E set */
  SAP_ERR_COMPRESSED = -5,    /* C set */
  SAP_ERR_AUTH = -6,          /* authentication data runs past the packet */
  SAP_ERR_TYPE = -7,          /* a payload type that is not NUL-terminated within the packet */
  SAP_ERR_NOT_SDP = -8,       /* a payload type other than application/sdp */
  SAP_ERR_EMPTY = -9,         /* no payload after the header */
  SAP_ERR_SDP = -10,          /* sap_match: an announcement whose SDP sdp_parse refuses */
};

/* Parses a datagram into out (zeroed on an error); payload points into
 * buf. Returns SAP_OK or a sap_error. */
int sap_parse(const uint8_t *buf, size_t len, struct sap_msg *out);

const char *sap_strerror(int err);

/* Writes m (auth_len must be 0; the payload type is always written) into
 * buf. Returns the length, -EINVAL (no payload, auth data, a hash of 0),
 * -EMSGSIZE (more than SAP_MAX_BUILD) or -ENOBUFS (cap). */
int sap_build(const struct sap_msg *m, uint8_t *buf, size_t cap);

/* The msg id hash of a payload: FNV-1a folded to 16 bits, never 0 (RFC
 * 2974 5: a changed SDP gets a new hash; 0 meant "none" in SAPv0). */
uint16_t sap_hash(const uint8_t *payload, size_t len);

/* The next announcement's delay (RFC 2974 3.1: the interval, offset at
 * random by up to a third of it either way). u: the caller's random draw
 * in [0, 1). */
int64_t sap_interval_ns(int64_t interval_ns, double u);

/* What an announcement is to a receiver that looks for the session
 * called name (receiver --sap NAME). */
enum sap_verdict {
  SAP_MATCH = 1,              /* an announcement, its SDP valid, its s= equal to name */
  SAP_OTHER = 2,              /* a valid announcement of another session: ignored */
  SAP_DELETION = 3,           /* a deletion (m says of which origin and hash) */
};

/* sap_parse, then for an announcement sdp_parse of its payload (into
 * sdp) and the name compared byte for byte. Nothing but an exact name
 * match is SAP_MATCH: an announcement never leads a receiver to a stream
 * it was not told to join by name. Returns a sap_verdict, or a negative
 * sap_error (SAP_ERR_SDP: the SDP was refused) for a packet to count as
 * invalid. */
struct sdp_info;
int sap_match(const uint8_t *buf, size_t len, const char *name, struct sap_msg *m,
              struct sdp_info *sdp);

#endif /* DL_SAP_H */
