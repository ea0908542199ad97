/* The service manager's notification protocol (see notify.h). */
#include "shell/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shell/clock.h"

/* A ping every quarter of the period: systemd's advice is half, and the
 * other half is room for a thread that runs a little late or a datagram
 * that found the queue full once. */
#define WATCHDOG_FRACTION 4

/* Written by setup() only (before any other use, or by notify_init in a
 * test with nothing else running); read-only afterwards. */
static int sock = -1;
static struct sockaddr_un addr;
static socklen_t addr_len;
static uint64_t watchdog_usec;
static int64_t watchdog_every_ns;

/* The CLOCK_MONOTONIC time of the last WATCHDOG=1 sent, 0 for none yet.
 * Threads race for the right to send with a compare-and-swap. */
static _Atomic int64_t watchdog_last_ns;

static atomic_int setup_done;   /* 1 once setup() has run */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_error;

static int setup(void)
{
  const char *path = getenv("NOTIFY_SOCKET");
  const char *usec = getenv("WATCHDOG_USEC");
  const char *pid = getenv("WATCHDOG_PID");
  size_t len;

  if (sock >= 0)
    close(sock);
  sock = -1;
  watchdog_usec = 0;
  watchdog_every_ns = 0;
  atomic_store(&watchdog_last_ns, 0);
  if (path == NULL || path[0] == '\0')
    return 0;
  /* A path, or '@' for Linux's abstract namespace, where the name starts
   * with a NUL byte; systemd also knows vsock: addresses, for virtual
   * machines, which have no unix socket to speak to. */
  if (path[0] != '/' && path[0] != '@')
    return -EAFNOSUPPORT;
  len = strlen(path);
  if (len >= sizeof addr.sun_path)
    return -ENAMETOOLONG;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  /* An abstract name is exactly len bytes long: no NUL after it. */
  addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0)
    return -errno;

  if (usec != NULL && pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
    return 0;   /* the watchdog is some other process' to feed */
  if (usec != NULL) {
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(usec, &end, 10);
    if (errno == 0 && end != usec && *end == '\0' && v > 0 && v < (1ULL << 53)) {
      watchdog_usec = v;
      watchdog_every_ns = (int64_t)(v * 1000 / WATCHDOG_FRACTION);
    }
  }
  return 0;
}

static void setup_once(void)
{
  init_error = setup();
  atomic_store_explicit(&setup_done, 1, memory_order_release);
}

static void ensure_setup(void)
{
  /* The cheap check first: after the first call, no pthread_once. */
  if (!atomic_load_explicit(&setup_done, memory_order_acquire))
    pthread_once(&once, setup_once);
}

int notify_init(void)
{
  init_error = setup();
  atomic_store_explicit(&setup_done, 1, memory_order_release);
  return init_error;
}

static int send_msg(const char *msg, size_t len)
{
  if (sock < 0)
    return 0;
  /* MSG_NOSIGNAL: a manager that went away must not kill us with SIGPIPE. */
  if (sendto(sock, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&addr,
             addr_len) < 0)
    return -errno;
  return 1;
}

int notify_ready(void)
{
  ensure_setup();
  return send_msg("READY=1", 7);
}

int notify_stopping(void)
{
  ensure_setup();
  return send_msg("STOPPING=1", 10);
}

int notify_watchdog(void)
{
  int64_t now, last;
  int r;

  ensure_setup();
  if (sock < 0 || watchdog_every_ns == 0)
    return 0;
  now = clock_mono_ns();
  last = atomic_load_explicit(&watchdog_last_ns, memory_order_relaxed);
  if (last != 0 && now - last < watchdog_every_ns)
    return 0;
  /* Another thread that got here first sends; this one need not. */
  if (!atomic_compare_exchange_strong(&watchdog_last_ns, &last, now))
    return 0;
  r = send_msg("WATCHDOG=1", 10);
  /* Not sent (the queue was full): the next call tries again. */
  if (r < 0)
    atomic_store(&watchdog_last_ns, last);
  return r;
}

int notify_status(const char *fmt, ...)
{
  char msg[7 + 256];
  va_list ap;
  int n;

  ensure_setup();
  if (sock < 0)
    return 0;
  memcpy(msg, "STATUS=", 7);
  va_start(ap, fmt);
  n = vsnprintf(msg + 7, sizeof msg - 7, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  if ((size_t)n >= sizeof msg - 7)
    n = (int)(sizeof msg - 8);
  for (char *c = msg + 7; c < msg + 7 + n; c++)
    if (*c == '\n')
      *c = ' ';
  return send_msg(msg, 7 + (size_t)n);
}

uint64_t notify_watchdog_usec(void)
{
  ensure_setup();
  return sock >= 0 ? watchdog_usec : 0;
}
