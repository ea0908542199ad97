/* libFuzzer target: the SRTP receive path (dl_srtp_unprotect).
 *
 * The first input byte picks a mode, the second a position, the rest is a
 * packet:
 *   mode bit 0 clear: the bytes arrive as they are (forged SRTP: must fail,
 *                     never crash, whatever the header says);
 *   mode bit 0 set:   the bytes are an RTP packet that a sender with the
 *                     same key protects first; then, by bits 1 and 2, one
 *                     bit is flipped (must fail) or the packet is cut short
 *                     (must fail), else it must come back byte for byte and
 *                     be refused as a replay the second time.
 * libsrtp2 (built on NSS here) takes milliseconds to make a session, so one
 * sender and one receiver live for the whole run; protected packets get
 * the next sequence number and a fixed SSRC so that the replay window
 * always moves forward and the sessions do not grow a stream per SSRC.
 * libsrtp2 itself is not instrumented: coverage counts our wrapper. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PACKET 2048

static const uint8_t key[DL_SRTP_KEY_LEN] = {
  0x3c, 0x1f, 0x92, 0x07, 0xa4, 0x55, 0x6e, 0x81, 0x19, 0xd2, 0x40, 0xbb, 0x0c, 0x7d, 0xe6, 0x23,
  0x58, 0x9a, 0x31, 0xc4, 0x0f, 0x76, 0xad, 0x12, 0xee, 0x47, 0x60, 0x9b, 0xd8, 0x2a
};

static struct dl_srtp *tx, *rx;
static uint16_t next_seq;

static int known(int rc)
{
  return rc == DL_SRTP_ERR_AUTH || rc == DL_SRTP_ERR_REPLAY || rc == DL_SRTP_ERR_SHORT ||
         rc == DL_SRTP_ERR_HEADER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t *buf, *copy, *plain;
  size_t len, n, where;
  uint8_t mode, sel;
  int rc;

  if (size < 2 || size > MAX_PACKET + 2)
    return 0;
  if (rx == NULL && (dl_srtp_create(&tx, key, DL_SRTP_SEND) != 0 ||
                     dl_srtp_create(&rx, key, DL_SRTP_RECV) != 0))
    abort();
  mode = data[0];
  sel = data[1];
  data += 2;
  size -= 2;
  where = (size_t)(mode >> 3) * 256 + sel;

  if (!(mode & 1)) {
    /* An exact-size buffer: ASan sees any read past the datagram. */
    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    len = size;
    rc = dl_srtp_unprotect(rx, buf, &len);
    /* 0 would be a forgery that passed authentication. */
    if (rc == 0 || !known(rc))
      abort();
    free(buf);
    return 0;
  }

  plain = malloc(size ? size : 1);
  buf = malloc(size + DL_SRTP_MAX_TRAILER);
  memcpy(plain, data, size);
  if (size >= 12) {
    /* Sequence number and SSRC are ours (see above). */
    plain[2] = (uint8_t)(next_seq >> 8);
    plain[3] = (uint8_t)next_seq;
    memcpy(plain + 8, "\x5e\xed\x00\x01", 4);
  }
  memcpy(buf, plain, size);
  len = size;
  rc = dl_srtp_protect(tx, buf, &len, size + DL_SRTP_MAX_TRAILER);
  if (rc != 0) {
    if (!known(rc) || rc == DL_SRTP_ERR_REPLAY)
      abort();
    goto out;
  }
  next_seq++;
  if (len != size + DL_SRTP_TAG_LEN)
    abort();
  n = len;
  if (mode & 2) {
    buf[where % n] ^= (uint8_t)(1u << (sel >> 5));
    rc = dl_srtp_unprotect(rx, buf, &len);
    if (rc == 0 || !known(rc))
      abort();
  } else if (mode & 4) {
    len = n - 1 - where % n;   /* 0 .. n-1 bytes */
    copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    rc = dl_srtp_unprotect(rx, copy, &len);
    free(copy);
    if (rc == 0 || !known(rc))
      abort();
  } else {
    copy = malloc(n);
    memcpy(copy, buf, n);
    rc = dl_srtp_unprotect(rx, copy, &len);
    if (rc != 0 || len != size || memcmp(copy, plain, size) != 0)
      abort();
    len = n;
    rc = dl_srtp_unprotect(rx, buf, &len);
    if (rc != DL_SRTP_ERR_REPLAY)
      abort();
    free(copy);
  }
out:
  free(buf);
  free(plain);
  return 0;
}
