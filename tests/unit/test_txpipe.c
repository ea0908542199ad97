/* common/tx/txpipe: RTP fields of the encoded stream (sequence and timestamp
 * across wrap-around, marker, SSRC, payload type), Opus frames of every
 * size, DTX gaps and talkspurt markers, pulling from audio_in with padding
 * and looping. */
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
#include <cmocka.h>

#include <opus/opus.h>
#include <sndfile.h>

#include "defaults.h"
#include "tx/audio_in.h"
#include "tx/txpipe.h"
#include "wire/rtp.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static struct txpipe_config cfg(int channels, int frame_samples)
{
  struct txpipe_config c = {0};
  c.channels = channels;
  c.frame_samples = frame_samples;
  c.bitrate = channels == 2 ? 64000 : 32000;
  c.complexity = 9;
  c.application = OPUS_APPLICATION_VOIP;
  c.fec = 1;
  c.loss_perc = 10;
  c.pt = 96;
  c.ssrc = 0xcafef00du;
  c.seq0 = 65530;
  c.ts0 = 0xfffff000u;
  return c;
}

static void tone(int16_t *pcm, int frames, int channels, long start)
{
  for (int i = 0; i < frames; i++)
    for (int c = 0; c < channels; c++)
      pcm[i * channels + c] = (int16_t)(10000 * sin(2 * M_PI * 440 * (c + 1) * (double)(start + i) / 48000));
}

static void test_txpipe_create__bad_config__einval(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  c.frame_samples = 1000;
  assert_int_equal(txpipe_create(&tp, &c, NULL), -EINVAL);
  c = cfg(3, 960);
  assert_int_equal(txpipe_create(&tp, &c, NULL), -EINVAL);
  c = cfg(1, 960);
  c.bitrate = 5999;
  assert_int_equal(txpipe_create(&tp, &c, NULL), -EINVAL);
  c = cfg(1, 960);
  c.application = 12345;
  int oerr = 0;
  assert_int_equal(txpipe_create(&tp, &c, &oerr), -EINVAL);
  assert_int_equal(oerr, OPUS_BAD_ARG);
  txpipe_destroy(NULL);
}

/* Every frame size: the datagrams carry seq +1 and ts + frame, across
 * both wrap-arounds, the marker only on the first, and an Opus packet
 * whose TOC says exactly the frame size and that decodes to it. */
static void test_txpipe_encode__every_frame_size__rtp_fields_and_toc(void **state)
{
  (void)state;
  static const int sizes[] = {120, 240, 480, 960, 1920, 2880};
  for (size_t s = 0; s < 6; s++) {
    for (int ch = 1; ch <= 2; ch++) {
      struct txpipe *tp;
      struct txpipe_config c = cfg(ch, sizes[s]);
      int err;
      OpusDecoder *dec = opus_decoder_create(48000, ch, &err);
      assert_non_null(dec);
      assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
      int16_t pcm[2880 * 2], out[2880 * 2];
      uint8_t dg[1600];
      for (int k = 0; k < 20; k++) {
        tone(pcm, sizes[s], ch, (long)k * sizes[s]);
        assert_int_equal(txpipe_next_seq(tp), (uint16_t)(c.seq0 + k));
        int n = txpipe_encode(tp, pcm, dg, sizeof dg);
        assert_true(n > RTP_HEADER_LEN + 1);
        struct rtp_header h;
        const uint8_t *pl;
        size_t plen;
        assert_int_equal(rtp_parse(dg, (size_t)n, &h, &pl, &plen), RTP_OK);
        assert_int_equal(h.payload_type, 96);
        assert_int_equal(h.ssrc, 0xcafef00du);
        assert_int_equal(h.seq, (uint16_t)(c.seq0 + k));
        assert_int_equal(h.timestamp, (uint32_t)(c.ts0 + (uint32_t)k * (uint32_t)sizes[s]));
        assert_int_equal(h.marker, k == 0);
        assert_int_equal(rtp_opus_samples(pl, plen), sizes[s]);
        assert_int_equal(opus_packet_get_nb_channels(pl), ch);
        assert_int_equal(opus_decode(dec, pl, (opus_int32)plen, out, 2880, 0), sizes[s]);
      }
      struct txpipe_stats st;
      txpipe_get_stats(tp, &st);
      assert_int_equal(st.frames, 20);
      assert_int_equal(st.packets, 20);
      assert_int_equal(st.bytes, st.payload_bytes + 20 * RTP_HEADER_LEN);
      txpipe_destroy(tp);
      opus_decoder_destroy(dec);
    }
  }
}

static void test_txpipe_encode__small_buffer__enobufs(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  int16_t pcm[960];
  uint8_t dg[20];
  tone(pcm, 960, 1, 0);
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  assert_int_equal(txpipe_encode(tp, pcm, dg, sizeof dg), -ENOBUFS);
  txpipe_destroy(tp);
}

/* DTX: silence stops the datagrams (the timestamp still runs); the first
 * datagram of the next talkspurt has the marker and the timestamp of its
 * frame, and the sequence has no gap. */
static void test_txpipe_encode__dtx__gap_in_ts_not_seq_marker_after(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  c.dtx = 1;
  int16_t pcm[960];
  uint8_t dg[1600];
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  int k = 0, sent = 0, suppressed = 0;
  for (; k < 10; k++, sent++) {
    tone(pcm, 960, 1, (long)k * 960);
    assert_true(txpipe_encode(tp, pcm, dg, sizeof dg) > 0);
  }
  memset(pcm, 0, sizeof pcm);
  for (; k < 60; k++) {
    int n = txpipe_encode(tp, pcm, dg, sizeof dg);
    assert_true(n >= 0);
    if (n == 0)
      suppressed++;
    else
      sent++;
  }
  assert_true(suppressed > 20);
  /* The speech comes back. */
  tone(pcm, 960, 1, 0);
  int n = txpipe_encode(tp, pcm, dg, sizeof dg);
  assert_true(n > 0);
  struct rtp_header h;
  const uint8_t *pl;
  size_t plen;
  assert_int_equal(rtp_parse(dg, (size_t)n, &h, &pl, &plen), RTP_OK);
  assert_int_equal(h.marker, 1);
  assert_int_equal(h.seq, (uint16_t)(c.seq0 + sent));
  assert_int_equal(h.timestamp, (uint32_t)(c.ts0 + 60u * 960u));
  struct txpipe_stats st;
  txpipe_get_stats(tp, &st);
  assert_int_equal(st.dtx_frames, (uint64_t)suppressed);
  assert_int_equal(st.frames, 61);
  txpipe_destroy(tp);
}

/* An overrun's skip: sequence and timestamp jump together (across the
 * wrap), by whole frames, and the marker stays off. */
static void test_txpipe_skip__frames__seq_and_ts_jump_together(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  int16_t pcm[960];
  uint8_t dg[1600];
  struct rtp_header h;
  const uint8_t *pl;
  size_t plen;
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  tone(pcm, 960, 1, 0);
  assert_true(txpipe_encode(tp, pcm, dg, sizeof dg) > 0);
  txpipe_skip(tp, 0);
  assert_int_equal(txpipe_next_seq(tp), (uint16_t)(c.seq0 + 1));
  txpipe_skip(tp, 15);
  assert_int_equal(txpipe_next_seq(tp), (uint16_t)(c.seq0 + 16));
  assert_int_equal(txpipe_next_ts(tp), (uint32_t)(c.ts0 + 16u * 960u));
  tone(pcm, 960, 1, 16 * 960);
  int n = txpipe_encode(tp, pcm, dg, sizeof dg);
  assert_true(n > 0);
  assert_int_equal(rtp_parse(dg, (size_t)n, &h, &pl, &plen), RTP_OK);
  assert_int_equal(h.seq, (uint16_t)(c.seq0 + 16));
  assert_int_equal(h.timestamp, (uint32_t)(c.ts0 + 16u * 960u));
  assert_int_equal(h.marker, 0);
  struct txpipe_stats st;
  txpipe_get_stats(tp, &st);
  assert_int_equal(st.frames, 2);   /* skipped frames were never encoded */
  txpipe_destroy(tp);
}

static void write_wav(const char *path, int frames)
{
  SF_INFO si = {.samplerate = 48000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
  assert_non_null(sf);
  int16_t *pcm = calloc((size_t)frames, sizeof *pcm);
  assert_non_null(pcm);
  tone(pcm, frames, 1, 0);
  assert_int_equal(sf_writef_short(sf, pcm, frames), frames);
  sf_close(sf);
  free(pcm);
}

/* 1000 frames at 960 per packet: two datagrams (the second padded), then
 * the end; with loop it runs on past the end with continuous timestamps. */
static void test_txpipe_pull__end_padding_and_loop(void **state)
{
  (void)state;
  char path[] = "/tmp/dl-test-txpipe.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  write_wav(path, 1000);
  struct audio_in *in;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  uint8_t dg[1600];
  char why[200];

  assert_int_equal(audio_in_open(&in, path, 0, 5, why, sizeof why), 0);
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  assert_true(txpipe_pull(tp, in, 0, dg, sizeof dg) > 0);
  assert_true(txpipe_pull(tp, in, 0, dg, sizeof dg) > 0);
  assert_int_equal(txpipe_pull(tp, in, 0, dg, sizeof dg), TXPIPE_END);
  assert_int_equal(txpipe_pull(tp, in, 0, dg, sizeof dg), TXPIPE_END);
  assert_int_equal(txpipe_next_ts(tp), c.ts0 + 2 * 960);
  txpipe_destroy(tp);

  assert_int_equal(audio_in_rewind(in), 0);
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  for (int k = 0; k < 50; k++)
    assert_true(txpipe_pull(tp, in, 1, dg, sizeof dg) > 0);
  assert_int_equal(txpipe_next_ts(tp), c.ts0 + 50 * 960);
  assert_int_equal(txpipe_next_seq(tp), (uint16_t)(c.seq0 + 50));
  txpipe_destroy(tp);
  audio_in_close(in);
  unlink(path);
}

static void test_txpipe_set_fec__on_off__accepted(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  assert_int_equal(txpipe_set_fec(tp, 0, 0), 0);
  assert_int_equal(txpipe_set_fec(tp, 1, 25), 0);
  assert_int_equal(txpipe_set_fec(tp, 1, 101), -EINVAL);
  txpipe_destroy(tp);
}

/* The bitrate changes on the fly: noise encodes to fewer bytes at 12 kbit/s
 * than at 64; out of range is refused and changes nothing. */
static void test_txpipe_set_bitrate__lower__smaller_packets(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  static int16_t pcm[960];
  uint8_t buf[1600];
  unsigned seed = 1;
  int hi = 0, lo = 0;

  c.bitrate = 64000;
  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  for (int k = 0; k < 40; k++) {
    for (int i = 0; i < 960; i++)
      pcm[i] = (int16_t)((int)((seed = seed * 1103515245u + 12345u) >> 16) % 16000 - 8000);
    if (k == 20) {
      assert_int_equal(txpipe_set_bitrate(tp, DL_MIN_BITRATE - 1), -EINVAL);
      assert_int_equal(txpipe_set_bitrate(tp, 12000), 0);
    }
    int n = txpipe_encode(tp, pcm, buf, sizeof buf);
    assert_true(n > 0);
    if (k >= 10 && k < 20)
      hi += n;
    if (k >= 30)
      lo += n;
  }
  assert_true(lo * 3 < hi);
  txpipe_destroy(tp);
}

/* RFC 6051: packets within the window after the marker are due a stamp;
 * a stamped one carries the NTP-64 element (the receiver's parse finds
 * it, the audio intact), the next one does not unless stamped again. */
static void test_txpipe_stamp_ntp__window_after_marker__element_once(void **state)
{
  (void)state;
  struct txpipe *tp;
  struct txpipe_config c = cfg(1, 960);
  int16_t pcm[960];
  uint8_t dg[1500];
  struct rtp_packet p;
  int n;

  assert_int_equal(txpipe_create(&tp, &c, NULL), 0);
  assert_int_equal(txpipe_ntp_due(tp, 48000), 1);   /* the first carries the marker */
  for (int k = 0; k < 60; k++) {
    tone(pcm, 960, 1, k * 960L);
    int due = txpipe_ntp_due(tp, 48000);
    assert_int_equal(due, k < 50);
    if (due && k % 2 == 0)
      txpipe_stamp_ntp(tp, 0x1122334455667788ull + (uint64_t)k);
    n = txpipe_encode(tp, pcm, dg, sizeof dg);
    assert_true(n > 0);
    assert_int_equal(rtp_packet_parse(dg, (size_t)n, 0, &p), RTP_OK);
    assert_int_equal(p.samples, 960);
    assert_int_equal(p.has_ntp, due && k % 2 == 0);
    if (p.has_ntp)
      assert_true(p.ntp == 0x1122334455667788ull + (uint64_t)k);
  }
  txpipe_destroy(tp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_txpipe_stamp_ntp__window_after_marker__element_once),
    cmocka_unit_test(test_txpipe_create__bad_config__einval),
    cmocka_unit_test(test_txpipe_encode__every_frame_size__rtp_fields_and_toc),
    cmocka_unit_test(test_txpipe_encode__small_buffer__enobufs),
    cmocka_unit_test(test_txpipe_encode__dtx__gap_in_ts_not_seq_marker_after),
    cmocka_unit_test(test_txpipe_skip__frames__seq_and_ts_jump_together),
    cmocka_unit_test(test_txpipe_pull__end_padding_and_loop),
    cmocka_unit_test(test_txpipe_set_fec__on_off__accepted),
    cmocka_unit_test(test_txpipe_set_bitrate__lower__smaller_packets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
