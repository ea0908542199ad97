/* The malformed-datagram table of issue 6 item 3: each bad datagram, what
 * refuses it (rtp_packet_parse, dl_srtp_unprotect, admission, or the stream
 * checks of playout) with its exact code, and, sent in the middle of a real
 * stream (a noise-free 440 Hz sine, 100 packets of 20 ms, in virtual time)
 * down the receiver's own path (unprotect, one parse, common/rx/admit,
 * rxpipe), that it is counted as invalid (or rejected, or by SRTP) and the
 * PCM that comes out is identical, sample for sample, to a run without it.
 *
 * Each case prints one line "malformed: NAME -> CODE (text)": the table for
 * the closing note. */
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
#include "wire/srtp.h"

#define MS 1000000LL
#define NPK 100
#define FRAME 960
#define AT 50            /* the bad datagram arrives just before packet AT */
#define BLOCK 240        /* the sink reads 5 ms at a time */
#define OUT_FRAMES ((NPK + 20) * FRAME)
#define SSRC 0x5eed0001u
#define SEQ0 65500       /* wraps during the stream */
#define TS0 0xfffff000u  /* wraps too */

struct dgram {
  uint8_t buf[1600 + DL_SRTP_MAX_TRAILER];
  size_t len;
};

static struct dgram pk[NPK];       /* the real stream */
static struct dgram srtp_pk[NPK];  /* the same, protected */
static uint8_t other[NPK][400];    /* Opus packets of another signal (noise) */
static int other_len[NPK];
static int16_t clean_pcm[OUT_FRAMES], clean_srtp_pcm[OUT_FRAMES];

/* What the receiver would report of a run. */
struct counts {
  struct rxpipe_stats rx;
  struct admit_stats ad;
  uint64_t invalid;        /* the stats key: admission's and playout's */
};
static struct counts clean_st, clean_srtp_st;

/* The admission's verdict "rejected", as deliver returns it. */
#define REJECTED 100
static const uint8_t key[DL_SRTP_KEY_LEN] = {
  9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
};

static int64_t arrival(int k)
{
  return 1000 * MS + (int64_t)k * 20 * MS;
}

static uint16_t seq_of(int k) { return (uint16_t)(SEQ0 + k); }
static uint32_t ts_of(int k) { return TS0 + (uint32_t)(k * FRAME); }

static int encode(void **state)
{
  (void)state;
  int err;
  OpusEncoder *enc = opus_encoder_create(DL_RATE, 1, OPUS_APPLICATION_AUDIO, &err);
  OpusEncoder *enc2 = opus_encoder_create(DL_RATE, 1, OPUS_APPLICATION_AUDIO, &err);
  struct dl_srtp *tx;
  uint32_t lcg = 12345;

  if (enc == NULL || enc2 == NULL || dl_srtp_create(&tx, key, DL_SRTP_SEND) != 0)
    return -1;
  for (int k = 0; k < NPK; k++) {
    int16_t pcm[FRAME], noise[FRAME];
    uint8_t payload[400];
    struct rtp_header h = {0};
    for (int i = 0; i < FRAME; i++) {
      pcm[i] = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * (k * FRAME + i) / DL_RATE));
      lcg = lcg * 1103515245u + 12345u;
      noise[i] = (int16_t)((int)(lcg >> 16 & 0x7fff) - 16384);
    }
    int n = opus_encode(enc, pcm, FRAME, payload, sizeof payload);
    other_len[k] = opus_encode(enc2, noise, FRAME, other[k], sizeof other[k]);
    if (n <= 0 || other_len[k] <= 0)
      return -1;
    h.payload_type = 96;
    h.seq = seq_of(k);
    h.timestamp = ts_of(k);
    h.ssrc = SSRC;
    h.marker = k == 0;
    int len = rtp_pack(&h, payload, (size_t)n, pk[k].buf, sizeof pk[k].buf);
    if (len <= 0)
      return -1;
    pk[k].len = (size_t)len;
    srtp_pk[k] = pk[k];
    if (dl_srtp_protect(tx, srtp_pk[k].buf, &srtp_pk[k].len, sizeof srtp_pk[k].buf) != 0)
      return -1;
  }
  opus_encoder_destroy(enc);
  opus_encoder_destroy(enc2);
  dl_srtp_destroy(tx);
  return 0;
}

static struct rxpipe_config cfg(void)
{
  struct rxpipe_config c = {
    .playout = {
      .target_ns = DL_DEFAULT_LATENCY_MS * MS,
      .max_latency_ns = DL_DEFAULT_MAX_LATENCY_MS * MS,
      .silence_after_ns = DL_SILENCE_AFTER_MS * MS,
      .late_resync_ns = DL_LATE_RESYNC_MS * MS,
      .conceal_silence = 0,
      .slots = DL_PLAYOUT_SLOTS,
    },
    .channels = 1,
  };
  return c;
}

/* What the receiver does with one datagram: with a key, unprotect first
 * (a failure is counted as auth_failed and never reaches further); then
 * one parse, admission (from one fixed source), and what passes goes into
 * rxpipe, a held packet first. */
struct rx {
  struct rxpipe *rp;
  struct dl_srtp *srtp;   /* NULL: plain RTP */
  struct admit ad;
  uint64_t srtp_failed;
};

static const struct sockaddr_in source = {.sin_family = AF_INET, .sin_port = 0x8813};

/* Returns the admission's refusal (PLAYOUT_INVALID, REJECTED), 0 for a
 * held packet, or rxpipe_put's result. */
static int deliver(struct rx *r, const uint8_t *d, size_t len, int64_t t, int *srtp_rc)
{
  uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
  struct rtp_packet pkt;
  struct admit_result res;
  int put = 0;

  assert_non_null(copy);
  memcpy(copy, d, len);
  *srtp_rc = 0;
  if (r->srtp != NULL) {
    *srtp_rc = dl_srtp_unprotect(r->srtp, copy, &len);
    if (*srtp_rc != 0) {
      r->srtp_failed++;
      free(copy);
      return 0;
    }
  }
  admit_packet(&r->ad, (const struct sockaddr *)&source, rtp_packet_parse(copy, len, t, &pkt), &pkt,
               &res);
  if (res.verdict == ADMIT_INVALID)
    put = PLAYOUT_INVALID;
  else if (res.verdict == ADMIT_REJECTED)
    put = REJECTED;
  if (res.verdict == ADMIT_PASS) {
    if (res.release != NULL)
      rxpipe_put(r->rp, res.release);
    put = rxpipe_put(r->rp, &pkt);
  }
  free(copy);
  return put;
}

/* Runs the whole stream, with `bad` (if not NULL) arriving 1 ns before
 * packet AT. Returns what the bad datagram got (see deliver), and in
 * *srtp_rc what unprotect said. */
static int run(int keyed, const uint8_t *bad, size_t bad_len, int16_t *pcm,
               struct counts *st, int *srtp_rc, uint64_t *srtp_failed)
{
  struct rxpipe_config c = cfg();
  struct admit_config ac = {.keyed = keyed, .restart_after_ns = DL_RESTART_AFTER_MS * MS};
  struct rx r = {0};
  int bad_put = 0, k = 0, rc;
  int64_t t0 = arrival(0);

  *srtp_rc = 0;
  assert_int_equal(rxpipe_create(&r.rp, &c), 0);
  assert_int_equal(admit_init(&r.ad, &ac), 0);
  if (keyed)
    assert_int_equal(dl_srtp_create(&r.srtp, key, DL_SRTP_RECV), 0);
  for (int out = 0; out < OUT_FRAMES; out += BLOCK) {
    int64_t now = t0 + (int64_t)out * 1000000000LL / DL_RATE;
    while (k < NPK && arrival(k) <= now) {
      if (k == AT && bad != NULL)
        bad_put = deliver(&r, bad, bad_len, arrival(k) - 1, srtp_rc);
      const struct dgram *d = keyed ? &srtp_pk[k] : &pk[k];
      (void)deliver(&r, d->buf, d->len, arrival(k), &rc);
      assert_int_equal(rc, 0);
      k++;
    }
    assert_int_equal(rxpipe_read(r.rp, now, pcm + out, BLOCK), BLOCK);
  }
  rxpipe_get_stats(r.rp, &st->rx);
  admit_get_stats(&r.ad, &st->ad);
  st->invalid = st->ad.invalid + st->rx.po.invalid;
  if (srtp_failed)
    *srtp_failed = r.srtp_failed;
  rxpipe_destroy(r.rp);
  dl_srtp_destroy(r.srtp);
  return bad_put;
}

static int setup(void **state)
{
  int rc;
  if (encode(state) != 0)
    return -1;
  run(0, NULL, 0, clean_pcm, &clean_st, &rc, NULL);
  run(1, NULL, 0, clean_srtp_pcm, &clean_srtp_st, &rc, NULL);
  return 0;
}

/* ---- datagram-level cases ----------------------------------------------- */

/* A datagram: the 12-byte header of packet AT+3 (b0 and pt as given) then
 * `hex`; `total` (if not 0) cuts or fills (with 0x11) it to that length;
 * total -1 means 0 bytes. */
struct bad_case {
  const char *name;
  uint8_t b0;
  const char *hex;
  long total;
  int want;            /* rtp_parse's error, else rtp_opus_samples' */
  const char *note;    /* when the code differs from what rtp.h says */
};

static const struct bad_case table[] = {
  {"empty datagram", 0x80, "", -1, RTP_ERR_SHORT, NULL},
  {"shorter than 12 bytes (11)", 0x80, "", 11, RTP_ERR_SHORT, NULL},
  {"version 0", 0x00, "f8fffe", 0, RTP_ERR_VERSION, NULL},
  {"version 1", 0x40, "f8fffe", 0, RTP_ERR_VERSION, NULL},
  {"version 3", 0xc0, "f8fffe", 0, RTP_ERR_VERSION, NULL},
  {"CSRC count 15 in a 20-byte packet", 0x8f, "f8fffe1122334455", 0, RTP_ERR_CSRC, NULL},
  {"extension bit, 2 bytes after the header", 0x90, "bede", 0, RTP_ERR_EXT, NULL},
  {"extension length past the end", 0x90, "bede0004f8fffe", 0, RTP_ERR_EXT, NULL},
  {"extension length 0xffff", 0x90, "bedeffff", 1000, RTP_ERR_EXT, NULL},
  {"padding count 0", 0xa0, "f8fffe00", 0, RTP_ERR_PADDING, NULL},
  {"padding count past the payload", 0xa0, "f8ff20", 0, RTP_ERR_PADDING, NULL},
  {"empty payload (header only)", 0x80, "", 0, RTP_ERR_EMPTY, NULL},
  {"padding eats the whole payload", 0xa0, "f8fffe04", 0, RTP_ERR_EMPTY, NULL},
  {"extension fills the datagram", 0x90, "bede000111223344", 0, RTP_ERR_EMPTY, NULL},
  {"Opus 180 ms (code 3, 3 x 60 ms SILK)", 0x80, "1b03112233", 0, RTP_ERR_OPUS,
   "libopus refuses > 120 ms, so not Opus (rtp.h still names TOO_LONG)"},
  {"Opus 140 ms (code 3, 7 x 20 ms CELT)", 0x80, "fb0711223344556677", 0, RTP_ERR_OPUS,
   "libopus refuses > 120 ms, so not Opus (rtp.h still names TOO_LONG)"},
  {"invalid TOC: code 3 with 0 frames", 0x80, "fb00", 0, RTP_ERR_OPUS, NULL},
  {"invalid TOC: code 1 with an odd length", 0x80, "f9112233", 0, RTP_ERR_OPUS, NULL},
  {"code 2 frame length past the end", 0x80, "faff11223344", 0, RTP_ERR_OPUS, NULL},
  {"code 3 padding past the end", 0x80, "fbc2ff112233", 0, RTP_ERR_OPUS, NULL},
  {"one Opus frame over 1275 bytes", 0x80, "f8", 12 + 1300, RTP_ERR_OPUS, NULL},
  {"payload over 1500 bytes", 0x80, "f8", 12 + 1501, RTP_ERR_TOO_LONG, NULL},
  {"64 KiB datagram (65507 bytes, largest UDP/IPv4)", 0x80, "f8", 65507, RTP_ERR_TOO_LONG, NULL},
  {"65536-byte datagram (receive buffer)", 0x80, "f8", 65536, RTP_ERR_TOO_LONG, NULL},
};

static uint8_t big[65536];

static size_t build(const struct bad_case *c, uint8_t *buf)
{
  struct rtp_header h = {0};
  size_t n;
  h.payload_type = 96;
  h.seq = seq_of(AT + 3);
  h.timestamp = ts_of(AT + 3);
  h.ssrc = SSRC;
  assert_int_equal(rtp_pack(&h, buf, 0, buf, sizeof big), RTP_HEADER_LEN);
  buf[0] = c->b0;
  n = RTP_HEADER_LEN;
  for (const char *p = c->hex; p[0] && p[1]; p += 2) {
    unsigned v;
    assert_int_equal(sscanf(p, "%2x", &v), 1);
    buf[n++] = (uint8_t)v;
  }
  if (c->total == -1)
    return 0;
  if (c->total > 0) {
    if ((size_t)c->total > n)
      memset(buf + n, 0x11, (size_t)c->total - n);
    n = (size_t)c->total;
  }
  return n;
}

/* The one parse's verdict (rtp_parse, else rtp_opus_samples'). */
static int judge(const uint8_t *d, size_t len)
{
  struct rtp_packet pkt;
  return rtp_packet_parse(d, len, 0, &pkt);
}

static int16_t pcm[OUT_FRAMES];

static void test_malformed__datagram_table__exact_code_and_audio_unchanged(void **state)
{
  (void)state;
  size_t ncases = sizeof table / sizeof table[0];
  assert_true(ncases >= 15);
  for (size_t i = 0; i < ncases; i++) {
    const struct bad_case *c = &table[i];
    struct counts st;
    int srtp_rc;
    size_t len = build(c, big);
    uint8_t *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, big, len);
    int got = judge(exact, len);
    free(exact);
    printf("malformed: %-48s -> %d (%s)%s%s\n", c->name, got, rtp_strerror(got),
           c->note ? "; " : "", c->note ? c->note : "");
    if (got != c->want)
      fail_msg("%s: got %d (%s), want %d (%s)", c->name, got, rtp_strerror(got), c->want,
               rtp_strerror(c->want));
    /* Mid-stream: refused, counted once as invalid, nothing else moves. */
    int put = run(0, big, len, pcm, &st, &srtp_rc, NULL);
    if (put != PLAYOUT_INVALID)
      fail_msg("%s mid-stream: rxpipe_put gave %d, want %d", c->name, put, PLAYOUT_INVALID);
    assert_int_equal(st.invalid, clean_st.invalid + 1);
    assert_int_equal(st.rx.po.received, clean_st.rx.po.received);
    assert_int_equal(st.rx.po.lost, clean_st.rx.po.lost);
    if (memcmp(pcm, clean_pcm, sizeof pcm) != 0)
      fail_msg("%s mid-stream: the audio changed", c->name);
  }
}

/* ---- SRTP cases ----------------------------------------------------------- */

static void test_malformed__srtp_cases__refused_before_decoder(void **state)
{
  (void)state;
  struct {
    const char *name;
    uint8_t buf[200];
    size_t len;
    int want;
  } cases[6];
  int n = 0;
  const struct dgram *real = &srtp_pk[AT + 3];

  /* Shorter than its tag: a real packet cut to 12 + 9 bytes, and to 12. */
  cases[n].name = "SRTP shorter than header + tag (21 bytes)";
  memcpy(cases[n].buf, real->buf, 21);
  cases[n].len = 21;
  cases[n++].want = DL_SRTP_ERR_SHORT;
  cases[n].name = "SRTP of a bare header (12 bytes)";
  memcpy(cases[n].buf, real->buf, 12);
  cases[n].len = 12;
  cases[n++].want = DL_SRTP_ERR_SHORT;
  cases[n].name = "SRTP with a forged tag";
  memcpy(cases[n].buf, real->buf, real->len);
  cases[n].buf[real->len - 1] ^= 0x40;
  cases[n].len = real->len;
  cases[n++].want = DL_SRTP_ERR_AUTH;
  cases[n].name = "plain RTP at a keyed receiver";
  memcpy(cases[n].buf, pk[AT + 3].buf, pk[AT + 3].len);
  cases[n].len = pk[AT + 3].len;
  cases[n++].want = DL_SRTP_ERR_AUTH;
  cases[n].name = "SRTP replay of an earlier packet";
  memcpy(cases[n].buf, srtp_pk[AT - 5].buf, srtp_pk[AT - 5].len);
  cases[n].len = srtp_pk[AT - 5].len;
  cases[n++].want = DL_SRTP_ERR_REPLAY;
  cases[n].name = "SRTP with CSRC count 15 in 40 bytes";
  memcpy(cases[n].buf, real->buf, 40);
  cases[n].buf[0] = 0x8f;
  cases[n].len = 40;
  cases[n++].want = DL_SRTP_ERR_HEADER;

  for (int i = 0; i < n; i++) {
    struct counts st;
    int srtp_rc;
    uint64_t failed;
    run(1, cases[i].buf, cases[i].len, pcm, &st, &srtp_rc, &failed);
    printf("malformed: %-48s -> %d (%s)\n", cases[i].name, srtp_rc, dl_srtp_strerror(srtp_rc));
    if (srtp_rc != cases[i].want)
      fail_msg("%s: got %d (%s), want %d (%s)", cases[i].name, srtp_rc,
               dl_srtp_strerror(srtp_rc), cases[i].want, dl_srtp_strerror(cases[i].want));
    assert_int_equal(failed, 1);
    assert_int_equal(st.invalid, clean_srtp_st.invalid);
    assert_int_equal(st.rx.po.received, clean_srtp_st.rx.po.received);
    if (memcmp(pcm, clean_srtp_pcm, sizeof pcm) != 0)
      fail_msg("%s mid-stream: the audio changed", cases[i].name);
  }
  /* And the keyed stream itself plays exactly what the plain one does. */
  assert_memory_equal(clean_srtp_pcm, clean_pcm, sizeof clean_pcm);
}

/* ---- stream-level cases (admission, playout) ------------------------------ */

/* A packet that parses and carries a valid Opus payload (of the noise
 * signal, so that playing it would change the audio), with the header of
 * packet AT+3 changed by the caller. */
static size_t forged(uint8_t *buf, struct rtp_header *h)
{
  int n = rtp_pack(h, other[AT + 3], (size_t)other_len[AT + 3], buf, 1600);
  assert_true(n > 0);
  return (size_t)n;
}

static struct rtp_header header_of(int k)
{
  struct rtp_header h = {0};
  h.payload_type = 96;
  h.seq = seq_of(k);
  h.timestamp = ts_of(k);
  h.ssrc = SSRC;
  return h;
}

/* want: PLAYOUT_INVALID (counted in invalid) or REJECTED (in rejected). */
static void stream_case(const char *name, struct rtp_header h, int want)
{
  uint8_t buf[1600];
  struct counts st;
  int srtp_rc;
  size_t len = forged(buf, &h);
  int put = run(0, buf, len, pcm, &st, &srtp_rc, NULL);
  int same = memcmp(pcm, clean_pcm, sizeof pcm) == 0;
  int counted = want == REJECTED
                    ? st.ad.rejected == clean_st.ad.rejected + 1 && st.invalid == clean_st.invalid
                    : st.invalid == clean_st.invalid + 1 && st.ad.rejected == clean_st.ad.rejected;
  int ok = put == want && counted && st.rx.po.received == clean_st.rx.po.received &&
           st.rx.po.late == clean_st.rx.po.late && st.rx.po.lost == clean_st.rx.po.lost &&
           st.rx.po.resyncs == clean_st.rx.po.resyncs && same;

  printf("malformed: %-48s -> %d (%s); invalid +%llu, rejected +%llu, late +%lld, resyncs +%lld, lost %+lld, audio %s\n",
         name, put,
         put == PLAYOUT_INVALID ? "invalid" : put == REJECTED ? "rejected" : put == PLAYOUT_LATE ? "late"
         : put == PLAYOUT_QUEUED ? "queued" : put == PLAYOUT_DUPLICATE ? "duplicate" : "full",
         (unsigned long long)(st.invalid - clean_st.invalid),
         (unsigned long long)(st.ad.rejected - clean_st.ad.rejected),
         (long long)(st.rx.po.late - clean_st.rx.po.late),
         (long long)(st.rx.po.resyncs - clean_st.rx.po.resyncs),
         (long long)(st.rx.po.lost - clean_st.rx.po.lost), same ? "unchanged" : "CHANGED");
  if (!ok)
    fail_msg("%s: want %s, counted once, audio unchanged", name,
             want == REJECTED ? "rejected" : "PLAYOUT_INVALID");
}

static void test_malformed__payload_type_change__rejected(void **state)
{
  (void)state;
  struct rtp_header h = header_of(AT + 3);
  h.payload_type = 97;
  stream_case("payload type 96 -> 97 mid-stream", h, REJECTED);
}

static void test_malformed__timestamp_far_future__invalid(void **state)
{
  (void)state;
  struct rtp_header h = header_of(AT + 3);
  h.timestamp += 10u * DL_RATE;   /* 10 s ahead */
  stream_case("timestamp 10 s in the future", h, PLAYOUT_INVALID);
}

static void test_malformed__timestamp_far_past__invalid(void **state)
{
  (void)state;
  struct rtp_header h = header_of(AT + 3);
  h.timestamp -= 10u * DL_RATE;   /* 10 s behind */
  stream_case("timestamp 10 s in the past", h, PLAYOUT_INVALID);
}

static void test_malformed__sequence_jump_5000__invalid(void **state)
{
  (void)state;
  struct rtp_header h = header_of(AT + 3);
  h.seq = (uint16_t)(h.seq + 5000);
  stream_case("sequence number jump of +5000 (RFC 3550 A.1: > 3000)", h, PLAYOUT_INVALID);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_malformed__datagram_table__exact_code_and_audio_unchanged),
    cmocka_unit_test(test_malformed__srtp_cases__refused_before_decoder),
    cmocka_unit_test(test_malformed__payload_type_change__rejected),
    cmocka_unit_test(test_malformed__timestamp_far_future__invalid),
    cmocka_unit_test(test_malformed__timestamp_far_past__invalid),
    cmocka_unit_test(test_malformed__sequence_jump_5000__invalid),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
