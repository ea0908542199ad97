/* sender --announce (see announce.h). */
#include "announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "defaults.h"
#include "shell/linew.h"
#include "util/addr.h"

static double draw(struct announce *a)
{
  /* xorshift64*: the interval's jitter, not a secret. */
  a->rng ^= a->rng >> 12;
  a->rng ^= a->rng << 25;
  a->rng ^= a->rng >> 27;
  return (double)((a->rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static void send_one(struct announce *a)
{
  uv_buf_t b = uv_buf_init((char *)a->pkt, (unsigned)a->pkt_len);
  int rc = uv_udp_try_send(&a->sock, &b, 1, NULL);

  if (rc >= 0) {
    a->sent++;
    return;
  }
  a->send_errors++;
  if (!a->said_error) {
    a->said_error = 1;
    linew_printf(a->out, a->err_id, "sender: SAP announcement: %s (going on)\n", uv_strerror(rc));
  }
}

static void timer_cb(uv_timer_t *t)
{
  struct announce *a = t->data;
  int64_t next = sap_interval_ns((int64_t)DL_SAP_INTERVAL_MS * 1000000, draw(a));

  send_one(a);
  uv_timer_start(&a->timer, timer_cb, (uint64_t)(next / 1000000), 0);
}

int announce_start(struct announce *a, uv_loop_t *loop, const struct sockaddr *to, const char *sdp,
                   size_t len, int ttl, const char *iface, uint64_t rand, struct linew *out,
                   int err_id, const char *prog)
{
  struct sockaddr_storage local;
  int rc, fd_ok, one = 1, hops = ttl != 0 ? ttl : 1, namelen = sizeof local;
  uv_os_fd_t fd;

  memset(&a->msg, 0, sizeof a->msg);
  a->out = out;
  a->err_id = err_id;
  a->rng = rand | 1;
  addr_copy(&a->to, to);
  if (len > sizeof a->sdp) {
    fprintf(stderr, "%s: --announce: the SDP (%zu bytes) does not fit a SAP packet\n", prog, len);
    return -1;
  }
  memcpy(a->sdp, sdp, len);
  if ((rc = uv_udp_init_ex(loop, &a->sock, to->sa_family)) < 0 ||
      (rc = uv_fileno((uv_handle_t *)&a->sock, &fd)) < 0) {
    fprintf(stderr, "%s: SAP socket: %s\n", prog, uv_strerror(rc));
    return -1;
  }
  if (to->sa_family == AF_INET) {
    struct in_addr ifa = {.s_addr = htonl(INADDR_ANY)};
    if (iface != NULL && inet_pton(AF_INET, iface, &ifa) != 1) {
      fprintf(stderr, "%s: --iface %s: expected a local IPv4 address\n", prog, iface);
      return -1;
    }
    fd_ok = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof hops) == 0 &&
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one) == 0 &&
            (iface == NULL || setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof ifa) == 0);
  } else {
    unsigned idx = iface != NULL ? if_nametoindex(iface) : 0;
    if (iface != NULL && idx == 0) {
      fprintf(stderr, "%s: --iface %s: no such interface\n", prog, iface);
      return -1;
    }
    fd_ok = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) == 0 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) == 0 &&
            (idx == 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) == 0);
  }
  /* Connected: the kernel picks the source address, which is the
   * announcement's origin (RFC 2974 3). */
  if (!fd_ok || (rc = uv_udp_connect(&a->sock, to)) < 0 ||
      (rc = uv_udp_getsockname(&a->sock, (struct sockaddr *)&local, &namelen)) < 0) {
    fprintf(stderr, "%s: SAP to %s: %s\n", prog, addr_text(to, (char[ADDR_TEXT_MAX]){0}, ADDR_TEXT_MAX),
            fd_ok ? uv_strerror(rc) : strerror(errno));
    return -1;
  }
  a->msg.ipv6 = local.ss_family == AF_INET6;
  if (a->msg.ipv6)
    memcpy(a->msg.origin, &((struct sockaddr_in6 *)&local)->sin6_addr, 16);
  else
    memcpy(a->msg.origin, &((struct sockaddr_in *)&local)->sin_addr, 4);
  a->msg.payload = (const uint8_t *)a->sdp;
  a->msg.payload_len = len;
  a->msg.hash = sap_hash(a->msg.payload, len);
  rc = sap_build(&a->msg, a->pkt, sizeof a->pkt);
  if (rc < 0) {
    fprintf(stderr, "%s: --announce: %s\n", prog,
            rc == -EMSGSIZE ? "the SDP is too long for a SAP packet (1 kB)" : strerror(-rc));
    return -1;
  }
  a->pkt_len = rc;
  a->on = 1;
  uv_timer_init(loop, &a->timer);
  a->timer.data = a;
  uv_timer_start(&a->timer, timer_cb, 0, 0);
  return 0;
}

void announce_stop(struct announce *a)
{
  int rc;

  if (!a->on)
    return;
  a->on = 0;
  uv_timer_stop(&a->timer);
  a->msg.deletion = 1;
  rc = sap_build(&a->msg, a->pkt, sizeof a->pkt);
  if (rc > 0) {
    a->pkt_len = rc;
    send_one(a);
  }
}
