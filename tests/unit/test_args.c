/* common/util/args and common/util/json: the value parsers behind every flag, and
 * the stats line writer; and shell/usage, the programs' usage errors
 * around common/util/args (their exact text, since scripts and users read it). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shell/usage.h"
#include "util/args.h"
#include "util/json.h"

static void test_args_long__range_and_junk__errors(void **state)
{
  (void)state;
  long v = 0;
  assert_int_equal(args_long("96", 96, 127, &v), 0);
  assert_int_equal(v, 96);
  assert_int_equal(args_long("95", 96, 127, &v), -ERANGE);
  assert_int_equal(args_long("128", 96, 127, &v), -ERANGE);
  assert_int_equal(args_long("9x", 0, 100, &v), -EINVAL);
  assert_int_equal(args_long("", 0, 100, &v), -EINVAL);
  assert_int_equal(args_long("99999999999999999999", 0, 100, &v), -ERANGE);
  assert_int_equal(v, 96);   /* untouched on error */
}

static void test_args_double__fraction_nan__errors(void **state)
{
  (void)state;
  double d = 0;
  assert_int_equal(args_double("-1000.5", -1e4, 1e4, &d), 0);
  assert_true(fabs(d + 1000.5) < 1e-9);
  assert_int_equal(args_double("nan", -1e4, 1e4, &d), -EINVAL);
  assert_int_equal(args_double("1e5", -1e4, 1e4, &d), -ERANGE);
  assert_int_equal(args_double("abc", -1e4, 1e4, &d), -EINVAL);
}

static void test_args_frame_us__opus_sizes_only(void **state)
{
  (void)state;
  int us = 0;
  assert_int_equal(args_frame_us("2.5", &us), 0);
  assert_int_equal(us, 2500);
  assert_int_equal(args_frame_us("60", &us), 0);
  assert_int_equal(us, 60000);
  assert_int_equal(args_frame_us("30", &us), -EINVAL);
  assert_int_equal(args_frame_us("20.0", &us), -EINVAL);
}

static void test_args_hostport__forms__split(void **state)
{
  (void)state;
  char host[64], port[8];
  assert_int_equal(args_hostport("127.0.0.1:5004", 0, host, sizeof host, port, sizeof port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_string_equal(port, "5004");
  assert_int_equal(args_hostport("[::1]:6000", 0, host, sizeof host, port, sizeof port), 0);
  assert_string_equal(host, "::1");
  assert_string_equal(port, "6000");
  assert_int_equal(args_hostport("example.org:1", 0, host, sizeof host, port, sizeof port), 0);
  assert_string_equal(host, "example.org");
  assert_int_equal(args_hostport("5004", 1, host, sizeof host, port, sizeof port), 0);
  assert_string_equal(host, "");
  assert_string_equal(port, "5004");
  assert_int_equal(args_hostport("5004", 0, host, sizeof host, port, sizeof port), -EINVAL);
  assert_int_equal(args_hostport("::1:5004", 0, host, sizeof host, port, sizeof port), -EINVAL);
  assert_int_equal(args_hostport("host:0", 0, host, sizeof host, port, sizeof port), -EINVAL);
  assert_int_equal(args_hostport("host:65536", 0, host, sizeof host, port, sizeof port), -EINVAL);
  assert_int_equal(args_hostport("host:", 0, host, sizeof host, port, sizeof port), -EINVAL);
  assert_int_equal(args_hostport("[::1]5004", 0, host, sizeof host, port, sizeof port), -EINVAL);
  assert_int_equal(args_hostport(":5004", 0, host, sizeof host, port, sizeof port), -EINVAL);
}

/* --sap-addr on both programs: a numeric multicast GROUP:PORT only. */
static void test_args_group__numeric_multicast_only(void **state)
{
  struct sockaddr_storage ss;
  const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
  const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
  static const struct { const char *s; int want; } t[] = {
    {"239.1.2.3:9875", 0}, {"224.2.127.254:9875", 0}, {"[ff15::2:7ffe]:9875", 0},
    {"10.0.0.1:9875", -EDOM}, {"[::1]:9875", -EDOM}, {"223.255.255.255:1", -EDOM},
    {"239.1.2.3", -EINVAL}, {"239.1.2.3:0", -EINVAL}, {"239.1.2.3:65536", -EINVAL},
    {"sap.mcast.net:9875", -EINVAL}, {"ff15::2:9875", -EINVAL}, {"", -EINVAL},
    {":9875", -EINVAL},
  };
  (void)state;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    int r = args_group(t[i].s, &ss);
    if (r != t[i].want)
      fail_msg("args_group(\"%s\") = %d, want %d", t[i].s, r, t[i].want);
  }
  assert_int_equal(args_group(NULL, &ss), -EINVAL);
  assert_int_equal(args_group("239.1.2.3:9875", &ss), 0);
  assert_int_equal(v4->sin_family, AF_INET);
  assert_int_equal(ntohs(v4->sin_port), 9875);
  assert_int_equal(ntohl(v4->sin_addr.s_addr), 0xEF010203u);
  assert_int_equal(args_group("[ff15::2:7ffe]:5000", &ss), 0);
  assert_int_equal(v6->sin6_family, AF_INET6);
  assert_int_equal(ntohs(v6->sin6_port), 5000);
  assert_int_equal(v6->sin6_addr.s6_addr[0], 0xff);
  assert_int_equal(v6->sin6_addr.s6_addr[15], 0xfe);
}

static void test_json__nested_null_escape__exact_text(void **state)
{
  (void)state;
  char buf[256];
  struct json j;
  json_begin(&j, buf, sizeof buf);
  json_u64(&j, "t", 12);
  json_obj_begin(&j, "latency_ms");
  json_num(&j, "target", 60.0, 1);
  json_num(&j, "mean", NAN, 1);
  json_obj_end(&j);
  json_str(&j, "s", "a\"b\n");
  json_bool(&j, "final", 1);
  assert_string_equal(json_end(&j),
                      "{\"t\":12,\"latency_ms\":{\"target\":60.0,\"mean\":null},"
                      "\"s\":\"a\\\"b\\u000a\",\"final\":true}");
}

static void test_json__overflow__null(void **state)
{
  (void)state;
  char buf[8];
  struct json j;
  json_begin(&j, buf, sizeof buf);
  json_u64(&j, "received", 123456);
  assert_null(json_end(&j));
}

/* Runs fn in a child whose stderr is a pipe. Returns the child's exit
 * status (-1: it did not exit) and puts what it wrote, NUL-terminated, in
 * out. */
static int run_child(void (*fn)(void), char *out, size_t cap)
{
  int fds[2], status;
  size_t n = 0;
  ssize_t r;
  pid_t pid;

  assert_int_equal(pipe(fds), 0);
  fflush(NULL);   /* else the child's exit writes cmocka's buffer again */
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    fn();
    _exit(99);   /* fn returned: the usage error did not exit */
  }
  close(fds[1]);
  while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
    n += (size_t)r;
  out[n] = '\0';
  close(fds[0]);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void receiver_latency_abc(void)
{
  usage_prog = "receiver";
  usage_hint = " (see --help)";
  usage_long("--latency", "abc", 1, 2000, "ms or auto");
}

static void impair_stats_interval_5(void)
{
  usage_prog = "impair";
  usage_hint = " (see --help)";
  usage_double("--stats-interval", "5", 10, 3600000, "");
}

static void sender_error_no_hint(void)
{
  usage_prog = "sender";
  usage_hint = "";
  usage_error("-%c and -%c contradict each other", 'q', 'v');
}

static void test_usage__bad_value__one_line_exit_2(void **state)
{
  char err[512];
  (void)state;
  assert_int_equal(run_child(receiver_latency_abc, err, sizeof err), 2);
  assert_string_equal(err, "receiver: --latency: expected 1..2000 ms or auto, got \"abc\" (see --help)\n");
  /* A double's range is printed with %g, and no unit leaves no space. */
  assert_int_equal(run_child(impair_stats_interval_5, err, sizeof err), 2);
  assert_string_equal(err, "impair: --stats-interval: expected 10..3.6e+06, got \"5\" (see --help)\n");
  assert_int_equal(run_child(sender_error_no_hint, err, sizeof err), 2);
  assert_string_equal(err, "sender: -q and -v contradict each other\n");
}

static void test_usage__good_value__returned(void **state)
{
  (void)state;
  assert_int_equal(usage_long("--pt", "127", 96, 127, ""), 127);
  assert_true(fabs(usage_double("--loss", "2.5", 0, 100, "") - 2.5) < 1e-12);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_args_long__range_and_junk__errors),
    cmocka_unit_test(test_args_double__fraction_nan__errors),
    cmocka_unit_test(test_args_frame_us__opus_sizes_only),
    cmocka_unit_test(test_args_hostport__forms__split),
    cmocka_unit_test(test_args_group__numeric_multicast_only),
    cmocka_unit_test(test_json__nested_null_escape__exact_text),
    cmocka_unit_test(test_json__overflow__null),
    cmocka_unit_test(test_usage__bad_value__one_line_exit_2),
    cmocka_unit_test(test_usage__good_value__returned),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
