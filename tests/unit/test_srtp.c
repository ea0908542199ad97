/* common/wire/srtp: base64 vectors, key file parsing (good and bad), key
 * generation, and the libsrtp2 session: round trip, tampering, replay,
 * truncation, wrong key, buffer room; the same for SRTCP, and RTP and
 * RTCP on one session.
 * Random payloads and keys come from a seeded generator: DL_SEED=N to
 * reproduce (the seed is printed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/rtcp.h"
#include "wire/rtp.h"
#include "wire/srtp.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
  /* xorshift64*: reproducible across machines. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rnd();
}

/* A fixed key and its text (bytes 0, 1, ..., 29). */
static const char key_text[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

static void fixed_key(uint8_t key[DL_SRTP_KEY_LEN])
{
  for (int i = 0; i < DL_SRTP_KEY_LEN; i++)
    key[i] = (uint8_t)i;
}

/* ---- base64 ------------------------------------------------------------- */

static const struct {
  const char *plain, *b64;
} b64_vectors[] = {   /* RFC 4648 section 10 */
  {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void test_base64__rfc4648_vectors__both_ways(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof b64_vectors / sizeof b64_vectors[0]; i++) {
    const char *p = b64_vectors[i].plain, *b = b64_vectors[i].b64;
    char enc[16];
    uint8_t dec[16];
    int n = dl_srtp_base64_encode((const uint8_t *)p, strlen(p), enc, sizeof enc);
    assert_int_equal(n, strlen(b));
    assert_string_equal(enc, b);
    n = dl_srtp_base64_decode(b, strlen(b), dec, sizeof dec);
    assert_int_equal(n, strlen(p));
    assert_memory_equal(dec, p, strlen(p));
  }
}

static void test_base64_decode__unpadded__accepted(void **state)
{
  (void)state;
  uint8_t dec[8];
  assert_int_equal(dl_srtp_base64_decode("Zg", 2, dec, sizeof dec), 1);
  assert_int_equal(dec[0], 'f');
  assert_int_equal(dl_srtp_base64_decode("Zm9vYmE", 7, dec, sizeof dec), 5);
  assert_memory_equal(dec, "fooba", 5);
}

static void test_base64_decode__bad_text__einval(void **state)
{
  (void)state;
  static const char *bad[] = {
    "Z",         /* 6 bits */
    "Zg=",       /* padded, not whole quads */
    "Zg===",     /* three '=' */
    "Zh==",      /* trailing bits not zero */
    "Zm9=",      /* trailing bits not zero */
    "Zm9v!",     /* not in the alphabet */
    "Zm 9v",     /* whitespace is the key parser's business */
    "=Zm9",      /* '=' first */
    "Zg==Zg==",  /* '=' inside */
    "Zm9v-_",    /* base64url alphabet */
  };
  uint8_t dec[16];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int n = dl_srtp_base64_decode(bad[i], strlen(bad[i]), dec, sizeof dec);
    if (n != -EINVAL)
      fail_msg("\"%s\": got %d, want -EINVAL", bad[i], n);
  }
}

static void test_base64__small_buffers__enobufs(void **state)
{
  (void)state;
  char enc[8];
  uint8_t dec[5];
  /* "foobar" needs 8 characters and the NUL. */
  assert_int_equal(dl_srtp_base64_encode((const uint8_t *)"foobar", 6, enc, 8), -ENOBUFS);
  assert_int_equal(dl_srtp_base64_decode("Zm9vYmFy", 8, dec, 5), -ENOBUFS);
  assert_int_equal(dl_srtp_base64_decode("Zm9vYmE=", 8, dec, 5), 5);
}

static void test_base64__random_round_trip__identity(void **state)
{
  (void)state;
  uint8_t in[100], out[100];
  char text[140];
  for (int iter = 0; iter < 2000; iter++) {
    size_t n = rnd() % sizeof in;
    rnd_bytes(in, n);
    int t = dl_srtp_base64_encode(in, n, text, sizeof text);
    assert_int_equal(t, 4 * ((n + 2) / 3));
    assert_int_equal(strlen(text), (size_t)t);
    assert_int_equal(dl_srtp_base64_decode(text, (size_t)t, out, sizeof out), n);
    assert_memory_equal(in, out, n);
  }
}

/* ---- keys --------------------------------------------------------------- */

static void test_key_parse__accepted_forms__same_key(void **state)
{
  (void)state;
  static const char *good[] = {
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n",
    "  \tAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd \r\n\r\n",
    "# made by sender --gen-key\n\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n",
    "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
    "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^31\n",
    "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|1048576",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n",
    "a=crypto:7  AES_CM_128_HMAC_SHA1_80\tinline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^20",
    /* A whole SDP file as written by the sender's --sdp. */
    "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=driftless\nc=IN IP4 127.0.0.1\nt=0 0\n"
    "m=audio 5004 RTP/SAVP 96\na=rtpmap:96 opus/48000/2\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n"
    "a=ptime:20\n",
  };
  uint8_t want[DL_SRTP_KEY_LEN], key[DL_SRTP_KEY_LEN];
  fixed_key(want);
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    const char *why = NULL;
    memset(key, 0xee, sizeof key);
    int rc = dl_srtp_key_parse(good[i], strlen(good[i]), key, &why);
    if (rc != 0)
      fail_msg("form %zu: %s", i, why);
    assert_memory_equal(key, want, sizeof want);
  }
}

static void test_key_parse__bad_files__einval_with_reason(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len;      /* 0: strlen */
    const char *why_has;
  } bad[] = {
    {"", 0, "no key"},
    {" \n\t\r\n", 0, "no key"},
    {"# only a comment\n", 0, "no key"},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw", 0, "30 bytes"},             /* 39 chars: 29 bytes */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", 0, "30 bytes"},           /* 29 bytes */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0, "30 bytes"},       /* 32 bytes */
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx*d", 0, "not base64"},
    {"AAECAwQFBgcICQoL DA0ODxAREhMUFRYXGBkaGxwd", 0, "not base64"},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n", 0, "more than one"},
    {"inline:", 0, "no key"},
    {"inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^20|1:4", 0, "MKI"},
    {"inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|1:4", 0, "MKI"},
    {"inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|", 0, "lifetime"},
    {"inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd junk", 0, "unexpected"},
    {"inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd;inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", 0, "more than one"},
    {"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", 0, "suite"},
    {"a=crypto:1 AEAD_AES_256_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", 0, "suite"},
    {"a=crypto: AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", 0, "tag"},
    {"a=crypto:1 AES_CM_128_HMAC_SHA1_80", 0, "inline:"},
    {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n"
     "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n", 0, "more than one"},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\0\n", 42, "NUL"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t key[DL_SRTP_KEY_LEN];
    const char *why = NULL;
    size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
    /* An exact-size copy: ASan catches a read past the text. */
    char *copy = test_malloc(len ? len : 1);
    memcpy(copy, bad[i].text, len);
    memset(key, 0xee, sizeof key);
    int rc = dl_srtp_key_parse(copy, len, key, &why);
    test_free(copy);
    if (rc != -EINVAL)
      fail_msg("bad %zu: got %d, want -EINVAL", i, rc);
    assert_non_null(why);
    if (strstr(why, bad[i].why_has) == NULL)
      fail_msg("bad %zu: reason \"%s\" does not say \"%s\"", i, why, bad[i].why_has);
    for (size_t k = 0; k < sizeof key; k++)
      assert_int_equal(key[k], 0);   /* nothing half-parsed is left */
  }
}

static void test_key_generate__format_parse__round_trip(void **state)
{
  (void)state;
  uint8_t random[DL_SRTP_KEY_LEN], key[DL_SRTP_KEY_LEN], back[DL_SRTP_KEY_LEN];
  char text[DL_SRTP_KEY_B64_LEN + 1];
  for (int iter = 0; iter < 100; iter++) {
    rnd_bytes(random, sizeof random);
    assert_int_equal(dl_srtp_key_generate(random, sizeof random, key), 0);
    assert_memory_equal(key, random, sizeof key);
    dl_srtp_key_format(key, text);
    assert_int_equal(strlen(text), DL_SRTP_KEY_B64_LEN);
    assert_int_equal(dl_srtp_key_parse(text, strlen(text), back, NULL), 0);
    assert_memory_equal(back, key, sizeof key);
  }
}

static void test_key_generate__bad_random__einval(void **state)
{
  (void)state;
  uint8_t zeros[DL_SRTP_KEY_LEN] = {0}, key[DL_SRTP_KEY_LEN], some[DL_SRTP_KEY_LEN];
  rnd_bytes(some, sizeof some);
  some[1] = (uint8_t)(some[0] + 1);
  assert_int_equal(dl_srtp_key_generate(zeros, sizeof zeros, key), -EINVAL);
  assert_int_equal(dl_srtp_key_generate(some, DL_SRTP_KEY_LEN - 1, key), -EINVAL);
  assert_int_equal(dl_srtp_key_generate(NULL, DL_SRTP_KEY_LEN, key), -EINVAL);
}

static void test_key_format_and_sdp__fixed_key__exact_text(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  char text[DL_SRTP_KEY_B64_LEN + 1], line[128], small[75];
  fixed_key(key);
  dl_srtp_key_format(key, text);
  assert_string_equal(text, key_text);
  int n = dl_srtp_sdp_crypto(key, line, sizeof line);
  assert_string_equal(line, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd");
  assert_int_equal(n, strlen(line));
  assert_int_equal(dl_srtp_sdp_crypto(key, small, sizeof small), -ENOBUFS);
  /* The line it writes is a key file. */
  uint8_t back[DL_SRTP_KEY_LEN];
  assert_int_equal(dl_srtp_key_parse(line, (size_t)n, back, NULL), 0);
  assert_memory_equal(back, key, sizeof key);
}

/* ---- sessions ----------------------------------------------------------- */

struct pair {
  struct dl_srtp *tx, *rx;
};

static void pair_make(struct pair *p, const uint8_t key[DL_SRTP_KEY_LEN])
{
  assert_int_equal(dl_srtp_create(&p->tx, key, DL_SRTP_SEND), 0);
  assert_int_equal(dl_srtp_create(&p->rx, key, DL_SRTP_RECV), 0);
}

static void pair_free(struct pair *p)
{
  dl_srtp_destroy(p->tx);
  dl_srtp_destroy(p->rx);
}

/* An RTP packet with seq and a random payload of plen bytes into buf
 * (with room for the trailer). Returns its length. */
static size_t make_rtp(uint8_t *buf, size_t cap, uint16_t seq, size_t plen)
{
  struct rtp_header h = {0};
  uint8_t payload[400];
  assert_true(plen <= sizeof payload);
  rnd_bytes(payload, plen);
  h.payload_type = 96;
  h.seq = seq;
  h.timestamp = 960u * seq;
  h.ssrc = 0x11223344;
  int n = rtp_pack(&h, payload, plen, buf, cap);
  assert_true(n > 0);
  return (size_t)n;
}

static void test_srtp__round_trip__plain_bytes_back(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  for (int i = 0; i < 300; i++) {
    uint8_t plain[600], buf[600 + DL_SRTP_MAX_TRAILER];
    size_t plen = 1 + rnd() % 400;
    size_t n = make_rtp(plain, sizeof plain, (uint16_t)(65400 + i), plen), len = n;  /* wraps */
    memcpy(buf, plain, n);
    assert_int_equal(dl_srtp_protect(p.tx, buf, &len, sizeof buf), 0);
    assert_int_equal(len, n + DL_SRTP_TAG_LEN);
    assert_memory_equal(buf, plain, RTP_HEADER_LEN);           /* header in clear */
    if (plen >= 8)
      assert_memory_not_equal(buf + RTP_HEADER_LEN, plain + RTP_HEADER_LEN, plen);   /* payload encrypted */
    /* The receiver gets exactly len bytes: ASan sees any read past them. */
    uint8_t *wire = test_malloc(len);
    memcpy(wire, buf, len);
    assert_int_equal(dl_srtp_unprotect(p.rx, wire, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(wire, plain, n);
    test_free(wire);
  }
  pair_free(&p);
}

static void test_srtp_unprotect__any_bit_flipped__auth_failed(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], plain[200], wire[200 + DL_SRTP_MAX_TRAILER], copy[sizeof wire];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  size_t n = make_rtp(plain, sizeof plain, 7, 100), len = n;
  memcpy(wire, plain, n);
  assert_int_equal(dl_srtp_protect(p.tx, wire, &len, sizeof wire), 0);
  /* Every byte (header, payload, tag), one random bit each. */
  for (size_t i = 0; i < len; i++) {
    size_t l = len;
    memcpy(copy, wire, len);
    copy[i] ^= (uint8_t)(1u << (rnd() % 8));
    if (i == 0)
      copy[0] = (uint8_t)(wire[0] ^ 0x01);   /* a bit that keeps the header in bounds */
    int rc = dl_srtp_unprotect(p.rx, copy, &l);
    if (rc != DL_SRTP_ERR_AUTH)
      fail_msg("byte %zu flipped: got %d (%s), want auth failure", i, rc, dl_srtp_strerror(rc));
  }
  /* The forgeries did not move the replay window: the real one passes. */
  size_t l = len;
  assert_int_equal(dl_srtp_unprotect(p.rx, wire, &l), 0);
  assert_memory_equal(wire, plain, n);
  pair_free(&p);
}

static void test_srtp_unprotect__replays__replay_error(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  static uint8_t pkts[201][100 + DL_SRTP_MAX_TRAILER];
  size_t lens[201];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  for (int i = 0; i <= 200; i++) {
    lens[i] = make_rtp(pkts[i], sizeof pkts[i], (uint16_t)(1000 + i), 60);
    assert_int_equal(dl_srtp_protect(p.tx, pkts[i], &lens[i], sizeof pkts[i]), 0);
  }
  uint8_t buf[sizeof pkts[0]];
  size_t l;
#define RX(i) (memcpy(buf, pkts[i], lens[i]), l = lens[i], dl_srtp_unprotect(p.rx, buf, &l))
  assert_int_equal(RX(200), 0);                     /* seq 1200 */
  assert_int_equal(RX(200), DL_SRTP_ERR_REPLAY);    /* the same again */
  assert_int_equal(RX(100), 0);                     /* 100 behind, unseen: inside the window */
  assert_int_equal(RX(100), DL_SRTP_ERR_REPLAY);
  assert_int_equal(RX(80), 0);                      /* 120 behind */
  assert_int_equal(RX(0), DL_SRTP_ERR_REPLAY);      /* 200 behind: older than the window */
  assert_int_equal(RX(60), DL_SRTP_ERR_REPLAY);     /* 140 behind */
#undef RX
  pair_free(&p);
}

static void test_srtp_unprotect__shorter_than_tag__short(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], wire[100 + DL_SRTP_MAX_TRAILER];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  size_t len = make_rtp(wire, sizeof wire, 1, 50);
  assert_int_equal(dl_srtp_protect(p.tx, wire, &len, sizeof wire), 0);
  /* Every truncation of a real packet, in an exact-size buffer. */
  for (size_t n = 0; n < len; n++) {
    size_t l = n;
    uint8_t *cut = test_malloc(n ? n : 1);
    memcpy(cut, wire, n);
    int rc = dl_srtp_unprotect(p.rx, cut, &l);
    test_free(cut);
    int want = n < RTP_HEADER_LEN + DL_SRTP_TAG_LEN ? DL_SRTP_ERR_SHORT : DL_SRTP_ERR_AUTH;
    if (rc != want)
      fail_msg("%zu of %zu bytes: got %d (%s), want %d", n, len, rc, dl_srtp_strerror(rc), want);
  }
  pair_free(&p);
}

static void test_srtp_unprotect__header_past_end__header_error(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  struct dl_srtp *rx;
  rnd_bytes(key, sizeof key);
  assert_int_equal(dl_srtp_create(&rx, key, DL_SRTP_RECV), 0);
  /* CSRC count 15 (72-byte header) in 40 bytes. */
  uint8_t a[40] = {0x8f, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  size_t l = sizeof a;
  assert_int_equal(dl_srtp_unprotect(rx, a, &l), DL_SRTP_ERR_HEADER);
  /* Extension of 0xffff words in 40 bytes. */
  uint8_t b[40] = {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff};
  l = sizeof b;
  assert_int_equal(dl_srtp_unprotect(rx, b, &l), DL_SRTP_ERR_HEADER);
  /* A header that ends inside the tag. */
  uint8_t c[28] = {0x82, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  l = sizeof c;
  assert_int_equal(dl_srtp_unprotect(rx, c, &l), DL_SRTP_ERR_HEADER);
  dl_srtp_destroy(rx);
}

static void test_srtp_unprotect__wrong_key_or_plain_rtp__auth_failed(void **state)
{
  (void)state;
  uint8_t k1[DL_SRTP_KEY_LEN], k2[DL_SRTP_KEY_LEN], plain[200], wire[200 + DL_SRTP_MAX_TRAILER];
  struct dl_srtp *tx, *rx;
  rnd_bytes(k1, sizeof k1);
  memcpy(k2, k1, sizeof k2);
  k2[29] ^= 1;   /* only the salt's last bit differs */
  assert_int_equal(dl_srtp_create(&tx, k1, DL_SRTP_SEND), 0);
  assert_int_equal(dl_srtp_create(&rx, k2, DL_SRTP_RECV), 0);
  size_t n = make_rtp(plain, sizeof plain, 5, 120), len = n;
  memcpy(wire, plain, n);
  assert_int_equal(dl_srtp_protect(tx, wire, &len, sizeof wire), 0);
  assert_int_equal(dl_srtp_unprotect(rx, wire, &len), DL_SRTP_ERR_AUTH);
  /* Plain RTP at a keyed receiver: its last 10 bytes are no tag. */
  len = n;
  memcpy(wire, plain, n);
  assert_int_equal(dl_srtp_unprotect(rx, wire, &len), DL_SRTP_ERR_AUTH);
  dl_srtp_destroy(tx);
  dl_srtp_destroy(rx);
}

static void test_srtp_protect__no_trailer_room__nobufs_unchanged(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], buf[100 + DL_SRTP_MAX_TRAILER], before[sizeof buf];
  struct dl_srtp *tx;
  rnd_bytes(key, sizeof key);
  assert_int_equal(dl_srtp_create(&tx, key, DL_SRTP_SEND), 0);
  memset(buf, 0x5a, sizeof buf);   /* the room past the packet too: it must stay */
  size_t n = make_rtp(buf, sizeof buf, 9, 80), len = n;
  memcpy(before, buf, sizeof buf);
  assert_int_equal(dl_srtp_protect(tx, buf, &len, n + DL_SRTP_MAX_TRAILER - 1), DL_SRTP_ERR_NOBUFS);
  assert_int_equal(len, n);
  assert_memory_equal(buf, before, sizeof buf);
  assert_int_equal(dl_srtp_protect(tx, buf, &len, n + DL_SRTP_MAX_TRAILER), 0);
  assert_int_equal(len, n + DL_SRTP_TAG_LEN);
  /* The same sequence number twice is refused by the sender too. */
  len = n;
  memcpy(buf, before, sizeof buf);
  assert_int_equal(dl_srtp_protect(tx, buf, &len, sizeof buf), DL_SRTP_ERR_REPLAY);
  dl_srtp_destroy(tx);
}

static void test_srtp__misuse__einval(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], buf[64 + DL_SRTP_MAX_TRAILER] = {0x80, 96};
  struct dl_srtp *tx, *rx;
  size_t len = 40;
  rnd_bytes(key, sizeof key);
  assert_int_equal(dl_srtp_create(NULL, key, DL_SRTP_SEND), -EINVAL);
  assert_int_equal(dl_srtp_create(&tx, NULL, DL_SRTP_SEND), -EINVAL);
  assert_int_equal(dl_srtp_create(&tx, key, (enum dl_srtp_dir)7), -EINVAL);
  assert_int_equal(dl_srtp_create(&tx, key, DL_SRTP_SEND), 0);
  assert_int_equal(dl_srtp_create(&rx, key, DL_SRTP_RECV), 0);
  assert_int_equal(dl_srtp_unprotect(tx, buf, &len), -EINVAL);   /* wrong direction */
  assert_int_equal(dl_srtp_protect(rx, buf, &len, sizeof buf), -EINVAL);
  dl_srtp_destroy(tx);
  dl_srtp_destroy(rx);
  dl_srtp_destroy(NULL);
}

/* ---- SRTCP ---------------------------------------------------------------- */

/* A receiver's compound RTCP packet (RR with one random block, SDES CNAME)
 * into buf. Returns its length. */
static size_t make_rtcp(uint8_t *buf, size_t cap, uint32_t ssrc)
{
  struct rtcp_report_block rb = {rnd(), (uint8_t)rnd(), (int32_t)(rnd() % 1000), rnd(), rnd(),
                                 rnd(), rnd()};
  struct rtcp_sdes_chunk c = {.ssrc = ssrc, .cname = "srtcp@test"};
  struct rtcp_builder b;
  rtcp_builder_init(&b, buf, cap);
  rtcp_builder_rr(&b, ssrc, &rb, 1);
  rtcp_builder_sdes(&b, &c, 1);
  int n = rtcp_builder_finish(&b, 0);
  assert_true(n > 0);
  return (size_t)n;
}

static uint32_t srtcp_index(const uint8_t *pkt, size_t len)
{
  const uint8_t *t = pkt + len - DL_SRTCP_TRAILER_LEN;
  return ((uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3]) & 0x7fffffffu;
}

static void test_srtcp__round_trip__plain_bytes_back(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  struct pair p;
  uint32_t first_index = 0;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  for (int i = 0; i < 200; i++) {
    uint8_t plain[200], buf[200 + DL_SRTCP_MAX_TRAILER];
    struct rtcp_info info;
    size_t n = make_rtcp(plain, sizeof plain, 0x0badf00d), len = n;
    memcpy(buf, plain, n);
    assert_int_equal(dl_srtp_protect_rtcp(p.tx, buf, &len, sizeof buf), 0);
    assert_int_equal(len, n + DL_SRTCP_TRAILER_LEN);
    /* The first header and the SSRC in clear, the rest encrypted. */
    assert_memory_equal(buf, plain, DL_SRTCP_HEADER_LEN);
    assert_memory_not_equal(buf + DL_SRTCP_HEADER_LEN, plain + DL_SRTCP_HEADER_LEN,
                            n - DL_SRTCP_HEADER_LEN);
    /* The E flag is set, and the index counts up by one per packet. */
    assert_int_equal(buf[n] & 0x80, 0x80);
    if (i == 0)
      first_index = srtcp_index(buf, len);
    assert_int_equal(srtcp_index(buf, len), first_index + (uint32_t)i);
    /* The receiver gets exactly len bytes: ASan sees any read past them. */
    uint8_t *wire = test_malloc(len);
    memcpy(wire, buf, len);
    assert_int_equal(dl_srtp_unprotect_rtcp(p.rx, wire, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(wire, plain, n);
    assert_int_equal(rtcp_parse(wire, len, &info), RTCP_OK);
    assert_string_equal(info.cname, "srtcp@test");
    test_free(wire);
  }
  pair_free(&p);
}

static void test_srtcp_unprotect__any_bit_flipped__auth_failed(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], plain[200], wire[200 + DL_SRTCP_MAX_TRAILER], copy[sizeof wire];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  size_t n = make_rtcp(plain, sizeof plain, 0x1234), len = n;
  memcpy(wire, plain, n);
  assert_int_equal(dl_srtp_protect_rtcp(p.tx, wire, &len, sizeof wire), 0);
  /* Every byte (header, SSRC, encrypted part, E flag and index, tag), one
   * random bit each; the E flag itself once more. */
  for (size_t i = 0; i <= len; i++) {
    size_t l = len, at = i < len ? i : n;
    memcpy(copy, wire, len);
    copy[at] ^= i < len ? (uint8_t)(1u << (rnd() % 8)) : 0x80;
    int rc = dl_srtp_unprotect_rtcp(p.rx, copy, &l);
    if (rc != DL_SRTP_ERR_AUTH)
      fail_msg("byte %zu flipped: got %d (%s), want auth failure", at, rc, dl_srtp_strerror(rc));
  }
  /* The forgeries did not move the replay window: the real one passes. */
  size_t l = len;
  assert_int_equal(dl_srtp_unprotect_rtcp(p.rx, wire, &l), 0);
  assert_memory_equal(wire, plain, n);
  pair_free(&p);
}

static void test_srtcp_unprotect__replays__replay_error(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  static uint8_t pkts[201][100 + DL_SRTCP_MAX_TRAILER];
  size_t lens[201];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  for (int i = 0; i <= 200; i++) {
    lens[i] = make_rtcp(pkts[i], sizeof pkts[i], 0x77);
    assert_int_equal(dl_srtp_protect_rtcp(p.tx, pkts[i], &lens[i], sizeof pkts[i]), 0);
  }
  uint8_t buf[sizeof pkts[0]];
  size_t l;
#define RX(i) (memcpy(buf, pkts[i], lens[i]), l = lens[i], dl_srtp_unprotect_rtcp(p.rx, buf, &l))
  assert_int_equal(RX(200), 0);
  assert_int_equal(RX(200), DL_SRTP_ERR_REPLAY);    /* the same again */
  assert_int_equal(RX(150), 0);                     /* 50 behind, unseen */
  assert_int_equal(RX(150), DL_SRTP_ERR_REPLAY);
  assert_int_equal(RX(0), DL_SRTP_ERR_REPLAY);      /* 200 behind: older than the window */
#undef RX
  pair_free(&p);
}

static void test_srtcp_unprotect__every_truncation__short_or_auth(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], wire[200 + DL_SRTCP_MAX_TRAILER];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  size_t len = make_rtcp(wire, sizeof wire, 0x99);
  assert_int_equal(dl_srtp_protect_rtcp(p.tx, wire, &len, sizeof wire), 0);
  for (size_t n = 0; n < len; n++) {
    size_t l = n;
    uint8_t *cut = test_malloc(n ? n : 1);
    memcpy(cut, wire, n);
    int rc = dl_srtp_unprotect_rtcp(p.rx, cut, &l);
    test_free(cut);
    int want = n < DL_SRTCP_HEADER_LEN + DL_SRTCP_TRAILER_LEN ? DL_SRTP_ERR_SHORT : DL_SRTP_ERR_AUTH;
    if (rc != want)
      fail_msg("%zu of %zu bytes: got %d (%s), want %d", n, len, rc, dl_srtp_strerror(rc), want);
  }
  pair_free(&p);
}

static void test_srtcp_unprotect__wrong_key_or_plain_rtcp__auth_failed(void **state)
{
  (void)state;
  uint8_t k1[DL_SRTP_KEY_LEN], k2[DL_SRTP_KEY_LEN], plain[200], wire[200 + DL_SRTCP_MAX_TRAILER];
  struct dl_srtp *tx, *rx;
  rnd_bytes(k1, sizeof k1);
  memcpy(k2, k1, sizeof k2);
  k2[0] ^= 0x80;
  assert_int_equal(dl_srtp_create(&tx, k1, DL_SRTP_SEND), 0);
  assert_int_equal(dl_srtp_create(&rx, k2, DL_SRTP_RECV), 0);
  size_t n = make_rtcp(plain, sizeof plain, 0x42), len = n;
  memcpy(wire, plain, n);
  assert_int_equal(dl_srtp_protect_rtcp(tx, wire, &len, sizeof wire), 0);
  assert_int_equal(dl_srtp_unprotect_rtcp(rx, wire, &len), DL_SRTP_ERR_AUTH);
  /* Plain RTCP at a keyed receiver: no E flag, index or tag at its end. */
  len = n;
  memcpy(wire, plain, n);
  assert_int_equal(dl_srtp_unprotect_rtcp(rx, wire, &len), DL_SRTP_ERR_AUTH);
  /* And with the E flag forged on. */
  len = n;
  memcpy(wire, plain, n);
  wire[n - DL_SRTCP_TRAILER_LEN] |= 0x80;
  assert_int_equal(dl_srtp_unprotect_rtcp(rx, wire, &len), DL_SRTP_ERR_AUTH);
  dl_srtp_destroy(tx);
  dl_srtp_destroy(rx);
}

static void test_srtcp_protect__no_trailer_room__nobufs_unchanged(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], buf[100 + DL_SRTCP_MAX_TRAILER], before[sizeof buf];
  struct dl_srtp *tx;
  rnd_bytes(key, sizeof key);
  assert_int_equal(dl_srtp_create(&tx, key, DL_SRTP_SEND), 0);
  memset(buf, 0x5a, sizeof buf);
  size_t n = make_rtcp(buf, sizeof buf, 3), len = n;
  memcpy(before, buf, sizeof buf);
  assert_int_equal(dl_srtp_protect_rtcp(tx, buf, &len, n + DL_SRTCP_MAX_TRAILER - 1),
                   DL_SRTP_ERR_NOBUFS);
  assert_int_equal(len, n);
  assert_memory_equal(buf, before, sizeof buf);
  assert_int_equal(dl_srtp_protect_rtcp(tx, buf, &len, n + DL_SRTCP_MAX_TRAILER), 0);
  assert_int_equal(len, n + DL_SRTCP_TRAILER_LEN);
  /* Shorter than a header and an SSRC. */
  len = DL_SRTCP_HEADER_LEN - 1;
  assert_int_equal(dl_srtp_protect_rtcp(tx, buf, &len, sizeof buf), DL_SRTP_ERR_SHORT);
  dl_srtp_destroy(tx);
}

static void test_srtcp__misuse__einval(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN], buf[64 + DL_SRTCP_MAX_TRAILER] = {0x80, RTCP_PT_RR, 0, 1};
  struct dl_srtp *tx, *rx;
  size_t len = 40;
  rnd_bytes(key, sizeof key);
  assert_int_equal(dl_srtp_create(&tx, key, DL_SRTP_SEND), 0);
  assert_int_equal(dl_srtp_create(&rx, key, DL_SRTP_RECV), 0);
  assert_int_equal(dl_srtp_unprotect_rtcp(tx, buf, &len), -EINVAL);   /* wrong direction */
  assert_int_equal(dl_srtp_protect_rtcp(rx, buf, &len, sizeof buf), -EINVAL);
  assert_int_equal(dl_srtp_protect_rtcp(NULL, buf, &len, sizeof buf), -EINVAL);
  assert_int_equal(dl_srtp_unprotect_rtcp(rx, NULL, &len), -EINVAL);
  assert_int_equal(dl_srtp_unprotect_rtcp(rx, buf, NULL), -EINVAL);
  dl_srtp_destroy(tx);
  dl_srtp_destroy(rx);
}

static void test_srtp_and_srtcp__one_session__kept_apart(void **state)
{
  (void)state;
  uint8_t key[DL_SRTP_KEY_LEN];
  struct pair p;
  rnd_bytes(key, sizeof key);
  pair_make(&p, key);
  for (int i = 0; i < 50; i++) {
    uint8_t rtp[300 + DL_SRTP_MAX_TRAILER], rtcp[200 + DL_SRTCP_MAX_TRAILER];
    uint8_t rtp_plain[300], rtcp_plain[200], copy[300 + DL_SRTCP_MAX_TRAILER];
    size_t rn = make_rtp(rtp_plain, sizeof rtp_plain, (uint16_t)(100 + i), 80), rl = rn;
    size_t cn = make_rtcp(rtcp_plain, sizeof rtcp_plain, 0x11223344), cl = cn, l;
    memcpy(rtp, rtp_plain, rn);
    memcpy(rtcp, rtcp_plain, cn);
    assert_int_equal(dl_srtp_protect(p.tx, rtp, &rl, sizeof rtp), 0);
    assert_int_equal(dl_srtp_protect_rtcp(p.tx, rtcp, &cl, sizeof rtcp), 0);
    /* Each refused by the other's function (an RTCP packet is no RTP). */
    memcpy(copy, rtcp, cl);
    l = cl;
    assert_int_not_equal(dl_srtp_unprotect(p.rx, copy, &l), 0);
    memcpy(copy, rtp, rl);
    l = rl;
    assert_int_equal(dl_srtp_unprotect_rtcp(p.rx, copy, &l), DL_SRTP_ERR_AUTH);
    /* And both pass where they belong, in either order. */
    if (i % 2) {
      assert_int_equal(dl_srtp_unprotect_rtcp(p.rx, rtcp, &cl), 0);
      assert_int_equal(dl_srtp_unprotect(p.rx, rtp, &rl), 0);
    } else {
      assert_int_equal(dl_srtp_unprotect(p.rx, rtp, &rl), 0);
      assert_int_equal(dl_srtp_unprotect_rtcp(p.rx, rtcp, &cl), 0);
    }
    assert_int_equal(rl, rn);
    assert_memory_equal(rtp, rtp_plain, rn);
    assert_int_equal(cl, cn);
    assert_memory_equal(rtcp, rtcp_plain, cn);
  }
  pair_free(&p);
}

static void test_srtp_strerror__every_code__distinct_text(void **state)
{
  (void)state;
  const int codes[] = {0, DL_SRTP_ERR_AUTH, DL_SRTP_ERR_REPLAY, DL_SRTP_ERR_SHORT,
                       DL_SRTP_ERR_HEADER, DL_SRTP_ERR_NOBUFS, -EINVAL, -ENOMEM, -EIO};
  const size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    assert_string_not_equal(dl_srtp_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(codes[i], codes[j]);
      assert_string_not_equal(dl_srtp_strerror(codes[i]), dl_srtp_strerror(codes[j]));
    }
  }
}

int main(void)
{
  const char *s = getenv("DL_SEED");
  uint64_t seed = s ? strtoull(s, NULL, 0) : 20261125u;
  printf("test_srtp: seed %llu (DL_SEED=N to change)\n", (unsigned long long)seed);
  rng_state = seed ? seed : 1;

  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_base64__rfc4648_vectors__both_ways),
    cmocka_unit_test(test_base64_decode__unpadded__accepted),
    cmocka_unit_test(test_base64_decode__bad_text__einval),
    cmocka_unit_test(test_base64__small_buffers__enobufs),
    cmocka_unit_test(test_base64__random_round_trip__identity),
    cmocka_unit_test(test_key_parse__accepted_forms__same_key),
    cmocka_unit_test(test_key_parse__bad_files__einval_with_reason),
    cmocka_unit_test(test_key_generate__format_parse__round_trip),
    cmocka_unit_test(test_key_generate__bad_random__einval),
    cmocka_unit_test(test_key_format_and_sdp__fixed_key__exact_text),
    cmocka_unit_test(test_srtp__round_trip__plain_bytes_back),
    cmocka_unit_test(test_srtp_unprotect__any_bit_flipped__auth_failed),
    cmocka_unit_test(test_srtp_unprotect__replays__replay_error),
    cmocka_unit_test(test_srtp_unprotect__shorter_than_tag__short),
    cmocka_unit_test(test_srtp_unprotect__header_past_end__header_error),
    cmocka_unit_test(test_srtp_unprotect__wrong_key_or_plain_rtp__auth_failed),
    cmocka_unit_test(test_srtp_protect__no_trailer_room__nobufs_unchanged),
    cmocka_unit_test(test_srtp__misuse__einval),
    cmocka_unit_test(test_srtcp__round_trip__plain_bytes_back),
    cmocka_unit_test(test_srtcp_unprotect__any_bit_flipped__auth_failed),
    cmocka_unit_test(test_srtcp_unprotect__replays__replay_error),
    cmocka_unit_test(test_srtcp_unprotect__every_truncation__short_or_auth),
    cmocka_unit_test(test_srtcp_unprotect__wrong_key_or_plain_rtcp__auth_failed),
    cmocka_unit_test(test_srtcp_protect__no_trailer_room__nobufs_unchanged),
    cmocka_unit_test(test_srtcp__misuse__einval),
    cmocka_unit_test(test_srtp_and_srtcp__one_session__kept_apart),
    cmocka_unit_test(test_srtp_strerror__every_code__distinct_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
