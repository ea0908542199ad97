/* common/wire/rtcp: exact bytes and round trips of SR, RR, SDES, BYE, XR
 * (RRT, DLRR, VoIP Metrics) and a compound packet; the builder's order
 * rules; a table of malformed compounds, each refused with its own error
 * from an exact-size buffer (run under ASan too); every truncation;
 * NTP and 16.16 time, RTT across the wrap; fraction and cumulative lost;
 * jitter; the transmission interval; a seeded random round trip and
 * seeded random damage. DL_SEED=N reproduces the random cases (the seed
 * is printed). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "defaults.h"
#include "wire/rtcp.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
  /* xorshift64*: reproducible across machines. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint64_t rnd64(void) { return (uint64_t)rnd() << 32 | rnd(); }
static double rnd_unit(void) { return rnd() / 4294967296.0; }   /* [0, 1) */

/* Hex text ("80c9 0001 ...", spaces ignored) into out; returns the bytes. */
static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
  size_t n = 0;
  for (const char *p = hex; *p;) {
    unsigned v;
    if (*p == ' ') {
      p++;
      continue;
    }
    assert_true(p[1] != '\0');
    assert_int_equal(sscanf(p, "%2x", &v), 1);
    assert_true(n < cap);
    out[n++] = (uint8_t)v;
    p += 2;
  }
  return n;
}

/* rtcp_parse on an exact-size copy, so that ASan sees any read past it. */
static int parse_exact(const uint8_t *d, size_t len, struct rtcp_info *out)
{
  uint8_t *copy = test_malloc(len ? len : 1);
  int rc;
  memcpy(copy, d, len);
  rc = rtcp_parse(copy, len, out);
  test_free(copy);
  return rc;
}

static struct rtcp_report_block block_of(uint32_t ssrc)
{
  struct rtcp_report_block b = {
    .ssrc = ssrc, .fraction_lost = 0x40, .cumulative_lost = -2,
    .ext_highest_seq = 0x0001ffff, .jitter = 0x20, .lsr = 0xb7052000u, .dlsr = 0x00054000u,
  };
  return b;
}

static void assert_block_equal(const struct rtcp_report_block *a, const struct rtcp_report_block *b)
{
  assert_int_equal(a->ssrc, b->ssrc);
  assert_int_equal(a->fraction_lost, b->fraction_lost);
  assert_int_equal(a->cumulative_lost, b->cumulative_lost);
  assert_int_equal(a->ext_highest_seq, b->ext_highest_seq);
  assert_int_equal(a->jitter, b->jitter);
  assert_int_equal(a->lsr, b->lsr);
  assert_int_equal(a->dlsr, b->dlsr);
}

static struct rtcp_voip_metrics voip_example(void)
{
  struct rtcp_voip_metrics v = {
    .ssrc = 0xaabbccddu, .loss_rate = 1, .discard_rate = 2, .burst_density = 3, .gap_density = 4,
    .burst_duration = 0x0506, .gap_duration = 0x0708, .round_trip_delay = 0x090a,
    .end_system_delay = 0x0b0c, .signal_level = -20, .noise_level = -60,
    .rerl = RTCP_XR_UNAVAILABLE, .gmin = 16, .r_factor = 93, .ext_r_factor = RTCP_XR_UNAVAILABLE,
    .mos_lq = 42, .mos_cq = 41,
    .rx_config = RTCP_XR_RX_CONFIG(RTCP_XR_PLC_ENHANCED, RTCP_XR_JB_ADAPTIVE, 5),
    .jb_nominal = 60, .jb_maximum = 200, .jb_abs_max = 500,
  };
  return v;
}

static void assert_voip_equal(const struct rtcp_voip_metrics *a, const struct rtcp_voip_metrics *b)
{
  assert_int_equal(a->ssrc, b->ssrc);
  assert_int_equal(a->loss_rate, b->loss_rate);
  assert_int_equal(a->discard_rate, b->discard_rate);
  assert_int_equal(a->burst_density, b->burst_density);
  assert_int_equal(a->gap_density, b->gap_density);
  assert_int_equal(a->burst_duration, b->burst_duration);
  assert_int_equal(a->gap_duration, b->gap_duration);
  assert_int_equal(a->round_trip_delay, b->round_trip_delay);
  assert_int_equal(a->end_system_delay, b->end_system_delay);
  assert_int_equal(a->signal_level, b->signal_level);
  assert_int_equal(a->noise_level, b->noise_level);
  assert_int_equal(a->rerl, b->rerl);
  assert_int_equal(a->gmin, b->gmin);
  assert_int_equal(a->r_factor, b->r_factor);
  assert_int_equal(a->ext_r_factor, b->ext_r_factor);
  assert_int_equal(a->mos_lq, b->mos_lq);
  assert_int_equal(a->mos_cq, b->mos_cq);
  assert_int_equal(a->rx_config, b->rx_config);
  assert_int_equal(a->jb_nominal, b->jb_nominal);
  assert_int_equal(a->jb_maximum, b->jb_maximum);
  assert_int_equal(a->jb_abs_max, b->jb_abs_max);
}

/* ---- SR, RR --------------------------------------------------------------- */

static void test_rtcp_pack_sr__one_block__rfc_layout_bytes(void **state)
{
  (void)state;
  struct rtcp_sender_info si = {
    .ssrc = 0x01020304u, .ntp = 0xb44db70520000000ull, .rtp_ts = 0x11223344u,
    .packet_count = 7, .octet_count = 0x1000,
  };
  struct rtcp_report_block b = block_of(0xaabbccddu);
  uint8_t want[64], buf[64];
  size_t wn = from_hex("81c8000c 01020304 b44db705 20000000 11223344 00000007 00001000"
                       " aabbccdd 40fffffe 0001ffff 00000020 b7052000 00054000", want, sizeof want);
  int n = rtcp_pack_sr(&si, &b, 1, buf, sizeof buf);
  assert_int_equal(n, 52);
  assert_int_equal(wn, 52);
  assert_memory_equal(buf, want, wn);
}

static void test_rtcp_sr__round_trip__fields_kept(void **state)
{
  (void)state;
  struct rtcp_sender_info si = {
    .ssrc = 0xdeadbeefu, .ntp = 0x0123456789abcdefull, .rtp_ts = 0xfffffff0u,
    .packet_count = 123456, .octet_count = 0xfedcba98u,
  };
  struct rtcp_report_block b[3] = {block_of(1), block_of(2), block_of(3)};
  struct rtcp_info info;
  uint8_t buf[128];
  b[1].cumulative_lost = 0x7fffff;
  b[2].cumulative_lost = -0x800000;
  b[2].fraction_lost = 255;
  int n = rtcp_pack_sr(&si, b, 3, buf, sizeof buf);
  assert_int_equal(n, 28 + 3 * 24);
  assert_int_equal(parse_exact(buf, (size_t)n, &info), RTCP_OK);
  assert_int_equal(info.ssrc, 0xdeadbeefu);
  assert_true(info.has_sr);
  assert_int_equal(info.sr.ssrc, si.ssrc);
  assert_int_equal(info.sr.ntp, si.ntp);
  assert_int_equal(info.sr.rtp_ts, si.rtp_ts);
  assert_int_equal(info.sr.packet_count, si.packet_count);
  assert_int_equal(info.sr.octet_count, si.octet_count);
  assert_int_equal(info.n_reports, 3);
  for (int i = 0; i < 3; i++)
    assert_block_equal(&info.reports[i], &b[i]);
  assert_int_equal(info.n_packets, 1);
  assert_false(info.has_cname);
}

static void test_rtcp_rr__round_trip__fields_kept(void **state)
{
  (void)state;
  struct rtcp_report_block b[2] = {block_of(0x10), block_of(0x20)};
  struct rtcp_info info;
  uint8_t buf[64];
  b[1].lsr = 0;
  b[1].dlsr = 0;
  int n = rtcp_pack_rr(0x55667788u, b, 2, buf, sizeof buf);
  assert_int_equal(n, 8 + 2 * 24);
  assert_int_equal(buf[0], 0x82);
  assert_int_equal(buf[1], RTCP_PT_RR);
  assert_int_equal(parse_exact(buf, (size_t)n, &info), RTCP_OK);
  assert_false(info.has_sr);
  assert_int_equal(info.ssrc, 0x55667788u);
  assert_int_equal(info.n_reports, 2);
  assert_block_equal(&info.reports[0], &b[0]);
  assert_block_equal(&info.reports[1], &b[1]);
  /* An empty RR is the smallest compound. */
  assert_int_equal(rtcp_pack_rr(9, NULL, 0, buf, sizeof buf), RTCP_MIN_LEN);
  assert_int_equal(parse_exact(buf, RTCP_MIN_LEN, &info), RTCP_OK);
  assert_int_equal(info.n_reports, 0);
}

static void test_rtcp_pack_report__limits__arg_or_nobufs(void **state)
{
  (void)state;
  struct rtcp_report_block b[32];
  struct rtcp_sender_info si = {0};
  uint8_t buf[1024];
  for (int i = 0; i < 32; i++)
    b[i] = block_of((uint32_t)i);
  assert_int_equal(rtcp_pack_rr(1, b, 31, buf, sizeof buf), 8 + 31 * 24);
  assert_int_equal(buf[0], 0x80 | 31);
  assert_int_equal(rtcp_pack_rr(1, b, 32, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_sr(&si, b, 32, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_sr(NULL, b, 1, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_rr(1, NULL, 1, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_sr(&si, b, 1, buf, 51), RTCP_ERR_NOBUFS);
  assert_int_equal(rtcp_pack_sr(&si, b, 1, buf, 52), 52);
  assert_int_equal(rtcp_pack_rr(1, b, 1, buf, 31), RTCP_ERR_NOBUFS);
  assert_int_equal(rtcp_pack_rr(1, b, 0, NULL, 0), RTCP_ERR_NOBUFS);
}

static void test_rtcp_pack_block__cumulative_lost__clamped_to_24_bits(void **state)
{
  (void)state;
  static const struct {
    int32_t in, out;
    uint32_t wire;   /* the 24-bit field */
  } cases[] = {
    {0, 0, 0}, {-1, -1, 0xffffff}, {0x7fffff, 0x7fffff, 0x7fffff},
    {0x800000, 0x7fffff, 0x7fffff}, {0x7fffffff, 0x7fffff, 0x7fffff},
    {-0x800000, -0x800000, 0x800000}, {-0x800001, -0x800000, 0x800000},
    {INT32_MIN, -0x800000, 0x800000}, {12345, 12345, 12345},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct rtcp_report_block b = block_of(1);
    struct rtcp_info info;
    uint8_t buf[32];
    b.cumulative_lost = cases[i].in;
    assert_int_equal(rtcp_pack_rr(2, &b, 1, buf, sizeof buf), 32);
    assert_int_equal(buf[12], b.fraction_lost);   /* the clamp leaves it alone */
    assert_int_equal((uint32_t)buf[13] << 16 | buf[14] << 8 | buf[15], cases[i].wire);
    assert_int_equal(parse_exact(buf, 32, &info), RTCP_OK);
    assert_int_equal(info.reports[0].cumulative_lost, cases[i].out);
  }
  assert_int_equal(rtcp_clamp_lost(INT64_MAX), 0x7fffff);
  assert_int_equal(rtcp_clamp_lost(INT64_MIN), -0x800000);
}

/* ---- SDES ------------------------------------------------------------------- */

static void test_rtcp_pack_sdes__cname__rfc_layout_bytes(void **state)
{
  (void)state;
  static const struct {
    const char *cname, *hex;
  } cases[] = {
    {"a", "81ca0002 01020304 01016100"},
    {"ab", "81ca0003 01020304 01026162 00000000"},
    {"abc", "81ca0003 01020304 01036162 63000000"},
    {"abcd", "81ca0003 01020304 01046162 63640000"},
    {"abcde", "81ca0003 01020304 01056162 63646500"},
    {"", "81ca0002 01020304 01000000"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct rtcp_sdes_chunk c = {.ssrc = 0x01020304u, .cname = cases[i].cname};
    uint8_t want[32], buf[32];
    size_t wn = from_hex(cases[i].hex, want, sizeof want);
    memset(buf, 0xee, sizeof buf);   /* the terminator and padding must be written */
    int n = rtcp_pack_sdes(&c, 1, buf, sizeof buf);
    assert_int_equal(n, wn);
    assert_memory_equal(buf, want, wn);
  }
}

static void test_rtcp_pack_sdes__every_length__terminated_and_word_aligned(void **state)
{
  (void)state;
  char text[RTCP_MAX_TEXT + 1];
  uint8_t buf[600];
  for (size_t len = 0; len <= RTCP_MAX_TEXT; len++) {
    memset(text, 'x', len);
    text[len] = '\0';
    struct rtcp_sdes_chunk c[2] = {{.ssrc = 1, .cname = text}, {.ssrc = 2, .tool = text}};
    memset(buf, 0xee, sizeof buf);
    int n = rtcp_pack_sdes(c, 2, buf, sizeof buf);
    size_t chunk = (4 + 2 + len + 1 + 3) / 4 * 4;
    assert_int_equal(n, 4 + 2 * chunk);
    assert_int_equal(buf[0], 0x82);
    assert_int_equal(((size_t)buf[2] << 8 | buf[3]) + 1, (size_t)n / 4);
    /* After each item: only nulls to the chunk's end, at least one. */
    for (int k = 0; k < 2; k++) {
      size_t start = 4 + k * chunk, item_end = start + 4 + 2 + len;
      assert_int_equal(buf[start + 4], k == 0 ? RTCP_SDES_CNAME : RTCP_SDES_TOOL);
      assert_int_equal(buf[start + 5], len);
      assert_true(item_end < start + chunk);
      for (size_t j = item_end; j < start + chunk; j++)
        assert_int_equal(buf[j], 0);
    }
    struct rtcp_info info;
    uint8_t rr[8 + 600];
    int r = rtcp_pack_rr(1, NULL, 0, rr, sizeof rr);
    memcpy(rr + r, buf, (size_t)n);
    assert_int_equal(parse_exact(rr, (size_t)(r + n), &info), RTCP_OK);
    assert_true(info.has_cname);
    assert_false(info.has_tool);   /* the TOOL is chunk 2's, not the reporter's */
    assert_int_equal(strlen(info.cname), len);
    assert_string_equal(info.cname, text);
  }
}

static void test_rtcp_sdes__chunks_with_name_and_tool__reporter_items_kept(void **state)
{
  (void)state;
  struct rtcp_sdes_chunk c[3] = {
    {.ssrc = 0x1111, .cname = "mixer@a", .name = "Someone else"},
    {.ssrc = 0x2222, .cname = "driftless@host", .name = "Alice", .tool = "driftless 0.1"},
    {.ssrc = 0x3333},   /* no items: four nulls after the SSRC */
  };
  uint8_t buf[256];
  struct rtcp_info info;
  int a = rtcp_pack_rr(0x2222, NULL, 0, buf, sizeof buf);
  int b = rtcp_pack_sdes(c, 3, buf + a, sizeof buf - (size_t)a);
  assert_true(a > 0 && b > 0);
  /* The empty chunk: its SSRC and one word of nulls. */
  assert_memory_equal(buf + a + b - 8, "\x00\x00\x33\x33\x00\x00\x00\x00", 8);
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_int_equal(info.n_sdes_chunks, 3);
  assert_int_equal(info.sdes_ssrc[0], 0x1111);
  assert_int_equal(info.sdes_ssrc[1], 0x2222);
  assert_int_equal(info.sdes_ssrc[2], 0x3333);
  assert_true(info.has_cname && info.has_name && info.has_tool);
  assert_string_equal(info.cname, "driftless@host");
  assert_string_equal(info.name, "Alice");
  assert_string_equal(info.tool, "driftless 0.1");
}

static void test_rtcp_sdes__unknown_items_and_second_cname__skipped(void **state)
{
  (void)state;
  /* RR from 0x11223344, SDES chunk: EMAIL "e@x", CNAME "c1", PRIV, CNAME
   * "c2", NOTE; the first CNAME counts. */
  uint8_t d[64];
  struct rtcp_info info;
  size_t n = from_hex("80c90001 11223344"
                      " 81ca0007 11223344 0303 65 40 78 0102 6331 0802 0000 0102 6332 0701 6e 00 000000",
                      d, sizeof d);
  assert_int_equal(n, 8 + 32);
  assert_int_equal(parse_exact(d, n, &info), RTCP_OK);
  assert_true(info.has_cname);
  assert_string_equal(info.cname, "c1");
  assert_false(info.has_name);
  /* Two chunks with the reporter's SSRC: only the first one's items count. */
  n = from_hex("80c90001 11223344"
               " 82ca0007 11223344 01026331 00000000 11223344 01026332 02024e4e 00000000", d, sizeof d);
  assert_int_equal(parse_exact(d, n, &info), RTCP_OK);
  assert_int_equal(info.n_sdes_chunks, 2);
  assert_string_equal(info.cname, "c1");
  assert_false(info.has_name);
}

static void test_rtcp_pack_sdes__bad_arguments__arg(void **state)
{
  (void)state;
  char text[RTCP_MAX_TEXT + 2];
  uint8_t buf[600];
  memset(text, 'y', sizeof text - 1);
  text[sizeof text - 1] = '\0';   /* 256 bytes */
  struct rtcp_sdes_chunk c = {.ssrc = 1, .cname = "ok", .name = text};
  struct rtcp_sdes_chunk many[32];
  assert_int_equal(rtcp_pack_sdes(&c, 1, buf, sizeof buf), RTCP_ERR_ARG);
  text[RTCP_MAX_TEXT] = '\0';   /* 255 bytes: fits */
  assert_true(rtcp_pack_sdes(&c, 1, buf, sizeof buf) > 0);
  memset(many, 0, sizeof many);
  assert_int_equal(rtcp_pack_sdes(many, 32, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_sdes(many, 31, buf, sizeof buf), 4 + 31 * 8);
  assert_int_equal(rtcp_pack_sdes(NULL, 1, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_sdes(&c, 1, buf, 10), RTCP_ERR_NOBUFS);
}

/* ---- BYE -------------------------------------------------------------------- */

static void test_rtcp_pack_bye__reason__rfc_layout_bytes(void **state)
{
  (void)state;
  const uint32_t ssrcs[2] = {0x01020304u, 0x05060708u};
  uint8_t want[32], buf[32];
  size_t wn = from_hex("82cb0003 01020304 05060708 03627965", want, sizeof want);
  memset(buf, 0xee, sizeof buf);
  assert_int_equal(rtcp_pack_bye(ssrcs, 2, "bye", buf, sizeof buf), wn);
  assert_memory_equal(buf, want, wn);
  wn = from_hex("81cb0002 01020304 026f6b00", want, sizeof want);
  assert_int_equal(rtcp_pack_bye(ssrcs, 1, "ok", buf, sizeof buf), wn);
  assert_memory_equal(buf, want, wn);
  wn = from_hex("81cb0001 01020304", want, sizeof want);
  assert_int_equal(rtcp_pack_bye(ssrcs, 1, NULL, buf, sizeof buf), wn);
  assert_memory_equal(buf, want, wn);
}

static void test_rtcp_bye__round_trip__ssrcs_and_reason(void **state)
{
  (void)state;
  uint32_t ssrcs[RTCP_MAX_BYE];
  char reason[RTCP_MAX_TEXT + 1];
  uint8_t buf[512];
  struct rtcp_info info;
  for (int i = 0; i < RTCP_MAX_BYE; i++)
    ssrcs[i] = 0x1000u + (uint32_t)i;
  memset(reason, 'r', RTCP_MAX_TEXT);
  reason[RTCP_MAX_TEXT] = '\0';
  int a = rtcp_pack_rr(0x1000u, NULL, 0, buf, sizeof buf);
  int b = rtcp_pack_bye(ssrcs, RTCP_MAX_BYE, reason, buf + a, sizeof buf - (size_t)a);
  assert_int_equal(b, 4 + 4 * 31 + 256);
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_true(info.has_bye);
  assert_int_equal(info.n_bye, 31);
  for (int i = 0; i < RTCP_MAX_BYE; i++)
    assert_int_equal(info.bye_ssrc[i], ssrcs[i]);
  assert_true(info.has_bye_reason);
  assert_string_equal(info.bye_reason, reason);
  /* Without a reason. */
  b = rtcp_pack_bye(ssrcs, 1, NULL, buf + a, sizeof buf - (size_t)a);
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_true(info.has_bye);
  assert_false(info.has_bye_reason);
  assert_int_equal(info.n_bye, 1);
  /* Two BYEs: the SSRCs add up, the first reason is kept. */
  b = rtcp_pack_bye(ssrcs, 2, "first", buf + a, sizeof buf - (size_t)a);
  b += rtcp_pack_bye(ssrcs + 2, 1, "second", buf + a + b, sizeof buf - (size_t)(a + b));
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_int_equal(info.n_bye, 3);
  assert_int_equal(info.bye_ssrc[2], ssrcs[2]);
  assert_string_equal(info.bye_reason, "first");
  /* Limits. */
  reason[RTCP_MAX_TEXT - 1] = 'r';
  char longer[RTCP_MAX_TEXT + 2];
  memset(longer, 'z', RTCP_MAX_TEXT + 1);
  longer[RTCP_MAX_TEXT + 1] = '\0';
  assert_int_equal(rtcp_pack_bye(ssrcs, 1, longer, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_bye(ssrcs, 32, NULL, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_bye(ssrcs, 2, "bye", buf, 15), RTCP_ERR_NOBUFS);
}

/* ---- XR --------------------------------------------------------------------- */

static void test_rtcp_pack_xr__rrt_dlrr_voip__rfc3611_layout_bytes(void **state)
{
  (void)state;
  const struct rtcp_dlrr_item d = {0x0a0b0c0du, 0x11111111u, 0x22222222u};
  const struct rtcp_voip_metrics v = voip_example();
  const struct rtcp_xr xr = {
    .ssrc = 0x01020304u, .has_rrt = 1, .rrt_ntp = 0x0102030405060708ull,
    .dlrr = &d, .n_dlrr = 1, .voip = &v,
  };
  uint8_t want[80], buf[80];
  size_t wn = from_hex("80cf0011 01020304"
                       " 04000002 01020304 05060708"
                       " 05000003 0a0b0c0d 11111111 22222222"
                       " 07000008 aabbccdd 01020304 05060708 090a0b0c ecc47f10 5d7f2a29 f500003c 00c801f4",
                       want, sizeof want);
  memset(buf, 0xee, sizeof buf);
  assert_int_equal(rtcp_pack_xr(&xr, buf, sizeof buf), 72);
  assert_int_equal(wn, 72);
  assert_memory_equal(buf, want, wn);
  assert_int_equal(rtcp_pack_xr(&xr, buf, 71), RTCP_ERR_NOBUFS);
}

static void test_rtcp_xr__round_trip__rrt_dlrr_voip(void **state)
{
  (void)state;
  struct rtcp_dlrr_item d[RTCP_MAX_DLRR];
  const struct rtcp_voip_metrics v = voip_example();
  struct rtcp_info info;
  uint8_t buf[512];
  for (int i = 0; i < RTCP_MAX_DLRR; i++)
    d[i] = (struct rtcp_dlrr_item){0x100u + (uint32_t)i, 0xfffff000u + (uint32_t)i, (uint32_t)i * 7};
  struct rtcp_xr xr = {.ssrc = 0x77, .has_rrt = 1, .rrt_ntp = 0xe8f0a1b2c3d4e5f6ull,
                       .dlrr = d, .n_dlrr = RTCP_MAX_DLRR, .voip = &v};
  int a = rtcp_pack_rr(0x77, NULL, 0, buf, sizeof buf);
  int b = rtcp_pack_xr(&xr, buf + a, sizeof buf - (size_t)a);
  assert_int_equal(b, 8 + 12 + 4 + 12 * RTCP_MAX_DLRR + 36);
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_true(info.has_xr);
  assert_int_equal(info.xr_ssrc, 0x77);
  assert_true(info.has_rrt);
  assert_int_equal(info.rrt_ntp, xr.rrt_ntp);
  assert_int_equal(info.n_dlrr, RTCP_MAX_DLRR);
  for (int i = 0; i < RTCP_MAX_DLRR; i++) {
    assert_int_equal(info.dlrr[i].ssrc, d[i].ssrc);
    assert_int_equal(info.dlrr[i].lrr, d[i].lrr);
    assert_int_equal(info.dlrr[i].dlrr, d[i].dlrr);
  }
  assert_true(info.has_voip);
  assert_voip_equal(&info.voip, &v);
  /* Each block alone. */
  struct rtcp_xr only_rrt = {.ssrc = 5, .has_rrt = 1, .rrt_ntp = 42};
  b = rtcp_pack_xr(&only_rrt, buf + a, sizeof buf - (size_t)a);
  assert_int_equal(b, 20);
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_true(info.has_rrt && !info.has_voip && info.n_dlrr == 0);
  struct rtcp_xr only_voip = {.ssrc = 5, .voip = &v};
  b = rtcp_pack_xr(&only_voip, buf + a, sizeof buf - (size_t)a);
  assert_int_equal(b, 44);
  assert_int_equal(parse_exact(buf, (size_t)(a + b), &info), RTCP_OK);
  assert_true(!info.has_rrt && info.has_voip);
  assert_int_equal(info.voip.mos_lq, 42);
  xr.n_dlrr = RTCP_MAX_DLRR + 1;
  assert_int_equal(rtcp_pack_xr(&xr, buf, sizeof buf), RTCP_ERR_ARG);
  assert_int_equal(rtcp_pack_xr(NULL, buf, sizeof buf), RTCP_ERR_ARG);
}

static void test_rtcp_parse__dlrr_over_bound__kept_and_dropped_counted(void **state)
{
  (void)state;
  /* Two XR packets of 16 DLRR sub-blocks each: 16 kept, 16 dropped; the
   * first XR's SSRC, RRT and VoIP Metrics are kept. */
  struct rtcp_dlrr_item d[RTCP_MAX_DLRR];
  uint8_t buf[1024];
  struct rtcp_info info;
  for (int i = 0; i < RTCP_MAX_DLRR; i++)
    d[i] = (struct rtcp_dlrr_item){(uint32_t)i, 1, 2};
  struct rtcp_voip_metrics v1 = voip_example(), v2 = voip_example();
  v2.mos_lq = 30;
  struct rtcp_xr a = {.ssrc = 1, .has_rrt = 1, .rrt_ntp = 111, .dlrr = d, .n_dlrr = RTCP_MAX_DLRR,
                      .voip = &v1};
  struct rtcp_xr b = {.ssrc = 2, .has_rrt = 1, .rrt_ntp = 222, .dlrr = d, .n_dlrr = RTCP_MAX_DLRR,
                      .voip = &v2};
  int n = rtcp_pack_rr(1, NULL, 0, buf, sizeof buf);
  n += rtcp_pack_xr(&a, buf + n, sizeof buf - (size_t)n);
  n += rtcp_pack_xr(&b, buf + n, sizeof buf - (size_t)n);
  assert_int_equal(parse_exact(buf, (size_t)n, &info), RTCP_OK);
  assert_int_equal(info.xr_ssrc, 1);
  assert_int_equal(info.rrt_ntp, 111);   /* the first RRT and VoIP Metrics */
  assert_int_equal(info.voip.mos_lq, 42);
  assert_int_equal(info.n_dlrr, RTCP_MAX_DLRR);
  assert_int_equal(info.dlrr_dropped, RTCP_MAX_DLRR);
  assert_int_equal(info.n_packets, 3);
}

/* ---- the compound builder ----------------------------------------------------- */

static void test_rtcp_builder__sr_sdes_xr_bye_padded__parses_back(void **state)
{
  (void)state;
  struct rtcp_sender_info si = {.ssrc = 0xabcdef01u, .ntp = 0xe9000000c0000000ull,
                                .rtp_ts = 960000, .packet_count = 1000, .octet_count = 80000};
  struct rtcp_report_block rb = block_of(0x42);
  struct rtcp_sdes_chunk c = {.ssrc = 0xabcdef01u, .cname = "driftless@host", .tool = "driftless"};
  struct rtcp_dlrr_item d = {0x42, 0x12345678u, 0x10000};
  struct rtcp_xr xr = {.ssrc = 0xabcdef01u, .dlrr = &d, .n_dlrr = 1};
  uint32_t me = 0xabcdef01u;
  struct rtcp_builder b;
  struct rtcp_info info;
  uint8_t buf[256];
  size_t off;

  rtcp_builder_init(&b, buf, sizeof buf);
  assert_int_equal(rtcp_builder_sr(&b, &si, &rb, 1), 0);
  assert_int_equal(rtcp_builder_sdes(&b, &c, 1), 0);
  assert_int_equal(rtcp_builder_xr(&b, &xr), 0);
  assert_int_equal(rtcp_builder_bye(&b, &me, 1, "end of stream"), 0);
  /* 52 (SR) + 4+4+16+11+1 -> 36 (SDES) + 24 (XR) + 24 (BYE) = 136; padded to 64: 192. */
  int n = rtcp_builder_finish(&b, 64);
  assert_int_equal(n, 192);
  /* The P bit is on the last packet only, and its count is the padding. */
  off = 0;
  int packets = 0;
  while (off < (size_t)n) {
    size_t plen = 4 * (((size_t)buf[off + 2] << 8 | buf[off + 3]) + 1);
    int last = off + plen == (size_t)n;
    assert_int_equal((buf[off] >> 5) & 1, last);
    if (last) {
      assert_int_equal(buf[off + 1], RTCP_PT_BYE);
      assert_int_equal(buf[n - 1], 192 - 136);
    }
    off += plen;
    packets++;
  }
  assert_int_equal(packets, 4);
  assert_int_equal(buf[1], RTCP_PT_SR);
  assert_int_equal(parse_exact(buf, (size_t)n, &info), RTCP_OK);
  assert_true(info.has_sr);
  assert_int_equal(info.sr.ntp, si.ntp);
  assert_int_equal(info.n_reports, 1);
  assert_block_equal(&info.reports[0], &rb);
  assert_string_equal(info.cname, "driftless@host");
  assert_string_equal(info.tool, "driftless");
  assert_int_equal(info.n_dlrr, 1);
  assert_int_equal(info.dlrr[0].lrr, 0x12345678u);
  assert_true(info.has_bye);
  assert_int_equal(info.bye_ssrc[0], me);
  assert_string_equal(info.bye_reason, "end of stream");
  assert_int_equal(info.n_packets, 4);
  /* Unpadded it is 136 bytes, and padding to 8 adds nothing. */
  rtcp_builder_init(&b, buf, sizeof buf);
  rtcp_builder_sr(&b, &si, &rb, 1);
  rtcp_builder_sdes(&b, &c, 1);
  rtcp_builder_xr(&b, &xr);
  rtcp_builder_bye(&b, &me, 1, "end of stream");
  assert_int_equal(rtcp_builder_finish(&b, 8), 136);
  assert_int_equal(buf[136 - 24] & 0x20, 0);
}

static void test_rtcp_builder__rr_sdes_xr__receiver_compound(void **state)
{
  (void)state;
  struct rtcp_report_block rb = block_of(0xabcdef01u);
  struct rtcp_sdes_chunk c = {.ssrc = 0x00c0ffeeu, .cname = "rx@host"};
  struct rtcp_voip_metrics v = voip_example();
  struct rtcp_xr xr = {.ssrc = 0x00c0ffeeu, .has_rrt = 1, .rrt_ntp = 77, .voip = &v};
  struct rtcp_builder b;
  struct rtcp_info info;
  uint8_t buf[256];

  rtcp_builder_init(&b, buf, sizeof buf);
  rtcp_builder_rr(&b, 0x00c0ffeeu, &rb, 1);
  rtcp_builder_sdes(&b, &c, 1);
  rtcp_builder_xr(&b, &xr);
  int n = rtcp_builder_finish(&b, 0);
  assert_int_equal(n, 32 + 20 + 8 + 12 + 36);
  assert_int_equal(parse_exact(buf, (size_t)n, &info), RTCP_OK);
  assert_false(info.has_sr);
  assert_int_equal(info.ssrc, 0x00c0ffeeu);
  assert_string_equal(info.cname, "rx@host");
  assert_true(info.has_rrt);
  assert_int_equal(info.rrt_ntp, 77);
  assert_true(info.has_voip);
  assert_voip_equal(&info.voip, &v);
  assert_false(info.has_bye);
}

static void test_rtcp_builder__more_than_31_sources__additional_rr(void **state)
{
  (void)state;
  struct rtcp_report_block rb[40];
  struct rtcp_sender_info si = {.ssrc = 5};
  struct rtcp_sdes_chunk c = {.ssrc = 5, .cname = "x"};
  struct rtcp_builder b;
  struct rtcp_info info;
  uint8_t buf[2048];
  for (int i = 0; i < 40; i++)
    rb[i] = block_of(100u + (uint32_t)i);
  rtcp_builder_init(&b, buf, sizeof buf);
  assert_int_equal(rtcp_builder_sr(&b, &si, rb, 31), 0);
  assert_int_equal(rtcp_builder_rr(&b, 6, rb + 31, 9), RTCP_ERR_ARG);   /* not the reporter */
  rtcp_builder_init(&b, buf, sizeof buf);
  rtcp_builder_sr(&b, &si, rb, 31);
  assert_int_equal(rtcp_builder_rr(&b, 5, rb + 31, 9), 0);
  rtcp_builder_sdes(&b, &c, 1);
  int n = rtcp_builder_finish(&b, 0);
  assert_true(n > 0);
  assert_int_equal(parse_exact(buf, (size_t)n, &info), RTCP_OK);
  /* 40 blocks arrived; the struct keeps 31 and counts the rest. */
  assert_int_equal(info.n_reports, RTCP_MAX_REPORTS);
  assert_int_equal(info.reports_dropped, 9);
  assert_int_equal(info.reports[30].ssrc, 130);
  assert_true(info.has_sr);
}

static void test_rtcp_builder__rule_broken__named_error_sticks(void **state)
{
  (void)state;
  struct rtcp_sender_info si = {.ssrc = 5};
  struct rtcp_sdes_chunk mine = {.ssrc = 5, .cname = "x"};
  struct rtcp_sdes_chunk other = {.ssrc = 6, .cname = "y"};
  struct rtcp_sdes_chunk no_cname = {.ssrc = 5, .name = "n"};
  struct rtcp_xr xr = {.ssrc = 5, .has_rrt = 1};
  uint32_t me = 5;
  struct rtcp_builder b;
  uint8_t buf[256];

#define FRESH() rtcp_builder_init(&b, buf, sizeof buf)
  FRESH();
  assert_int_equal(rtcp_builder_sdes(&b, &mine, 1), RTCP_ERR_ORDER);   /* SDES first */
  assert_int_equal(rtcp_builder_sr(&b, &si, NULL, 0), RTCP_ERR_ORDER); /* sticks */
  assert_int_equal(rtcp_builder_finish(&b, 0), RTCP_ERR_ORDER);
  FRESH();
  assert_int_equal(rtcp_builder_xr(&b, &xr), RTCP_ERR_ORDER);          /* XR first */
  FRESH();
  assert_int_equal(rtcp_builder_finish(&b, 0), RTCP_ERR_ORDER);        /* nothing */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  assert_int_equal(rtcp_builder_sr(&b, &si, NULL, 0), RTCP_ERR_ORDER); /* a second SR */
  FRESH();
  rtcp_builder_rr(&b, 5, NULL, 0);
  assert_int_equal(rtcp_builder_sr(&b, &si, NULL, 0), RTCP_ERR_ORDER); /* SR after RR */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  assert_int_equal(rtcp_builder_xr(&b, &xr), RTCP_ERR_ORDER);          /* XR before SDES */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  assert_int_equal(rtcp_builder_bye(&b, &me, 1, NULL), RTCP_ERR_ORDER); /* BYE before SDES */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  assert_int_equal(rtcp_builder_finish(&b, 0), RTCP_ERR_NO_CNAME);     /* no SDES */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  assert_int_equal(rtcp_builder_sdes(&b, &other, 1), RTCP_ERR_NO_CNAME);
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  assert_int_equal(rtcp_builder_sdes(&b, &no_cname, 1), RTCP_ERR_NO_CNAME);
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  rtcp_builder_bye(&b, &me, 1, NULL);
  assert_int_equal(rtcp_builder_xr(&b, &xr), RTCP_ERR_ORDER);          /* after BYE */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  assert_int_equal(rtcp_builder_sdes(&b, &mine, 1), RTCP_ERR_ORDER);   /* a second SDES */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  assert_int_equal(rtcp_builder_finish(&b, 6), RTCP_ERR_ARG);          /* not words */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  assert_int_equal(rtcp_builder_finish(&b, 260), RTCP_ERR_ARG);        /* count > 255 */
  FRESH();
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  assert_int_equal(rtcp_builder_finish(&b, 256), 256);                 /* 216 of padding */
  assert_int_equal(buf[255], 216);
  assert_int_equal(rtcp_builder_finish(&b, 0), RTCP_ERR_ORDER);        /* twice */
  /* Room: the SR fits, the SDES does not; then padding that does not fit. */
  rtcp_builder_init(&b, buf, 30);
  assert_int_equal(rtcp_builder_sr(&b, &si, NULL, 0), 0);
  assert_int_equal(rtcp_builder_sdes(&b, &mine, 1), RTCP_ERR_NOBUFS);
  assert_int_equal(rtcp_builder_finish(&b, 0), RTCP_ERR_NOBUFS);
  rtcp_builder_init(&b, buf, 40);
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  assert_int_equal(rtcp_builder_finish(&b, 0), 40);
  rtcp_builder_init(&b, buf, 40);
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &mine, 1);
  assert_int_equal(rtcp_builder_finish(&b, 16), RTCP_ERR_NOBUFS);
  rtcp_builder_init(&b, NULL, 100);
  assert_int_equal(rtcp_builder_sr(&b, &si, NULL, 0), RTCP_ERR_NOBUFS);
#undef FRESH
}

/* ---- malformed compounds ------------------------------------------------------- */

#define RR0 "80c90001 11223344 "   /* an empty RR: a valid first packet */

static const struct bad {
  const char *what;
  const char *hex;
  int want;
} bad_table[] = {
  {"empty datagram", "", RTCP_ERR_SHORT},
  {"7 bytes", "80c90001 112233", RTCP_ERR_SHORT},
  {"version 1", "40c90001 11223344", RTCP_ERR_VERSION},
  {"version 0 (STUN-like)", "0001 0000 2112a442", RTCP_ERR_VERSION},
  {"version 3 in the second packet", RR0 "c1ca0002 11223344 01016100", RTCP_ERR_VERSION},
  {"first packet SDES", "81ca0002 11223344 01016100", RTCP_ERR_FIRST_TYPE},
  {"first packet APP", "80cc0002 11223344 6e616d65", RTCP_ERR_FIRST_TYPE},
  {"first packet BYE (reduced-size)", "81cb0001 11223344", RTCP_ERR_FIRST_TYPE},
  {"first packet PSFB (reduced-size)", "81ce0002 11223344 55667788", RTCP_ERR_FIRST_TYPE},
  {"length past the end", "80c90007 11223344", RTCP_ERR_LENGTH},
  {"length 0xffff", "80c9ffff 11223344", RTCP_ERR_LENGTH},
  {"second packet's length past the end", RR0 "81ca0005 11223344 01016100", RTCP_ERR_LENGTH},
  {"2 bytes after the last packet", RR0 "0000", RTCP_ERR_LENGTH_SUM},
  {"3 bytes after the last packet", RR0 "81ca00", RTCP_ERR_LENGTH_SUM},
  {"padding on a packet that is not the last",
   "a0c90002 11223344 00000004 81ca0002 11223344 01016100", RTCP_ERR_PADDING_NOT_LAST},
  {"padding count past the packet", "a0c90002 11223344 0000000c", RTCP_ERR_PADDING_COUNT},
  {"padding count 0", "a0c90002 11223344 00000000", RTCP_ERR_PADDING_COUNT},
  {"padding count 3 (not words)", "a0c90002 11223344 00000003", RTCP_ERR_PADDING_COUNT},
  {"SR of length 0", "80c80000 80c90000", RTCP_ERR_REPORT_SHORT},
  {"SR without all of its sender info", "80c80003 11223344 b44db705 20000000", RTCP_ERR_REPORT_SHORT},
  {"padding eats the RR's SSRC", "a0c90001 00000004", RTCP_ERR_REPORT_SHORT},
  {"RR report count 1 without a block", "81c90001 11223344", RTCP_ERR_REPORT_COUNT},
  {"RR report count 31 with one block",
   "9fc90007 11223344 aabbccdd 00000000 00000000 00000000 00000000 00000000", RTCP_ERR_REPORT_COUNT},
  {"SR report count 2 with one block",
   "82c8000c 11223344 b44db705 20000000 11223344 00000007 00001000"
   " aabbccdd 40fffffe 0001ffff 00000020 b7052000 00054000", RTCP_ERR_REPORT_COUNT},
  {"report blocks eaten by padding",
   "a1c90007 11223344 aabbccdd 00000000 00000000 00000000 00000000 00000008", RTCP_ERR_REPORT_COUNT},
  {"SDES source count 2, one chunk", RR0 "82ca0002 11223344 01016100", RTCP_ERR_SDES_CHUNK},
  {"SDES source count 31 in 4 bytes", RR0 "9fca0000", RTCP_ERR_SDES_CHUNK},
  {"SDES without a terminator", RR0 "81ca0002 11223344 01026162", RTCP_ERR_SDES_END},
  {"SDES chunk SSRC alone", RR0 "81ca0001 11223344", RTCP_ERR_SDES_END},
  {"SDES item past the end", RR0 "81ca0002 11223344 01146162", RTCP_ERR_SDES_ITEM},
  {"SDES item one byte past the end", RR0 "81ca0002 11223344 01036162", RTCP_ERR_SDES_ITEM},
  {"SDES item one byte past a middle packet", RR0 "81ca0002 11223344 01036162 80c90001 11223344",
   RTCP_ERR_SDES_ITEM},
  {"SDES item header cut (type, no length)", RR0 "81ca0002 11223344 01016101", RTCP_ERR_SDES_ITEM},
  {"SDES terminator eaten by padding", RR0 "a1ca0003 11223344 01026162 00000004", RTCP_ERR_SDES_END},
  {"BYE count past the end", RR0 "82cb0001 11223344", RTCP_ERR_BYE_COUNT},
  {"BYE reason past the end", RR0 "81cb0002 11223344 08616263", RTCP_ERR_BYE_REASON},
  {"BYE reason one byte past the end", RR0 "81cb0002 11223344 04616263", RTCP_ERR_BYE_REASON},
  {"XR without its SSRC", RR0 "80cf0000", RTCP_ERR_XR_SHORT},
  {"XR block length past the end", RR0 "80cf0002 11223344 04000002", RTCP_ERR_XR_BLOCK},
  {"XR unknown block past the end", RR0 "80cf0003 11223344 2a000005 00000000", RTCP_ERR_XR_BLOCK},
  {"XR RRT one word past the end", RR0 "80cf0003 11223344 04000002 00000001", RTCP_ERR_XR_BLOCK},
  {"XR RRT of 1 word", RR0 "80cf0003 11223344 04000001 aabbccdd", RTCP_ERR_XR_BLOCK_LENGTH},
  {"XR DLRR of 2 words", RR0 "80cf0004 11223344 05000002 00000001 00000002", RTCP_ERR_XR_BLOCK_LENGTH},
  {"XR VoIP Metrics of 7 words", RR0 "80cf0009 11223344 07000007"
   " 00000000 00000000 00000000 00000000 00000000 00000000 00000000", RTCP_ERR_XR_BLOCK_LENGTH},
};

static void test_rtcp_parse__malformed_table__each_named_error(void **state)
{
  (void)state;
  const size_t ncases = sizeof bad_table / sizeof bad_table[0];
  int seen[RTCP_ERR_SHORT - RTCP_ERR_XR_BLOCK_LENGTH + 1] = {0};
  struct rtcp_info zero, info;
  memset(&zero, 0, sizeof zero);
  assert_true(ncases >= 12);
  for (size_t i = 0; i < ncases; i++) {
    const struct bad *b = &bad_table[i];
    uint8_t d[128];
    size_t len = from_hex(b->hex, d, sizeof d);
    memset(&info, 0x5a, sizeof info);
    int got = parse_exact(d, len, &info);
    printf("rtcp malformed: %-44s -> %d (%s)\n", b->what, got, rtcp_strerror(got));
    if (got != b->want)
      fail_msg("%s: got %d (%s), want %d (%s)", b->what, got, rtcp_strerror(got), b->want,
               rtcp_strerror(b->want));
    /* A refused datagram leaves nothing behind. */
    assert_memory_equal(&info, &zero, sizeof info);
    if (b->want <= RTCP_ERR_SHORT && b->want >= RTCP_ERR_XR_BLOCK_LENGTH)
      seen[RTCP_ERR_SHORT - b->want] = 1;
  }
  /* Every refusal rtcp_parse can give is in the table. */
  for (int e = RTCP_ERR_SHORT; e >= RTCP_ERR_XR_BLOCK_LENGTH; e--)
    if (!seen[RTCP_ERR_SHORT - e])
      fail_msg("no malformed case for %d (%s)", e, rtcp_strerror(e));
  assert_int_equal(rtcp_parse(NULL, 8, &info), RTCP_ERR_SHORT);
  static const uint8_t rr[8] = {0x80, RTCP_PT_RR, 0, 1, 1, 2, 3, 4};
  assert_int_equal(rtcp_parse(rr, sizeof rr, NULL), RTCP_ERR_ARG);
}

/* SR (2 blocks) + SDES + XR (RRT, DLRR, VoIP) + BYE, each packet's end
 * offset in ends[]; returns the length. */
static size_t full_compound(uint8_t *buf, size_t cap, unsigned pad_to, size_t ends[4])
{
  static const struct rtcp_dlrr_item d[2] = {{1, 2, 3}, {4, 5, 6}};
  struct rtcp_sender_info si = {.ssrc = 0x11223344u, .ntp = 0xe9000000c0000000ull,
                                .rtp_ts = 1, .packet_count = 2, .octet_count = 3};
  struct rtcp_report_block rb[2] = {block_of(7), block_of(8)};
  struct rtcp_sdes_chunk c = {.ssrc = 0x11223344u, .cname = "cname@example", .name = "n"};
  struct rtcp_voip_metrics v = voip_example();
  struct rtcp_xr xr = {.ssrc = 0x11223344u, .has_rrt = 1, .rrt_ntp = 9, .dlrr = d, .n_dlrr = 2,
                       .voip = &v};
  uint32_t me = 0x11223344u;
  struct rtcp_builder b;
  size_t off = 0;
  rtcp_builder_init(&b, buf, cap);
  rtcp_builder_sr(&b, &si, rb, 2);
  rtcp_builder_sdes(&b, &c, 1);
  rtcp_builder_xr(&b, &xr);
  rtcp_builder_bye(&b, &me, 1, "bye");
  int n = rtcp_builder_finish(&b, pad_to);
  assert_true(n > 0);
  /* The packets' ends, from their length fields. */
  for (int k = 0; k < 4; k++) {
    off += 4 * (((size_t)buf[off + 2] << 8 | buf[off + 3]) + 1);
    ends[k] = off;
  }
  assert_int_equal(off, n);
  return (size_t)n;
}

static void test_rtcp_parse__every_truncation__refused_without_overread(void **state)
{
  (void)state;
  uint8_t full[512];
  size_t ends[4];
  struct rtcp_info info;
  size_t n = full_compound(full, sizeof full, 0, ends);
  for (size_t len = 0; len <= n; len++) {
    size_t e = 0;
    int boundary = 0, want;
    for (int k = 0; k < 4; k++) {
      if (ends[k] <= len)
        e = ends[k];
      boundary |= ends[k] == len;
    }
    if (boundary)
      want = RTCP_OK;   /* a shorter compound, still whole */
    else if (len < RTCP_MIN_LEN)
      want = RTCP_ERR_SHORT;
    else if (len - e < 4)
      want = RTCP_ERR_LENGTH_SUM;
    else
      want = RTCP_ERR_LENGTH;
    int got = parse_exact(full, len, &info);
    if (got != want)
      fail_msg("%zu of %zu bytes: got %d (%s), want %d", len, n, got, rtcp_strerror(got), want);
  }
  /* The whole, padded to 32: the padding is removed before the BYE is read. */
  n = full_compound(full, sizeof full, 32, ends);
  assert_int_equal(n % 32, 0);
  assert_int_equal(parse_exact(full, n, &info), RTCP_OK);
  assert_string_equal(info.bye_reason, "bye");
  assert_int_equal(info.n_packets, 4);
  for (size_t len = ends[2] + 1; len < n; len++)
    assert_int_equal(parse_exact(full, len, &info), len - ends[2] < 4 ? RTCP_ERR_LENGTH_SUM
                                                                      : RTCP_ERR_LENGTH);
}

static void test_rtcp_parse__unknown_types_and_blocks__skipped_by_length(void **state)
{
  (void)state;
  /* RR, APP, RTPFB (generic NACK), PSFB (PLI), a packet of type 210, XR
   * with an unknown block (type 42) before an RRT, SDES. */
  uint8_t d[128];
  struct rtcp_info info;
  size_t n = from_hex(RR0
                      "80cc0003 11223344 6e616d65 01020304"
                      "81cd0003 11223344 55667788 00050000"
                      "81ce0002 11223344 55667788"
                      "80d20000"
                      "80cf0006 11223344 2a000001 deadbeef 04000002 00000001 00000002"
                      "81ca0002 11223344 01016300",
                      d, sizeof d);
  assert_int_equal(parse_exact(d, n, &info), RTCP_OK);
  assert_int_equal(info.n_packets, 7);
  assert_int_equal(info.n_skipped, 4);
  assert_true(info.has_rrt);
  assert_int_equal(info.rrt_ntp, 0x0000000100000002ull);
  assert_string_equal(info.cname, "c");
}

static void test_rtcp_parse__padding_on_lone_report__accepted(void **state)
{
  (void)state;
  /* The first packet is also the last: padding is allowed there. */
  uint8_t d[32];
  struct rtcp_info info;
  size_t n = from_hex("a0c90003 11223344 00000000 00000008", d, sizeof d);
  assert_int_equal(parse_exact(d, n, &info), RTCP_OK);
  assert_int_equal(info.ssrc, 0x11223344u);
  /* Padding eats all but the SSRC: still an empty RR. */
  n = from_hex("a0c90002 11223344 00000004", d, sizeof d);
  assert_int_equal(parse_exact(d, n, &info), RTCP_OK);
}

static void test_rtcp_is_rtcp__rfc5761_ranges__demultiplexed(void **state)
{
  (void)state;
  uint8_t d[8] = {0x80, 0, 0, 1, 0, 0, 0, 0};
  for (int pt = 0; pt < 256; pt++) {
    d[1] = (uint8_t)pt;
    assert_int_equal(rtcp_is_rtcp(d, sizeof d), pt >= 192 && pt <= 223);
  }
  d[1] = 96;               /* RTP, PT 96 */
  assert_false(rtcp_is_rtcp(d, sizeof d));
  d[1] = 0x80 | 96;        /* with the marker: 224, still RTP */
  assert_false(rtcp_is_rtcp(d, sizeof d));
  d[1] = 0x80 | 72;        /* RTP PT 72 with the marker is 200: why 64..95 are banned */
  assert_true(rtcp_is_rtcp(d, sizeof d));
  assert_false(rtcp_is_rtcp(d, 1));
  assert_false(rtcp_is_rtcp(NULL, 8));
}

/* ---- time ---------------------------------------------------------------------- */

#define S 1000000000LL

static void test_rtcp_ntp__known_instants__exact(void **state)
{
  (void)state;
  assert_int_equal(rtcp_ntp_from_ns(0), (uint64_t)RTCP_NTP_UNIX_OFFSET << 32);
  assert_int_equal(rtcp_ntp_from_ns(0), 0x83aa7e8000000000ull);
  assert_int_equal(rtcp_ntp_from_ns(S / 2) & 0xffffffffu, 0x80000000u);
  assert_int_equal(rtcp_ntp_from_ns(1) & 0xffffffffu, 4);   /* 4.29 truncated */
  /* RFC 3550 6.4.1's example: 10 Nov 1995 11:33:25.125 UTC is
   * 0xb44db705:20000000, and its middle 32 bits are the LSR 0xb7052000. */
  uint64_t ntp = rtcp_ntp_from_ns(816003205LL * S + S / 8);
  assert_int_equal(ntp, 0xb44db70520000000ull);
  assert_int_equal(rtcp_ntp_middle(ntp), 0xb7052000u);
  assert_int_equal(rtcp_ntp_to_ns(ntp), 816003205LL * S + S / 8);
  /* NTP era 1 starts 2036-02-07 06:28:16 UTC: the seconds wrap to 0. */
  assert_int_equal(rtcp_ntp_from_ns(2085978496LL * S), 0);
  assert_int_equal(rtcp_ntp_from_ns(2085978497LL * S), 1ull << 32);
  assert_int_equal(rtcp_ntp_to_ns(0), 2085978496LL * S);
  assert_int_equal(rtcp_ntp_to_ns(0x83aa7e8000000000ull), 0);
  /* The last ns of 2106: an all-ones fraction rounds up to the next second. */
  assert_int_equal(rtcp_ntp_to_ns(0x83aa7e7fffffffffull), (1LL << 32) * S);
  /* Before 1970: floor, not truncation toward zero. */
  assert_int_equal(rtcp_ntp_from_ns(-S / 2), (uint64_t)(RTCP_NTP_UNIX_OFFSET - 1) << 32 | 0x80000000u);
}

static void test_rtcp_ntp__random_instants__exact_round_trip(void **state)
{
  (void)state;
  for (int i = 0; i < 100000; i++) {
    /* Any ns from 1970 to 2106. */
    int64_t ns = (int64_t)(rnd64() % (uint64_t)(((1LL << 32) - 1) * S));
    uint64_t ntp = rtcp_ntp_from_ns(ns);
    int64_t back = rtcp_ntp_to_ns(ntp);
    if (back != ns)
      fail_msg("%lld ns -> %016llx -> %lld ns", (long long)ns, (unsigned long long)ntp, (long long)back);
    /* The fraction is floor(ns * 2^32 / 1e9): frac * 1e9 <= ns * 2^32 <
     * (frac + 1) * 1e9, all in 64 bits. */
    uint64_t frac = ntp & 0xffffffffu, rem = (uint64_t)(ns % S) << 32;
    assert_true(frac * S <= rem && rem < (frac + 1) * S);
  }
}

static void test_rtcp_dlsr__conversions__rounded_and_clamped(void **state)
{
  (void)state;
  assert_int_equal(rtcp_dlsr_from_ns(S), 65536);
  assert_int_equal(rtcp_dlsr_from_ns(5 * S + S / 4), 0x54000);
  assert_int_equal(rtcp_dlsr_to_ns(0x54000), 5 * S + S / 4);
  assert_int_equal(rtcp_dlsr_from_ns(0), 0);
  assert_int_equal(rtcp_dlsr_from_ns(-5 * S), 0);
  /* 1/65536 s is 15258.789 ns: half of it rounds up, less does not. */
  assert_int_equal(rtcp_dlsr_from_ns(7629), 0);
  assert_int_equal(rtcp_dlsr_from_ns(7630), 1);
  assert_int_equal(rtcp_dlsr_to_ns(1), 15259);
  assert_int_equal(rtcp_dlsr_from_ns(65535 * S), 65535u << 16);
  assert_int_equal(rtcp_dlsr_from_ns(65536 * S - 1), 0xffffffffu);
  assert_int_equal(rtcp_dlsr_from_ns(65536 * S), 0xffffffffu);
  assert_int_equal(rtcp_dlsr_from_ns(INT64_MAX), 0xffffffffu);
  assert_int_equal(rtcp_dlsr_to_ns(0xffffffffu), 65536 * S - 15259);
  for (int i = 0; i < 10000; i++) {
    int64_t ns = (int64_t)(rnd64() % (uint64_t)(65535 * S));
    int64_t back = rtcp_dlsr_to_ns(rtcp_dlsr_from_ns(ns));
    assert_true(llabs(back - ns) <= 7630);
  }
}

static void test_rtcp_rtt__rfc_example__6125_ms(void **state)
{
  (void)state;
  /* RFC 3550 6.4.1: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000. */
  assert_int_equal(rtcp_rtt_ns(0xb7108000u, 0xb7052000u, 0x00054000u), 6125000000LL);
  assert_int_equal(rtcp_rtt_ns(0xb7108000u, 0xb7052000u, 0), 11375000000LL);
  assert_int_equal(rtcp_rtt_ns(0xb7108000u, 0xb7052000u, 0x000b6000u), 0);
}

static void test_rtcp_rtt__across_32bit_wrap__positive(void **state)
{
  (void)state;
  /* LSR just before the 16.16 wrap, arrival just after it: 2 s elapsed,
   * 0.5 s held by the receiver, 1.5 s of round trip. */
  assert_int_equal(rtcp_rtt_ns(0x00018000u, 0xffff8000u, 0x00008000u), 1500000000LL);
  assert_int_equal(rtcp_rtt_ns(0x00000000u, 0xffffffffu, 0), 15259);
  /* A real SR and report from NTP times on either side of a wrap. */
  int64_t sent = 0x0000ffffLL * S + S * 9 / 10;            /* ... 65535.9 s into an era */
  uint64_t sr_ntp = rtcp_ntp_from_ns(sent - (int64_t)RTCP_NTP_UNIX_OFFSET * S);
  uint32_t lsr = rtcp_ntp_middle(sr_ntp);
  int64_t hold = 250 * 1000000LL, rtt = 40 * 1000000LL;
  uint32_t arrival = rtcp_ntp_middle(rtcp_ntp_from_ns(sent + hold + rtt - (int64_t)RTCP_NTP_UNIX_OFFSET * S));
  assert_true(arrival < lsr);   /* the middle 32 bits wrapped */
  int64_t got = rtcp_rtt_ns(arrival, lsr, rtcp_dlsr_from_ns(hold));
  /* Off by the rounding of three 16.16 values: LSR, arrival and DLSR. */
  assert_true(llabs(got - rtt) <= 3 * 15259);
}

static void test_rtcp_rtt__no_sr_or_future__errors(void **state)
{
  (void)state;
  assert_int_equal(rtcp_rtt_ns(0x12345678u, 0, 0), RTCP_ERR_NO_SR);
  assert_int_equal(rtcp_rtt_ns(0x12345678u, 0, 0x100), RTCP_ERR_NO_SR);
  /* DLSR longer than the time since the SR. */
  assert_int_equal(rtcp_rtt_ns(0x00020000u, 0x00010000u, 0x00010001u), RTCP_ERR_RTT_NEGATIVE);
  /* Arrival before the SR was sent (the clock stepped back). */
  assert_int_equal(rtcp_rtt_ns(0x00010000u, 0x00020000u, 0), RTCP_ERR_RTT_NEGATIVE);
  assert_int_equal(rtcp_rtt_ns(0x80000001u, 0x00000001u, 0), RTCP_ERR_RTT_NEGATIVE);
  assert_int_equal(rtcp_rtt_ns(0x80000000u, 0x00000001u, 0), rtcp_dlsr_to_ns(0x7fffffffu));
}

/* ---- report statistics ------------------------------------------------------------ */

static void test_rtcp_fraction_lost__truncation_and_negative(void **state)
{
  (void)state;
  static const struct {
    uint32_t expected, received;
    uint8_t want;
  } cases[] = {
    {0, 0, 0},        /* nothing expected */
    {0, 5, 0},
    {100, 100, 0},
    {100, 90, 25},    /* 25.6 truncated, as A.3 does */
    {3, 2, 85},       /* 85.33 */
    {3, 1, 170},      /* 170.67: truncated, not rounded */
    {100, 99, 2},     /* 2.56 */
    {257, 256, 0},    /* 0.996 */
    {256, 255, 1},
    {2, 1, 128},
    {10, 12, 0},      /* duplicates: negative loss */
    {1, 0, 255},      /* all lost: 256 does not fit, 255 */
    {1000, 0, 255},
    {0xffffffffu, 0, 255},
    {0xffffffffu, 0x7fffffffu, 128},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t got = rtcp_fraction_lost(cases[i].expected, cases[i].received);
    if (got != cases[i].want)
      fail_msg("expected %u received %u: got %u, want %u", cases[i].expected, cases[i].received,
               got, cases[i].want);
  }
}

static void test_rtcp_rxstats_report__intervals__fraction_and_cumulative(void **state)
{
  (void)state;
  struct rtcp_rxstats s;
  struct rtcp_report_block rb = {0};
  rtcp_rxstats_init(&s);
  rtcp_rxstats_report(&s, 100, 90, &rb);
  assert_int_equal(rb.fraction_lost, 25);
  assert_int_equal(rb.cumulative_lost, 10);
  rtcp_rxstats_report(&s, 200, 185, &rb);     /* 5 of 100 this interval */
  assert_int_equal(rb.fraction_lost, 12);
  assert_int_equal(rb.cumulative_lost, 15);
  rtcp_rxstats_report(&s, 300, 300, &rb);     /* 115 of 100 arrived: duplicates */
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.cumulative_lost, 0);
  rtcp_rxstats_report(&s, 310, 320, &rb);     /* more received than expected overall */
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.cumulative_lost, -10);
  rtcp_rxstats_report(&s, 310, 320, &rb);     /* nothing new */
  assert_int_equal(rb.fraction_lost, 0);
  assert_int_equal(rb.cumulative_lost, -10);
  /* Clamps of the 24-bit field. */
  rtcp_rxstats_init(&s);
  rtcp_rxstats_report(&s, 0x900000, 0, &rb);
  assert_int_equal(rb.cumulative_lost, 0x7fffff);
  assert_int_equal(rb.fraction_lost, 255);
  rtcp_rxstats_init(&s);
  rtcp_rxstats_report(&s, 0, 0x900000, &rb);
  assert_int_equal(rb.cumulative_lost, -0x800000);
  /* Counts that wrap modulo 2^32 between reports. */
  rtcp_rxstats_init(&s);
  s.expected_prior = 0xfffffff0u;
  s.received_prior = 0xfffffff0u;
  rtcp_rxstats_report(&s, 0x10, 0x0c, &rb);   /* 32 expected, 28 received */
  assert_int_equal(rb.fraction_lost, 32);
  assert_int_equal(rb.cumulative_lost, 4);
}

static void test_rtcp_rxstats_jitter__hand_values_and_wrap(void **state)
{
  (void)state;
  struct rtcp_rxstats s;
  rtcp_rxstats_init(&s);
  /* Transit 1000, 1160, 1000, 1000 RTP units: |D| 160, 160, 0. */
  rtcp_rxstats_arrival(&s, 0, 1000);
  assert_int_equal(rtcp_rxstats_jitter(&s), 0);   /* the first packet sets transit only */
  rtcp_rxstats_arrival(&s, 960, 960 + 1160);
  assert_int_equal(s.jitter_q4, 160);             /* 0 + 160 - (0 + 8) / 16 */
  assert_int_equal(rtcp_rxstats_jitter(&s), 10);
  rtcp_rxstats_arrival(&s, 1920, 1920 + 1000);
  assert_int_equal(s.jitter_q4, 310);             /* 160 + 160 - 168 / 16 */
  assert_int_equal(rtcp_rxstats_jitter(&s), 19);
  rtcp_rxstats_arrival(&s, 2880, 2880 + 1000);
  assert_int_equal(s.jitter_q4, 291);             /* 310 + 0 - 318 / 16 */
  assert_int_equal(rtcp_rxstats_jitter(&s), 18);
  struct rtcp_report_block rb;
  rtcp_rxstats_report(&s, 4, 4, &rb);
  assert_int_equal(rb.jitter, 18);
  /* The rounding of (J + 8) / 16: |D| 24, then 0: 24, then 24 - 32 / 16. */
  rtcp_rxstats_init(&s);
  rtcp_rxstats_arrival(&s, 0, 0);
  rtcp_rxstats_arrival(&s, 960, 960 + 24);
  assert_int_equal(s.jitter_q4, 24);
  rtcp_rxstats_arrival(&s, 1920, 1920 + 24);
  assert_int_equal(s.jitter_q4, 22);

  /* Constant transit across both the timestamp and the arrival wrap. */
  rtcp_rxstats_init(&s);
  for (uint32_t k = 0; k < 100; k++)
    rtcp_rxstats_arrival(&s, 0xfffff000u + 960 * k, 0xffffff00u + 960 * k);
  assert_int_equal(rtcp_rxstats_jitter(&s), 0);
  /* Alternating +-480 across the wraps: |D| = 960 each time after the first. */
  rtcp_rxstats_init(&s);
  for (uint32_t k = 0; k < 2000; k++)
    rtcp_rxstats_arrival(&s, 0xfff00000u + 960 * k, 0xfff00000u + 960 * k + (k % 2 ? 480u : (uint32_t)-480));
  assert_in_range(rtcp_rxstats_jitter(&s), 958, 960);
}

static void test_rtcp_rxstats_jitter__random__tracks_float_formula(void **state)
{
  (void)state;
  struct rtcp_rxstats s;
  double j = 0, prev = 0;
  rtcp_rxstats_init(&s);
  /* A.8's float form J += (|D| - J) / 16 beside the integer one: each
   * integer step rounds by at most half a 1/16 unit, which decays by 15/16
   * per step, so J * 16 stays within 8 units (half an RTP unit) and the
   * reported floor within 1.5 RTP units of the float J. */
  for (int k = 0; k < 20000; k++) {
    uint32_t ts = 960u * (uint32_t)k;
    double transit = 5000 + (double)(rnd() % 4000);
    rtcp_rxstats_arrival(&s, ts, ts + (uint32_t)transit);
    if (k > 0)
      j += (fabs(transit - prev) - j) / 16.0;
    prev = transit;
    if (fabs((double)rtcp_rxstats_jitter(&s) - j) > 1.5)
      fail_msg("packet %d: integer jitter %u, float %.3f", k, rtcp_rxstats_jitter(&s), j);
  }
  assert_true(j > 1000);   /* uniform 0..4000 transit: E|D| = 1333 */
}

static void test_rtcp_rtp_units__ns_to_48k__exact_and_wrapping(void **state)
{
  (void)state;
  assert_int_equal(rtcp_rtp_units(0, 48000), 0);
  assert_int_equal(rtcp_rtp_units(S, 48000), 48000);
  assert_int_equal(rtcp_rtp_units(20 * 1000000LL, 48000), 960);
  assert_int_equal(rtcp_rtp_units(20833, 48000), 0);     /* 0.99998 of a sample */
  assert_int_equal(rtcp_rtp_units(20834, 48000), 1);
  /* 2^32 / 48000 s later the units wrap to where they were. */
  int64_t t = 123456789012345LL;
  assert_int_equal(rtcp_rtp_units(t, 48000), (uint32_t)((unsigned __int128)t * 48000 / S));
  assert_int_equal(rtcp_rtp_units(-5, 48000), 0);
}

/* ---- VoIP Metrics encodings ------------------------------------------------------- */

static void test_rtcp_xr_encodings__rfc3611_rules(void **state)
{
  (void)state;
  assert_int_equal(rtcp_xr_rate(0), 0);
  assert_int_equal(rtcp_xr_rate(0.5), 128);
  assert_int_equal(rtcp_xr_rate(0.05), 12);       /* 12.8 truncated */
  assert_int_equal(rtcp_xr_rate(1.0 / 256), 1);
  assert_int_equal(rtcp_xr_rate(0.999), 255);
  assert_int_equal(rtcp_xr_rate(1.0), 255);        /* limited to 255 */
  assert_int_equal(rtcp_xr_rate(7.0), 255);
  assert_int_equal(rtcp_xr_rate(-0.1), 0);
  assert_int_equal(rtcp_xr_rate(NAN), 0);
  assert_int_equal(rtcp_xr_mos(4.41), 44);
  assert_int_equal(rtcp_xr_mos(4.45), 45);
  assert_int_equal(rtcp_xr_mos(1.0), 10);
  assert_int_equal(rtcp_xr_mos(0.5), 10);
  assert_int_equal(rtcp_xr_mos(5.0), 50);
  assert_int_equal(rtcp_xr_mos(6.0), 50);
  assert_int_equal(rtcp_xr_mos(NAN), RTCP_XR_UNAVAILABLE);
  assert_int_equal(rtcp_xr_r(93.2), 93);
  assert_int_equal(rtcp_xr_r(93.5), 94);
  assert_int_equal(rtcp_xr_r(-3), 0);
  assert_int_equal(rtcp_xr_r(120), 100);
  assert_int_equal(rtcp_xr_r(NAN), RTCP_XR_UNAVAILABLE);
  assert_int_equal(RTCP_XR_RX_CONFIG(RTCP_XR_PLC_STANDARD, RTCP_XR_JB_FIXED, 0), 0xa0);
  assert_int_equal(RTCP_XR_RX_CONFIG(RTCP_XR_PLC_SILENCE, 0, 15), 0x4f);
}

/* ---- transmission interval ---------------------------------------------------------- */

static const double compensation = 2.718281828459045 - 1.5;

/* A 40 kbit/s session: RTCP gets 5 %, 250 bytes/s. */
static struct rtcp_interval_params two_party(void)
{
  struct rtcp_interval_params p = {
    .members = 2, .senders = 1, .rtcp_bw = 40000 / 8 * DL_RTCP_BW_PERMILLE / 1000.0,
    .avg_rtcp_size = DL_RTCP_INITIAL_AVG_SIZE, .we_sent = 1, .initial = 0,
  };
  return p;
}

static void assert_interval(const struct rtcp_interval_params *p, double u, double want_s)
{
  int64_t got = rtcp_interval_ns(p, u);
  if (llabs(got - (int64_t)llround(want_s * 1e9)) > 1)
    fail_msg("u %.3f: got %lld ns, want %.9f s", u, (long long)got, want_s);
}

static void test_rtcp_interval__two_party__minimum_randomised_and_compensated(void **state)
{
  (void)state;
  struct rtcp_interval_params p = two_party();
  assert_true(p.rtcp_bw == 250);
  /* 128 * 2 / 250 = 1.024 s is below the 5 s minimum. */
  assert_interval(&p, 0.0, 5 * 0.5 / compensation);
  assert_interval(&p, 0.5, 5 * 1.0 / compensation);
  assert_interval(&p, 0.25, 5 * 0.75 / compensation);
  assert_interval(&p, 1.0, 5 * 1.5 / compensation);
  assert_interval(&p, -3.0, 5 * 0.5 / compensation);   /* clamped */
  assert_interval(&p, 3.0, 5 * 1.5 / compensation);
  /* Before the first report the minimum is halved. */
  p.initial = 1;
  assert_interval(&p, 0.5, 2.5 / compensation);
  assert_interval(&p, 0.0, 2.5 * 0.5 / compensation);
  /* A caller's minimum. */
  p.initial = 0;
  p.min_interval_ns = 1000000000;
  assert_interval(&p, 0.5, 1.024 / compensation);      /* now the bandwidth rules */
  p.min_interval_ns = 2000000000;
  assert_interval(&p, 0.5, 2.0 / compensation);
}

/* The draw the programs feed to rtcp_interval_ns: in [0, 1), the state
 * moved on each time, the same sequence from the same seed, and spread
 * over the whole range (mean near 1/2, both quarters reached). */
static void test_rtcp_interval_draw__seeded__uniform_in_unit_range(void **state)
{
  (void)state;
  uint64_t a = 0x9e3779b97f4a7c15ull | 1, b = a, prev = a;
  double sum = 0, lo = 1, hi = 0;
  for (int i = 0; i < 10000; i++) {
    double u = rtcp_interval_draw(&a);
    assert_true(u >= 0.0 && u < 1.0);
    assert_true(a != prev);
    prev = a;
    assert_true(u == rtcp_interval_draw(&b));
    sum += u;
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
  }
  assert_true(sum / 10000 > 0.48 && sum / 10000 < 0.52);
  assert_true(lo < 0.25 && hi > 0.75);
}

static void test_rtcp_interval__seeded_draws__within_half_to_three_halves(void **state)
{
  (void)state;
  struct rtcp_interval_params p = two_party();
  double lo = 5 * 0.5 / compensation, hi = 5 * 1.5 / compensation, sum = 0, mn = 1e9, mx = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; i++) {
    double t = rtcp_interval_ns(&p, rnd_unit()) / 1e9;
    assert_true(t >= lo - 1e-9 && t <= hi + 1e-9);
    sum += t;
    mn = t < mn ? t : mn;
    mx = t > mx ? t : mx;
  }
  printf("rtcp interval: %d draws in [%.4f, %.4f] s (bounds %.4f, %.4f), mean %.4f s (want %.4f)\n",
         draws, mn, mx, lo, hi, sum / draws, 5 / compensation);
  /* Uniform on [lo, hi): the mean is 5 s / (e - 3/2) within 1 %. */
  assert_true(fabs(sum / draws - 5 / compensation) < 0.01 * 5 / compensation);
}

static void test_rtcp_interval__large_session__bandwidth_split(void **state)
{
  (void)state;
  struct rtcp_interval_params p = two_party();
  /* 1000 members, 1 sender: receivers share 3/4 of 250 bytes/s among 999. */
  p.members = 1000;
  p.senders = 1;
  p.we_sent = 0;
  assert_interval(&p, 0.5, 128.0 * 999 / (250 * 0.75) / compensation);
  /* The sender has a quarter to itself: 128 / 62.5 = 2.048 s, below the minimum. */
  p.we_sent = 1;
  assert_interval(&p, 0.5, 5 / compensation);
  p.avg_rtcp_size = 1000;   /* 16 s */
  assert_interval(&p, 0.5, 1000 / 62.5 / compensation);
  /* Senders over a quarter of the members: no split, all share it. */
  p.members = 8;
  p.senders = 3;
  p.avg_rtcp_size = 500;
  assert_interval(&p, 0.5, 500.0 * 8 / 250 / compensation);
  /* Broken inputs fall back to the minimum, never to 0 or NaN. */
  p = two_party();
  p.rtcp_bw = 0;
  assert_interval(&p, 0.5, 5 / compensation);
  p.rtcp_bw = NAN;
  assert_interval(&p, 0.5, 5 / compensation);
  p = two_party();
  p.avg_rtcp_size = NAN;
  assert_interval(&p, 0.5, 5 / compensation);
  p = two_party();
  p.members = 0;
  p.senders = 5;
  assert_interval(&p, 0.5, 5 / compensation);
  /* Too small a bandwidth: saturated, not overflowed. */
  p = two_party();
  p.rtcp_bw = 1e-12;
  assert_int_equal(rtcp_interval_ns(&p, 0.5), INT64_MAX);
}

static void test_rtcp_avg_size_update__sixteenth_moving_average(void **state)
{
  (void)state;
  double avg = DL_RTCP_INITIAL_AVG_SIZE;
  avg = rtcp_avg_size_update(avg, 128 + 160);
  assert_true(avg == 128 + 10);
  for (int i = 0; i < 400; i++)
    avg = rtcp_avg_size_update(avg, 100);
  assert_true(fabs(avg - 100) < 1e-6);
}

/* ---- random round trip ------------------------------------------------------------ */

static void random_text(char *out, int maybe_null, const char **ptr)
{
  size_t len = rnd() % 8 == 0 ? RTCP_MAX_TEXT - rnd() % 3 : rnd() % 40;
  if (maybe_null && rnd() % 2) {
    *ptr = NULL;
    return;
  }
  for (size_t i = 0; i < len; i++)
    out[i] = (char)(0x20 + rnd() % 95);
  out[len] = '\0';
  *ptr = out;
}

static void test_rtcp__seeded_random_compounds__round_trip(void **state)
{
  (void)state;
  static uint8_t buf[16384];
  static char texts[4][3][RTCP_MAX_TEXT + 1], reason_text[RTCP_MAX_TEXT + 1];
  static const unsigned pads[] = {0, 4, 8, 16, 32, 64, 128, 256};
  const int iterations = 3000;
  for (int it = 0; it < iterations; it++) {
    struct rtcp_sender_info si = {0};
    struct rtcp_report_block rb[RTCP_MAX_REPORTS];
    struct rtcp_sdes_chunk ch[4];
    struct rtcp_dlrr_item dl[RTCP_MAX_DLRR];
    struct rtcp_voip_metrics v;
    struct rtcp_xr xr = {0};
    uint32_t me = rnd(), bye[RTCP_MAX_BYE];
    int is_sr = rnd() % 2, has_xr = rnd() % 2, has_bye = rnd() % 2;
    unsigned nrb = rnd() % (RTCP_MAX_REPORTS + 1), nch = 1 + rnd() % 4, mine = rnd() % nch;
    unsigned nbye = rnd() % (RTCP_MAX_BYE + 1), pad_to = pads[rnd() % 8];
    const char *reason = NULL;
    struct rtcp_builder b;
    struct rtcp_info info;

    si = (struct rtcp_sender_info){me, rnd64(), rnd(), rnd(), rnd()};
    for (unsigned i = 0; i < nrb; i++)
      rb[i] = (struct rtcp_report_block){rnd(), (uint8_t)rnd(),
                                         (int32_t)(rnd() % 0x1000000) - 0x800000,
                                         rnd(), rnd(), rnd(), rnd()};
    for (unsigned i = 0; i < nch; i++) {
      ch[i].ssrc = i == mine ? me : rnd();
      if (i != mine && ch[i].ssrc == me)
        ch[i].ssrc ^= 1;
      random_text(texts[i][0], i != mine, &ch[i].cname);
      random_text(texts[i][1], 1, &ch[i].name);
      random_text(texts[i][2], 1, &ch[i].tool);
    }
    for (unsigned i = 0; i < RTCP_MAX_DLRR; i++)
      dl[i] = (struct rtcp_dlrr_item){rnd(), rnd(), rnd()};
    for (size_t i = 0; i < sizeof v; i++)
      ((uint8_t *)&v)[i] = (uint8_t)rnd();
    xr.ssrc = me;
    xr.has_rrt = rnd() % 2;
    xr.rrt_ntp = rnd64();
    xr.dlrr = dl;
    xr.n_dlrr = rnd() % (RTCP_MAX_DLRR + 1);
    xr.voip = rnd() % 2 ? &v : NULL;
    for (unsigned i = 0; i < nbye; i++)
      bye[i] = rnd();
    random_text(reason_text, 1, &reason);

    rtcp_builder_init(&b, buf, sizeof buf);
    if (is_sr)
      rtcp_builder_sr(&b, &si, rb, nrb);
    else
      rtcp_builder_rr(&b, me, rb, nrb);
    rtcp_builder_sdes(&b, ch, nch);
    if (has_xr)
      rtcp_builder_xr(&b, &xr);
    if (has_bye)
      rtcp_builder_bye(&b, bye, nbye, reason);
    int n = rtcp_builder_finish(&b, pad_to);
    if (n <= 0)
      fail_msg("iteration %d: builder %d (%s)", it, n, rtcp_strerror(n));
    if (pad_to)
      assert_int_equal(n % (int)pad_to, 0);
    int rc = parse_exact(buf, (size_t)n, &info);
    if (rc != RTCP_OK)
      fail_msg("iteration %d: parse %d (%s)", it, rc, rtcp_strerror(rc));

    assert_int_equal(info.ssrc, me);
    assert_int_equal(info.has_sr, is_sr);
    if (is_sr) {
      assert_int_equal(info.sr.ntp, si.ntp);
      assert_int_equal(info.sr.rtp_ts, si.rtp_ts);
      assert_int_equal(info.sr.packet_count, si.packet_count);
      assert_int_equal(info.sr.octet_count, si.octet_count);
    }
    assert_int_equal(info.n_reports, nrb);
    for (unsigned i = 0; i < nrb; i++)
      assert_block_equal(&info.reports[i], &rb[i]);
    assert_int_equal(info.n_sdes_chunks, nch);
    for (unsigned i = 0; i < nch; i++)
      assert_int_equal(info.sdes_ssrc[i], ch[i].ssrc);
    assert_true(info.has_cname);
    assert_string_equal(info.cname, ch[mine].cname);
    assert_int_equal(info.has_name, ch[mine].name != NULL);
    if (ch[mine].name)
      assert_string_equal(info.name, ch[mine].name);
    assert_int_equal(info.has_tool, ch[mine].tool != NULL);
    if (ch[mine].tool)
      assert_string_equal(info.tool, ch[mine].tool);
    assert_int_equal(info.has_xr, has_xr);
    if (has_xr) {
      assert_int_equal(info.has_rrt, xr.has_rrt);
      if (xr.has_rrt)
        assert_int_equal(info.rrt_ntp, xr.rrt_ntp);
      assert_int_equal(info.n_dlrr, xr.n_dlrr);
      for (unsigned i = 0; i < xr.n_dlrr; i++) {
        assert_int_equal(info.dlrr[i].ssrc, dl[i].ssrc);
        assert_int_equal(info.dlrr[i].lrr, dl[i].lrr);
        assert_int_equal(info.dlrr[i].dlrr, dl[i].dlrr);
      }
      assert_int_equal(info.has_voip, xr.voip != NULL);
      if (xr.voip)
        assert_voip_equal(&info.voip, &v);
    }
    assert_int_equal(info.has_bye, has_bye);
    if (has_bye) {
      assert_int_equal(info.n_bye, nbye);
      for (unsigned i = 0; i < nbye; i++)
        assert_int_equal(info.bye_ssrc[i], bye[i]);
      assert_int_equal(info.has_bye_reason, reason != NULL);
      if (reason)
        assert_string_equal(info.bye_reason, reason);
    }
    assert_int_equal(info.n_packets, 2 + has_xr + has_bye);
    assert_int_equal(info.n_skipped, 0);
  }
}

/* ---- random damage ---------------------------------------------------------------- */

static void test_rtcp_parse__seeded_random_damage__known_result_no_overread(void **state)
{
  (void)state;
  uint8_t full[512], d[600];
  size_t ends[4];
  size_t n = full_compound(full, sizeof full, 32, ends);
  unsigned ok = 0, codes = 0;
  unsigned hits[RTCP_ERR_SHORT - RTCP_ERR_XR_BLOCK_LENGTH + 1] = {0};
  struct rtcp_info info;
  for (int it = 0; it < 50000; it++) {
    size_t len = n;
    memcpy(d, full, n);
    for (unsigned m = 1 + rnd() % 3; m > 0; m--) {
      size_t at = rnd() % len;
      switch (rnd() % 4) {
      case 0: d[at] = (uint8_t)rnd(); break;
      case 1: d[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
      case 2: d[at & ~(size_t)3] = (uint8_t)(0x80 | (rnd() % 64)); break;   /* a header byte */
      default: len = at + 1 + rnd() % (sizeof d - at - 1); break;          /* cut or extend */
      }
    }
    int rc = parse_exact(d, len, &info);
    if (rc == RTCP_OK) {
      ok++;
      assert_true(info.n_reports <= RTCP_MAX_REPORTS && info.n_dlrr <= RTCP_MAX_DLRR);
      assert_true(info.n_bye <= RTCP_MAX_BYE && info.n_sdes_chunks <= RTCP_MAX_SDES_CHUNKS);
      assert_true(strlen(info.cname) <= RTCP_MAX_TEXT);
      assert_true(info.n_packets >= 1 && info.n_packets <= len / 4);
      continue;
    }
    if (rc > RTCP_ERR_SHORT || rc < RTCP_ERR_XR_BLOCK_LENGTH)
      fail_msg("iteration %d: %d is not a parse error", it, rc);
    hits[RTCP_ERR_SHORT - rc]++;
  }
  for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++)
    codes += hits[i] > 0;
  printf("rtcp damage: 50000 damaged compounds, %u parsed, %u distinct refusals\n", ok, codes);
}

static void test_rtcp_strerror__every_code__distinct_text(void **state)
{
  (void)state;
  int codes[RTCP_ERR_SHORT - RTCP_ERR_RTT_NEGATIVE + 4];
  const size_t n = sizeof codes / sizeof codes[0];
  codes[0] = RTCP_OK;
  codes[1] = RTCP_ERR_NOBUFS;
  codes[2] = RTCP_ERR_ARG;
  for (size_t i = 3; i < n; i++)
    codes[i] = RTCP_ERR_SHORT - (int)(i - 3);
  for (size_t i = 0; i < n; i++) {
    assert_string_not_equal(rtcp_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(rtcp_strerror(codes[i]), rtcp_strerror(codes[j]));
  }
  assert_string_equal(rtcp_strerror(-1), "unknown error");
  assert_string_equal(rtcp_strerror(RTCP_ERR_BASE), "unknown error");
  assert_string_equal(rtcp_strerror(RTCP_ERR_RTT_NEGATIVE - 1), "unknown error");
  /* Apart from errno values and from rtp's range below -1000. */
  for (size_t i = 3; i < n; i++)
    assert_true(codes[i] < -1100 && codes[i] > -1200);
}

/* The members table: heard again is one member; full, the one heard
 * longest ago gives way and the count saturates; expiry and BYE remove. */
static void test_rtcp_members__full_table__oldest_gives_way(void **state)
{
  (void)state;
  static struct rtcp_members m;
  unsigned k;

  memset(&m, 0, sizeof m);
  rtcp_members_heard(&m, 7, 100);
  rtcp_members_heard(&m, 7, 200);
  assert_int_equal(m.n, 1);
  for (k = 0; k < RTCP_MEMBERS_MAX + 10; k++)
    rtcp_members_heard(&m, 1000 + k, 300 + (int64_t)k);
  assert_int_equal(m.n, RTCP_MEMBERS_MAX);
  assert_false(rtcp_members_has(&m, 7));         /* heard at 200: the first to go */
  assert_false(rtcp_members_has(&m, 1000 + 9));
  assert_true(rtcp_members_has(&m, 1000 + 10));
  assert_true(rtcp_members_has(&m, 1000 + RTCP_MEMBERS_MAX + 9));
  rtcp_members_left(&m, 1000 + 10);
  assert_int_equal(m.n, RTCP_MEMBERS_MAX - 1);
  rtcp_members_left(&m, 424242);                 /* not a member: nothing */
  assert_int_equal(m.n, RTCP_MEMBERS_MAX - 1);
  /* Heard at 300 + k; at 400 with a timeout of 50, those with k < 50 left
   * (k = 11..49: 39 of them). */
  assert_int_equal(rtcp_members_expire(&m, 400, 50), RTCP_MEMBERS_MAX - 1 - 39);
  assert_int_equal(rtcp_members_expire(&m, 1000000, 50), 0);
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  uint64_t seed = s ? strtoull(s, NULL, 0) : 3550u;
  printf("test_rtcp: seed %llu (DL_SEED=N to change)\n", (unsigned long long)seed);
  rng_state = seed ? seed : 1;

  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtcp_pack_sr__one_block__rfc_layout_bytes),
    cmocka_unit_test(test_rtcp_sr__round_trip__fields_kept),
    cmocka_unit_test(test_rtcp_rr__round_trip__fields_kept),
    cmocka_unit_test(test_rtcp_pack_report__limits__arg_or_nobufs),
    cmocka_unit_test(test_rtcp_pack_block__cumulative_lost__clamped_to_24_bits),
    cmocka_unit_test(test_rtcp_pack_sdes__cname__rfc_layout_bytes),
    cmocka_unit_test(test_rtcp_pack_sdes__every_length__terminated_and_word_aligned),
    cmocka_unit_test(test_rtcp_sdes__chunks_with_name_and_tool__reporter_items_kept),
    cmocka_unit_test(test_rtcp_sdes__unknown_items_and_second_cname__skipped),
    cmocka_unit_test(test_rtcp_pack_sdes__bad_arguments__arg),
    cmocka_unit_test(test_rtcp_pack_bye__reason__rfc_layout_bytes),
    cmocka_unit_test(test_rtcp_bye__round_trip__ssrcs_and_reason),
    cmocka_unit_test(test_rtcp_pack_xr__rrt_dlrr_voip__rfc3611_layout_bytes),
    cmocka_unit_test(test_rtcp_xr__round_trip__rrt_dlrr_voip),
    cmocka_unit_test(test_rtcp_parse__dlrr_over_bound__kept_and_dropped_counted),
    cmocka_unit_test(test_rtcp_builder__sr_sdes_xr_bye_padded__parses_back),
    cmocka_unit_test(test_rtcp_builder__rr_sdes_xr__receiver_compound),
    cmocka_unit_test(test_rtcp_builder__more_than_31_sources__additional_rr),
    cmocka_unit_test(test_rtcp_builder__rule_broken__named_error_sticks),
    cmocka_unit_test(test_rtcp_parse__malformed_table__each_named_error),
    cmocka_unit_test(test_rtcp_parse__every_truncation__refused_without_overread),
    cmocka_unit_test(test_rtcp_parse__unknown_types_and_blocks__skipped_by_length),
    cmocka_unit_test(test_rtcp_parse__padding_on_lone_report__accepted),
    cmocka_unit_test(test_rtcp_is_rtcp__rfc5761_ranges__demultiplexed),
    cmocka_unit_test(test_rtcp_ntp__known_instants__exact),
    cmocka_unit_test(test_rtcp_ntp__random_instants__exact_round_trip),
    cmocka_unit_test(test_rtcp_dlsr__conversions__rounded_and_clamped),
    cmocka_unit_test(test_rtcp_rtt__rfc_example__6125_ms),
    cmocka_unit_test(test_rtcp_rtt__across_32bit_wrap__positive),
    cmocka_unit_test(test_rtcp_rtt__no_sr_or_future__errors),
    cmocka_unit_test(test_rtcp_fraction_lost__truncation_and_negative),
    cmocka_unit_test(test_rtcp_rxstats_report__intervals__fraction_and_cumulative),
    cmocka_unit_test(test_rtcp_rxstats_jitter__hand_values_and_wrap),
    cmocka_unit_test(test_rtcp_rxstats_jitter__random__tracks_float_formula),
    cmocka_unit_test(test_rtcp_rtp_units__ns_to_48k__exact_and_wrapping),
    cmocka_unit_test(test_rtcp_xr_encodings__rfc3611_rules),
    cmocka_unit_test(test_rtcp_interval__two_party__minimum_randomised_and_compensated),
    cmocka_unit_test(test_rtcp_interval__seeded_draws__within_half_to_three_halves),
    cmocka_unit_test(test_rtcp_interval_draw__seeded__uniform_in_unit_range),
    cmocka_unit_test(test_rtcp_members__full_table__oldest_gives_way),
    cmocka_unit_test(test_rtcp_interval__large_session__bandwidth_split),
    cmocka_unit_test(test_rtcp_avg_size_update__sixteenth_moving_average),
    cmocka_unit_test(test_rtcp__seeded_random_compounds__round_trip),
    cmocka_unit_test(test_rtcp_parse__seeded_random_damage__known_result_no_overread),
    cmocka_unit_test(test_rtcp_strerror__every_code__distinct_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
