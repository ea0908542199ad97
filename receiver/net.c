/* The receiver's network side (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <opus/opus.h>

#include "playback.h"
#include "report.h"
#include "rtcp.h"
#include "shell/clock.h"
#include "shell/iface.h"
#include "shell/resolve.h"
#include "util/addr.h"
#include "util/ring.h"
#include "wire/rtcp.h"
#include "wire/rtp.h"
#include "wire/srtp.h"

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct net *n = h->data;
  (void)suggested;
  /* libuv hands the datagram to recv_cb before asking again: one buffer. */
  *buf = uv_buf_init((char *)n->buf, sizeof n->buf);
}

/* Into the ring; a full ring drops it (counted). */
static void push(struct net *n, const struct rtp_packet *pkt)
{
  uint8_t *slot;
  int len;

  if (n->cfg.rtcp != NULL && pkt->has_ntp)
    rxrtcp_ntp_packet(n->cfg.rtcp, pkt);   /* its map goes into the ring first */
  slot = ring_claim(n->cfg.ring);
  if (slot == NULL || (len = rtp_packet_store(pkt, slot, ring_slot_bytes(n->cfg.ring))) < 0) {
    n->overflow++;
    return;
  }
  ring_commit(n->cfg.ring, (size_t)len, pkt->arrival_ns);
  if (n->cfg.rtcp != NULL)
    rxrtcp_packet(n->cfg.rtcp, pkt, pkt->len + RTP_HEADER_LEN);
  if (n->last_packet_ns == 0) {
    int ch = opus_packet_get_nb_channels(pkt->payload);
    report_verbose(n->cfg.rep, "stream started: SSRC %08x, payload type %u, %s", (unsigned)pkt->ssrc,
                   (unsigned)pkt->pt, ch == 2 ? "stereo" : "mono");
    if (n->cfg.first_cb != NULL)
      n->cfg.first_cb(n->cfg.first_arg, ch == 2 ? 2 : 1);
  }
  n->last_packet_ns = pkt->arrival_ns;
}

/* -v lines for what admission did besides its verdict. */
static void say_events(struct net *n, const struct admit_result *res, const struct sockaddr *addr,
                       const struct rtp_packet *pkt)
{
  char text[ADDR_TEXT_MAX];

  if ((res->events & ADMIT_EV_LOOKS_SRTP) && !n->cfg.quiet)
    report_error(n->cfg.rep, "the stream looks like SRTP: give --key");
  if (res->events & ADMIT_EV_PT_LOCKED)
    report_verbose(n->cfg.rep, "locked to payload type %d", admit_pt(&n->admit));
  if (res->events & ADMIT_EV_RESTART)
    report_verbose(n->cfg.rep, "source %s SSRC %08x after %.1f s of silence: taken as a sender restart",
                   addr_text(addr, text, sizeof text), (unsigned)pkt->ssrc, (double)res->silent_ns / 1e9);
  if (res->events & ADMIT_EV_LOCKED)
    report_verbose(n->cfg.rep, "locked to source %s SSRC %08x", addr_text(addr, text, sizeof text),
                   (unsigned)pkt->ssrc);
}

/* The first few refusals are worth a -v line each; a flood is not. */
static void say_invalid(struct net *n, ssize_t nread, const char *what, const char *why)
{
  struct admit_stats st;

  admit_get_stats(&n->admit, &st);
  if (st.invalid <= 3)
    report_verbose(n->cfg.rep, "invalid datagram (%zd bytes): %s%s", nread, what, why);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
  int64_t arrival = clock_mono_ns();   /* first: everything downstream trusts it */
  struct net *n = h->data;
  struct rtp_packet pkt;
  struct admit_result res;
  size_t len = (size_t)nread;
  int r;

  if (nread == 0 && addr == NULL)
    return;   /* nothing more to read */
  if (nread < 0) {
    report_verbose(n->cfg.rep, "receive: %s", uv_strerror((int)nread));
    return;
  }
  n->datagrams++;
  if (flags & UV_UDP_PARTIAL) {   /* larger than any datagram we accept */
    admit_invalid(&n->admit);
    return;
  }
  /* RFC 5761: with --rtcp-mux, RTCP shares the port (told apart by its
   * second byte, in clear under SRTCP too). */
  if (n->cfg.rtcp != NULL && n->cfg.rtcp_mux && rtcp_is_rtcp((const uint8_t *)buf->base, len)) {
    rxrtcp_datagram(n->cfg.rtcp, (uint8_t *)buf->base, len, addr, arrival);
    return;
  }
  if (n->cfg.srtp != NULL) {
    r = dl_srtp_unprotect(n->cfg.srtp, (uint8_t *)buf->base, &len);
    if (r == DL_SRTP_ERR_AUTH || r == DL_SRTP_ERR_REPLAY) {
      if (admit_auth_failed(&n->admit) && !n->cfg.quiet)
        report_error(n->cfg.rep, "packets fail authentication: wrong --key, or the sender does not use SRTP");
      return;
    }
    if (r != 0) {
      admit_invalid(&n->admit);
      say_invalid(n, nread, "SRTP: ", dl_srtp_strerror(r));
      return;
    }
    admit_auth_ok(&n->admit);
  }
  r = rtp_packet_parse((const uint8_t *)buf->base, len, arrival, &pkt);
  admit_packet(&n->admit, addr, r, &pkt, &res);
  say_events(n, &res, addr, &pkt);
  switch (res.verdict) {
  case ADMIT_PASS:
    if (res.release != NULL)
      push(n, res.release);
    push(n, &pkt);
    break;
  case ADMIT_INVALID:
    if (res.reason != 0)
      say_invalid(n, nread, "", rtp_strerror(res.reason));
    break;
  case ADMIT_HOLD:
  case ADMIT_REJECTED:
    break;
  }
}

/* --peer, resolved once, in the family the socket listens in. */
static int resolve_peer(const struct net_config *cfg, struct sockaddr_storage *peer)
{
  int v6 = cfg->host[0] != '\0' && strchr(cfg->host, ':') != NULL;
  int r = resolve_udp(cfg->peer_host, cfg->peer_port[0] != '\0' ? cfg->peer_port : NULL, 0,
                      v6 ? AF_INET6 : AF_INET, peer);

  if (r != 0)
    report_error(cfg->rep, "--peer %s: cannot resolve%s: %s", cfg->peer, v6 ? " as IPv6" : " as IPv4",
                 resolve_strerror(r));
  return r != 0 ? -1 : 0;
}

static int bind_socket(struct net *n, uv_loop_t *loop)
{
  const struct net_config *cfg = &n->cfg;
  const char *host = cfg->host[0] != '\0' ? cfg->host : "0.0.0.0";
  struct sockaddr_storage local;
  int r, group;

  r = resolve_udp(host, cfg->port, RESOLVE_PASSIVE, AF_UNSPEC, &local);
  if (r != 0) {
    report_error(cfg->rep, "%s: cannot resolve: %s", host, resolve_strerror(r));
    return -1;
  }
  group = addr_is_multicast((const struct sockaddr *)&local);
  if (!group && (cfg->iface != NULL || cfg->source != NULL)) {
    report_error(cfg->rep, "--iface and --source need a multicast group as HOST, not %s", host);
    return -1;
  }
  r = uv_udp_init(loop, &n->sock);
  n->sock.data = n;
  /* A group: bound to the group's address, so that only its datagrams
   * arrive, and shared with the other receivers on this host. */
  if (r == 0)
    r = uv_udp_bind(&n->sock, (const struct sockaddr *)&local, group ? UV_UDP_REUSEADDR : 0);
  if (group && cfg->iface != NULL) {
    struct iface ifc;
    if (iface_lookup(cfg->iface, &ifc) != 0) {
      report_error(cfg->rep, "--iface %s: no interface of this host has that name or address", cfg->iface);
      return -1;
    }
  }
  if (r == 0 && group) {
    r = iface_join(&n->sock, host, cfg->iface, cfg->source);
    if (r != 0) {
      report_error(cfg->rep, "%s: cannot join the group%s%s: %s", host, cfg->source ? " from " : "",
                   cfg->source ? cfg->source : "", uv_strerror(r));
      return -1;
    }
  }
  if (r == 0) {
    int size = 1 << 20;   /* room for a burst while the loop is busy; best effort */
    uv_recv_buffer_size((uv_handle_t *)&n->sock, &size);
    r = uv_udp_recv_start(&n->sock, alloc_cb, recv_cb);
  }
  if (r != 0) {
    if (strchr(host, ':') != NULL)
      report_error(cfg->rep, "[%s]:%s: cannot listen: %s", host, cfg->port, uv_strerror(r));
    else
      report_error(cfg->rep, "%s:%s: cannot listen: %s", host, cfg->port, uv_strerror(r));
    return -1;
  }
  report_verbose(cfg->rep, "listening on %s port %s", host, cfg->port);
  return 0;
}

int net_open(struct net *n, uv_loop_t *loop, const struct net_config *cfg)
{
  struct sockaddr_storage peer;
  struct admit_config ac = {
    .pt = cfg->pt,
    .keyed = cfg->srtp != NULL,
    .peer_any_port = cfg->peer != NULL && cfg->peer_port[0] == '\0',
    .restart_after_ns = (int64_t)cfg->restart_after_ms * 1000000,
  };

  n->cfg = *cfg;
  if (cfg->peer != NULL) {
    if (resolve_peer(cfg, &peer) != 0)
      return -1;
    ac.peer = (const struct sockaddr *)&peer;
  }
  if (admit_init(&n->admit, &ac) != 0) {
    report_error(cfg->rep, "--peer %s: not an IPv4 or IPv6 address", cfg->peer);
    return -1;
  }
  return bind_socket(n, loop);
}

void net_push_end(struct net *n, uint32_t ssrc, int have_end_ts, uint32_t end_ts)
{
  struct playback_end m = {.magic = PLAYBACK_END_MAGIC, .ssrc = ssrc, .end_ts = end_ts,
                           .have_end_ts = have_end_ts};

  if (ring_push(n->cfg.ring, &m, sizeof m, clock_mono_ns()) < 0)
    n->overflow++;
}

void net_push_sync(struct net *n, const struct sync_map *m)
{
  struct playback_sync rec = {.magic = PLAYBACK_SYNC_MAGIC, .ssrc = m->ssrc, .ts = m->ts,
                              .valid = m->valid, .play_ns = m->play_ns, .ns_per_tick = m->ns_per_tick};

  if (ring_push(n->cfg.ring, &rec, sizeof rec, clock_mono_ns()) < 0)
    n->overflow++;
}

void net_stop(struct net *n)
{
  uv_udp_recv_stop(&n->sock);
}
