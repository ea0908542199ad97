/* common/wire/sap (RFC 2974) and sdp_parse: build -> parse round trips,
 * a table of malformed SAP packets and SDP texts, each refused with its
 * own error, and the discovery rule: only an exact name matches. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wire/sap.h"
#include "wire/sdp.h"

static const char *our_sdp(char *buf, size_t cap, const char *name, const char *crypto)
{
  struct sdp_params p = {0};
  p.addr = "239.1.2.3";
  p.port = 5004;
  p.pt = 97;
  p.channels = 2;
  p.bitrate = 64000;
  p.fec = 1;
  p.frame_us = 20000;
  p.ssrc = 305419896;
  p.session_id = 7;
  p.session_name = name;
  p.crypto = crypto;
  assert_true(sdp_write(&p, buf, cap) > 0);
  return buf;
}

/* A SAP header (IPv4 origin 192.0.2.1) with flags, auth words, then tail. */
static size_t sap_raw(uint8_t *out, uint8_t b0, uint8_t auth, const void *tail, size_t n)
{
  static const uint8_t origin[4] = {192, 0, 2, 1};
  out[0] = b0;
  out[1] = auth;
  out[2] = 0x12;
  out[3] = 0x34;
  memcpy(out + 4, origin, 4);
  memcpy(out + 8, tail, n);
  return 8 + n;
}

static void test_sap_build__announcement__parses_back(void **state)
{
  (void)state;
  char sdp[1024];
  uint8_t pkt[SAP_MAX_BUILD];
  struct sap_msg m = {0}, got;
  struct sdp_info info;
  int n;

  our_sdp(sdp, sizeof sdp, "Kitchen speaker", NULL);
  m.origin[0] = 10, m.origin[1] = 0, m.origin[2] = 0, m.origin[3] = 7;
  m.payload = (const uint8_t *)sdp;
  m.payload_len = strlen(sdp);
  m.hash = sap_hash(m.payload, m.payload_len);
  n = sap_build(&m, pkt, sizeof pkt);
  assert_int_equal(n, 4 + 4 + 16 + (int)strlen(sdp));
  assert_int_equal(pkt[0], 0x20);   /* V=1, IPv4, announcement */
  assert_memory_equal(pkt + 8, "application/sdp\0", 16);
  assert_int_equal(sap_parse(pkt, (size_t)n, &got), SAP_OK);
  assert_int_equal(got.deletion, 0);
  assert_int_equal(got.ipv6, 0);
  assert_int_equal(got.hash, m.hash);
  assert_memory_equal(got.origin, m.origin, 4);
  assert_int_equal(got.had_type, 1);
  assert_int_equal(got.payload_len, strlen(sdp));
  assert_memory_equal(got.payload, sdp, strlen(sdp));

  assert_int_equal(sap_match(pkt, (size_t)n, "Kitchen speaker", &got, &info), SAP_MATCH);
  assert_string_equal(info.name, "Kitchen speaker");
  assert_string_equal(info.addr, "239.1.2.3");
  assert_int_equal(info.ipv6, 0);
  assert_int_equal(info.port, 5004);
  assert_int_equal(info.savp, 0);
  assert_int_equal(info.pt, 97);
  assert_int_equal(info.opus, 1);
  assert_int_equal(info.channels, 2);
  assert_int_equal(info.has_crypto, 0);

  /* Other names, a prefix and a case change included, are not it. */
  assert_int_equal(sap_match(pkt, (size_t)n, "Kitchen", &got, &info), SAP_OTHER);
  assert_int_equal(sap_match(pkt, (size_t)n, "kitchen speaker", &got, &info), SAP_OTHER);
  assert_int_equal(sap_match(pkt, (size_t)n, "Kitchen speaker ", &got, &info), SAP_OTHER);
  assert_int_equal(sap_match(pkt, (size_t)n, NULL, &got, &info), SAP_OTHER);

  /* The deletion of the same announcement. */
  m.deletion = 1;
  n = sap_build(&m, pkt, sizeof pkt);
  assert_int_equal(pkt[0], 0x24);
  assert_int_equal(sap_match(pkt, (size_t)n, "Kitchen speaker", &got, &info), SAP_DELETION);
  assert_int_equal(got.hash, m.hash);
  assert_memory_equal(got.origin, m.origin, 4);
}

static void test_sap_build__ipv6_origin_srtp__parses_back(void **state)
{
  (void)state;
  char sdp[1024];
  uint8_t pkt[SAP_MAX_BUILD];
  struct sap_msg m = {0}, got;
  struct sdp_info info;
  int n;

  our_sdp(sdp, sizeof sdp, "x", "1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  m.ipv6 = 1;
  m.origin[0] = 0xfe, m.origin[1] = 0x80, m.origin[15] = 1;
  m.payload = (const uint8_t *)sdp;
  m.payload_len = strlen(sdp);
  m.hash = 0xbeef;
  n = sap_build(&m, pkt, sizeof pkt);
  assert_int_equal(n, 4 + 16 + 16 + (int)strlen(sdp));
  assert_int_equal(pkt[0], 0x30);
  assert_int_equal(sap_match(pkt, (size_t)n, "x", &got, &info), SAP_MATCH);
  assert_int_equal(got.ipv6, 1);
  assert_memory_equal(got.origin, m.origin, 16);
  assert_int_equal(info.savp, 1);
  assert_int_equal(info.has_crypto, 1);
}

static void test_sap_build__bad_arguments__refused(void **state)
{
  (void)state;
  static uint8_t big[SAP_MAX_BUILD];
  uint8_t pkt[SAP_MAX_BUILD];
  struct sap_msg m = {0};

  m.payload = (const uint8_t *)"v=0\r\n";
  m.payload_len = 5;
  assert_int_equal(sap_build(&m, pkt, sizeof pkt), -EINVAL);   /* hash 0 */
  m.hash = 1;
  assert_int_equal(sap_build(&m, pkt, 10), -ENOBUFS);
  m.auth_len = 4;
  assert_int_equal(sap_build(&m, pkt, sizeof pkt), -EINVAL);
  m.auth_len = 0;
  memset(big, 'a', sizeof big);
  m.payload = big;
  m.payload_len = sizeof big - 20;   /* with the header and type: over 1 kB */
  assert_int_equal(sap_build(&m, pkt, sizeof pkt), -EMSGSIZE);
  m.payload_len = 0;
  assert_int_equal(sap_build(&m, pkt, sizeof pkt), -EINVAL);
}

static void test_sap_parse__no_payload_type__sdp_accepted(void **state)
{
  (void)state;
  uint8_t pkt[256];
  struct sap_msg m;
  const char *sdp = "v=0\ns=a\nc=IN IP4 239.1.1.1/16\nm=audio 6000 RTP/AVP 96\n";
  size_t n = sap_raw(pkt, 0x20, 0, sdp, strlen(sdp));
  struct sdp_info info;

  assert_int_equal(sap_match(pkt, n, "a", &m, &info), SAP_MATCH);
  assert_int_equal(m.had_type, 0);
  assert_int_equal(info.ttl, 16);
  assert_int_equal(info.opus, 0);   /* no rtpmap */
  /* Auth data is skipped by its length; R (reserved) is ignored. */
  uint8_t tail[300];
  memset(tail, 0xee, 8);
  memcpy(tail + 8, "APPLICATION/SDP", 16);
  memcpy(tail + 24, sdp, strlen(sdp));
  n = sap_raw(pkt, 0x28, 2, tail, 24 + strlen(sdp));
  assert_int_equal(sap_match(pkt, n, "a", &m, &info), SAP_MATCH);
  assert_int_equal(m.auth_len, 8);
}

struct bad {
  const char *what;
  uint8_t b0, auth;
  const char *tail;
  size_t tail_len;
  size_t cut;        /* > 0: the packet is this many bytes */
  int err;
};

#define SDP_OK_TEXT "v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n"

static void test_sap_parse__malformed_table__each_refused(void **state)
{
  (void)state;
  /* T(literal): its bytes, embedded NULs included. */
#define T(lit) lit, sizeof lit - 1
  static const struct bad table[] = {
    {"empty", 0x20, 0, T(""), 1, SAP_ERR_SHORT},
    {"truncated header", 0x20, 0, T(""), 3, SAP_ERR_SHORT},
    {"truncated IPv4 origin", 0x20, 0, T(""), 6, SAP_ERR_SHORT},
    {"truncated IPv6 origin", 0x30, 0, T("\0\0\0\0\0\0\0\0\0"), 0, SAP_ERR_SHORT},
    {"version 0", 0x00, 0, T("application/sdp\0" SDP_OK_TEXT), 0, SAP_ERR_VERSION},
    {"version 2", 0x40, 0, T("application/sdp\0" SDP_OK_TEXT), 0, SAP_ERR_VERSION},
    {"encrypted", 0x22, 0, T("application/sdp\0" SDP_OK_TEXT), 0, SAP_ERR_ENCRYPTED},
    {"compressed", 0x21, 0, T("application/sdp\0" SDP_OK_TEXT), 0, SAP_ERR_COMPRESSED},
    {"auth length beyond packet", 0x20, 200, T("application/sdp\0v=0"), 0, SAP_ERR_AUTH},
    {"auth length 1 word, 3 bytes", 0x20, 1, T("abc"), 0, SAP_ERR_AUTH},
    {"payload type without NUL", 0x20, 0, T("application/sdp"), 0, SAP_ERR_TYPE},
    {"payload type other", 0x20, 0, T("text/plain\0hello"), 0, SAP_ERR_NOT_SDP},
    {"payload type empty", 0x20, 0, T("\0v=0"), 0, SAP_ERR_NOT_SDP},
    {"header only", 0x20, 0, T(""), 0, SAP_ERR_EMPTY},
    {"type, no payload", 0x20, 0, T("application/sdp\0"), 0, SAP_ERR_EMPTY},
    {"SDP without m=", 0x20, 0, T("application/sdp\0v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\n"), 0, SAP_ERR_SDP},
    {"SDP bad port", 0x20, 0,
     T("application/sdp\0v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 70000 RTP/AVP 96\r\n"), 0, SAP_ERR_SDP},
    {"SDP not v=0", 0x20, 0, T("application/sdp\0s=x\r\nm=audio 5004 RTP/AVP 96\r\n"), 0, SAP_ERR_SDP},
    {"SDP NUL inside", 0x20, 0,
     T("application/sdp\0v=0\r\ns=x\0y\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP 96\r\n"), 0, SAP_ERR_SDP},
  };
#undef T
  uint8_t pkt[SAP_MAX_PACKET + 64];
  struct sap_msg m;
  struct sdp_info info;

  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    const struct bad *b = &table[i];
    size_t n = sap_raw(pkt, b->b0, b->auth, b->tail, b->tail_len);
    if (b->cut != 0)
      n = b->cut;
    int rc = sap_match(pkt, n, "x", &m, &info);
    if (rc != b->err)
      fail_msg("%s: got %d (%s), expected %d", b->what, rc, sap_strerror(rc), b->err);
    if (b->err != SAP_ERR_SDP) {   /* the SAP layer refused it: nothing kept */
      assert_int_equal(m.payload_len, 0);
      assert_null(m.payload);
    }
    assert_int_equal(info.port, 0);
  }
  /* Oversized. */
  memset(pkt, 'v', sizeof pkt);
  sap_raw(pkt, 0x20, 0, "v=0", 3);
  assert_int_equal(sap_parse(pkt, SAP_MAX_PACKET + 1, &m), SAP_ERR_LONG);
  assert_int_equal(sap_parse(NULL, 0, &m), SAP_ERR_SHORT);
  assert_string_equal(sap_strerror(SAP_ERR_AUTH), "authentication data past the end");
}

struct bad_sdp {
  const char *text;
  int err;
};

static void test_sdp_parse__malformed_table__each_refused(void **state)
{
  (void)state;
  static const struct bad_sdp table[] = {
    {"", SDP_ERR_LENGTH},
    {"\r\nv=0\r\n", SDP_ERR_VERSION},
    {"v=1\r\ns=x\r\n", SDP_ERR_VERSION},
    {"x\r\n", SDP_ERR_VERSION},
    {"v=0\r\ns=x\r\nbogus\r\n", SDP_ERR_LINE},
    {"v=0\r\ns=x\x01y\r\n", SDP_ERR_LINE},
    {"v=0\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_NAME},
    {"v=0\r\ns=\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_NAME},
    {"v=0\r\ns=x\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_CONNECTION},
    {"v=0\r\ns=x\r\nc=IN IP4 example.com\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_CONNECTION},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3/300\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_CONNECTION},
    {"v=0\r\ns=x\r\nc=IN IP6 239.1.2.3\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_CONNECTION},
    {"v=0\r\ns=x\r\nc=ATM NSAP 1\r\nm=audio 5004 RTP/AVP 96\r\n", SDP_ERR_CONNECTION},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=video 5004 RTP/AVP 96\r\n", SDP_ERR_NO_MEDIA},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 0 RTP/AVP 96\r\n", SDP_ERR_PORT},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 65536 RTP/AVP 96\r\n", SDP_ERR_PORT},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 50x4 RTP/AVP 96\r\n", SDP_ERR_PORT},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 99999999999999999999 RTP/AVP 96\r\n", SDP_ERR_PORT},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 udp 96\r\n", SDP_ERR_PROTO},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP\r\n", SDP_ERR_FORMAT},
    {"v=0\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP 128\r\n", SDP_ERR_FORMAT},
  };
  struct sdp_info info;
  static char longline[SDP_MAX_LINE + 32], longname[SDP_MAX_NAME + 32], huge[SDP_MAX_TEXT + 2];

  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    int rc = sdp_parse(table[i].text, strlen(table[i].text), &info);
    if (rc != table[i].err)
      fail_msg("row %zu: got %d (%s), expected %d", i, rc, sdp_strerror(rc), table[i].err);
    assert_int_equal(info.port, 0);
  }
  snprintf(longline, sizeof longline, "v=0\r\na=%0*d\r\n", SDP_MAX_LINE, 0);
  assert_int_equal(sdp_parse(longline, strlen(longline), &info), SDP_ERR_LINE);
  snprintf(longname, sizeof longname, "v=0\r\ns=%0*d\r\n", SDP_MAX_NAME + 1, 0);
  assert_int_equal(sdp_parse(longname, strlen(longname), &info), SDP_ERR_NAME);
  memset(huge, 'a', sizeof huge);
  assert_int_equal(sdp_parse(huge, sizeof huge, &info), SDP_ERR_LENGTH);
}

static void test_sdp_parse__media_level_and_others__the_first_audio(void **state)
{
  (void)state;
  struct sdp_info info;
  /* A video stream first; session c= replaced by the audio's own; the
   * rtpmap of another pt and another medium's crypto ignored; no final
   * line end (the text is not terminated either). */
  const char text[] = "v=0\ns=Hall\nc=IN IP4 239.9.9.9\nm=video 6000 RTP/AVP 98\n"
                      "a=rtpmap:98 H264/90000\na=crypto:1 x\nm=audio 6002 RTP/SAVP 111 0\n"
                      "c=IN IP6 ff0e::1:2\na=rtpmap:0 PCMU/8000\na=rtpmap:111 OPUS/48000/2";
  assert_int_equal(sdp_parse(text, sizeof text - 1, &info), SDP_OK);
  assert_string_equal(info.name, "Hall");
  assert_string_equal(info.addr, "ff0e::1:2");
  assert_int_equal(info.ipv6, 1);
  assert_int_equal(info.port, 6002);
  assert_int_equal(info.savp, 1);
  assert_int_equal(info.pt, 111);
  assert_int_equal(info.opus, 1);
  assert_int_equal(info.channels, 2);
  assert_int_equal(info.has_crypto, 0);
  /* Cut anywhere short of the audio's m= line: never past the bytes. */
  for (size_t n = 1; n < 40; n++)
    assert_true(sdp_parse(text, n, &info) < 0);
}

static void test_sap_interval__a_third_either_way(void **state)
{
  (void)state;
  assert_int_equal(sap_interval_ns(3000, 0.5), 3000);
  assert_int_equal(sap_interval_ns(3000, 0), 2000);
  assert_true(sap_interval_ns(3000, 0.9999999) <= 4000 && sap_interval_ns(3000, 0.9999999) > 3990);
  assert_int_equal(sap_interval_ns(3000, -1), 2000);
  assert_int_not_equal(sap_hash((const uint8_t *)"a", 1), sap_hash((const uint8_t *)"b", 1));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sap_build__announcement__parses_back),
    cmocka_unit_test(test_sap_build__ipv6_origin_srtp__parses_back),
    cmocka_unit_test(test_sap_build__bad_arguments__refused),
    cmocka_unit_test(test_sap_parse__no_payload_type__sdp_accepted),
    cmocka_unit_test(test_sap_parse__malformed_table__each_refused),
    cmocka_unit_test(test_sdp_parse__malformed_table__each_refused),
    cmocka_unit_test(test_sdp_parse__media_level_and_others__the_first_audio),
    cmocka_unit_test(test_sap_interval__a_third_either_way),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
