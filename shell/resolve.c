/* Name lookup for the programs (see resolve.h). */
#include "shell/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

int resolve_udp(const char *host, const char *port, int flags, int family,
                struct sockaddr_storage *out)
{
  struct addrinfo hints, *res = NULL;
  int err;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV | ((flags & RESOLVE_PASSIVE) ? AI_PASSIVE : 0);
  err = getaddrinfo(host != NULL && *host ? host : NULL, port, &hints, &res);
  if (err != 0)
    return err;
  memset(out, 0, sizeof *out);
  memcpy(out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return 0;
}

const char *resolve_strerror(int err)
{
  return err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err);
}
