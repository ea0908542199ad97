/* The receiver's RTCP (see rtcp.h). */
#include "rtcp.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "defaults.h"
#include "net.h"
#include "options.h"
#include "playback.h"
#include "report.h"
#include "rx/emodel.h"
#include "shell/clock.h"
#include "shell/iface.h"
#include "shell/resolve.h"
#include "util/addr.h"
#include "wire/srtp.h"

#define TICK_MS 100   /* the report timer looks this often whether one is due */

int64_t rxrtcp_real_ns(const struct options *o)
{
  return clock_real_ns() + (int64_t)llround(o->wallclock_offset_ms * 1e6);
}

static void both_clocks(struct rxrtcp *r)
{
  rtcp_rx_clock(&r->rx, clock_mono_ns(), rxrtcp_real_ns(r->o));
}

/* --sync: the estimate now, to the playback thread through the ring (after
 * what it already holds, before the packets that follow); -v says where it
 * comes from when that changes. */
static void tell_sync(struct rxrtcp *r, int64_t now)
{
  struct sync_map m;
  enum sync_source src;

  if (!r->o->sync)
    return;
  src = sync_get(&r->sync, now, &m);
  if (!m.valid)
    return;
  net_push_sync(r->net, &m);
  r->sync_maps++;
  if (src != r->sync_said) {
    int64_t err = sync_error_ns(&r->sync, now);
    r->sync_said = src;
    char e[64];
    if (err < 0)
      snprintf(e, sizeof e, "unknown (the transit taken as 0)");
    else
      snprintf(e, sizeof e, "within %.3f ms", (double)err / 1e6);
    report_verbose(r->rep, "sync: the sender's clock from %s; our wall clock %+.3f ms from it; error %s",
                   src == SYNC_RTT ? "SRs and the round trip" : src == SYNC_SR ? "SRs (no round trip yet)"
                                                                               : "its packets' NTP times",
                   (double)(sync_clock_offset_ns(&r->sync, now) + r->rx.mono_to_real_ns) / 1e6, e);
  }
}

void rxrtcp_ntp_packet(struct rxrtcp *r, const struct rtp_packet *pkt)
{
  if (r->o == NULL || r->o->no_rtcp || !r->o->sync || !pkt->has_ntp)
    return;
  sync_ext(&r->sync, pkt->ssrc, rtcp_ntp_to_ns(pkt->ntp), pkt->ts, pkt->arrival_ns);
  tell_sync(r, pkt->arrival_ns);
}

/* The E-model's transit, to the playback thread. */
static void tell_transit(struct rxrtcp *r)
{
  enum rtcp_transit_source src;
  int64_t t = rtcp_rx_transit(&r->rx, &src);
  atomic_store_explicit(&r->pb->transit_ns, t, memory_order_relaxed);
}

/* Where our reports go: where the SRs come from, else the stream's source
 * address with its port + 1 (the same port with --rtcp-mux). */
static int destination(struct rxrtcp *r, struct sockaddr_storage *to)
{
  /* RFC 3550 6: in a group, reports go to the group, for every member. */
  if (r->group) {
    *to = r->group_to;
    return 1;
  }
  if (r->have_sr_from) {
    *to = r->sr_from;
    return 1;
  }
  if (!admit_locked(&r->net->admit, to, NULL))
    return 0;
  if (!r->o->rtcp_mux)
    addr_set_port((struct sockaddr *)to, addr_port((struct sockaddr *)to) + 1);
  return 1;
}

/* The XR block's figures from the playback thread's last published copy. */
static void quality(struct rxrtcp *r, struct rtcp_rx_quality *q)
{
  struct receiver_stats s;
  const struct rxpipe_stats *rx = &s.pb.rx;

  r->snapshot(r->snapshot_arg, &s);
  memset(q, 0, sizeof *q);
  q->discarded = rx->po.late + rx->po.duplicate;
  q->r_factor = rx->r_factor;
  q->mos_cq = rx->mos;
  q->mos_lq = rx->quality_frames > 0
                  ? emodel_mos(EMODEL_R0 - emodel_ie_eff(rx->quality_loss_pct, rx->quality_burst_r))
                  : NAN;
  q->end_system_ms = isfinite(rx->frame_ms) && isfinite(rx->latency_mean_ms)
                         ? rx->frame_ms + DL_OPUS_LOOKAHEAD_MS + rx->latency_mean_ms
                         : NAN;
  q->jb_nominal_ms = rx->latency_target_ms;
  q->jb_max_ms = rx->latency_max_ms;
  q->jb_abs_max_ms = r->o->max_latency_ms;
  q->jb_adaptive = r->o->latency_ms == 0;
  q->plc_silence = r->o->conceal_silence;
}

static void send_report(struct rxrtcp *r, int64_t now)
{
  uint8_t pkt[1024 + DL_SRTCP_MAX_TRAILER];
  struct rtcp_rx_quality q;
  struct sockaddr_storage to;
  uv_buf_t b;
  size_t len;
  int n, rc;

  quality(r, &q);
  n = rtcp_rx_build(&r->rx, now, &q, pkt, 1024);
  rtcp_rx_sent(&r->rx, now, (size_t)(n > 0 ? n : 0) + DL_RTCP_IP_UDP_OVERHEAD, rtcp_interval_draw(&r->rng));
  if (n < 0 || !destination(r, &to))
    return;
  len = (size_t)n;
  if (r->srtp_out != NULL && dl_srtp_protect_rtcp(r->srtp_out, pkt, &len, sizeof pkt) < 0)
    return;
  b = uv_buf_init((char *)pkt, (unsigned)len);
  rc = uv_udp_try_send(r->o->rtcp_mux ? &r->net->sock : &r->sock, &b, 1, (const struct sockaddr *)&to);
  if (rc >= 0)
    r->sent++;
  /* In a group, the same report also straight to where the SRs come from
   * (unicast feedback, as RFC 5760 has it for SSM): a sender that does not
   * listen on the group still hears us, and answers our RRT, which --sync
   * needs for its round trip. */
  if (r->group && r->have_sr_from) {
    rc = uv_udp_try_send(r->o->rtcp_mux ? &r->net->sock : &r->sock, &b, 1,
                         (const struct sockaddr *)&r->sr_from);
    if (rc >= 0)
      r->sent++;
  }
}

/* --sync: a presentation delay the path and the sink cannot make is said
 * once; the stats keep telling (sync_short_ms, sync_unmet). */
static void check_sync(struct rxrtcp *r)
{
  struct receiver_stats s;
  const struct rxpipe_stats *rx = &s.pb.rx;

  if (!r->o->sync || ++r->sync_check_ticks < 10)
    return;
  r->sync_check_ticks = 0;
  r->snapshot(r->snapshot_arg, &s);
  if (r->sync_unmet_said == 0 && rx->sync_on && rx->sync_short_ms > 0 && rx->sync_unmet > 0) {
    r->sync_unmet_said = rx->sync_unmet;
    report_error(r->rep, "--sync-delay %d ms: the path and the sink need %.1f ms more; playing that late "
                 "(sync_short_ms in the stats)", r->o->sync_delay_ms, rx->sync_short_ms);
  }
}

static void timer_cb(uv_timer_t *t)
{
  struct rxrtcp *r = t->data;
  int64_t now = clock_mono_ns();

  both_clocks(r);
  tell_transit(r);
  check_sync(r);
  if (!rtcp_rx_ready(&r->rx))
    return;
  if (rtcp_rx_next_ns(&r->rx) == 0) {
    rtcp_rx_start(&r->rx, now, rtcp_interval_draw(&r->rng));   /* the stream started: the first report's time */
    return;
  }
  if (rtcp_rx_due(&r->rx, now, rtcp_interval_draw(&r->rng)))
    send_report(r, now);
}

void rxrtcp_packet(struct rxrtcp *r, const struct rtp_packet *pkt, size_t datagram_len)
{
  if (r->o == NULL || r->o->no_rtcp)
    return;
  rtcp_rx_packet(&r->rx, pkt->ssrc, pkt->seq, pkt->ts, pkt->samples, pkt->arrival_ns, datagram_len);
}

static void said_bye(struct rxrtcp *r, const struct rtcp_info *in, const struct rtcp_rx_input_result *res,
                     const struct sockaddr *from)
{
  r->bye_received++;
  if (!admit_bye(&r->net->admit, from, res->bye_ssrc))
    return;
  report_verbose(r->rep, "BYE from SSRC %08x%s%s%s: the stream ends", (unsigned)res->bye_ssrc,
                 in->has_bye_reason ? " (\"" : "", in->has_bye_reason ? in->bye_reason : "",
                 in->has_bye_reason ? "\")" : "");
  net_push_end(r->net, res->bye_ssrc, res->have_end_ts, res->end_ts);
  if (r->bye_cb != NULL)
    r->bye_cb(r->bye_arg);
}

void rxrtcp_datagram(struct rxrtcp *r, uint8_t *buf, size_t len, const struct sockaddr *from,
                     int64_t arrival_ns)
{
  struct rtcp_info in;
  struct rtcp_rx_input_result res;
  struct sockaddr_storage lock;
  char text[ADDR_TEXT_MAX];
  int rc;

  if (r->srtp_in != NULL) {
    rc = dl_srtp_unprotect_rtcp(r->srtp_in, buf, &len);
    if (rc == DL_SRTP_ERR_AUTH || rc == DL_SRTP_ERR_REPLAY) {
      admit_auth_failed(&r->net->admit);
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
      report_verbose(r->rep, "invalid RTCP datagram (%zu bytes) from %s: %s", len,
                     addr_text(from, text, sizeof text), rtcp_strerror(rc));
    return;
  }
  /* Every member's report counts toward the session's size (a group's
   * other receivers too), whether or not it is ours to take. */
  rtcp_rx_member(&r->rx, &in, arrival_ns);
  /* Before a stream is locked only an SR is kept (for the stream it may
   * announce); after, only the stream's host is heard. */
  if (admit_locked(&r->net->admit, &lock, NULL) && !addr_same((const struct sockaddr *)&lock, from, 0)) {
    r->rejected++;
    return;
  }
  r->received++;
  both_clocks(r);
  rtcp_rx_seen(&r->rx, len + DL_RTCP_IP_UDP_OVERHEAD);
  rtcp_rx_input(&r->rx, &in, arrival_ns, &res);
  if (res.what & RTCP_RX_SR) {
    if (!r->have_sr_from)
      report_verbose(r->rep, "SR from %s, SSRC %08x: the sender's wall clock is mapped (%" PRIu32
                     " packets sent)", addr_text(from, text, sizeof text), (unsigned)in.sr.ssrc,
                     in.sr.packet_count);
    addr_copy(&r->sr_from, from);
    r->have_sr_from = 1;
    if (r->o->sync && r->rx.have_sr)
      sync_sr(&r->sync, r->rx.sr.ssrc, rtcp_ntp_to_ns(r->rx.sr.ntp), r->rx.sr.rtp_ts, r->rx.sr_arrival_ns);
  }
  if (res.what & RTCP_RX_RTT) {
    tell_transit(r);
    if (r->o->sync)
      sync_rtt(&r->sync, r->rx.rtt_ns, arrival_ns);
  }
  if (res.what & (RTCP_RX_SR | RTCP_RX_RTT))
    tell_sync(r, arrival_ns);
  if (res.what & RTCP_RX_BYE)
    said_bye(r, &in, &res, from);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct rxrtcp *r = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)r->buf, sizeof r->buf);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
  int64_t arrival = clock_mono_ns();
  struct rxrtcp *r = h->data;

  if (nread <= 0 || addr == NULL)
    return;
  if (flags & UV_UDP_PARTIAL) {
    r->invalid++;
    return;
  }
  rxrtcp_datagram(r, (uint8_t *)buf->base, (size_t)nread, addr, arrival);
}

int rxrtcp_open(struct rxrtcp *r, uv_loop_t *loop, uint32_t ssrc, uint64_t cname_rand)
{
  const struct options *o = r->o;
  struct rtcp_rx_config rc;
  int rv;

  r->rng = cname_rand * 0x9e3779b97f4a7c15ull | 1;
  r->ssrc = ssrc;
  /* RFC 7022: a random CNAME says nothing of the user or the host. */
  snprintf(r->cname, sizeof r->cname, "%016" PRIx64 "@driftless", cname_rand);
  memset(&rc, 0, sizeof rc);
  rc.ssrc = ssrc;
  rc.cname = r->cname;
  rc.min_interval_ns = (int64_t)o->rtcp_interval_ms * 1000000;
  rtcp_rx_init(&r->rx, &rc);
  both_clocks(r);
  {
    struct sync_config sc = {.delay_ns = (int64_t)o->sync_delay_ms * 1000000,
                             .trim_ns = (int64_t)llround(o->sync_trim_ms * 1e6)};
    sync_init(&r->sync, &sc);
    r->sync_said = SYNC_NONE;
  }
  if (!o->rtcp_mux) {
    const char *host = o->host[0] != '\0' ? o->host : "0.0.0.0";
    struct sockaddr_storage local;
    char port[16];

    snprintf(port, sizeof port, "%d", atoi(o->port) + 1);
    rv = resolve_udp(host, port, RESOLVE_PASSIVE, AF_UNSPEC, &local);
    if (rv != 0) {
      report_error(r->rep, "%s: cannot resolve: %s", host, resolve_strerror(rv));
      return -1;
    }
    uv_udp_init(loop, &r->sock);
    r->sock.data = r;
    r->sock_open = 1;
    r->group = addr_is_multicast((const struct sockaddr *)&local);
    if (r->group)
      r->group_to = local;
    rv = uv_udp_bind(&r->sock, (const struct sockaddr *)&local, r->group ? UV_UDP_REUSEADDR : 0);
    if (rv == 0 && r->group)
      rv = iface_join(&r->sock, host, o->iface, o->source);
    if (rv == 0)
      rv = uv_udp_recv_start(&r->sock, alloc_cb, recv_cb);
    if (rv != 0) {
      report_error(r->rep, "RTCP port %s: cannot listen: %s (--rtcp-mux or --no-rtcp do without it)",
                   port, uv_strerror(rv));
      return -1;
    }
    report_verbose(r->rep, "RTCP on port %s, SSRC %08x, CNAME %s", port, (unsigned)ssrc, r->cname);
  } else {
    report_verbose(r->rep, "RTCP on the RTP port (--rtcp-mux), SSRC %08x, CNAME %s", (unsigned)ssrc,
                   r->cname);
  }
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, timer_cb, TICK_MS, TICK_MS);
  return 0;
}

void rxrtcp_stop(struct rxrtcp *r)
{
  if (r->o == NULL || r->o->no_rtcp)
    return;
  uv_timer_stop(&r->timer);
  if (r->sock_open)
    uv_udp_recv_stop(&r->sock);
}

void rxrtcp_get_stats(const struct rxrtcp *r, struct rxrtcp_stats *out)
{
  memset(out, 0, sizeof *out);
  out->on = r->o != NULL && !r->o->no_rtcp;
  if (!out->on)
    return;
  out->sent = r->sent;
  out->received = r->received;
  out->invalid = r->invalid;
  out->rejected = r->rejected;
  out->bye_received = r->bye_received;
  rtcp_rx_get_stats(&r->rx, &out->rx);
  out->transit_ns = rtcp_rx_transit(&r->rx, &out->transit_source);
  out->sync_on = r->o->sync;
  if (out->sync_on) {
    int64_t now = clock_mono_ns();
    struct sync_map m;
    out->sync_source = sync_get(&r->sync, now, &m);
    out->sync_error_ns = sync_error_ns(&r->sync, now);
    out->clock_offset_ns = m.valid ? sync_clock_offset_ns(&r->sync, now) + r->rx.mono_to_real_ns : 0;
    out->clock_rate_ppm = sync_clock_rate_ppm(&r->sync);
    out->sync_maps = r->sync_maps;
  }
}
