/* receiver --sap NAME: SAP discovery (RFC 2974, common/wire/sap) on the
 * loop thread. Listens on the SAP group (DL_SAP_ADDR:DL_SAP_PORT or
 * --sap-addr, joined on --iface) and waits for the announcement whose s=
 * is NAME, byte for byte; then tells main.c the stream's address, port
 * and payload type, once. Every other announcement is ignored: a receiver
 * never joins a group it was not told by name. Malformed or oversized
 * packets, and SDPs sdp_parse refuses, count in sap_invalid; the found
 * announcement's deletion (its origin and hash) in sap_deleted. */
#ifndef DL_RECEIVER_RXSAP_H
#define DL_RECEIVER_RXSAP_H

#include <stdint.h>
#include <uv.h>

#include "wire/sap.h"
#include "wire/sdp.h"

struct report;

struct rxsap_stats {
  int on;                       /* --sap given */
  uint64_t seen;                /* valid announcements, any name */
  uint64_t invalid;             /* refused: malformed, oversized, a bad SDP */
  uint64_t deleted;             /* deletions of the found announcement */
  int found;                    /* the named one came */
};

struct rxsap {
  const char *name;
  struct report *rep;
  /* Told once, with the named announcement's SDP (not Opus: not told). */
  void (*found_cb)(void *arg, const struct sdp_info *sdp);
  void *found_arg;
  uv_udp_t sock;
  int open;
  int found, said_not_opus;
  uint8_t origin[16];           /* the found announcement's */
  int origin_v6;
  uint16_t hash;
  struct rxsap_stats st;
  uint8_t buf[SAP_MAX_PACKET + 1];   /* one more: an oversized datagram is seen as such */
};

/* Loop thread (the main thread before uv_run). group: the SAP group and
 * port (args_group's), iface: --iface (a name or address; NULL: the
 * kernel's choice). name, rep, found_cb and found_arg set by the caller.
 * Returns 0 or -1 after one line. */
int rxsap_open(struct rxsap *s, uv_loop_t *loop, const struct sockaddr *group, const char *iface);

/* Loop thread: no more datagrams. Accepts one never opened. */
void rxsap_stop(struct rxsap *s);

void rxsap_get_stats(const struct rxsap *s, struct rxsap_stats *out);

#endif /* DL_RECEIVER_RXSAP_H */
