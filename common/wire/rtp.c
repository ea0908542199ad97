/* RTP header pack and parse. The parser trusts nothing: each field that
 * says how long something is gets checked against what is left of the
 * datagram before the bytes it names are read. */
#include "wire/rtp.h"

#include <opus/opus.h>
#include <string.h>

#include "defaults.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

int rtp_pack(const struct rtp_header *h, const uint8_t *payload, size_t payload_len,
             uint8_t *buf, size_t cap)
{
  unsigned cc = h->csrc_count > RTP_MAX_CSRC ? RTP_MAX_CSRC : h->csrc_count;
  size_t hl = RTP_HEADER_LEN + 4u * cc;

  if (cap < hl || cap - hl < payload_len || hl + payload_len > 0x7fffffff)
    return RTP_ERR_NOBUFS;
  buf[0] = (uint8_t)(RTP_VERSION << 6 | cc);
  buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->payload_type & 0x7f));
  put16(buf + 2, h->seq);
  put32(buf + 4, h->timestamp);
  put32(buf + 8, h->ssrc);
  for (unsigned i = 0; i < cc; i++)
    put32(buf + RTP_HEADER_LEN + 4 * i, h->csrc[i]);
  if (payload_len)
    memcpy(buf + hl, payload, payload_len);
  return (int)(hl + payload_len);
}

int rtp_pack_ext(const struct rtp_header *h, uint16_t profile, const uint8_t *ext, size_t ext_len,
                 const uint8_t *payload, size_t payload_len, uint8_t *buf, size_t cap)
{
  unsigned cc = h->csrc_count > RTP_MAX_CSRC ? RTP_MAX_CSRC : h->csrc_count;
  size_t hl = RTP_HEADER_LEN + 4u * cc;
  int n;

  if (ext_len % 4 != 0 || ext_len / 4 > 0xffff || (ext_len > 0 && ext == NULL))
    return RTP_ERR_EXT;
  if (cap < hl + 4 || cap - hl - 4 < ext_len)
    return RTP_ERR_NOBUFS;
  /* The header and the payload where they go, then the extension moved in
   * between: rtp_pack writes the payload after the CSRCs. */
  n = rtp_pack(h, NULL, 0, buf, cap);
  if (n < 0 || cap - hl - 4 - ext_len < payload_len || hl + 4 + ext_len + payload_len > 0x7fffffff)
    return RTP_ERR_NOBUFS;
  buf[0] |= 0x10;
  put16(buf + hl, profile);
  put16(buf + hl + 2, (uint16_t)(ext_len / 4));
  if (ext_len)
    memcpy(buf + hl + 4, ext, ext_len);
  if (payload_len)
    memcpy(buf + hl + 4 + ext_len, payload, payload_len);
  return (int)(hl + 4 + ext_len + payload_len);
}

int rtp_ext_ntp64(uint8_t *out, unsigned id, uint64_t ntp)
{
  if (id < 1 || id > 14)
    return RTP_ERR_EXT;
  out[0] = (uint8_t)(id << 4 | (RTP_EXT_NTP64_LEN - 1));
  put32(out + 1, (uint32_t)(ntp >> 32));
  put32(out + 5, (uint32_t)ntp);
  out[9] = out[10] = out[11] = 0;   /* padding (ID 0) to the word */
  return RTP_EXT_NTP64_BLOCK;
}

int rtp_ext_find(uint16_t profile, const uint8_t *data, size_t len, unsigned id,
                 const uint8_t **val, size_t *vlen)
{
  size_t off = 0;
  int two = (profile & 0xfff0u) == RTP_EXT_TWO_BYTE;

  if (profile != RTP_EXT_ONE_BYTE && !two)
    return 0;   /* a profile-specific extension: nothing we know inside */
  if (data == NULL)
    return 0;
  while (off < len) {
    unsigned eid, elen;

    if (two) {
      eid = data[off];
      if (eid == 0) {           /* padding */
        off++;
        continue;
      }
      if (len - off < 2)
        return RTP_ERR_EXT;
      elen = data[off + 1];
      off += 2;
    } else {
      eid = data[off] >> 4;
      if (eid == 0) {           /* a padding byte */
        off++;
        continue;
      }
      if (eid == 15)            /* reserved: stop here (RFC 8285 4.2) */
        return 0;
      elen = (data[off] & 0x0fu) + 1;
      off++;
    }
    if (len - off < elen)
      return RTP_ERR_EXT;
    if (eid == id) {
      *val = data + off;
      *vlen = elen;
      return 1;
    }
    off += elen;
  }
  return 0;
}

int rtp_parse(const uint8_t *buf, size_t len, struct rtp_header *h,
              const uint8_t **payload, size_t *payload_len)
{
  size_t off, end;

  if (buf == NULL || len < RTP_HEADER_LEN)
    return RTP_ERR_SHORT;
  h->version = buf[0] >> 6;
  if (h->version != RTP_VERSION)
    return RTP_ERR_VERSION;
  h->padding = (buf[0] >> 5) & 1;
  h->extension = (buf[0] >> 4) & 1;
  h->csrc_count = buf[0] & 0x0f;
  h->marker = buf[1] >> 7;
  h->payload_type = buf[1] & 0x7f;
  h->seq = get16(buf + 2);
  h->timestamp = get32(buf + 4);
  h->ssrc = get32(buf + 8);
  h->ext_profile = 0;
  h->ext_len = 0;
  h->ext_data = NULL;

  off = RTP_HEADER_LEN;
  if (len - off < 4u * h->csrc_count)
    return RTP_ERR_CSRC;
  for (unsigned i = 0; i < h->csrc_count; i++)
    h->csrc[i] = get32(buf + off + 4 * i);
  off += 4u * h->csrc_count;

  if (h->extension) {
    if (len - off < 4)
      return RTP_ERR_EXT;
    h->ext_profile = get16(buf + off);
    h->ext_len = 4u * get16(buf + off + 2);
    off += 4;
    if (len - off < h->ext_len)
      return RTP_ERR_EXT;
    h->ext_data = buf + off;
    off += h->ext_len;
  }

  end = len;
  if (h->padding) {
    /* The last byte counts the padding, itself included. */
    uint8_t pad = buf[len - 1];
    if (pad == 0 || pad > len - off)
      return RTP_ERR_PADDING;
    end -= pad;
  }
  if (end == off)
    return RTP_ERR_EMPTY;
  *payload = buf + off;
  *payload_len = end - off;
  return RTP_OK;
}

int rtp_opus_samples(const uint8_t *payload, size_t len)
{
  const unsigned char *frames[48];
  opus_int16 sizes[48];
  unsigned char toc;
  int n, spf;

  if (payload == NULL || len == 0)
    return RTP_ERR_EMPTY;
  if (len > DL_MAX_PAYLOAD)
    return RTP_ERR_TOO_LONG;
  /* opus_packet_parse checks the TOC, the frame count byte and that every
   * frame length fits in the packet. */
  n = opus_packet_parse(payload, (opus_int32)len, &toc, frames, sizes, NULL);
  if (n <= 0)
    return RTP_ERR_OPUS;
  spf = opus_packet_get_samples_per_frame(payload, DL_RATE);
  if (spf <= 0)
    return RTP_ERR_OPUS;
  if ((long)n * spf > DL_MAX_PACKET_SAMPLES)
    return RTP_ERR_TOO_LONG;
  return n * spf;
}

const char *rtp_strerror(int err)
{
  switch (err) {
  case RTP_OK: return "ok";
  case RTP_ERR_SHORT: return "shorter than an RTP header";
  case RTP_ERR_VERSION: return "RTP version is not 2";
  case RTP_ERR_CSRC: return "CSRC list runs past the end";
  case RTP_ERR_EXT: return "header extension runs past the end";
  case RTP_ERR_PADDING: return "bad padding count";
  case RTP_ERR_EMPTY: return "empty payload";
  case RTP_ERR_OPUS: return "payload is not an Opus packet";
  case RTP_ERR_TOO_LONG: return "Opus packet too long";
  case RTP_ERR_NOBUFS: return "buffer too small";
  default: return "unknown error";
  }
}

int rtp_packet_parse(const uint8_t *buf, size_t len, int64_t arrival_ns, struct rtp_packet *out)
{
  struct rtp_header h;
  const uint8_t *payload = NULL;
  size_t plen = 0;
  int r;

  memset(out, 0, sizeof *out);
  r = rtp_parse(buf, len, &h, &payload, &plen);
  if (r != RTP_OK && r != RTP_ERR_EMPTY)
    return r;
  out->ssrc = h.ssrc;
  out->ts = h.timestamp;
  out->seq = h.seq;
  out->pt = (uint8_t)h.payload_type;
  out->marker = (uint8_t)h.marker;
  out->arrival_ns = arrival_ns;
  if (h.extension) {
    const uint8_t *v;
    size_t vlen;
    if (rtp_ext_find(h.ext_profile, h.ext_data, h.ext_len, DL_RTP_EXT_NTP_ID, &v, &vlen) == 1 &&
        vlen == RTP_EXT_NTP64_LEN) {
      out->ntp = (uint64_t)get32(v) << 32 | get32(v + 4);
      out->has_ntp = 1;
    }
  }
  if (r != RTP_OK)
    return r;
  r = rtp_opus_samples(payload, plen);
  if (r < 0)
    return r;
  out->samples = r;
  out->payload = payload;
  out->len = plen;
  return RTP_OK;
}

int rtp_packet_store(const struct rtp_packet *pkt, uint8_t *slot, size_t cap)
{
  struct rtp_packet rec = *pkt;

  if (cap < sizeof rec || cap - sizeof rec < pkt->len)
    return -ENOBUFS;
  rec.payload = NULL;   /* the reader points it at its own copy */
  memcpy(slot, &rec, sizeof rec);
  memcpy(slot + sizeof rec, pkt->payload, pkt->len);
  return (int)(sizeof rec + pkt->len);
}

int rtp_packet_load(const uint8_t *slot, size_t len, struct rtp_packet *out)
{
  if (len < sizeof *out)
    return -EINVAL;
  memcpy(out, slot, sizeof *out);
  if (len - sizeof *out != out->len)
    return -EINVAL;
  out->payload = slot + sizeof *out;
  return 0;
}
