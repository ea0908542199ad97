/* iface: a multicast --iface given as a name ("eth0") or as one of the
 * host's addresses ("192.168.1.10", "fe80::1"), looked up once among the
 * host's interfaces (getifaddrs; main thread, before the loop runs), so
 * that either form works for either family: IPv4's socket options take
 * an address (or an index), IPv6's an index. */
#ifndef DL_IFACE_H
#define DL_IFACE_H

#include <netinet/in.h>

struct iface {
  unsigned index;        /* if_nametoindex */
  struct in_addr v4;     /* its first IPv4 address (INADDR_ANY if none) */
  char name[16];         /* IF_NAMESIZE */
};

/* Returns 0, or -ENODEV when no interface has that name or address. */
int iface_lookup(const char *spec, struct iface *out);

/* Joins sock (bound, libuv's) to group ("239.1.2.3", "ff15::1") on iface
 * (a name or address; NULL: the kernel's choice), from source only when
 * not NULL (SSM), and makes iface the socket's way out to the group.
 * Returns 0 or a libuv error (UV_ENODEV: no such interface). */
struct uv_udp_s;
int iface_join(struct uv_udp_s *sock, const char *group, const char *iface, const char *source);

#endif /* DL_IFACE_H */
