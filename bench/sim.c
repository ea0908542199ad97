/* sim: the receiver's pipeline (common/rx/rxpipe, the code the receiver runs)
 * in virtual time, so that an hour of streaming takes seconds.
 *
 * A sender emits one Opus packet per frame on its own clock (skewed by
 * --sender-skew-ppm), the network delays (or loses) each by a generated or
 * recorded trace, and a sink on its own clock (--sink-skew-ppm) pulls a
 * block every --block-ms. Every packet that has arrived by a block's time
 * is put before the block is read. All times are virtual: the receiver's
 * clock is the reference.
 *
 * Prints one JSON object: the receiver's stats keys and a "sim" object
 * with the figures the tests judge (late-loss, latency error against the
 * target after --settle, drift estimate against the truth, frames
 * dropped or inserted, and with --hindsight the hindsight-optimal fixed
 * latency: the smallest fixed latency with no more late-loss, found by
 * running the same trace through the same pipeline again). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opus/opus.h>

#include "defaults.h"
#include "gen.h"
#include "rx/latstats.h"
#include "rx/rxpipe.h"
#include "util/args.h"
#include "util/arrivals.h"
#include "util/json.h"
#include "wire/rtp.h"

#define POOL 50            /* distinct encoded packets, cycled */
#define SSRC 0x5eed1234u

struct opts {
  struct gen_opts gen;          /* the trace (--calm-after: cfg.calm_after_s) */
  double sender_ppm, sink_ppm;
  double duration_s;
  double settle_s;
  double frame_ms, block_ms;
  double latency_ms;            /* < 0: adaptive */
  double initial_ms;
  double quantile, min_ms, max_ms;
  int no_resample;
  int hindsight;
  uint64_t seed;
  const char *csv;
  double csv_every_ms;
};

/* ---- arrivals in order: a binary heap ---- */

struct pkt {
  int64_t arrival_ns;
  uint32_t k;
};

struct heap {
  struct pkt *a;
  size_t n, cap;
};

static int heap_push(struct heap *h, struct pkt p)
{
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    struct pkt *a = realloc(h->a, cap * sizeof *a);
    if (!a)
      return -ENOMEM;
    h->a = a;
    h->cap = cap;
  }
  size_t i = h->n++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (h->a[up].arrival_ns < p.arrival_ns ||
        (h->a[up].arrival_ns == p.arrival_ns && h->a[up].k < p.k))
      break;
    h->a[i] = h->a[up];
    i = up;
  }
  h->a[i] = p;
  return 0;
}

static struct pkt heap_pop(struct heap *h)
{
  struct pkt top = h->a[0], last = h->a[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n)
      break;
    if (c + 1 < h->n && (h->a[c + 1].arrival_ns < h->a[c].arrival_ns ||
                         (h->a[c + 1].arrival_ns == h->a[c].arrival_ns && h->a[c + 1].k < h->a[c].k)))
      c++;
    if (last.arrival_ns < h->a[c].arrival_ns ||
        (last.arrival_ns == h->a[c].arrival_ns && last.k <= h->a[c].k))
      break;
    h->a[i] = h->a[c];
    i = c;
  }
  if (h->n > 0)
    h->a[i] = last;
  return top;
}

/* ---- one run ---- */

struct pool {
  uint8_t data[POOL][DL_MAX_PAYLOAD];
  int len[POOL];
};

struct result {
  struct rxpipe_stats st;
  uint64_t sent, trace_lost, late_puts;
  double late_pct;
  double err_p99_ms, err_max_ms;         /* |latency - target| after settle */
  double drift_err_max_ppm;              /* |drift_ppm - truth| after settle */
  double drift_true_ppm;
  double ratio_min, ratio_max;
  double target_mean_ms;
  double target_end_ms;
  uint64_t inserted_after_start;         /* PLC, FEC, silence frames while the stream ran */
  uint64_t unplayed;                     /* sent, not lost, never played nor dropped */
  double calm_from_ms;                   /* the target when the path calmed */
  double calm_target_s, calm_latency_s;  /* after calm_after: time until target, latency
                                            come within 2 ms of their final value */
  double wall_s, cpu_s;
};

struct run_ctx {
  const struct opts *o;
  struct result *res;
  struct latstats *err;
  FILE *csv;
  int64_t settle_ns;
  int64_t next_row_ns;
  int started;
  int64_t end_ns;
  double target_sum;
  uint64_t target_n;
  double last_target;
  double (*calm)[3];                     /* t, target, ctl latency: 100 ms steps */
  size_t calm_n, calm_cap;
  int64_t calm_next_ns;
};

static const char *kind_name(enum playout_kind k)
{
  switch (k) {
  case PLAYOUT_PACKET: return "packet";
  case PLAYOUT_FEC: return "fec";
  case PLAYOUT_PLC: return "plc";
  case PLAYOUT_SILENCE: return "silence";
  }
  return "?";
}

static void frame_cb(void *arg, const struct rxpipe_frame_info *fi)
{
  struct run_ctx *c = arg;
  struct result *r = c->res;
  if (fi->kind == PLAYOUT_PACKET)
    c->started = 1;
  else if (c->started && fi->heard_ns < c->end_ns)
    r->inserted_after_start++;
  if (fi->ratio < r->ratio_min)
    r->ratio_min = fi->ratio;
  if (fi->ratio > r->ratio_max)
    r->ratio_max = fi->ratio;
  c->target_sum += fi->target_ms;
  c->target_n++;
  c->last_target = fi->target_ms;
  if (c->calm && fi->heard_ns >= c->calm_next_ns && c->calm_n < c->calm_cap) {
    c->calm[c->calm_n][0] = (double)fi->heard_ns / 1e9;
    c->calm[c->calm_n][1] = fi->target_ms;
    c->calm[c->calm_n][2] = fi->ctl_latency_ms;
    c->calm_n++;
    c->calm_next_ns = fi->heard_ns + 100000000;
  }
  if (fi->heard_ns >= c->settle_ns) {
    if (!isnan(fi->latency_ms))
      latstats_add(c->err, fabs(fi->latency_ms - fi->target_ms));
    double de = fabs(fi->drift_ppm - r->drift_true_ppm);
    if (de > r->drift_err_max_ppm)
      r->drift_err_max_ppm = de;
  }
  if (c->csv) {
    int event = fi->kind != PLAYOUT_PACKET || (fi->flags & PLAYOUT_RESYNC);
    if (event || fi->heard_ns >= c->next_row_ns) {
      fprintf(c->csv, "%.3f,%.3f,%.3f,%.3f,%.6f,%.2f,%s%s\n", (double)fi->heard_ns / 1e9,
              fi->latency_ms, fi->ctl_latency_ms, fi->target_ms, fi->ratio, fi->drift_ppm,
              kind_name(fi->kind), (fi->flags & PLAYOUT_RESYNC) ? "+resync" : "");
      if (!event)
        c->next_row_ns = fi->heard_ns + (int64_t)(c->o->csv_every_ms * 1e6);
    }
  }
}

static int run(const struct opts *o, const struct pool *pl, double fixed_ms, FILE *csv,
               struct result *res)
{
  struct rxpipe *rp = NULL;
  struct gen g = {0};
  double calm_after_s = o->gen.cfg.calm_after_s;   /* > 0: the jitter stops then */
  struct run_ctx ctx = {0};
  struct heap h = {0};
  struct latstats *err = calloc(1, sizeof *err);
  int16_t pcm[DL_MAX_PACKET_SAMPLES];
  uint8_t dgram[RTP_HEADER_LEN + DL_MAX_PAYLOAD];
  struct timespec w0, w1, c0, c1;
  int rc = -ENOMEM;

  memset(res, 0, sizeof *res);
  res->ratio_min = 1e9;
  res->ratio_max = -1e9;
  res->drift_true_ppm = ((1 + o->sender_ppm * 1e-6) / (1 + o->sink_ppm * 1e-6) - 1) * 1e6;
  if (!err)
    goto fail;
  latstats_reset(err);
  clock_gettime(CLOCK_MONOTONIC, &w0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  rc = gen_init(&g, &o->gen);
  if (rc < 0)
    goto fail;

  struct rxpipe_config cfg = {
    .playout = {
      .target_ns = (int64_t)((fixed_ms >= 0 ? fixed_ms : o->initial_ms) * 1e6),
      .max_latency_ns = (int64_t)(o->max_ms * 1e6),
      .silence_after_ns = DL_SILENCE_AFTER_MS * 1000000LL,
      .late_resync_ns = DL_LATE_RESYNC_MS * 1000000LL,
      .conceal_silence = 0,
      .slots = DL_PLAYOUT_SLOTS,
    },
    .channels = 1,
    .latency_auto = fixed_ms < 0,
    .latency_quantile = o->quantile,
    .min_latency_ns = (int64_t)(o->min_ms * 1e6),
    .resample = !o->no_resample,
  };
  rc = rxpipe_create(&rp, &cfg);
  if (rc < 0)
    goto fail;
  ctx.o = o;
  ctx.res = res;
  ctx.err = err;
  ctx.csv = csv;
  ctx.settle_ns = (int64_t)(o->settle_s * 1e9);
  ctx.end_ns = (int64_t)(o->duration_s * 1e9);
  if (calm_after_s > 0 && calm_after_s < o->duration_s) {
    ctx.calm_cap = (size_t)((o->duration_s - calm_after_s) * 10) + 16;
    ctx.calm = calloc(ctx.calm_cap, sizeof *ctx.calm);
    if (!ctx.calm) {
      rc = -ENOMEM;
      goto fail;
    }
    ctx.calm_next_ns = (int64_t)(calm_after_s * 1e9);
  }
  res->calm_target_s = res->calm_latency_s = NAN;
  rxpipe_set_frame_cb(rp, frame_cb, &ctx);
  if (csv)
    fprintf(csv, "t,latency,ctl_latency,target,ratio,drift_ppm,event\n");

  int samples = (int)lround(o->frame_ms * DL_RATE / 1000);
  int block = (int)lround(o->block_ms * DL_RATE / 1000);
  double send_step = o->frame_ms / 1000 / (1 + o->sender_ppm * 1e-6);
  double block_step = o->block_ms / 1000 / (1 + o->sink_ppm * 1e-6);
  size_t k = 0;
  double next_send = 0;
  for (uint64_t j = 0;; j++) {
    double t = (double)j * block_step;
    if (t >= o->duration_s)
      break;
    int64_t t_ns = (int64_t)llround(t * 1e9);
    while (next_send <= t && next_send < o->duration_s &&
           (o->gen.cfg.kind != ARRIVALS_TABLE || k < g.file_n)) {
      double d = arrivals_delay(&g.a, k, next_send);
      res->sent++;
      if (isnan(d)) {
        res->trace_lost++;
      } else {
        struct pkt p = {(int64_t)llround((next_send + d / 1000) * 1e9), (uint32_t)k};
        if (heap_push(&h, p) < 0) {
          rc = -ENOMEM;
          goto fail;
        }
      }
      k++;
      next_send = (double)k * send_step;
    }
    while (h.n > 0 && h.a[0].arrival_ns <= t_ns) {
      struct pkt p = heap_pop(&h);
      struct rtp_header hd = {
        .payload_type = DL_DEFAULT_PT, .seq = (uint16_t)(1000 + p.k),
        .timestamp = 0xfffe0000u + p.k * (uint32_t)samples, .ssrc = SSRC, .marker = p.k == 0,
      };
      int n = rtp_pack(&hd, pl->data[p.k % POOL], (size_t)pl->len[p.k % POOL], dgram, sizeof dgram);
      struct rtp_packet pk;
      int r = rtp_packet_parse(dgram, (size_t)n, p.arrival_ns, &pk) == RTP_OK ? rxpipe_put(rp, &pk)
                                                                              : PLAYOUT_INVALID;
      if (r == PLAYOUT_LATE || r == PLAYOUT_FULL) {
        res->late_puts++;
        if (csv)
          fprintf(csv, "%.3f,,,,,,late\n", (double)p.arrival_ns / 1e9);
      }
    }
    rxpipe_read(rp, t_ns, pcm, block);
  }
  rxpipe_get_stats(rp, &res->st);
  res->late_pct = res->sent ? 100.0 * (double)res->late_puts / (double)res->sent : 0;
  res->err_p99_ms = latstats_quantile(err, 0.99);
  res->err_max_ms = latstats_max(err);
  res->target_mean_ms = ctx.target_n ? ctx.target_sum / (double)ctx.target_n : NAN;
  res->target_end_ms = ctx.last_target;
  if (ctx.calm_n > 0) {
    /* The last moment each was still more than 2 ms above its final value. */
    double end_t = ctx.calm[ctx.calm_n - 1][1], end_l = ctx.calm[ctx.calm_n - 1][2];
    res->calm_target_s = res->calm_latency_s = 0;
    res->calm_from_ms = ctx.calm[0][1];
    for (size_t i = 0; i < ctx.calm_n; i++) {
      double since = ctx.calm[i][0] - calm_after_s;
      if (ctx.calm[i][1] > end_t + 2)
        res->calm_target_s = since;
      if (ctx.calm[i][2] > end_l + 2)
        res->calm_latency_s = since;
    }
  }
  {
    uint64_t accounted = res->trace_lost + res->st.po.played + res->late_puts + res->st.po.duplicate;
    uint64_t in_flight = h.n + (uint64_t)(playout_depth(rxpipe_playout(rp)) / samples) + 1;
    res->unplayed = res->sent > accounted + in_flight ? res->sent - accounted - in_flight : 0;
  }
  clock_gettime(CLOCK_MONOTONIC, &w1);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  res->wall_s = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
  res->cpu_s = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
  rc = 0;
fail:
  rxpipe_destroy(rp);
  free(ctx.calm);
  free(h.a);
  gen_free(&g);
  free(err);
  return rc;
}

/* ---- setup ---- */

static int make_pool(struct pool *pl, double frame_ms)
{
  int err;
  int samples = (int)lround(frame_ms * DL_RATE / 1000);
  /* CELT low-delay packets: the cheapest to decode (11 us a frame against
   * 20 for SILK wideband), and the decode is half of the simulator's time. */
  OpusEncoder *enc = opus_encoder_create(DL_RATE, 1, OPUS_APPLICATION_RESTRICTED_LOWDELAY, &err);
  int16_t pcm[DL_MAX_PACKET_SAMPLES];
  if (!enc)
    return -ENOMEM;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(16000));
  opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(5));
  for (int i = 0; i < POOL; i++) {
    for (int n = 0; n < samples; n++) {
      double t = (double)(i * samples + n) / DL_RATE;
      pcm[n] = (int16_t)(6000 * sin(2 * M_PI * 300 * t) * (0.6 + 0.4 * sin(2 * M_PI * 3 * t)) +
                         2000 * sin(2 * M_PI * 1100 * t));
    }
    pl->len[i] = opus_encode(enc, pcm, samples, pl->data[i], DL_MAX_PAYLOAD);
    if (pl->len[i] <= 0) {
      opus_encoder_destroy(enc);
      return -EINVAL;
    }
  }
  opus_encoder_destroy(enc);
  return 0;
}

static void usage(FILE *f)
{
  fprintf(f,
"usage: sim [options]\n"
"Runs the receiver pipeline (common/rx/rxpipe) in virtual time over an arrival\n"
"trace and prints its statistics as one JSON object.\n"
"\n"
"  --trace SPEC          arrival delays (default constant):\n"
"                          constant           base delay only\n"
"                          normal:SD          normal jitter, sd SD ms\n"
"                          pareto:SCALE:SHAPE Pareto heavy tail (scale ms, shape)\n"
"                          spikes:PERIOD:H    queue stalls of about H ms every PERIOD s (mean)\n"
"                          route:PERIOD:STEP  route changes of about STEP ms every PERIOD s\n"
"                          file:PATH          one delay in ms per line per packet\n"
"                                             ('-' = lost); the trace ends with the file\n"
"  --base-delay MS       fixed network delay under the jitter (default 5)\n"
"  --calm-after S        the jitter stops after S s (a calm path after a rough\n"
"                        one); reports how long target and latency take to\n"
"                        come within 2 ms of their final values\n"
"  --loss PCT[:BURST]    random loss in bursts of mean BURST packets (default 0:1)\n"
"  --sender-skew-ppm P   sender clock fast by P ppm (default 0)\n"
"  --sink-skew-ppm P     sink clock fast by P ppm (default 0)\n"
"  --duration S          simulated seconds (default 600)\n"
"  --settle S            ignore the first S s for the error figures (default 30)\n"
"  --frame-ms MS         packet duration: 2.5 5 10 20 40 60 (default 20)\n"
"  --block-ms MS         sink block (default %d)\n"
"  --latency MS          fixed target latency (default: adaptive)\n"
"  --initial-latency MS  adaptive: the target before an estimate (default %d)\n"
"  --latency-quantile Q  adaptive: quantile of the relative delay (default %.2f)\n"
"  --min-latency MS      adaptive: lower bound (default %d)\n"
"  --max-latency MS      upper bound; a jump beyond it resyncs (default %d)\n"
"  --no-resample         hold the ratio at 1 (to see what drift does unchecked)\n"
"  --hindsight           also find the hindsight-optimal fixed latency\n"
"                        (re-runs the trace; adds hindsight_ms to the output)\n"
"  --csv FILE            timeline: t,latency,ctl_latency,target,ratio,drift_ppm,event\n"
"  --csv-every MS        timeline row interval; events always (default 100)\n"
"  --seed N              trace seed (default: env DL_SEED, else 1)\n"
"  -h, --help            this text\n",
          DL_ALSA_PERIOD_US / 1000, DL_DEFAULT_LATENCY_MS, DL_DEFAULT_LATENCY_QUANTILE,
          DL_DEFAULT_MIN_LATENCY_MS, DL_DEFAULT_MAX_LATENCY_MS);
}

static int bad(const char *flag, const char *val, const char *why)
{
  fprintf(stderr, "sim: %s: %s, got \"%s\"\n", flag, why, val ? val : "");
  return 2;
}

static void put_result(struct json *j, const struct opts *o, const struct result *r)
{
  const struct rxpipe_stats *s = &r->st;
  json_num(j, "t", o->duration_s, 3);
  json_u64(j, "received", s->po.received);
  json_u64(j, "lost", s->po.lost);
  json_u64(j, "late", s->po.late);
  json_u64(j, "duplicate", s->po.duplicate);
  json_u64(j, "reordered", s->po.reordered);
  json_u64(j, "invalid", s->po.invalid);
  json_u64(j, "fec_recovered", s->po.fec_recovered);
  json_u64(j, "concealed", s->po.concealed);
  json_u64(j, "silence", s->po.silence);
  json_u64(j, "played", s->po.played);
  json_u64(j, "resyncs", s->po.resyncs);
  json_u64(j, "tsm_splices", s->tsm_splices);
  json_num(j, "tsm_removed_ms", s->tsm_removed_ms, 1);
  json_num(j, "tsm_added_ms", s->tsm_added_ms, 1);
  json_u64(j, "route_steps", s->route_steps);
  json_num(j, "jitter_ms", s->jitter_ms, 3);
  json_obj_begin(j, "latency_ms");
  json_num(j, "target", s->latency_target_ms, 3);
  json_num(j, "mean", s->latency_mean_ms, 3);
  json_num(j, "p50", s->latency_p50_ms, 3);
  json_num(j, "p95", s->latency_p95_ms, 3);
  json_num(j, "p99", s->latency_p99_ms, 3);
  json_num(j, "max", s->latency_max_ms, 3);
  json_obj_end(j);
  json_num(j, "drift_ppm", s->drift_ppm, 2);
  json_num(j, "resample_ratio", s->resample_ratio, 7);
  json_num(j, "loss_pct", s->loss_pct, 4);
}

int main(int argc, char **argv)
{
  struct opts o = {
    .duration_s = 600, .settle_s = 30, .frame_ms = 20, .block_ms = DL_ALSA_PERIOD_US / 1000.0,
    .latency_ms = -1, .initial_ms = DL_DEFAULT_LATENCY_MS, .quantile = DL_DEFAULT_LATENCY_QUANTILE,
    .min_ms = DL_DEFAULT_MIN_LATENCY_MS, .max_ms = DL_DEFAULT_MAX_LATENCY_MS,
    .csv_every_ms = 100,
  };
  gen_defaults(&o.gen, "constant");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1, taken;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--no-resample") == 0) {
      o.no_resample = 1;
      takes = 0;
    } else if (strcmp(a, "--hindsight") == 0) {
      o.hindsight = 1;
      takes = 0;
    } else if (!v) {
      if (strncmp(a, "--", 2) == 0)
        return bad(a, NULL, "needs a value");
      fprintf(stderr, "sim: unexpected argument \"%s\" (see --help)\n", a);
      return 2;
    } else if ((taken = gen_flag("sim", &o.gen, a, v)) != 0) {
      if (taken < 0)
        return 2;
    } else if (strcmp(a, "--sender-skew-ppm") == 0) {
      if (args_double(v, -4000, 4000, &o.sender_ppm) < 0)
        return bad(a, v, "expected -4000..4000");
    } else if (strcmp(a, "--sink-skew-ppm") == 0) {
      if (args_double(v, -4000, 4000, &o.sink_ppm) < 0)
        return bad(a, v, "expected -4000..4000");
    } else if (strcmp(a, "--duration") == 0) {
      if (args_double(v, 0.1, 1e6, &o.duration_s) < 0)
        return bad(a, v, "expected 0.1..1000000 s");
    } else if (strcmp(a, "--settle") == 0) {
      if (args_double(v, 0, 1e6, &o.settle_s) < 0)
        return bad(a, v, "expected 0..1000000 s");
    } else if (strcmp(a, "--frame-ms") == 0) {
      int us;
      if (args_frame_us(v, &us) < 0)
        return bad(a, v, "expected 2.5, 5, 10, 20, 40 or 60");
      o.frame_ms = us / 1000.0;
    } else if (strcmp(a, "--block-ms") == 0) {
      if (args_double(v, 0.5, 100, &o.block_ms) < 0)
        return bad(a, v, "expected 0.5..100 ms");
    } else if (strcmp(a, "--latency") == 0) {
      if (args_double(v, 1, DL_MAX_LATENCY_LIMIT_MS, &o.latency_ms) < 0)
        return bad(a, v, "expected 1..2000 ms");
    } else if (strcmp(a, "--calm-after") == 0) {
      if (args_double(v, 0, 1e6, &o.gen.cfg.calm_after_s) < 0)
        return bad(a, v, "expected 0..1000000 s");
    } else if (strcmp(a, "--initial-latency") == 0) {
      if (args_double(v, 1, DL_MAX_LATENCY_LIMIT_MS, &o.initial_ms) < 0)
        return bad(a, v, "expected 1..2000 ms");
    } else if (strcmp(a, "--latency-quantile") == 0) {
      if (args_double(v, 0.5, 0.9999, &o.quantile) < 0)
        return bad(a, v, "expected 0.5..0.9999");
    } else if (strcmp(a, "--min-latency") == 0) {
      if (args_double(v, 0, DL_MAX_LATENCY_LIMIT_MS, &o.min_ms) < 0)
        return bad(a, v, "expected 0..2000 ms");
    } else if (strcmp(a, "--max-latency") == 0) {
      if (args_double(v, 1, DL_MAX_LATENCY_LIMIT_MS, &o.max_ms) < 0)
        return bad(a, v, "expected 1..2000 ms");
    } else if (strcmp(a, "--csv") == 0) {
      o.csv = v;
    } else if (strcmp(a, "--csv-every") == 0) {
      if (args_double(v, 0, 60000, &o.csv_every_ms) < 0)
        return bad(a, v, "expected 0..60000 ms");
    } else {
      fprintf(stderr, "sim: unknown option \"%s\" (see --help)\n", a);
      return 2;
    }
    i += takes;
  }
  if (o.min_ms > o.max_ms) {
    fprintf(stderr, "sim: --min-latency: above --max-latency\n");
    return 2;
  }

  static struct pool pl;
  if (make_pool(&pl, o.frame_ms) < 0) {
    fprintf(stderr, "sim: opus encoder: cannot make the packet pool\n");
    return 1;
  }
  FILE *csv = NULL;
  if (o.csv) {
    csv = fopen(o.csv, "w");
    if (!csv) {
      fprintf(stderr, "sim: --csv: %s: %s\n", o.csv, strerror(errno));
      return 1;
    }
  }
  struct result r;
  int rc = run(&o, &pl, o.latency_ms, csv, &r);
  if (csv)
    fclose(csv);
  if (rc < 0) {
    if (o.gen.cfg.kind == ARRIVALS_TABLE)
      fprintf(stderr, "sim: --trace file:%s: %s\n", o.gen.file,
              rc == -EINVAL ? "no delays in it" : strerror(-rc));
    else
      fprintf(stderr, "sim: run: %s\n", strerror(-rc));
    return 1;
  }

  /* Hindsight: the smallest fixed latency (1 ms steps) whose late-loss is
   * no more than this run's. Late-loss falls with the latency, so bisect
   * (between 1 ms and twice this run's mean, widened if that is not
   * enough); every probe is a whole run of the same trace through the same
   * pipeline, the controller holding the fixed target. (Not the ratio held
   * at 1: then the offset would be set by the first packet's luck.) */
  double hs_ms = NAN, hs_mean = NAN, hs_late = NAN, hs_wall = 0;
  int probes = 0;
  if (o.hindsight) {
    struct opts ho = o;
    int lo = 1, hi = (int)ceil(2 * r.st.latency_mean_ms);
    struct result hr;
    if (!(hi > 1) || hi > (int)o.max_ms)
      hi = (int)o.max_ms;
    while (hi < (int)o.max_ms) {
      if (run(&ho, &pl, hi, NULL, &hr) < 0)
        return 1;
      probes++;
      hs_wall += hr.wall_s;
      if (hr.late_puts <= r.late_puts)
        break;
      lo = hi + 1;
      hi = hi * 2 < (int)o.max_ms ? hi * 2 : (int)o.max_ms;
    }
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (run(&ho, &pl, mid, NULL, &hr) < 0)
        return 1;
      probes++;
      hs_wall += hr.wall_s;
      if (hr.late_puts <= r.late_puts)
        hi = mid;
      else
        lo = mid + 1;
    }
    if (run(&ho, &pl, lo, NULL, &hr) < 0)
      return 1;
    probes++;
    hs_wall += hr.wall_s;
    hs_ms = lo;
    hs_mean = hr.st.latency_mean_ms;
    hs_late = hr.late_pct;
  }

  char buf[4096];
  struct json j;
  json_begin(&j, buf, sizeof buf);
  put_result(&j, &o, &r);
  json_obj_begin(&j, "sim");
  json_str(&j, "trace", o.gen.spec);
  json_u64(&j, "seed", o.gen.cfg.seed);
  json_num(&j, "duration_s", o.duration_s, 1);
  json_num(&j, "sender_skew_ppm", o.sender_ppm, 1);
  json_num(&j, "sink_skew_ppm", o.sink_ppm, 1);
  json_num(&j, "drift_true_ppm", r.drift_true_ppm, 2);
  json_num(&j, "drift_err_max_ppm", r.drift_err_max_ppm, 2);
  json_u64(&j, "sent", r.sent);
  json_u64(&j, "trace_lost", r.trace_lost);
  json_u64(&j, "late", r.late_puts);
  json_num(&j, "late_pct", r.late_pct, 4);
  json_u64(&j, "inserted", r.inserted_after_start);
  json_u64(&j, "unplayed", r.unplayed);
  json_num(&j, "err_p99_ms", r.err_p99_ms, 3);
  json_num(&j, "err_max_ms", r.err_max_ms, 3);
  json_num(&j, "target_mean_ms", r.target_mean_ms, 3);
  json_num(&j, "target_end_ms", r.target_end_ms, 3);
  json_num(&j, "ratio_min", r.ratio_min, 7);
  json_num(&j, "ratio_max", r.ratio_max, 7);
  if (o.gen.cfg.calm_after_s > 0) {
    json_num(&j, "calm_after_s", o.gen.cfg.calm_after_s, 1);
    json_num(&j, "calm_from_ms", r.calm_from_ms, 3);
    json_num(&j, "calm_target_down_s", r.calm_target_s, 2);
    json_num(&j, "calm_latency_down_s", r.calm_latency_s, 2);
  }
  if (o.hindsight) {
    json_num(&j, "hindsight_ms", hs_ms, 1);
    json_num(&j, "hindsight_mean_ms", hs_mean, 3);
    json_num(&j, "hindsight_late_pct", hs_late, 4);
    json_num(&j, "mean_over_hindsight", r.st.latency_mean_ms / hs_ms, 3);
    json_u64(&j, "hindsight_runs", (uint64_t)probes);
    json_num(&j, "hindsight_wall_s", hs_wall, 3);
  }
  json_num(&j, "wall_s", r.wall_s, 3);
  json_num(&j, "cpu_s", r.cpu_s, 3);
  json_num(&j, "speedup", o.duration_s / r.wall_s, 0);
  json_obj_end(&j);
  const char *text = json_end(&j);
  if (!text) {
    fprintf(stderr, "sim: output: too long\n");
    return 1;
  }
  printf("%s\n", text);
  return 0;
}
