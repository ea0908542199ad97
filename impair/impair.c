/* impair: a UDP relay that impairs what passes through it, reproducibly.
 *
 * Two port pairs are relayed: LISTEN_PORT -> TARGET_PORT (RTP) and, unless
 * --no-rtcp, LISTEN_PORT+1 -> TARGET_PORT+1 (RTCP). Datagrams from the
 * sender side are sent on to the target from an outbound socket per pair
 * (an even port and the odd one above it, so a receiver that answers to
 * "RTP source port + 1" reaches us too); what the target sends back to an
 * outbound socket goes to the last sender address seen on that pair.
 *
 * The forward RTP stream gets every impairment (common/relay/impair decides);
 * RTCP and everything going back get the fixed --delay and the blackouts
 * only, each flow from an engine of its own, so the RTP stream's fates
 * depend on the seed alone. The relaying runs on one thread, the libuv
 * loop's, and all its state is one struct relay that main owns. A copy due
 * at send_ns waits in a time-ordered queue driven by a timerfd on absolute
 * CLOCK_MONOTONIC deadlines (clock_mono_ns's clock, which stamps the
 * arrivals), polled by the loop: a uv_timer only has millisecond
 * resolution. The loop writes no file: --trace and --stats lines go
 * through shell/linew's writer thread, so a stalled disk does not hold
 * back the copies due meanwhile. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#include "defaults.h"
#include "relay/impair.h"
#include "shell/clock.h"
#include "shell/linew.h"
#include "shell/resolve.h"
#include "shell/udppair.h"
#include "shell/usage.h"
#include "util/addr.h"
#include "util/args.h"
#include "util/json.h"

#define PROG "impair"
#define QUEUE_CAP 65536
#define MAX_DGRAM 65536

enum flow { FLOW_RTP, FLOW_RTCP, FLOW_RTP_BACK, FLOW_RTCP_BACK, FLOW_COUNT };
static const char *flow_name[FLOW_COUNT] = {"rtp", "rtcp", "rtp_back", "rtcp_back"};

struct pair {
  struct relay *relay;        /* its relay: the sockets' callbacks reach it so */
  uv_udp_t listen;            /* the sender side sends here */
  uv_udp_t out;               /* we send to the target from here */
  struct sockaddr_storage target;
  struct sockaddr_storage peer;   /* last sender address seen on listen */
  int have_peer;
  int index;                  /* 0 RTP, 1 RTCP */
};

struct flow_stats {
  uint64_t received, bytes, sent, send_errors, no_peer;
};

struct pkt {
  struct pair *pair;
  enum flow flow;
  size_t len;
  uint8_t data[];
};

/* What the command line asks for. */
struct options {
  struct impair_config cfg;
  const char *trace_name, *stats_name;   /* NULL: none; "-": stderr */
  double duration_s;                     /* 0: until SIGINT or SIGTERM */
  long stats_interval_ms;
  int verbose;                           /* 0 -q, 1, 2 -v */
  int no_rtcp;
  double rtcp_loss;                      /* --rtcp-loss */
  char lhost[256], lport[16];            /* lhost "": any address */
  char thost[256], tport[16];
  long lp, tp;                           /* the ports, as numbers */
};

/* Everything the relay has: main owns it, every function is passed it,
 * and the callbacks reach it through their handle's data (a pair's
 * sockets through the pair). */
struct relay {
  struct options o;
  uv_loop_t loop;
  int loop_open;              /* uv_loop_init done: relay_destroy closes it */
  struct pair pairs[2];
  int npairs;
  uv_poll_t send_poll;        /* on send_fd, a timerfd */
  int send_fd;
  uv_timer_t stats_timer;
  uv_timer_t stop_timer;
  uv_signal_t sigint, sigterm;
  struct impair *engine[FLOW_COUNT];
  struct impair_queue queue;
  struct flow_stats fs[FLOW_COUNT];
  int64_t start_ns;           /* the first datagram; blackouts count from it */
  int started;
  int64_t launch_ns;
  uint64_t queue_overflow;
  struct linew *out;          /* --trace and --stats lines */
  int trace_id, stats_id;     /* its streams; -1: none */
  int stopping;
  uint64_t datagrams;         /* relayed so far: the trace's index */
  uint8_t buf[MAX_DGRAM];
};

static void usage(FILE *f)
{
  fprintf(f,
"Usage: impair [OPTIONS] [HOST:]LISTEN_PORT TARGET_HOST:PORT\n"
"A UDP relay that impairs an RTP stream on its way from a sender to a\n"
"receiver, reproducibly (the same --seed gives every packet the same fate).\n"
"Relays LISTEN_PORT -> PORT (RTP) and LISTEN_PORT+1 -> PORT+1 (RTCP), and\n"
"whatever the target sends back to the sender's last address. Only the\n"
"RTP stream towards the target is impaired; RTCP and the way back get the\n"
"fixed --delay and the blackouts only (and RTCP --rtcp-loss). HOST defaults\n"
"to all addresses.\n"
"\n"
"  --loss PCT            lose PCT %% of packets, independently (netem \"loss random\")\n"
"  --burst MEAN_LEN      ...in Gilbert bursts of mean MEAN_LEN packets instead: a\n"
"                        two-state model, all lost in the bad state, none in the\n"
"                        good one (netem \"loss gemodel p r 100 0\" with\n"
"                        r = 1/MEAN_LEN, p = r*PCT/(100-PCT))\n"
"  --delay MS            delay every packet by MS (0)\n"
"  --jitter MS           plus a random delay of deviation MS (0)\n"
"  --jitter-dist normal|pareto|uniform   its distribution (normal). uniform:\n"
"                        MS is the half-width, as netem. pareto: shape 3, shifted\n"
"                        to mean 0 and scaled to deviation MS (netem uses a table)\n"
"  --keep-order          jitter never reorders (netem's tfifo does reorder when\n"
"                        the jitter exceeds the packet interval; so do we without it)\n"
"  --reorder PCT         send PCT %% of packets without the delay, so they overtake\n"
"                        those before them (needs --delay, as in netem; no\n"
"                        correlation and no gap option)\n"
"  --duplicate PCT       send a second copy of PCT %% of packets, with its own\n"
"                        delay draw (netem: a lost packet may still be duplicated;\n"
"                        here it is not)\n"
"  --rate KBIT           a token bucket of KBIT kbit/s (1000 bit/s), 1514 bytes\n"
"                        deep, in front of the delay, counting 28 bytes of\n"
"                        IPv4+UDP headers per datagram (netem puts its rate\n"
"                        after the delay and counts the link-layer length)\n"
"  --queue MS            the rate queue's limit: a packet that would wait longer\n"
"                        is dropped (100, like tbf's latency; netem counts packets)\n"
"  --blackout START_S:LEN_S   drop everything, both ways, for LEN_S seconds\n"
"                        from START_S seconds after the first datagram\n"
"                        (repeatable, up to %d; netem has no such thing)\n"
"  --change SEC:DELAY_MS[:JITTER_MS]  from SEC seconds after the first\n"
"                        datagram on, the RTP stream's delay is DELAY_MS and its\n"
"                        jitter JITTER_MS (as before if left out): a route\n"
"                        change, a jitter burst and its end (repeatable, up to\n"
"                        %d, in time order; --jitter's value must be given\n"
"                        before the changes that keep it)\n"
"  --loss-window START_S:LEN_S  lose (--loss, --burst) only datagrams arriving in\n"
"                        this window after the first one (default: always): a loss\n"
"                        step, e.g. 0 -> 10 %% -> 0 with --loss 10 --loss-window 10:15\n"
"  --rtcp-loss PCT       lose PCT %% of RTCP datagrams, both ways, independently\n"
"                        (0: RTCP gets only the fixed --delay and the blackouts)\n"
"  --seed N              seed of the random draws (1)\n"
"  --trace FILE          one line per datagram: index, flow (rtp, rtcp, rtp_back,\n"
"                        rtcp_back), arrival ms since the first datagram, bytes,\n"
"                        RTP sequence number (or -), fate (pass, lost, blackout,\n"
"                        queue_full), copies, then the delay in ms of each copy\n"
"  --stats FILE|-        JSON lines every --stats-interval ms and at exit with\n"
"                        \"final\":true (- = stderr). Keys, for the RTP stream:\n"
"                        t (s since start), received, bytes, lost, blackout,\n"
"                        queue_full, duplicated, reordered, sent, send_errors,\n"
"                        loss_pct (all drops); rtcp_received, rtcp_sent, rtcp_bytes,\n"
"                        rtcp_lost (both ways);\n"
"                        back_received, back_sent, back_bytes, back_no_peer (the\n"
"                        way back, before any sender was seen); queued,\n"
"                        queue_overflow\n"
"  --stats-interval MS   10..3600000 (%d)\n"
"  --duration SEC        exit after SEC seconds (runs until SIGINT/SIGTERM)\n"
"  --no-rtcp             relay the RTP port only\n"
"  -v, --verbose         say what is relayed where;  -q, --quiet: errors only\n"
"  -h, --help            this text;  -V, --version\n"
"\n"
"Order per packet: blackout, loss, rate queue, then delay/reorder/duplicate.\n"
"Copies leave at their decided times (a timerfd on CLOCK_MONOTONIC: within a\n"
"fraction of a millisecond on an idle machine). Copies still queued at exit\n"
"are dropped. Exit status: 0 done (--duration, SIGINT, SIGTERM), 1 run-time\n"
"error, 2 usage error.\n",
          IMPAIR_MAX_BLACKOUTS, IMPAIR_MAX_CHANGES, DL_DEFAULT_STATS_INTERVAL_MS);
}

static void arm_send_timer(struct relay *r);

static void send_due(uv_poll_t *poll, int status, int events)
{
  struct relay *r = poll->data;
  int64_t now = clock_mono_ns();
  const struct impair_queue_item *it;
  uint64_t expirations;
  (void)status;
  (void)events;

  if (read(r->send_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
    return;
  /* A copy due within 50 us goes now: closer than another wake-up. */
  while ((it = impair_queue_peek(&r->queue)) != NULL && it->send_ns <= now + 50000) {
    struct pkt *p = impair_queue_pop(&r->queue);
    struct pair *pr = p->pair;
    uv_buf_t b = uv_buf_init((char *)p->data, (unsigned)p->len);
    int back = p->flow == FLOW_RTP_BACK || p->flow == FLOW_RTCP_BACK;
    uv_udp_t *h = back ? &pr->listen : &pr->out;
    const struct sockaddr *to = (const struct sockaddr *)(back ? &pr->peer : &pr->target);
    int rc = uv_udp_try_send(h, &b, 1, to);
    if (rc < 0)
      r->fs[p->flow].send_errors++;
    else
      r->fs[p->flow].sent++;
    free(p);
  }
  arm_send_timer(r);
}

/* Arms the timerfd for the earliest queued copy (disarms it when empty).
 * An absolute time in the past fires at once. */
static void arm_send_timer(struct relay *r)
{
  const struct impair_queue_item *it = impair_queue_peek(&r->queue);
  struct itimerspec ts;

  memset(&ts, 0, sizeof ts);
  if (it != NULL && !r->stopping) {
    int64_t t = it->send_ns > 0 ? it->send_ns : 1;
    ts.it_value.tv_sec = (time_t)(t / 1000000000);
    ts.it_value.tv_nsec = (long)(t % 1000000000);
  }
  timerfd_settime(r->send_fd, TFD_TIMER_ABSTIME, &ts, NULL);
}

static void trace_line(struct relay *r, uint64_t n, enum flow fl, int64_t arr, size_t len,
                       const uint8_t *d, const struct impair_fate *f)
{
  char seq[8] = "-", line[512];
  size_t len_line;
  if (r->trace_id < 0)
    return;
  if (len >= 12 && (d[0] >> 6) == 2)
    snprintf(seq, sizeof seq, "%u", (unsigned)((d[2] << 8) | d[3]));
  snprintf(line, sizeof line, "%" PRIu64 " %s %.3f %zu %s %s %d", n, flow_name[fl],
           (double)(arr - r->start_ns) / 1e6, len, seq, impair_verdict_name(f->verdict), f->copies);
  len_line = strlen(line);
  for (int i = 0; i < f->copies && len_line < sizeof line; i++) {
    snprintf(line + len_line, sizeof line - len_line, " %.3f", (double)(f->send_ns[i] - arr) / 1e6);
    len_line += strlen(line + len_line);
  }
  if (len_line + 1 < sizeof line) {
    line[len_line++] = '\n';
    linew_put(r->out, r->trace_id, line, len_line);
  }
}

static int make_engines(struct relay *r, int64_t start)
{
  struct impair_config side;

  /* The side flows: fixed delay and blackouts, seeds of their own. */
  impair_config_default(&side);
  side.delay_ms = r->o.cfg.delay_ms;
  side.n_blackout = r->o.cfg.n_blackout;
  memcpy(side.blackout, r->o.cfg.blackout, sizeof side.blackout);
  for (int f = 0; f < FLOW_COUNT; f++) {
    int err;
    if (f == FLOW_RTP) {
      err = impair_create(&r->engine[f], &r->o.cfg, start);
    } else {
      side.seed = r->o.cfg.seed + (uint64_t)f;
      side.loss_pct = f == FLOW_RTCP || f == FLOW_RTCP_BACK ? r->o.rtcp_loss : 0;
      err = impair_create(&r->engine[f], &side, start);
    }
    if (err < 0)
      return err;
  }
  return 0;
}

static void relay_datagram(struct relay *r, struct pair *pr, enum flow fl, const uint8_t *d,
                           size_t len)
{
  int64_t arr = clock_mono_ns();
  struct impair_fate f;

  if (!r->started) {
    r->started = 1;
    r->start_ns = arr;
    if (make_engines(r, arr) < 0) {
      fprintf(stderr, PROG ": out of memory\n");
      exit(1);
    }
  }
  r->fs[fl].received++;
  r->fs[fl].bytes += len;
  impair_decide(r->engine[fl], arr, len, &f);
  trace_line(r, r->datagrams++, fl, arr, len, d, &f);
  for (int i = 0; i < f.copies; i++) {
    struct pkt *p = malloc(sizeof *p + len);
    if (p == NULL || impair_queue_push(&r->queue, f.send_ns[i], p) < 0) {
      free(p);
      r->queue_overflow++;
      continue;
    }
    p->pair = pr;
    p->flow = fl;
    p->len = len;
    memcpy(p->data, d, len);
  }
  if (f.copies)
    arm_send_timer(r);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct pair *pr = h->data;
  struct relay *r = pr->relay;
  (void)suggested;
  *buf = uv_buf_init((char *)r->buf, sizeof r->buf);
}

static void listen_recv_cb(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                           const struct sockaddr *from, unsigned flags)
{
  struct pair *pr = h->data;
  struct relay *r = pr->relay;
  (void)buf;
  if (n <= 0 || from == NULL || (flags & UV_UDP_PARTIAL) || r->stopping)
    return;
  addr_copy(&pr->peer, from);
  pr->have_peer = 1;
  relay_datagram(r, pr, pr->index == 0 ? FLOW_RTP : FLOW_RTCP, r->buf, (size_t)n);
}

static void out_recv_cb(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
  struct pair *pr = h->data;
  struct relay *r = pr->relay;
  enum flow fl = pr->index == 0 ? FLOW_RTP_BACK : FLOW_RTCP_BACK;
  (void)buf;
  if (n <= 0 || from == NULL || (flags & UV_UDP_PARTIAL) || r->stopping)
    return;
  /* Only the target's host may talk back through us. */
  if (!addr_same(from, (const struct sockaddr *)&pr->target, 0))
    return;
  if (!pr->have_peer) {
    r->fs[fl].received++;
    r->fs[fl].no_peer++;
    return;
  }
  relay_datagram(r, pr, fl, r->buf, (size_t)n);
}

static void write_stats(struct relay *r, int final)
{
  struct impair_stats st = {0};
  struct json j;
  char line[2048];
  const char *s;
  uint64_t back_rx = r->fs[FLOW_RTP_BACK].received + r->fs[FLOW_RTCP_BACK].received;
  uint64_t back_tx = r->fs[FLOW_RTP_BACK].sent + r->fs[FLOW_RTCP_BACK].sent;

  if (r->stats_id < 0)
    return;
  if (r->engine[FLOW_RTP])
    impair_get_stats(r->engine[FLOW_RTP], &st);
  json_begin(&j, line, sizeof line);
  json_num(&j, "t", (double)(clock_mono_ns() - r->launch_ns) / 1e9, 3);
  json_u64(&j, "received", r->fs[FLOW_RTP].received);
  json_u64(&j, "bytes", r->fs[FLOW_RTP].bytes);
  json_u64(&j, "lost", st.lost);
  json_u64(&j, "blackout", st.blackout);
  json_u64(&j, "queue_full", st.queue_full);
  json_u64(&j, "duplicated", st.duplicated);
  json_u64(&j, "reordered", st.reordered);
  json_u64(&j, "sent", r->fs[FLOW_RTP].sent);
  json_u64(&j, "send_errors", r->fs[FLOW_RTP].send_errors);
  json_num(&j, "loss_pct", st.packets ? 100.0 * (double)(st.lost + st.blackout + st.queue_full) /
                                            (double)st.packets : 0.0, 3);
  json_u64(&j, "rtcp_received", r->fs[FLOW_RTCP].received);
  json_u64(&j, "rtcp_sent", r->fs[FLOW_RTCP].sent);
  json_u64(&j, "rtcp_bytes", r->fs[FLOW_RTCP].bytes);
  {
    struct impair_stats a = {0}, b = {0};
    if (r->engine[FLOW_RTCP])
      impair_get_stats(r->engine[FLOW_RTCP], &a);
    if (r->engine[FLOW_RTCP_BACK])
      impair_get_stats(r->engine[FLOW_RTCP_BACK], &b);
    json_u64(&j, "rtcp_lost", a.lost + b.lost);
  }
  json_u64(&j, "back_received", back_rx);
  json_u64(&j, "back_sent", back_tx);
  json_u64(&j, "back_bytes", r->fs[FLOW_RTP_BACK].bytes + r->fs[FLOW_RTCP_BACK].bytes);
  json_u64(&j, "back_no_peer", r->fs[FLOW_RTP_BACK].no_peer + r->fs[FLOW_RTCP_BACK].no_peer);
  json_u64(&j, "queued", r->queue.len);
  json_u64(&j, "queue_overflow", r->queue_overflow);
  if (final)
    json_bool(&j, "final", 1);
  s = json_end(&j);
  /* The final line waits for room: nothing is relayed any more. */
  if (s)
    linew_put_line(r->out, r->stats_id, s, final);
}

static void stats_cb(uv_timer_t *t)
{
  write_stats(t->data, 0);
}

/* Closes a handle that is not closing yet: stop() and relay_destroy() close
 * whatever was set up, however far that got, so that uv_run returns. */
static void close_walk_cb(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void stop(struct relay *r)
{
  if (r->stopping)
    return;
  r->stopping = 1;
  write_stats(r, 1);
  uv_walk(&r->loop, close_walk_cb, NULL);
}

static void signal_cb(uv_signal_t *s, int signum)
{
  (void)signum;
  stop(s->data);
}

static void stop_timer_cb(uv_timer_t *t)
{
  stop(t->data);
}

/* SEC:DELAY_MS[:JITTER_MS] (the jitter as before when left out), after
 * the changes before it. */
static int parse_change(const char *s, struct impair_config *cfg)
{
  struct impair_change *c = &cfg->change[cfg->n_change];
  double at, v[2];
  char tmp[96], *f[3], *save = NULL;
  int n = 0;

  if (strlen(s) >= sizeof tmp)
    return -EINVAL;
  strcpy(tmp, s);
  for (char *t = strtok_r(tmp, ":", &save); t != NULL; t = strtok_r(NULL, ":", &save)) {
    if (n == 3)
      return -EINVAL;
    f[n++] = t;
  }
  if (n < 2 || args_double(f[0], 0, 1e6, &at) < 0 || args_double(f[1], 0, 60000, &v[0]) < 0)
    return -EINVAL;
  v[1] = cfg->n_change > 0 ? cfg->change[cfg->n_change - 1].jitter_ms : cfg->jitter_ms;
  if (n == 3 && args_double(f[2], 0, 60000, &v[1]) < 0)
    return -EINVAL;
  c->at_ns = (int64_t)llround(at * 1e9);
  if (cfg->n_change > 0 && c->at_ns < cfg->change[cfg->n_change - 1].at_ns)
    return -EINVAL;
  c->delay_ms = v[0];
  c->jitter_ms = v[1];
  cfg->n_change++;
  return 0;
}

static int parse_blackout(const char *s, struct impair_blackout *b)
{
  char tmp[64];
  char *colon;
  double start, len;

  if (strlen(s) >= sizeof tmp)
    return -EINVAL;
  strcpy(tmp, s);
  colon = strchr(tmp, ':');
  if (colon == NULL)
    return -EINVAL;
  *colon = '\0';
  if (args_double(tmp, 0, 1e6, &start) < 0 || args_double(colon + 1, 0, 1e6, &len) < 0)
    return -EINVAL;
  b->start_ns = (int64_t)llround(start * 1e9);
  b->len_ns = (int64_t)llround(len * 1e9);
  return 0;
}

enum {
  OPT_LOSS = 256, OPT_BURST, OPT_DELAY, OPT_JITTER, OPT_DIST, OPT_KEEP, OPT_REORDER,
  OPT_DUP, OPT_RATE, OPT_QUEUE, OPT_BLACKOUT, OPT_CHANGE, OPT_SEED, OPT_TRACE, OPT_DURATION,
  OPT_STATS, OPT_STATS_INTERVAL, OPT_NO_RTCP, OPT_LOSS_WINDOW, OPT_RTCP_LOSS
};

static const struct option long_opts[] = {
  {"loss", required_argument, NULL, OPT_LOSS},
  {"burst", required_argument, NULL, OPT_BURST},
  {"delay", required_argument, NULL, OPT_DELAY},
  {"jitter", required_argument, NULL, OPT_JITTER},
  {"jitter-dist", required_argument, NULL, OPT_DIST},
  {"keep-order", no_argument, NULL, OPT_KEEP},
  {"reorder", required_argument, NULL, OPT_REORDER},
  {"duplicate", required_argument, NULL, OPT_DUP},
  {"rate", required_argument, NULL, OPT_RATE},
  {"queue", required_argument, NULL, OPT_QUEUE},
  {"blackout", required_argument, NULL, OPT_BLACKOUT},
  {"change", required_argument, NULL, OPT_CHANGE},
  {"seed", required_argument, NULL, OPT_SEED},
  {"trace", required_argument, NULL, OPT_TRACE},
  {"duration", required_argument, NULL, OPT_DURATION},
  {"stats", required_argument, NULL, OPT_STATS},
  {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
  {"no-rtcp", no_argument, NULL, OPT_NO_RTCP},
  {"loss-window", required_argument, NULL, OPT_LOSS_WINDOW},
  {"rtcp-loss", required_argument, NULL, OPT_RTCP_LOSS},
  {"verbose", no_argument, NULL, 'v'},
  {"quiet", no_argument, NULL, 'q'},
  {"help", no_argument, NULL, 'h'},
  {"version", no_argument, NULL, 'V'},
  {NULL, 0, NULL, 0}
};

/* One flag c (getopt_long's answer) into o; a bad value is a usage error
 * (exit 2). Returns 1 when the flag was --help or --version (said on
 * stdout: nothing is left to do), else 0. */
static int parse_flag(struct options *o, int c, char **argv)
{
  struct impair_config *cfg = &o->cfg;

  switch (c) {
  case OPT_LOSS: cfg->loss_pct = usage_double("--loss", optarg, 0, 100, ""); break;
  case OPT_BURST: cfg->burst_len = usage_double("--burst", optarg, 1, 1e6, ""); break;
  case OPT_DELAY: cfg->delay_ms = usage_double("--delay", optarg, 0, 60000, ""); break;
  case OPT_JITTER: cfg->jitter_ms = usage_double("--jitter", optarg, 0, 60000, ""); break;
  case OPT_DIST:
    if (impair_dist_parse(optarg, &cfg->dist) < 0)
      usage_error("--jitter-dist: expected normal, pareto or uniform, got \"%s\"", optarg);
    break;
  case OPT_KEEP: cfg->keep_order = 1; break;
  case OPT_REORDER: cfg->reorder_pct = usage_double("--reorder", optarg, 0, 100, ""); break;
  case OPT_DUP: cfg->duplicate_pct = usage_double("--duplicate", optarg, 0, 100, ""); break;
  case OPT_RATE: cfg->rate_kbit = usage_double("--rate", optarg, 1, 1e7, ""); break;
  case OPT_QUEUE: cfg->queue_ms = usage_double("--queue", optarg, 0, 60000, ""); break;
  case OPT_BLACKOUT:
    if (cfg->n_blackout >= IMPAIR_MAX_BLACKOUTS)
      usage_error("--blackout: at most %d", IMPAIR_MAX_BLACKOUTS);
    if (parse_blackout(optarg, &cfg->blackout[cfg->n_blackout++]) < 0)
      usage_error("--blackout: expected START_S:LEN_S, got \"%s\"", optarg);
    break;
  case OPT_CHANGE:
    if (cfg->n_change >= IMPAIR_MAX_CHANGES)
      usage_error("--change: at most %d", IMPAIR_MAX_CHANGES);
    if (parse_change(optarg, cfg) < 0)
      usage_error("--change: expected SEC:DELAY_MS[:JITTER_MS], in time order, got \"%s\"", optarg);
    break;
  case OPT_SEED: cfg->seed = (uint64_t)usage_long("--seed", optarg, 0, 2147483647L, ""); break;
  case OPT_TRACE: o->trace_name = optarg; break;
  case OPT_DURATION: o->duration_s = usage_double("--duration", optarg, 0.001, 1e7, ""); break;
  case OPT_STATS: o->stats_name = optarg; break;
  case OPT_STATS_INTERVAL:
    o->stats_interval_ms = (long)usage_double("--stats-interval", optarg, 10, 3600000, "");
    break;
  case OPT_NO_RTCP: o->no_rtcp = 1; break;
  case OPT_LOSS_WINDOW:
    if (parse_blackout(optarg, &cfg->loss_window) < 0 || cfg->loss_window.len_ns == 0)
      usage_error("--loss-window: expected START_S:LEN_S, got \"%s\"", optarg);
    break;
  case OPT_RTCP_LOSS: o->rtcp_loss = usage_double("--rtcp-loss", optarg, 0, 100, ""); break;
  case 'v': o->verbose = 2; break;
  case 'q': o->verbose = 0; break;
  case 'h': usage(stdout); return 1;
  case 'V': printf("impair %s\n", DL_VERSION); return 1;
  case ':': usage_error("%s: needs a value", argv[optind - 1]);
  default: usage_error("unknown option \"%s\"", argv[optind - 1]);
  }
  return 0;
}

/* The command line into o; a usage error exits 2. Returns 1 when --help or
 * --version has said all there is to say, else 0. */
static int parse_options(struct options *o, int argc, char **argv)
{
  int c;

  usage_prog = PROG;
  usage_hint = " (see --help)";
  memset(o, 0, sizeof *o);
  impair_config_default(&o->cfg);
  o->stats_interval_ms = DL_DEFAULT_STATS_INTERVAL_MS;
  o->verbose = 1;
  opterr = 0;   /* one line of our own per error */
  while ((c = getopt_long(argc, argv, ":vqhV", long_opts, NULL)) != -1)
    if (parse_flag(o, c, argv))
      return 1;
  if (argc - optind != 2)
    usage_error("expected LISTEN_PORT and TARGET_HOST:PORT");
  if (args_hostport(argv[optind], 1, o->lhost, sizeof o->lhost, o->lport, sizeof o->lport) < 0)
    usage_error("LISTEN_PORT: expected [HOST:]PORT, got \"%s\"", argv[optind]);
  if (args_hostport(argv[optind + 1], 0, o->thost, sizeof o->thost, o->tport, sizeof o->tport) < 0)
    usage_error("TARGET: expected HOST:PORT, got \"%s\"", argv[optind + 1]);
  if (o->cfg.burst_len != 0 && impair_config_check(&o->cfg) < 0)
    usage_error("--burst %g: no Gilbert model loses %g %% in bursts that short"
                " (it needs loss / (100 - loss) <= burst)", o->cfg.burst_len, o->cfg.loss_pct);
  if (impair_config_check(&o->cfg) < 0)
    usage_error("invalid combination of options");
  if (o->cfg.reorder_pct > 0 && o->cfg.delay_ms <= 0 && o->verbose)
    fprintf(stderr, PROG ": warning: --reorder has no effect without --delay\n");
  /* args_hostport has checked both ports: 1..65535. */
  args_long(o->lport, 1, 65535, &o->lp);
  args_long(o->tport, 1, 65535, &o->tp);
  if (!o->no_rtcp && (o->lp == 65535 || o->tp == 65535))
    usage_error("ports: port+1 is needed for RTCP (or use --no-rtcp)");
  return 0;
}

/* The target (pairs[0].target) and the address to listen on, of the
 * target's family. Returns 0 or -EINVAL (said on stderr). */
static int relay_resolve(struct relay *r, struct sockaddr_storage *laddr)
{
  const struct options *o = &r->o;
  int err;

  if ((err = resolve_udp(o->thost, o->tport, 0, AF_UNSPEC, &r->pairs[0].target)) != 0) {
    fprintf(stderr, PROG ": %s: %s\n", o->thost, resolve_strerror(err));
    return -EINVAL;
  }
  err = resolve_udp(o->lhost, o->lport, RESOLVE_PASSIVE, r->pairs[0].target.ss_family, laddr);
  if (err != 0) {
    fprintf(stderr, PROG ": %s: %s\n", *o->lhost ? o->lhost : "listen address",
            resolve_strerror(err));
    return -EINVAL;
  }
  return 0;
}

/* Adds name ("-": stderr, shared by --trace and --stats through *err_id)
 * to r->out. Returns the stream's id, or a negative errno (said on
 * stderr). */
static int open_out(struct relay *r, const char *name, const char *what, int *err_id)
{
  char label[300];
  FILE *f;
  int id;

  if (strcmp(name, "-") == 0) {
    if (*err_id < 0 && (*err_id = linew_add(r->out, stderr, "stderr")) < 0)
      fprintf(stderr, PROG ": %s -: %s\n", what, strerror(-*err_id));
    return *err_id;
  }
  f = fopen(name, "w");
  if (f == NULL) {
    id = -errno;
    fprintf(stderr, PROG ": %s %s: %s\n", what, name, strerror(-id));
    return id;
  }
  snprintf(label, sizeof label, "%s %s", what, name);
  id = linew_add(r->out, f, label);
  if (id < 0) {
    fclose(f);
    fprintf(stderr, PROG ": %s %s: %s\n", what, name, strerror(-id));
  }
  return id;
}

/* The line writer and its --trace and --stats streams, started. Returns 0
 * or a negative errno (said on stderr). */
static int relay_open_outputs(struct relay *r)
{
  int err, err_id = -1;

  if ((err = linew_create(&r->out, PROG, DL_LINEW_QUEUE_BYTES)) < 0) {
    fprintf(stderr, PROG ": output queue: %s\n", strerror(-err));
    return err;
  }
  if (r->o.trace_name && (r->trace_id = open_out(r, r->o.trace_name, "--trace", &err_id)) < 0)
    return r->trace_id;
  if (r->o.stats_name && (r->stats_id = open_out(r, r->o.stats_name, "--stats", &err_id)) < 0)
    return r->stats_id;
  if (r->trace_id >= 0)
    linew_printf(r->out, r->trace_id, "# index flow arrival_ms bytes rtp_seq fate copies delay_ms...\n");
  if ((err = linew_start(r->out)) < 0) {
    fprintf(stderr, PROG ": writer thread: %s\n", strerror(-err));
    return err;
  }
  return 0;
}

/* Pair i's sockets: the listening one bound to laddr (port +i), the
 * outbound one from fd, which it takes over (closed on failure). Returns 0
 * or a negative errno (said on stderr). */
static int pair_open(struct relay *r, int i, const struct sockaddr_storage *laddr, int fd)
{
  struct pair *pr = &r->pairs[i];
  struct sockaddr_storage la = *laddr;
  int err;

  pr->relay = r;
  pr->index = i;
  if (i == 1) {
    pr->target = r->pairs[0].target;
    addr_set_port((struct sockaddr *)&pr->target, (int)r->o.tp + 1);
    addr_set_port((struct sockaddr *)&la, (int)r->o.lp + 1);
  }
  uv_udp_init(&r->loop, &pr->listen);
  uv_udp_init(&r->loop, &pr->out);
  pr->listen.data = pr->out.data = pr;
  if ((err = uv_udp_bind(&pr->listen, (const struct sockaddr *)&la, 0)) < 0) {
    fprintf(stderr, PROG ": listen port %d: %s\n", addr_port((const struct sockaddr *)&la),
            uv_strerror(err));
    close(fd);
    return err;
  }
  if ((err = uv_udp_open(&pr->out, fd)) < 0) {
    fprintf(stderr, PROG ": outbound socket: %s\n", uv_strerror(err));
    close(fd);
    return err;
  }
  uv_udp_recv_start(&pr->listen, alloc_cb, listen_recv_cb);
  uv_udp_recv_start(&pr->out, alloc_cb, out_recv_cb);
  return 0;
}

/* The queue of copies waiting for their time. The engines that decide
 * those times are made on the first datagram (make_engines): blackouts
 * count from it. Returns 0 or -ENOMEM (said on stderr). */
static int relay_open_queue(struct relay *r)
{
  int err = impair_queue_init(&r->queue, QUEUE_CAP);

  if (err < 0)
    fprintf(stderr, PROG ": out of memory\n");
  return err;
}

/* The loop and every pair's sockets. Returns 0 or a negative errno (said
 * on stderr). */
static int relay_open_sockets(struct relay *r, const struct sockaddr_storage *laddr)
{
  int fds[2] = {-1, -1}, err;

  if ((err = uv_loop_init(&r->loop)) < 0) {
    fprintf(stderr, PROG ": libuv: %s\n", uv_strerror(err));
    return err;
  }
  r->loop_open = 1;
  r->npairs = r->o.no_rtcp ? 1 : 2;
  if ((err = udppair_bind(r->pairs[0].target.ss_family, fds, r->npairs)) < 0) {
    fprintf(stderr, PROG ": outbound sockets: %s\n", strerror(-err));
    return err;
  }
  for (int i = 0; i < r->npairs; i++) {
    if ((err = pair_open(r, i, laddr, fds[i])) < 0) {
      /* The sockets of the pairs not reached yet are still ours. */
      for (int k = i + 1; k < r->npairs; k++)
        close(fds[k]);
      return err;
    }
  }
  return 0;
}

/* The send timer, the stats and stop timers and the signals, started;
 * with -v, says what is relayed where. Returns 0 or a negative errno
 * (said on stderr). */
static int relay_start(struct relay *r)
{
  int err;

  r->launch_ns = clock_mono_ns();
  r->send_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (r->send_fd < 0) {
    err = -errno;
    fprintf(stderr, PROG ": timerfd_create: %s\n", strerror(-err));
    return err;
  }
  uv_poll_init(&r->loop, &r->send_poll, r->send_fd);
  uv_timer_init(&r->loop, &r->stats_timer);
  uv_timer_init(&r->loop, &r->stop_timer);
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->send_poll.data = r->stats_timer.data = r->stop_timer.data = r;
  r->sigint.data = r->sigterm.data = r;
  uv_poll_start(&r->send_poll, UV_READABLE, send_due);
  uv_signal_start(&r->sigint, signal_cb, SIGINT);
  uv_signal_start(&r->sigterm, signal_cb, SIGTERM);
  if (r->stats_id >= 0)
    uv_timer_start(&r->stats_timer, stats_cb, (uint64_t)r->o.stats_interval_ms,
                   (uint64_t)r->o.stats_interval_ms);
  if (r->o.duration_s > 0)
    uv_timer_start(&r->stop_timer, stop_timer_cb, (uint64_t)llround(r->o.duration_s * 1000), 0);
  if (r->o.verbose >= 2)
    fprintf(stderr, PROG ": %d -> %s:%ld%s, seed %" PRIu64 "\n", (int)r->o.lp, r->o.thost,
            r->o.tp, r->o.no_rtcp ? "" : " (and +1 for RTCP)", r->o.cfg.seed);
  return 0;
}

/* Undoes whatever of the set-up was done (stop() has closed the handles of
 * a finished run; a failed set-up leaves some open). Returns 0, or
 * linew_destroy's error: a --trace or --stats line was not written. */
static int relay_destroy(struct relay *r)
{
  if (r->loop_open) {
    uv_walk(&r->loop, close_walk_cb, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
  }
  if (r->send_fd >= 0)
    close(r->send_fd);
  while (impair_queue_peek(&r->queue))
    free(impair_queue_pop(&r->queue));
  impair_queue_destroy(&r->queue);
  for (int f = 0; f < FLOW_COUNT; f++)
    impair_destroy(r->engine[f]);
  /* The final stats line was queued last (stop()); all of it goes out,
   * then the files are closed. */
  return linew_destroy(r->out);
}

int main(int argc, char **argv)
{
  struct relay r;
  struct sockaddr_storage laddr;
  int rc = 1;

  memset(&r, 0, sizeof r);
  r.send_fd = -1;
  r.trace_id = r.stats_id = -1;
  if (parse_options(&r.o, argc, argv))
    return 0;
  if (relay_resolve(&r, &laddr) < 0 || relay_open_outputs(&r) < 0 || relay_open_queue(&r) < 0 ||
      relay_open_sockets(&r, &laddr) < 0 || relay_start(&r) < 0)
    goto out;
  uv_run(&r.loop, UV_RUN_DEFAULT);
  rc = 0;

out:
  if (relay_destroy(&r) < 0)
    rc = 1;
  return rc;
}
