/* An SDP (RFC 4566) that describes the sender's stream to a third-party
 * receiver: ffmpeg/ffplay (-protocol_whitelist file,udp,rtp -i x.sdp),
 * GStreamer (sdpdemux), VLC. Opus per RFC 7587: the rtpmap is always
 * opus/48000/2 whatever the channel count; stereo and sprop-stereo say
 * what is actually sent. Pure: writes into the caller's buffer. */
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
  uint64_t session_id;     /* o= session id and version */
  const char *session_name;/* s=, NULL: "driftless" */
  const char *crypto;      /* NULL, or the value of an a=crypto line (SRTP:
                              "1 AES_CM_128_HMAC_SHA1_80 inline:KEY"); the
                              profile becomes RTP/SAVP */
};

/* Writes the SDP (CRLF line ends, as RFC 4566 wants) into buf. Returns its
 * length, -EINVAL (bad parameters) or -ENOBUFS. */
int sdp_write(const struct sdp_params *p, char *buf, size_t cap);

#endif /* DL_SDP_H */
