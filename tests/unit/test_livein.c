/* common/tx/livein: frames out of a byte stream split anywhere, the
 * timeline across gaps (padding, skipped frames, the rest; a seeded random
 * run), channel mixing, resampling to 48 kHz with and without a gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tx/livein.h"

/* What the callback saw: the stream, sample by sample, with skipped
 * frames as -1 (so that silence and a skip differ). */
struct sink {
  int16_t *x;
  size_t n, cap;
  int channels, frame;
  unsigned frames, skipped, calls_with_skip;
  int stop_after;   /* > 0: return 7 at that frame */
};

static int sink_fn(void *arg, const int16_t *pcm, unsigned skip)
{
  struct sink *s = arg;
  size_t need = s->n + ((size_t)skip + 1) * (size_t)s->frame * (size_t)s->channels;
  if (need > s->cap) {
    s->cap = need * 2;
    s->x = realloc(s->x, s->cap * sizeof *s->x);
    assert_non_null(s->x);
  }
  for (size_t i = 0; i < (size_t)skip * (size_t)s->frame * (size_t)s->channels; i++)
    s->x[s->n++] = -1;
  memcpy(s->x + s->n, pcm, sizeof *pcm * (size_t)s->frame * (size_t)s->channels);
  s->n += (size_t)s->frame * (size_t)s->channels;
  s->frames++;
  s->skipped += skip;
  if (skip)
    s->calls_with_skip++;
  if (s->stop_after > 0 && (int)s->frames == s->stop_after)
    return 7;
  return 0;
}

static struct livein_config cfg48(int in_ch, int ch, enum capture_fmt fmt, int frame)
{
  struct livein_config c = {.rate = 48000, .in_channels = in_ch, .fmt = fmt, .channels = ch,
                            .frame_samples = frame, .quality = 5};
  return c;
}

static void test_livein_create__bad_config__einval(void **state)
{
  (void)state;
  struct livein *li;
  struct livein_config c = cfg48(2, 2, CAPTURE_S16, 960);
  c.rate = 999;
  assert_int_equal(livein_create(&li, &c), -22);
  c = cfg48(9, 2, CAPTURE_S16, 960);
  assert_int_equal(livein_create(&li, &c), -22);
  c = cfg48(2, 3, CAPTURE_S16, 960);
  assert_int_equal(livein_create(&li, &c), -22);
  c = cfg48(2, 2, (enum capture_fmt)0, 960);
  assert_int_equal(livein_create(&li, &c), -22);
  c = cfg48(2, 2, CAPTURE_S16, 0);
  assert_int_equal(livein_create(&li, &c), -22);
  livein_destroy(NULL);
}

/* 48 kHz s16 stereo fed in pieces of 1..13 bytes (samples and frames
 * split between calls): the frames are the input, bit for bit. */
static void test_livein_feed__split_bytes__frames_exact(void **state)
{
  (void)state;
  struct livein *li;
  struct livein_config c = cfg48(2, 2, CAPTURE_S16, 480);
  struct sink s = {.channels = 2, .frame = 480};
  enum { N = 480 * 5 };
  int16_t in[N * 2];
  for (int i = 0; i < N * 2; i++)
    in[i] = (int16_t)(i * 7 - 20000);
  assert_int_equal(livein_create(&li, &c), 0);
  const uint8_t *p = (const uint8_t *)in;
  size_t left = sizeof in, k = 1;
  while (left > 0) {
    size_t n = k < left ? k : left;
    assert_int_equal(livein_feed(li, p, n, sink_fn, &s), 0);
    p += n;
    left -= n;
    k = k % 13 + 1;
  }
  assert_int_equal(s.frames, 5);
  assert_int_equal(s.skipped, 0);
  assert_memory_equal(s.x, in, sizeof in);
  assert_int_equal(livein_held(li), 0);
  assert_int_equal(livein_flush(li, sink_fn, &s), 0);
  assert_int_equal(s.frames, 5);   /* nothing partial to flush */
  livein_destroy(li);
  free(s.x);
}

/* A gap of 2000 samples 100 samples into a 960-sample frame: that frame
 * is padded (860), one frame is skipped (960), the next starts with 180
 * samples of silence, then the audio goes on where it would have been. */
static void test_livein_gap__mid_frame__pad_skip_rest(void **state)
{
  (void)state;
  struct livein *li;
  struct livein_config c = cfg48(1, 1, CAPTURE_S16, 960);
  struct sink s = {.channels = 1, .frame = 960};
  int16_t a[100], b[2000];
  for (int i = 0; i < 100; i++)
    a[i] = (int16_t)(i + 1);
  for (int i = 0; i < 2000; i++)
    b[i] = (int16_t)(1000 + i);
  assert_int_equal(livein_create(&li, &c), 0);
  assert_int_equal(livein_feed(li, a, sizeof a, sink_fn, &s), 0);
  assert_int_equal(livein_held(li), 100);
  assert_int_equal(livein_gap(li, 2000, sink_fn, &s), 0);
  assert_int_equal(s.frames, 1);   /* the padded frame went out at the gap */
  assert_int_equal(livein_feed(li, b, sizeof b, sink_fn, &s), 0);
  assert_int_equal(livein_flush(li, sink_fn, &s), 0);
  /* 100 + 2000 + 2000 = 4100 samples: 5 frames of timeline (4800), one skipped. */
  assert_int_equal(s.n, 5 * 960);
  assert_int_equal(s.skipped, 1);
  assert_int_equal(s.frames, 4);
  for (int i = 0; i < 100; i++)
    assert_int_equal(s.x[i], i + 1);
  for (int i = 100; i < 960; i++)
    assert_int_equal(s.x[i], 0);
  for (int i = 960; i < 1920; i++)
    assert_int_equal(s.x[i], -1);
  for (int i = 1920; i < 2100; i++)
    assert_int_equal(s.x[i], 0);
  for (int i = 0; i < 2000; i++)
    assert_int_equal(s.x[2100 + i], 1000 + i);
  for (int i = 4100; i < 4800; i++)
    assert_int_equal(s.x[i], 0);   /* the flush's padding */
  livein_destroy(li);
  free(s.x);
}

/* Seeded random reads and gaps (0..5 frames long, anywhere): every sample
 * of the input comes out at its own place on the timeline, every gap
 * sample is silence or skipped, and only whole frames inside a gap are
 * skipped. DL_SEED=N reproduces a run. */
static void test_livein_gap__random__timeline_holds(void **state)
{
  (void)state;
  const char *env = getenv("DL_SEED");
  unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 12345u;
  printf("seed %u (DL_SEED)\n", seed);
  srand(seed);
  enum { FRAME = 240, TOTAL = 48000 * 4 };
  struct livein *li;
  struct livein_config c = cfg48(1, 1, CAPTURE_S16, FRAME);
  struct sink s = {.channels = 1, .frame = FRAME};
  int16_t *want = calloc(TOTAL + 6 * FRAME + 4096, sizeof *want);   /* 0: a gap's sample */
  int16_t buf[4096];
  assert_non_null(want);
  assert_int_equal(livein_create(&li, &c), 0);
  size_t pos = 0;
  while (pos < TOTAL) {
    if (rand() % 5 == 0) {
      int g = rand() % (5 * FRAME + 1);
      assert_int_equal(livein_gap(li, g, sink_fn, &s), 0);
      pos += (size_t)g;
    }
    int n = 1 + rand() % 4096;
    for (int i = 0; i < n; i++) {
      buf[i] = (int16_t)(1 + (pos + (size_t)i) % 30000);
      want[pos + (size_t)i] = buf[i];
    }
    assert_int_equal(livein_feed(li, buf, (size_t)n * 2, sink_fn, &s), 0);
    pos += (size_t)n;
  }
  assert_int_equal(livein_flush(li, sink_fn, &s), 0);
  assert_int_equal(s.n, (pos + FRAME - 1) / FRAME * FRAME);
  for (size_t i = 0; i < pos; i++) {
    if (want[i] != 0)
      assert_int_equal(s.x[i], want[i]);
    else
      assert_true(s.x[i] == 0 || s.x[i] == -1);
  }
  /* A skipped frame holds no input sample at all. */
  for (size_t f = 0; f < s.n / FRAME; f++)
    if (s.x[f * FRAME] == -1)
      for (size_t i = f * FRAME; i < (f + 1) * FRAME; i++)
        assert_int_equal(want[i], 0);
  assert_true(s.skipped > 0);
  livein_destroy(li);
  free(want);
  free(s.x);
}

/* Mono to stereo duplicates, stereo to mono averages, four channels to
 * stereo fold the rest into both sides; s32 and f32 in. */
static void test_livein_feed__mix_and_formats(void **state)
{
  (void)state;
  struct livein *li;
  struct sink s = {.channels = 2, .frame = 120};
  struct livein_config c = cfg48(1, 2, CAPTURE_S16, 120);
  int16_t mono[120];
  for (int i = 0; i < 120; i++)
    mono[i] = (int16_t)(i * 100);
  assert_int_equal(livein_create(&li, &c), 0);
  assert_int_equal(livein_feed(li, mono, sizeof mono, sink_fn, &s), 0);
  for (int i = 0; i < 120; i++) {
    assert_int_equal(s.x[2 * i], i * 100);
    assert_int_equal(s.x[2 * i + 1], i * 100);
  }
  livein_destroy(li);

  struct sink m = {.channels = 1, .frame = 120};
  c = cfg48(2, 1, CAPTURE_S32, 120);
  int32_t st[240];
  for (int i = 0; i < 120; i++) {
    st[2 * i] = (int32_t)(i * 100) << 16;
    st[2 * i + 1] = (int32_t)(i * 200) << 16;
  }
  assert_int_equal(livein_create(&li, &c), 0);
  assert_int_equal(livein_feed(li, st, sizeof st, sink_fn, &m), 0);
  for (int i = 0; i < 120; i++)
    assert_int_equal(m.x[i], i * 150);
  livein_destroy(li);

  struct sink q = {.channels = 2, .frame = 120};
  c = cfg48(4, 2, CAPTURE_F32, 120);
  float quad[480];
  for (int i = 0; i < 120; i++) {
    quad[4 * i] = 0.5f;
    quad[4 * i + 1] = -0.5f;
    quad[4 * i + 2] = 0.25f;
    quad[4 * i + 3] = 0.25f;
  }
  assert_int_equal(livein_create(&li, &c), 0);
  assert_int_equal(livein_feed(li, quad, sizeof quad, sink_fn, &q), 0);
  /* (0.5 + 0.5 * 0.5) / 2 = 0.375; (-0.5 + 0.25) / 2 = -0.125 */
  assert_int_equal(q.x[0], 12288);
  assert_int_equal(q.x[1], -4096);
  livein_destroy(li);
  free(s.x);
  free(m.x);
  free(q.x);
}

/* 44.1 kHz: 2 s in gives 2 s out at 48 kHz (a 1 kHz tone, its level
 * kept); a 0.25 s gap in the middle keeps the total 2.25 s and is skipped
 * whole frames but for its edges. */
static void test_livein_resample__44k1__duration_and_gap(void **state)
{
  (void)state;
  enum { R = 44100 };
  struct livein *li;
  struct livein_config c = {.rate = R, .in_channels = 1, .fmt = CAPTURE_S16, .channels = 1,
                            .frame_samples = 960, .quality = 5};
  struct sink s = {.channels = 1, .frame = 960};
  int16_t *in = malloc(sizeof *in * R);
  assert_non_null(in);
  for (int i = 0; i < R; i++)
    in[i] = (int16_t)(16000 * __builtin_sin(2 * 3.14159265358979 * 1000 * i / R));
  assert_int_equal(livein_create(&li, &c), 0);
  assert_int_equal(livein_feed(li, in, sizeof *in * R, sink_fn, &s), 0);
  assert_true(livein_held(li) > 0);
  assert_int_equal(livein_gap(li, R / 4, sink_fn, &s), 0);
  assert_int_equal(livein_feed(li, in, sizeof *in * R, sink_fn, &s), 0);
  assert_int_equal(livein_flush(li, sink_fn, &s), 0);
  /* 2.25 s = 108000 samples, in whole frames (the flush pads the last). */
  assert_true(s.n >= 108000 && s.n <= 108000 + 2 * 960);
  /* 0.25 s = 12000 samples: 12.5 frames; at least 10 skipped whole. */
  assert_true(s.skipped >= 10 && s.skipped <= 12);
  assert_int_equal(s.calls_with_skip, 1);
  /* Level: the tone's peak in the middle of each second. */
  int peak1 = 0, peak2 = 0;
  for (int i = 10000; i < 40000; i++)
    peak1 = s.x[i] > peak1 ? s.x[i] : peak1;
  for (int i = 70000; i < 100000; i++)
    peak2 = s.x[i] > peak2 ? s.x[i] : peak2;
  assert_true(peak1 > 15000 && peak1 < 17000);
  assert_true(peak2 > 15000 && peak2 < 17000);
  /* The second second is where it belongs: its zero crossings, one per
   * 24 samples at 1 kHz, at 60000 + 24 k (the gap ended at 60000). */
  int16_t a = s.x[60000 + 24 * 100], b = s.x[60000 + 24 * 100 + 12];
  assert_true(abs(a) < 1500);      /* near a zero crossing */
  assert_true(abs(b) > 14000);     /* a quarter period later: a peak */
  livein_destroy(li);
  free(in);
  free(s.x);
}

/* A callback that says stop ends the call at once with its value. */
static void test_livein_feed__callback_stops__returns_value(void **state)
{
  (void)state;
  struct livein *li;
  struct livein_config c = cfg48(1, 1, CAPTURE_S16, 120);
  struct sink s = {.channels = 1, .frame = 120, .stop_after = 2};
  int16_t in[120 * 5] = {0};
  assert_int_equal(livein_create(&li, &c), 0);
  assert_int_equal(livein_feed(li, in, sizeof in, sink_fn, &s), 7);
  assert_int_equal(s.frames, 2);
  livein_destroy(li);
  free(s.x);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_livein_create__bad_config__einval),
    cmocka_unit_test(test_livein_feed__split_bytes__frames_exact),
    cmocka_unit_test(test_livein_gap__mid_frame__pad_skip_rest),
    cmocka_unit_test(test_livein_gap__random__timeline_holds),
    cmocka_unit_test(test_livein_feed__mix_and_formats),
    cmocka_unit_test(test_livein_resample__44k1__duration_and_gap),
    cmocka_unit_test(test_livein_feed__callback_stops__returns_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
