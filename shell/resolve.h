/* resolve: a host and a numeric port to one UDP socket address, through
 * getaddrinfo (a name lookup may block: main thread, before the loop
 * runs). The programs word the error with gai_strerror. */
#ifndef DL_RESOLVE_H
#define DL_RESOLVE_H

#include <sys/socket.h>

#define RESOLVE_PASSIVE 1   /* an address to bind: "" is any address */

/* host: a name or a numeric address ("" with RESOLVE_PASSIVE: any);
 * port: decimal, or NULL for none (the address only); family: AF_UNSPEC, AF_INET or AF_INET6. Fills out with
 * the first answer. Returns 0, or getaddrinfo's EAI_* code (never 0). */
int resolve_udp(const char *host, const char *port, int flags, int family,
                struct sockaddr_storage *out);

/* The text of resolve_udp's error (gai_strerror; errno's for EAI_SYSTEM). */
const char *resolve_strerror(int err);

#endif /* DL_RESOLVE_H */
