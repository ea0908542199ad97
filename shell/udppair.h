/* udppair: UDP sockets for RTP and its RTCP (RFC 3550 11: RTP on an even
 * port, RTCP on the odd one above it), bound on any address of a family
 * to a port the kernel picks. Main thread, before the loop runs. */
#ifndef DL_UDPPAIR_H
#define DL_UDPPAIR_H

/* n (1 or 2) datagram sockets into fds: one on a port the kernel picks,
 * or two on an even port and the odd one above it. Returns 0 or a negative
 * errno (-EADDRINUSE: no such pair found in 100 tries). */
int udppair_bind(int family, int fds[2], int n);

#endif /* DL_UDPPAIR_H */
