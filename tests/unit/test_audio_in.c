/* common/tx/audio_in: every WAV sample format, FLAC and Ogg/Vorbis, any rate
 * to exactly round(n * 48000 / rate) frames without a leading delay,
 * channel mixing, rewinding and the error codes of bad files. Files are
 * written by libsndfile into a private temporary directory. Chunked reads
 * use seeded random sizes: DL_SEED=N reproduces a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <sndfile.h>

#include "defaults.h"
#include "tx/audio_in.h"
#include "tx/capture.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static char dir[] = "/tmp/dl-test-audio-in.XXXXXX";
static uint64_t seed;

static uint64_t rnd(void)
{
  seed ^= seed >> 12;
  seed ^= seed << 25;
  seed ^= seed >> 27;
  return seed * 2685821657736338717ULL;
}

static const char *path_of(const char *name)
{
  static char buf[4][256];
  static int i;
  i = (i + 1) % 4;
  snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
  return buf[i];
}

/* Channel c at time t (s): a sine of 500 * (c + 1) Hz at amplitude 0.5. */
static double signal(int c, double t)
{
  return 0.5 * sin(2 * M_PI * 500.0 * (c + 1) * t);
}

/* Writes `frames` frames of signal() at rate/channels in `format`. */
static void write_file(const char *name, int format, int rate, int channels, int frames)
{
  SF_INFO si = {0};
  si.samplerate = rate;
  si.channels = channels;
  si.format = format;
  SNDFILE *sf = sf_open(path_of(name), SFM_WRITE, &si);
  if (sf == NULL)
    fail_msg("cannot write %s: %s", name, sf_strerror(NULL));
  double *buf = malloc(sizeof(double) * (size_t)frames * (size_t)channels);
  assert_non_null(buf);
  for (int i = 0; i < frames; i++)
    for (int c = 0; c < channels; c++)
      buf[(size_t)i * (size_t)channels + (size_t)c] = signal(c, (double)i / rate);
  assert_int_equal(sf_writef_double(sf, buf, frames), frames);
  sf_close(sf);
  free(buf);
}

/* Reads a whole pass; returns frames, *pcm malloc'd. */
static int read_all(struct audio_in *a, int16_t **pcm, int chunk_random)
{
  struct audio_in_info info;
  audio_in_get_info(a, &info);
  size_t cap = 1 << 16, n = 0;
  int16_t *buf = malloc(cap * (size_t)info.channels * sizeof *buf);
  assert_non_null(buf);
  for (;;) {
    int want = chunk_random ? 1 + (int)(rnd() % 3000) : 960;
    if (n + (size_t)want > cap) {
      cap *= 2;
      buf = realloc(buf, cap * (size_t)info.channels * sizeof *buf);
      assert_non_null(buf);
    }
    int got = audio_in_read(a, buf + n * (size_t)info.channels, want);
    assert_true(got >= 0 && got <= want);
    n += (size_t)got;
    if (got < want) {
      /* After the end: nothing more. */
      assert_int_equal(audio_in_read(a, buf, 10), 0);
      break;
    }
  }
  *pcm = buf;
  return (int)n;
}

/* Largest difference, in the middle of the stream (away from the filter's
 * edge effects), between channel c of pcm and signal(c) at 48 kHz. */
static double max_error(const int16_t *pcm, int n, int channels, int c, int src_channel)
{
  double worst = 0;
  for (int i = n / 10; i < n - n / 10; i++) {
    double e = fabs(pcm[(size_t)i * (size_t)channels + (size_t)c] / 32768.0 -
                    signal(src_channel, (double)i / DL_RATE));
    if (e > worst)
      worst = e;
  }
  return worst;
}

static int64_t expect_frames(int64_t n, int rate)
{
  return (n * DL_RATE + rate / 2) / rate;
}

static void test_audio_in__wav_formats_and_rates__exact_length_no_delay(void **state)
{
  (void)state;
  static const struct {
    int format, rate, channels, frames;
    double tol;        /* sample error allowed against the ideal sine */
  } cases[] = {
    {SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 48000, 0.0001},
    {SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 44100, 0.01},
    {SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 16001, 0.01},
    {SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8000, 1, 8000, 0.03},
    {SF_FORMAT_WAV | SF_FORMAT_PCM_24, 96000, 2, 96003, 0.01},
    {SF_FORMAT_WAV | SF_FORMAT_PCM_32, 32000, 1, 32000, 0.01},
    {SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 2, 22050, 0.01},
    {SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 11025, 1, 11025, 0.01},
    {SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 8000, 0.04},
    {SF_FORMAT_WAV | SF_FORMAT_ALAW, 8000, 1, 8000, 0.04},
    {SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 44100, 1, 44100, 0.08},
    {SF_FORMAT_WAV | SF_FORMAT_MS_ADPCM, 24000, 2, 24000, 0.08},
    {SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 44100, 0.01},
    {SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 48000, 1, 4800, 0.0001},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char name[64], why[200];
    struct audio_in *a;
    struct audio_in_info info;
    int16_t *pcm;
    snprintf(name, sizeof name, "case%zu.%s", i,
             (cases[i].format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC ? "flac" : "wav");
    write_file(name, cases[i].format, cases[i].rate, cases[i].channels, cases[i].frames);
    assert_int_equal(audio_in_open(&a, path_of(name), 0, DL_RESAMPLE_QUALITY, why, sizeof why), 0);
    audio_in_get_info(a, &info);
    assert_int_equal(info.in_rate, cases[i].rate);
    assert_int_equal(info.channels, cases[i].channels);
    assert_int_equal(info.resampled, cases[i].rate != 48000);
    assert_int_equal(info.downmixed, 0);
    /* ADPCM files hold whole blocks: libsndfile reports (and decodes) the
     * padded length; every other format holds what was written. */
    int64_t in = info.in_frames;
    if (in != cases[i].frames && (cases[i].format & SF_FORMAT_SUBMASK) != SF_FORMAT_IMA_ADPCM &&
        (cases[i].format & SF_FORMAT_SUBMASK) != SF_FORMAT_MS_ADPCM)
      fail_msg("case %zu: %lld frames in the file, wrote %d", i, (long long)in, cases[i].frames);
    int64_t want = expect_frames(in, cases[i].rate);
    assert_int_equal(info.out_frames, want);
    int n = read_all(a, &pcm, (int)(i & 1));
    if (n != want)
      fail_msg("case %zu (%s): %d frames, want %lld", i, info.format, n, (long long)want);
    for (int c = 0; c < cases[i].channels; c++) {
      double e = max_error(pcm, n, cases[i].channels, c, c);
      if (e > cases[i].tol)
        fail_msg("case %zu (%s) channel %d: error %.4f > %.4f", i, info.format, c, e,
                 cases[i].tol);
    }
    free(pcm);
    audio_in_close(a);
  }
}

static void test_audio_in__ogg_vorbis__length_and_tone(void **state)
{
  (void)state;
  struct audio_in *a;
  struct audio_in_info info;
  int16_t *pcm;
  char why[200];
  SF_INFO probe = {.samplerate = 44100, .channels = 1, .format = SF_FORMAT_OGG | SF_FORMAT_VORBIS};
  if (!sf_format_check(&probe))
    skip();
  write_file("v.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 1, 44100);
  assert_int_equal(audio_in_open(&a, path_of("v.ogg"), 0, 5, why, sizeof why), 0);
  audio_in_get_info(a, &info);
  int n = read_all(a, &pcm, 1);
  assert_int_equal(n, 48000);
  /* Vorbis is lossy: only ask that the tone is there at its level. */
  assert_true(max_error(pcm, n, 1, 0, 0) < 0.1);
  free(pcm);
  audio_in_close(a);
}

static void test_audio_in__six_channels__downmixed_to_stereo(void **state)
{
  (void)state;
  struct audio_in *a;
  struct audio_in_info info;
  char why[200];
  SF_INFO si = {.samplerate = 48000, .channels = 6, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
  SNDFILE *sf = sf_open(path_of("six.wav"), SFM_WRITE, &si);
  assert_non_null(sf);
  float frame[6] = {0.2f, -0.2f, 0.1f, 0.1f, 0.1f, 0.1f};
  for (int i = 0; i < 480; i++)
    assert_int_equal(sf_writef_float(sf, frame, 1), 1);
  sf_close(sf);

  assert_int_equal(audio_in_open(&a, path_of("six.wav"), 0, 5, why, sizeof why), 0);
  audio_in_get_info(a, &info);
  assert_int_equal(info.in_channels, 6);
  assert_int_equal(info.channels, 2);
  assert_int_equal(info.downmixed, 1);
  int16_t pcm[480 * 2];
  assert_int_equal(audio_in_read(a, pcm, 480), 480);
  /* L = (0.2 + 0.5 * 0.4) / 3, R = (-0.2 + 0.5 * 0.4) / 3 = 0. */
  assert_true(abs(pcm[100] - (int)lrint(0.4 / 3 * 32768)) <= 1);
  assert_true(abs(pcm[101]) <= 1);
  audio_in_close(a);

  /* Asked for mono: the average of all six, and no downmix flag. */
  assert_int_equal(audio_in_open(&a, path_of("six.wav"), 1, 5, why, sizeof why), 0);
  audio_in_get_info(a, &info);
  assert_int_equal(info.channels, 1);
  assert_int_equal(info.downmixed, 0);
  assert_int_equal(audio_in_read(a, pcm, 480), 480);
  assert_true(abs(pcm[7] - (int)lrint(0.4 / 6 * 32768)) <= 1);
  audio_in_close(a);
}

static void test_audio_in__channels_asked__mono_to_stereo_and_back(void **state)
{
  (void)state;
  struct audio_in *a;
  char why[200];
  int16_t pcm[960 * 2];
  write_file("st.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, 4800);
  write_file("mo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 4800);

  assert_int_equal(audio_in_open(&a, path_of("st.wav"), 1, 5, why, sizeof why), 0);
  assert_int_equal(audio_in_read(a, pcm, 960), 960);
  for (int i = 0; i < 960; i++) {
    double want = (signal(0, i / 48000.0) + signal(1, i / 48000.0)) / 2;
    assert_true(fabs(pcm[i] / 32768.0 - want) < 0.0002);
  }
  audio_in_close(a);

  assert_int_equal(audio_in_open(&a, path_of("mo.wav"), 2, 5, why, sizeof why), 0);
  assert_int_equal(audio_in_read(a, pcm, 960), 960);
  for (int i = 0; i < 960; i++)
    assert_int_equal(pcm[2 * i], pcm[2 * i + 1]);
  audio_in_close(a);
}

/* --raw: headerless s16 stereo at 44.1 kHz reads as its samples, resampled
 * to the exact length; f32 mono at 48 kHz bit-exact but for rounding. */
static void test_audio_in_open_raw__s16_and_f32__samples_and_length(void **state)
{
  (void)state;
  struct audio_in *a;
  char why[200];
  struct capture_raw r = {.rate = 44100, .channels = 2, .fmt = CAPTURE_S16};
  enum { N = 4410 };
  int16_t in[N * 2], pcm[4800 * 2 + 16];
  for (int i = 0; i < N; i++) {
    in[2 * i] = (int16_t)(10000 * sin(2 * M_PI * 300 * i / 44100.0));
    in[2 * i + 1] = (int16_t)-in[2 * i];
  }
  FILE *f = fopen(path_of("a.raw"), "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(in, sizeof in, 1, f), 1);
  fclose(f);
  assert_int_equal(audio_in_open_raw(&a, path_of("a.raw"), &r, 0, 5, why, sizeof why), 0);
  struct audio_in_info info;
  audio_in_get_info(a, &info);
  assert_int_equal(info.in_rate, 44100);
  assert_int_equal(info.channels, 2);
  assert_int_equal(info.out_frames, 4800);
  assert_int_equal(audio_in_read(a, pcm, 4800 + 8), 4800);
  assert_true(abs(pcm[2 * 1000] + pcm[2 * 1000 + 1]) <= 2);   /* R is -L */
  assert_true(abs(pcm[2 * 1000] - (int)(10000 * sin(2 * M_PI * 300 * 1000 / 48000.0))) < 300);
  audio_in_close(a);

  float fl[480];
  for (int i = 0; i < 480; i++)
    fl[i] = (float)(0.5 * sin(2 * M_PI * 1000 * i / 48000.0));
  f = fopen(path_of("b.raw"), "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(fl, sizeof fl, 1, f), 1);
  fclose(f);
  struct capture_raw r2 = {.rate = 48000, .channels = 1, .fmt = CAPTURE_F32};
  assert_int_equal(audio_in_open_raw(&a, path_of("b.raw"), &r2, 0, 5, why, sizeof why), 0);
  assert_int_equal(audio_in_read(a, pcm, 480), 480);
  for (int i = 0; i < 480; i++)
    assert_true(abs(pcm[i] - (int)lrint(fl[i] * 32768.0)) <= 1);
  audio_in_close(a);
  assert_int_equal(audio_in_open_raw(&a, path_of("b.raw"), NULL, 0, 5, why, sizeof why), -EINVAL);
}

static void test_audio_in_rewind__second_pass__identical(void **state)
{
  (void)state;
  struct audio_in *a;
  char why[200];
  int16_t *p1, *p2;
  write_file("rw.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 10000);
  assert_int_equal(audio_in_open(&a, path_of("rw.wav"), 0, 5, why, sizeof why), 0);
  int n1 = read_all(a, &p1, 1);
  assert_int_equal(audio_in_rewind(a), 0);
  int n2 = read_all(a, &p2, 0);
  assert_int_equal(n1, expect_frames(10000, 44100));
  assert_int_equal(n1, n2);
  assert_memory_equal(p1, p2, (size_t)n1 * 2 * sizeof *p1);
  free(p1);
  free(p2);
  audio_in_close(a);
}

static void test_audio_in_open__bad_files__clear_errors(void **state)
{
  (void)state;
  struct audio_in *a = (struct audio_in *)&a;
  char why[200];

  assert_int_equal(audio_in_open(&a, path_of("missing.wav"), 0, 5, why, sizeof why), -ENOENT);
  assert_null(a);
  assert_non_null(strstr(why, "No such file"));
  assert_int_equal(audio_in_open(&a, dir, 0, 5, why, sizeof why), -EISDIR);

  FILE *f = fopen(path_of("text.wav"), "w");
  assert_non_null(f);
  fputs("this is not audio at all, just some text that is long enough\n", f);
  fclose(f);
  assert_int_equal(audio_in_open(&a, path_of("text.wav"), 0, 5, why, sizeof why), -EPROTO);
  assert_non_null(strstr(why, "not an audio file"));

  f = fopen(path_of("empty.wav"), "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(audio_in_open(&a, path_of("empty.wav"), 0, 5, why, sizeof why), -EPROTO);

  assert_int_equal(audio_in_open(&a, path_of("x.wav"), 3, 5, why, sizeof why), -EINVAL);
  assert_int_equal(audio_in_open(&a, path_of("x.wav"), 0, 11, why, sizeof why), -EINVAL);
  audio_in_close(NULL);
}

/* A WAV header that says 0 Hz: libsndfile 1.2 refuses it as an incomplete
 * SF_INFO, older ones open it; either way it is -ERANGE with a reason that
 * names the rate. */
static void test_audio_in_open__rate_zero__refused(void **state)
{
  (void)state;
  struct audio_in *a;
  char why[200];
  write_file("z.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 800);
  FILE *f = fopen(path_of("z.wav"), "r+b");
  assert_non_null(f);
  /* Canonical header: sample rate at byte 24, byte rate at 28. */
  static const unsigned char zero[8] = {0};
  assert_int_equal(fseek(f, 24, SEEK_SET), 0);
  assert_int_equal(fwrite(zero, 1, 8, f), 8);
  fclose(f);
  int err = audio_in_open(&a, path_of("z.wav"), 0, 5, why, sizeof why);
  printf("rate 0: %d (%s)\n", err, why);
  assert_int_equal(err, -ERANGE);
  assert_non_null(strstr(why, "sample rate"));
  assert_null(a);
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  seed = s != NULL ? strtoull(s, NULL, 0) : 0xa0d10ULL;
  if (seed == 0)
    seed = 1;
  printf("test_audio_in: seed %llu (DL_SEED to change)\n", (unsigned long long)seed);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_audio_in__wav_formats_and_rates__exact_length_no_delay),
    cmocka_unit_test(test_audio_in__ogg_vorbis__length_and_tone),
    cmocka_unit_test(test_audio_in__six_channels__downmixed_to_stereo),
    cmocka_unit_test(test_audio_in__channels_asked__mono_to_stereo_and_back),
    cmocka_unit_test(test_audio_in_open_raw__s16_and_f32__samples_and_length),
    cmocka_unit_test(test_audio_in_rewind__second_pass__identical),
    cmocka_unit_test(test_audio_in_open__bad_files__clear_errors),
    cmocka_unit_test(test_audio_in_open__rate_zero__refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
