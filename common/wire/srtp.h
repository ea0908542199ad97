/* SRTP for driftless: the pre-shared key (its text form, as in an SDP
 * `a=crypto` inline key), base64, and a session wrapper around libsrtp2 for
 * the one suite we speak, AES_CM_128_HMAC_SHA1_80 (RFC 3711, RFC 4568), with
 * a replay window of 128 packets.
 *
 * Pure like the rest of common/: no file reads, no randomness of its own.
 * The program reads the key file (dl_srtp_key_parse takes its text) and
 * the random bytes for a new key (dl_srtp_key_generate takes them).
 *
 * Prefix dl_srtp_: libsrtp2 owns srtp_*. libsrtp2's header is not included
 * here, so users of this header see none of its names.
 *
 * Use:
 *   sender --gen-key FILE: read DL_SRTP_KEY_LEN bytes with getrandom(2),
 *     dl_srtp_key_generate, dl_srtp_key_format, write the text and "\n"
 *     (mode 0600).
 *   --key FILE: read the file (a few KiB at most), dl_srtp_key_parse; on
 *     error print "prog: --key FILE: <why>" and exit 2.
 *   sender: dl_srtp_create(&s, key, DL_SRTP_SEND); per packet, rtp_pack into
 *     a buffer with DL_SRTP_MAX_TRAILER bytes to spare, then
 *     dl_srtp_protect(s, buf, &len, sizeof buf) and send len bytes. --sdp:
 *     "m=audio PORT RTP/SAVP PT" and the line from dl_srtp_sdp_crypto.
 *   receiver: dl_srtp_create(&s, key, DL_SRTP_RECV); per datagram (any
 *     buffer, no spare room), dl_srtp_unprotect(s, buf, &len) before
 *     rtp_parse/rxpipe_put; a non-zero result is counted and dropped.
 *   RTCP, both ways on both sides: dl_srtp_protect_rtcp on the SEND session
 *     (DL_SRTCP_MAX_TRAILER to spare), dl_srtp_unprotect_rtcp on a RECV
 *     session made with the same key, before rtcp_parse. */
#ifndef DL_SRTP_H
#define DL_SRTP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* The master key and salt: 16 bytes of AES-128 key, then 14 of salt. */
#define DL_SRTP_KEY_LEN      30
/* Its base64 form: exactly 40 characters, no padding (30 is a multiple of 3). */
#define DL_SRTP_KEY_B64_LEN  40
#define DL_SRTP_SUITE        "AES_CM_128_HMAC_SHA1_80"
/* What protect appends to each packet with this suite: the 80-bit tag. */
#define DL_SRTP_TAG_LEN      10
/* What libsrtp2 may write past the end of the packet (its
 * SRTP_MAX_TRAILER_LEN, checked at compile time in srtp.c). A protect
 * buffer must have this much room after the RTP packet. */
#define DL_SRTP_MAX_TRAILER  144
#define DL_SRTP_REPLAY_WINDOW 128

/* Errors of dl_srtp_protect/unprotect: negative errno values, each with one
 * meaning here, so a receiver can count them apart. */
#define DL_SRTP_ERR_AUTH     (-EBADMSG)   /* authentication tag wrong: forged, damaged, or another key */
#define DL_SRTP_ERR_REPLAY   (-EALREADY)  /* index seen before, or older than the replay window */
#define DL_SRTP_ERR_SHORT    (-EMSGSIZE)  /* shorter than an RTP header plus the tag (RTCP: 8 bytes, index and tag) */
#define DL_SRTP_ERR_HEADER   (-EPROTO)    /* RTP header libsrtp2 refuses (CSRC/extension past the end) */
#define DL_SRTP_ERR_NOBUFS   (-ENOBUFS)   /* protect: buffer lacks DL_SRTP_MAX_TRAILER of room */
/* Also -EINVAL (bad argument), -ENOMEM, -EIO (any other libsrtp2 error). */

/* ---- base64 (RFC 4648, standard alphabet, '=' padding) ---------------- */

/* Encodes n bytes into out as text with padding and a terminating NUL.
 * Returns the text length (4 * ceil(n / 3)) or -ENOBUFS if out_cap is not
 * larger than that. */
int dl_srtp_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

/* Decodes exactly n characters (no whitespace; padding optional, but if
 * present it must be right; unused trailing bits must be zero so that one
 * text means one key). Returns the number of bytes written, -EINVAL for
 * text that is not base64, -ENOBUFS if out_cap is too small. */
int dl_srtp_base64_decode(const char *in, size_t n, uint8_t *out, size_t out_cap);

/* ---- keys ------------------------------------------------------------- */

/* Parses the text of a key file (len bytes, need not be NUL-terminated)
 * into key. Accepted, whitespace (spaces, tabs, CR, LF) anywhere around:
 *   - the bare base64 key (as `head -c 30 /dev/urandom | base64` writes it,
 *     and as ffmpeg's -srtp_out_params takes it);
 *   - `inline:KEY`, optionally followed by a `|lifetime` parameter (ignored);
 *   - an SDP line `a=crypto:TAG AES_CM_128_HMAC_SHA1_80 inline:KEY[|...]`.
 * Lines starting with '#' are comments. Exactly one key must be present.
 * Returns 0, or -EINVAL with *why set to a short English reason (static
 * text, e.g. "key is not base64") for the program's one error line. why
 * may be NULL. On error key is left zeroed. */
int dl_srtp_key_parse(const char *text, size_t len, uint8_t key[DL_SRTP_KEY_LEN],
                      const char **why);

/* Makes a new key from DL_SRTP_KEY_LEN random bytes that the caller read
 * (getrandom(2) or /dev/urandom). Returns 0, or -EINVAL if n is too small
 * or the bytes are all equal (a broken source, not randomness). */
int dl_srtp_key_generate(const uint8_t *random, size_t n, uint8_t key[DL_SRTP_KEY_LEN]);

/* The key as 40 base64 characters and a NUL: the content of a key file
 * (add a newline), ffmpeg's -srtp_out_params / -srtp_in_params value. */
void dl_srtp_key_format(const uint8_t key[DL_SRTP_KEY_LEN], char out[DL_SRTP_KEY_B64_LEN + 1]);

/* The SDP attribute line for the key, without a line end:
 * "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY". Returns its length, or
 * -ENOBUFS (cap must exceed 75). */
int dl_srtp_sdp_crypto(const uint8_t key[DL_SRTP_KEY_LEN], char *out, size_t cap);

/* ---- sessions --------------------------------------------------------- */

enum dl_srtp_dir {
  DL_SRTP_SEND,   /* protect outgoing packets, any SSRC */
  DL_SRTP_RECV    /* unprotect incoming packets, any SSRC */
};

struct dl_srtp;   /* opaque */

/* A session with one key for one direction. Initialises libsrtp2 on first
 * use (once per process). The key is copied. One thread at a time per
 * session (the receiver: its loop thread; the sender: its pacer).
 * Returns 0, -EINVAL, -ENOMEM or -EIO. */
int dl_srtp_create(struct dl_srtp **out, const uint8_t key[DL_SRTP_KEY_LEN], enum dl_srtp_dir dir);
void dl_srtp_destroy(struct dl_srtp *s);   /* accepts NULL; wipes the key */

/* Sender: encrypts the RTP packet of *len bytes in buf in place and appends
 * the tag; *len grows by DL_SRTP_TAG_LEN. cap is the size of buf and must be
 * at least *len + DL_SRTP_MAX_TRAILER (libsrtp2 may write that far), else
 * DL_SRTP_ERR_NOBUFS and nothing is changed. Returns 0 or a DL_SRTP_ERR_*. */
int dl_srtp_protect(struct dl_srtp *s, uint8_t *buf, size_t *len, size_t cap);

/* Receiver: authenticates, checks the replay window and decrypts the SRTP
 * packet of *len bytes in buf in place; on success *len is the plain RTP
 * length (tag removed) and buf holds an RTP packet for rtp_parse. On
 * failure buf may have been changed and must be dropped. Returns 0,
 * DL_SRTP_ERR_AUTH, DL_SRTP_ERR_REPLAY, DL_SRTP_ERR_SHORT, DL_SRTP_ERR_HEADER
 * or -EIO. No room past *len is needed. */
int dl_srtp_unprotect(struct dl_srtp *s, uint8_t *buf, size_t *len);

/* ---- SRTCP (RFC 3711 3.4) --------------------------------------------- */

/* The same sessions protect RTCP: libsrtp2 derives the SRTCP keys from the
 * same master key. A datagram grows by the E flag with the 31-bit SRTCP
 * index, then the tag. Each side sends and receives RTCP, so each makes a
 * session for each direction (with the same key; the SSRCs differ, so do
 * the keystreams). */
#define DL_SRTCP_INDEX_LEN    4
#define DL_SRTCP_TRAILER_LEN  (DL_SRTCP_INDEX_LEN + DL_SRTP_TAG_LEN)   /* 14 */
/* What libsrtp2 may write past the end of an RTCP packet (its
 * SRTP_MAX_TRAILER_LEN + 4): the room a protect buffer must have. */
#define DL_SRTCP_MAX_TRAILER  (DL_SRTP_MAX_TRAILER + DL_SRTCP_INDEX_LEN)
#define DL_SRTCP_HEADER_LEN   8    /* sent in clear: the first header and SSRC */

/* Sender of RTCP (a DL_SRTP_SEND session): encrypts the compound RTCP
 * packet of *len bytes in buf in place (all but its first 8 bytes) and
 * appends index and tag; *len grows by DL_SRTCP_TRAILER_LEN. cap is the size
 * of buf and must be at least *len + DL_SRTCP_MAX_TRAILER, else
 * DL_SRTP_ERR_NOBUFS and nothing is changed. Returns 0, DL_SRTP_ERR_SHORT
 * (fewer than 8 bytes), DL_SRTP_ERR_NOBUFS, -EINVAL or -EIO. The index
 * counts up per packet; libsrtp2 refuses to wrap it (-EIO after 2^31). */
int dl_srtp_protect_rtcp(struct dl_srtp *s, uint8_t *buf, size_t *len, size_t cap);

/* Receiver of RTCP (a DL_SRTP_RECV session): authenticates, checks the
 * SRTCP index against the replay window and decrypts in place; on success
 * *len is the plain RTCP length, ready for rtcp_parse. On failure buf may
 * have been changed and must be dropped. Returns 0, DL_SRTP_ERR_SHORT
 * (fewer than 8 + DL_SRTCP_TRAILER_LEN bytes), DL_SRTP_ERR_AUTH (also for a
 * packet whose E flag says "not encrypted": we always encrypt),
 * DL_SRTP_ERR_REPLAY, -EINVAL or -EIO. No room past *len is needed. */
int dl_srtp_unprotect_rtcp(struct dl_srtp *s, uint8_t *buf, size_t *len);

/* A short English text for any code above ("authentication failed", ...). */
const char *dl_srtp_strerror(int err);

#endif /* DL_SRTP_H */
