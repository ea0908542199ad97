/* notify: the service manager's readiness and watchdog protocol (systemd's
 * sd_notify(3)), for the receiver and the sender run as Type=notify units.
 *
 * Under systemd, $NOTIFY_SOCKET names a unix datagram socket (a path, or
 * "@name" for the abstract namespace) and each message is one datagram of
 * VAR=VALUE lines: READY=1 once the program serves, WATCHDOG=1 at least
 * every $WATCHDOG_USEC, STOPPING=1, STATUS=text. Not under systemd, the
 * variable is absent and every call is a cheap no-op.
 *
 * The protocol is spoken here, not through libsystemd's sd_notify: that
 * opens, sends on and closes a new socket per call and its send blocks
 * while the manager's queue is full, and a watchdog ping from the playback
 * thread may do neither. Here the socket is opened once, non-blocking
 * (a full queue drops the message and says -EAGAIN), notify_watchdog sends
 * at most one datagram per quarter of $WATCHDOG_USEC and allocates nothing.
 * The protocol is a documented, stable interface of systemd, so this costs
 * no dependency: the programs run the same on machines without systemd.
 *
 * The kernel stamps each datagram with the process id, not the thread's,
 * so that any thread's message counts as the main process' (the default
 * NotifyAccess=main).
 *
 * Every call returns 1 (sent), 0 (nothing to do: not under systemd, no
 * watchdog, or rate-limited) or a negative errno; callers may ignore it. */
#ifndef DL_NOTIFY_H
#define DL_NOTIFY_H

#include <stdint.h>

/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and opens the
 * socket. The other calls do this themselves on first use (once, any
 * thread); calling it again closes the socket and reads the environment
 * anew, which is for tests: then no other notify_ call may run meanwhile.
 * Returns 0 (also when not under systemd) or a negative errno: -EAFNOSUPPORT
 * for a $NOTIFY_SOCKET that is neither a path nor "@name", -ENAMETOOLONG,
 * or socket(2)'s error; after an error the other calls are no-ops. */
int notify_init(void);

/* READY=1: the program does what it was started for (the receiver's
 * socket and playback thread are up; the sender's pacing loop runs).
 * Main thread, once. */
int notify_ready(void);

/* WATCHDOG=1, at most once per quarter of $WATCHDOG_USEC (the first call
 * always sends); the other calls return 0 at the cost of one clock read.
 * Any thread, also a real-time one: no allocation, no lock, no blocking. */
int notify_watchdog(void);

/* STOPPING=1: the program is shutting down. Any thread. */
int notify_stopping(void);

/* STATUS=text (printf format; at most 255 bytes are sent, newlines become
 * spaces since they would start a new VAR=VALUE line), which systemctl
 * status shows. Not for a real-time thread (vsnprintf). */
__attribute__((format(printf, 1, 2)))
int notify_status(const char *fmt, ...);

/* The watchdog period in microseconds that the service manager asked for,
 * or 0 when there is no watchdog to feed (not under systemd, no
 * WatchdogSec=, or $WATCHDOG_PID names another process). Any thread. */
uint64_t notify_watchdog_usec(void);

#endif /* DL_NOTIFY_H */
