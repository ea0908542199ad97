#include "wire/sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct out {
  char *buf;
  size_t cap, len;
  int overflow;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (o->overflow)
    return;
  va_start(ap, fmt);
  n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->cap - o->len) {
    o->overflow = 1;
    return;
  }
  o->len += (size_t)n;
}

/* Refuses text that would break the line structure. */
static int clean(const char *s)
{
  return s != NULL && *s != '\0' && strpbrk(s, "\r\n") == NULL;
}

int sdp_write(const struct sdp_params *p, char *buf, size_t cap)
{
  struct out o = {buf, cap, 0, 0};
  const char *ip, *name;

  if (p == NULL || buf == NULL || cap == 0 || !clean(p->addr) || p->port < 1 ||
      p->port > 65535 || p->pt < 0 || p->pt > 127 || p->channels < 1 || p->channels > 2 ||
      p->bitrate <= 0 || p->frame_us <= 0 || p->ntp_ext_id < 0 || p->ntp_ext_id > 14 ||
      (p->crypto != NULL && !clean(p->crypto)) ||
      (p->session_name != NULL && !clean(p->session_name)))
    return -EINVAL;
  ip = p->ipv6 ? "IP6" : "IP4";
  name = p->session_name != NULL ? p->session_name : "driftless";

  put(&o, "v=0\r\n");
  put(&o, "o=- %" PRIu64 " %" PRIu64 " IN %s %s\r\n", p->session_id, p->session_id, ip, p->addr);
  put(&o, "s=%s\r\n", name);
  put(&o, "c=IN %s %s\r\n", ip, p->addr);
  put(&o, "t=0 0\r\n");
  put(&o, "m=audio %d RTP/%s %d\r\n", p->port, p->crypto != NULL || p->savp ? "SAVP" : "AVP", p->pt);
  put(&o, "a=rtpmap:%d opus/48000/2\r\n", p->pt);
  put(&o, "a=fmtp:%d useinbandfec=%d;usedtx=%d;stereo=%d;sprop-stereo=%d;maxaveragebitrate=%d\r\n",
      p->pt, p->fec ? 1 : 0, p->dtx ? 1 : 0, p->channels == 2, p->channels == 2, p->bitrate);
  if (p->frame_us % 1000 == 0)
    put(&o, "a=ptime:%d\r\n", p->frame_us / 1000);
  else
    put(&o, "a=ptime:%d.%d\r\n", p->frame_us / 1000, (p->frame_us % 1000) / 100);
  if (p->ntp_ext_id != 0)
    put(&o, "a=extmap:%d urn:ietf:params:rtp-hdrext:ntp-64\r\n", p->ntp_ext_id);
  if (p->rtcp_mux)
    put(&o, "a=rtcp-mux\r\n");
  if (p->ssrc != 0)
    put(&o, "a=ssrc:%" PRIu32 " cname:driftless\r\n", p->ssrc);
  if (p->crypto != NULL)
    put(&o, "a=crypto:%s\r\n", p->crypto);
  if (o.overflow)
    return -ENOBUFS;
  return (int)o.len;
}

/* ---- parsing ---------------------------------------------------------------- */

/* One line's value: [p, p + n), not terminated. */
struct span {
  const char *p;
  size_t n;
};

/* The next space-separated token of *v (consumed); n == 0 at the end. */
static struct span token(struct span *v)
{
  struct span t;

  while (v->n > 0 && *v->p == ' ') {
    v->p++;
    v->n--;
  }
  t.p = v->p;
  t.n = 0;
  while (t.n < v->n && t.p[t.n] != ' ')
    t.n++;
  v->p += t.n;
  v->n -= t.n;
  return t;
}

static int span_is(struct span s, const char *lit)
{
  size_t n = strlen(lit);
  return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int span_is_nocase(struct span s, const char *lit)
{
  size_t n = strlen(lit);
  if (s.n != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char a = s.p[i], b = lit[i];
    if (a >= 'A' && a <= 'Z')
      a = (char)(a - 'A' + 'a');
    if (a != b)
      return 0;
  }
  return 1;
}

/* A decimal number of at most 9 digits in [min, max] at the start of s
 * (what follows it is the caller's to check). Returns it, or -1.
 * Consumes it. */
static long number(struct span *s, long min, long max)
{
  long v = 0;
  size_t i = 0;

  while (i < s->n && i < 10 && s->p[i] >= '0' && s->p[i] <= '9')
    v = v * 10 + (s->p[i++] - '0');
  if (i == 0 || i > 9 || v < min || v > max)
    return -1;
  s->p += i;
  s->n -= i;
  return v;
}

/* c=IN IP4 ADDR[/TTL[/N]] or c=IN IP6 ADDR[/N], into addr/ipv6/ttl. */
static int connection(struct span v, char *addr, int *ipv6, int *ttl)
{
  struct span net = token(&v), type = token(&v), a = token(&v);
  unsigned char bin[16];
  size_t n = 0;

  if (!span_is(net, "IN") || (!span_is(type, "IP4") && !span_is(type, "IP6")) || a.n == 0)
    return -1;
  while (n < a.n && a.p[n] != '/')
    n++;
  if (n == 0 || n > SDP_MAX_ADDR)
    return -1;
  memcpy(addr, a.p, n);
  addr[n] = '\0';
  *ipv6 = type.p[2] == '6';
  if (inet_pton(*ipv6 ? AF_INET6 : AF_INET, addr, bin) != 1)
    return -1;
  *ttl = 0;
  if (n < a.n) {
    struct span rest = {a.p + n + 1, a.n - n - 1};
    long t = number(&rest, 0, 255);
    if (t < 0)
      return -1;
    if (!*ipv6)
      *ttl = (int)t;
  }
  return 0;
}

/* m=audio PORT[/N] PROTO FMT... */
static int media(struct span v, struct sdp_info *o)
{
  struct span port = token(&v), proto, fmt;
  long n;

  n = number(&port, 1, 65535);
  if (n < 0 || (port.n > 0 && port.p[0] != '/'))
    return SDP_ERR_PORT;
  o->port = (int)n;
  proto = token(&v);
  if (span_is(proto, "RTP/AVP"))
    o->savp = 0;
  else if (span_is(proto, "RTP/SAVP"))
    o->savp = 1;
  else
    return SDP_ERR_PROTO;
  fmt = token(&v);
  n = number(&fmt, 0, 127);
  if (n < 0 || fmt.n != 0)
    return SDP_ERR_FORMAT;
  o->pt = (int)n;
  return SDP_OK;
}

/* a=rtpmap:PT ENC/CLOCK[/CH] about pt. */
static void rtpmap(struct span v, struct sdp_info *o)
{
  struct span pt = token(&v), enc = token(&v), name;
  long n = number(&pt, 0, 127), clock, ch = 1;

  if (n != o->pt || pt.n != 0)
    return;
  name = enc;
  name.n = 0;
  while (name.n < enc.n && enc.p[name.n] != '/')
    name.n++;
  if (name.n == enc.n)
    return;
  enc.p += name.n + 1;
  enc.n -= name.n + 1;
  clock = number(&enc, 1, 1000000);
  if (clock < 0)
    return;
  if (enc.n > 0) {
    if (enc.p[0] != '/')
      return;
    enc.p++;
    enc.n--;
    ch = number(&enc, 1, 255);
    if (ch < 0 || enc.n != 0)
      return;
  }
  o->opus = span_is_nocase(name, "opus") && clock == 48000;
  o->channels = (int)ch;
}

int sdp_parse(const char *text, size_t len, struct sdp_info *out)
{
  struct sdp_info o;
  char sess_addr[SDP_MAX_ADDR + 1] = "";
  int sess_v6 = 0, sess_ttl = 0, have_sess_c = 0, have_media_c = 0;
  int have_name = 0, section = 0;   /* section: 0 session, 1 our m=audio, 2 another medium */
  size_t pos = 0, line_no = 0;
  int rc = SDP_OK;

  memset(out, 0, sizeof *out);
  memset(&o, 0, sizeof o);
  if (text == NULL || len == 0 || len > SDP_MAX_TEXT)
    return SDP_ERR_LENGTH;
  while (pos < len) {
    size_t end = pos, n;
    struct span v;
    char type;

    while (end < len && text[end] != '\n')
      end++;
    n = end - pos;
    if (n > 0 && text[pos + n - 1] == '\r')
      n--;
    v.p = text + pos;
    v.n = n;
    pos = end < len ? end + 1 : end;
    if (n == 0) {
      /* Blank lines: tolerated after the version line (some writers end with one). */
      if (line_no == 0)
        return SDP_ERR_VERSION;
      continue;
    }
    if (n > SDP_MAX_LINE)
      return SDP_ERR_LINE;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)v.p[i];
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return SDP_ERR_LINE;
    }
    if (n < 2 || v.p[1] != '=' || v.p[0] < 'a' || v.p[0] > 'z')
      return line_no == 0 ? SDP_ERR_VERSION : SDP_ERR_LINE;
    type = v.p[0];
    v.p += 2;
    v.n -= 2;
    if (line_no++ == 0) {
      if (type != 'v' || !span_is(v, "0"))
        return SDP_ERR_VERSION;
      continue;
    }
    switch (type) {
    case 's':
      if (have_name)
        break;
      if (v.n == 0 || v.n > SDP_MAX_NAME)
        return SDP_ERR_NAME;
      memcpy(o.name, v.p, v.n);
      o.name[v.n] = '\0';
      have_name = 1;
      break;
    case 'c':
      if (section == 0 && !have_sess_c) {
        if (connection(v, sess_addr, &sess_v6, &sess_ttl) < 0)
          return SDP_ERR_CONNECTION;
        have_sess_c = 1;
      } else if (section == 1 && !have_media_c) {
        if (connection(v, o.addr, &o.ipv6, &o.ttl) < 0)
          return SDP_ERR_CONNECTION;
        have_media_c = 1;
      }
      break;
    case 'm': {
      struct span m = v, kind = token(&m);
      if (o.port == 0 && span_is(kind, "audio")) {
        if ((rc = media(m, &o)) != SDP_OK)
          return rc;
        section = 1;
      } else {
        section = 2;
      }
      break;
    }
    case 'a':
      if (section == 2)
        break;
      if (v.n >= 7 && memcmp(v.p, "crypto:", 7) == 0)
        o.has_crypto = 1;
      else if (section == 1 && v.n >= 7 && memcmp(v.p, "rtpmap:", 7) == 0) {
        struct span r = {v.p + 7, v.n - 7};
        rtpmap(r, &o);
      }
      break;
    default:
      break;
    }
  }
  if (!have_name)
    return SDP_ERR_NAME;
  if (o.port == 0)
    return SDP_ERR_NO_MEDIA;
  if (!have_media_c) {
    if (!have_sess_c)
      return SDP_ERR_CONNECTION;
    memcpy(o.addr, sess_addr, sizeof o.addr);
    o.ipv6 = sess_v6;
    o.ttl = sess_ttl;
  }
  if (o.channels == 0)
    o.channels = 1;
  *out = o;
  return SDP_OK;
}

const char *sdp_strerror(int err)
{
  switch (err) {
  case SDP_OK: return "ok";
  case SDP_ERR_LENGTH: return "empty or too long";
  case SDP_ERR_VERSION: return "not v=0 first";
  case SDP_ERR_LINE: return "a malformed line";
  case SDP_ERR_NAME: return "no session name (s=), or too long";
  case SDP_ERR_CONNECTION: return "no usable connection address (c=)";
  case SDP_ERR_NO_MEDIA: return "no audio stream (m=audio)";
  case SDP_ERR_PORT: return "a bad port in m=audio";
  case SDP_ERR_PROTO: return "not RTP/AVP or RTP/SAVP";
  case SDP_ERR_FORMAT: return "a bad payload type in m=audio";
  default: return "unknown error";
  }
}
