/* common/rx/rxpipe with real Opus packets (a 440 Hz sine encoded by libopus)
 * in virtual time: the PCM that comes out is compared sample for sample with
 * a reference decoder fed the same decisions (packet, FEC, PLC, silence). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <netinet/in.h>

#include <opus/opus.h>

#include "defaults.h"
#include "rx/admit.h"
#include "rx/rxpipe.h"
#include "wire/rtp.h"

#define MS 1000000LL
#define NPK 100
#define FRAME 960
#define TARGET_MS 60
#define PRE (TARGET_MS * DL_RATE / 1000)   /* samples of silence before the start */

struct dgram {
  uint8_t buf[1600];
  int len;
  uint8_t *payload;
  int plen;
};

static struct dgram pk[NPK];
static int16_t sine[NPK * FRAME];

static int encode_stream(void **state)
{
  (void)state;
  int err;
  OpusEncoder *enc = opus_encoder_create(DL_RATE, 1, OPUS_APPLICATION_VOIP, &err);

  if (enc == NULL)
    return -1;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
  opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
  opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(20));
  for (int i = 0; i < NPK * FRAME; i++)
    sine[i] = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * i / DL_RATE));
  for (int k = 0; k < NPK; k++) {
    uint8_t payload[1500];
    struct rtp_header h = {0};
    int n = opus_encode(enc, sine + k * FRAME, FRAME, payload, sizeof payload);
    if (n <= 0)
      return -1;
    h.payload_type = 96;
    h.seq = (uint16_t)(65500 + k);
    h.timestamp = 0xfffff000u + (uint32_t)(k * FRAME);
    h.ssrc = 0x5eed;
    h.marker = k == 0;
    pk[k].len = rtp_pack(&h, payload, (size_t)n, pk[k].buf, sizeof pk[k].buf);
    if (pk[k].len <= 0)
      return -1;
    pk[k].payload = pk[k].buf + RTP_HEADER_LEN;
    pk[k].plen = n;
  }
  opus_encoder_destroy(enc);
  return 0;
}

static struct rxpipe_config cfg(int channels)
{
  struct rxpipe_config c = {
    .playout = {
      .target_ns = TARGET_MS * MS,
      .max_latency_ns = DL_DEFAULT_MAX_LATENCY_MS * MS,
      .silence_after_ns = DL_SILENCE_AFTER_MS * MS,
      .late_resync_ns = DL_LATE_RESYNC_MS * MS,
      .conceal_silence = 0,
      .slots = DL_PLAYOUT_SLOTS,
    },
    .channels = channels,
  };
  return c;
}

/* One datagram as the receiver hands it over: parsed once, then put (what
 * does not parse never reaches rxpipe: PLAYOUT_INVALID here). */
static int put(struct rxpipe *rp, const uint8_t *d, size_t len, int64_t arrival_ns)
{
  struct rtp_packet pkt;
  if (rtp_packet_parse(d, len, arrival_ns, &pkt) != RTP_OK)
    return PLAYOUT_INVALID;
  return rxpipe_put(rp, &pkt);
}

/* Runs the pipe: packet k (unless lost[k]) arrives at k*20 ms + jitter[k],
 * the sink reads `block` frames at a time from t = 0 until `total` frames,
 * each heard queue_ns after it is read; tell: the sink says so first
 * (rxpipe_set_sink_queue, as an ALSA device's snd_pcm_delay). */
static void run_queued(struct rxpipe *rp, const int *lost, const int64_t *jitter, int16_t *out,
                       int total, int block, int channels, int64_t queue_ns, int tell)
{
  int next = 0;

  for (int done = 0; done < total; ) {
    int64_t now = (int64_t)done * 1000000000 / DL_RATE;
    int n = total - done < block ? total - done : block;
    if (tell)
      rxpipe_set_sink_queue(rp, now, queue_ns);
    while (next < NPK && next * 20 * MS + (jitter ? jitter[next] : 0) <= now) {
      if (!lost || !lost[next])
        put(rp, pk[next].buf, (size_t)pk[next].len,
                   next * 20 * MS + (jitter ? jitter[next] : 0));
      next++;
    }
    assert_int_equal(rxpipe_read(rp, now + queue_ns, out + (size_t)done * channels, n), n);
    done += n;
  }
}

static void run(struct rxpipe *rp, const int *lost, const int64_t *jitter, int16_t *out,
                int total, int block, int channels)
{
  run_queued(rp, lost, jitter, out, total, block, channels, 0, 0);
}

static void test_rxpipe_read__clean_stream__equals_reference_decode(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[PRE + NPK * FRAME], ref[FRAME];
  int err;
  OpusDecoder *dec = opus_decoder_create(DL_RATE, 1, &err);

  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, NULL, NULL, out, PRE + (NPK - 3) * FRAME, 240, 1);
  for (int i = 0; i < PRE; i++)
    assert_int_equal(out[i], 0);
  for (int k = 0; k < NPK - 3; k++) {
    assert_int_equal(opus_decode(dec, pk[k].payload, pk[k].plen, ref, FRAME, 0), FRAME);
    assert_memory_equal(out + PRE + k * FRAME, ref, sizeof ref);
  }
  /* And it is the sine, delayed by the codec. */
  double best = 0;
  for (int lag = 0; lag < 480; lag++) {
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < 48000; i++) {
      double x = sine[i], y = out[PRE + i + lag];
      xy += x * y; xx += x * x; yy += y * y;
    }
    if (xy / sqrt(xx * yy) > best)
      best = xy / sqrt(xx * yy);
  }
  assert_true(best > 0.95);
  struct rxpipe_stats st;
  rxpipe_get_stats(rp, &st);
  assert_int_equal(st.po.played, NPK - 3);
  assert_int_equal(st.po.lost, 0);
  assert_true(st.loss_pct == 0.0);
  assert_true(isnan(st.drift_ppm));
  assert_true(st.resample_ratio == 1.0);
  opus_decoder_destroy(dec);
  rxpipe_destroy(rp);
}

static void test_rxpipe_read__stereo_output__mono_stream_in_both_channels(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(2);
  struct rxpipe *rp;
  static int16_t out[2 * (PRE + 20 * FRAME)];
  long energy = 0;

  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, NULL, NULL, out, PRE + 20 * FRAME, 480, 2);
  for (int i = 0; i < PRE + 20 * FRAME; i++) {
    assert_int_equal(out[2 * i], out[2 * i + 1]);
    energy += labs(out[2 * i]);
  }
  assert_true(energy > 1000L * 20 * FRAME);
  rxpipe_destroy(rp);
}

static void test_rxpipe_read__single_loss__fec_decoded(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[PRE + 30 * FRAME], ref[FRAME], plc[FRAME];
  int lost[NPK] = {0}, err;
  OpusDecoder *dec = opus_decoder_create(DL_RATE, 1, &err);
  OpusDecoder *dec2 = opus_decoder_create(DL_RATE, 1, &err);

  lost[10] = 1;
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, lost, NULL, out, PRE + 30 * FRAME, 960, 1);
  for (int k = 0; k < 10; k++) {
    assert_int_equal(opus_decode(dec, pk[k].payload, pk[k].plen, ref, FRAME, 0), FRAME);
    assert_int_equal(opus_decode(dec2, pk[k].payload, pk[k].plen, ref, FRAME, 0), FRAME);
  }
  assert_int_equal(opus_decode(dec, pk[11].payload, pk[11].plen, ref, FRAME, 1), FRAME);
  assert_int_equal(opus_decode(dec2, NULL, 0, plc, FRAME, 0), FRAME);
  assert_memory_equal(out + PRE + 10 * FRAME, ref, sizeof ref);
  /* The encoder put LBRR in: FEC is not the same as PLC. */
  assert_memory_not_equal(ref, plc, sizeof ref);
  for (int k = 11; k < 30; k++) {
    assert_int_equal(opus_decode(dec, pk[k].payload, pk[k].plen, ref, FRAME, 0), FRAME);
    assert_memory_equal(out + PRE + k * FRAME, ref, sizeof ref);
  }
  struct rxpipe_stats st;
  rxpipe_get_stats(rp, &st);
  assert_int_equal(st.po.fec_recovered, 1);
  assert_int_equal(st.po.concealed, 0);
  assert_int_equal(st.po.lost, 1);
  /* Read up to 640 ms: packets 0..32 have arrived by then. */
  assert_int_equal(st.po.expected, 33);
  assert_true(fabs(st.loss_pct - 100.0 / 33) < 1e-9);
  opus_decoder_destroy(dec);
  opus_decoder_destroy(dec2);
  rxpipe_destroy(rp);
}

static void test_rxpipe_read__long_gap__plc_fades_then_exact_silence(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[PRE + 60 * FRAME];
  int lost[NPK] = {0};

  for (int k = 10; k < 40; k++)
    lost[k] = 1;
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, lost, NULL, out, PRE + 60 * FRAME, 256, 1);
  /* Frames 10..14 PLC (the last fading to zero), 15..38 silence. */
  int fade_end = PRE + 15 * FRAME;
  assert_true(abs(out[fade_end - 1]) <= 1);
  for (int i = fade_end; i < PRE + 39 * FRAME; i++)
    assert_int_equal(out[i], 0);
  long e = 0;
  for (int i = PRE + 10 * FRAME; i < PRE + 11 * FRAME; i++)
    e += labs(out[i]);
  assert_true(e > 100L * FRAME);   /* PLC continues the sine at first */
  struct rxpipe_stats st;
  rxpipe_get_stats(rp, &st);
  assert_int_equal(st.po.concealed, 5);
  assert_int_equal(st.po.silence, 24);
  assert_int_equal(st.po.fec_recovered, 1);
  assert_int_equal(st.po.lost, 30);
  /* E-model input: 0..9 heard, 29 lost (5 PLC + 24 silence; the 30th
   * came back by FEC), 39 by FEC and 40..59 heard: one burst of 29. */
  assert_int_equal(st.quality_frames, 60);
  assert_true(fabs(st.quality_loss_pct - 100.0 * 29 / 60) < 1e-9);
  assert_true(fabs(st.quality_burst_r - 1.0 / (1.0 / 30 + 1.0 / 29)) < 1e-9);
  assert_true(fabs(st.frame_ms - 20.0) < 1e-9);
  rxpipe_destroy(rp);
}

static void test_rxpipe_read__sender_stops__zeros(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[PRE + 2 * NPK * FRAME];

  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, NULL, NULL, out, PRE + 2 * NPK * FRAME, 333, 1);
  for (int i = PRE + NPK * FRAME + 5 * FRAME; i < PRE + 2 * NPK * FRAME; i++)
    assert_int_equal(out[i], 0);
  /* The concealment after the last packet is the stream's end, not a loss
   * the E-model should see. */
  struct rxpipe_stats st;
  rxpipe_get_stats(rp, &st);
  assert_int_equal(st.quality_frames, NPK);
  assert_true(st.quality_loss_pct == 0.0);
  assert_true(st.quality_burst_r == 1.0);
  rxpipe_destroy(rp);
}

static void test_rxpipe_stats__constant_arrivals__latency_is_target(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[PRE + NPK * FRAME];
  struct rxpipe_stats st;

  assert_int_equal(rxpipe_create(&rp, &c), 0);
  rxpipe_get_stats(rp, &st);
  assert_true(isnan(st.latency_mean_ms));
  run(rp, NULL, NULL, out, PRE + (NPK - 3) * FRAME, 240, 1);
  rxpipe_get_stats(rp, &st);
  assert_true(fabs(st.latency_target_ms - TARGET_MS) < 1e-9);
  assert_true(fabs(st.latency_mean_ms - TARGET_MS) < 0.01);
  assert_true(fabs(st.latency_p50_ms - TARGET_MS) < 0.01);
  assert_true(fabs(st.latency_p95_ms - TARGET_MS) < 0.01);
  assert_true(fabs(st.latency_p99_ms - TARGET_MS) < 0.01);
  assert_true(fabs(st.latency_max_ms - TARGET_MS) < 0.01);
  assert_true(st.jitter_ms < 1e-6);
  rxpipe_destroy(rp);
}

static void test_rxpipe_stats__alternating_delay__jitter_rfc3550(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[PRE + NPK * FRAME];
  int64_t jitter[NPK];
  struct rxpipe_stats st;

  /* Transit alternates by 2 ms: |D| = 2 ms each packet, J -> 2 ms. */
  for (int k = 0; k < NPK; k++)
    jitter[k] = (k % 2) * 2 * MS;
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, NULL, jitter, out, PRE + (NPK - 3) * FRAME, 480, 1);
  rxpipe_get_stats(rp, &st);
  double want = 2.0 * (1.0 - pow(15.0 / 16.0, NPK - 4));   /* NPK - 3 packets put */
  assert_true(fabs(st.jitter_ms - want) < 0.05);
  /* Latency: target for the early ones, target - 2 ms for the late ones. */
  assert_true(fabs(st.latency_max_ms - TARGET_MS) < 0.01);
  assert_true(fabs(st.latency_mean_ms - (TARGET_MS - 1.0)) < 0.05);
  rxpipe_destroy(rp);
}

static void test_rxpipe_create__bad_channels__einval(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;

  c.channels = 3;
  assert_int_equal(rxpipe_create(&rp, &c), -EINVAL);
  c.channels = 0;
  assert_int_equal(rxpipe_create(&rp, &c), -EINVAL);
  rxpipe_destroy(NULL);
}

/* Seeded random loss, jitter, duplicates and read sizes: the sink gets
 * exactly what it asked for, the engine never runs more than a frame ahead,
 * and the counts add up. */
static void test_rxpipe__random__invariants_hold(void **state)
{
  (void)state;
  const char *env = getenv("DL_SEED");
  unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 777u;
  struct rxpipe_config c = cfg(2);
  struct rxpipe *rp;
  static int16_t out[2 * 4096];
  int64_t at[NPK];
  int order[NPK], dup[NPK], lost[NPK], sent = 0, dups = 0;
  uint64_t frames = 0;

  printf("test_rxpipe random: DL_SEED=%u\n", seed);
  srand(seed);
  for (int k = 0; k < NPK; k++) {
    at[k] = k * 20 * MS + (rand() % 50) * MS;
    lost[k] = rand() % 100 < 10;
    dup[k] = !lost[k] && rand() % 100 < 5;
    sent += !lost[k];
    dups += dup[k];
    order[k] = k;
  }
  for (int i = 1; i < NPK; i++)   /* by arrival */
    for (int j = i; j > 0 && at[order[j - 1]] > at[order[j]]; j--) {
      int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
    }
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  int next = 0;
  int64_t until = NPK * 20 * MS + 300 * MS;
  while ((int64_t)(frames * 1000000000 / DL_RATE) < until) {
    int64_t now = (int64_t)(frames * 1000000000 / DL_RATE);
    int n = 1 + rand() % 4096;
    while (next < NPK && at[order[next]] <= now) {
      int k = order[next++];
      if (lost[k])
        continue;
      put(rp, pk[k].buf, (size_t)pk[k].len, at[k]);
      if (dup[k])
        put(rp, pk[k].buf, (size_t)pk[k].len, at[k]);
    }
    assert_int_equal(rxpipe_read(rp, now, out, n), n);
    frames += (uint64_t)n;
  }
  struct rxpipe_stats st;
  rxpipe_get_stats(rp, &st);
  assert_true(st.po.samples_out >= frames);
  assert_true(st.po.samples_out < frames + DL_MAX_PACKET_SAMPLES);
  assert_int_equal(st.po.received + st.po.late + st.po.duplicate, (uint64_t)(sent + dups));
  assert_true(st.po.duplicate >= (uint64_t)dups);
  assert_int_equal(st.po.played, st.po.received);
  assert_true(st.po.lost <= st.po.expected);
  assert_true(st.loss_pct >= 0 && st.loss_pct <= 100);
  /* Arrival jitter 0..50 ms around the first packet's arrival + target. */
  assert_true(st.latency_max_ms < TARGET_MS + 50);
  assert_true(st.latency_p50_ms > TARGET_MS - 50 && st.latency_p50_ms < TARGET_MS + 50);
  rxpipe_destroy(rp);
}

/* Hostile input: random bytes, valid headers around random payloads, real
 * packets with flipped bits, all interleaved with the stream, down the
 * receiver's path (one parse, admission as after SRTP: nothing probed or
 * held, so whatever parses reaches rxpipe). Nothing crashes (run under
 * ASan by make sanitize), every datagram is counted in exactly one place,
 * and the sink always gets what it asks for. */
static void test_rxpipe_put__random_datagrams__each_counted_once(void **state)
{
  (void)state;
  const char *env = getenv("DL_SEED");
  unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 31337u;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[960];
  uint8_t d[1600];
  uint64_t puts = 0;
  struct admit ad;
  struct admit_config ac = {.keyed = 1, .restart_after_ns = DL_RESTART_AFTER_MS * MS};
  struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = 0x8813};

  printf("test_rxpipe hostile: DL_SEED=%u\n", seed);
  srand(seed);
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  assert_int_equal(admit_init(&ad, &ac), 0);
  for (int round = 0; round < 20000; round++) {
    int64_t now = (int64_t)round * 20 * MS;
    int k = round % NPK;
    size_t len;

    switch (rand() % 4) {
    case 0:   /* random bytes */
      len = (size_t)(rand() % 200);
      for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)rand();
      break;
    case 1:   /* a plausible header, random payload */
      len = RTP_HEADER_LEN + (size_t)(rand() % 300);
      for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)rand();
      d[0] = 0x80;
      d[1] = 96;
      break;
    case 2:   /* a real packet with a few bits flipped past the header */
      len = (size_t)pk[k].len;
      memcpy(d, pk[k].buf, len);
      for (int j = 0; j < 3; j++) {
        size_t at = RTP_HEADER_LEN + (size_t)rand() % (len - RTP_HEADER_LEN);
        d[at] ^= (uint8_t)(1u << (rand() % 8));
      }
      break;
    default:  /* the stream itself */
      len = (size_t)pk[k].len;
      memcpy(d, pk[k].buf, len);
      break;
    }
    struct rtp_packet pkt;
    struct admit_result res;
    admit_packet(&ad, (const struct sockaddr *)&from, rtp_packet_parse(d, len, now, &pkt), &pkt, &res);
    assert_true(res.verdict != ADMIT_HOLD && res.release == NULL);
    if (res.verdict == ADMIT_PASS)
      rxpipe_put(rp, &pkt);
    puts++;
    assert_int_equal(rxpipe_read(rp, now, out, 960), 960);
  }
  struct rxpipe_stats st;
  struct admit_stats as;
  rxpipe_get_stats(rp, &st);
  admit_get_stats(&ad, &as);
  assert_int_equal(as.invalid + as.rejected + st.po.invalid + st.po.received + st.po.late +
                       st.po.duplicate, puts);
  assert_true(as.invalid > 0 && st.po.received > 0);
  assert_true(st.po.lost <= st.po.expected);
  assert_true(st.po.samples_out >= 20000 * 960);
  rxpipe_destroy(rp);
}

/* A sink that hears what it is given QUEUE ms after the decision (an ALSA
 * device's snd_pcm_delay): packets arrive with 0..8 ms of jitter and the
 * adaptive target starts at 20 ms. Told the queue, the pipe adds it to the
 * target and no packet is late; not told, the same run decides before
 * packets arrive (the test's own control: the scenario does discriminate). */
static uint64_t run_with_queue(int tell, int auto_latency, double *target_ms)
{
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[(NPK + 10) * FRAME];
  int64_t jitter[NPK];
  struct rxpipe_stats st;

  for (int k = 0; k < NPK; k++)
    jitter[k] = (int64_t)(k * 37 % 9) * MS;
  c.playout.target_ns = 20 * MS;
  c.latency_auto = auto_latency;
  c.min_latency_ns = 1 * MS;
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  /* The sink runs before the stream starts: its queue is known first. */
  run_queued(rp, NULL, jitter, out, (NPK + 10) * FRAME, 240, 1, 25 * MS, tell);
  rxpipe_get_stats(rp, &st);
  *target_ms = st.latency_target_ms;
  rxpipe_destroy(rp);
  return st.po.late;
}

static void test_rxpipe_set_sink_queue__adaptive_target_adds_it__nothing_late(void **state)
{
  (void)state;
  double with, without, fixed_told;

  uint64_t told = run_with_queue(1, 1, &with), not_told = run_with_queue(0, 1, &without);

  print_message("late: told %llu (target %.2f ms), not told %llu (target %.2f ms)\n",
                (unsigned long long)told, with, (unsigned long long)not_told, without);
  assert_int_equal(told, 0);
  assert_true(not_told > 0);
  /* The queue is in the target, on top of what the arrivals ask for. */
  assert_true(with >= without + 24.9);
  /* A fixed --latency is the user's total: the queue is not added. */
  (void)run_with_queue(1, 0, &fixed_told);
  assert_true(fabs(fixed_told - 20.0) < 1e-9);
}

/* What a read pulls ahead of hearing it is in the adaptive target. A read
 * decodes a frame when the block its first sample falls in begins (with
 * the resampler's filter delay, sooner still), up to a block before the
 * frame is heard: a packet must be there that much earlier, and the one
 * after a loss one frame earlier again for its FEC. Without the block in
 * the target, the simulator's 2 ms-jitter path concealed two of three
 * single losses instead of recovering them. The same arrivals read in
 * 5 ms and in 1 ms blocks: the targets differ by the 4 ms between. */
static double target_after_reads(int block, int lossy)
{
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  static int16_t out[NPK * FRAME + 10 * FRAME];
  int64_t jitter[NPK];
  struct rxpipe_stats st;

  int lost[NPK] = {0};

  for (int k = 0; k < NPK; k++) {
    jitter[k] = (int64_t)(k * 37 % 5) * MS;
    lost[k] = lossy && k % 20 == 7;
  }
  c.playout.target_ns = 20 * MS;
  c.latency_auto = 1;
  c.min_latency_ns = 1 * MS;
  c.resample = 1;
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  run(rp, lost, jitter, out, NPK * FRAME + 10 * FRAME, block, 1);
  rxpipe_get_stats(rp, &st);
  rxpipe_destroy(rp);
  return st.latency_target_ms;
}

static void test_rxpipe_read__adaptive_target__holds_the_read_block(void **state)
{
  (void)state;
  double t5 = target_after_reads(240, 1), t1 = target_after_reads(48, 1);
  double clean = target_after_reads(240, 0);

  print_message("target: 5 ms blocks %.3f ms, 1 ms blocks %.3f ms; no loss, 5 ms blocks %.3f ms\n",
                t5, t1, clean);
  assert_true(fabs(t5 - t1 - 4.0) < 1e-6);
  assert_true(t1 > 20 + 1);   /* a frame (the path loses packets), the block, the spread */
  /* Without loss the FEC frame is not held: only the jitter's own margin. */
  assert_true(clean < t5 - 5 && clean > 5 + 1);
}

/* The queue's peak is held and falls 1 ms per second, not at once. */
static void test_rxpipe_set_sink_queue__peak_falls_slowly(void **state)
{
  (void)state;
  struct rxpipe_config c = cfg(1);
  struct rxpipe *rp;
  struct rxpipe_stats st;
  double t0;

  c.latency_auto = 1;
  assert_int_equal(rxpipe_create(&rp, &c), 0);
  rxpipe_get_stats(rp, &st);
  t0 = st.latency_target_ms;
  rxpipe_set_sink_queue(rp, 1 * MS, 30 * MS);
  rxpipe_get_stats(rp, &st);
  assert_true(fabs(st.latency_target_ms - (t0 + 30)) < 1e-6);
  /* Two seconds of a 10 ms queue: the peak has fallen by 2 ms only. */
  for (int64_t t = 6 * MS; t <= 2001 * MS; t += 5 * MS)
    rxpipe_set_sink_queue(rp, t, 10 * MS);
  rxpipe_get_stats(rp, &st);
  assert_true(fabs(st.latency_target_ms - (t0 + 28)) < 0.01);
  rxpipe_destroy(rp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rxpipe_read__clean_stream__equals_reference_decode),
    cmocka_unit_test(test_rxpipe_read__stereo_output__mono_stream_in_both_channels),
    cmocka_unit_test(test_rxpipe_read__single_loss__fec_decoded),
    cmocka_unit_test(test_rxpipe_read__long_gap__plc_fades_then_exact_silence),
    cmocka_unit_test(test_rxpipe_read__sender_stops__zeros),
    cmocka_unit_test(test_rxpipe_stats__constant_arrivals__latency_is_target),
    cmocka_unit_test(test_rxpipe_stats__alternating_delay__jitter_rfc3550),
        cmocka_unit_test(test_rxpipe_create__bad_channels__einval),
    cmocka_unit_test(test_rxpipe__random__invariants_hold),
    cmocka_unit_test(test_rxpipe_put__random_datagrams__each_counted_once),
    cmocka_unit_test(test_rxpipe_set_sink_queue__adaptive_target_adds_it__nothing_late),
    cmocka_unit_test(test_rxpipe_set_sink_queue__peak_falls_slowly),
    cmocka_unit_test(test_rxpipe_read__adaptive_target__holds_the_read_block),
  };
  return cmocka_run_group_tests(tests, encode_stream, NULL);
}
