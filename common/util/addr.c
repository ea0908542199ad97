/* Socket addresses as values (see addr.h). */
#include "util/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

socklen_t addr_len(const struct sockaddr *a)
{
  return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int addr_port(const struct sockaddr *a)
{
  if (a->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)(const void *)a)->sin6_port);
  if (a->sa_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)(const void *)a)->sin_port);
  return 0;
}

void addr_set_port(struct sockaddr *a, int port)
{
  if (a->sa_family == AF_INET6)
    ((struct sockaddr_in6 *)(void *)a)->sin6_port = htons((uint16_t)port);
  else if (a->sa_family == AF_INET)
    ((struct sockaddr_in *)(void *)a)->sin_port = htons((uint16_t)port);
}

int addr_same(const struct sockaddr *a, const struct sockaddr *b, int with_port)
{
  if (a == NULL || b == NULL || a->sa_family != b->sa_family)
    return 0;
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_addr.s_addr == y->sin_addr.s_addr && (!with_port || x->sin_port == y->sin_port);
  }
  if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
           (!with_port || x->sin6_port == y->sin6_port);
  }
  return 0;
}

int addr_is_multicast(const struct sockaddr *a)
{
  if (a == NULL)
    return 0;
  if (a->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr) >> 28) == 0xe;
  if (a->sa_family == AF_INET6)
    return ((const struct sockaddr_in6 *)(const void *)a)->sin6_addr.s6_addr[0] == 0xff;
  return 0;
}

int addr_is_ssm(const struct sockaddr *a)
{
  if (a == NULL)
    return 0;
  if (a->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr) >> 24) == 232;
  if (a->sa_family == AF_INET6) {
    const uint8_t *b = ((const struct sockaddr_in6 *)(const void *)a)->sin6_addr.s6_addr;
    /* ff3x::/96 with the prefix length 0 (RFC 4607 1) */
    return b[0] == 0xff && (b[1] & 0xf0) == 0x30 && b[2] == 0 && b[3] == 0;
  }
  return 0;
}

void addr_copy(struct sockaddr_storage *out, const struct sockaddr *a)
{
  memset(out, 0, sizeof *out);
  memcpy(out, a, addr_len(a));
}

char *addr_text(const struct sockaddr *a, char *out, size_t cap)
{
  char host[INET6_ADDRSTRLEN];

  if (a->sa_family == AF_INET6 &&
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr, host,
                sizeof host) != NULL)
    snprintf(out, cap, "[%s]:%d", host, addr_port(a));
  else if (a->sa_family == AF_INET &&
           inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a)->sin_addr, host,
                     sizeof host) != NULL)
    snprintf(out, cap, "%s:%d", host, addr_port(a));
  else
    snprintf(out, cap, "?");
  return out;
}
