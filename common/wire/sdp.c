#include "wire/sdp.h"

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
      p->bitrate <= 0 || p->frame_us <= 0 || (p->crypto != NULL && !clean(p->crypto)) ||
      (p->session_name != NULL && !clean(p->session_name)))
    return -EINVAL;
  ip = p->ipv6 ? "IP6" : "IP4";
  name = p->session_name != NULL ? p->session_name : "driftless";

  put(&o, "v=0\r\n");
  put(&o, "o=- %" PRIu64 " %" PRIu64 " IN %s %s\r\n", p->session_id, p->session_id, ip, p->addr);
  put(&o, "s=%s\r\n", name);
  put(&o, "c=IN %s %s\r\n", ip, p->addr);
  put(&o, "t=0 0\r\n");
  put(&o, "m=audio %d RTP/%s %d\r\n", p->port, p->crypto != NULL ? "SAVP" : "AVP", p->pt);
  put(&o, "a=rtpmap:%d opus/48000/2\r\n", p->pt);
  put(&o, "a=fmtp:%d useinbandfec=%d;usedtx=%d;stereo=%d;sprop-stereo=%d;maxaveragebitrate=%d\r\n",
      p->pt, p->fec ? 1 : 0, p->dtx ? 1 : 0, p->channels == 2, p->channels == 2, p->bitrate);
  if (p->frame_us % 1000 == 0)
    put(&o, "a=ptime:%d\r\n", p->frame_us / 1000);
  else
    put(&o, "a=ptime:%d.%d\r\n", p->frame_us / 1000, (p->frame_us % 1000) / 100);
  if (p->ssrc != 0)
    put(&o, "a=ssrc:%" PRIu32 " cname:driftless\r\n", p->ssrc);
  if (p->crypto != NULL)
    put(&o, "a=crypto:%s\r\n", p->crypto);
  if (o.overflow)
    return -ENOBUFS;
  return (int)o.len;
}
