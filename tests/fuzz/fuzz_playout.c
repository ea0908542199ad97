/* libFuzzer target: the playout engine (common/rx/playout) driven by an
 * arbitrary sequence of packets, pulls and target changes decoded from the
 * input, in virtual time.
 *
 * Input: 2 bytes of configuration, then operations, each an opcode byte
 * and its arguments (missing bytes read as 0):
 *   op % 4 == 0, 1  put: seq step (int8), timestamp step (int16, x 120
 *                   samples, plus a byte), arrival step (ms), payload pick
 *                   (a valid Opus packet of 2.5..120 ms, or raw bytes);
 *                   op bit 2 switches to a second SSRC
 *   op % 4 == 2     pull: time step (ms), max_samples pick
 *   op % 4 == 3     set the target latency (ms)
 * Checks, besides memory errors: every frame's fields are consistent
 * (return value = samples - skip > 0, packets are valid Opus, silence
 * within max_samples), a payload that is not Opus is refused, counters
 * never go back, depth is not negative. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "rx/playout.h"
#include "wire/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS 1000000LL

struct reader {
  const uint8_t *p;
  size_t n;
};

static uint8_t get8(struct reader *r)
{
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

/* Valid Opus packets (TOC and framing only: the engine never decodes). */
static const struct {
  uint8_t bytes[8];
  size_t len;
} opus[] = {
  {{0xf8, 0xff, 0xfe}, 3},                 /* CELT FB 20 ms */
  {{0xe0, 0x01}, 2},                       /* CELT NB 2.5 ms */
  {{0xe8, 0x01}, 2},                       /* CELT NB 5 ms */
  {{0x00, 0x01, 0x02}, 3},                 /* SILK NB 10 ms */
  {{0x10, 0x01}, 2},                       /* SILK NB 40 ms */
  {{0x18, 0x01}, 2},                       /* SILK NB 60 ms */
  {{0xf9, 0x01, 0x02}, 3},                 /* 2 x 20 ms */
  {{0x1b, 0x02, 0x01, 0x02}, 4},           /* 2 x 60 ms = 120 ms */
  {{0xfb, 0x03, 0x01, 0x02, 0x03}, 5},     /* 3 x 20 ms */
};

static void check_frame(const struct playout_frame *f, int ret, int max_samples)
{
  if (f->kind != PLAYOUT_SILENCE && f->kind != PLAYOUT_PACKET && f->kind != PLAYOUT_FEC &&
      f->kind != PLAYOUT_PLC)
    abort();
  if (f->samples <= 0 || f->samples > DL_MAX_PACKET_SAMPLES || f->skip < 0 ||
      f->skip >= f->samples || ret != f->samples - f->skip)
    abort();
  if (f->kind == PLAYOUT_SILENCE && f->samples > max_samples)
    abort();
  if (f->kind == PLAYOUT_PACKET || f->kind == PLAYOUT_FEC) {
    if (f->data == NULL || f->len == 0 || rtp_opus_samples(f->data, f->len) <= 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct reader r = {data, size};
  struct playout_config cfg;
  struct playout *p;
  struct playout_stats st, prev;
  struct rtp_header h;
  uint8_t raw[64];
  int64_t t = 1000 * MS;
  uint8_t c0 = get8(&r), c1 = get8(&r);

  memset(&cfg, 0, sizeof cfg);
  cfg.target_ns = (int64_t)(c0 % 200) * MS;
  cfg.max_latency_ns = cfg.target_ns + (int64_t)(1 + c1 % 8) * 100 * MS;
  cfg.silence_after_ns = DL_SILENCE_AFTER_MS * MS;
  cfg.late_resync_ns = DL_LATE_RESYNC_MS * MS;
  cfg.conceal_silence = c1 >> 7;
  cfg.slots = 1 + (c0 >> 4) * 4;
  if (playout_create(&p, &cfg) != 0)
    abort();
  memset(&h, 0, sizeof h);
  h.version = 2;
  h.payload_type = 96;
  h.ssrc = 1;
  memset(&prev, 0, sizeof prev);

  while (r.n > 0) {
    uint8_t op = get8(&r);
    switch (op % 4) {
    case 0:
    case 1: {
      const uint8_t *payload;
      size_t len;
      h.seq = (uint16_t)(h.seq + (int8_t)get8(&r));
      int16_t dts = (int16_t)((get8(&r) << 8) | get8(&r));
      h.timestamp += (uint32_t)((int32_t)dts * 120 + get8(&r));
      h.ssrc = (op & 4) ? 2 : 1;
      t += (int64_t)get8(&r) * MS;
      uint8_t pick = get8(&r);
      if (pick < 0xf0) {
        payload = opus[pick % (sizeof opus / sizeof opus[0])].bytes;
        len = opus[pick % (sizeof opus / sizeof opus[0])].len;
      } else {
        len = pick - 0xf0;
        for (size_t i = 0; i < len; i++)
          raw[i] = get8(&r);
        payload = raw;
      }
      /* The record the loop thread's one parse makes (rtp_packet_parse);
       * a payload that is not Opus gives samples <= 0, which playout must
       * refuse. */
      struct rtp_packet pkt = {
        .ssrc = h.ssrc, .ts = h.timestamp, .seq = h.seq, .pt = 96,
        .samples = rtp_opus_samples(payload, len), .len = len, .payload = payload, .arrival_ns = t,
      };
      enum playout_put_result res = playout_put(p, &pkt);
      if (res != PLAYOUT_QUEUED && res != PLAYOUT_LATE && res != PLAYOUT_DUPLICATE &&
          res != PLAYOUT_FULL && res != PLAYOUT_INVALID)
        abort();
      /* Not Opus is always invalid (a valid packet may be too: RFC 3550
       * probation refuses a single wild one). */
      if (rtp_opus_samples(payload, len) <= 0 && res != PLAYOUT_INVALID)
        abort();
      break;
    }
    case 2: {
      struct playout_frame f;
      static const int maxes[] = {1, 120, 240, 480, 960, 1920, 2880, DL_MAX_PACKET_SAMPLES};
      t += (int64_t)get8(&r) * MS / 4;
      int max_samples = maxes[get8(&r) % (sizeof maxes / sizeof maxes[0])];
      int ret = playout_next(p, t, max_samples, &f);
      check_frame(&f, ret, max_samples);
      break;
    }
    default:
      playout_set_target(p, (int64_t)get8(&r) * 2 * MS);
      break;
    }
    if (playout_depth(p) < 0)
      abort();
    playout_get_stats(p, &st);
    if (st.received < prev.received || st.late < prev.late || st.played < prev.played ||
        st.samples_out < prev.samples_out || st.concealed < prev.concealed ||
        st.fec_recovered < prev.fec_recovered ||
        /* A gap's frames move between loss and tail as it is settled, but
         * never go away. */
        st.silence + st.tail_silence < prev.silence + prev.tail_silence ||
        st.concealed + st.tail_concealed < prev.concealed + prev.tail_concealed)
      abort();
    prev = st;
  }
  playout_destroy(p);
  return 0;
}
