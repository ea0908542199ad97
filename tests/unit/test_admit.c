/* common/rx/admit: the receiver's admission rules, each case with packets
 * as the loop thread makes them (rtp_pack, then the one parse): source and
 * SSRC lock, the restart rule, --peer, the payload-type lock, the SRTP
 * probe and the hold of a keyless stream's first packet, and where each
 * refusal is counted. Time is the packets' arrival. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "defaults.h"
#include "rx/admit.h"
#include "wire/rtp.h"

#define MS 1000000LL
#define RESTART (1000 * MS)

static const uint8_t opus20[] = {0xf8, 0xff, 0xfe};   /* code 0, one 20 ms CELT frame */
static const uint8_t not_opus[] = {0x03};             /* code 3 without its count byte */

struct dg {
  uint8_t buf[256];
  size_t len;
  struct rtp_packet pkt;
  int parse;
};

static struct sockaddr_in host(const char *ip, int port)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
  return a;
}

/* A datagram of SSRC ssrc, packet k of its stream (20 ms each), parsed. */
static struct dg *make(struct dg *d, uint32_t ssrc, int k, int pt, const uint8_t *payload, size_t plen,
                       int64_t arrival)
{
  struct rtp_header h = {.payload_type = (unsigned)pt, .seq = (uint16_t)(100 + k),
                         .timestamp = 5000u + (uint32_t)k * 960u, .ssrc = ssrc};
  int n = rtp_pack(&h, payload, plen, d->buf, sizeof d->buf);
  assert_true(n > 0);
  d->len = (size_t)n;
  d->parse = rtp_packet_parse(d->buf, d->len, arrival, &d->pkt);
  return d;
}

static enum admit_verdict ask(struct admit *a, const struct sockaddr_in *from, const struct dg *d,
                              struct admit_result *res)
{
  admit_packet(a, (const struct sockaddr *)from, d->parse, &d->pkt, res);
  return res->verdict;
}

static struct admit keyed(void)
{
  struct admit a;
  struct admit_config c = {.keyed = 1, .restart_after_ns = RESTART};
  assert_int_equal(admit_init(&a, &c), 0);
  return a;
}

static void test_admit_packet__first_source__locked_strangers_rejected(void **state)
{
  (void)state;
  struct admit a = keyed();
  struct sockaddr_in src = host("192.0.2.1", 5000), other = host("192.0.2.2", 5000),
                     port2 = host("192.0.2.1", 5002);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;

  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_PASS);
  assert_int_equal(res.events, ADMIT_EV_LOCKED | ADMIT_EV_PT_LOCKED);
  assert_null(res.release);
  assert_int_equal(ask(&a, &src, make(&d, 7, 1, 96, opus20, 3, 20 * MS), &res), ADMIT_PASS);
  assert_int_equal(res.events, 0);
  /* Another host, the same host from another port, another SSRC: all
   * strangers while the locked source is alive. */
  assert_int_equal(ask(&a, &other, make(&d, 7, 2, 96, opus20, 3, 40 * MS), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &port2, make(&d, 7, 2, 96, opus20, 3, 40 * MS), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &src, make(&d, 8, 2, 96, opus20, 3, 40 * MS), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &src, make(&d, 7, 2, 96, opus20, 3, 40 * MS), &res), ADMIT_PASS);
  admit_get_stats(&a, &st);
  assert_int_equal(st.rejected, 3);
  assert_int_equal(st.invalid, 0);
  assert_int_equal(st.restarts, 0);
}

static void test_admit_packet__locked_host_after_silence__restart(void **state)
{
  (void)state;
  struct admit a = keyed();
  struct sockaddr_in src = host("192.0.2.1", 5000), newport = host("192.0.2.1", 6000),
                     other = host("192.0.2.2", 5000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;

  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_PASS);
  /* A new SSRC from a new port before restart_after: rejected; after: a
   * sender restart, relocked. */
  assert_int_equal(ask(&a, &newport, make(&d, 9, 0, 96, opus20, 3, RESTART - 1), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &newport, make(&d, 9, 0, 96, opus20, 3, RESTART), &res), ADMIT_PASS);
  assert_int_equal(res.events, ADMIT_EV_RESTART);
  assert_int_equal(res.silent_ns, RESTART);
  /* The old socket is now the stranger. */
  assert_int_equal(ask(&a, &src, make(&d, 7, 1, 96, opus20, 3, RESTART + 20 * MS), &res), ADMIT_REJECTED);
  /* Another host takes over only after 10 x restart_after of silence. */
  int64_t last = RESTART;
  assert_int_equal(ask(&a, &other, make(&d, 5, 0, 96, opus20, 3, last + 10 * RESTART - 1), &res),
                   ADMIT_REJECTED);
  assert_int_equal(ask(&a, &other, make(&d, 5, 0, 96, opus20, 3, last + 10 * RESTART), &res), ADMIT_PASS);
  assert_int_equal(res.events, ADMIT_EV_RESTART);
  admit_get_stats(&a, &st);
  assert_int_equal(st.restarts, 2);
  assert_int_equal(st.rejected, 3);
}

static void test_admit_packet__peer__only_it_and_never_another_host(void **state)
{
  (void)state;
  struct sockaddr_in peer = host("192.0.2.9", 7000), same_host = host("192.0.2.9", 7002),
                     other = host("192.0.2.2", 7000);
  struct admit_config c = {.keyed = 1, .peer = (const struct sockaddr *)&peer,
                           .restart_after_ns = RESTART};
  struct admit a;
  struct admit_result res;
  struct dg d;

  assert_int_equal(admit_init(&a, &c), 0);
  assert_int_equal(ask(&a, &other, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &same_host, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &peer, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_PASS);
  /* With a peer, no silence lets another host in. */
  assert_int_equal(ask(&a, &other, make(&d, 8, 0, 96, opus20, 3, 100 * RESTART), &res), ADMIT_REJECTED);

  /* --peer HOST without a port: any port of it. */
  c.peer_any_port = 1;
  assert_int_equal(admit_init(&a, &c), 0);
  assert_int_equal(ask(&a, &same_host, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_PASS);
}

static void test_admit_packet__payload_type__locked_to_first_dynamic(void **state)
{
  (void)state;
  struct admit a = keyed();
  struct sockaddr_in src = host("192.0.2.1", 5000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;

  /* A static type never locks; the first dynamic one does. */
  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 0, opus20, 3, 0), &res), ADMIT_REJECTED);
  assert_int_equal(admit_pt(&a), -1);
  assert_int_equal(ask(&a, &src, make(&d, 7, 1, 111, opus20, 3, 20 * MS), &res), ADMIT_PASS);
  assert_true(res.events & ADMIT_EV_PT_LOCKED);
  assert_int_equal(admit_pt(&a), 111);
  assert_int_equal(ask(&a, &src, make(&d, 7, 2, 96, opus20, 3, 40 * MS), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &src, make(&d, 7, 3, 111, opus20, 3, 60 * MS), &res), ADMIT_PASS);
  admit_get_stats(&a, &st);
  assert_int_equal(st.rejected, 2);

  /* --pt 111: 96 is refused from the start. */
  struct admit_config c = {.pt = 111, .keyed = 1, .restart_after_ns = RESTART};
  assert_int_equal(admit_init(&a, &c), 0);
  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_REJECTED);
  assert_int_equal(ask(&a, &src, make(&d, 7, 1, 111, opus20, 3, 20 * MS), &res), ADMIT_PASS);
  assert_int_equal(res.events & ADMIT_EV_PT_LOCKED, 0);
}

static void test_admit_packet__not_rtp_or_not_opus__invalid_with_reason(void **state)
{
  (void)state;
  struct admit a = keyed();
  struct sockaddr_in src = host("192.0.2.1", 5000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;
  uint8_t junk[40];

  memset(junk, 0xab, sizeof junk);   /* version 2 bits are 10: 0xab is version 2... */
  junk[0] = 0x40;                    /* ... so make it version 1 */
  d.parse = rtp_packet_parse(junk, sizeof junk, 0, &d.pkt);
  assert_int_equal(ask(&a, &src, &d, &res), ADMIT_INVALID);
  assert_int_equal(res.reason, RTP_ERR_VERSION);
  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, not_opus, 1, 0), &res), ADMIT_INVALID);
  assert_int_equal(res.reason, RTP_ERR_OPUS);
  /* Neither locked anything: the first good packet locks. */
  assert_int_equal(ask(&a, &src, make(&d, 7, 1, 96, opus20, 3, 20 * MS), &res), ADMIT_PASS);
  assert_true(res.events & ADMIT_EV_LOCKED);
  admit_invalid(&a);   /* a truncated datagram, say */
  admit_get_stats(&a, &st);
  assert_int_equal(st.invalid, 3);
  assert_int_equal(st.rejected, 0);
}

static struct admit keyless(void)
{
  struct admit a;
  struct admit_config c = {.restart_after_ns = RESTART};
  assert_int_equal(admit_init(&a, &c), 0);
  return a;
}

static void test_admit_packet__keyless_first_packet__held_until_vouched(void **state)
{
  (void)state;
  struct admit a = keyless();
  struct sockaddr_in src = host("192.0.2.1", 5000);
  struct admit_result res;
  struct dg d0, d1, d2;

  assert_int_equal(ask(&a, &src, make(&d0, 7, 0, 96, opus20, 3, 0), &res), ADMIT_HOLD);
  /* The next one follows it: both pass, the held one first, with its own
   * arrival time and a payload of its own (the caller's buffer is reused). */
  memset(d0.buf, 0, sizeof d0.buf);
  assert_int_equal(ask(&a, &src, make(&d1, 7, 1, 96, opus20, 3, 20 * MS), &res), ADMIT_PASS);
  assert_non_null(res.release);
  assert_int_equal(res.release->seq, 100);
  assert_int_equal(res.release->arrival_ns, 0);
  assert_memory_equal(res.release->payload, opus20, sizeof opus20);
  /* From then on, that SSRC passes at once. */
  assert_int_equal(ask(&a, &src, make(&d2, 7, 2, 96, opus20, 3, 40 * MS), &res), ADMIT_PASS);
  assert_null(res.release);
}

static void test_admit_packet__keyless_no_vouch__held_one_invalid(void **state)
{
  (void)state;
  struct admit a = keyless();
  struct sockaddr_in src = host("192.0.2.1", 5000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;

  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_HOLD);
  /* Not sequence + 1: the held one was not a stream's; this one is held. */
  assert_int_equal(ask(&a, &src, make(&d, 7, 5, 96, opus20, 3, 20 * MS), &res), ADMIT_HOLD);
  admit_get_stats(&a, &st);
  assert_int_equal(st.invalid, 1);
  /* Its successor vouches for it. */
  assert_int_equal(ask(&a, &src, make(&d, 7, 6, 96, opus20, 3, 40 * MS), &res), ADMIT_PASS);
  assert_non_null(res.release);
  assert_int_equal(res.release->seq, 105);
}

/* Without a key, a stream whose payloads fail the Opus check is encrypted:
 * refused with one notice, and its held first packet never reaches the
 * decoder. */
static void test_admit_packet__keyless_srtp_stream__refused_once(void **state)
{
  (void)state;
  struct admit a = keyless();
  struct sockaddr_in src = host("192.0.2.1", 5000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;
  unsigned said = 0;

  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_HOLD);
  for (int k = 1; k < 60; k++) {
    const uint8_t *p = k % 2 ? not_opus : opus20;
    ask(&a, &src, make(&d, 7, k, 96, p, k % 2 ? 1 : 3, k * 20 * MS), &res);
    said += (res.events & ADMIT_EV_LOOKS_SRTP) != 0;
    assert_true(res.verdict == ADMIT_INVALID);
    assert_null(res.release);
  }
  assert_int_equal(said, 1);
  admit_get_stats(&a, &st);
  assert_int_equal(st.invalid, 60);   /* 59 packets and the held one */
  /* A keyed receiver probes nothing: a bad payload is just invalid. */
  struct admit k = keyed();
  ask(&k, &src, make(&d, 7, 0, 96, not_opus, 1, 0), &res);
  assert_int_equal(res.events & ADMIT_EV_LOOKS_SRTP, 0);
}

static void test_admit_auth_failed__fifty_with_none_good__said_once(void **state)
{
  (void)state;
  struct admit a = keyed(), b = keyed();
  int said = 0;

  for (int i = 0; i < 200; i++)
    said += admit_auth_failed(&a);
  assert_int_equal(said, 1);
  admit_auth_ok(&b);
  said = 0;
  for (int i = 0; i < 200; i++)
    said += admit_auth_failed(&b);
  assert_int_equal(said, 0);
  struct admit_stats st;
  admit_get_stats(&b, &st);
  assert_int_equal(st.auth_failed, 200);
}

static void test_admit_init__bad_config__einval(void **state)
{
  (void)state;
  struct admit a;
  struct sockaddr unix_addr = {.sa_family = AF_UNIX};
  struct admit_config c = {.pt = 95};
  assert_int_equal(admit_init(&a, &c), -EINVAL);
  c.pt = 128;
  assert_int_equal(admit_init(&a, &c), -EINVAL);
  c.pt = 0;
  c.restart_after_ns = -1;
  assert_int_equal(admit_init(&a, &c), -EINVAL);
  c.restart_after_ns = 0;
  c.peer = &unix_addr;
  assert_int_equal(admit_init(&a, &c), -EINVAL);
  assert_int_equal(admit_init(&a, NULL), -EINVAL);
}

/* RTCP BYE: only the locked stream's, from its host (another port: RTCP's),
 * ends it; then the host's new SSRC is a restart at once, without
 * restart_after's wait, and the old stream's stragglers still pass. */
static void test_admit_bye__locked_stream__new_ssrc_at_once(void **state)
{
  (void)state;
  struct admit a = keyed();
  struct sockaddr_in src = host("192.0.2.1", 5000), rtcp = host("192.0.2.1", 5001),
                     other = host("192.0.2.2", 5001), newport = host("192.0.2.1", 6000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;
  struct sockaddr_storage la;
  uint32_t lssrc;

  assert_int_equal(admit_locked(&a, &la, &lssrc), 0);
  assert_int_equal(admit_bye(&a, (const struct sockaddr *)&rtcp, 7), 0);   /* nothing locked */
  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_PASS);
  assert_int_equal(admit_locked(&a, &la, &lssrc), 1);
  assert_int_equal(lssrc, 7);
  assert_int_equal(admit_bye(&a, (const struct sockaddr *)&rtcp, 8), 0);    /* not its SSRC */
  assert_int_equal(admit_bye(&a, (const struct sockaddr *)&other, 7), 0);   /* not its host */
  assert_int_equal(ask(&a, &newport, make(&d, 9, 0, 96, opus20, 3, 20 * MS), &res), ADMIT_REJECTED);
  assert_int_equal(admit_bye(&a, (const struct sockaddr *)&rtcp, 7), 1);
  assert_int_equal(ask(&a, &src, make(&d, 7, 1, 96, opus20, 3, 30 * MS), &res), ADMIT_PASS);
  assert_int_equal(ask(&a, &newport, make(&d, 9, 0, 96, opus20, 3, 40 * MS), &res), ADMIT_PASS);
  assert_int_equal(res.events & ADMIT_EV_RESTART, ADMIT_EV_RESTART);
  /* Relocked: the old stream is a stranger now, and the lock holds again. */
  assert_int_equal(ask(&a, &src, make(&d, 7, 2, 96, opus20, 3, 50 * MS), &res), ADMIT_REJECTED);
  admit_get_stats(&a, &st);
  assert_int_equal(st.restarts, 1);
  assert_int_equal(st.rejected, 2);
}

/* After the BYE another host may lock at once (not a restart). */
static void test_admit_bye__other_host_after_bye__locks(void **state)
{
  (void)state;
  struct admit a = keyed();
  struct sockaddr_in src = host("192.0.2.1", 5000), rtcp = host("192.0.2.1", 5001),
                     other = host("192.0.2.2", 5000);
  struct admit_result res;
  struct dg d;
  struct admit_stats st;

  assert_int_equal(ask(&a, &src, make(&d, 7, 0, 96, opus20, 3, 0), &res), ADMIT_PASS);
  assert_int_equal(admit_bye(&a, (const struct sockaddr *)&rtcp, 7), 1);
  assert_int_equal(ask(&a, &other, make(&d, 3, 0, 96, opus20, 3, 20 * MS), &res), ADMIT_PASS);
  assert_int_equal(res.events & ADMIT_EV_LOCKED, ADMIT_EV_LOCKED);
  admit_get_stats(&a, &st);
  assert_int_equal(st.restarts, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_admit_packet__first_source__locked_strangers_rejected),
    cmocka_unit_test(test_admit_bye__locked_stream__new_ssrc_at_once),
    cmocka_unit_test(test_admit_bye__other_host_after_bye__locks),
    cmocka_unit_test(test_admit_packet__locked_host_after_silence__restart),
    cmocka_unit_test(test_admit_packet__peer__only_it_and_never_another_host),
    cmocka_unit_test(test_admit_packet__payload_type__locked_to_first_dynamic),
    cmocka_unit_test(test_admit_packet__not_rtp_or_not_opus__invalid_with_reason),
    cmocka_unit_test(test_admit_packet__keyless_first_packet__held_until_vouched),
    cmocka_unit_test(test_admit_packet__keyless_no_vouch__held_one_invalid),
    cmocka_unit_test(test_admit_packet__keyless_srtp_stream__refused_once),
    cmocka_unit_test(test_admit_auth_failed__fifty_with_none_good__said_once),
    cmocka_unit_test(test_admit_init__bad_config__einval),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
