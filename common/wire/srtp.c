/* SRTP keys, base64 and the libsrtp2 session wrapper (see srtp.h).
 *
 * The wrapper does its own length checks before libsrtp2 sees a packet, so
 * that "too short" is told apart from "forged" and a truncated datagram is
 * never handed to the library's header walk. */
#include "wire/srtp.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

_Static_assert(DL_SRTP_MAX_TRAILER == SRTP_MAX_TRAILER_LEN, "libsrtp2 trailer length changed");
_Static_assert(DL_SRTP_KEY_LEN == SRTP_AES_ICM_128_KEY_LEN_WSALT, "AES-128 key and salt are 30 bytes");

#define RTP_FIXED_HEADER 12

/* ---- base64 ------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int dl_srtp_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
  size_t need = 4 * ((n + 2) / 3);
  size_t o = 0;

  if (out == NULL || out_cap <= need || (in == NULL && n > 0))
    return -ENOBUFS;
  if (need > INT_MAX)
    return -ENOBUFS;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    size_t rest = n - i;
    if (rest > 1)
      v |= (uint32_t)in[i + 1] << 8;
    if (rest > 2)
      v |= in[i + 2];
    out[o++] = b64_alphabet[(v >> 18) & 63];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = rest > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
    out[o++] = rest > 2 ? b64_alphabet[v & 63] : '=';
  }
  out[o] = '\0';
  return (int)o;
}

int dl_srtp_base64_decode(const char *in, size_t n, uint8_t *out, size_t out_cap)
{
  size_t pad = 0, chars, bytes, o = 0;
  uint32_t acc = 0;
  unsigned bits = 0;

  if (in == NULL && n > 0)
    return -EINVAL;
  /* Padding: at most two '=' at the end, and then the whole text is
   * whole quads. */
  while (pad < n && pad < 3 && in[n - 1 - pad] == '=')
    pad++;
  if (pad > 2)
    return -EINVAL;
  if (pad > 0 && n % 4 != 0)
    return -EINVAL;
  chars = n - pad;
  if (chars % 4 == 1)
    return -EINVAL;   /* 6 bits cannot make a byte */
  bytes = chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
  if (bytes > INT_MAX)
    return -EINVAL;
  if (bytes > out_cap || (out == NULL && bytes > 0))
    return -ENOBUFS;
  for (size_t i = 0; i < chars; i++) {
    int v = b64_value((unsigned char)in[i]);
    if (v < 0)
      return -EINVAL;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  /* Leftover bits must be zero: otherwise two texts would give one key. */
  if (acc != 0)
    return -EINVAL;
  return (int)o;
}

/* ---- keys --------------------------------------------------------------- */

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
  size_t k = strlen(prefix);
  return n >= k && memcmp(s, prefix, k) == 0;
}

/* One line of text, trimmed of whitespace at both ends. */
struct span {
  const char *p;
  size_t n;
};

static struct span trim(const char *p, size_t n)
{
  while (n > 0 && is_space(p[0])) {
    p++;
    n--;
  }
  while (n > 0 && is_space(p[n - 1]))
    n--;
  return (struct span){p, n};
}

/* "inline:KEY[|lifetime]" with nothing after it. */
static int parse_inline(struct span s, uint8_t key[DL_SRTP_KEY_LEN], const char **why)
{
  uint8_t tmp[DL_SRTP_KEY_LEN + 3];
  size_t k = 0;
  int n;

  if (!starts_with(s.p, s.n, "inline:")) {
    *why = "expected inline:KEY";
    return -EINVAL;
  }
  s.p += 7;
  s.n -= 7;
  while (k < s.n && s.p[k] != '|' && s.p[k] != ';' && !is_space(s.p[k]))
    k++;
  if (k == 0) {
    *why = "inline: is followed by no key";
    return -EINVAL;
  }
  n = dl_srtp_base64_decode(s.p, k, tmp, sizeof tmp);
  if (n == -EINVAL) {
    *why = "key is not base64";
    return -EINVAL;
  }
  if (n != DL_SRTP_KEY_LEN) {
    *why = "key is not 30 bytes (16 of key, 14 of salt) in base64 (40 characters)";
    return -EINVAL;
  }
  /* What may follow: "|lifetime" (a number or 2^N), nothing else. */
  if (k < s.n && s.p[k] == '|') {
    size_t i = k + 1, start = i;
    int pow = i + 1 < s.n && s.p[i] == '2' && s.p[i + 1] == '^';
    if (pow)
      i += 2;
    while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
      i++;
    if (i < s.n && s.p[i] == ':') {
      *why = "MKI key parameters are not supported";
      return -EINVAL;
    }
    if (i == start || (pow && i == start + 2)) {
      *why = "bad key lifetime after '|'";
      return -EINVAL;
    }
    k = i;
    if (k < s.n && s.p[k] == '|') {
      *why = "MKI key parameters are not supported";
      return -EINVAL;
    }
  }
  if (k < s.n && s.p[k] == ';') {
    *why = "more than one key in the line";
    return -EINVAL;
  }
  if (trim(s.p + k, s.n - k).n != 0) {
    *why = "unexpected text after the key";
    return -EINVAL;
  }
  memcpy(key, tmp, DL_SRTP_KEY_LEN);
  return 0;
}

/* "a=crypto:TAG SUITE inline:KEY[|lifetime]" */
static int parse_crypto_line(struct span s, uint8_t key[DL_SRTP_KEY_LEN], const char **why)
{
  size_t i = 9, suite_start;

  if (i >= s.n || s.p[i] < '0' || s.p[i] > '9') {
    *why = "a=crypto: line without a tag number";
    return -EINVAL;
  }
  while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
    i++;
  if (i >= s.n || !is_space(s.p[i])) {
    *why = "a=crypto: line without a crypto suite";
    return -EINVAL;
  }
  while (i < s.n && is_space(s.p[i]))
    i++;
  suite_start = i;
  while (i < s.n && !is_space(s.p[i]))
    i++;
  if (i - suite_start != strlen(DL_SRTP_SUITE) ||
      memcmp(s.p + suite_start, DL_SRTP_SUITE, i - suite_start) != 0) {
    *why = "unsupported crypto suite (only AES_CM_128_HMAC_SHA1_80)";
    return -EINVAL;
  }
  return parse_inline(trim(s.p + i, s.n - i), key, why);
}

int dl_srtp_key_parse(const char *text, size_t len, uint8_t key[DL_SRTP_KEY_LEN],
                      const char **why)
{
  const char *dummy;
  struct span lines[2], crypto[2];
  size_t nlines = 0, ncrypto = 0, i = 0;
  int rc;

  if (why == NULL)
    why = &dummy;
  *why = "ok";
  if (key == NULL || (text == NULL && len > 0)) {
    *why = "invalid argument";
    return -EINVAL;
  }
  memset(key, 0, DL_SRTP_KEY_LEN);
  /* Collect the meaningful lines: a=crypto lines (an SDP file given as the
   * key file: every other line is ignored) or else the non-comment ones. */
  while (i < len) {
    size_t j = i;
    while (j < len && text[j] != '\n')
      j++;
    struct span l = trim(text + i, j - i);
    i = j + 1;
    if (memchr(l.p, '\0', l.n) != NULL) {
      *why = "key file holds a NUL byte (not a text file)";
      return -EINVAL;
    }
    if (l.n == 0 || l.p[0] == '#')
      continue;
    if (starts_with(l.p, l.n, "a=crypto:")) {
      if (ncrypto < 2)
        crypto[ncrypto] = l;
      ncrypto++;
    } else {
      if (nlines < 2)
        lines[nlines] = l;
      nlines++;
    }
  }
  if (ncrypto > 1) {
    *why = "more than one a=crypto line";
    return -EINVAL;
  }
  if (ncrypto == 1)
    rc = parse_crypto_line(crypto[0], key, why);
  else if (nlines == 0) {
    *why = "no key in the file";
    return -EINVAL;
  } else if (nlines > 1) {
    *why = "more than one line of key text";
    return -EINVAL;
  } else if (starts_with(lines[0].p, lines[0].n, "inline:"))
    rc = parse_inline(lines[0], key, why);
  else {
    /* A bare key: the whole line is base64, no '|' parameters. */
    struct span s = lines[0];
    uint8_t tmp[DL_SRTP_KEY_LEN + 3];
    int n = dl_srtp_base64_decode(s.p, s.n, tmp, sizeof tmp);
    rc = 0;
    if (n == -EINVAL) {
      *why = "key is not base64";
      rc = -EINVAL;
    } else if (n != DL_SRTP_KEY_LEN) {
      *why = "key is not 30 bytes (16 of key, 14 of salt) in base64 (40 characters)";
      rc = -EINVAL;
    } else
      memcpy(key, tmp, DL_SRTP_KEY_LEN);
  }
  if (rc != 0)
    memset(key, 0, DL_SRTP_KEY_LEN);
  else
    *why = "ok";
  return rc;
}

int dl_srtp_key_generate(const uint8_t *random, size_t n, uint8_t key[DL_SRTP_KEY_LEN])
{
  size_t i;

  if (random == NULL || key == NULL || n < DL_SRTP_KEY_LEN)
    return -EINVAL;
  /* All bytes equal: /dev/zero or an unfilled buffer, not a key. */
  for (i = 1; i < DL_SRTP_KEY_LEN; i++)
    if (random[i] != random[0])
      break;
  if (i == DL_SRTP_KEY_LEN)
    return -EINVAL;
  memcpy(key, random, DL_SRTP_KEY_LEN);
  return 0;
}

void dl_srtp_key_format(const uint8_t key[DL_SRTP_KEY_LEN], char out[DL_SRTP_KEY_B64_LEN + 1])
{
  (void)dl_srtp_base64_encode(key, DL_SRTP_KEY_LEN, out, DL_SRTP_KEY_B64_LEN + 1);
}

int dl_srtp_sdp_crypto(const uint8_t key[DL_SRTP_KEY_LEN], char *out, size_t cap)
{
  static const char head[] = "a=crypto:1 " DL_SRTP_SUITE " inline:";
  size_t hl = sizeof head - 1;

  if (out == NULL || cap <= hl + DL_SRTP_KEY_B64_LEN)
    return -ENOBUFS;
  memcpy(out, head, hl);
  dl_srtp_key_format(key, out + hl);
  return (int)(hl + DL_SRTP_KEY_B64_LEN);
}

/* ---- sessions ----------------------------------------------------------- */

struct dl_srtp {
  srtp_t ctx;
  enum dl_srtp_dir dir;
  uint8_t key[DL_SRTP_KEY_LEN];   /* libsrtp2 reads the key at srtp_create only */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_fail;

static void init_library(void)
{
  init_status = srtp_init();
}

int dl_srtp_create(struct dl_srtp **out, const uint8_t key[DL_SRTP_KEY_LEN], enum dl_srtp_dir dir)
{
  struct dl_srtp *s = NULL;
  srtp_policy_t policy;
  int rc;

  if (out == NULL || key == NULL || (dir != DL_SRTP_SEND && dir != DL_SRTP_RECV))
    return -EINVAL;
  *out = NULL;
  pthread_once(&init_once, init_library);
  if (init_status != srtp_err_status_ok)
    return -EIO;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->dir = dir;
  memcpy(s->key, key, DL_SRTP_KEY_LEN);

  memset(&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.ssrc.type = dir == DL_SRTP_SEND ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = s->key;
  policy.window_size = DL_SRTP_REPLAY_WINDOW;
  policy.allow_repeat_tx = 0;
  policy.next = NULL;
  switch (srtp_create(&s->ctx, &policy)) {
  case srtp_err_status_ok:
    break;
  case srtp_err_status_alloc_fail:
    rc = -ENOMEM;
    goto fail;
  default:
    rc = -EIO;
    goto fail;
  }
  *out = s;
  return 0;

fail:
  dl_srtp_destroy(s);
  return rc;
}

void dl_srtp_destroy(struct dl_srtp *s)
{
  if (s == NULL)
    return;
  if (s->ctx != NULL)
    srtp_dealloc(s->ctx);
  explicit_bzero(s->key, sizeof s->key);
  free(s);
}

/* The RTP header length (fixed part, CSRCs, extension) if it lies within
 * len bytes, else 0. libsrtp2 walks the same fields. */
static size_t header_len(const uint8_t *buf, size_t len)
{
  size_t h;

  if (len < RTP_FIXED_HEADER)
    return 0;
  h = RTP_FIXED_HEADER + 4u * (buf[0] & 0x0f);
  if (buf[0] & 0x10) {
    if (len < h + 4)
      return 0;
    h += 4 + 4u * (((size_t)buf[h + 2] << 8) | buf[h + 3]);
  }
  return h <= len ? h : 0;
}

static int map_status(srtp_err_status_t st)
{
  switch (st) {
  case srtp_err_status_ok: return 0;
  case srtp_err_status_auth_fail: return DL_SRTP_ERR_AUTH;
  case srtp_err_status_replay_fail:
  case srtp_err_status_replay_old: return DL_SRTP_ERR_REPLAY;
  case srtp_err_status_bad_param: return DL_SRTP_ERR_HEADER;
  case srtp_err_status_alloc_fail: return -ENOMEM;
  default: return -EIO;
  }
}

int dl_srtp_protect(struct dl_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
  int ilen;
  int rc;

  if (s == NULL || buf == NULL || len == NULL || s->dir != DL_SRTP_SEND)
    return -EINVAL;
  if (*len < RTP_FIXED_HEADER)
    return DL_SRTP_ERR_SHORT;
  if (header_len(buf, *len) == 0)
    return DL_SRTP_ERR_HEADER;
  if (cap < *len || cap - *len < DL_SRTP_MAX_TRAILER || *len > INT_MAX - DL_SRTP_MAX_TRAILER)
    return DL_SRTP_ERR_NOBUFS;
  ilen = (int)*len;
  rc = map_status(srtp_protect(s->ctx, buf, &ilen));
  if (rc == 0)
    *len = (size_t)ilen;
  return rc;
}

int dl_srtp_unprotect(struct dl_srtp *s, uint8_t *buf, size_t *len)
{
  size_t h;
  int ilen;
  int rc;

  if (s == NULL || buf == NULL || len == NULL || s->dir != DL_SRTP_RECV)
    return -EINVAL;
  if (*len < RTP_FIXED_HEADER + DL_SRTP_TAG_LEN)
    return DL_SRTP_ERR_SHORT;
  if (*len > INT_MAX)
    return DL_SRTP_ERR_HEADER;
  /* A header that runs into the tag is refused here, before libsrtp2. */
  h = header_len(buf, *len);
  if (h == 0 || *len - h < DL_SRTP_TAG_LEN)
    return DL_SRTP_ERR_HEADER;
  ilen = (int)*len;
  rc = map_status(srtp_unprotect(s->ctx, buf, &ilen));
  if (rc == 0)
    *len = (size_t)ilen;
  return rc;
}

int dl_srtp_protect_rtcp(struct dl_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
  int ilen;
  int rc;

  if (s == NULL || buf == NULL || len == NULL || s->dir != DL_SRTP_SEND)
    return -EINVAL;
  if (*len < DL_SRTCP_HEADER_LEN)
    return DL_SRTP_ERR_SHORT;
  if (cap < *len || cap - *len < DL_SRTCP_MAX_TRAILER || *len > INT_MAX - DL_SRTCP_MAX_TRAILER)
    return DL_SRTP_ERR_NOBUFS;
  ilen = (int)*len;
  rc = map_status(srtp_protect_rtcp(s->ctx, buf, &ilen));
  if (rc == 0)
    *len = (size_t)ilen;
  return rc;
}

int dl_srtp_unprotect_rtcp(struct dl_srtp *s, uint8_t *buf, size_t *len)
{
  srtp_err_status_t st;
  int ilen;
  int rc;

  if (s == NULL || buf == NULL || len == NULL || s->dir != DL_SRTP_RECV)
    return -EINVAL;
  /* libsrtp2 reads the SSRC at bytes 4..7 and the trailer at the end. */
  if (*len < DL_SRTCP_HEADER_LEN + DL_SRTCP_TRAILER_LEN)
    return DL_SRTP_ERR_SHORT;
  if (*len > INT_MAX)
    return -EINVAL;
  ilen = (int)*len;
  st = srtp_unprotect_rtcp(s->ctx, buf, &ilen);
  /* The E flag is inside what the tag covers, but libsrtp2 looks at it
   * first: clear, on a session that always encrypts, it answers
   * "cannot check". Such a packet is a forgery (or not SRTCP at all). */
  rc = st == srtp_err_status_cant_check ? DL_SRTP_ERR_AUTH : map_status(st);
  if (rc == 0)
    *len = (size_t)ilen;
  return rc;
}

const char *dl_srtp_strerror(int err)
{
  switch (err) {
  case 0: return "ok";
  case DL_SRTP_ERR_AUTH: return "SRTP authentication failed";
  case DL_SRTP_ERR_REPLAY: return "SRTP replay (packet index seen before or too old)";
  case DL_SRTP_ERR_SHORT: return "shorter than an RTP (or RTCP) header and the SRTP trailer";
  case DL_SRTP_ERR_HEADER: return "RTP header runs past the end (or into the SRTP tag)";
  case DL_SRTP_ERR_NOBUFS: return "no room for the SRTP trailer";
  case -EINVAL: return "invalid argument";
  case -ENOMEM: return "out of memory";
  case -EIO: return "libsrtp2 error";
  default: return "unknown error";
  }
}
