/* common/tx/capture: the --raw spec, the peak level and its meter, and the
 * timestamp gap of an overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tx/capture.h"

#define MS 1000000LL

static void test_capture_parse_raw__valid__fields(void **state)
{
  (void)state;
  struct capture_raw r;
  assert_int_equal(capture_parse_raw("48000:2:s16", &r, NULL, 0), 0);
  assert_int_equal(r.rate, 48000);
  assert_int_equal(r.channels, 2);
  assert_int_equal(r.fmt, CAPTURE_S16);
  assert_int_equal(capture_parse_raw("44100:1:f32", &r, NULL, 0), 0);
  assert_int_equal(r.rate, 44100);
  assert_int_equal(r.channels, 1);
  assert_int_equal(r.fmt, CAPTURE_F32);
  assert_int_equal(capture_parse_raw("8000:8:s24", &r, NULL, 0), 0);
  assert_int_equal(r.fmt, CAPTURE_S24);
  assert_int_equal(capture_parse_raw("96000:2:s32", &r, NULL, 0), 0);
  assert_int_equal(r.fmt, CAPTURE_S32);
}

static void test_capture_parse_raw__bad__einval_names_part(void **state)
{
  (void)state;
  struct capture_raw r;
  char why[160];
  const char *bad_rate[] = {"", "abc:2:s16", "0:2:s16", "999:2:s16", "400000:2:s16",
                            "48000", "-48000:2:s16", "48k:2:s16"};
  for (size_t i = 0; i < sizeof bad_rate / sizeof *bad_rate; i++) {
    why[0] = '\0';
    assert_int_equal(capture_parse_raw(bad_rate[i], &r, why, sizeof why), -22);
    assert_non_null(strstr(why, "RATE"));
    assert_null(strchr(why, '\n'));
  }
  const char *bad_ch[] = {"48000:0:s16", "48000:9:s16", "48000::s16", "48000:2",
                          "48000:x:s16"};
  for (size_t i = 0; i < sizeof bad_ch / sizeof *bad_ch; i++) {
    assert_int_equal(capture_parse_raw(bad_ch[i], &r, why, sizeof why), -22);
    assert_non_null(strstr(why, "CHANNELS"));
  }
  const char *bad_fmt[] = {"48000:2:", "48000:2:s8", "48000:2:S16", "48000:2:s16:x",
                           "48000:2:f64"};
  for (size_t i = 0; i < sizeof bad_fmt / sizeof *bad_fmt; i++) {
    assert_int_equal(capture_parse_raw(bad_fmt[i], &r, why, sizeof why), -22);
    assert_non_null(strstr(why, "FORMAT"));
  }
}

static void test_capture_fmt_bytes__each__size(void **state)
{
  (void)state;
  assert_int_equal(capture_fmt_bytes(CAPTURE_S16), 2);
  assert_int_equal(capture_fmt_bytes(CAPTURE_S24), 3);
  assert_int_equal(capture_fmt_bytes(CAPTURE_S32), 4);
  assert_int_equal(capture_fmt_bytes(CAPTURE_F32), 4);
  assert_int_equal(capture_fmt_bytes((enum capture_fmt)0), 0);
}

static void test_capture_peak__levels__dbfs(void **state)
{
  (void)state;
  struct capture_peak p = {0};
  int16_t full[] = {0, -32768, 100};
  capture_peak_feed(&p, full, 3);
  assert_float_equal(capture_peak_take(&p), 0.0, 1e-9);
  /* The take starts a new interval. */
  assert_float_equal(capture_peak_take(&p), CAPTURE_SILENCE_DBFS, 1e-9);
  int16_t half[] = {16384, -100};
  capture_peak_feed(&p, half, 2);
  int16_t small[] = {-3};
  capture_peak_feed(&p, small, 1);   /* a later, quieter block keeps the peak */
  assert_float_equal(capture_peak_take(&p), -6.0206, 1e-3);
  int16_t tenth[] = {-3277};
  capture_peak_feed(&p, tenth, 1);
  assert_float_equal(capture_peak_take(&p), -20.0, 0.01);
}

static void test_capture_meter__range__cells(void **state)
{
  (void)state;
  char m[11];
  capture_meter(0.0, m, 10);
  assert_string_equal(m, "##########");
  capture_meter(6.0, m, 10);
  assert_string_equal(m, "##########");
  capture_meter(-60.0, m, 10);
  assert_string_equal(m, "----------");
  capture_meter(CAPTURE_SILENCE_DBFS, m, 10);
  assert_string_equal(m, "----------");
  capture_meter(-30.0, m, 10);
  assert_string_equal(m, "#####-----");
  capture_meter(-6.0, m, 10);
  assert_string_equal(m, "#########-");
  capture_meter(-0.1, m, 10);
  assert_string_equal(m, "#########-");
}

static void test_capture_gap_frames__overrun__lost_frames(void **state)
{
  (void)state;
  /* 100 ms at 48 kHz is 4800 frames; the read after recovery got 480. */
  assert_int_equal(capture_gap_frames(0, 100 * MS, 480, 48000), 4320);
  /* 44.1 kHz: 50 ms is 2205 frames. */
  assert_int_equal(capture_gap_frames(1000 * MS, 1050 * MS, 441, 44100), 1764);
  /* Rounded to the nearest frame: 10.01 ms at 48 kHz is 480.48 -> 480. */
  assert_int_equal(capture_gap_frames(0, 10010000, 0, 48000), 480);
  /* Delivered more than the gap (a read that caught up): no jump. */
  assert_int_equal(capture_gap_frames(0, 10 * MS, 960, 48000), 0);
  /* A clock that did not advance, or a bad rate: no jump. */
  assert_int_equal(capture_gap_frames(5 * MS, 5 * MS, 0, 48000), 0);
  assert_int_equal(capture_gap_frames(5 * MS, 1 * MS, 0, 48000), 0);
  assert_int_equal(capture_gap_frames(0, 10 * MS, 0, 0), 0);
  /* Hours in: no overflow. */
  int64_t h = 36000LL * 1000 * MS;
  assert_int_equal(capture_gap_frames(h, h + 20 * MS, 0, 192000), 3840);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_capture_parse_raw__valid__fields),
    cmocka_unit_test(test_capture_parse_raw__bad__einval_names_part),
    cmocka_unit_test(test_capture_fmt_bytes__each__size),
    cmocka_unit_test(test_capture_peak__levels__dbfs),
    cmocka_unit_test(test_capture_meter__range__cells),
    cmocka_unit_test(test_capture_gap_frames__overrun__lost_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
