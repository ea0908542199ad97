/* The sender's RTCP (see rtcp.h). */
#include "rtcp.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "defaults.h"
#include "shell/clock.h"
#include "shell/iface.h"
#include "shell/linew.h"
#include "tx/txpipe.h"
#include "util/addr.h"
#include "util/json.h"
#include "wire/srtp.h"

#define PROG "sender"
#define TICK_MS 50    /* the report timer looks this often whether one is due */

static void say(struct txrtcp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct txrtcp *r, const char *fmt, ...)
{
  char line[LINEW_MAX_LINE];
  va_list ap;
  int n;

  if (!r->cfg.verbose)
    return;
  n = snprintf(line, sizeof line, PROG ": ");
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2)
    n = (int)sizeof line - 2;
  line[n++] = '\n';
  linew_put(r->cfg.out, r->cfg.err_id, line, (size_t)n);
}

static int send_compound(struct txrtcp *r, int bye, const char *reason)
{
  uint8_t pkt[1024 + DL_SRTCP_MAX_TRAILER];
  struct rtcp_tx_now now;
  uv_buf_t b;
  size_t len;
  int n, rc;

  r->cfg.now_cb(r->cfg.now_arg, &now);
  n = rtcp_tx_build(&r->tx, &now, bye, reason, pkt, 1024);
  rtcp_tx_sent(&r->tx, now.mono_ns, (size_t)(n > 0 ? n : 0) + DL_RTCP_IP_UDP_OVERHEAD, now.session_bw,
               rtcp_interval_draw(&r->rng));
  if (n < 0)
    return n;
  len = (size_t)n;
  if (r->cfg.srtp_out != NULL && (rc = dl_srtp_protect_rtcp(r->cfg.srtp_out, pkt, &len, sizeof pkt)) < 0)
    return rc;
  b = uv_buf_init((char *)pkt, (unsigned)len);
  rc = uv_udp_try_send(r->send_sock, &b, 1, (const struct sockaddr *)&r->to);
  if (rc >= 0)
    r->sent++;
  return rc < 0 ? rc : 0;
}

static void timer_cb(uv_timer_t *t)
{
  struct txrtcp *r = t->data;
  struct rtcp_tx_now now;

  if (clock_mono_ns() < rtcp_tx_next_ns(&r->tx))
    return;
  r->cfg.now_cb(r->cfg.now_arg, &now);
  if (rtcp_tx_due(&r->tx, now.mono_ns, now.session_bw, rtcp_interval_draw(&r->rng)))
    send_compound(r, 0, NULL);
}

/* One report's adaptation, applied to the encoder, each change said. */
static void adapt(struct txrtcp *r)
{
  const struct rtcp_tx_far *f = rtcp_tx_far(&r->tx);
  struct adapt_input in = {.loss_pct = f->loss_pct, .rtt_ms = f->rtt_ms, .rtt_min_ms = f->rtt_min_ms};
  int old_loss = r->ad.loss_perc, old_fec = r->ad.fec, old_rate = r->ad.bitrate;
  unsigned what = adapt_report(&r->ad, &in);
  const char *to = r->cfg.label != NULL ? r->cfg.label : "";

  if (r->cfg.adapt_cb != NULL) {
    if (what == 0)
      return;
    say(r, "adapt%s: wants expected loss %d -> %d %%, FEC %s -> %s, bitrate %d -> %d bit/s (reported %.1f %% lost, RTT %.1f ms)",
        to, old_loss, r->ad.loss_perc, old_fec ? "on" : "off", r->ad.fec ? "on" : "off", old_rate,
        r->ad.bitrate, f->loss_pct, f->rtt_ms);
    r->cfg.adapt_cb(r->cfg.adapt_arg);
    return;
  }
  if (what & (ADAPT_LOSS | ADAPT_FEC)) {
    if (txpipe_set_fec(r->cfg.tp, r->ad.fec, r->ad.loss_perc) == 0) {
      r->loss_perc = r->ad.loss_perc;
      r->fec = r->ad.fec;
    }
  }
  if ((what & ADAPT_BITRATE) && txpipe_set_bitrate(r->cfg.tp, r->ad.bitrate) == 0)
    r->bitrate = r->ad.bitrate;
  if (what == 0)
    return;
  say(r, "adapt: expected loss %d -> %d %%, FEC %s -> %s, bitrate %d -> %d bit/s (reported %.1f %% lost, RTT %.1f ms)",
      old_loss, r->ad.loss_perc, old_fec ? "on" : "off", r->ad.fec ? "on" : "off", old_rate,
      r->ad.bitrate, f->loss_pct, f->rtt_ms);
}

static void datagram(struct txrtcp *r, uint8_t *buf, size_t len, const struct sockaddr *from)
{
  struct rtcp_info in;
  unsigned what;
  int rc;

  /* A group loops our own reports back: not a report on our stream (the
   * SSRC is in the clear in SRTCP too). */
  if (len >= 8 && ((uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7]) == r->cfg.ssrc)
    return;
  /* Only the destination's host reports on our stream (a group: anyone). */
  if (!addr_same((const struct sockaddr *)&r->cfg.dest, from, 0) && !addr_is_multicast((const struct sockaddr *)&r->cfg.dest)) {
    r->rejected++;
    return;
  }
  if (r->cfg.srtp_in != NULL) {
    rc = dl_srtp_unprotect_rtcp(r->cfg.srtp_in, buf, &len);
    if (rc == DL_SRTP_ERR_AUTH || rc == DL_SRTP_ERR_REPLAY) {
      r->auth_failed++;
      return;
    }
    if (rc != 0) {
      r->invalid++;
      return;
    }
  }
  rc = rtcp_parse(buf, len, &in);
  if (rc != RTCP_OK) {
    if (++r->invalid <= 3)
      say(r, "invalid RTCP datagram (%zu bytes): %s", len, rtcp_strerror(rc));
    return;
  }
  r->received++;
  rtcp_tx_member(&r->tx, &in, clock_mono_ns());
  rtcp_tx_seen(&r->tx, len + DL_RTCP_IP_UDP_OVERHEAD);
  what = rtcp_tx_input(&r->tx, &in, clock_mono_ns(), clock_real_ns());
  if ((what & RTCP_TX_REPORT) && !r->said_report) {
    char text[ADDR_TEXT_MAX];
    r->said_report = 1;
    say(r, "receiver report%s from %s, SSRC %08x%s%s", r->cfg.label != NULL ? r->cfg.label : "", addr_text(from, text, sizeof text),
        (unsigned)in.ssrc, in.has_cname ? ", CNAME " : "", in.has_cname ? in.cname : "");
  }
  if ((what & RTCP_TX_REPORT) && r->cfg.adapt)
    adapt(r);
  if (what & RTCP_TX_BYE)
    say(r, "the receiver%s said BYE", r->cfg.label != NULL ? r->cfg.label : "");
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct txrtcp *r = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)r->buf, sizeof r->buf);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
  struct txrtcp *r = h->data;

  if (nread <= 0 || addr == NULL)
    return;
  if ((flags & UV_UDP_PARTIAL) || !rtcp_is_rtcp((const uint8_t *)buf->base, (size_t)nread)) {
    r->invalid++;
    return;
  }
  datagram(r, (uint8_t *)buf->base, (size_t)nread, addr);
}

/* A group destination: the receivers report to the group's RTCP port
 * (r->to), which our own socket (bound to our odd port) never hears; a
 * second socket bound there (shared, as the receivers on this host share
 * it) and joined hears them. */
static int listen_group(struct txrtcp *r, uv_loop_t *loop)
{
  char host[ADDR_TEXT_MAX];
  int rc;

  rc = r->to.ss_family == AF_INET6 ? uv_ip6_name((const struct sockaddr_in6 *)&r->to, host, sizeof host)
                                    : uv_ip4_name((const struct sockaddr_in *)&r->to, host, sizeof host);
  if (rc != 0)
    return rc;
  if ((rc = uv_udp_init(loop, &r->group_sock)) < 0)
    return rc;
  r->group_sock.data = r;
  r->group_open = 1;
  if ((rc = uv_udp_bind(&r->group_sock, (const struct sockaddr *)&r->to, UV_UDP_REUSEADDR)) == 0 &&
      (rc = iface_join(&r->group_sock, host, r->cfg.iface, NULL)) == 0)
    rc = uv_udp_recv_start(&r->group_sock, alloc_cb, recv_cb);
  return rc;
}

int txrtcp_open(struct txrtcp *r, uv_loop_t *loop, uv_udp_t *rtp, int fd,
                const struct txrtcp_config *cfg)
{
  struct rtcp_tx_config tc;
  struct rtcp_tx_now now;
  int rc;

  r->cfg = *cfg;
  r->rng = cfg->rand | 1;
  /* RFC 7022: a random CNAME says nothing of the user or the host. */
  snprintf(r->cname, sizeof r->cname, "%016" PRIx64 "@driftless", (uint64_t)(cfg->rand * 0x9e3779b97f4a7c15ull));
  r->to = cfg->dest;
  if (!cfg->mux)
    addr_set_port((struct sockaddr *)&r->to, addr_port((const struct sockaddr *)&cfg->dest) + 1);
  adapt_init(&r->ad, &cfg->ac);
  r->loss_perc = cfg->ac.loss_perc;
  r->fec = cfg->ac.fec;
  r->bitrate = cfg->ac.bitrate;
  if (cfg->mux) {
    r->send_sock = rtp;
    rtp->data = r;
    rc = uv_udp_recv_start(rtp, alloc_cb, recv_cb);
  } else {
    uv_udp_init(loop, &r->sock);
    r->sock.data = r;
    r->sock_open = 1;
    r->send_sock = &r->sock;
    rc = uv_udp_open(&r->sock, fd);
    if (rc == 0)
      rc = uv_udp_recv_start(&r->sock, alloc_cb, recv_cb);
  }
  if (rc == 0 && addr_is_multicast((const struct sockaddr *)&cfg->dest))
    rc = listen_group(r, loop);
  if (rc < 0)
    return rc;
  memset(&tc, 0, sizeof tc);
  tc.ssrc = cfg->ssrc;
  tc.cname = r->cname;
  tc.min_interval_ns = (int64_t)cfg->interval_ms * 1000000;
  cfg->now_cb(cfg->now_arg, &now);
  rtcp_tx_init(&r->tx, &tc, now.mono_ns, now.session_bw, rtcp_interval_draw(&r->rng));
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, timer_cb, TICK_MS, TICK_MS);
  return 0;
}

void txrtcp_bye(struct txrtcp *r, const char *reason)
{
  uv_timer_stop(&r->timer);
  send_compound(r, 1, reason);
}

int txrtcp_fec(const struct txrtcp *r)
{
  return r->fec;
}

/* How the far end hears us, from its reports. */
static void far_keys(const struct txrtcp *r, struct json *j)
{
  const struct rtcp_tx_far *f = rtcp_tx_far(&r->tx);

  json_num(j, "loss_pct_reported", f->loss_pct, 2);
  json_num(j, "rtt_ms", f->rtt_ms, 2);
  json_num(j, "jitter_ms_reported", f->jitter_ms, 2);
  if (f->have_report)
    json_i64(j, "lost_reported", f->cum_lost);
  else
    json_null(j, "lost_reported");
  json_num(j, "far_mos", f->mos, 1);
  json_num(j, "far_r_factor", f->r_factor, 0);
  json_num(j, "far_latency_ms", f->have_xr ? f->latency_ms : NAN, 0);
}

/* The session's own counts. */
static void count_keys(const struct txrtcp *r, struct json *j)
{
  json_u64(j, "rtcp_sent", r->sent);
  json_u64(j, "rtcp_received", r->received);
  json_u64(j, "rtcp_members", rtcp_tx_members(&r->tx));
  json_u64(j, "rtcp_invalid", r->invalid);
  json_u64(j, "rtcp_rejected", r->rejected);
  json_u64(j, "auth_failed", r->auth_failed);
}

void txrtcp_json(const struct txrtcp *r, struct json *j)
{
  far_keys(r, j);
  json_u64(j, "adapt_events", r->ad.events);
  json_u64(j, "encoder_loss_pct", (uint64_t)r->loss_perc);
  json_u64(j, "encoder_bitrate", (uint64_t)r->bitrate);
  count_keys(r, j);
}

void txrtcp_json_far(const struct txrtcp *r, struct json *j)
{
  far_keys(r, j);
  count_keys(r, j);
}

void txrtcp_status(const struct txrtcp *r, char *buf, size_t cap)
{
  const struct rtcp_tx_far *f = rtcp_tx_far(&r->tx);
  char mos[16] = "-", lat[16] = "-";

  if (!f->have_report) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  if (isfinite(f->mos))
    snprintf(mos, sizeof mos, "%.1f", f->mos);
  if (f->have_xr && isfinite(f->latency_ms))
    snprintf(lat, sizeof lat, "%.0f ms", f->latency_ms);
  snprintf(buf, cap, "  far end: MOS %s, %.0f %% lost, %s", mos, f->loss_pct, lat);
}
