/* RTCP packing and parsing (see rtcp.h).
 *
 * The parser reads a compound packet twice: first only the four-byte
 * headers (version, length, padding, first type: RFC 3550 A.2), so that
 * a datagram whose framing is wrong is refused before any content is
 * looked at; then each packet's content, with every count and length
 * checked against what is left of that packet (padding removed) before
 * the bytes it names are read. *out is written only by the second pass
 * and wiped again if it fails, so a refused datagram leaves nothing. */
#include "wire/rtcp.h"

#include <math.h>
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

#define HEADER_LEN 4
#define SENDER_INFO_LEN 20
#define VOIP_BODY_LEN 32     /* VoIP Metrics after its block header: 8 words */
#define RRT_BODY_LEN 8
#define DLRR_ITEM_LEN 12
#define MAX_PACKET_LEN (4u * 65536u)   /* what a 16-bit length in words can say */

/* The RFC's padding bit, count and length fields of one packet header;
 * len_bytes is the whole packet, a multiple of 4. */
static void put_header(uint8_t *p, unsigned count, unsigned pt, size_t len_bytes)
{
  p[0] = (uint8_t)(RTCP_VERSION << 6 | (count & 0x1f));
  p[1] = (uint8_t)pt;
  put16(p + 2, (uint16_t)(len_bytes / 4 - 1));
}

/* Bytes of a NUL-terminated text up to RTCP_MAX_TEXT + 1 (one too many
 * says "too long" without running along an unterminated buffer). */
static size_t text_len(const char *s)
{
  size_t n = 0;
  while (n <= RTCP_MAX_TEXT && s[n] != '\0')
    n++;
  return n;
}

static size_t round4(size_t n) { return (n + 3) & ~(size_t)3; }

/* ---- report blocks, SR, RR ---------------------------------------------- */

int32_t rtcp_clamp_lost(int64_t lost)
{
  if (lost > 0x7fffff)
    return 0x7fffff;
  if (lost < -0x800000)
    return -0x800000;
  return (int32_t)lost;
}

static void put_block(uint8_t *p, const struct rtcp_report_block *b)
{
  uint32_t lost = (uint32_t)rtcp_clamp_lost(b->cumulative_lost) & 0xffffff;

  put32(p, b->ssrc);
  put32(p + 4, (uint32_t)b->fraction_lost << 24 | lost);
  put32(p + 8, b->ext_highest_seq);
  put32(p + 12, b->jitter);
  put32(p + 16, b->lsr);
  put32(p + 20, b->dlsr);
}

static void get_block(const uint8_t *p, struct rtcp_report_block *b)
{
  uint32_t w = get32(p + 4);
  int32_t lost = (int32_t)(w & 0xffffff);

  if (lost & 0x800000)
    lost -= 0x1000000;   /* sign-extend the 24-bit field */
  b->ssrc = get32(p);
  b->fraction_lost = (uint8_t)(w >> 24);
  b->cumulative_lost = lost;
  b->ext_highest_seq = get32(p + 8);
  b->jitter = get32(p + 12);
  b->lsr = get32(p + 16);
  b->dlsr = get32(p + 20);
}

int rtcp_pack_sr(const struct rtcp_sender_info *sr, const struct rtcp_report_block *blocks,
                 unsigned n, uint8_t *buf, size_t cap)
{
  size_t need = HEADER_LEN + 4 + SENDER_INFO_LEN + (size_t)RTCP_REPORT_BLOCK_LEN * n;

  if (sr == NULL || n > RTCP_MAX_REPORTS || (n > 0 && blocks == NULL))
    return RTCP_ERR_ARG;
  if (buf == NULL || cap < need)
    return RTCP_ERR_NOBUFS;
  put_header(buf, n, RTCP_PT_SR, need);
  put32(buf + 4, sr->ssrc);
  put32(buf + 8, (uint32_t)(sr->ntp >> 32));
  put32(buf + 12, (uint32_t)sr->ntp);
  put32(buf + 16, sr->rtp_ts);
  put32(buf + 20, sr->packet_count);
  put32(buf + 24, sr->octet_count);
  for (unsigned i = 0; i < n; i++)
    put_block(buf + 28 + RTCP_REPORT_BLOCK_LEN * i, &blocks[i]);
  return (int)need;
}

int rtcp_pack_rr(uint32_t ssrc, const struct rtcp_report_block *blocks, unsigned n,
                 uint8_t *buf, size_t cap)
{
  size_t need = HEADER_LEN + 4 + (size_t)RTCP_REPORT_BLOCK_LEN * n;

  if (n > RTCP_MAX_REPORTS || (n > 0 && blocks == NULL))
    return RTCP_ERR_ARG;
  if (buf == NULL || cap < need)
    return RTCP_ERR_NOBUFS;
  put_header(buf, n, RTCP_PT_RR, need);
  put32(buf + 4, ssrc);
  for (unsigned i = 0; i < n; i++)
    put_block(buf + 8 + RTCP_REPORT_BLOCK_LEN * i, &blocks[i]);
  return (int)need;
}

/* ---- SDES ----------------------------------------------------------------- */

/* The bytes one item takes (0 when absent), or 0 with *bad set when its
 * text is too long. */
static size_t item_size(const char *text, int *bad)
{
  size_t n;

  if (text == NULL)
    return 0;
  n = text_len(text);
  if (n > RTCP_MAX_TEXT)
    *bad = 1;
  return 2 + n;
}

static size_t put_item(uint8_t *p, unsigned type, const char *text)
{
  size_t n;

  if (text == NULL)
    return 0;
  n = text_len(text);
  p[0] = (uint8_t)type;
  p[1] = (uint8_t)n;
  memcpy(p + 2, text, n);
  return 2 + n;
}

int rtcp_pack_sdes(const struct rtcp_sdes_chunk *chunks, unsigned n, uint8_t *buf, size_t cap)
{
  size_t need = HEADER_LEN, off;
  int bad = 0;

  if (n > RTCP_MAX_SDES_CHUNKS || (n > 0 && chunks == NULL))
    return RTCP_ERR_ARG;
  /* Size first: each chunk is its SSRC, its items, the null that ends
   * them and nulls up to the next 32-bit boundary. */
  for (unsigned i = 0; i < n; i++) {
    size_t c = 4 + item_size(chunks[i].cname, &bad) + item_size(chunks[i].name, &bad) +
               item_size(chunks[i].tool, &bad) + 1;
    need += round4(c);
  }
  if (bad)
    return RTCP_ERR_ARG;
  if (buf == NULL || cap < need)
    return RTCP_ERR_NOBUFS;
  put_header(buf, n, RTCP_PT_SDES, need);
  off = HEADER_LEN;
  for (unsigned i = 0; i < n; i++) {
    size_t start = off;
    put32(buf + off, chunks[i].ssrc);
    off += 4;
    off += put_item(buf + off, RTCP_SDES_CNAME, chunks[i].cname);
    off += put_item(buf + off, RTCP_SDES_NAME, chunks[i].name);
    off += put_item(buf + off, RTCP_SDES_TOOL, chunks[i].tool);
    size_t end = start + round4(off + 1 - start);
    memset(buf + off, 0, end - off);   /* the terminator and the chunk's padding */
    off = end;
  }
  return (int)need;
}

/* ---- BYE ------------------------------------------------------------------ */

int rtcp_pack_bye(const uint32_t *ssrcs, unsigned n, const char *reason, uint8_t *buf,
                  size_t cap)
{
  size_t rlen = reason != NULL ? text_len(reason) : 0;
  size_t need = HEADER_LEN + 4 * (size_t)n + (reason != NULL ? round4(1 + rlen) : 0);

  if (n > RTCP_MAX_BYE || (n > 0 && ssrcs == NULL) || rlen > RTCP_MAX_TEXT)
    return RTCP_ERR_ARG;
  if (buf == NULL || cap < need)
    return RTCP_ERR_NOBUFS;
  put_header(buf, n, RTCP_PT_BYE, need);
  for (unsigned i = 0; i < n; i++)
    put32(buf + HEADER_LEN + 4 * i, ssrcs[i]);
  if (reason != NULL) {
    uint8_t *p = buf + HEADER_LEN + 4 * n;
    size_t room = need - (HEADER_LEN + 4 * (size_t)n);
    memset(p, 0, room);
    p[0] = (uint8_t)rlen;
    memcpy(p + 1, reason, rlen);
  }
  return (int)need;
}

/* ---- XR ------------------------------------------------------------------- */

static void put_voip(uint8_t *p, const struct rtcp_voip_metrics *v)
{
  put32(p, v->ssrc);
  p[4] = v->loss_rate;
  p[5] = v->discard_rate;
  p[6] = v->burst_density;
  p[7] = v->gap_density;
  put16(p + 8, v->burst_duration);
  put16(p + 10, v->gap_duration);
  put16(p + 12, v->round_trip_delay);
  put16(p + 14, v->end_system_delay);
  p[16] = (uint8_t)v->signal_level;
  p[17] = (uint8_t)v->noise_level;
  p[18] = v->rerl;
  p[19] = v->gmin;
  p[20] = v->r_factor;
  p[21] = v->ext_r_factor;
  p[22] = v->mos_lq;
  p[23] = v->mos_cq;
  p[24] = v->rx_config;
  p[25] = 0;
  put16(p + 26, v->jb_nominal);
  put16(p + 28, v->jb_maximum);
  put16(p + 30, v->jb_abs_max);
}

static void get_voip(const uint8_t *p, struct rtcp_voip_metrics *v)
{
  v->ssrc = get32(p);
  v->loss_rate = p[4];
  v->discard_rate = p[5];
  v->burst_density = p[6];
  v->gap_density = p[7];
  v->burst_duration = get16(p + 8);
  v->gap_duration = get16(p + 10);
  v->round_trip_delay = get16(p + 12);
  v->end_system_delay = get16(p + 14);
  v->signal_level = (int8_t)p[16];
  v->noise_level = (int8_t)p[17];
  v->rerl = p[18];
  v->gmin = p[19];
  v->r_factor = p[20];
  v->ext_r_factor = p[21];
  v->mos_lq = p[22];
  v->mos_cq = p[23];
  v->rx_config = p[24];
  v->jb_nominal = get16(p + 26);
  v->jb_maximum = get16(p + 28);
  v->jb_abs_max = get16(p + 30);
}

/* An XR block header: type, a reserved byte, length in words after it. */
static void put_block_header(uint8_t *p, unsigned type, size_t body_len)
{
  p[0] = (uint8_t)type;
  p[1] = 0;
  put16(p + 2, (uint16_t)(body_len / 4));
}

int rtcp_pack_xr(const struct rtcp_xr *xr, uint8_t *buf, size_t cap)
{
  size_t need = HEADER_LEN + 4, off;

  if (xr == NULL || xr->n_dlrr > RTCP_MAX_DLRR || (xr->n_dlrr > 0 && xr->dlrr == NULL))
    return RTCP_ERR_ARG;
  if (xr->has_rrt)
    need += 4 + RRT_BODY_LEN;
  if (xr->n_dlrr > 0)
    need += 4 + (size_t)DLRR_ITEM_LEN * xr->n_dlrr;
  if (xr->voip != NULL)
    need += 4 + VOIP_BODY_LEN;
  if (buf == NULL || cap < need)
    return RTCP_ERR_NOBUFS;
  /* The count bits of an XR header are reserved (RFC 3611 2): zero. */
  put_header(buf, 0, RTCP_PT_XR, need);
  put32(buf + 4, xr->ssrc);
  off = 8;
  if (xr->has_rrt) {
    put_block_header(buf + off, RTCP_XR_RRT, RRT_BODY_LEN);
    put32(buf + off + 4, (uint32_t)(xr->rrt_ntp >> 32));
    put32(buf + off + 8, (uint32_t)xr->rrt_ntp);
    off += 4 + RRT_BODY_LEN;
  }
  if (xr->n_dlrr > 0) {
    put_block_header(buf + off, RTCP_XR_DLRR, (size_t)DLRR_ITEM_LEN * xr->n_dlrr);
    off += 4;
    for (unsigned i = 0; i < xr->n_dlrr; i++) {
      put32(buf + off, xr->dlrr[i].ssrc);
      put32(buf + off + 4, xr->dlrr[i].lrr);
      put32(buf + off + 8, xr->dlrr[i].dlrr);
      off += DLRR_ITEM_LEN;
    }
  }
  if (xr->voip != NULL) {
    put_block_header(buf + off, RTCP_XR_VOIP, VOIP_BODY_LEN);
    put_voip(buf + off + 4, xr->voip);
  }
  return (int)need;
}

/* ---- the compound builder --------------------------------------------------- */

enum {
  STAGE_EMPTY,
  STAGE_REPORT,    /* an SR or RR, and maybe more RRs */
  STAGE_SDES,
  STAGE_XR,
  STAGE_BYE,
  STAGE_DONE
};

void rtcp_builder_init(struct rtcp_builder *b, uint8_t *buf, size_t cap)
{
  memset(b, 0, sizeof *b);
  b->buf = buf;
  b->cap = buf != NULL ? cap : 0;
  b->stage = STAGE_EMPTY;
}

/* Where the next packet goes, or NULL with no buffer (so that no offset
 * is ever added to a NULL pointer; the packers then say NOBUFS). */
static uint8_t *next(struct rtcp_builder *b)
{
  return b->buf != NULL ? b->buf + b->len : NULL;
}

/* Takes a packer's result for the packet just written at b->len. */
static int appended(struct rtcp_builder *b, int rc, int stage)
{
  if (rc < 0) {
    b->err = rc;
    return rc;
  }
  b->last = b->len;
  b->len += (size_t)rc;
  b->stage = stage;
  return 0;
}

static int refuse(struct rtcp_builder *b, int err)
{
  b->err = err;
  return err;
}

int rtcp_builder_sr(struct rtcp_builder *b, const struct rtcp_sender_info *sr,
                    const struct rtcp_report_block *blocks, unsigned n)
{
  if (b->err)
    return b->err;
  if (b->stage != STAGE_EMPTY)
    return refuse(b, RTCP_ERR_ORDER);   /* an SR can only be first */
  if (sr == NULL)
    return refuse(b, RTCP_ERR_ARG);
  b->ssrc = sr->ssrc;
  return appended(b, rtcp_pack_sr(sr, blocks, n, next(b), b->cap - b->len),
                  STAGE_REPORT);
}

int rtcp_builder_rr(struct rtcp_builder *b, uint32_t ssrc, const struct rtcp_report_block *blocks,
                    unsigned n)
{
  if (b->err)
    return b->err;
  if (b->stage == STAGE_REPORT) {
    /* An additional RR (more than 31 sources) is the same reporter's. */
    if (ssrc != b->ssrc)
      return refuse(b, RTCP_ERR_ARG);
  } else if (b->stage != STAGE_EMPTY) {
    return refuse(b, RTCP_ERR_ORDER);
  }
  b->ssrc = ssrc;
  return appended(b, rtcp_pack_rr(ssrc, blocks, n, next(b), b->cap - b->len),
                  STAGE_REPORT);
}

int rtcp_builder_sdes(struct rtcp_builder *b, const struct rtcp_sdes_chunk *chunks, unsigned n)
{
  int found = 0;

  if (b->err)
    return b->err;
  if (b->stage != STAGE_REPORT)
    return refuse(b, RTCP_ERR_ORDER);
  if (n > 0 && chunks == NULL)
    return refuse(b, RTCP_ERR_ARG);
  for (unsigned i = 0; i < n && !found; i++)
    found = chunks[i].ssrc == b->ssrc && chunks[i].cname != NULL;
  if (!found)
    return refuse(b, RTCP_ERR_NO_CNAME);
  return appended(b, rtcp_pack_sdes(chunks, n, next(b), b->cap - b->len), STAGE_SDES);
}

int rtcp_builder_xr(struct rtcp_builder *b, const struct rtcp_xr *xr)
{
  if (b->err)
    return b->err;
  if (b->stage != STAGE_SDES && b->stage != STAGE_XR)
    return refuse(b, RTCP_ERR_ORDER);
  return appended(b, rtcp_pack_xr(xr, next(b), b->cap - b->len), STAGE_XR);
}

int rtcp_builder_bye(struct rtcp_builder *b, const uint32_t *ssrcs, unsigned n,
                     const char *reason)
{
  if (b->err)
    return b->err;
  if (b->stage != STAGE_SDES && b->stage != STAGE_XR)
    return refuse(b, RTCP_ERR_ORDER);
  return appended(b, rtcp_pack_bye(ssrcs, n, reason, next(b), b->cap - b->len),
                  STAGE_BYE);
}

int rtcp_builder_finish(struct rtcp_builder *b, unsigned pad_to)
{
  size_t pad = 0;

  if (b->err)
    return b->err;
  if (b->stage == STAGE_EMPTY || b->stage == STAGE_DONE)
    return refuse(b, RTCP_ERR_ORDER);
  if (b->stage == STAGE_REPORT)
    return refuse(b, RTCP_ERR_NO_CNAME);
  if (pad_to != 0 && (pad_to % 4 != 0 || pad_to > 256))
    return refuse(b, RTCP_ERR_ARG);
  if (pad_to != 0)
    pad = (pad_to - b->len % pad_to) % pad_to;
  if (pad > 0) {
    uint8_t *last = b->buf + b->last;
    size_t words = get16(last + 2) + 1 + pad / 4;
    if (b->cap - b->len < pad)
      return refuse(b, RTCP_ERR_NOBUFS);
    if (words > MAX_PACKET_LEN / 4)
      return refuse(b, RTCP_ERR_ARG);
    memset(b->buf + b->len, 0, pad);
    b->buf[b->len + pad - 1] = (uint8_t)pad;
    last[0] |= 0x20;
    put16(last + 2, (uint16_t)(words - 1));
    b->len += pad;
  }
  if (b->len > 0x7fffffff)
    return refuse(b, RTCP_ERR_NOBUFS);
  b->stage = STAGE_DONE;
  return (int)b->len;
}

/* ---- parsing ---------------------------------------------------------------- */

/* Pass 1: the headers alone (RFC 3550 A.2). */
static int check_framing(const uint8_t *buf, size_t len)
{
  size_t off = 0;

  if (buf == NULL || len < RTCP_MIN_LEN)
    return RTCP_ERR_SHORT;
  for (unsigned i = 0; off < len; i++) {
    size_t plen;

    if (len - off < HEADER_LEN)
      return RTCP_ERR_LENGTH_SUM;
    if (buf[off] >> 6 != RTCP_VERSION)
      return RTCP_ERR_VERSION;
    if (i == 0 && buf[off + 1] != RTCP_PT_SR && buf[off + 1] != RTCP_PT_RR)
      return RTCP_ERR_FIRST_TYPE;
    plen = 4 * ((size_t)get16(buf + off + 2) + 1);
    if (plen > len - off)
      return RTCP_ERR_LENGTH;
    if (buf[off] & 0x20) {
      /* The last byte counts the padding, itself included (6.4.1). */
      uint8_t pad = buf[off + plen - 1];
      if (off + plen != len)
        return RTCP_ERR_PADDING_NOT_LAST;
      if (pad == 0 || pad % 4 != 0 || pad > plen - HEADER_LEN)
        return RTCP_ERR_PADDING_COUNT;
    }
    off += plen;
  }
  return RTCP_OK;
}

/* What pass 2 carries from packet to packet. */
struct walk {
  struct rtcp_info *out;
  int first;                /* this is the compound's first packet */
  int sender_chunk_seen;    /* the reporter's SDES chunk was read */
};

static void copy_text(char *dst, const uint8_t *src, size_t n)
{
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static int parse_report(struct walk *w, const uint8_t *p, size_t n, unsigned count, int is_sr)
{
  struct rtcp_info *out = w->out;
  size_t fixed = 4 + (is_sr ? SENDER_INFO_LEN : 0);

  if (n < fixed)
    return RTCP_ERR_REPORT_SHORT;
  if ((n - fixed) / RTCP_REPORT_BLOCK_LEN < count)
    return RTCP_ERR_REPORT_COUNT;
  if (w->first) {
    out->ssrc = get32(p);
    if (is_sr) {
      out->has_sr = 1;
      out->sr.ssrc = out->ssrc;
      out->sr.ntp = (uint64_t)get32(p + 4) << 32 | get32(p + 8);
      out->sr.rtp_ts = get32(p + 12);
      out->sr.packet_count = get32(p + 16);
      out->sr.octet_count = get32(p + 20);
    }
  }
  for (unsigned i = 0; i < count; i++) {
    if (out->n_reports < RTCP_MAX_REPORTS)
      get_block(p + fixed + RTCP_REPORT_BLOCK_LEN * i, &out->reports[out->n_reports++]);
    else
      out->reports_dropped++;
  }
  return RTCP_OK;
}

static int parse_sdes(struct walk *w, const uint8_t *p, size_t n, unsigned count)
{
  struct rtcp_info *out = w->out;
  size_t off = 0;

  for (unsigned c = 0; c < count; c++) {
    uint32_t ssrc;
    int mine;

    if (n - off < 4)
      return RTCP_ERR_SDES_CHUNK;
    ssrc = get32(p + off);
    off += 4;
    if (out->n_sdes_chunks < RTCP_MAX_SDES_CHUNKS)
      out->sdes_ssrc[out->n_sdes_chunks++] = ssrc;
    else
      out->sdes_chunks_dropped++;
    mine = !w->sender_chunk_seen && ssrc == out->ssrc;
    if (mine)
      w->sender_chunk_seen = 1;
    for (;;) {
      unsigned type, ilen;

      if (off >= n)
        return RTCP_ERR_SDES_END;
      type = p[off];
      if (type == RTCP_SDES_END) {
        /* The null, then nulls to the next 32-bit boundary; n is whole
         * words, so the boundary is inside the packet. */
        off = round4(off + 1);
        break;
      }
      if (n - off < 2)
        return RTCP_ERR_SDES_ITEM;
      ilen = p[off + 1];
      if (n - off - 2 < ilen)
        return RTCP_ERR_SDES_ITEM;
      if (mine) {
        const uint8_t *text = p + off + 2;
        if (type == RTCP_SDES_CNAME && !out->has_cname) {
          out->has_cname = 1;
          copy_text(out->cname, text, ilen);
        } else if (type == RTCP_SDES_NAME && !out->has_name) {
          out->has_name = 1;
          copy_text(out->name, text, ilen);
        } else if (type == RTCP_SDES_TOOL && !out->has_tool) {
          out->has_tool = 1;
          copy_text(out->tool, text, ilen);
        }
      }
      off += 2 + ilen;
    }
  }
  return RTCP_OK;
}

static int parse_bye(struct walk *w, const uint8_t *p, size_t n, unsigned count)
{
  struct rtcp_info *out = w->out;
  size_t off = 4 * (size_t)count;

  if (n / 4 < count)
    return RTCP_ERR_BYE_COUNT;
  if (off < n) {
    unsigned rlen = p[off];
    if (n - off - 1 < rlen)
      return RTCP_ERR_BYE_REASON;
    if (!out->has_bye_reason) {
      out->has_bye_reason = 1;
      copy_text(out->bye_reason, p + off + 1, rlen);
    }
  }
  out->has_bye = 1;
  for (unsigned i = 0; i < count; i++) {
    if (out->n_bye < RTCP_MAX_BYE)
      out->bye_ssrc[out->n_bye++] = get32(p + 4 * i);
    else
      out->bye_dropped++;
  }
  return RTCP_OK;
}

static int parse_xr(struct walk *w, const uint8_t *p, size_t n)
{
  struct rtcp_info *out = w->out;
  size_t off = 4;

  if (n < 4)
    return RTCP_ERR_XR_SHORT;
  if (!out->has_xr) {
    out->has_xr = 1;
    out->xr_ssrc = get32(p);
  }
  while (off < n) {
    const uint8_t *q;
    size_t blen;

    if (n - off < 4)
      return RTCP_ERR_XR_BLOCK;
    blen = 4 * (size_t)get16(p + off + 2);
    if (n - off - 4 < blen)
      return RTCP_ERR_XR_BLOCK;
    q = p + off + 4;
    switch (p[off]) {
    case RTCP_XR_RRT:
      if (blen != RRT_BODY_LEN)
        return RTCP_ERR_XR_BLOCK_LENGTH;
      if (!out->has_rrt) {
        out->has_rrt = 1;
        out->rrt_ntp = (uint64_t)get32(q) << 32 | get32(q + 4);
      }
      break;
    case RTCP_XR_DLRR:
      if (blen % DLRR_ITEM_LEN != 0)
        return RTCP_ERR_XR_BLOCK_LENGTH;
      for (size_t i = 0; i < blen / DLRR_ITEM_LEN; i++) {
        const uint8_t *d = q + DLRR_ITEM_LEN * i;
        if (out->n_dlrr < RTCP_MAX_DLRR) {
          struct rtcp_dlrr_item *it = &out->dlrr[out->n_dlrr++];
          it->ssrc = get32(d);
          it->lrr = get32(d + 4);
          it->dlrr = get32(d + 8);
        } else {
          out->dlrr_dropped++;
        }
      }
      break;
    case RTCP_XR_VOIP:
      if (blen != VOIP_BODY_LEN)
        return RTCP_ERR_XR_BLOCK_LENGTH;
      if (!out->has_voip) {
        out->has_voip = 1;
        get_voip(q, &out->voip);
      }
      break;
    default:
      break;   /* other block types: skipped by their length */
    }
    off += 4 + blen;
  }
  return RTCP_OK;
}

/* Pass 2: the content of each packet, framing already known good. */
static int walk_packets(const uint8_t *buf, size_t len, struct rtcp_info *out)
{
  struct walk w = {out, 1, 0};
  size_t off = 0;

  while (off < len) {
    unsigned count = buf[off] & 0x1f, pt = buf[off + 1];
    size_t plen = 4 * ((size_t)get16(buf + off + 2) + 1);
    size_t pad = (buf[off] & 0x20) ? buf[off + plen - 1] : 0;
    const uint8_t *body = buf + off + HEADER_LEN;
    size_t n = plen - HEADER_LEN - pad;
    int rc;

    out->n_packets++;
    switch (pt) {
    case RTCP_PT_SR: rc = parse_report(&w, body, n, count, 1); break;
    case RTCP_PT_RR: rc = parse_report(&w, body, n, count, 0); break;
    case RTCP_PT_SDES: rc = parse_sdes(&w, body, n, count); break;
    case RTCP_PT_BYE: rc = parse_bye(&w, body, n, count); break;
    case RTCP_PT_XR: rc = parse_xr(&w, body, n); break;
    default:
      out->n_skipped++;   /* APP, RTPFB, PSFB, ...: skipped by their length */
      rc = RTCP_OK;
      break;
    }
    if (rc != RTCP_OK)
      return rc;
    w.first = 0;
    off += plen;
  }
  return RTCP_OK;
}

int rtcp_parse(const uint8_t *buf, size_t len, struct rtcp_info *out)
{
  int rc;

  if (out == NULL)
    return RTCP_ERR_ARG;
  memset(out, 0, sizeof *out);
  rc = check_framing(buf, len);
  if (rc == RTCP_OK)
    rc = walk_packets(buf, len, out);
  if (rc != RTCP_OK)
    memset(out, 0, sizeof *out);
  return rc;
}

int rtcp_is_rtcp(const uint8_t *buf, size_t len)
{
  return buf != NULL && len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

/* ---- time --------------------------------------------------------------------- */

#define NS_PER_S 1000000000LL

uint64_t rtcp_ntp_from_ns(int64_t realtime_ns)
{
  int64_t sec = realtime_ns / NS_PER_S, rem = realtime_ns % NS_PER_S;
  uint64_t frac;

  if (rem < 0) {   /* floor division, for times before 1970 */
    rem += NS_PER_S;
    sec--;
  }
  /* rem < 2^30, so rem << 32 fits; the seconds wrap as NTP's era does. */
  frac = ((uint64_t)rem << 32) / NS_PER_S;
  return (uint64_t)(uint32_t)((uint64_t)sec + RTCP_NTP_UNIX_OFFSET) << 32 | frac;
}

int64_t rtcp_ntp_to_ns(uint64_t ntp)
{
  uint32_t sec = (uint32_t)(ntp >> 32);
  uint64_t frac = (uint32_t)ntp;
  int64_t unix_sec;

  if (sec >= RTCP_NTP_UNIX_OFFSET)
    unix_sec = (int64_t)sec - RTCP_NTP_UNIX_OFFSET;
  else
    unix_sec = (int64_t)sec + (1LL << 32) - RTCP_NTP_UNIX_OFFSET;   /* era 1 */
  return unix_sec * NS_PER_S + (int64_t)((frac * NS_PER_S + (1ull << 31)) >> 32);
}

uint32_t rtcp_dlsr_from_ns(int64_t ns)
{
  if (ns <= 0)
    return 0;
  if (ns >= 65536 * NS_PER_S)
    return 0xffffffffu;
  /* ns < 2^46, so ns << 16 fits in 62 bits. */
  uint64_t q = (((uint64_t)ns << 16) + NS_PER_S / 2) / NS_PER_S;
  return q > 0xffffffffu ? 0xffffffffu : (uint32_t)q;
}

int64_t rtcp_dlsr_to_ns(uint32_t q16)
{
  return (int64_t)(((uint64_t)q16 * NS_PER_S + (1u << 15)) >> 16);
}

int64_t rtcp_rtt_ns(uint32_t arrival, uint32_t lsr, uint32_t dlsr)
{
  uint32_t elapsed = arrival - lsr;   /* modulo 2^32: right across the wrap */

  if (lsr == 0)
    return RTCP_ERR_NO_SR;
  /* More than half the circle (9.1 hours) means "before": a clock that
   * stepped back, or a block about somebody else's SR. */
  if (elapsed >= 0x80000000u || dlsr > elapsed)
    return RTCP_ERR_RTT_NEGATIVE;
  return rtcp_dlsr_to_ns(elapsed - dlsr);
}

/* ---- report statistics ----------------------------------------------------------- */

void rtcp_rxstats_init(struct rtcp_rxstats *s)
{
  memset(s, 0, sizeof *s);
}

void rtcp_rxstats_arrival(struct rtcp_rxstats *s, uint32_t rtp_ts, uint32_t arrival_rtp)
{
  uint32_t transit = arrival_rtp - rtp_ts;

  if (s->have_transit) {
    int32_t d = (int32_t)(transit - s->transit);
    uint64_t ad = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
    /* A.8's integer form: J += (|D| - J) / 16 with J kept times 16; the
     * subtraction cannot go below 0 because (J + 8) / 16 <= J for J >= 1. */
    s->jitter_q4 = s->jitter_q4 + ad - ((s->jitter_q4 + 8) >> 4);
  }
  s->transit = transit;
  s->have_transit = 1;
}

uint32_t rtcp_rxstats_jitter(const struct rtcp_rxstats *s)
{
  uint64_t j = s->jitter_q4 >> 4;
  return j > 0xffffffffu ? 0xffffffffu : (uint32_t)j;
}

uint8_t rtcp_fraction_lost(uint32_t expected_interval, uint32_t received_interval)
{
  int64_t lost = (int64_t)expected_interval - (int64_t)received_interval;
  int64_t f;

  if (expected_interval == 0 || lost <= 0)
    return 0;
  f = (lost << 8) / expected_interval;
  /* All of an interval lost gives 256: the field holds 255. */
  return f > 255 ? 255 : (uint8_t)f;
}

void rtcp_rxstats_report(struct rtcp_rxstats *s, uint32_t expected, uint32_t received,
                         struct rtcp_report_block *rb)
{
  uint32_t expected_interval = expected - s->expected_prior;
  uint32_t received_interval = received - s->received_prior;

  s->expected_prior = expected;
  s->received_prior = received;
  rb->fraction_lost = rtcp_fraction_lost(expected_interval, received_interval);
  /* Counts modulo 2^32: their difference as a signed distance. */
  rb->cumulative_lost = rtcp_clamp_lost((int32_t)(expected - received));
  rb->jitter = rtcp_rxstats_jitter(s);
}

uint32_t rtcp_rtp_units(int64_t ns, uint32_t rate)
{
  uint64_t sec, rem;

  if (ns < 0)
    ns = 0;
  sec = (uint64_t)ns / NS_PER_S;
  rem = (uint64_t)ns % NS_PER_S;
  /* Split so that ns * rate cannot overflow for any ns. */
  return (uint32_t)(sec * rate + rem * rate / NS_PER_S);
}

/* ---- VoIP Metrics encodings ---------------------------------------------------- */

uint8_t rtcp_xr_rate(double fraction)
{
  double v;

  if (!(fraction > 0))
    return 0;   /* negative or NaN */
  v = fraction * 256.0;
  return v >= 255.0 ? 255 : (uint8_t)v;
}

uint8_t rtcp_xr_mos(double mos)
{
  double v;

  if (isnan(mos))
    return RTCP_XR_UNAVAILABLE;
  v = floor(mos * 10.0 + 0.5);
  if (v < 10)
    return 10;
  if (v > 50)
    return 50;
  return (uint8_t)v;
}

uint8_t rtcp_xr_r(double r)
{
  double v;

  if (isnan(r))
    return RTCP_XR_UNAVAILABLE;
  v = floor(r + 0.5);
  if (v < 0)
    return 0;
  if (v > 100)
    return 100;
  return (uint8_t)v;
}

/* ---- transmission interval ------------------------------------------------------- */

/* e - 3/2: the timer reconsideration algorithm converges to a lower
 * average interval than intended; dividing by this brings it back
 * (RFC 3550 6.3.1, A.7). */
#define RTCP_COMPENSATION (2.71828182845904523536 - 1.5)

int64_t rtcp_interval_ns(const struct rtcp_interval_params *p, double u)
{
  double tmin = (p->min_interval_ns > 0 ? (double)p->min_interval_ns
                                        : DL_RTCP_MIN_INTERVAL_MS * 1e6) / 1e9;
  double sender_share = DL_RTCP_SENDER_BW_PERMILLE / 1000.0;
  double bw = p->rtcp_bw, t, ns;
  unsigned members = p->members > 0 ? p->members : 1;
  unsigned senders = p->senders < members ? p->senders : members;
  unsigned n = members;

  if (p->initial)
    tmin /= 2;
  /* When senders are few, they share a quarter of the bandwidth and the
   * receivers the rest, so that a sender's reports are not slowed by a
   * crowd of receivers (6.3.1). */
  if (senders <= members * sender_share) {
    if (p->we_sent) {
      bw *= sender_share;
      n = senders;
    } else {
      bw *= 1 - sender_share;
      n = members - senders;
    }
  }
  t = bw > 0 ? p->avg_rtcp_size * n / bw : 0;
  if (!(t >= tmin))
    t = tmin;   /* also NaN from a bad size or bandwidth */
  if (!(u >= 0))
    u = 0;
  if (u > 1)
    u = 1;
  t = t * (u + 0.5) / RTCP_COMPENSATION;
  ns = t * 1e9;
  if (!(ns < 9.2e18))
    return INT64_MAX;
  return (int64_t)(ns + 0.5);
}

double rtcp_avg_size_update(double avg, size_t bytes)
{
  return avg + ((double)bytes - avg) / 16.0;
}

/* ---- errors ------------------------------------------------------------------------ */

const char *rtcp_strerror(int err)
{
  switch (err) {
  case RTCP_OK: return "ok";
  case RTCP_ERR_SHORT: return "shorter than an RTCP receiver report (8 bytes)";
  case RTCP_ERR_VERSION: return "RTCP version is not 2";
  case RTCP_ERR_FIRST_TYPE: return "first RTCP packet is not SR or RR";
  case RTCP_ERR_LENGTH: return "RTCP length runs past the datagram";
  case RTCP_ERR_LENGTH_SUM: return "RTCP lengths do not add up to the datagram";
  case RTCP_ERR_PADDING_NOT_LAST: return "padding on an RTCP packet that is not the last";
  case RTCP_ERR_PADDING_COUNT: return "bad RTCP padding count";
  case RTCP_ERR_REPORT_SHORT: return "SR or RR shorter than its fixed part";
  case RTCP_ERR_REPORT_COUNT: return "report count past the packet end";
  case RTCP_ERR_SDES_CHUNK: return "SDES source count past the packet end";
  case RTCP_ERR_SDES_ITEM: return "SDES item runs past the packet end";
  case RTCP_ERR_SDES_END: return "SDES chunk without a null terminator";
  case RTCP_ERR_BYE_COUNT: return "BYE source count past the packet end";
  case RTCP_ERR_BYE_REASON: return "BYE reason runs past the packet end";
  case RTCP_ERR_XR_SHORT: return "XR packet without its SSRC";
  case RTCP_ERR_XR_BLOCK: return "XR block runs past the packet end";
  case RTCP_ERR_XR_BLOCK_LENGTH: return "XR block of a length its type does not allow";
  case RTCP_ERR_NOBUFS: return "buffer too small";
  case RTCP_ERR_ARG: return "invalid argument (count or text too long)";
  case RTCP_ERR_ORDER: return "RTCP packets out of compound order";
  case RTCP_ERR_NO_CNAME: return "no SDES CNAME for the reporting SSRC";
  case RTCP_ERR_NO_SR: return "no sender report received yet (LSR 0)";
  case RTCP_ERR_RTT_NEGATIVE: return "report delay exceeds the time elapsed";
  default: return "unknown error";
  }
}

double rtcp_interval_draw(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return (double)(x >> 11) / 9007199254740992.0;
}

/* ---- the session's members -------------------------------------------------- */

static int member_index(const struct rtcp_members *m, uint32_t ssrc)
{
  for (unsigned i = 0; i < m->n; i++)
    if (m->ssrc[i] == ssrc)
      return (int)i;
  return -1;
}

void rtcp_members_heard(struct rtcp_members *m, uint32_t ssrc, int64_t now_ns)
{
  int i = member_index(m, ssrc);

  if (i < 0 && m->n < RTCP_MEMBERS_MAX)
    i = (int)m->n++;
  if (i < 0) {   /* full: the one heard longest ago gives way */
    i = 0;
    for (unsigned k = 1; k < m->n; k++)
      if (m->heard_ns[k] < m->heard_ns[i])
        i = (int)k;
  }
  m->ssrc[i] = ssrc;
  m->heard_ns[i] = now_ns;
}

static void member_remove(struct rtcp_members *m, unsigned i)
{
  m->n--;
  m->ssrc[i] = m->ssrc[m->n];
  m->heard_ns[i] = m->heard_ns[m->n];
}

void rtcp_members_left(struct rtcp_members *m, uint32_t ssrc)
{
  int i = member_index(m, ssrc);
  if (i >= 0)
    member_remove(m, (unsigned)i);
}

unsigned rtcp_members_expire(struct rtcp_members *m, int64_t now_ns, int64_t timeout_ns)
{
  for (unsigned i = 0; i < m->n;)
    if (now_ns - m->heard_ns[i] > timeout_ns)
      member_remove(m, i);
    else
      i++;
  return m->n;
}

void rtcp_members_take(struct rtcp_members *m, const struct rtcp_info *in, uint32_t own_ssrc,
                       int64_t now_ns)
{
  if (in->ssrc != own_ssrc)
    rtcp_members_heard(m, in->ssrc, now_ns);
  for (unsigned i = 0; i < in->n_bye; i++)
    if (in->bye_ssrc[i] != own_ssrc)
      rtcp_members_left(m, in->bye_ssrc[i]);
}

int rtcp_members_has(const struct rtcp_members *m, uint32_t ssrc)
{
  return member_index(m, ssrc) >= 0;
}
