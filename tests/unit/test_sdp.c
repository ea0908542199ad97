/* common/wire/sdp: the lines a third-party receiver needs (RFC 4566, RFC 7587),
 * IPv4/IPv6, SRTP's crypto line, fractional ptime and the error cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "wire/sdp.h"

static struct sdp_params base(void)
{
  struct sdp_params p = {0};
  p.addr = "127.0.0.1";
  p.port = 5004;
  p.pt = 96;
  p.channels = 1;
  p.bitrate = 32000;
  p.fec = 1;
  p.frame_us = 20000;
  p.ssrc = 305419896;
  p.session_id = 42;
  return p;
}

static void test_sdp_write__ipv4_mono__exact_text(void **state)
{
  (void)state;
  struct sdp_params p = base();
  char buf[1024];
  int n = sdp_write(&p, buf, sizeof buf);
  const char *want =
      "v=0\r\n"
      "o=- 42 42 IN IP4 127.0.0.1\r\n"
      "s=driftless\r\n"
      "c=IN IP4 127.0.0.1\r\n"
      "t=0 0\r\n"
      "m=audio 5004 RTP/AVP 96\r\n"
      "a=rtpmap:96 opus/48000/2\r\n"
      "a=fmtp:96 useinbandfec=1;usedtx=0;stereo=0;sprop-stereo=0;maxaveragebitrate=32000\r\n"
      "a=ptime:20\r\n"
      "a=ssrc:305419896 cname:driftless\r\n";
  assert_string_equal(buf, want);
  assert_int_equal(n, (int)strlen(want));
}

static void test_sdp_write__ipv6_stereo_dtx_2_5ms__fields(void **state)
{
  (void)state;
  struct sdp_params p = base();
  char buf[1024];
  p.addr = "::1";
  p.ipv6 = 1;
  p.channels = 2;
  p.dtx = 1;
  p.fec = 0;
  p.pt = 111;
  p.frame_us = 2500;
  p.ssrc = 0;
  p.bitrate = 64000;
  assert_true(sdp_write(&p, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "\r\nc=IN IP6 ::1\r\n"));
  assert_non_null(strstr(buf, "\r\nm=audio 5004 RTP/AVP 111\r\n"));
  assert_non_null(strstr(buf, "\r\na=rtpmap:111 opus/48000/2\r\n"));
  assert_non_null(strstr(buf, "a=fmtp:111 useinbandfec=0;usedtx=1;stereo=1;sprop-stereo=1;maxaveragebitrate=64000\r\n"));
  assert_non_null(strstr(buf, "\r\na=ptime:2.5\r\n"));
  assert_null(strstr(buf, "a=ssrc"));
  assert_null(strstr(buf, "a=crypto"));
  assert_null(strstr(buf, "a=extmap"));
  assert_null(strstr(buf, "a=rtcp-mux"));
}

/* The RFC 6051 extension the first packets carry is declared (RFC 8285:
 * media level, its one-byte ID), and RTCP on the RTP port (RFC 5761), so
 * that a receiver given only the SDP looks for RTCP where it is. */
static void test_sdp_write__extmap_and_rtcp_mux__media_lines(void **state)
{
  (void)state;
  struct sdp_params p = base();
  char buf[1024];
  p.ntp_ext_id = 1;
  p.rtcp_mux = 1;
  assert_true(sdp_write(&p, buf, sizeof buf) > 0);
  const char *m = strstr(buf, "\r\nm=audio ");
  const char *x = strstr(buf, "\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ntp-64\r\n");
  assert_non_null(m);
  assert_non_null(x);
  assert_true(x > m);
  assert_non_null(strstr(buf, "\r\na=rtcp-mux\r\n"));
}

static void test_sdp_write__crypto__savp_and_line(void **state)
{
  (void)state;
  struct sdp_params p = base();
  char buf[1024];
  p.crypto = "1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIz";
  assert_true(sdp_write(&p, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "\r\nm=audio 5004 RTP/SAVP 96\r\n"));
  assert_non_null(strstr(buf, "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD"));
}

static void test_sdp_write__bad_params__einval_or_enobufs(void **state)
{
  (void)state;
  struct sdp_params p = base();
  char buf[1024];
  p.addr = "127.0.0.1\r\nm=video 1 RTP/AVP 0";
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p = base();
  p.port = 0;
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p = base();
  p.channels = 3;
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p = base();
  p.addr = NULL;
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p = base();
  p.crypto = "x\ny";
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p = base();
  p.ntp_ext_id = 15;   /* reserved in RFC 8285's one-byte form */
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p.ntp_ext_id = -1;
  assert_int_equal(sdp_write(&p, buf, sizeof buf), -EINVAL);
  p = base();
  assert_int_equal(sdp_write(&p, buf, 40), -ENOBUFS);
  /* Exactly enough room works, one byte less does not. */
  int n = sdp_write(&p, buf, sizeof buf);
  assert_int_equal(sdp_write(&p, buf, (size_t)n + 1), n);
  assert_int_equal(sdp_write(&p, buf, (size_t)n), -ENOBUFS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sdp_write__ipv4_mono__exact_text),
    cmocka_unit_test(test_sdp_write__ipv6_stereo_dtx_2_5ms__fields),
    cmocka_unit_test(test_sdp_write__crypto__savp_and_line),
    cmocka_unit_test(test_sdp_write__extmap_and_rtcp_mux__media_lines),
    cmocka_unit_test(test_sdp_write__bad_params__einval_or_enobufs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
