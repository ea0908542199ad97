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

#endif /* DL_IFACE_H */
