/* Socket addresses as values: length, port, comparison and text, for IPv4
 * and IPv6 (struct sockaddr_in, sockaddr_in6). Pure: no I/O, no name
 * lookup (that is shell/resolve), so that the receiver's admission rules
 * (common/rx/admit) compare sources in a unit test. Any thread. */
#ifndef DL_ADDR_H
#define DL_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Longest addr_text: "[" IPv6 "]:" port and the terminator. */
#define ADDR_TEXT_MAX 56

/* sizeof the family's sockaddr (sockaddr_in6 or sockaddr_in). */
socklen_t addr_len(const struct sockaddr *a);

/* The port in host order; 0 for another family. */
int addr_port(const struct sockaddr *a);
void addr_set_port(struct sockaddr *a, int port);

/* Whether a and b are the same IP address, and with_port the same port too.
 * NULL or different families: 0. */
int addr_same(const struct sockaddr *a, const struct sockaddr *b, int with_port);

/* Whether a is an IP multicast group: IPv4 224.0.0.0/4, IPv6 ff00::/8.
 * NULL or another family: 0. */
int addr_is_multicast(const struct sockaddr *a);

/* Whether a is a source-specific multicast group (RFC 4607): IPv4
 * 232.0.0.0/8, IPv6 ff3x::/32. NULL or another family: 0. */
int addr_is_ssm(const struct sockaddr *a);

/* Copies a (addr_len bytes) into out and zeroes the rest. */
void addr_copy(struct sockaddr_storage *out, const struct sockaddr *a);

/* "192.0.2.1:5004" or "[2001:db8::1]:5004" into out (cap >= ADDR_TEXT_MAX
 * holds any); "?" for another family. Returns out. */
char *addr_text(const struct sockaddr *a, char *out, size_t cap);

#endif /* DL_ADDR_H */
