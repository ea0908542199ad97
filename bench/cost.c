/* cost: what driftless's pipelines cost per stream, against bare libopus on
 * the same audio and settings, measured pair by pair in one run.
 *
 * Four sides:
 *   tx-ours  the sender's pipeline without the socket: common/tx/txpipe pulls
 *            frames from common/tx/audio_in (file read, resampling to 48 kHz
 *            when needed), encodes and packs them as RTP
 *   tx-raw   opus_encode over the same 48 kHz PCM, preloaded in memory
 *   rx-ours  the receiver's pipeline without socket and sink: common/rx/rxpipe
 *            (RTP parse and checks, playout queue, concealment choice,
 *            decode, drift resampler) driven in virtual time: every
 *            datagram arrives a constant transit after its send time and
 *            a sink pulls a block every DL_ALSA_PERIOD_US
 *   rx-raw   opus_decode over the same packets' payloads
 *
 * Each repetition runs ours and raw back to back (the order alternates), so
 * a noisy machine slows both sides of a pair alike and the ratio, computed
 * per pair, cancels it. The figures are medians over the repetitions with
 * their spread (min, max).
 *
 * CPU time is the thread's (CLOCK_THREAD_CPUTIME_ID) over the whole pass,
 * and per frame around each frame's work (sender: one frame pulled and
 * encoded; receiver: the datagram put plus the blocks read during that
 * frame's period). Thread CPU time, not wall time: on a loaded machine a
 * preemption would otherwise put another process's time slice into a
 * frame (several ms), which says nothing about our code.
 *
 * --side runs one side once and nothing else, for
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured
 * which then counts the instructions of that side's pass alone.
 *
 * The drift resampler's options (speexdsp qualities: cost and fidelity)
 * are bench/resampler's study, on the same workload (bench/workload.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "defaults.h"
#include "rx/rxpipe.h"
#include "shell/clock.h"
#include "spread.h"
#include "tx/audio_in.h"
#include "tx/txpipe.h"
#include "util/json.h"
#include "wire/rtp.h"
#include "workload.h"

#define PROG "cost"

enum side { TX_OURS, TX_RAW, RX_OURS, RX_RAW, NSIDES };
static const char *const side_name[NSIDES] = {"tx-ours", "tx-raw", "rx-ours", "rx-raw"};

struct opts {
  struct workload_opts wl;   /* the audio, the encoder, runs, quiet */
  int side;                  /* -1: all, interleaved */
  int no_resample;           /* rx-ours without the drift resampler */
};

struct pass {
  double cpu_s;              /* thread CPU time of the pass */
  double p50_us, p99_us, max_us;
  uint64_t check;            /* bytes made or samples played, to compare sides */
};

/* ---- the four passes; each returns 0 or a negative errno ---- */

static int pass_tx_ours(struct workload *w, struct pass *p)
{
  struct txpipe_config c = workload_tx_config(w->o);
  struct txpipe *tp = NULL;
  struct audio_in *in = NULL;
  uint8_t buf[RTP_HEADER_LEN + DL_MAX_PAYLOAD];
  int rc;

  /* Opening the file and the encoder is set-up, not per-stream cost. */
  if ((rc = workload_open_input(PROG, w->o, &in)) < 0)
    return rc;
  if ((rc = txpipe_create(&tp, &c, NULL)) < 0)
    goto fail;
  int64_t c0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = clock_thread_cpu_ns();
    int n = txpipe_pull(tp, in, 1, buf, sizeof buf);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
    if (n < 0) {
      rc = n == TXPIPE_END ? -ENODATA : n;
      goto fail;
    }
    p->check += (uint64_t)n;
  }
  p->cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  rc = 0;
fail:
  txpipe_destroy(tp);
  audio_in_close(in);
  return rc;
}

static int pass_tx_raw(struct workload *w, struct pass *p)
{
  OpusEncoder *enc = workload_encoder(w->o);
  uint8_t buf[DL_MAX_PAYLOAD];
  int fs = w->o->frame_samples;

  if (enc == NULL)
    return -ENOMEM;
  int64_t c0 = clock_thread_cpu_ns();
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = clock_thread_cpu_ns();
    int n = opus_encode(enc, w->pcm + (size_t)k * fs, fs, buf, (opus_int32)sizeof buf);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
    if (n < 0) {
      opus_encoder_destroy(enc);
      return -EIO;
    }
    p->check += (uint64_t)n + RTP_HEADER_LEN;
  }
  p->cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  opus_encoder_destroy(enc);
  return 0;
}

static int pass_rx_ours(struct workload *w, int resample, struct pass *p)
{
  struct rxpipe_config c = workload_rx_config(resample);
  struct rxpipe *rp = NULL;
  struct rxpipe_stats st;
  static int16_t pcm[DL_MAX_PACKET_SAMPLES];
  int fs = w->o->frame_samples;
  int64_t frame_ns = (int64_t)fs * 1000000000 / DL_RATE;
  int64_t block_ns = (int64_t)DL_ALSA_PERIOD_US * 1000;
  int block = DL_RATE / 1000 * DL_ALSA_PERIOD_US / 1000;
  int64_t t = 0;
  int rc;

  if ((rc = rxpipe_create(&rp, &c)) < 0)
    return rc;
  int64_t c0 = clock_thread_cpu_ns();
  /* Frame k is sent at k * frame and arrives TRANSIT later; the sink reads
   * a block at each multiple of block_ns. Frame k's time covers its put
   * and the blocks read until frame k + 1 arrives. */
  for (int k = 0; k < w->frames; k++) {
    int64_t t0 = clock_thread_cpu_ns();
    int64_t arrival = (int64_t)k * frame_ns + WORKLOAD_TRANSIT_NS;
    struct rtp_packet pkt;
    /* The receiver's one parse (its loop thread's) is part of its cost. */
    if (rtp_packet_parse(w->dgram[k], (size_t)w->dlen[k], arrival, &pkt) == RTP_OK)
      rxpipe_put(rp, &pkt);
    for (; t < arrival + frame_ns; t += block_ns)
      rxpipe_read(rp, t, pcm, block);
    w->frame_ns[k] = clock_thread_cpu_ns() - t0;
  }
  /* Play out what is still queued: the latency's worth of blocks. */
  for (int64_t end = t + c.playout.target_ns + 2 * frame_ns; t < end; t += block_ns)
    rxpipe_read(rp, t, pcm, block);
  p->cpu_s = (double)(clock_thread_cpu_ns() - c0) / 1e9;
  rxpipe_get_stats(rp, &st);
  p->check = st.po.played;
  rxpipe_destroy(rp);
  return 0;
}

static int pass_rx_raw(struct workload *w, struct pass *p)
{
  int n = workload_decode(w, NULL, &p->cpu_s);
  if (n < 0)
    return n;
  p->check = (uint64_t)n;
  return 0;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The one function callgrind counts (--toggle-collect=measured). */
__attribute__((noinline)) static int measured(struct workload *w, int s, int resample, struct pass *p)
{
  switch (s) {
  case TX_OURS: return pass_tx_ours(w, p);
  case TX_RAW: return pass_tx_raw(w, p);
  case RX_OURS: return pass_rx_ours(w, resample, p);
  case RX_RAW: return pass_rx_raw(w, p);
  }
  return -EINVAL;
}

/* Side s once (resample: rx-ours's drift resampler on), with the
 * per-frame quantiles of its times. */
static int run_side(struct workload *w, int s, int resample, struct pass *p)
{
  memset(p, 0, sizeof *p);
  int rc = measured(w, s, resample, p);
  if (rc < 0)
    return rc;
  qsort(w->frame_ns, (size_t)w->frames, sizeof *w->frame_ns, cmp_i64);
  p->p50_us = (double)w->frame_ns[(size_t)(0.50 * (w->frames - 1))] / 1e3;
  p->p99_us = (double)w->frame_ns[(size_t)ceil(0.99 * (w->frames - 1))] / 1e3;
  p->max_us = (double)w->frame_ns[w->frames - 1] / 1e3;
  return 0;
}

static void usage(FILE *f)
{
  fprintf(f,
"usage: cost [options]\n"
"Measures the CPU cost of driftless's sender pipeline (audio_in + txpipe:\n"
"read, resample, encode, RTP pack; no socket) and receiver pipeline (rxpipe:\n"
"RTP parse, playout queue, concealment, decode, drift resampler; no socket,\n"
"no sink) against bare opus_encode / opus_decode loops over the same audio,\n"
"packets and encoder settings. Each repetition runs ours and raw back to\n"
"back (order alternating), the ratio is taken per pair, and every figure is\n"
"reported as median, min and max over the repetitions, as one JSON object\n"
"on stdout.\n"
"\n");
  workload_usage(f);
  fprintf(f,
"  --no-resample      rx-ours without the drift resampler (ratio held at 1),\n"
"                     to see what the resampler costs\n"
"  --side S           run only side S once, no pairing: tx-ours, tx-raw,\n"
"                     rx-ours or rx-raw. Its pass is the function `measured`,\n"
"                     for valgrind --tool=callgrind --collect-atstart=no\n"
"                     --toggle-collect=measured (instruction counts)\n"
"  -q, --quiet        no progress lines on stderr\n"
"  -h, --help         this text\n"
"\n"
"Output keys per side pair (tx, rx): ours_ms_per_s and raw_ms_per_s (CPU ms\n"
"per second of audio), ratio (ours / raw, pair by pair), ours_p99_us and\n"
"raw_p99_us, ours_max_us (per-frame thread CPU time); rx also\n"
"streams_per_core (1000 / ours_ms_per_s: real-time streams one core decodes).\n"
"Exit: 0, 1 on a run-time error, 2 on bad usage.\n");
}

static int bad(const char *flag, const char *val, const char *why)
{
  fprintf(stderr, PROG ": %s: %s, got \"%s\"\n", flag, why, val ? val : "");
  return 2;
}

static int parse(struct opts *o, int argc, char **argv)
{
  int took;
  for (int i = 1; i < argc; i += took) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    took = 1;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if ((took = workload_flag(PROG, &o->wl, a, v)) != 0) {
      if (took < 0)
        return 2;
    } else if (strcmp(a, "--no-resample") == 0) {
      o->no_resample = 1;
      took = 1;
    } else if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, PROG ": unexpected argument \"%s\" (see --help)\n", a);
      return 2;
    } else if (strcmp(a, "--side") == 0) {
      if (v == NULL)
        return bad(a, NULL, "needs a value");
      o->side = -2;
      for (int s = 0; s < NSIDES; s++)
        if (strcmp(v, side_name[s]) == 0)
          o->side = s;
      if (o->side < 0)
        return bad(a, v, "expected tx-ours, tx-raw, rx-ours or rx-raw");
      took = 2;
    } else {
      fprintf(stderr, PROG ": unknown option \"%s\" (see --help)\n", a);
      return 2;
    }
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct opts o = {.side = -1};
  struct workload w;
  workload_defaults(&o.wl);
  int rc = parse(&o, argc, argv);
  if (rc != 0)
    return rc;
  if (workload_prepare(&w, &o.wl, PROG, o.side != TX_OURS && o.side != TX_RAW) < 0) {
    workload_release(&w);
    return 1;
  }
  int resample = !o.no_resample;
  double audio_s = (double)w.frames * o.wl.frame_samples / DL_RATE;

  if (o.side >= 0) {
    struct pass p;
    rc = run_side(&w, o.side, resample, &p);
    if (rc < 0) {
      fprintf(stderr, PROG ": %s: %s\n", side_name[o.side], strerror(-rc));
      workload_release(&w);
      return 1;
    }
    printf("{\"side\":\"%s\",\"audio_s\":%.3f,\"cpu_ms_per_s\":%.4f,\"p99_us\":%.2f,\"check\":%llu}\n",
           side_name[o.side], audio_s, p.cpu_s * 1e3 / audio_s, p.p99_us,
           (unsigned long long)p.check);
    workload_release(&w);
    return 0;
  }

  /* Per repetition and side pair: [0] ours, [1] raw. */
  int n = o.wl.runs;
  double *v = calloc((size_t)n * 12, sizeof *v);
  if (v == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    workload_release(&w);
    return 1;
  }
  double *ms[2][2], *p99[2][2], *mx[2], *ratio[2];
  for (int pr = 0; pr < 2; pr++) {
    ms[pr][0] = v + (size_t)n * (pr * 6 + 0);
    ms[pr][1] = v + (size_t)n * (pr * 6 + 1);
    p99[pr][0] = v + (size_t)n * (pr * 6 + 2);
    p99[pr][1] = v + (size_t)n * (pr * 6 + 3);
    mx[pr] = v + (size_t)n * (pr * 6 + 4);
    ratio[pr] = v + (size_t)n * (pr * 6 + 5);
  }
  /* One warm-up pass per side: page faults, caches, CPU frequency. */
  for (int s = 0; s < NSIDES; s++) {
    struct pass p;
    if ((rc = run_side(&w, s, resample, &p)) < 0) {
      fprintf(stderr, PROG ": %s: %s\n", side_name[s], strerror(-rc));
      goto out;
    }
  }
  for (int r = 0; r < n; r++) {
    for (int pr = 0; pr < 2; pr++) {
      struct pass p[2];
      for (int i = 0; i < 2; i++) {
        int which = (r % 2) ? 1 - i : i;   /* alternate which goes first */
        if ((rc = run_side(&w, pr * 2 + which, resample, &p[which])) < 0) {
          fprintf(stderr, PROG ": %s: %s\n", side_name[pr * 2 + which], strerror(-rc));
          goto out;
        }
      }
      for (int i = 0; i < 2; i++) {
        ms[pr][i][r] = p[i].cpu_s * 1e3 / audio_s;
        p99[pr][i][r] = p[i].p99_us;
      }
      mx[pr][r] = p[0].max_us;
      ratio[pr][r] = p[0].cpu_s / p[1].cpu_s;
      if (!o.wl.quiet)
        fprintf(stderr, PROG ": run %d/%d %s: ours %.2f ms/s, raw %.2f ms/s, ratio %.3f, p99 %.0f/%.0f us\n",
                r + 1, n, pr ? "rx" : "tx", ms[pr][0][r], ms[pr][1][r], ratio[pr][r],
                p[0].p99_us, p[1].p99_us);
    }
  }

  char buf[4096];
  struct json j;
  json_begin(&j, buf, sizeof buf);
  json_str(&j, "input", o.wl.input);
  json_num(&j, "audio_s", audio_s, 3);
  json_u64(&j, "runs", (uint64_t)n);
  json_num(&j, "frame_ms", o.wl.frame_samples * 1000.0 / DL_RATE, 1);
  json_u64(&j, "bitrate", (uint64_t)o.wl.bitrate);
  json_u64(&j, "complexity", (uint64_t)o.wl.complexity);
  json_bool(&j, "fec", o.wl.fec);
  json_bool(&j, "resample", !o.no_resample);
  for (int pr = 0; pr < 2; pr++) {
    json_obj_begin(&j, pr ? "rx" : "tx");
    spread_put(&j, "ours_ms_per_s", spread_of(ms[pr][0], n), 4);
    spread_put(&j, "raw_ms_per_s", spread_of(ms[pr][1], n), 4);
    spread_put(&j, "ratio", spread_of(ratio[pr], n), 4);
    spread_put(&j, "ours_p99_us", spread_of(p99[pr][0], n), 1);
    spread_put(&j, "raw_p99_us", spread_of(p99[pr][1], n), 1);
    spread_put(&j, "ours_max_us", spread_of(mx[pr], n), 1);
    if (pr == 1) {
      double spc[1000];
      for (int r = 0; r < n; r++)
        spc[r] = 1000.0 / ms[1][0][r];
      spread_put(&j, "streams_per_core", spread_of(spc, n), 1);
    }
    json_obj_end(&j);
  }
  const char *text = json_end(&j);
  if (text == NULL) {
    fprintf(stderr, PROG ": output: too long\n");
    rc = -EOVERFLOW;
    goto out;
  }
  printf("%s\n", text);
  rc = 0;
out:
  free(v);
  workload_release(&w);
  return rc < 0 ? 1 : 0;
}
