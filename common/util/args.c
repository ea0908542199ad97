#include "util/args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/addr.h"

int args_long(const char *s, long min, long max, long *out)
{
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return -EINVAL;
  errno = 0;
  v = strtol(s, &end, 10);
  if (*end != '\0')
    return -EINVAL;
  if (errno == ERANGE || v < min || v > max)
    return -ERANGE;
  *out = v;
  return 0;
}

int args_double(const char *s, double min, double max, double *out)
{
  char *end;
  double v;

  if (s == NULL || *s == '\0')
    return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if (*end != '\0' || !isfinite(v))
    return -EINVAL;
  if (errno == ERANGE || v < min || v > max)
    return -ERANGE;
  *out = v;
  return 0;
}

int args_frame_us(const char *s, int *us)
{
  static const struct { const char *text; int us; } sizes[] = {
    {"2.5", 2500}, {"5", 5000}, {"10", 10000}, {"20", 20000}, {"40", 40000}, {"60", 60000},
  };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    if (strcmp(s, sizes[i].text) == 0) {
      *us = sizes[i].us;
      return 0;
    }
  }
  return -EINVAL;
}

static int copy(char *dst, size_t cap, const char *src, size_t n)
{
  if (n >= cap)
    return -EINVAL;
  memcpy(dst, src, n);
  dst[n] = '\0';
  return 0;
}

int args_hostport(const char *s, int allow_bare_port,
                  char *host, size_t host_cap, char *port, size_t port_cap)
{
  const char *colon, *p;
  long v;

  if (s == NULL || *s == '\0')
    return -EINVAL;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':' || close == s + 1)
      return -EINVAL;
    if (copy(host, host_cap, s + 1, (size_t)(close - s - 1)) < 0)
      return -EINVAL;
    p = close + 2;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) {
      if (!allow_bare_port)
        return -EINVAL;
      if (copy(host, host_cap, "", 0) < 0)
        return -EINVAL;
      p = s;
    } else {
      /* A bare IPv6 address without brackets is ambiguous: refuse it. */
      if (colon == s || memchr(s, ':', (size_t)(colon - s)) != NULL)
        return -EINVAL;
      if (copy(host, host_cap, s, (size_t)(colon - s)) < 0)
        return -EINVAL;
      p = colon + 1;
    }
  }
  if (args_long(p, 1, 65535, &v) < 0)
    return -EINVAL;
  return copy(port, port_cap, p, strlen(p));
}

int args_group(const char *s, struct sockaddr_storage *out)
{
  char host[64], port[8];
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;

  memset(out, 0, sizeof *out);
  if (s == NULL || args_hostport(s, 0, host, sizeof host, port, sizeof port) != 0)
    return -EINVAL;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)atoi(port));
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)atoi(port));
  } else {
    return -EINVAL;
  }
  return addr_is_multicast((const struct sockaddr *)out) ? 0 : -EDOM;
}
