/* common/util/addr: the multicast classification that decides whether the
 * sender sets a TTL and the receiver joins a group. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/addr.h"

static struct sockaddr_storage make(const char *text)
{
  struct sockaddr_storage s;

  memset(&s, 0, sizeof s);
  if (strchr(text, ':') != NULL) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s;
    a->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&s;
    a->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
  }
  return s;
}

static void test_addr_is_multicast__table__classified(void **state)
{
  static const struct { const char *text; int mc, ssm; } t[] = {
    {"239.1.2.3", 1, 0},       {"224.0.0.1", 1, 0},   {"239.255.255.255", 1, 0},
    {"232.1.1.1", 1, 1},       {"223.255.255.255", 0, 0}, {"240.0.0.1", 0, 0},
    {"127.0.0.1", 0, 0},       {"0.0.0.0", 0, 0},     {"255.255.255.255", 0, 0},
    {"ff15::1", 1, 0},         {"ff02::1", 1, 0},     {"ff3e::8000:1", 1, 1},
    {"ff35::1", 1, 1},         {"ff3e:40:2001:db8::1", 1, 0},  /* a prefix: not SSM */
    {"fe80::1", 0, 0},         {"::1", 0, 0},         {"::ffff:239.1.2.3", 0, 0},
  };
  (void)state;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    struct sockaddr_storage s = make(t[i].text);
    if (addr_is_multicast((const struct sockaddr *)&s) != t[i].mc ||
        addr_is_ssm((const struct sockaddr *)&s) != t[i].ssm)
      fail_msg("%s: expected multicast %d ssm %d", t[i].text, t[i].mc, t[i].ssm);
  }
}

static void test_addr_is_multicast__null_other_family__zero(void **state)
{
  struct sockaddr_storage s;
  (void)state;
  memset(&s, 0, sizeof s);
  s.ss_family = AF_UNIX;
  assert_int_equal(addr_is_multicast(NULL), 0);
  assert_int_equal(addr_is_ssm(NULL), 0);
  assert_int_equal(addr_is_multicast((const struct sockaddr *)&s), 0);
  assert_int_equal(addr_is_ssm((const struct sockaddr *)&s), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_addr_is_multicast__table__classified),
    cmocka_unit_test(test_addr_is_multicast__null_other_family__zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
