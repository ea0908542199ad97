/* common/rx/playout in virtual time: a scripted arrival schedule is fed to the
 * engine while a simulated sink pulls frames; each case checks the exact
 * sequence of frame kinds played and the counters.
 *
 * Kinds are recorded as letters: S silence, P packet, F FEC, C PLC.
 * Payloads are minimal Opus packets (a TOC byte and two bytes): the engine
 * only reads their duration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "defaults.h"
#include "rx/playout.h"
#include "wire/rtp.h"

#define MS 1000000LL
#define MAXF 4096

/* TOC bytes, code 0 (one frame): CELT FB 2.5/5/10/20 ms, SILK NB 40/60 ms. */
static uint8_t toc_for(int samples)
{
  switch (samples) {
  case 120: return 28 << 3;
  case 240: return 29 << 3;
  case 480: return 30 << 3;
  case 960: return 31 << 3;
  case 1920: return 2 << 3;
  case 2880: return 3 << 3;
  default: return 0xff;
  }
}

struct pk {
  int64_t arrival_ns;
  uint16_t seq;
  uint32_t ts;
  int samples;
  uint32_t ssrc;
  int marker;
  int result;        /* what playout_put returned */
};

struct sim {
  struct playout *p;
  struct playout_config cfg;
  uint64_t out;            /* samples the sink has had */
  int64_t lost_ns;         /* time the sink lost (stalls): its clock ran, it pulled nothing */
  int next_pk;
  char kinds[MAXF + 1];
  unsigned flags[MAXF];
  int skip[MAXF];
  uint16_t seq[MAXF];
  int64_t lat[MAXF];       /* PACKET: heard minus arrival */
  int n;
};

static struct playout_config default_cfg(void)
{
  struct playout_config c = {
    .target_ns = 60 * MS,
    .max_latency_ns = DL_DEFAULT_MAX_LATENCY_MS * MS,
    .silence_after_ns = DL_SILENCE_AFTER_MS * MS,
    .late_resync_ns = DL_LATE_RESYNC_MS * MS,
    .conceal_silence = 0,
    .slots = DL_PLAYOUT_SLOTS,
  };
  return c;
}

static void sim_init(struct sim *s, const struct playout_config *cfg)
{
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  assert_int_equal(playout_create(&s->p, cfg), 0);
}

static int64_t sim_now(const struct sim *s)
{
  return (int64_t)(s->out * 1000000000ULL / DL_RATE) + s->lost_ns;
}

/* The sink stalls: stall_ns passes without a pull. Packets whose arrival
 * time passes meanwhile are put at the next pull (as the receiver's ring
 * holds them for its stalled playback thread). */
static void sim_stall(struct sim *s, int64_t stall_ns)
{
  s->lost_ns += stall_ns;
}

static int put_one(struct playout *p, struct pk *k)
{
  uint8_t payload[3] = {toc_for(k->samples), (uint8_t)k->seq, (uint8_t)(k->seq >> 8)};
  struct rtp_packet pkt = {
    .ssrc = k->ssrc ? k->ssrc : 0x1234, .ts = k->ts, .seq = k->seq, .pt = 96,
    .marker = (uint8_t)k->marker, .samples = rtp_opus_samples(payload, sizeof payload),
    .len = sizeof payload, .payload = payload, .arrival_ns = k->arrival_ns,
  };

  k->result = playout_put(p, &pkt);
  return k->result;
}

/* Pulls frames (max_samples 5760) until the sink's clock reaches until_ns,
 * putting every packet whose arrival time has come first. pks sorted by
 * arrival. */
static void sim_run(struct sim *s, struct pk *pks, int npk, int64_t until_ns)
{
  while (sim_now(s) < until_ns) {
    struct playout_frame f;
    int64_t now = sim_now(s);
    int n;

    while (s->next_pk < npk && pks[s->next_pk].arrival_ns <= now)
      put_one(s->p, &pks[s->next_pk++]);
    n = playout_next(s->p, now, DL_MAX_PACKET_SAMPLES, &f);
    assert_true(n > 0);
    assert_int_equal(n, f.samples - f.skip);
    assert_true(s->n < MAXF);
    s->kinds[s->n] = "SPFC"[f.kind];
    if (f.kind == PLAYOUT_PACKET)
      s->lat[s->n] = now - f.arrival_ns;
    s->flags[s->n] = f.flags;
    s->skip[s->n] = f.skip;
    s->seq[s->n] = f.seq;
    s->n++;
    s->kinds[s->n] = 0;
    s->out += (uint64_t)n;
  }
}

static void sim_done(struct sim *s)
{
  playout_destroy(s->p);
}

/* A steady stream: packet k (20 ms) sent at k*20 ms, arriving `delay` later. */
static int make_stream(struct pk *pks, int n, uint16_t seq0, uint32_t ts0, int64_t delay)
{
  int k;

  for (k = 0; k < n; k++) {
    memset(&pks[k], 0, sizeof pks[k]);
    pks[k].arrival_ns = k * 20 * MS + delay;
    pks[k].seq = (uint16_t)(seq0 + k);
    pks[k].ts = ts0 + 960u * (uint32_t)k;
    pks[k].samples = 960;
  }
  return n;
}

/* Removes packets [from, to) from the schedule. */
static int drop(struct pk *pks, int n, int from, int to)
{
  memmove(&pks[from], &pks[to], (size_t)(n - to) * sizeof *pks);
  return n - (to - from);
}

static struct playout_stats stats(const struct sim *s)
{
  struct playout_stats st;
  playout_get_stats(s->p, &st);
  return st;
}

static char *repeat(char *buf, const char *parts)
{
  /* "3S10P" -> "SSSPPPPPPPPPP" */
  char *o = buf;
  while (*parts) {
    int count = (int)strtol(parts, (char **)&parts, 10);
    char c = *parts++;
    while (count-- > 0)
      *o++ = c;
  }
  *o = 0;
  return buf;
}

static void test_playout_next__in_order__all_played(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 100, 5000, 0);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 260 * MS);
  /* 60 ms of silence before the first play time, then every packet. */
  assert_string_equal(s.kinds, repeat(want, "3S10P"));
  assert_int_equal(s.seq[3], 100);
  assert_int_equal(s.seq[12], 109);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.received, 10);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.expected, 10);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.silence, 0);
  assert_int_equal(st.samples_out, 13 * 960);
  assert_int_equal(playout_started(s.p), 1);
  sim_done(&s);
}

static void test_playout_put__late__discarded(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  /* Packet 3 is due at 60 + 60 ms and arrives at 200 ms. */
  struct pk late = pks[3];
  late.arrival_ns = 200 * MS;
  memmove(&pks[3], &pks[4], 6 * sizeof *pks);
  pks[9] = late;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 260 * MS);
  /* Packet 4 was queued when 3 was due: its FEC stands in for 3. */
  assert_string_equal(s.kinds, repeat(want, "3S3P1F6P"));
  assert_int_equal(pks[9].result, PLAYOUT_LATE);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.late, 1);
  assert_int_equal(st.received, 9);
  assert_int_equal(st.played, 9);
  assert_int_equal(st.fec_recovered, 1);
  assert_int_equal(st.expected, 10);
  assert_int_equal(st.lost, 0);   /* it did arrive (RFC 3550 counts it) */
  sim_done(&s);
}

static void test_playout_put__duplicate__dropped_once_counted(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[12];
  char want[256];
  int n = make_stream(pks, 10, 7, 0, 0);

  /* A copy of packet 2 while it is queued, one of packet 0 after it played. */
  memmove(&pks[4], &pks[3], 7 * sizeof *pks);
  pks[3] = pks[2];
  pks[3].arrival_ns = 45 * MS;
  memmove(&pks[6], &pks[5], 6 * sizeof *pks);
  pks[5] = pks[0];
  pks[5].arrival_ns = 70 * MS;   /* packet 0 played from 60 ms */
  n = 12;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 260 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S10P"));
  assert_int_equal(pks[3].result, PLAYOUT_DUPLICATE);
  assert_int_equal(pks[5].result, PLAYOUT_DUPLICATE);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.duplicate, 2);
  assert_int_equal(st.received, 10);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.expected, 10);
  sim_done(&s);
}

static void test_playout_put__reordered__played_in_order(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);
  struct pk t;

  /* 5 arrives before 4 (both in time), 8 two places early. */
  t = pks[4]; pks[4] = pks[5]; pks[5] = t;
  pks[4].arrival_ns = 80 * MS;
  pks[5].arrival_ns = 81 * MS;
  t = pks[8]; pks[8] = pks[7]; pks[7] = pks[6]; pks[6] = t;
  pks[6].arrival_ns = 120 * MS;
  pks[7].arrival_ns = 121 * MS;
  pks[8].arrival_ns = 122 * MS;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 260 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S10P"));
  for (int i = 0; i < 10; i++)
    assert_int_equal(s.seq[3 + i], i);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.reordered, 3);   /* 4, 6 and 7 came after a higher one */
  assert_int_equal(st.played, 10);
  assert_int_equal(st.lost, 0);
  sim_done(&s);
}

static void test_playout_next__single_gap__fec_from_next(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  n = drop(pks, n, 4, 5);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 260 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S4P1F5P"));
  assert_int_equal(s.seq[7], 5);   /* FEC data is packet 5 ... */
  assert_int_equal(s.seq[8], 5);   /* ... which then plays itself */
  struct playout_stats st = stats(&s);
  assert_int_equal(st.fec_recovered, 1);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.played, 9);
  assert_int_equal(st.expected, 10);
  assert_int_equal(st.lost, 1);
  sim_done(&s);
}

static void test_playout_next__three_lost__plc_then_fec(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[12];
  char want[256];
  int n = make_stream(pks, 12, 0, 0, 0);

  n = drop(pks, n, 4, 7);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 150 * MS);   /* the first PLC frame played */
  assert_string_equal(s.kinds, repeat(want, "3S4P1C"));
  struct playout_stats mid = stats(&s);
  assert_int_equal(mid.concealed, 0);   /* pending: loss or end, not known yet */
  assert_int_equal(mid.tail_concealed, 0);
  sim_run(&s, pks, n, 300 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S4P2C1F5P"));
  assert_int_equal(s.flags[7] & PLAYOUT_FADE_OUT, 0);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.concealed, 2);   /* committed when FEC resumed it */
  assert_int_equal(st.tail_concealed, 0);
  assert_int_equal(st.fec_recovered, 1);
  assert_int_equal(st.lost, 3);
  assert_int_equal(st.expected, 12);
  sim_done(&s);
}

static void test_playout_next__no_next_packet__plc(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  /* Packet 5 arrives 1 ms before its play time, 4 lost: at 4's time the
   * queue is empty, so PLC, not FEC. */
  c.target_ns = 20 * MS;
  n = drop(pks, n, 4, 5);
  for (int i = 4; i < n; i++)
    pks[i].arrival_ns += 19 * MS;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 220 * MS);
  assert_string_equal(s.kinds, repeat(want, "1S4P1C5P"));
  struct playout_stats st = stats(&s);
  assert_int_equal(st.concealed, 1);
  assert_int_equal(st.fec_recovered, 0);
  assert_int_equal(st.lost, 1);
  sim_done(&s);
}

static void test_playout_next__long_gap__fades_to_silence(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[40];
  char want[256];
  int n = make_stream(pks, 40, 0, 0, 0);

  /* 400 ms lost: 100 ms of PLC (the last one fading out), silence, then
   * the FEC of packet 30 fading in. */
  n = drop(pks, n, 10, 30);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 340 * MS);   /* under 100 ms of loss */
  assert_string_equal(s.kinds, repeat(want, "3S10P4C"));
  struct playout_stats mid = stats(&s);
  assert_int_equal(mid.concealed, 0);
  assert_int_equal(mid.tail_concealed, 0);
  sim_run(&s, pks, n, 500 * MS);   /* gone to silence: provisionally a tail */
  assert_string_equal(s.kinds, repeat(want, "3S10P5C7S"));
  mid = stats(&s);
  assert_int_equal(mid.concealed, 0);
  assert_int_equal(mid.tail_concealed, 5);
  assert_int_equal(mid.silence, 0);
  assert_int_equal(mid.tail_silence, 7);
  sim_run(&s, pks, n, 860 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S10P5C14S1F10P"));
  for (int i = 13; i < 17; i++)
    assert_int_equal(s.flags[i], 0);
  assert_int_equal(s.flags[17], PLAYOUT_FADE_OUT);
  assert_int_equal(s.flags[18], 0);
  assert_int_equal(s.flags[32], PLAYOUT_FADE_IN);
  assert_int_equal(s.flags[33], 0);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.concealed, 5);   /* it resumed: the PLC was a loss */
  assert_int_equal(st.tail_concealed, 0);
  assert_int_equal(st.silence, 14);    /* and so was its silence */
  assert_int_equal(st.tail_silence, 0);
  assert_int_equal(st.fec_recovered, 1);
  assert_int_equal(st.played, 20);
  assert_int_equal(st.lost, 20);
  assert_int_equal(st.expected, 40);
  sim_done(&s);
}

static void test_playout_next__conceal_silence__no_plc(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[12];
  char want[256];
  int n = make_stream(pks, 12, 0, 0, 0);

  c.conceal_silence = 1;
  n = drop(pks, n, 4, 7);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 300 * MS);
  /* FEC is still used; what PLC would cover is silent. */
  assert_string_equal(s.kinds, repeat(want, "3S4P2S1F5P"));
  assert_int_equal(s.flags[9], PLAYOUT_FADE_IN);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.silence, 2);
  assert_int_equal(st.fec_recovered, 1);
  assert_int_equal(st.lost, 3);
  sim_done(&s);
}

static void test_playout_put__seq_and_ts_wrap__counts_exact(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  char want[256];
  /* seq wraps after packet 5, ts after packet 3; packet 6 (seq 0) lost. */
  int n = make_stream(pks, 20, 65530, 0xffffffffu - 3 * 960 - 100, 0);

  n = drop(pks, n, 6, 7);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 460 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S6P1F13P"));
  assert_int_equal(s.seq[9], 1);
  assert_int_equal(s.seq[10], 1);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.expected, 20);
  assert_int_equal(st.lost, 1);
  assert_int_equal(st.received, 19);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.reordered, 0);
  assert_int_equal(st.resyncs, 0);
  assert_int_equal(st.played, 19);
  sim_done(&s);
}

static void test_playout_put__ssrc_change__resyncs(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  char want[256];
  int n = make_stream(pks, 20, 0, 0, 0);

  /* From packet 10 on another sender: other SSRC, seq and ts. */
  for (int i = 10; i < 20; i++) {
    pks[i].ssrc = 0xbeef;
    pks[i].seq = (uint16_t)(40000 + i);
    pks[i].ts = 777777u + 960u * (uint32_t)i;
  }
  sim_init(&s, &c);
  sim_run(&s, pks, n, 460 * MS);
  /* Old packets 7..9 (queued at 200 ms) are flushed; the new stream plays
   * 60 ms after its first packet, like a first stream. */
  assert_string_equal(s.kinds, repeat(want, "3S7P3S10P"));
  assert_int_equal(s.flags[10], PLAYOUT_RESYNC);
  assert_int_equal(s.seq[13], 40010);
  assert_int_equal(s.flags[13], PLAYOUT_FADE_IN);
  assert_int_equal(s.flags[14], 0);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.expected, 20);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.received, 20);
  assert_int_equal(st.played, 17);
  sim_done(&s);
}

static void test_playout_put__ts_jump__resyncs(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  char want[256];
  int n = make_stream(pks, 20, 0, 0, 0);

  /* Same SSRC, timestamps jump 10 s ahead from packet 10 on. Packet 10 is
   * suspect (dropped as invalid); 11 continues from it: resync there. */
  for (int i = 10; i < 20; i++)
    pks[i].ts += 480000;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 460 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S8P3S9P"));
  assert_int_equal(pks[10].result, PLAYOUT_INVALID);
  assert_int_equal(pks[11].result, PLAYOUT_QUEUED);
  assert_int_equal(s.flags[11], PLAYOUT_RESYNC);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.invalid, 1);
  assert_int_equal(st.expected, 19);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.played, 17);
  sim_done(&s);
}

static void test_playout_next__mixed_frame_sizes__each_played_whole(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static const int sizes[] = {960, 480, 480, 1920, 2880, 120, 240, 960, 960, 480};
  struct pk pks[10];
  uint32_t ts = 42;
  int64_t t = 0;

  for (int i = 0; i < 10; i++) {
    memset(&pks[i], 0, sizeof pks[i]);
    pks[i].seq = (uint16_t)i;
    pks[i].ts = ts;
    pks[i].samples = sizes[i];
    pks[i].arrival_ns = t + sizes[i] * 1000000000LL / DL_RATE;   /* sent when recorded */
    ts += (uint32_t)sizes[i];
    t += sizes[i] * 1000000000LL / DL_RATE;
  }
  sim_init(&s, &c);
  sim_run(&s, pks, 10, 20 * MS + 60 * MS + t);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.fec_recovered, 0);
  assert_int_equal(st.lost, 0);
  /* Packets in order, each whole: 4 frames of silence (80 ms) first. */
  assert_memory_equal(s.kinds, "SSSSPPPPPPPPPP", 14);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(s.seq[4 + i], i);
    assert_int_equal(s.skip[4 + i], 0);
  }
  sim_done(&s);
}

static void test_playout_put__marker_on_every_packet__no_resync(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  char want[256];
  int n = make_stream(pks, 20, 9, 123456, 0);

  for (int i = 0; i < n; i++)
    pks[i].marker = 1;   /* ffmpeg's rtp muxer */
  sim_init(&s, &c);
  sim_run(&s, pks, n, 460 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S20P"));
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 0);
  assert_int_equal(st.played, 20);
  sim_done(&s);
}

static void test_playout_next__gstreamer_first_step_648__head_skipped(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 1000, 0);

  /* GStreamer's first packet is followed by one 648 samples later. */
  for (int i = 1; i < n; i++)
    pks[i].ts -= 312;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 250 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S10P"));
  assert_int_equal(s.skip[3], 0);
  assert_int_equal(s.skip[4], 312);
  for (int i = 5; i < 13; i++)
    assert_int_equal(s.skip[i], 0);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.samples_out, 13 * 960 - 312);
  sim_done(&s);
}

static void test_playout_next__sender_stops__silence_not_stale(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 2000 * MS);
  /* 100 ms of concealment, then silence for as long as the sink runs. */
  assert_string_equal(s.kinds, repeat(want, "3S10P5C82S"));
  assert_int_equal(s.flags[17], PLAYOUT_FADE_OUT);
  struct playout_stats st = stats(&s);
  /* The end of the stream, not a loss: its PLC and its silence are the
   * tail. */
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.tail_concealed, 5);
  assert_int_equal(st.silence, 0);
  assert_int_equal(st.tail_silence, 82);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.expected, 10);
  assert_int_equal(st.lost, 0);
  assert_int_equal(playout_depth(s.p), 0);
  sim_done(&s);
}

/* Three packets lost mid-stream and the next one just in time (no FEC):
 * PLC for all three, pending until packet 7 plays, then counted. */
static void test_playout_next__three_lost_no_fec__concealed_on_resume(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[12];
  char want[256];
  int n = make_stream(pks, 12, 0, 0, 0);

  c.target_ns = 20 * MS;
  n = drop(pks, n, 4, 7);
  for (int i = 4; i < n; i++)
    pks[i].arrival_ns += 19 * MS;   /* 7 comes 1 ms before its play time */
  sim_init(&s, &c);
  sim_run(&s, pks, n, 140 * MS);
  assert_string_equal(s.kinds, repeat(want, "1S4P2C"));
  struct playout_stats st = stats(&s);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.tail_concealed, 0);
  sim_run(&s, pks, n, 160 * MS);
  assert_string_equal(s.kinds, repeat(want, "1S4P3C"));
  st = stats(&s);
  assert_int_equal(st.concealed, 0);
  sim_run(&s, pks, n, 180 * MS);
  assert_string_equal(s.kinds, repeat(want, "1S4P3C1P"));
  st = stats(&s);
  assert_int_equal(st.concealed, 3);
  assert_int_equal(st.tail_concealed, 0);
  assert_int_equal(st.fec_recovered, 0);
  assert_int_equal(st.lost, 3);
  sim_done(&s);
}

/* A clean stream ends, another SSRC starts a second later: the first
 * stream's PLC is its tail (nothing lost), not concealment. */
static void test_playout_put__ssrc_change_after_clean_end__tail_not_concealed(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  int n = make_stream(pks, 20, 0, 0, 0);

  for (int i = 10; i < 20; i++) {
    pks[i].ssrc = 0xbeef;
    pks[i].seq = (uint16_t)(5000 + i);
    pks[i].ts = 99999u + 960u * (uint32_t)i;
    pks[i].arrival_ns += 1000 * MS;
  }
  sim_init(&s, &c);
  sim_run(&s, pks, n, 2000 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.played, 20);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.tail_concealed, 10);   /* 5 per stream end */
  sim_done(&s);
}

/* The old stream loses 6..8 (9 is queued behind the gap) and another SSRC
 * takes over during the PLC: the old stream did lose packets there, so the
 * PLC frame already played counts as concealed. */
static void test_playout_put__ssrc_change_during_loss__concealed(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  int n = make_stream(pks, 20, 0, 0, 0);

  for (int i = 10; i < 20; i++) {
    pks[i].ssrc = 0xbeef;
    pks[i].seq = (uint16_t)(5000 + i);
    pks[i].ts = 99999u + 960u * (uint32_t)i;
    pks[i].arrival_ns = 190 * MS + (i - 10) * 20 * MS;
  }
  n = drop(pks, n, 6, 9);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 195 * MS);
  assert_int_equal(s.kinds[s.n - 1], 'C');   /* packet 6's PLC at 180 ms */
  struct playout_stats st = stats(&s);
  assert_int_equal(st.concealed, 0);
  sim_run(&s, pks, n, 600 * MS);
  st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.lost, 3);
  assert_int_equal(st.concealed, 1);
  assert_int_equal(st.tail_concealed, 5);    /* the second stream's end */
  assert_int_equal(st.played, 6 + 10);
  sim_done(&s);
}

static void test_playout_put__queue_full__dropped_counted_late(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  int n = make_stream(pks, 10, 0, 0, 0);

  c.slots = 4;
  sim_init(&s, &c);
  /* Everything arrives at once, before anything plays. */
  for (int i = 0; i < n; i++)
    pks[i].arrival_ns = 0;
  sim_run(&s, pks, n, 1);
  for (int i = 0; i < 4; i++)
    assert_int_equal(pks[i].result, PLAYOUT_QUEUED);
  for (int i = 4; i < 10; i++)
    assert_int_equal(pks[i].result, PLAYOUT_FULL);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.received, 4);
  assert_int_equal(st.late, 6);
  assert_int_equal(st.expected, 10);
  assert_int_equal(st.lost, 0);
  sim_done(&s);
}

static void test_playout_put__only_late_for_a_while__resyncs(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[100];
  int n = make_stream(pks, 100, 0, 0, 0);

  /* From packet 10 on, everything arrives 500 ms later than before (a
   * stall that never recovers): late for late_resync_ns, then resynced. */
  for (int i = 10; i < n; i++)
    pks[i].arrival_ns += 500 * MS;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 2600 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  /* 10 is the first late one (700 ms); 60 arrives 1000 ms after it and
   * resyncs: 10..59 late, 60..99 played after the resync. */
  assert_int_equal(st.late, 50);
  assert_int_equal(st.received, 50);
  assert_int_equal(st.expected, 100);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.played, 50);
  assert_int_equal(pks[59].result, PLAYOUT_LATE);
  assert_int_equal(pks[60].result, PLAYOUT_QUEUED);
  sim_done(&s);
}

static void test_playout_put__sender_restarts_same_ssrc__resyncs_after_late_run(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[110];
  int n = make_stream(pks, 10, 0, 0, 0);

  /* The same sender starts over 2 s later: same SSRC, sequence numbers
   * and timestamps from the start again. Behind the cursor (the first ten
   * also already seen) for 1 s, then resynced. */
  make_stream(pks + 10, 100, 0, 0, 2000 * MS);
  n = 110;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 4200 * MS);
  for (int i = 10; i < 20; i++)
    assert_int_equal(pks[i].result, PLAYOUT_DUPLICATE);
  for (int i = 20; i < 60; i++)
    assert_int_equal(pks[i].result, PLAYOUT_LATE);
  for (int i = 60; i < 110; i++)
    assert_int_equal(pks[i].result, PLAYOUT_QUEUED);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.duplicate, 10);
  assert_int_equal(st.late, 40);
  assert_int_equal(st.played, 60);
  assert_int_equal(st.lost, 0);
  sim_done(&s);
}

static void test_playout_put__backlog_burst__dropped_no_resync(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[400];
  int n = make_stream(pks, 400, 100, 0, 0);

  /* A 5 s stall: packets 50..299 are held and arrive together at 6 s,
   * after which the stream is live again. The stale ones are dropped as
   * late, the live ones play at the target latency: no backlog played. */
  for (int i = 50; i < 300; i++)
    pks[i].arrival_ns = 6000 * MS + i * 1000;   /* 1 us apart */
  for (int i = 300; i < 400; i++)
    if (pks[i].arrival_ns < 6000 * MS)
      pks[i].arrival_ns = 6000 * MS + 300 * 1000;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 8100 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 0);
  /* The sink pulls at 6.02 s (after the burst): the cursor is at packet
   * 298 then (6.02 s - 60 ms); 298 and later play. */
  assert_int_equal(st.late, 248);
  assert_int_equal(st.played, 50 + 102);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.expected, 400);
  for (int i = 298; i < 400; i++)
    assert_int_equal(pks[i].result, PLAYOUT_QUEUED);
  sim_done(&s);
}

static void test_playout_put__wild_single_packets__invalid_stream_unchanged(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[23];
  char want[256];
  int n = make_stream(pks, 20, 65500, 0xfffff000u, 0);

  /* Just before packet 10: packet 13's header with its timestamp 10 s in
   * the future, 10 s in the past, and its sequence number 5000 ahead. */
  memmove(&pks[13], &pks[10], 10 * sizeof *pks);
  for (int i = 0; i < 3; i++) {
    pks[10 + i] = pks[16];
    pks[10 + i].arrival_ns = pks[13].arrival_ns - 1000;
  }
  pks[10].ts += 480000;
  pks[11].ts -= 480000;
  pks[12].seq = (uint16_t)(pks[12].seq + 5000);
  n = 23;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 460 * MS);
  assert_string_equal(s.kinds, repeat(want, "3S20P"));
  for (int i = 10; i < 13; i++)
    assert_int_equal(pks[i].result, PLAYOUT_INVALID);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.invalid, 3);
  assert_int_equal(st.resyncs, 0);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.expected, 20);
  assert_int_equal(st.played, 20);
  sim_done(&s);
}

static void test_playout_put__first_two_swapped__start_moves_back(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  pks[0].arrival_ns = 21 * MS;   /* arrives after packet 1 */
  struct pk t = pks[0]; pks[0] = pks[1]; pks[1] = t;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 260 * MS);
  /* Packet 1 armed at 20 + 60 ms; packet 0 moves the start to 60 ms. */
  assert_string_equal(s.kinds, repeat(want, "3S10P"));
  assert_int_equal(s.seq[3], 0);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.reordered, 1);
  sim_done(&s);
}

static void test_playout_set_target__new_stream__arms_there(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  sim_init(&s, &c);
  playout_set_target(s.p, 100 * MS);
  assert_true(playout_target(s.p) == 100 * MS);
  sim_run(&s, pks, n, 300 * MS);
  assert_string_equal(s.kinds, repeat(want, "5S10P"));
  sim_done(&s);
}

static void test_playout_next__max_samples__splits_silence_only(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct playout *p;
  struct playout_frame f;
  struct pk k = {.arrival_ns = 0, .seq = 1, .ts = 0, .samples = 960};

  assert_int_equal(playout_create(&p, &c), 0);
  assert_int_equal(playout_next(p, 0, 100, &f), 100);   /* not armed */
  assert_int_equal(f.kind, PLAYOUT_SILENCE);
  put_one(p, &k);
  assert_int_equal(playout_next(p, 0, 100, &f), 100);   /* before the start */
  assert_int_equal(playout_next(p, 60 * MS, 100, &f), 960);   /* a packet: whole */
  assert_int_equal(f.kind, PLAYOUT_PACKET);
  assert_int_equal(playout_depth(p), 0);
  playout_destroy(p);
}

/* Records come from rtp_packet_parse; one that could not have (no
 * duration, no payload, or more than any packet holds) never reaches a
 * slot. */
static void test_playout_put__impossible_record__invalid(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct playout *p;
  static const uint8_t data[DL_MAX_PAYLOAD + 1] = {0xf8};
  struct rtp_packet ok = {.ssrc = 1, .samples = 960, .len = 3, .payload = data}, bad;

  assert_int_equal(playout_create(&p, &c), 0);
  bad = ok; bad.samples = 0;
  assert_int_equal(playout_put(p, &bad), PLAYOUT_INVALID);
  bad = ok; bad.samples = DL_MAX_PACKET_SAMPLES + 1;
  assert_int_equal(playout_put(p, &bad), PLAYOUT_INVALID);
  bad = ok; bad.len = 0;
  assert_int_equal(playout_put(p, &bad), PLAYOUT_INVALID);
  bad = ok; bad.len = DL_MAX_PAYLOAD + 1;
  assert_int_equal(playout_put(p, &bad), PLAYOUT_INVALID);
  bad = ok; bad.payload = NULL;
  assert_int_equal(playout_put(p, &bad), PLAYOUT_INVALID);
  struct playout_stats st;
  playout_get_stats(p, &st);
  assert_int_equal(st.invalid, 5);
  assert_int_equal(st.received, 0);
  assert_int_equal(playout_started(p), 0);
  assert_int_equal(playout_put(p, &ok), PLAYOUT_QUEUED);
  playout_destroy(p);
  playout_destroy(NULL);
}

/* Seeded random impairments (loss, jitter, reordering, duplicates, a wrap)
 * against the invariants: the sink gets exactly the samples of the time
 * that passed, every packet is accounted for once, nothing negative. */
/* The sink stalls 430 ms mid-stream (target 60, max 500): the packets that
 * arrive meanwhile continue the sequence and the timestamps exactly, but
 * the cursor stands still, so the newest is 510 ms ahead of it. That is
 * not a jump: none is invalid, nothing resyncs, every packet plays once in
 * order, and the latency is the target plus the stall (under max_latency:
 * bringing it back is the resampler's job, told by PLAYOUT_SINK_GAP). */
static void test_playout_next__contiguous_after_pull_gap__not_a_jump(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[100];
  int n = make_stream(pks, 100, 40000, 1000, 0);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 1000 * MS);
  int before = s.n;
  sim_stall(&s, 430 * MS);
  sim_run(&s, pks, n, 2600 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.invalid, 0);
  assert_int_equal(st.resyncs, 0);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.received, 100);
  assert_int_equal(st.played, 100);
  assert_int_equal(st.concealed, 0);
  for (int i = 0; i < n; i++)
    assert_int_equal(pks[i].result, PLAYOUT_QUEUED);
  /* The first frame after the stall says so; no other frame does. */
  for (int i = 0; i < s.n; i++)
    assert_int_equal(s.flags[i] & PLAYOUT_SINK_GAP, i == before ? PLAYOUT_SINK_GAP : 0);
  assert_int_equal(s.kinds[before], 'P');
  assert_int_equal(s.seq[before], (uint16_t)(40000 + 47));
  for (int i = before; i < s.n; i++) {
    if (s.kinds[i] != 'P')
      continue;
    assert_true(s.lat[i] == 490 * MS);
    if (i > before)
      assert_int_equal(s.seq[i], (uint16_t)(s.seq[i - 1] + 1));
  }
  sim_done(&s);
}

/* The same with a lost packet among those that arrive during the stall:
 * two sequence numbers on, two frames later, still the same timeline. */
static void test_playout_next__contiguous_with_loss_after_pull_gap__not_a_jump(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[100];
  int n = make_stream(pks, 100, 65500, 0xffff0000u, 0);

  n = drop(pks, n, 70, 71);   /* arrives during the stall (1.0 .. 1.43 s) */
  sim_init(&s, &c);
  sim_run(&s, pks, n, 1000 * MS);
  sim_stall(&s, 430 * MS);
  sim_run(&s, pks, n, 2600 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.invalid, 0);
  assert_int_equal(st.resyncs, 0);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.lost, 1);
  assert_int_equal(st.expected, 100);
  assert_int_equal(st.played, 99);
  assert_int_equal(st.fec_recovered, 1);
  sim_done(&s);
}

/* A stall longer than max_latency allows (800 ms, target 60, max 500):
 * exactly one resync, at the first pull after it, onto the newest packet;
 * the backlog before it is dropped, the newest plays at its own arrival +
 * target, and the stream goes on at the target latency with nothing more
 * dropped and no further resync. */
static void test_playout_next__stall_beyond_max_latency__one_resync(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[200];
  int n = make_stream(pks, 200, 7, 5, 0);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 1000 * MS);
  int before = s.n;
  uint64_t played_before = stats(&s).played;
  sim_stall(&s, 800 * MS);
  sim_run(&s, pks, n, 4200 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.invalid, 0);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.expected, 200);
  assert_int_equal(st.received, 200);
  /* At the pull at 1.8 s the newest packet is 90 (arrived 1.8 s): it plays
   * at 1.86 s; 47..89 are dropped. */
  assert_int_equal(st.played, 200 - 43);
  assert_int_equal(played_before, 47);
  assert_true(s.flags[before] & PLAYOUT_RESYNC);
  assert_true(s.flags[before] & PLAYOUT_SINK_GAP);
  assert_int_equal(s.kinds[before], 'S');
  int first = -1;
  for (int i = before; i < s.n; i++) {
    if (i > before)
      assert_int_equal(s.flags[i] & (PLAYOUT_RESYNC | PLAYOUT_SINK_GAP), 0);
    if (s.kinds[i] == 'P') {
      if (first < 0) {
        first = i;
        assert_int_equal(s.seq[i], 7 + 90);
        assert_true(s.flags[i] & PLAYOUT_FADE_IN);
      } else {
        assert_int_equal(s.seq[i], (uint16_t)(s.seq[i - 1] + 1));
      }
      assert_true(s.lat[i] == 60 * MS);
    } else if (first < 0) {
      assert_int_equal(s.kinds[i], 'S');   /* the silence up to its start */
    }
  }
  assert_int_equal(st.concealed, 0);
  sim_done(&s);
}

/* The device is slow to start (a sink stalled before the first packet's
 * play time for 700 ms, as an idle PulseAudio null sink does): at the
 * first pull the first packet would be heard 760 ms after it arrived, over
 * max_latency: one resync onto the newest, then the target latency. */
static void test_playout_next__late_first_pull__one_resync(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[100];
  int n = make_stream(pks, 100, 0, 0, 20 * MS);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 20 * MS);   /* silence until the first arrival */
  sim_stall(&s, 760 * MS);
  sim_run(&s, pks, n, 2100 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.invalid, 0);
  assert_int_equal(st.lost, 0);
  /* Pull at 780 ms: packets 0..38 are queued, 38 (arrived 780 ms) plays
   * at 840 ms; 0..37 are dropped. */
  assert_int_equal(st.played, 100 - 38);
  for (int i = 0; i < s.n; i++)
    if (s.kinds[i] == 'P')
      assert_true(s.lat[i] == 60 * MS);
  sim_done(&s);
}

/* A real jump still resyncs, once: the timestamps leap 10 s ahead while
 * the sequence goes on (not the newest's duration later). The first is
 * held as invalid, the next confirms it, and the stream plays on from
 * there at the target latency without another resync. */
static void test_playout_put__ts_jump_on_contiguous_seq__one_resync(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[150];
  int n = make_stream(pks, 150, 300, 0, 0);

  for (int i = 50; i < n; i++)
    pks[i].ts += 480000;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 3200 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.invalid, 1);
  assert_int_equal(pks[50].result, PLAYOUT_INVALID);
  for (int i = 51; i < n; i++)
    assert_int_equal(pks[i].result, PLAYOUT_QUEUED);
  /* 51 arrives at 1.02 s with the cursor at 48: 48 and 49 go with the old
   * timeline, 50 was invalid. */
  assert_int_equal(st.played, 147);
  assert_int_equal(st.late, 0);
  int resync_frames = 0;
  for (int i = 0; i < s.n; i++) {
    if (s.flags[i] & PLAYOUT_RESYNC)
      resync_frames++;
    if (s.kinds[i] == 'P')
      assert_true(s.lat[i] == 60 * MS);
  }
  assert_int_equal(resync_frames, 1);
  sim_done(&s);
}

/* Pulls at the sink's pace (or a few ms late, as a device's wake-ups are)
 * never raise PLAYOUT_SINK_GAP. */
static void test_playout_next__pulls_on_time__no_sink_gap(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[100];
  int n = make_stream(pks, 100, 0, 0, 0);

  sim_init(&s, &c);
  for (int k = 0; k < 20; k++) {
    sim_run(&s, pks, n, (k + 1) * 100 * MS);
    sim_stall(&s, (k % 2 ? 5 : 10) * MS);   /* late by less than DL_SINK_GAP_MS */
  }
  for (int i = 0; i < s.n; i++)
    assert_int_equal(s.flags[i] & PLAYOUT_SINK_GAP, 0);
  assert_int_equal(stats(&s).resyncs, 0);
  sim_done(&s);
}

/* A gap the sink reports (an underrun too short for the pulls' timing to
 * show) flags the next frame of a started stream, once; reported before
 * the stream starts, it flags nothing. */
static void test_playout_sink_gap__reported__next_frame_flagged_once(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  static struct pk pks[100];
  int n = make_stream(pks, 100, 0, 0, 0);
  int flagged = 0, at = -1;

  sim_init(&s, &c);
  playout_sink_gap(s.p);                  /* before anything arrived */
  sim_run(&s, pks, n, 500 * MS);
  int mark = s.n;
  playout_sink_gap(s.p);
  sim_run(&s, pks, n, 1000 * MS);
  for (int i = 0; i < s.n; i++)
    if (s.flags[i] & PLAYOUT_SINK_GAP) {
      flagged++;
      at = i;
    }
  assert_int_equal(flagged, 1);
  assert_int_equal(at, mark);
  assert_int_equal(stats(&s).resyncs, 0);
  sim_done(&s);
}

/* BYE (playout_end): a clean stream whose sender says BYE right after its
 * last packet plays to its end and stops there: no PLC, no silence counted
 * after it, and the engine is unarmed (silence as before a stream). */
static void test_playout_end__bye_after_last_packet__no_tail(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 190 * MS);
  assert_int_equal(playout_end(s.p, 0x9999, 1, 9 * 960 + 100), 0);   /* not the stream's */
  assert_int_equal(playout_end(s.p, 0x1234, 1, 9 * 960 + 100), 1);
  assert_int_equal(playout_take_ended(s.p), 0);
  sim_run(&s, pks, n, 2000 * MS);
  assert_int_equal(strncmp(s.kinds, repeat(want, "3S10P"), 13), 0);
  assert_null(strchr(s.kinds + 13, 'C'));
  assert_int_equal(playout_take_ended(s.p), 1);
  assert_int_equal(playout_take_ended(s.p), 0);
  assert_int_equal(playout_started(s.p), 0);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 10);
  assert_int_equal(st.expected, 10);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.tail_concealed, 0);
  assert_int_equal(st.silence, 0);
  assert_int_equal(st.tail_silence, 0);
  assert_int_equal(st.resyncs, 0);
  sim_done(&s);
}

/* The last packet is lost and the BYE's SR says the audio went on past the
 * newest packet: the missing frame is concealed and counted as a loss (the
 * sender sent it), then the stream ends: still no tail. */
static void test_playout_end__last_packet_lost__concealed_not_tail(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  char want[256];
  int n = make_stream(pks, 10, 0, 0, 0);

  n = drop(pks, n, 9, 10);
  sim_init(&s, &c);
  sim_run(&s, pks, n, 190 * MS);
  assert_int_equal(playout_end(s.p, 0x1234, 1, 9 * 960 + 100), 1);
  sim_run(&s, pks, n, 1000 * MS);
  assert_int_equal(strncmp(s.kinds, repeat(want, "3S9P1C1S"), 14), 0);
  assert_null(strchr(s.kinds + 13, 'C'));
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 9);
  assert_int_equal(st.concealed, 1);
  assert_int_equal(st.tail_concealed, 0);
  assert_int_equal(st.tail_silence, 0);
  assert_int_equal(st.silence, 0);
  sim_done(&s);
}

/* A BYE that overtook the last packets (RTCP has no jitter on its way):
 * they still play in time, and a foreign SR timestamp far ahead is capped
 * at DL_BYE_TAIL_MS of concealment. */
static void test_playout_end__bye_overtakes_packets__they_play(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[10];
  int n = make_stream(pks, 10, 0, 0, 0);

  sim_init(&s, &c);
  sim_run(&s, pks, n, 130 * MS);   /* packets 0..6 are in */
  assert_int_equal(playout_end(s.p, 0x1234, 1, 10 * 960 + 48000 * 10), 1);
  sim_run(&s, pks, n, 2000 * MS);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 10);
  /* Capped at 100 ms past the newest packet's end when the BYE came
   * (packet 6): two frames after packet 9, concealed as loss. */
  assert_int_equal(st.concealed, (7 * 20 + DL_BYE_TAIL_MS) / 20 - 10);
  assert_int_equal(st.tail_concealed, 0);
  assert_int_equal(st.tail_silence, 0);
  sim_done(&s);
}

/* After a BYE the next stream (another SSRC) starts at once, its first
 * frame flagged RESYNC and counted as a restart's resync; a stray packet of
 * the ended stream is late. */
static void test_playout_end__new_ssrc_after_bye__new_stream_at_once(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[21];
  int n = make_stream(pks, 20, 0, 0, 0), i, first2 = -1;

  for (i = 10; i < 20; i++) {
    pks[i].ssrc = 0xbeef;
    pks[i].seq = (uint16_t)(7000 + i);
    pks[i].ts = 123456u + 960u * (uint32_t)i;
    pks[i].arrival_ns += 300 * MS;
  }
  /* A duplicate of the old stream's packet 8, long after its end, kept in
   * arrival order. */
  struct pk stray = pks[8];
  stray.arrival_ns = 400 * MS;
  memmove(&pks[11], &pks[10], 10 * sizeof pks[0]);
  pks[10] = stray;
  n = 21;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 190 * MS);
  assert_int_equal(playout_end(s.p, 0x1234, 0, 0), 1);
  sim_run(&s, pks, n, 2000 * MS);
  assert_int_equal(pks[10].result, PLAYOUT_LATE);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.played, 20);
  assert_int_equal(st.resyncs, 1);
  assert_int_equal(st.late, 1);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.tail_concealed, 5);   /* the second stream ends without a BYE */
  for (i = 0; i < s.n; i++)
    if (s.flags[i] & PLAYOUT_RESYNC)
      first2 = i;
  assert_true(first2 > 13);
  sim_done(&s);
}

/* The next stream's first packets come while the ending one still plays
 * its queue (a sender restarted at once after its BYE): they are held, the
 * old stream plays to its end, then the new one plays whole. */
static void test_playout_end__next_stream_while_ending__held_then_played(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[20];
  int n = make_stream(pks, 20, 0, 0, 0), i;

  for (i = 10; i < 20; i++) {
    pks[i].ssrc = 0xbeef;
    pks[i].seq = (uint16_t)(3000 + i);
    pks[i].ts = 555555u + 960u * (uint32_t)i;
    pks[i].arrival_ns += 5 * MS;   /* 5 ms after the old stream's would-be packet */
  }
  sim_init(&s, &c);
  sim_run(&s, pks, n, 190 * MS);
  assert_int_equal(playout_end(s.p, 0x1234, 1, 9 * 960 + 100), 1);
  sim_run(&s, pks, n, 1000 * MS);
  assert_int_equal(pks[10].result, PLAYOUT_HELD);
  assert_int_equal(pks[11].result, PLAYOUT_HELD);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.received, 20);
  assert_int_equal(st.played, 20);
  assert_int_equal(st.lost, 0);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.concealed, 0);
  assert_int_equal(st.tail_concealed, 5);   /* the second stream ends without a BYE */
  assert_int_equal(st.resyncs, 1);
  sim_done(&s);
}

/* After a BYE: packets of the ended SSRC that a queue held past the end
 * are late, before and after where it ended; the same SSRC restarting
 * with other timestamps (a restarted sender keeping its --ssrc) is a new
 * stream at once, as is anything after DL_BYE_STRAY_MS. */
static void test_playout_end__stragglers_late_same_ssrc_restart_plays(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct sim s;
  struct pk pks[30];
  int n = make_stream(pks, 10, 0, 0, 0), i;

  /* Two stragglers, 400 ms late: one from before the end, one after. */
  pks[10] = pks[8];
  pks[10].arrival_ns = 400 * MS;
  pks[11] = pks[9];
  pks[11].seq = 10;
  pks[11].ts = 10 * 960;
  pks[11].arrival_ns = 401 * MS;
  /* The same SSRC again, at 600 ms, its timestamps elsewhere (half the
   * timestamp space away: "before" in serial arithmetic). */
  for (i = 12; i < 22; i++) {
    pks[i] = pks[0];
    pks[i].seq = (uint16_t)(40000 + i);
    pks[i].ts = 0x80000000u + 960u * (uint32_t)i;
    pks[i].arrival_ns = 600 * MS + (i - 12) * 20 * MS;
  }
  n = 22;
  sim_init(&s, &c);
  sim_run(&s, pks, n, 190 * MS);
  assert_int_equal(playout_end(s.p, 0x1234, 0, 0), 1);
  sim_run(&s, pks, n, 2000 * MS);
  assert_int_equal(pks[10].result, PLAYOUT_LATE);
  assert_int_equal(pks[11].result, PLAYOUT_LATE);
  struct playout_stats st = stats(&s);
  assert_int_equal(st.late, 2);
  assert_int_equal(st.played, 20);
  assert_int_equal(st.resyncs, 1);
  sim_done(&s);
}

static void test_playout__random_impairments__invariants_hold(void **state)
{
  (void)state;
  const char *env = getenv("DL_SEED");
  unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 12345u;
  enum { N = 3000 };
  static struct pk pks[2 * N];
  static struct sim s;
  struct playout_config c = default_cfg();
  int n = 0, sent = 0, dups = 0;
  uint64_t plc = 0;

  printf("test_playout random: DL_SEED=%u\n", seed);
  srand(seed);
  for (int i = 0; i < N; i++) {
    if (rand() % 100 < 5)
      continue;   /* lost */
    memset(&pks[n], 0, sizeof pks[n]);
    pks[n].seq = (uint16_t)(65000 + i);
    pks[n].ts = 0xfff00000u + 960u * (uint32_t)i;
    pks[n].samples = 960;
    pks[n].arrival_ns = i * 20 * MS + (rand() % 80) * MS;   /* jitter 0..80 ms */
    n++;
    sent++;
    if (rand() % 100 < 2) {
      pks[n] = pks[n - 1];
      pks[n].arrival_ns += (rand() % 30) * MS;
      n++;
      dups++;
    }
  }
  /* Sort by arrival (insertion sort: nearly sorted). */
  for (int i = 1; i < n; i++) {
    struct pk t = pks[i];
    int j = i - 1;
    while (j >= 0 && pks[j].arrival_ns > t.arrival_ns) {
      pks[j + 1] = pks[j];
      j--;
    }
    pks[j + 1] = t;
  }
  c.target_ns = 40 * MS;
  sim_init(&s, &c);
  int64_t until = (int64_t)N * 20 * MS + 500 * MS;
  /* Pull with odd sizes to exercise the silence split. */
  while (sim_now(&s) < until) {
    struct playout_frame f;
    int64_t now = sim_now(&s);
    while (s.next_pk < n && pks[s.next_pk].arrival_ns <= now)
      put_one(s.p, &pks[s.next_pk++]);
    int r = playout_next(s.p, now, 1 + rand() % DL_MAX_PACKET_SAMPLES, &f);
    assert_true(r > 0);
    assert_int_equal(r, f.samples - f.skip);
    assert_true(f.samples <= DL_MAX_PACKET_SAMPLES);
    if (f.kind == PLAYOUT_PLC || f.kind == PLAYOUT_FEC)
      assert_int_equal(f.samples % 120, 0);
    plc += f.kind == PLAYOUT_PLC;
    s.out += (uint64_t)r;
  }
  struct playout_stats st = stats(&s);
  /* Every PLC frame counted once; the stream ended into silence: its last
   * 100 ms are the tail, everything else a loss. */
  assert_int_equal(st.concealed + st.tail_concealed, plc);
  assert_int_equal(st.tail_concealed, DL_SILENCE_AFTER_MS / 20);
  assert_true(st.concealed > 0);
  assert_int_equal(st.samples_out, s.out);
  /* Time elapsed within one frame. */
  assert_true(s.out >= (uint64_t)(until * DL_RATE / 1000000000));
  assert_true(s.out < (uint64_t)(until * DL_RATE / 1000000000) + DL_MAX_PACKET_SAMPLES);
  assert_int_equal(st.received + st.late + st.duplicate, (uint64_t)(sent + dups));
  /* RFC 3550: from the lowest to the highest sequence number received. */
  int lo = N, hi = -1;
  for (int i = 0; i < n; i++) {
    int k = (uint16_t)(pks[i].seq - 65000);
    lo = k < lo ? k : lo;
    hi = k > hi ? k : hi;
  }
  assert_int_equal(st.expected, hi - lo + 1);
  assert_true(st.lost <= st.expected);
  assert_int_equal(st.resyncs, 0);
  /* Every accepted packet played (none passed by the cursor once queued). */
  assert_int_equal(st.played, st.received);
  assert_true(st.lost + st.late >= (uint64_t)(N - sent));
  assert_true(st.duplicate >= 1);
  sim_done(&s);
}

/* A route change made packets 5 and 6 arrive 100 ms late: dropped as late
 * and concealed meanwhile. Rewound by the step (4800 samples, more than
 * they are behind), the timeline moves back to packet 5, both are queued
 * after all and played in order, counted as received, not late; the PLC
 * that stood in meanwhile is concealment. A rewind of another stream's
 * packets, by nothing, or of a packet further behind than max_latency does
 * nothing. */
static void test_playout_rewind__late_after_a_step__played_after_all(void **state)
{
  (void)state;
  struct playout_config c = default_cfg();
  struct playout *p;
  struct playout_frame f;
  struct pk pks[12];
  static const uint8_t payload[3] = {0xf8, 0xff, 0xfe};
  struct rtp_packet late[2];
  int64_t now = 0;
  char kinds[64] = "";

  make_stream(pks, 12, 100, 0, 0);
  assert_int_equal(playout_create(&p, &c), 0);
  for (int k = 0; k < 5; k++)
    put_one(p, &pks[k]);
  /* Play until 40 ms past packet 5's time (it is due at 60 + 100 ms). */
  while (now < 200 * MS) {
    int n = playout_next(p, now, DL_MAX_PACKET_SAMPLES, &f);
    now += n * 1000000000LL / DL_RATE;
  }
  uint32_t cursor = playout_cursor(p);
  for (int k = 5; k < 7; k++) {
    pks[k].arrival_ns = now;
    assert_int_equal(put_one(p, &pks[k]), PLAYOUT_LATE);
    late[k - 5] = (struct rtp_packet){.ssrc = 0x1234, .ts = pks[k].ts, .seq = pks[k].seq, .pt = 96,
                                      .samples = 960, .len = 3, .payload = payload, .arrival_ns = now};
  }
  struct playout_stats st;
  playout_get_stats(p, &st);
  assert_int_equal(st.late, 2);
  struct rtp_packet stranger = late[0];
  stranger.ssrc = 0x9999;
  assert_int_equal(playout_rewind(p, &stranger, 1, 4800), 0);
  assert_int_equal(playout_rewind(p, late, 2, 0), 0);
  int moved = playout_rewind(p, late, 2, 4800);
  assert_int_equal(moved, (int)(cursor - pks[5].ts));
  assert_int_equal(playout_cursor(p), pks[5].ts);
  for (int k = 7; k < 9; k++) {
    pks[k].arrival_ns = now;
    put_one(p, &pks[k]);
  }
  for (int i = 0; i < 4; i++) {
    playout_next(p, now, DL_MAX_PACKET_SAMPLES, &f);
    strcat(kinds, f.kind == PLAYOUT_PACKET ? "P" : f.kind == PLAYOUT_PLC ? "C" : f.kind == PLAYOUT_FEC ? "F" : "S");
    if (i < 2)
      assert_int_equal(f.seq, pks[5 + i].seq);
  }
  assert_string_equal(kinds, "PPPP");
  playout_get_stats(p, &st);
  assert_int_equal(st.late, 0);
  assert_int_equal(st.received, 9);
  assert_true(st.concealed > 0);
  assert_int_equal(st.resyncs, 0);
  struct rtp_packet old = late[0];
  old.ts -= 10u * DL_RATE;   /* further behind than any latency: not a step's */
  assert_int_equal(playout_rewind(p, &old, 1, 100000), 0);
  playout_destroy(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_playout_next__in_order__all_played),
    cmocka_unit_test(test_playout_end__bye_after_last_packet__no_tail),
    cmocka_unit_test(test_playout_end__last_packet_lost__concealed_not_tail),
    cmocka_unit_test(test_playout_end__bye_overtakes_packets__they_play),
    cmocka_unit_test(test_playout_end__new_ssrc_after_bye__new_stream_at_once),
    cmocka_unit_test(test_playout_end__next_stream_while_ending__held_then_played),
    cmocka_unit_test(test_playout_end__stragglers_late_same_ssrc_restart_plays),
    cmocka_unit_test(test_playout_put__late__discarded),
    cmocka_unit_test(test_playout_put__duplicate__dropped_once_counted),
    cmocka_unit_test(test_playout_put__reordered__played_in_order),
    cmocka_unit_test(test_playout_next__single_gap__fec_from_next),
    cmocka_unit_test(test_playout_next__three_lost__plc_then_fec),
    cmocka_unit_test(test_playout_next__no_next_packet__plc),
    cmocka_unit_test(test_playout_next__long_gap__fades_to_silence),
    cmocka_unit_test(test_playout_next__conceal_silence__no_plc),
    cmocka_unit_test(test_playout_put__seq_and_ts_wrap__counts_exact),
    cmocka_unit_test(test_playout_put__ssrc_change__resyncs),
    cmocka_unit_test(test_playout_put__ts_jump__resyncs),
    cmocka_unit_test(test_playout_next__mixed_frame_sizes__each_played_whole),
    cmocka_unit_test(test_playout_put__marker_on_every_packet__no_resync),
    cmocka_unit_test(test_playout_next__gstreamer_first_step_648__head_skipped),
    cmocka_unit_test(test_playout_next__sender_stops__silence_not_stale),
    cmocka_unit_test(test_playout_next__three_lost_no_fec__concealed_on_resume),
    cmocka_unit_test(test_playout_put__ssrc_change_after_clean_end__tail_not_concealed),
    cmocka_unit_test(test_playout_put__ssrc_change_during_loss__concealed),
    cmocka_unit_test(test_playout_put__queue_full__dropped_counted_late),
    cmocka_unit_test(test_playout_put__only_late_for_a_while__resyncs),
    cmocka_unit_test(test_playout_put__sender_restarts_same_ssrc__resyncs_after_late_run),
    cmocka_unit_test(test_playout_put__backlog_burst__dropped_no_resync),
    cmocka_unit_test(test_playout_put__wild_single_packets__invalid_stream_unchanged),
    cmocka_unit_test(test_playout_put__first_two_swapped__start_moves_back),
    cmocka_unit_test(test_playout_set_target__new_stream__arms_there),
    cmocka_unit_test(test_playout_next__max_samples__splits_silence_only),
    cmocka_unit_test(test_playout_put__impossible_record__invalid),
    cmocka_unit_test(test_playout_rewind__late_after_a_step__played_after_all),
    cmocka_unit_test(test_playout_next__contiguous_after_pull_gap__not_a_jump),
    cmocka_unit_test(test_playout_next__contiguous_with_loss_after_pull_gap__not_a_jump),
    cmocka_unit_test(test_playout_next__stall_beyond_max_latency__one_resync),
    cmocka_unit_test(test_playout_next__late_first_pull__one_resync),
    cmocka_unit_test(test_playout_put__ts_jump_on_contiguous_seq__one_resync),
    cmocka_unit_test(test_playout_next__pulls_on_time__no_sink_gap),
    cmocka_unit_test(test_playout_sink_gap__reported__next_frame_flagged_once),
    cmocka_unit_test(test_playout__random_impairments__invariants_hold),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
