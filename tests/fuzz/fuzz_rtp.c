/* libFuzzer target: rtp_parse and rtp_opus_samples on arbitrary datagrams.
 * Besides memory errors (ASan/UBSan), it checks what must hold for every
 * accepted datagram: the payload lies inside it, its duration is a whole
 * number of 2.5 ms frames up to 120 ms, and packing the parsed header with
 * the payload gives the datagram back (when it has no padding; with an
 * extension through rtp_pack_ext), and a header extension's elements
 * (RFC 8285, the RFC 6051 NTP-64 among them) lie inside it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "wire/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_samples(int n)
{
  if (n > 0) {
    if (n > DL_MAX_PACKET_SAMPLES || n % 120 != 0)
      abort();
  } else if (n != RTP_ERR_EMPTY && n != RTP_ERR_OPUS && n != RTP_ERR_TOO_LONG) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct rtp_header h;
  const uint8_t *payload = NULL;
  size_t plen = 0;
  static uint8_t again[DL_MAX_DATAGRAM + 64];

  /* The raw bytes as an Opus payload too: it is what a datagram's payload
   * can be. */
  check_samples(rtp_opus_samples(data, size));

  int rc = rtp_parse(data, size, &h, &payload, &plen);
  if (rc != RTP_OK) {
    if (rc > 0 || strcmp(rtp_strerror(rc), "unknown error") == 0)
      abort();
    return 0;
  }
  if (h.version != RTP_VERSION || h.csrc_count > RTP_MAX_CSRC || h.payload_type > 127)
    abort();
  if (plen == 0 || payload < data || payload + plen > data + size)
    abort();
  check_samples(rtp_opus_samples(payload, plen));

  if (!h.extension && !h.padding) {
    int n = rtp_pack(&h, payload, plen, again, sizeof again);
    if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
      abort();
  }
  if (h.extension) {
    if (h.ext_data == NULL || h.ext_data < data || h.ext_data + h.ext_len > payload)
      abort();
    for (unsigned id = 0; id < 16; id++) {
      const uint8_t *v = NULL;
      size_t vlen = 0;
      int r = rtp_ext_find(h.ext_profile, h.ext_data, h.ext_len, id, &v, &vlen);
      if (r == 1 && (v < h.ext_data || v + vlen > h.ext_data + h.ext_len))
        abort();
      if (r != 1 && r != 0 && r != RTP_ERR_EXT)
        abort();
    }
    if (!h.padding) {
      int n = rtp_pack_ext(&h, h.ext_profile, h.ext_data, h.ext_len, payload, plen, again, sizeof again);
      if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
        abort();
    }
  } else if (h.ext_data != NULL) {
    abort();
  }

  /* The one parse the receiver does: it agrees with the two steps, and its
   * record survives a ring slot byte for byte. */
  struct rtp_packet pkt, back;
  int prc = rtp_packet_parse(data, size, 7, &pkt);
  int samples = rtp_opus_samples(payload, plen);
  if (samples > 0) {
    if (prc != RTP_OK || pkt.samples != samples || pkt.payload != payload || pkt.len != plen ||
        pkt.seq != h.seq || pkt.ts != h.timestamp || pkt.ssrc != h.ssrc || pkt.arrival_ns != 7)
      abort();
    if (pkt.has_ntp && !h.extension)
      abort();
    int n = rtp_packet_store(&pkt, again, sizeof again);
    if (n <= 0 || rtp_packet_load(again, (size_t)n, &back) != 0 || back.len != pkt.len ||
        memcmp(back.payload, pkt.payload, pkt.len) != 0 || back.seq != pkt.seq || back.ts != pkt.ts)
      abort();
  } else if (prc != samples || pkt.ssrc != h.ssrc) {
    abort();
  }
  return 0;
}
