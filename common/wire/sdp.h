/* An SDP (RFC 4566) that describes the sender's stream to a third-party
 * receiver: ffmpeg/ffplay (-protocol_whitelist file,udp,rtp -i x.sdp),
 * GStreamer (sdpdemux), VLC. Opus per RFC 7587: the rtpmap is always
 * opus/48000/2 whatever the channel count; stereo and sprop-stereo say
 * what is actually sent. Pure: writes into the caller's buffer.
 *
 * And the reverse, as far as discovery needs it (receiver --sap): the
 * session name, the connection address, the first audio stream's port,
 * profile and payload type, whether that type is Opus, whether it is
 * SRTP. The text comes from anyone on the LAN (a SAP announcement): every
 * line and field is bounded, nothing is read past len, and the text need
 * not be NUL-terminated. */
#ifndef DL_SDP_H
#define DL_SDP_H

#include <stddef.h>
#include <stdint.h>

struct sdp_params {
  const char *addr;        /* numeric destination address (c= line) */
  int ipv6;                /* 1: addr is IPv6 */
  int port;                /* RTP port (m= line) */
  int pt;                  /* dynamic payload type */
  int channels;            /* 1 or 2 */
  int bitrate;             /* bit/s: maxaveragebitrate */
  int fec;                 /* useinbandfec */
  int dtx;                 /* usedtx */
  int frame_us;            /* ptime (2500 -> "2.5") */
  uint32_t ssrc;           /* a=ssrc line; 0 leaves it out */
  int ntp_ext_id;          /* 1..14: a=extmap:ID for RFC 6051's NTP-64 header
                              extension (RFC 8285 one-byte form), which the
                              first packets carry; 0 leaves it out */
  int rtcp_mux;            /* 1: a=rtcp-mux (RFC 5761: RTCP on the RTP port) */
  uint64_t session_id;     /* o= session id and version */
  int savp;                /* 1: RTP/SAVP without an a=crypto line (an
                              announcement: the key is not given out) */
  const char *session_name;/* s=, NULL: "driftless" */
  const char *crypto;      /* NULL, or the value of an a=crypto line (SRTP:
                              "1 AES_CM_128_HMAC_SHA1_80 inline:KEY"); the
                              profile becomes RTP/SAVP */
};

/* Writes the SDP (CRLF line ends, as RFC 4566 wants) into buf. Returns its
 * length, -EINVAL (bad parameters) or -ENOBUFS. */
int sdp_write(const struct sdp_params *p, char *buf, size_t cap);

#define SDP_MAX_TEXT 4096        /* longest SDP sdp_parse reads */
#define SDP_MAX_LINE 1024        /* longest line, its end excluded */
#define SDP_MAX_NAME 255         /* longest s= */
#define SDP_MAX_ADDR 63          /* longest c= address (an IPv6 one is 45) */

struct sdp_info {
  char name[SDP_MAX_NAME + 1];   /* s=, terminated */
  char addr[SDP_MAX_ADDR + 1];   /* the stream's c= address (media level, else
                                    session level), numeric, without /TTL */
  int ipv6;                      /* c=IN IP6 */
  int ttl;                       /* IPv4 group's /TTL; 0: none given */
  int port;                      /* the first m=audio's, 1..65535 */
  int savp;                      /* its profile: 0 RTP/AVP, 1 RTP/SAVP */
  int pt;                        /* its first payload type, 0..127 */
  int opus;                      /* an a=rtpmap for pt says opus/48000 */
  int channels;                  /* that rtpmap's channels (1 when not given) */
  int has_crypto;                /* an a=crypto line (session or that media) */
};

enum sdp_error {
  SDP_OK = 0,
  SDP_ERR_LENGTH = -1,           /* empty, or longer than SDP_MAX_TEXT */
  SDP_ERR_VERSION = -2,          /* does not start with v=0 */
  SDP_ERR_LINE = -3,             /* a line without "x=", too long, or with a control character */
  SDP_ERR_NAME = -4,             /* no s=, an empty one, or longer than SDP_MAX_NAME */
  SDP_ERR_CONNECTION = -5,       /* no c= for the stream, or not IN IP4/IP6 and a numeric address */
  SDP_ERR_NO_MEDIA = -6,         /* no m=audio */
  SDP_ERR_PORT = -7,             /* its port not 1..65535 */
  SDP_ERR_PROTO = -8,            /* its profile not RTP/AVP or RTP/SAVP */
  SDP_ERR_FORMAT = -9,           /* its payload type missing or not 0..127 */
};

/* Parses len bytes of SDP text (CRLF or LF line ends) into out (zeroed
 * first, and left zeroed on an error). Returns SDP_OK or an sdp_error. */
int sdp_parse(const char *text, size_t len, struct sdp_info *out);

const char *sdp_strerror(int err);

#endif /* DL_SDP_H */
