/* sender --announce: the stream's SDP by SAP (RFC 2974, common/wire/sap)
 * to a group (DL_SAP_ADDR:DL_SAP_PORT, or --sap-addr), at once and then
 * every DL_SAP_INTERVAL_MS (a third either way at random), and a
 * deletion when the stream stops, so that VLC's network streams list
 * and receiver --sap NAME find it. The origin is the local address the
 * socket sends from. Loop thread (the sender's one thread). */
#ifndef DL_SENDER_ANNOUNCE_H
#define DL_SENDER_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "wire/sap.h"

struct linew;

struct announce {
  uv_udp_t sock;
  uv_timer_t timer;
  int on;                          /* announcing: a deletion is due at the end */
  struct sockaddr_storage to;
  struct sap_msg msg;
  char sdp[SAP_MAX_BUILD];
  uint8_t pkt[SAP_MAX_BUILD];
  int pkt_len;
  uint64_t rng;
  uint64_t sent, send_errors;
  int said_error;
  struct linew *out;
  int err_id;
};

/* Main thread, before the loop runs: a socket to group `to` (a multicast
 * address) with ttl (0: 1) and, for IPv4, the outgoing interface address
 * iface (NULL: the route's), and the announcement of sdp (len bytes),
 * sent at once and then by the timer. rand: the caller's random draw.
 * Returns 0, or -1 after one line on stderr. */
int announce_start(struct announce *a, uv_loop_t *loop, const struct sockaddr *to, const char *sdp,
                   size_t len, int ttl, const char *iface, uint64_t rand, struct linew *out,
                   int err_id, const char *prog);

/* The stream stops: the deletion, sent now; no more announcements. */
void announce_stop(struct announce *a);

#endif /* DL_SENDER_ANNOUNCE_H */
