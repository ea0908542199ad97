/* common/wire/rtp: pack/parse round trip, the malformed-datagram table, the
 * Opus payload checks and serial arithmetic across wrap-around. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <opus/opus.h>

#include "defaults.h"
#include "wire/rtp.h"

/* A real 20 ms Opus packet of silence, made once. */
static uint8_t opus20[400];
static int opus20_len;

static int make_opus(void **state)
{
  (void)state;
  int err;
  OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
  opus_int16 pcm[960] = {0};
  if (enc == NULL)
    return -1;
  opus20_len = opus_encode(enc, pcm, 960, opus20, sizeof opus20);
  opus_encoder_destroy(enc);
  return opus20_len > 0 ? 0 : -1;
}

static void test_rtp_pack_parse__round_trip__fields_kept(void **state)
{
  (void)state;
  struct rtp_header h = {0}, g;
  uint8_t buf[64];
  const uint8_t payload[] = {1, 2, 3, 4, 5};
  const uint8_t *p;
  size_t plen;

  h.marker = 1;
  h.payload_type = 111;
  h.seq = 0xfffe;
  h.timestamp = 0xfffffff0u;
  h.ssrc = 0xdeadbeefu;
  h.csrc_count = 2;
  h.csrc[0] = 7;
  h.csrc[1] = 0x01020304;
  int n = rtp_pack(&h, payload, sizeof payload, buf, sizeof buf);
  assert_int_equal(n, 12 + 8 + 5);
  assert_int_equal(buf[0], 0x82);
  assert_int_equal(buf[1], 0x80 | 111);
  assert_int_equal(rtp_parse(buf, (size_t)n, &g, &p, &plen), RTP_OK);
  assert_int_equal(g.version, 2);
  assert_int_equal(g.marker, 1);
  assert_int_equal(g.payload_type, 111);
  assert_int_equal(g.seq, 0xfffe);
  assert_int_equal(g.timestamp, 0xfffffff0u);
  assert_int_equal(g.ssrc, 0xdeadbeefu);
  assert_int_equal(g.csrc_count, 2);
  assert_int_equal(g.csrc[1], 0x01020304);
  assert_int_equal(plen, sizeof payload);
  assert_memory_equal(p, payload, sizeof payload);
}

static void test_rtp_pack__small_buffer__nobufs(void **state)
{
  (void)state;
  struct rtp_header h = {0};
  uint8_t buf[16];
  const uint8_t payload[8] = {0};
  assert_int_equal(rtp_pack(&h, payload, sizeof payload, buf, sizeof buf), RTP_ERR_NOBUFS);
  assert_int_equal(rtp_pack(&h, payload, 4, buf, sizeof buf), 16);
}

static void test_rtp_parse__extension_and_padding__payload_exact(void **state)
{
  (void)state;
  /* V=2 P=1 X=1 CC=1, ext of one word, payload 3 bytes, padding 4. */
  const uint8_t d[] = {
    0xb1, 0x60, 0x00, 0x01, 0, 0, 0, 9, 0, 0, 0, 5,   /* header */
    0, 0, 0, 42,                                       /* CSRC */
    0xbe, 0xde, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44,   /* extension */
    0xaa, 0xbb, 0xcc,                                  /* payload */
    0, 0, 0, 4                                         /* padding */
  };
  struct rtp_header h;
  const uint8_t *p;
  size_t plen;
  assert_int_equal(rtp_parse(d, sizeof d, &h, &p, &plen), RTP_OK);
  assert_int_equal(h.ext_profile, 0xbede);
  assert_int_equal(h.ext_len, 4);
  assert_int_equal(h.csrc[0], 42);
  assert_int_equal(plen, 3);
  assert_int_equal(p[0], 0xaa);
  assert_int_equal(p[2], 0xcc);
}

/* Each malformed datagram parses to its own named error. */
struct bad {
  const char *what;
  uint8_t bytes[40];
  size_t len;
  int want;
};

static const struct bad bad_table[] = {
  {"empty datagram", {0}, 0, RTP_ERR_SHORT},
  {"11 bytes", {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 11, RTP_ERR_SHORT},
  {"version 0", {0x00, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8}, 13, RTP_ERR_VERSION},
  {"version 1", {0x40, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8}, 13, RTP_ERR_VERSION},
  {"version 3", {0xc0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8}, 13, RTP_ERR_VERSION},
  {"CSRC count 15 in 16 bytes", {0x8f, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, 16, RTP_ERR_CSRC},
  {"CSRC count 1, 3 bytes of it", {0x81, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3}, 15, RTP_ERR_CSRC},
  {"extension bit, 2 bytes after header", {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde}, 14, RTP_ERR_EXT},
  {"extension length past the end", {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 2, 1, 2, 3, 4}, 20, RTP_ERR_EXT},
  {"extension length 0xffff", {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 0xf8}, 17, RTP_ERR_EXT},
  {"padding count 0", {0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 0}, 14, RTP_ERR_PADDING},
  {"padding past the payload", {0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 9}, 14, RTP_ERR_PADDING},
  {"padding eats the whole payload", {0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 2}, 14, RTP_ERR_EMPTY},
  {"header only", {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 12, RTP_ERR_EMPTY},
  {"extension fills the datagram", {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4}, 20, RTP_ERR_EMPTY},
};

static void test_rtp_parse__malformed_table__each_named_error(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_table / sizeof bad_table[0]; i++) {
    const struct bad *b = &bad_table[i];
    struct rtp_header h;
    const uint8_t *p = NULL;
    size_t plen = 0;
    /* Copy into a buffer of exactly len bytes so ASan sees any overread. */
    uint8_t *exact = test_malloc(b->len ? b->len : 1);
    memcpy(exact, b->bytes, b->len);
    int got = rtp_parse(exact, b->len, &h, &p, &plen);
    test_free(exact);
    if (got != b->want)
      fail_msg("%s: got %d (%s), want %d (%s)", b->what, got, rtp_strerror(got),
               b->want, rtp_strerror(b->want));
  }
}

static void test_rtp_parse__every_truncation__no_overread(void **state)
{
  (void)state;
  struct rtp_header h = {0};
  uint8_t full[64];
  const uint8_t *p;
  size_t plen;
  h.csrc_count = 3;
  int n = rtp_pack(&h, opus20, 10, full, sizeof full);
  assert_true(n > 0);
  for (int len = 0; len < n; len++) {
    uint8_t *exact = test_malloc((size_t)(len ? len : 1));
    memcpy(exact, full, (size_t)len);
    int got = rtp_parse(exact, (size_t)len, &h, &p, &plen);
    test_free(exact);
    if (len < 12)
      assert_int_equal(got, RTP_ERR_SHORT);
    else if (len < 24)
      assert_int_equal(got, RTP_ERR_CSRC);
    else if (len == 24)
      assert_int_equal(got, RTP_ERR_EMPTY);
    else
      assert_int_equal(got, RTP_OK);
  }
}

static void test_rtp_opus_samples__real_packet__960(void **state)
{
  (void)state;
  assert_int_equal(rtp_opus_samples(opus20, (size_t)opus20_len), 960);
}

static void test_rtp_opus_samples__bad_payloads__named_errors(void **state)
{
  (void)state;
  uint8_t p[DL_MAX_PAYLOAD + 2];
  memset(p, 0, sizeof p);
  assert_int_equal(rtp_opus_samples(p, 0), RTP_ERR_EMPTY);
  assert_int_equal(rtp_opus_samples(NULL, 5), RTP_ERR_EMPTY);
  /* Code 3 (arbitrary frame count) with no count byte. */
  p[0] = 0x03;
  assert_int_equal(rtp_opus_samples(p, 1), RTP_ERR_OPUS);
  /* Code 3, 0 frames. */
  p[1] = 0x00;
  assert_int_equal(rtp_opus_samples(p, 2), RTP_ERR_OPUS);
  /* Code 3, 7 frames of 20 ms (config 1: SILK NB 20 ms) = 140 ms > 120 ms:
   * libopus' own parser refuses it, so it is not Opus at all. */
  p[0] = (uint8_t)(1 << 3 | 3);
  p[1] = 7;
  assert_int_equal(rtp_opus_samples(p, 2), RTP_ERR_OPUS);
  /* Code 3, 6 frames of 20 ms = 120 ms: the longest allowed (CBR, 0-byte frames). */
  p[1] = 6;
  assert_int_equal(rtp_opus_samples(p, 2), 5760);
  /* Code 1 (two equal frames) with an odd body length is invalid. */
  p[0] = (uint8_t)(1 << 3 | 1);
  assert_int_equal(rtp_opus_samples(p, 4), RTP_ERR_OPUS);
  /* Longer than any payload we accept. */
  p[0] = 0xf8;
  assert_int_equal(rtp_opus_samples(p, DL_MAX_PAYLOAD + 1), RTP_ERR_TOO_LONG);
}

static void test_rtp_seq_diff__wrap_65535_to_0__plus_one(void **state)
{
  (void)state;
  assert_int_equal(rtp_seq_diff(0, 65535), 1);
  assert_int_equal(rtp_seq_diff(65535, 0), -1);
  assert_true(rtp_seq_before(65535, 0));
  assert_false(rtp_seq_before(0, 65535));
  assert_int_equal(rtp_seq_diff(100, 65500), 136);
  assert_int_equal(rtp_seq_diff(32767, 0), 32767);
  assert_int_equal(rtp_seq_diff(32768, 0), -32768);
}

static void test_rtp_ts_diff__wrap_2_32__plus_one(void **state)
{
  (void)state;
  assert_int_equal(rtp_ts_diff(0, 0xffffffffu), 1);
  assert_int_equal(rtp_ts_diff(0xffffffffu, 0), -1);
  assert_true(rtp_ts_before(0xfffffc40u, 0x000003c0u));
  assert_int_equal(rtp_ts_diff(0x000003c0u, 0xfffffc40u), 1920);
  assert_false(rtp_ts_before(960, 0));
}

/* Every code has a text of its own, and none is a negative errno: a
 * caller may pass either kind to one error path. */
static void test_rtp_strerror__every_code__distinct_text(void **state)
{
  (void)state;
  static const int codes[] = {
    RTP_OK, RTP_ERR_SHORT, RTP_ERR_VERSION, RTP_ERR_CSRC, RTP_ERR_EXT, RTP_ERR_PADDING,
    RTP_ERR_EMPTY, RTP_ERR_OPUS, RTP_ERR_TOO_LONG, RTP_ERR_NOBUFS,
  };
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t a = 0; a < n; a++) {
    assert_string_not_equal(rtp_strerror(codes[a]), "unknown error");
    if (codes[a] != RTP_OK && codes[a] != RTP_ERR_NOBUFS)
      assert_true(codes[a] < RTP_ERR_BASE && codes[a] > RTP_ERR_BASE - 100);
    for (size_t b = a + 1; b < n; b++)
      assert_string_not_equal(rtp_strerror(codes[a]), rtp_strerror(codes[b]));
  }
  assert_int_equal(RTP_ERR_NOBUFS, -ENOBUFS);
}

/* The one parse: a record with what the receive engine needs, through a
 * ring slot and back; a datagram that is RTP but not Opus still names its
 * source's fields. */
static void test_rtp_packet_parse__store_load__same_record(void **state)
{
  (void)state;
  struct rtp_header h = {.payload_type = 111, .seq = 65535, .timestamp = 0xfffffc40u,
                         .ssrc = 0xdeadbeef, .marker = 1};
  uint8_t buf[256], slot[512];
  struct rtp_packet p, q;
  int n = rtp_pack(&h, opus20, (size_t)opus20_len, buf, sizeof buf);

  assert_int_equal(rtp_packet_parse(buf, (size_t)n, 42, &p), RTP_OK);
  assert_int_equal(p.samples, 960);
  assert_int_equal(p.seq, 65535);
  assert_int_equal(p.ts, 0xfffffc40u);
  assert_int_equal(p.ssrc, 0xdeadbeef);
  assert_int_equal(p.pt, 111);
  assert_int_equal(p.marker, 1);
  assert_int_equal(p.arrival_ns, 42);
  assert_ptr_equal(p.payload, buf + RTP_HEADER_LEN);
  assert_int_equal(p.len, (size_t)opus20_len);
  int m = rtp_packet_store(&p, slot, sizeof slot);
  assert_int_equal(m, (int)(sizeof p + p.len));
  assert_int_equal(rtp_packet_store(&p, slot, sizeof p + p.len - 1), -ENOBUFS);
  assert_int_equal(rtp_packet_load(slot, (size_t)m, &q), 0);
  assert_ptr_equal(q.payload, slot + sizeof q);
  assert_memory_equal(q.payload, p.payload, p.len);
  assert_int_equal(q.seq, p.seq);
  assert_int_equal(q.samples, p.samples);
  assert_int_equal(rtp_packet_load(slot, (size_t)m - 1, &q), -EINVAL);
  assert_int_equal(rtp_packet_load(slot, 3, &q), -EINVAL);

  buf[RTP_HEADER_LEN] = 0x03;   /* code 3 without its count byte */
  assert_int_equal(rtp_packet_parse(buf, RTP_HEADER_LEN + 1, 7, &p), RTP_ERR_OPUS);
  assert_int_equal(p.ssrc, 0xdeadbeef);
  assert_int_equal(p.samples, 0);
  assert_int_equal(rtp_packet_parse(buf, 5, 7, &p), RTP_ERR_SHORT);
}

/* RFC 6051 NTP-64 in the one-byte form (RFC 8285): packed by the sender's
 * path, found by rtp_packet_parse, the payload where it was. */
static void test_rtp_pack_ext__ntp64__parsed_back(void **state)
{
  (void)state;
  struct rtp_header h = {.payload_type = 96, .seq = 9, .timestamp = 12345, .ssrc = 0xabcdef01u};
  uint8_t ext[RTP_EXT_NTP64_BLOCK], buf[600];
  struct rtp_packet p;
  uint64_t ntp = 0xe8a1b2c3d4e5f607ull;

  assert_int_equal(rtp_ext_ntp64(ext, DL_RTP_EXT_NTP_ID, ntp), RTP_EXT_NTP64_BLOCK);
  int n = rtp_pack_ext(&h, RTP_EXT_ONE_BYTE, ext, sizeof ext, opus20, (size_t)opus20_len, buf, sizeof buf);
  assert_int_equal(n, RTP_HEADER_LEN + 4 + RTP_EXT_NTP64_BLOCK + opus20_len);
  assert_int_equal(buf[0], 0x90);
  assert_int_equal(rtp_packet_parse(buf, (size_t)n, 5, &p), RTP_OK);
  assert_int_equal(p.has_ntp, 1);
  assert_true(p.ntp == ntp);
  assert_int_equal(p.samples, 960);
  assert_int_equal(p.len, opus20_len);
  assert_memory_equal(p.payload, opus20, (size_t)opus20_len);

  /* Without the extension: no NTP. */
  n = rtp_pack(&h, opus20, (size_t)opus20_len, buf, sizeof buf);
  assert_int_equal(rtp_packet_parse(buf, (size_t)n, 5, &p), RTP_OK);
  assert_int_equal(p.has_ntp, 0);

  /* Bad arguments. */
  assert_int_equal(rtp_ext_ntp64(ext, 0, ntp), RTP_ERR_EXT);
  assert_int_equal(rtp_ext_ntp64(ext, 15, ntp), RTP_ERR_EXT);
  assert_int_equal(rtp_pack_ext(&h, RTP_EXT_ONE_BYTE, ext, 5, opus20, 3, buf, sizeof buf), RTP_ERR_EXT);
  assert_int_equal(rtp_pack_ext(&h, RTP_EXT_ONE_BYTE, ext, sizeof ext, opus20, (size_t)opus20_len, buf,
                                RTP_HEADER_LEN + 4 + RTP_EXT_NTP64_BLOCK + (size_t)opus20_len - 1),
                   RTP_ERR_NOBUFS);
  assert_int_equal(rtp_pack_ext(&h, RTP_EXT_ONE_BYTE, ext, sizeof ext, opus20, 0, buf, 10), RTP_ERR_NOBUFS);
}

/* Element lists, good and malformed: what rtp_ext_find says, and that a
 * datagram carrying each is still a good packet (the extension is ignored,
 * not the audio). */
static void test_rtp_ext_find__table__lengths_checked(void **state)
{
  (void)state;
  static const struct {
    const char *name;
    uint16_t profile;
    uint8_t data[20];
    size_t len;
    int want;         /* rtp_ext_find for ID 1 */
    size_t vlen;
    int has_ntp;      /* rtp_packet_parse finds the NTP-64 */
  } cases[] = {
    {"one-byte ntp", 0xBEDE, {0x17, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0}, 12, 1, 8, 1},
    {"padding first", 0xBEDE, {0, 0, 0, 0x17, 1, 2, 3, 4, 5, 6, 7, 8}, 12, 1, 8, 1},
    {"another id first", 0xBEDE, {0x21, 0xaa, 0xbb, 0x17, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0}, 16, 1, 8, 1},
    {"id 1 of 4 bytes", 0xBEDE, {0x13, 1, 2, 3, 4, 0, 0, 0}, 8, 1, 4, 0},
    {"only other ids", 0xBEDE, {0x21, 0xaa, 0xbb, 0}, 4, 0, 0, 0},
    {"element past end", 0xBEDE, {0x17, 1, 2, 3}, 4, RTP_ERR_EXT, 0, 0},
    {"other past end", 0xBEDE, {0x2f, 1, 2, 3}, 4, RTP_ERR_EXT, 0, 0},
    {"id 15 stops", 0xBEDE, {0xf7, 0x17, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0}, 12, 0, 0, 0},
    {"all padding", 0xBEDE, {0, 0, 0, 0}, 4, 0, 0, 0},
    {"empty", 0xBEDE, {0}, 0, 0, 0, 0},
    {"two-byte ntp", 0x1000, {1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0}, 12, 1, 8, 1},
    {"two-byte zero-length", 0x1003, {2, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8}, 12, 1, 8, 1},
    {"two-byte no length byte", 0x1000, {0, 0, 0, 1}, 4, RTP_ERR_EXT, 0, 0},
    {"two-byte past end", 0x1000, {1, 200, 1, 2}, 4, RTP_ERR_EXT, 0, 0},
    {"unknown profile", 0x1234, {0x17, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0}, 12, 0, 0, 0},
  };
  uint8_t buf[600];

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const uint8_t *v = NULL;
    size_t vlen = 0;
    struct rtp_header h = {.payload_type = 96, .seq = 1, .timestamp = 2, .ssrc = 3};
    struct rtp_packet p;
    int r = rtp_ext_find(cases[i].profile, cases[i].data, cases[i].len, 1, &v, &vlen);

    if (r != cases[i].want)
      fail_msg("%s: rtp_ext_find %d, expected %d", cases[i].name, r, cases[i].want);
    if (r == 1) {
      assert_int_equal(vlen, cases[i].vlen);
      assert_true(v >= cases[i].data && v + vlen <= cases[i].data + cases[i].len);
    }
    int n = rtp_pack_ext(&h, cases[i].profile, cases[i].data, cases[i].len, opus20, (size_t)opus20_len,
                         buf, sizeof buf);
    assert_true(n > 0);
    if (rtp_packet_parse(buf, (size_t)n, 1, &p) != RTP_OK || p.samples != 960)
      fail_msg("%s: the packet was refused", cases[i].name);
    if (p.has_ntp != cases[i].has_ntp)
      fail_msg("%s: has_ntp %d", cases[i].name, p.has_ntp);
    if (p.has_ntp)
      assert_true(p.ntp == 0x0102030405060708ull);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtp_pack_parse__round_trip__fields_kept),
    cmocka_unit_test(test_rtp_pack__small_buffer__nobufs),
    cmocka_unit_test(test_rtp_parse__extension_and_padding__payload_exact),
    cmocka_unit_test(test_rtp_parse__malformed_table__each_named_error),
    cmocka_unit_test(test_rtp_parse__every_truncation__no_overread),
    cmocka_unit_test(test_rtp_opus_samples__real_packet__960),
    cmocka_unit_test(test_rtp_opus_samples__bad_payloads__named_errors),
    cmocka_unit_test(test_rtp_seq_diff__wrap_65535_to_0__plus_one),
    cmocka_unit_test(test_rtp_ts_diff__wrap_2_32__plus_one),
    cmocka_unit_test(test_rtp_strerror__every_code__distinct_text),
    cmocka_unit_test(test_rtp_packet_parse__store_load__same_record),
    cmocka_unit_test(test_rtp_pack_ext__ntp64__parsed_back),
    cmocka_unit_test(test_rtp_ext_find__table__lengths_checked),
  };
  return cmocka_run_group_tests(tests, make_opus, NULL);
}
