/* shell/notify (the receiver and the sender under systemd's Type=notify):
 * READY=1, STOPPING=1, STATUS= and WATCHDOG=1 arrive as datagrams on the
 * socket $NOTIFY_SOCKET names (a path or an abstract name), the watchdog
 * ping is rate-limited to a quarter of $WATCHDOG_USEC, a full queue is an
 * error and never a wait, and without $NOTIFY_SOCKET nothing is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shell/clock.h"
#include "shell/notify.h"

struct peer {
  int fd;
  char path[108];   /* "" for an abstract socket */
  char env[108];    /* what NOTIFY_SOCKET says */
};

/* The service manager's end: a unix datagram socket bound to a fresh path
 * (abstract 0) or abstract name (abstract 1), named in $NOTIFY_SOCKET. */
static void peer_open(struct peer *p, int abstract)
{
  struct sockaddr_un a;
  socklen_t len;

  memset(p, 0, sizeof *p);
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  p->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(p->fd >= 0);
  if (abstract) {
    snprintf(p->env, sizeof p->env, "@dl-test-notify-%ld", (long)getpid());
    memcpy(a.sun_path, p->env, strlen(p->env));
    a.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p->env));
  } else {
    snprintf(p->path, sizeof p->path, "/tmp/dl-test-notify-%ld.sock", (long)getpid());
    unlink(p->path);
    snprintf(p->env, sizeof p->env, "%s", p->path);
    memcpy(a.sun_path, p->path, strlen(p->path) + 1);
    len = sizeof a;
  }
  assert_int_equal(bind(p->fd, (struct sockaddr *)&a, len), 0);
  assert_int_equal(setenv("NOTIFY_SOCKET", p->env, 1), 0);
}

static void peer_close(struct peer *p)
{
  close(p->fd);
  if (p->path[0] != '\0')
    unlink(p->path);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  notify_init();
}

/* The next datagram within wait_ms, as a string; NULL if none came. */
static const char *peer_recv(struct peer *p, int wait_ms)
{
  static char buf[512];
  struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
  ssize_t n;

  if (poll(&pfd, 1, wait_ms) != 1)
    return NULL;
  n = recv(p->fd, buf, sizeof buf - 1, 0);
  assert_true(n >= 0);
  buf[n] = '\0';
  return buf;
}

static void test_notify_ready__path_socket__ready_arrives(void **state)
{
  (void)state;
  struct peer p;
  peer_open(&p, 0);
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_ready(), 1);
  assert_string_equal(peer_recv(&p, 1000), "READY=1");
  assert_int_equal(notify_stopping(), 1);
  assert_string_equal(peer_recv(&p, 1000), "STOPPING=1");
  assert_null(peer_recv(&p, 0));
  peer_close(&p);
}

static void test_notify_ready__abstract_socket__ready_arrives(void **state)
{
  (void)state;
  struct peer p;
  peer_open(&p, 1);
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_ready(), 1);
  assert_string_equal(peer_recv(&p, 1000), "READY=1");
  peer_close(&p);
}

static void test_notify_status__format__one_line_arrives(void **state)
{
  (void)state;
  struct peer p;
  char longer[400];
  const char *got;

  peer_open(&p, 0);
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_status("latency %d ms\nloss %.1f %%", 60, 0.5), 1);
  /* The newline would start a new VAR=VALUE line: it became a space. */
  assert_string_equal(peer_recv(&p, 1000), "STATUS=latency 60 ms loss 0.5 %");
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  assert_int_equal(notify_status("%s", longer), 1);
  got = peer_recv(&p, 1000);
  assert_non_null(got);
  assert_int_equal(strlen(got), 7 + 255);
  peer_close(&p);
}

static void test_notify_watchdog__no_watchdog_usec__nothing_sent(void **state)
{
  (void)state;
  struct peer p;
  peer_open(&p, 0);
  unsetenv("WATCHDOG_USEC");
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_watchdog_usec(), 0);
  assert_int_equal(notify_watchdog(), 0);
  assert_null(peer_recv(&p, 50));
  peer_close(&p);
}

static void test_notify_watchdog__other_pid__nothing_sent(void **state)
{
  (void)state;
  struct peer p;
  peer_open(&p, 0);
  setenv("WATCHDOG_USEC", "400000", 1);
  setenv("WATCHDOG_PID", "1", 1);   /* init's to feed, not ours */
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_watchdog_usec(), 0);
  assert_int_equal(notify_watchdog(), 0);
  assert_null(peer_recv(&p, 50));
  peer_close(&p);
}

/* WATCHDOG_USEC 400 ms: one ping per 100 ms at most. The assertions hold
 * whatever the machine's load: a call that ends less than 100 ms after the
 * last ping began cannot send, and a call that begins 100 ms or more after
 * the last ping ended must. */
static void test_notify_watchdog__rate_limited__one_per_quarter_period(void **state)
{
  (void)state;
  const int64_t every = 100 * 1000000;
  struct peer p;
  int64_t first_begin, sent_begin, sent_end, begin, end;
  int r, sent, calls = 0;
  char pid[32];

  peer_open(&p, 0);
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  setenv("WATCHDOG_USEC", "400000", 1);
  setenv("WATCHDOG_PID", pid, 1);
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_watchdog_usec(), 400000);

  first_begin = sent_begin = clock_mono_ns();
  assert_int_equal(notify_watchdog(), 1);
  sent_end = clock_mono_ns();
  sent = 1;
  assert_string_equal(peer_recv(&p, 1000), "WATCHDOG=1");
  /* 250 ms of calls as fast as they come, then one every 10 ms. */
  while (clock_mono_ns() - first_begin < 350 * 1000000) {
    begin = clock_mono_ns();
    r = notify_watchdog();
    end = clock_mono_ns();
    calls++;
    assert_true(r == 0 || r == 1);
    if (end - sent_begin < every)
      assert_int_equal(r, 0);
    if (begin - sent_end >= every)
      assert_int_equal(r, 1);
    if (r == 1) {
      sent_begin = begin;
      sent_end = end;
      sent++;
      assert_string_equal(peer_recv(&p, 1000), "WATCHDOG=1");
    }
    if (begin - first_begin > 250 * 1000000) {
      struct timespec ts = {0, 10 * 1000000};
      nanosleep(&ts, NULL);
    }
  }
  print_message("      %d calls in 350 ms, %d pings sent\n", calls, sent);
  /* 350 ms at one per 100 ms or more: at most 4, and at least 2 (the
   * last 100 ms are calls 10 ms apart, one of which must send). */
  assert_true(sent >= 2 && sent <= 4);
  assert_null(peer_recv(&p, 0));
  peer_close(&p);
}

/* A manager that does not read: the datagrams fill its queue and the next
 * send says -EAGAIN at once. alarm() turns a blocking send into a crash. */
static void test_notify_status__full_queue__eagain_not_blocking(void **state)
{
  (void)state;
  struct peer p;
  int i, r = 1;

  peer_open(&p, 0);
  assert_int_equal(notify_init(), 0);
  alarm(10);
  for (i = 0; i < 100000 && r == 1; i++)
    r = notify_status("filling %d", i);
  alarm(0);
  assert_int_equal(r, -EAGAIN);
  assert_true(i > 1);
  peer_close(&p);
}

static void test_notify__no_notify_socket__every_call_a_noop(void **state)
{
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  setenv("WATCHDOG_USEC", "400000", 1);
  assert_int_equal(notify_init(), 0);
  assert_int_equal(notify_ready(), 0);
  assert_int_equal(notify_watchdog(), 0);
  assert_int_equal(notify_stopping(), 0);
  assert_int_equal(notify_status("x %d", 1), 0);
  /* No socket to ping it through: no watchdog to feed. */
  assert_int_equal(notify_watchdog_usec(), 0);
  unsetenv("WATCHDOG_USEC");
}

static void test_notify_init__vsock_or_relative__unsupported_noop(void **state)
{
  (void)state;
  setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  assert_int_equal(notify_init(), -EAFNOSUPPORT);
  assert_int_equal(notify_ready(), 0);
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  assert_int_equal(notify_init(), -EAFNOSUPPORT);
  assert_int_equal(notify_ready(), 0);
  unsetenv("NOTIFY_SOCKET");
  notify_init();
}

/* Without notify_init, the first call sets up from the environment. */
static void test_notify_ready__first_use__reads_environment(void **state)
{
  (void)state;
  struct peer p;
  peer_open(&p, 0);
  assert_int_equal(notify_ready(), 1);
  assert_string_equal(peer_recv(&p, 1000), "READY=1");
  peer_close(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    /* First: it needs the module not yet set up. */
    cmocka_unit_test(test_notify_ready__first_use__reads_environment),
    cmocka_unit_test(test_notify_ready__path_socket__ready_arrives),
    cmocka_unit_test(test_notify_ready__abstract_socket__ready_arrives),
    cmocka_unit_test(test_notify_status__format__one_line_arrives),
    cmocka_unit_test(test_notify_watchdog__no_watchdog_usec__nothing_sent),
    cmocka_unit_test(test_notify_watchdog__other_pid__nothing_sent),
    cmocka_unit_test(test_notify_watchdog__rate_limited__one_per_quarter_period),
    cmocka_unit_test(test_notify_status__full_queue__eagain_not_blocking),
    cmocka_unit_test(test_notify__no_notify_socket__every_call_a_noop),
    cmocka_unit_test(test_notify_init__vsock_or_relative__unsupported_noop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
