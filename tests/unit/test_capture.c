/* common/tx/capture: the --raw spec, the peak level and its meter, the
 * timestamp gap of an overrun, samples as floats, a WAV header from a pipe. */
#include <errno.h>
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

static void test_capture_to_float__each_format__scaled(void **state)
{
  (void)state;
  float f[3];
  const uint8_t s16[] = {0x00, 0x80, 0xff, 0x7f, 0x00, 0x40};
  capture_to_float(s16, CAPTURE_S16, 3, f);
  assert_float_equal(f[0], -1.0, 1e-9);
  assert_float_equal(f[1], 32767.0 / 32768.0, 1e-9);
  assert_float_equal(f[2], 0.5, 1e-9);
  /* s24 packed: 0x800000 is -1, 0x400000 is 0.5, 0xffffff is -1/2^23. */
  const uint8_t s24[] = {0x00, 0x00, 0x80, 0x00, 0x00, 0x40, 0xff, 0xff, 0xff};
  capture_to_float(s24, CAPTURE_S24, 3, f);
  assert_float_equal(f[0], -1.0, 1e-9);
  assert_float_equal(f[1], 0.5, 1e-9);
  assert_float_equal(f[2], -1.0 / 8388608.0, 1e-12);
  const uint8_t s32[] = {0, 0, 0, 0x80, 0, 0, 0, 0xc0, 0, 0, 0, 0};
  capture_to_float(s32, CAPTURE_S32, 3, f);
  assert_float_equal(f[0], -1.0, 1e-9);
  assert_float_equal(f[1], -0.5, 1e-9);
  assert_float_equal(f[2], 0.0, 1e-9);
  /* f32 little-endian; a NaN becomes silence. Unaligned on purpose. */
  uint8_t f32[13];
  float v[3] = {0.25f, -0.75f, __builtin_nanf("")};
  memcpy(f32 + 1, v, sizeof v);
  capture_to_float(f32 + 1, CAPTURE_F32, 3, f);
  assert_float_equal(f[0], 0.25, 1e-9);
  assert_float_equal(f[1], -0.75, 1e-9);
  assert_float_equal(f[2], 0.0, 1e-9);
}

/* A WAV header as ffmpeg writes one to a pipe: RIFF size and data size
 * unknown (0xffffffff), a LIST chunk before the data. */
static size_t wav_header(uint8_t *b, unsigned tag, unsigned ch, unsigned rate, unsigned bits,
                         int extensible)
{
  size_t n = 0;
#define PUT32(v) do { uint32_t v_ = (v); b[n++] = v_ & 0xff; b[n++] = v_ >> 8 & 0xff; \
                      b[n++] = v_ >> 16 & 0xff; b[n++] = v_ >> 24; } while (0)
#define PUT16(v) do { b[n++] = (v) & 0xff; b[n++] = (v) >> 8 & 0xff; } while (0)
  memcpy(b + n, "RIFF", 4); n += 4; PUT32(0xffffffffu);
  memcpy(b + n, "WAVE", 4); n += 4;
  memcpy(b + n, "fmt ", 4); n += 4; PUT32(extensible ? 40 : 16);
  PUT16(extensible ? 0xfffe : tag); PUT16(ch); PUT32(rate);
  PUT32(rate * ch * bits / 8); PUT16(ch * bits / 8); PUT16(bits);
  if (extensible) {
    PUT16(22); PUT16(bits); PUT32(3);
    PUT16(tag); memcpy(b + n, "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71", 14); n += 14;
  }
  memcpy(b + n, "LIST", 4); n += 4; PUT32(5);
  memcpy(b + n, "INFOx", 5); n += 5; b[n++] = 0;   /* odd: padded */
  memcpy(b + n, "data", 4); n += 4; PUT32(0xffffffffu);
#undef PUT32
#undef PUT16
  return n;
}

static void test_capture_parse_wav__pipe_header__format_and_offset(void **state)
{
  (void)state;
  uint8_t b[128];
  struct capture_raw r;
  size_t off = 0;
  size_t n = wav_header(b, 1, 2, 44100, 16, 0);
  assert_int_equal(capture_parse_wav(b, n, &r, &off, NULL, 0), 0);
  assert_int_equal(off, n);
  assert_int_equal(r.rate, 44100);
  assert_int_equal(r.channels, 2);
  assert_int_equal(r.fmt, CAPTURE_S16);
  /* Every shorter prefix asks for more. */
  for (size_t k = 0; k < n; k++)
    assert_int_equal(capture_parse_wav(b, k, &r, &off, NULL, 0), -EAGAIN);
  n = wav_header(b, 3, 1, 48000, 32, 1);
  assert_int_equal(capture_parse_wav(b, n, &r, &off, NULL, 0), 0);
  assert_int_equal(r.fmt, CAPTURE_F32);
  assert_int_equal(r.channels, 1);
  n = wav_header(b, 1, 6, 96000, 24, 1);
  assert_int_equal(capture_parse_wav(b, n, &r, &off, NULL, 0), 0);
  assert_int_equal(r.fmt, CAPTURE_S24);
  assert_int_equal(r.channels, 6);
}

static void test_capture_parse_wav__bad__eproto_one_line(void **state)
{
  (void)state;
  uint8_t b[128];
  struct capture_raw r;
  size_t off;
  char why[160];
  assert_int_equal(capture_parse_wav((const uint8_t *)"OggS\0\0\0\0\0\0\0\0", 12, &r, &off, why, sizeof why),
                   -EPROTO);
  assert_non_null(strstr(why, "not a WAV"));
  assert_int_equal(capture_parse_wav((const uint8_t *)"fLaC", 4, &r, &off, why, sizeof why), -EPROTO);
  size_t n = wav_header(b, 1, 2, 44100, 8, 0);     /* 8-bit PCM */
  assert_int_equal(capture_parse_wav(b, n, &r, &off, why, sizeof why), -EPROTO);
  assert_non_null(strstr(why, "format"));
  assert_null(strchr(why, '\n'));
  n = wav_header(b, 2, 2, 44100, 16, 0);           /* ADPCM */
  assert_int_equal(capture_parse_wav(b, n, &r, &off, why, sizeof why), -EPROTO);
  n = wav_header(b, 1, 9, 44100, 16, 0);
  assert_int_equal(capture_parse_wav(b, n, &r, &off, why, sizeof why), -EPROTO);
  assert_non_null(strstr(why, "channels"));
  n = wav_header(b, 1, 2, 500, 16, 0);
  assert_int_equal(capture_parse_wav(b, n, &r, &off, why, sizeof why), -EPROTO);
  assert_non_null(strstr(why, "rate"));
  /* A chunk claiming more than CAPTURE_WAV_MAX_HEADER: refused, not awaited. */
  n = wav_header(b, 1, 2, 44100, 16, 0);
  memcpy(b + 36, "junk", 4);
  b[40] = 0; b[41] = 0; b[42] = 0x10; b[43] = 0;   /* 1 MiB */
  assert_int_equal(capture_parse_wav(b, n, &r, &off, why, sizeof why), -EPROTO);
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
    cmocka_unit_test(test_capture_to_float__each_format__scaled),
    cmocka_unit_test(test_capture_parse_wav__pipe_header__format_and_offset),
    cmocka_unit_test(test_capture_parse_wav__bad__eproto_one_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
