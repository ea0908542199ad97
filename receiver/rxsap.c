/* receiver --sap (see rxsap.h). */
#include "rxsap.h"

#include <arpa/inet.h>
#include <string.h>

#include "net.h"
#include "report.h"
#include "shell/iface.h"
#include "util/addr.h"

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct rxsap *s = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)s->buf, sizeof s->buf);
}

static void invalid(struct rxsap *s, size_t len, const char *why)
{
  if (++s->st.invalid <= 3)
    report_verbose(s->rep, "SAP: a packet of %zu bytes refused: %s", len, why);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
  struct rxsap *s = h->data;
  struct sap_msg m;
  struct sdp_info sdp;
  size_t len = (size_t)nread;
  int rc;

  (void)buf;
  if (nread <= 0 || addr == NULL)
    return;
  if ((flags & UV_UDP_PARTIAL) || len > SAP_MAX_PACKET) {
    invalid(s, len, "oversized");
    return;
  }
  rc = sap_match(s->buf, len, s->name, &m, &sdp);
  if (rc < 0) {
    invalid(s, len, rc == SAP_ERR_SDP ? "its SDP is malformed" : sap_strerror(rc));
    return;
  }
  if (rc == SAP_DELETION) {
    if (s->found && m.hash == s->hash && m.ipv6 == s->origin_v6 &&
        memcmp(m.origin, s->origin, m.ipv6 ? 16 : 4) == 0) {
      s->st.deleted++;
      report_verbose(s->rep, "SAP: \"%s\" was deleted (the sender stopped announcing it)", s->name);
    }
    return;
  }
  s->st.seen++;
  if (rc != SAP_MATCH || s->found)
    return;
  if (!sdp.opus) {
    if (!s->said_not_opus)
      report_error(s->rep, "SAP: \"%s\" is not an Opus stream (no a=rtpmap:%d opus/48000): not joined",
                   s->name, sdp.pt);
    s->said_not_opus = 1;
    return;
  }
  s->found = s->st.found = 1;
  s->hash = m.hash;
  s->origin_v6 = m.ipv6;
  memcpy(s->origin, m.origin, sizeof s->origin);
  s->found_cb(s->found_arg, &sdp);
}

int rxsap_open(struct rxsap *s, uv_loop_t *loop, const struct sockaddr *group, const char *iface)
{
  char host[INET6_ADDRSTRLEN], at[ADDR_TEXT_MAX];
  const void *bin = group->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)group)->sin6_addr
                                                 : (const void *)&((const struct sockaddr_in *)group)->sin_addr;
  int r;

  s->st.on = 1;
  inet_ntop(group->sa_family, bin, host, sizeof host);
  addr_text(group, at, sizeof at);
  uv_udp_init(loop, &s->sock);
  s->sock.data = s;
  s->open = 1;
  /* Bound to the group and shared: other SAP listeners (VLC, another
   * receiver) on this host hear it too. */
  r = uv_udp_bind(&s->sock, group, UV_UDP_REUSEADDR);
  if (r == 0)
    r = iface_join(&s->sock, host, iface, NULL);
  if (r == 0)
    r = uv_udp_recv_start(&s->sock, alloc_cb, recv_cb);
  if (r != 0) {
    report_error(s->rep, "SAP group %s: cannot listen: %s", at, uv_strerror(r));
    return -1;
  }
  report_verbose(s->rep, "SAP: listening on %s for \"%s\"", at, s->name);
  return 0;
}

void rxsap_stop(struct rxsap *s)
{
  if (s->open)
    uv_udp_recv_stop(&s->sock);
}

void rxsap_get_stats(const struct rxsap *s, struct rxsap_stats *out)
{
  *out = s->st;
}
