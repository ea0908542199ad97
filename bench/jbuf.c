/* jbuf: speexdsp's JitterBuffer (the one Mumble uses) over the simulator's
 * arrival traces, in virtual time, for the jitter-buffer table of
 * bench/RESULTS.md: the same traces go through our playout (bench/sim) and
 * through this.
 *
 * The traces: common/util/arrivals, the generator bench/sim uses too, with
 * the same flags (bench/gen.h) (splitmix64 seeded by --seed; normal,
 * Pareto, spikes and route-change delays; Gilbert loss). Beyond that, --dump-trace FILE writes the delay
 * of every packet (ms, '-' when lost) and `sim --trace file:FILE` replays
 * exactly those delays; scripts/bench does that.
 *
 * How Mumble drives the buffer (its AudioOutputSpeech), reproduced here:
 *   - jitter_buffer_init(480): 10 ms steps at 48 kHz; margin one step
 *     (JITTER_BUFFER_SET_MARGIN, Mumble's default jitter setting of 1);
 *   - every datagram is put as it arrives: timestamp = its first sample,
 *     span = its samples;
 *   - the output pulls 10 ms at a time. When nothing decoded is pending:
 *     if the buffer has not started (pointer timestamp 0) and holds fewer
 *     packets than the running average of available packets, play 10 ms
 *     of silence without a tick (at most 19 times in a row: the pre-fill
 *     of a talk spurt); else jitter_buffer_get(480). A packet: decode it
 *     whole (20 ms = two ticks), raise the average of available packets to
 *     the current count or let it decay by 0.99, and call
 *     jitter_buffer_update_delay(NULL) (Mumble does this only in quiet
 *     frames; here every frame counts as quiet, so speexdsp may shrink its
 *     delay whenever it wants: its lowest-latency behaviour). No packet:
 *     jitter_buffer_update_delay(&packet), 10 ms of concealment, one tick;
 *     after more than 10 misses in a row the speaker counts as silent and
 *     the buffer is reset (Mumble drops the speaker's output and builds a
 *     new one on the next packet).
 *
 * Latency of a played packet = when its first sample is heard (the sink
 * pulls on its own clock, skewed by --sink-skew-ppm) - its arrival: the
 * definition our receiver and the simulator use. Late-loss: packets that
 * arrived (before the last second) and were never played, over packets
 * sent. Concealment: output time that was not a packet's audio while the
 * stream ran, over the stream's time. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_jitter.h>

#include "defaults.h"
#include "gen.h"
#include "rx/latstats.h"
#include "util/args.h"
#include "util/arrivals.h"
#include "util/json.h"

#define PROG "jbuf"
#define STEP 480   /* Mumble's 10 ms frame at 48 kHz */

struct opts {
  struct gen_opts gen;          /* the trace */
  double sender_ppm, sink_ppm;
  double duration_s;
  double frame_ms;
  int margin_steps;
  const char *dump;
};

/* ---- the run ---- */

struct result {
  uint64_t sent, trace_lost, arrived, played, late;
  uint64_t conceal_steps, prefill_steps, resets;
  double stream_s;            /* from the first packet heard to the end */
  struct latstats lat;
};

struct arrival {
  int64_t ns;
  uint32_t k;
};

static int cmp_arrival(const void *a, const void *b)
{
  const struct arrival *x = a, *y = b;
  if (x->ns != y->ns)
    return x->ns < y->ns ? -1 : 1;
  return x->k < y->k ? -1 : x->k > y->k;
}

static JitterBuffer *mumble_jb(const struct opts *o)
{
  JitterBuffer *jb = jitter_buffer_init(STEP);
  if (jb != NULL) {
    int margin = o->margin_steps * STEP;
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_MARGIN, &margin);
  }
  return jb;
}

static int run(const struct opts *o, struct result *res)
{
  struct gen g = {0};
  int samples = (int)lround(o->frame_ms * DL_RATE / 1000);
  double send_step = o->frame_ms / 1000 / (1 + o->sender_ppm * 1e-6);
  size_t n = (size_t)ceil(o->duration_s / send_step);
  struct arrival *arr = calloc(n, sizeof *arr);
  uint8_t *played = calloc(n, 1);
  int64_t *arrival_of = calloc(n, sizeof *arrival_of);   /* by packet, -1: lost */
  FILE *dump = NULL;
  JitterBuffer *jb = NULL;
  size_t na = 0;
  int rc;

  memset(res, 0, sizeof *res);
  latstats_reset(&res->lat);
  if (arr == NULL || played == NULL || arrival_of == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  if ((rc = gen_init(&g, &o->gen)) < 0)
    goto fail;
  if (o->dump != NULL && (dump = fopen(o->dump, "w")) == NULL) {
    rc = -errno;
    goto fail;
  }
  if (dump != NULL)
    fprintf(dump, "# %s seed %llu sender %+g ppm: delay ms per packet, '-' lost\n",
            o->gen.spec, (unsigned long long)o->gen.cfg.seed, o->sender_ppm);
  for (size_t k = 0; k < n; k++) {
    double t = (double)k * send_step;
    double d = arrivals_delay(&g.a, k, t);
    res->sent++;
    if (dump != NULL) {
      if (isnan(d))
        fprintf(dump, "-\n");
      else
        fprintf(dump, "%.6f\n", d);
    }
    arrival_of[k] = -1;
    if (isnan(d)) {
      res->trace_lost++;
      continue;
    }
    arr[na].ns = arrival_of[k] = (int64_t)llround((t + d / 1000) * 1e9);
    arr[na].k = (uint32_t)k;
    na++;
  }
  gen_free(&g);   /* the delays are in arr now */
  if (dump != NULL && fclose(dump) != 0) {
    dump = NULL;
    rc = -errno;
    goto fail;
  }
  dump = NULL;
  qsort(arr, na, sizeof *arr, cmp_arrival);
  if (na == 0) {
    rc = 0;
    goto fail;
  }

  if ((jb = mumble_jb(o)) == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  /* The sink: Mumble builds a speaker's output when its first packet
   * arrives and then pulls on the device's clock. */
  int64_t t0 = arr[0].ns, end_ns = (int64_t)(o->duration_s * 1e9);
  double sink_rate = DL_RATE * (1 + o->sink_ppm * 1e-6);
  uint64_t out_samples = 0;
  size_t next = 0;
  int miss = 0, started = 0;
  double avg_avail = 0;
  int64_t first_heard = -1;
  char data[16], got[16];

  for (;;) {
    int64_t t = t0 + (int64_t)llround((double)out_samples / sink_rate * 1e9);
    if (t >= end_ns)
      break;
    while (next < na && arr[next].ns <= t) {
      JitterBufferPacket p;
      uint32_t k = arr[next].k;
      memcpy(data, &k, sizeof k);
      p.data = data;
      p.len = sizeof k;
      p.timestamp = k * (uint32_t)samples;
      p.span = (spx_uint32_t)samples;
      p.sequence = (spx_uint16_t)k;
      p.user_data = k;
      jitter_buffer_put(jb, &p);
      res->arrived++;
      next++;
    }
    int avail = 0;
    int ts = jitter_buffer_get_pointer_timestamp(jb);
    jitter_buffer_ctl(jb, JITTER_BUFFER_GET_AVAILABLE_COUNT, &avail);
    if (ts == 0 && avail < (int)lround(avg_avail)) {
      /* Pre-fill: silence without a tick. */
      if (++miss < 20) {
        if (started)
          res->prefill_steps++;
        out_samples += STEP;
        continue;
      }
    }
    JitterBufferPacket p;
    spx_int32_t start_offset = 0;
    p.data = got;
    p.len = sizeof got;
    int r = jitter_buffer_get(jb, &p, STEP, &start_offset);
    if (r == JITTER_BUFFER_OK) {
      uint32_t k = p.user_data;
      miss = 0;
      if (k < n && !played[k]) {
        played[k] = 1;
        res->played++;
        latstats_add(&res->lat, (double)(t - arrival_of[k]) / 1e6);
      }
      if (first_heard < 0)
        first_heard = t;
      started = 1;
      if (avail >= avg_avail)
        avg_avail = avail;
      else
        avg_avail *= 0.99;
      jitter_buffer_update_delay(jb, NULL, NULL);
      /* Decoded whole: the packet's samples, one tick per 10 ms. */
      int span = (int)p.span > 0 ? (int)p.span : samples;
      for (int i = span / STEP; i > 0; i--)
        jitter_buffer_tick(jb);
      out_samples += (uint64_t)span;
      continue;
    }
    jitter_buffer_update_delay(jb, &p, NULL);
    if (started)
      res->conceal_steps++;
    jitter_buffer_tick(jb);
    out_samples += STEP;
    if (++miss > 10) {
      /* Mumble: the speaker went quiet; its output is rebuilt on the next
       * packet (a fresh buffer, the pre-fill average kept). */
      jitter_buffer_reset(jb);
      res->resets++;
      miss = 0;
    }
  }
  /* Late: arrived in time to be played before the end (a second's
   * margin), never played. */
  for (size_t k = 0; k < n; k++)
    if (arrival_of[k] >= 0 && arrival_of[k] < end_ns - 1000000000 && !played[k])
      res->late++;
  res->stream_s = first_heard < 0 ? 0 : (double)(end_ns - first_heard) / 1e9;
  rc = 0;
fail:
  gen_free(&g);
  if (dump != NULL)
    fclose(dump);
  if (jb != NULL)
    jitter_buffer_destroy(jb);
  free(arr);
  free(played);
  free(arrival_of);
  return rc;
}

/* ---- the program ---- */

static void usage(FILE *f)
{
  fprintf(f,
"usage: jbuf [options]\n"
"Runs speexdsp's JitterBuffer, driven the way Mumble drives it (10 ms steps,\n"
"margin of one step, pre-fill to the average available count, delay updates,\n"
"reset after more than 10 misses in a row), in virtual time over an arrival\n"
"trace, and prints one JSON object: latency of played packets (arrival to\n"
"heard: mean, p50, p95, p99, max, ms), late-loss and concealment (%%).\n"
"\n"
"  --trace SPEC          arrival delays, as bench/sim (default normal:10):\n"
"                          constant, normal:SD, pareto:SCALE:SHAPE,\n"
"                          spikes:PERIOD:H, route:PERIOD:STEP, file:PATH\n"
"                          (one delay in ms per packet per line, '-' lost)\n"
"  --base-delay MS       fixed network delay under the jitter (default 5)\n"
"  --loss PCT[:BURST]    random loss in bursts of mean BURST packets (default 0:1)\n"
"  --sender-skew-ppm P   sender clock fast by P ppm (default 0)\n"
"  --sink-skew-ppm P     sink clock fast by P ppm (default 0)\n"
"  --duration S          simulated seconds (default 600)\n"
"  --frame-ms MS         packet duration: 10, 20, 40 or 60 (default 20;\n"
"                        Mumble's buffer works in 10 ms steps)\n"
"  --margin N            JITTER_BUFFER_SET_MARGIN in 10 ms steps (default 1,\n"
"                        Mumble's default jitter buffer setting)\n"
"  --dump-trace FILE     also write the trace (delay ms per packet, '-' lost),\n"
"                        for sim --trace file:FILE\n"
"  --seed N              trace seed (default: env DL_SEED, else 1)\n"
"  -h, --help            this text\n"
"\n"
"Exit: 0, 1 on a run-time error, 2 on bad usage.\n");
}

static int bad(const char *flag, const char *val, const char *why)
{
  fprintf(stderr, PROG ": %s: %s, got \"%s\"\n", flag, why, val ? val : "");
  return 2;
}

int main(int argc, char **argv)
{
  struct opts o = {.duration_s = 600, .frame_ms = 20, .margin_steps = 1};
  static struct result r;
  int rc;

  gen_defaults(&o.gen, "normal:10");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long l;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, PROG ": unexpected argument \"%s\" (see --help)\n", a);
      return 2;
    }
    if (v == NULL)
      return bad(a, NULL, "needs a value");
    if ((rc = gen_flag(PROG, &o.gen, a, v)) != 0) {
      if (rc < 0)
        return 2;
    } else if (strcmp(a, "--sender-skew-ppm") == 0) {
      if (args_double(v, -4000, 4000, &o.sender_ppm) < 0)
        return bad(a, v, "expected -4000..4000");
    } else if (strcmp(a, "--sink-skew-ppm") == 0) {
      if (args_double(v, -4000, 4000, &o.sink_ppm) < 0)
        return bad(a, v, "expected -4000..4000");
    } else if (strcmp(a, "--duration") == 0) {
      if (args_double(v, 1, 1e6, &o.duration_s) < 0)
        return bad(a, v, "expected 1..1000000 s");
    } else if (strcmp(a, "--frame-ms") == 0) {
      if (args_long(v, 10, 60, &l) < 0 || l % 10 != 0 || l == 30 || l == 50)
        return bad(a, v, "expected 10, 20, 40 or 60");
      o.frame_ms = (double)l;
    } else if (strcmp(a, "--margin") == 0) {
      if (args_long(v, 0, 50, &l) < 0)
        return bad(a, v, "expected 0..50 steps of 10 ms");
      o.margin_steps = (int)l;
    } else if (strcmp(a, "--dump-trace") == 0) {
      o.dump = v;
    } else {
      fprintf(stderr, PROG ": unknown option \"%s\" (see --help)\n", a);
      return 2;
    }
    i++;
  }

  rc = run(&o, &r);
  if (rc < 0) {
    if (o.gen.cfg.kind == ARRIVALS_TABLE && (rc == -ENOENT || rc == -EACCES || rc == -EINVAL))
      fprintf(stderr, PROG ": --trace %s: %s\n", o.gen.file, rc == -EINVAL ? "no delays in it" : strerror(-rc));
    else if (o.dump != NULL && (rc == -ENOENT || rc == -EACCES || rc == -EISDIR))
      fprintf(stderr, PROG ": --dump-trace %s: %s\n", o.dump, strerror(-rc));
    else
      fprintf(stderr, PROG ": run: %s\n", strerror(-rc));
    return 1;
  }

  char buf[2048];
  struct json j;
  double stream_ms = r.stream_s * 1000;
  json_begin(&j, buf, sizeof buf);
  json_str(&j, "buffer", "speexdsp");
  json_str(&j, "trace", o.gen.spec);
  json_u64(&j, "seed", o.gen.cfg.seed);
  json_num(&j, "duration_s", o.duration_s, 1);
  json_num(&j, "frame_ms", o.frame_ms, 1);
  json_num(&j, "sender_skew_ppm", o.sender_ppm, 1);
  json_num(&j, "sink_skew_ppm", o.sink_ppm, 1);
  json_u64(&j, "margin_steps", (uint64_t)o.margin_steps);
  json_u64(&j, "sent", r.sent);
  json_u64(&j, "trace_lost", r.trace_lost);
  json_u64(&j, "arrived", r.arrived);
  json_u64(&j, "played", r.played);
  json_u64(&j, "late", r.late);
  json_num(&j, "late_pct", r.sent ? 100.0 * (double)r.late / (double)r.sent : 0, 4);
  json_u64(&j, "conceal_steps", r.conceal_steps);
  json_u64(&j, "prefill_steps", r.prefill_steps);
  json_num(&j, "conceal_pct",
           stream_ms > 0 ? 100.0 * (double)(r.conceal_steps + r.prefill_steps) * 10 / stream_ms : 0, 4);
  json_u64(&j, "resets", r.resets);
  json_obj_begin(&j, "latency_ms");
  json_num(&j, "mean", latstats_mean(&r.lat), 3);
  json_num(&j, "p50", latstats_quantile(&r.lat, 0.50), 3);
  json_num(&j, "p95", latstats_quantile(&r.lat, 0.95), 3);
  json_num(&j, "p99", latstats_quantile(&r.lat, 0.99), 3);
  json_num(&j, "max", latstats_max(&r.lat), 3);
  json_obj_end(&j);
  const char *text = json_end(&j);
  if (text == NULL) {
    fprintf(stderr, PROG ": output: too long\n");
    return 1;
  }
  printf("%s\n", text);
  return 0;
}
