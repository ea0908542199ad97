/* iface: see iface.h. */
#include "iface.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>

#include <uv.h>

/* 1 if sa holds the address spec names (numeric, either family). */
static int same_addr(const struct sockaddr *sa, const char *spec)
{
  struct in_addr a4;
  struct in6_addr a6;

  if (sa->sa_family == AF_INET && inet_pton(AF_INET, spec, &a4) == 1)
    return memcmp(&((const struct sockaddr_in *)sa)->sin_addr, &a4, sizeof a4) == 0;
  if (sa->sa_family == AF_INET6 && inet_pton(AF_INET6, spec, &a6) == 1)
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &a6, sizeof a6) == 0;
  return 0;
}

int iface_lookup(const char *spec, struct iface *out)
{
  struct ifaddrs *all, *i;
  const char *name = NULL;

  memset(out, 0, sizeof *out);
  out->v4.s_addr = htonl(INADDR_ANY);
  if (getifaddrs(&all) != 0)
    return -errno;
  for (i = all; i != NULL && name == NULL; i = i->ifa_next)
    if (strcmp(i->ifa_name, spec) == 0 || (i->ifa_addr != NULL && same_addr(i->ifa_addr, spec)))
      name = i->ifa_name;
  if (name != NULL && strlen(name) < sizeof out->name) {
    memcpy(out->name, name, strlen(name) + 1);
    out->index = if_nametoindex(name);
    for (i = all; i != NULL; i = i->ifa_next)
      if (strcmp(i->ifa_name, name) == 0 && i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET) {
        out->v4 = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
        break;
      }
  }
  freeifaddrs(all);
  return out->index != 0 ? 0 : -ENODEV;
}

int iface_join(uv_udp_t *sock, const char *group, const char *iface, const char *source)
{
  char text[64];
  struct iface ifc;

  /* In the form libuv takes: IPv4 an interface address, IPv6 an address
   * whose scope names the interface, "::%eth0". */
  if (iface != NULL) {
    if (iface_lookup(iface, &ifc) != 0)
      return UV_ENODEV;
    if (strchr(group, ':') != NULL)
      snprintf(text, sizeof text, "::%%%s", ifc.name);
    else if (ifc.v4.s_addr == htonl(INADDR_ANY) || inet_ntop(AF_INET, &ifc.v4, text, sizeof text) == NULL)
      return UV_EADDRNOTAVAIL;   /* an interface without an IPv4 address */
    iface = text;
  }
  int r = source != NULL ? uv_udp_set_source_membership(sock, group, iface, source, UV_JOIN_GROUP)
                         : uv_udp_set_membership(sock, group, iface, UV_JOIN_GROUP);
  /* Reports to the group leave by the same interface (where there is no
   * route for the group, as on a LAN without a default route, there is no
   * other way out). */
  if (r == 0 && iface != NULL)
    r = uv_udp_set_multicast_interface(sock, iface);
  return r;
}
