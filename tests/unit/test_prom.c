/* common/util/prom: a stats line in Prometheus' text format, exactly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/json.h"
#include "util/prom.h"

static const char *const counters[] = {"received", "late", NULL};

static void test_prom_from_json__counters_gauges_nested__exact_text(void **state)
{
  (void)state;
  char out[2048];
  const char *json = "{\"t\":1.500,\"received\":42,\"late\":0,\"jitter_ms\":0.25,"
                     "\"latency_ms\":{\"target\":60.0,\"p99\":null},\"drift_ppm\":null,"
                     "\"fec\":true,\"note\":\"a \\\"b\\\"\",\"mos\":-1e-3,\"final\":true}";
  int n = prom_from_json(json, "receiver", "0.0.0.0:5004", counters, out, sizeof out);

  assert_int_equal(n, (int)strlen(out));
  assert_string_equal(out,
    "# TYPE driftless_receiver_t gauge\n"
    "driftless_receiver_t{stream=\"0.0.0.0:5004\"} 1.500\n"
    "# TYPE driftless_receiver_received_total counter\n"
    "driftless_receiver_received_total{stream=\"0.0.0.0:5004\"} 42\n"
    "# TYPE driftless_receiver_late_total counter\n"
    "driftless_receiver_late_total{stream=\"0.0.0.0:5004\"} 0\n"
    "# TYPE driftless_receiver_jitter_ms gauge\n"
    "driftless_receiver_jitter_ms{stream=\"0.0.0.0:5004\"} 0.25\n"
    "# TYPE driftless_receiver_latency_ms_target gauge\n"
    "driftless_receiver_latency_ms_target{stream=\"0.0.0.0:5004\"} 60.0\n"
    "# TYPE driftless_receiver_fec gauge\n"
    "driftless_receiver_fec{stream=\"0.0.0.0:5004\"} 1\n"
    "# TYPE driftless_receiver_mos gauge\n"
    "driftless_receiver_mos{stream=\"0.0.0.0:5004\"} -1e-3\n");
}

static void test_prom_from_json__label__escaped(void **state)
{
  (void)state;
  char out[512];
  assert_true(prom_from_json("{\"sent\":1}", "sender", "a\"b\\c\nd", NULL, out, sizeof out) > 0);
  assert_non_null(strstr(out, "driftless_sender_sent{stream=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

static void test_prom_from_json__not_our_json__einval(void **state)
{
  (void)state;
  char out[512];
  static const char *const bad[] = {
    "", "[]", "{", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":{\"b\":{\"c\":1}}}",
    "{\"a b\":1}", "{\"a\":1} x", "{\"a\":-}", "{\"a\":\"unterminated}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(prom_from_json(bad[i], "p", "s", NULL, out, sizeof out), -EINVAL);
  assert_int_equal(prom_from_json("{}", "p", "s", NULL, out, sizeof out), 0);
  assert_string_equal(out, "");
}

/* json's arrays of objects, as the sender's "dests" is written, and prom
 * leaving them out while it reads the keys after them. */
static void test_prom_from_json__array_of_objects__skipped(void **state)
{
  (void)state;
  char buf[256], out[512];
  struct json j;

  json_begin(&j, buf, sizeof buf);
  json_u64(&j, "sent", 3);
  json_arr_begin(&j, "dests");
  for (int i = 0; i < 2; i++) {
    json_elem_begin(&j);
    json_str(&j, "addr", i == 0 ? "127.0.0.1:5004" : "[::1]:5006 \"x]");
    json_u64(&j, "sent", 3);
    json_obj_begin(&j, "o");
    json_null(&j, "n");
    json_obj_end(&j);
    json_obj_end(&j);
  }
  json_arr_end(&j);
  json_u64(&j, "late", 1);
  assert_string_equal(json_end(&j),
                      "{\"sent\":3,\"dests\":[{\"addr\":\"127.0.0.1:5004\",\"sent\":3,\"o\":{\"n\":null}},"
                      "{\"addr\":\"[::1]:5006 \\\"x]\",\"sent\":3,\"o\":{\"n\":null}}],\"late\":1}");
  assert_true(prom_from_json(buf, "sender", "s", counters, out, sizeof out) > 0);
  assert_string_equal(out,
    "# TYPE driftless_sender_sent gauge\n"
    "driftless_sender_sent{stream=\"s\"} 3\n"
    "# TYPE driftless_sender_late_total counter\n"
    "driftless_sender_late_total{stream=\"s\"} 1\n");
  assert_int_equal(prom_from_json("{\"a\":[{\"b\":1}}", "p", "s", NULL, out, sizeof out), -EINVAL);
  assert_int_equal(prom_from_json("{\"a\":[1,2", "p", "s", NULL, out, sizeof out), -EINVAL);
  assert_int_equal(prom_from_json("{\"a\":{\"b\":[]}}", "p", "s", NULL, out, sizeof out), -EINVAL);
}

static void test_prom_from_json__small_buffer__enobufs(void **state)
{
  (void)state;
  char out[40];
  assert_int_equal(prom_from_json("{\"received\":1}", "receiver", "x", counters, out, sizeof out), -ENOBUFS);
  assert_int_equal(prom_from_json("{\"received\":1}", "receiver", "x", counters, out, 0), -ENOBUFS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_prom_from_json__counters_gauges_nested__exact_text),
    cmocka_unit_test(test_prom_from_json__label__escaped),
    cmocka_unit_test(test_prom_from_json__not_our_json__einval),
    cmocka_unit_test(test_prom_from_json__array_of_objects__skipped),
    cmocka_unit_test(test_prom_from_json__small_buffer__enobufs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
