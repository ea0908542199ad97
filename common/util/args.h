/* Parsing of command-line values, shared by the programs. Pure: no
 * printing; the caller words the error ("sender: --bitrate: ..."). */
#ifndef DL_ARGS_H
#define DL_ARGS_H

#include <stddef.h>

/* A whole decimal number in [min, max]. Returns 0, -EINVAL (not a number)
 * or -ERANGE (outside the range). */
int args_long(const char *s, long min, long max, long *out);

/* A decimal number (fraction allowed) in [min, max]. Same returns. */
int args_double(const char *s, double min, double max, double *out);

/* An Opus frame duration in ms: 2.5, 5, 10, 20, 40 or 60. Stores it in
 * microseconds. Returns 0 or -EINVAL. */
int args_frame_us(const char *s, int *us);

/* Splits "HOST:PORT", "[V6ADDR]:PORT" or (if allow_bare_port) "PORT" into
 * host (empty for a bare port) and port (1..65535, as text). Returns 0 or
 * -EINVAL. */
int args_hostport(const char *s, int allow_bare_port,
                  char *host, size_t host_cap, char *port, size_t port_cap);

/* A multicast GROUP:PORT with a numeric group, "239.1.2.3:9875" or
 * "[ff15::2:7ffe]:9875" (--sap-addr), into *out. Returns 0, -EINVAL (not
 * GROUP:PORT, or the group not a numeric address) or -EDOM (an address, but
 * not a multicast group). */
struct sockaddr_storage;
int args_group(const char *s, struct sockaddr_storage *out);

#endif /* DL_ARGS_H */
