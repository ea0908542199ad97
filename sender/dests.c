/* The sender's destinations (see dests.h). */
#include "dests.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shell/iface.h"
#include "shell/linew.h"
#include "shell/resolve.h"
#include "shell/udppair.h"
#include "tx/txpipe.h"
#include "util/json.h"
#include "wire/rtp.h"

int dests_resolve(struct dests *ds, int rtcp_pairs, const char *prog)
{
  for (int i = 0; i < ds->n; i++) {
    struct dest *d = &ds->d[i];
    int rc = resolve_udp(d->host, d->port, 0, AF_UNSPEC, &d->addr);

    if (rc != 0) {
      fprintf(stderr, "%s: %s: cannot resolve: %s\n", prog, d->host, resolve_strerror(rc));
      return 1;
    }
    addr_text((const struct sockaddr *)&d->addr, d->addr_text, sizeof d->addr_text);
    if (ds->n > 1)
      snprintf(d->label, sizeof d->label, " for %s", d->addr_text);
    d->rtcp_fd = -1;
    d->set = ds;
    for (int k = 0; k < i; k++) {
      const struct dest *e = &ds->d[k];
      int gap = addr_port((const struct sockaddr *)&d->addr) - addr_port((const struct sockaddr *)&e->addr);
      if (!addr_same((const struct sockaddr *)&d->addr, (const struct sockaddr *)&e->addr, 0))
        continue;
      if (gap == 0) {
        fprintf(stderr, "%s: %s: the same destination as %s (%s)\n", prog, d->arg, e->arg, d->addr_text);
        return 2;
      }
      /* One's RTCP (PORT+1) would land on the other's RTP port. */
      if (rtcp_pairs && (gap == 1 || gap == -1)) {
        fprintf(stderr, "%s: %s and %s: RTCP goes to PORT+1, which is the other's RTP port "
                "(leave a gap of 2, or give --rtcp-mux)\n", prog, e->arg, d->arg);
        return 2;
      }
    }
  }
  return 0;
}

int dests_any_group(const struct dests *ds)
{
  for (int i = 0; i < ds->n; i++)
    if (addr_is_multicast((const struct sockaddr *)&ds->d[i].addr))
      return 1;
  return 0;
}

/* A group destination: TTL (hop limit), loop on (this host's receivers
 * hear it) and --iface on socket fd. IPv4's --iface is a local address,
 * IPv6's an interface name. Returns 0 or -1 after one line. */
static int mcast_setup(const struct dest *d, const struct dests_net *net, int fd, const char *prog)
{
  int ttl = net->ttl != 0 ? net->ttl : 1, loop = 1, ok;
  struct iface ifc = {0};

  /* --iface by name or by one of its addresses, for either family. */
  if (net->iface != NULL && iface_lookup(net->iface, &ifc) != 0) {
    fprintf(stderr, "%s: --iface %s: no interface of this host has that name or address\n", prog, net->iface);
    return -1;
  }
  if (d->addr.ss_family == AF_INET) {
    struct ip_mreqn m = {.imr_address = ifc.v4, .imr_ifindex = (int)ifc.index};
    ok = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) == 0 &&
         setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) == 0 &&
         (net->iface == NULL || setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) == 0);
  } else {
    ok = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) == 0 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop) == 0 &&
         (net->iface == NULL ||
          setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifc.index, sizeof ifc.index) == 0);
  }
  if (!ok) {
    fprintf(stderr, "%s: multicast to %s%s%s: %s\n", prog, d->addr_text, net->iface ? " via " : "",
            net->iface ? net->iface : "", strerror(errno));
    return -1;
  }
  return 0;
}

static int open_one(struct dest *d, uv_loop_t *loop, const struct dests_net *net, const char *prog)
{
  int rc;

  if (net->no_rtcp) {
    if ((rc = uv_udp_init_ex(loop, &d->udp, d->addr.ss_family)) < 0) {
      fprintf(stderr, "%s: UDP socket: %s\n", prog, uv_strerror(rc));
      return -1;
    }
  } else {
    /* RTP from an even port, RTCP from the one above it (RFC 3550 11),
     * so that a receiver answering "source port + 1" reaches us. */
    int fds[2] = {-1, -1};
    if ((rc = udppair_bind(d->addr.ss_family, fds, net->rtcp_mux ? 1 : 2)) < 0) {
      fprintf(stderr, "%s: UDP sockets: %s\n", prog, strerror(-rc));
      return -1;
    }
    uv_udp_init(loop, &d->udp);
    if ((rc = uv_udp_open(&d->udp, fds[0])) < 0) {
      fprintf(stderr, "%s: UDP socket: %s\n", prog, uv_strerror(rc));
      close(fds[0]);
      if (fds[1] >= 0)
        close(fds[1]);
      return -1;
    }
    d->rtcp_fd = fds[1];
  }
  if (addr_is_multicast((const struct sockaddr *)&d->addr)) {
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&d->udp, &fd) < 0 || mcast_setup(d, net, fd, prog) < 0 ||
        (d->rtcp_fd >= 0 && mcast_setup(d, net, d->rtcp_fd, prog) < 0))
      return -1;
  }
  return 0;
}

int dests_open(struct dests *ds, uv_loop_t *loop, const struct dests_net *net, const char *prog)
{
  for (int i = 0; i < ds->n; i++)
    if (open_one(&ds->d[i], loop, net, prog) < 0)
      return -1;
  return 0;
}

/* An SR's "now": the stream's, with this destination's own counts. */
static void now_cb(void *arg, struct rtcp_tx_now *n)
{
  struct dest *d = arg;

  d->set->now_cb(d->set->now_arg, n);
  n->packets = (uint32_t)d->sent;
  n->octets = (uint32_t)d->payload_bytes;
}

/* A destination's report moved its adaptation: the encoder follows the
 * worst destination (highest expected loss, FEC if any wants it, lowest
 * bitrate), each change said once. */
static void adapt_cb(void *arg)
{
  struct dests *ds = arg;
  int loss = 0, fec = 0, bitrate = 0;

  for (int i = 0; i < ds->n; i++) {
    const struct adapt *a = &ds->d[i].rtcp.ad;
    if (!ds->d[i].rtcp_on)
      continue;
    if (a->loss_perc > loss)
      loss = a->loss_perc;
    fec |= a->fec;
    if (bitrate == 0 || a->bitrate < bitrate)
      bitrate = a->bitrate;
  }
  if ((loss != ds->loss_perc || fec != ds->fec) && txpipe_set_fec(ds->tp, fec, loss) == 0) {
    ds->loss_perc = loss;
    ds->fec = fec;
    ds->adapt_events++;
  }
  if (bitrate != 0 && bitrate != ds->bitrate && txpipe_set_bitrate(ds->tp, bitrate) == 0) {
    ds->bitrate = bitrate;
    ds->adapt_events++;
  }
  /* Each session's json and status tell the encoder's settings. */
  for (int i = 0; i < ds->n; i++) {
    ds->d[i].rtcp.loss_perc = ds->loss_perc;
    ds->d[i].rtcp.fec = ds->fec;
    ds->d[i].rtcp.bitrate = ds->bitrate;
  }
}

int dests_start_rtcp(struct dests *ds, uv_loop_t *loop, const struct txrtcp_config *base)
{
  ds->loss_perc = base->ac.loss_perc;
  ds->fec = base->ac.fec;
  ds->bitrate = base->ac.bitrate;
  ds->tp = base->tp;
  ds->now_cb = base->now_cb;
  ds->now_arg = base->now_arg;
  for (int i = 0; i < ds->n; i++) {
    struct dest *d = &ds->d[i];
    struct txrtcp_config c = *base;
    int rc;

    c.dest = d->addr;
    /* Each its own CNAME and schedule. */
    c.rand = base->rand + (uint64_t)i * 0x9e3779b97f4a7c15ull;
    c.label = d->label;
    c.now_cb = now_cb;
    c.now_arg = d;
    if (ds->n > 1) {
      c.adapt_cb = adapt_cb;
      c.adapt_arg = ds;
    }
    rc = txrtcp_open(&d->rtcp, loop, &d->udp, d->rtcp_fd, &c);
    d->rtcp_fd = -1;   /* the RTCP handle has it now */
    if (rc < 0)
      return rc;
    d->rtcp_on = 1;
  }
  return 0;
}

int dests_send(struct dests *ds, const uint8_t *pkt, size_t len, size_t payload_len,
               struct linew *out, int err_id, const char *nl, int quiet, const char *prog)
{
  uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
  int ok = 0;

  for (int i = 0; i < ds->n; i++) {
    struct dest *d = &ds->d[i];
    int rc = uv_udp_try_send(&d->udp, &b, 1, (const struct sockaddr *)&d->addr);
    if (rc < 0) {
      d->send_errors++;
      if (!d->send_error_said && !quiet) {
        linew_printf(out, err_id, "%s%s: send to %s: %s (counting send_errors, going on)\n", nl, prog,
                     d->addr_text, uv_strerror(rc));
        d->send_error_said = 1;
      }
      continue;
    }
    d->sent++;
    d->bytes += len;
    d->payload_bytes += payload_len;
    ok++;
  }
  return ok;
}

void dests_bye(struct dests *ds, const char *reason)
{
  for (int i = 0; i < ds->n; i++)
    if (ds->d[i].rtcp_on)
      txrtcp_bye(&ds->d[i].rtcp, reason);
}

uint64_t dests_send_errors(const struct dests *ds)
{
  uint64_t n = 0;
  for (int i = 0; i < ds->n; i++)
    n += ds->d[i].send_errors;
  return n;
}

int dests_fec(const struct dests *ds)
{
  return ds->n == 1 ? txrtcp_fec(&ds->d[0].rtcp) : ds->fec;
}

/* The worst of a figure over the destinations: the highest (sign 1) or
 * lowest (sign -1) that is known; NaN if none is. */
static double worst(const struct dests *ds, int sign, double (*get)(const struct rtcp_tx_far *))
{
  double w = NAN;
  for (int i = 0; i < ds->n; i++) {
    double v = get(rtcp_tx_far(&ds->d[i].rtcp.tx));
    if (isfinite(v) && (!isfinite(w) || (sign > 0 ? v > w : v < w)))
      w = v;
  }
  return w;
}

static double get_rtt(const struct rtcp_tx_far *f) { return f->rtt_ms; }
static double get_loss(const struct rtcp_tx_far *f) { return f->loss_pct; }
static double get_jitter(const struct rtcp_tx_far *f) { return f->jitter_ms; }
static double get_lost(const struct rtcp_tx_far *f) { return f->have_report ? f->cum_lost : NAN; }
static double get_mos(const struct rtcp_tx_far *f) { return f->mos; }
static double get_r(const struct rtcp_tx_far *f) { return f->r_factor; }
static double get_latency(const struct rtcp_tx_far *f) { return f->have_xr ? f->latency_ms : NAN; }

void dests_json(const struct dests *ds, struct json *j)
{
  uint64_t sent = 0, received = 0, invalid = 0, rejected = 0, auth = 0;
  int rtcp = ds->d[0].rtcp_on;
  double lost;

  if (ds->n == 1) {
    if (rtcp)
      txrtcp_json(&ds->d[0].rtcp, j);
    return;
  }
  if (rtcp) {
    for (int i = 0; i < ds->n; i++) {
      const struct txrtcp *r = &ds->d[i].rtcp;
      sent += r->sent;
      received += r->received;
      invalid += r->invalid;
      rejected += r->rejected;
      auth += r->auth_failed;
    }
    json_num(j, "loss_pct_reported", worst(ds, 1, get_loss), 2);
    json_num(j, "rtt_ms", worst(ds, 1, get_rtt), 2);
    json_num(j, "jitter_ms_reported", worst(ds, 1, get_jitter), 2);
    lost = worst(ds, 1, get_lost);
    if (isfinite(lost))
      json_i64(j, "lost_reported", (int64_t)lost);
    else
      json_null(j, "lost_reported");
    json_num(j, "far_mos", worst(ds, -1, get_mos), 1);
    json_num(j, "far_r_factor", worst(ds, -1, get_r), 0);
    json_num(j, "far_latency_ms", worst(ds, 1, get_latency), 0);
    json_u64(j, "adapt_events", ds->adapt_events);
    json_u64(j, "encoder_loss_pct", (uint64_t)ds->loss_perc);
    json_u64(j, "encoder_bitrate", (uint64_t)ds->bitrate);
    json_u64(j, "rtcp_sent", sent);
    json_u64(j, "rtcp_received", received);
    json_u64(j, "rtcp_invalid", invalid);
    json_u64(j, "rtcp_rejected", rejected);
    json_u64(j, "auth_failed", auth);
  }
  json_arr_begin(j, "dests");
  for (int i = 0; i < ds->n; i++) {
    const struct dest *d = &ds->d[i];
    json_elem_begin(j);
    json_str(j, "addr", d->addr_text);
    json_u64(j, "sent", d->sent);
    json_u64(j, "bytes", d->bytes);
    json_u64(j, "send_errors", d->send_errors);
    if (d->rtcp_on)
      txrtcp_json_far(&d->rtcp, j);
    json_obj_end(j);
  }
  json_arr_end(j);
}

void dests_status(const struct dests *ds, char *buf, size_t cap)
{
  char mos[16] = "-";
  double m, loss;

  if (ds->n == 1 || !ds->d[0].rtcp_on) {
    if (ds->d[0].rtcp_on)
      txrtcp_status(&ds->d[0].rtcp, buf, cap);
    else
      snprintf(buf, cap, "%s", "");
    return;
  }
  m = worst(ds, -1, get_mos);
  loss = worst(ds, 1, get_loss);
  if (!isfinite(loss)) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  if (isfinite(m))
    snprintf(mos, sizeof mos, "%.1f", m);
  snprintf(buf, cap, "  %d far ends, worst: MOS %s, %.0f %% lost", ds->n, mos, loss);
}

void dests_close(struct dests *ds)
{
  for (int i = 0; i < ds->n; i++) {
    if (ds->d[i].rtcp_fd >= 0)
      close(ds->d[i].rtcp_fd);
    ds->d[i].rtcp_fd = -1;
  }
}
