/* receiver's command line: the options, their defaults (common/defaults.h),
 * the --help text and the usage errors (shell/usage: one line, exit 2).
 * Main thread, before anything else runs. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "shell/usage.h"
#include "util/args.h"
#include "wire/sdp.h"
#include "wire/srtp.h"

#define DL_STR_(x) #x
#define DL_STR(x) DL_STR_(x)

void options_usage(FILE *f)
{
  fprintf(f,
"usage: " PROG " [OPTIONS] [HOST:]PORT\n"
"       " PROG " [OPTIONS] --sap NAME\n"
"       " PROG " --gen-key FILE\n"
"Receives an Opus stream over RTP (RFC 7587) on UDP PORT and plays it on an\n"
"ALSA device, or writes it to a WAV file paced in real time like a device.\n"
"HOST is the local address to bind (default: all IPv4 addresses); an IPv6\n"
"address is written [ADDR]:PORT. Output is 16-bit, 48000 Hz, with the\n"
"stream's channels (see --channels).\n"
"\n"
"  -c, --channels auto|1|2  output channels: auto (default) takes the stream's\n"
"                           (the Opus stereo flag of its first packet) and\n"
"                           opens the device or WAV file with that count when\n"
"                           the stream starts; a later stream of the other\n"
"                           kind is up- or downmixed by the decoder, never a\n"
"                           reopen. 1 or 2 open it at start-up with that count\n"
"                           (2 on a mono stream: the same on both channels)\n"
"  -d, --device NAME        ALSA playback device (default \"default\")\n"
"      --device-buffer MS   the ALSA buffer, %d..%d ms (default auto: %d ms on a\n"
"                           card, %d ms through a sound server's plugin such\n"
"                           as PulseAudio's or PipeWire's, whose own thread\n"
"                           feeds the server and may be late); a larger\n"
"                           buffer rides out longer stalls and adds latency\n"
"  -o, --output FILE.wav    write a WAV file instead of playing; it is paced in\n"
"                           real time in %d ms blocks and its header is kept\n"
"                           valid as it grows (rewritten every %d ms)\n"
"      --sink-skew-ppm PPM  with -o: run the WAV sink's clock PPM parts per million\n"
"                           fast (positive) or slow (negative), -100000..100000,\n"
"                           to test drift compensation without hardware\n"
"      --latency MS|auto    target latency from a packet's arrival to its first\n"
"                           sample being heard, 1..%d ms, or auto (default;\n"
"                           starts at %d ms within the bounds below)\n"
"      --min-latency MS     lower bound for auto (default %d)\n"
"      --latency-quantile Q auto: the target is this quantile of the recent\n"
"                           arrival delays plus one frame plus what the sink\n"
"                           takes ahead of hearing it (the device's queue,\n"
"                           snd_pcm_delay when a period is written, and the\n"
"                           period itself), 0.5..0.9999 (default %.2f)\n"
"      --max-latency MS     upper bound for auto; a packet that would be heard\n"
"                           more than this after it arrived (a sink that\n"
"                           stalled, a timestamp far ahead) resyncs the stream\n"
"                           once, onto the newest packet (default %d, max %d)\n"
"      --conceal plc|silence  what replaces a lost packet when the next one\n"
"                           carries no FEC: Opus packet loss concealment (plc,\n"
"                           default) or silence; after %d ms of continuous loss\n"
"                           it is silence either way\n"
"      --no-resample        no drift compensation: the decoder's output goes to\n"
"                           the sink unchanged (bit-exact), and latency follows\n"
"                           the difference between the sender's and the sink's\n"
"                           clocks (default: a resampler within +-0.5 %% holds\n"
"                           latency at its target)\n"
"      --pt N               accept only RTP payload type N (%d..%d); default:\n"
"                           lock to the first dynamic payload type seen\n"
"      --key FILE           SRTP (AES_CM_128_HMAC_SHA1_80, replay window %d):\n"
"                           authenticate and decrypt every packet with the key\n"
"                           in FILE (30 bytes of key and salt in base64, bare,\n"
"                           inline:KEY or an SDP a=crypto line, as the sender's\n"
"                           --key); a packet that fails or replays counts in\n"
"                           auth_failed and is dropped. Without --key a stream\n"
"                           that looks encrypted is refused (counted invalid)\n"
"      --gen-key FILE       write a new random key to FILE (mode 0600, must not\n"
"                           exist) and exit; no PORT needed\n"
"      --peer HOST[:PORT]   accept packets only from HOST (and PORT); default:\n"
"                           lock to the address and port of the first valid\n"
"                           packet. Others count in rejected and are dropped\n"
"      --iface IF           with a multicast group as HOST: join it on this\n"
"                           interface, by name (eth0) or one of its addresses\n"
"                           (192.168.1.10); default: the kernel's choice\n"
"      --source ADDR        with a group: source-specific multicast, only ADDR's\n"
"                           packets are delivered (IP_ADD_SOURCE_MEMBERSHIP)\n"
"      --sap NAME           no [HOST:]PORT: find the stream by SAP (RFC 2974), as\n"
"                           announced by sender --announce=NAME (or PipeWire, or\n"
"                           any Opus RTP announcer): listen on the SAP group,\n"
"                           wait for the announcement whose session name (s=)\n"
"                           is NAME exactly, and join its address and port (a\n"
"                           group on --iface), its payload type unless --pt.\n"
"                           Other announcements are never joined; malformed or\n"
"                           oversized ones count in sap_invalid\n"
"      --sap-addr GROUP:PORT  the SAP group to listen on (%s:%d)\n"
"      --restart-after MS   the locked host sending a new SSRC (or from a new\n"
"                           port) after MS ms without a packet is a sender\n"
"                           restart: accepted, the stream resyncs (counted in\n"
"                           restarts); sooner, it is rejected. Without --peer,\n"
"                           another host may take over after 10 x MS ms of\n"
"                           silence. 1..600000 (default %d)\n"
"      --duration SEC       stop after SEC seconds\n"
"      --idle-exit SEC      stop SEC seconds after the last packet, once a\n"
"                           stream has started\n"
"      --exit-on-bye        stop as soon as the stream has ended with the\n"
"                           sender's RTCP BYE (what it sent is played first)\n"
"      --rtcp-interval MS   RTCP: the minimum report interval (RFC 3550 Tmin),\n"
"                           randomised 0.5..1.5 x and halved before the first;\n"
"                           the 5 %% bandwidth share may make it longer.\n"
"                           100..3600000 (default %d; below it only on a LAN)\n"
"      --rtcp-mux           RTCP on the RTP port (RFC 5761), not on PORT+1\n"
"      --no-rtcp            no RTCP at all: no reports, SRs and BYEs unheard\n"
"      --sync               synchronized playout: the sample the sender took at\n"
"                           its wall-clock instant W (its RTCP SRs map RTP time\n"
"                           to its wall clock; before the first, the RFC 6051\n"
"                           NTP time in its first packets) is heard at W +\n"
"                           --sync-delay, so that every receiver of the stream\n"
"                           plays the same sample at the same instant. Our\n"
"                           clock need not agree with the sender's: its offset\n"
"                           is estimated from the least-delayed SRs and half\n"
"                           the least RTCP round trip (RFC 3611 RRT/DLRR), as\n"
"                           NTP does; stats sync_source, sync_error_ms. Needs\n"
"                           RTCP, --latency auto and the resampler. A delay\n"
"                           shorter than the path and the sink need is said\n"
"                           once and reported (sync_short_ms); the stream then\n"
"                           plays that much late\n"
"      --sync-delay MS      the presentation delay D every receiver shares,\n"
"                           %d..%d ms (default %d); --max-latency grows to\n"
"                           D + 100 ms unless given\n"
"      --sync-trim MS       this receiver plays MS ms later (negative: earlier),\n"
"                           -%d..%d, e.g. -2.9 per metre a speaker is farther\n"
"                           from the listener, or minus a device's known delay\n"
"                           after the sink (an amplifier's DSP)\n"
"      --wallclock-offset-ms MS  testing: shift our idea of the wall clock (every\n"
"                           CLOCK_REALTIME read) by MS ms, to show that --sync\n"
"                           does not depend on aligned clocks\n"
"      --stats FILE|-       write statistics as JSON lines to FILE (- = stderr):\n"
"                           every --stats-interval and once at exit with\n"
"                           \"final\":true; keys as in DESIGN.md \"Statistics\"\n"
"      --stats-interval MS  100..3600000 (default %d)\n"
"      --metrics-file PATH  the same statistics in Prometheus' text format, the\n"
"                           file replaced atomically every --stats-interval,\n"
"                           for node_exporter's textfile collector: metrics\n"
"                           driftless_receiver_KEY (counts as counters, _total;\n"
"                           the rest as gauges; see README \"Metrics\")\n"
"      --metrics-stream NAME  the metrics' stream label (default: [HOST:]PORT\n"
"                           as given)\n"
"      --trace FILE         one line per packet, tab-separated, after a header\n"
"                           line: seq, ts (RTP), arrival_ns (off the socket),\n"
"                           play_ns (its first sample reaches the sink; 0 if\n"
"                           dropped), kind (packet, fec: recovered from the next\n"
"                           packet, late, dup); times CLOCK_MONOTONIC ns. A\n"
"                           line of kind start says when the sink's first frame\n"
"                           is heard (play_ns; arrival_ns: the wall clock then,\n"
"                           ns since 1970)\n"
"      --stall-at SEC:MS    testing: stall the playback thread once, for MS ms,\n"
"                           SEC s after start, to force a sink underrun (counted\n"
"                           in underruns, recovered)\n"
"  -q, --quiet              no live status line on a terminal, no notices\n"
"  -v, --verbose            say what happens: sink set-up, scheduling\n"
"                           (SCHED_FIFO or not), stream start, stop\n"
"  -h, --help               this text\n"
"  -V, --version            the version\n"
"\n"
"SIGINT, SIGTERM and SIGHUP stop it cleanly: the WAV is finalised and the\n"
"final stats line written. Exit status: 0 done, 1 runtime error (device,\n"
"file, port), 2 bad usage (also: a --key file that holds no valid key).\n",
          DL_ALSA_BUFFER_MIN_MS, DL_ALSA_BUFFER_MAX_MS, DL_ALSA_PERIODS * DL_ALSA_PERIOD_US / 1000,
          DL_ALSA_SERVER_BUFFER_MS,
          DL_WAV_BLOCK_US / 1000, DL_WAV_SYNC_MS, DL_MAX_LATENCY_LIMIT_MS, DL_DEFAULT_LATENCY_MS,
          DL_DEFAULT_MIN_LATENCY_MS, DL_DEFAULT_LATENCY_QUANTILE, DL_DEFAULT_MAX_LATENCY_MS,
          DL_MAX_LATENCY_LIMIT_MS, DL_SILENCE_AFTER_MS, DL_MIN_DYNAMIC_PT, DL_MAX_DYNAMIC_PT, DL_SRTP_REPLAY_WINDOW,
          DL_SAP_ADDR, DL_SAP_PORT, DL_RESTART_AFTER_MS, DL_RTCP_MIN_INTERVAL_MS, DL_MIN_SYNC_DELAY_MS,
          DL_MAX_SYNC_DELAY_MS, DL_DEFAULT_SYNC_DELAY_MS, DL_MAX_SYNC_TRIM_MS, DL_MAX_SYNC_TRIM_MS,
          DL_DEFAULT_STATS_INTERVAL_MS);
}

enum {
  OPT_SKEW = 256, OPT_LATENCY, OPT_MIN_LATENCY, OPT_MAX_LATENCY, OPT_CONCEAL, OPT_PT,
  OPT_DURATION, OPT_IDLE_EXIT, OPT_STATS, OPT_STATS_INTERVAL, OPT_QUANTILE, OPT_NO_RESAMPLE,
  OPT_KEY, OPT_GEN_KEY, OPT_PEER, OPT_RESTART_AFTER,
  OPT_TRACE, OPT_STALL_AT, OPT_DEVICE_BUFFER, OPT_METRICS_FILE, OPT_METRICS_STREAM,
  OPT_EXIT_ON_BYE, OPT_RTCP_INTERVAL, OPT_RTCP_MUX, OPT_NO_RTCP, OPT_IFACE, OPT_SOURCE,
  OPT_SAP, OPT_SAP_ADDR, OPT_SYNC, OPT_SYNC_DELAY, OPT_SYNC_TRIM, OPT_WALLCLOCK_OFFSET
};

/* --peer HOST[:PORT] ([V6]:PORT, or a bare V6 address): its syntax, into
 * peer_host and peer_port; resolved later, in the socket's family. */
static void peer_parse(struct options *o)
{
  char *host = o->peer_host, *port = o->peer_port;
  size_t hcap = sizeof o->peer_host, n = strlen(o->peer);

  if (args_hostport(o->peer, 0, host, hcap, port, sizeof o->peer_port) == 0 && host[0] != '\0')
    return;
  port[0] = '\0';
  if (n >= 2 && o->peer[0] == '[' && o->peer[n - 1] == ']' && n - 2 < hcap)
    snprintf(host, hcap, "%.*s", (int)(n - 2), o->peer + 1);
  else if (n > 0 && n < hcap && o->peer[0] != '[')
    snprintf(host, hcap, "%s", o->peer);
  else
    usage_error("--peer: expected HOST, HOST:PORT or [IPV6]:PORT, got \"%s\"", o->peer);
}

static const struct option longs[] = {
  {"channels", required_argument, NULL, 'c'},
  {"device", required_argument, NULL, 'd'},
  {"device-buffer", required_argument, NULL, OPT_DEVICE_BUFFER},
  {"output", required_argument, NULL, 'o'},
  {"sink-skew-ppm", required_argument, NULL, OPT_SKEW},
  {"latency", required_argument, NULL, OPT_LATENCY},
  {"min-latency", required_argument, NULL, OPT_MIN_LATENCY},
  {"max-latency", required_argument, NULL, OPT_MAX_LATENCY},
  {"latency-quantile", required_argument, NULL, OPT_QUANTILE},
  {"no-resample", no_argument, NULL, OPT_NO_RESAMPLE},
  {"stall-at", required_argument, NULL, OPT_STALL_AT},
  {"conceal", required_argument, NULL, OPT_CONCEAL},
  {"pt", required_argument, NULL, OPT_PT},
  {"duration", required_argument, NULL, OPT_DURATION},
  {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
  {"stats", required_argument, NULL, OPT_STATS},
  {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
  {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
  {"metrics-stream", required_argument, NULL, OPT_METRICS_STREAM},
  {"key", required_argument, NULL, OPT_KEY},
  {"gen-key", required_argument, NULL, OPT_GEN_KEY},
  {"peer", required_argument, NULL, OPT_PEER},
  {"restart-after", required_argument, NULL, OPT_RESTART_AFTER},
  {"trace", required_argument, NULL, OPT_TRACE},
  {"exit-on-bye", no_argument, NULL, OPT_EXIT_ON_BYE},
  {"rtcp-interval", required_argument, NULL, OPT_RTCP_INTERVAL},
  {"rtcp-mux", no_argument, NULL, OPT_RTCP_MUX},
  {"no-rtcp", no_argument, NULL, OPT_NO_RTCP},
  {"iface", required_argument, NULL, OPT_IFACE},
  {"source", required_argument, NULL, OPT_SOURCE},
  {"sap", required_argument, NULL, OPT_SAP},
  {"sap-addr", required_argument, NULL, OPT_SAP_ADDR},
  {"sync", no_argument, NULL, OPT_SYNC},
  {"sync-delay", required_argument, NULL, OPT_SYNC_DELAY},
  {"sync-trim", required_argument, NULL, OPT_SYNC_TRIM},
  {"wallclock-offset-ms", required_argument, NULL, OPT_WALLCLOCK_OFFSET},
  {"quiet", no_argument, NULL, 'q'},
  {"verbose", no_argument, NULL, 'v'},
  {"help", no_argument, NULL, 'h'},
  {"version", no_argument, NULL, 'V'},
  {NULL, 0, NULL, 0},
};

/* One flag with a value (getopt's c and optarg). device_set: -d was given.
 * Returns 0, or -1 for a flag it does not know. */
static int set_flag(struct options *o, int c, char *arg, int *device_set)
{
  switch (c) {
  case 'c':
    if (strcmp(arg, "auto") == 0)
      o->channels = 0;
    else
      o->channels = (int)usage_long("--channels", arg, 1, DL_MAX_CHANNELS, "or auto");
    break;
  case 'd': o->device = arg; *device_set = 1; break;
  case OPT_DEVICE_BUFFER:
    o->device_buffer_ms = (int)usage_long("--device-buffer", arg, DL_ALSA_BUFFER_MIN_MS,
                                          DL_ALSA_BUFFER_MAX_MS, "ms");
    break;
  case 'o': o->output = arg; break;
  case OPT_SKEW:
    o->skew_ppm = usage_double("--sink-skew-ppm", arg, -100000, 100000, "ppm");
    o->skew_set = 1;
    break;
  case OPT_LATENCY:
    if (strcmp(arg, "auto") == 0)
      o->latency_ms = 0;
    else
      o->latency_ms = (int)usage_long("--latency", arg, 1, DL_MAX_LATENCY_LIMIT_MS, "ms or auto");
    break;
  case OPT_MIN_LATENCY:
    o->min_latency_ms = (int)usage_long("--min-latency", arg, 1, DL_MAX_LATENCY_LIMIT_MS, "ms");
    break;
  case OPT_MAX_LATENCY:
    o->max_latency_ms = (int)usage_long("--max-latency", arg, 1, DL_MAX_LATENCY_LIMIT_MS, "ms");
    o->max_latency_set = 1;
    break;
  case OPT_QUANTILE:
    o->latency_quantile = usage_double("--latency-quantile", arg, 0.5, 0.9999, "");
    break;
  case OPT_NO_RESAMPLE: o->no_resample = 1; break;
  case OPT_STALL_AT: {
    char *colon = strchr(arg, ':');
    if (colon == NULL)
      usage_error("--stall-at: expected SEC:MS, got \"%s\"", arg);
    *colon = '\0';
    o->stall_at_s = usage_double("--stall-at", arg, 0, 1e6, "s");
    o->stall_ms = usage_double("--stall-at", colon + 1, 1, 60000, "ms");
    break;
  }
  case OPT_CONCEAL:
    if (strcmp(arg, "plc") == 0)
      o->conceal_silence = 0;
    else if (strcmp(arg, "silence") == 0)
      o->conceal_silence = 1;
    else
      usage_error("--conceal: expected plc or silence, got \"%s\"", arg);
    break;
  case OPT_PT:
    o->pt = (int)usage_long("--pt", arg, DL_MIN_DYNAMIC_PT, DL_MAX_DYNAMIC_PT, "");
    break;
  case OPT_DURATION:
    o->duration_s = usage_double("--duration", arg, 0.001, 1e7, "s");
    break;
  case OPT_IDLE_EXIT:
    o->idle_exit_s = usage_double("--idle-exit", arg, 0.001, 1e7, "s");
    break;
  case OPT_STATS: o->stats_path = arg; break;
  case OPT_METRICS_FILE: o->metrics_path = arg; break;
  case OPT_METRICS_STREAM: o->metrics_stream = arg; break;
  case OPT_STATS_INTERVAL:
    o->stats_interval_ms = (int)usage_long("--stats-interval", arg, 100, 3600000, "ms");
    break;
  case OPT_KEY: o->key_path = arg; break;
  case OPT_GEN_KEY: o->gen_key_path = arg; break;
  case OPT_PEER: o->peer = arg; break;
  case OPT_RESTART_AFTER:
    o->restart_after_ms = (int)usage_long("--restart-after", arg, 1, 600000, "ms");
    break;
  case OPT_TRACE: o->trace_path = arg; break;
  case OPT_EXIT_ON_BYE: o->exit_on_bye = 1; break;
  case OPT_RTCP_INTERVAL:
    o->rtcp_interval_ms = (int)usage_long("--rtcp-interval", arg, 100, 3600000, "ms");
    break;
  case OPT_RTCP_MUX: o->rtcp_mux = 1; break;
  case OPT_NO_RTCP: o->no_rtcp = 1; break;
  case OPT_IFACE: o->iface = arg; break;
  case OPT_SOURCE: o->source = arg; break;
  case OPT_SAP:
    if (arg[0] == '\0' || strlen(arg) > SDP_MAX_NAME)
      usage_error("--sap: expected a session name of 1..%d characters", SDP_MAX_NAME);
    o->sap_name = arg;
    break;
  case OPT_SAP_ADDR: o->sap_addr = arg; break;
  case OPT_SYNC: o->sync = 1; break;
  case OPT_SYNC_DELAY:
    o->sync_delay_ms = (int)usage_long("--sync-delay", arg, DL_MIN_SYNC_DELAY_MS, DL_MAX_SYNC_DELAY_MS, "ms");
    o->sync_delay_set = 1;
    break;
  case OPT_SYNC_TRIM:
    o->sync_trim_ms = usage_double("--sync-trim", arg, -DL_MAX_SYNC_TRIM_MS, DL_MAX_SYNC_TRIM_MS, "ms");
    o->sync_trim_set = 1;
    break;
  case OPT_WALLCLOCK_OFFSET:
    o->wallclock_offset_ms = usage_double("--wallclock-offset-ms", arg, -1e7, 1e7, "ms");
    break;
  default:
    return -1;
  }
  return 0;
}

void options_parse(int argc, char **argv, struct options *o)
{
  int c, device_set = 0;

  usage_prog = PROG;
  usage_hint = " (see --help)";
  memset(o, 0, sizeof *o);
  o->device = "default";
  o->min_latency_ms = DL_DEFAULT_MIN_LATENCY_MS;
  o->max_latency_ms = DL_DEFAULT_MAX_LATENCY_MS;
  o->stats_interval_ms = DL_DEFAULT_STATS_INTERVAL_MS;
  o->latency_quantile = DL_DEFAULT_LATENCY_QUANTILE;
  o->restart_after_ms = DL_RESTART_AFTER_MS;
  o->rtcp_interval_ms = DL_RTCP_MIN_INTERVAL_MS;
  o->sync_delay_ms = DL_DEFAULT_SYNC_DELAY_MS;

  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:d:o:qvhV", longs, NULL)) != -1) {
    if (set_flag(o, c, optarg, &device_set) == 0)
      continue;
    switch (c) {
    case 'q': o->quiet = 1; break;
    case 'v': o->verbose = 1; break;
    case 'h': options_usage(stdout); exit(0);
    case 'V': printf(PROG " (driftless) %s\n", DL_VERSION); exit(0);
    case ':': usage_error("%s: needs a value", argv[optind - 1]);
    default:
      if (optopt != 0)
        usage_error("unknown option '-%c'", optopt);
      usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (o->gen_key_path != NULL) {
    if (optind < argc || o->key_path != NULL)
      usage_error("--gen-key FILE is used alone: it writes a key and exits");
    return;
  }
  if (o->sap_addr != NULL && o->sap_name == NULL)
    usage_error("--sap-addr is where --sap listens; give --sap NAME too");
  if (o->sap_name != NULL) {
    const char *sa = o->sap_addr != NULL ? o->sap_addr : DL_SAP_ADDR ":" DL_STR(DL_SAP_PORT);
    int r;
    if (optind < argc)
      usage_error("--sap NAME finds the address and port: no [HOST:]PORT with it (got \"%s\")", argv[optind]);
    r = args_group(sa, &o->sap_group);
    if (r == -EDOM)
      usage_error("--sap-addr: %s is not a multicast group", sa);
    if (r < 0)
      usage_error("--sap-addr: expected a numeric multicast GROUP:PORT, got \"%s\"", sa);
    if (o->metrics_stream == NULL)
      o->metrics_stream = o->sap_name;
  } else {
    if (optind >= argc)
      usage_error("missing [HOST:]PORT to listen on (or --sap NAME)");
    if (optind + 1 < argc)
      usage_error("unexpected argument \"%s\"", argv[optind + 1]);
    if (o->metrics_stream == NULL)
      o->metrics_stream = argv[optind];
    if (args_hostport(argv[optind], 1, o->host, sizeof o->host, o->port, sizeof o->port) != 0)
      usage_error("expected [HOST:]PORT with PORT 1..65535, got \"%s\"", argv[optind]);
  }
  if (o->output != NULL && device_set)
    usage_error("-d/--device and -o/--output exclude each other");
  if (o->output != NULL && o->device_buffer_ms != 0)
    usage_error("--device-buffer: only with an ALSA device, not -o/--output");
  if (o->skew_set && o->output == NULL)
    usage_error("--sink-skew-ppm: only with -o/--output (a device runs on its own clock)");
  if (o->min_latency_ms > o->max_latency_ms)
    usage_error("--min-latency %d ms is above --max-latency %d ms", o->min_latency_ms, o->max_latency_ms);
  if (o->latency_ms > o->max_latency_ms)
    usage_error("--latency %d ms is above --max-latency %d ms", o->latency_ms, o->max_latency_ms);
  if (o->peer != NULL)
    peer_parse(o);
  if (o->no_rtcp && (o->rtcp_mux || o->exit_on_bye))
    usage_error("--no-rtcp excludes --rtcp-mux and --exit-on-bye");
  if (!o->sync && (o->sync_delay_set || o->sync_trim_set))
    usage_error("%s: only with --sync", o->sync_delay_set ? "--sync-delay" : "--sync-trim");
  if (o->sync) {
    int need = o->sync_delay_ms + (o->sync_trim_ms > 0 ? (int)o->sync_trim_ms + 1 : 0);
    if (o->no_rtcp)
      usage_error("--sync needs RTCP (the sender's SRs map its clock): drop --no-rtcp");
    if (o->latency_ms != 0)
      usage_error("--sync sets the latency itself: drop --latency %d (or give --latency auto)", o->latency_ms);
    if (o->no_resample)
      usage_error("--sync steers the latency by resampling: drop --no-resample");
    if (need > DL_MAX_LATENCY_LIMIT_MS)
      usage_error("--sync-delay %d ms with --sync-trim %.1f ms is beyond the %d ms latency limit",
                  o->sync_delay_ms, o->sync_trim_ms, DL_MAX_LATENCY_LIMIT_MS);
    if (o->max_latency_set && o->max_latency_ms < need)
      usage_error("--max-latency %d ms is below --sync-delay %d ms (and --sync-trim)", o->max_latency_ms, need);
    if (!o->max_latency_set && o->max_latency_ms < need + 100)
      o->max_latency_ms = need + 100 > DL_MAX_LATENCY_LIMIT_MS ? DL_MAX_LATENCY_LIMIT_MS : need + 100;
  }
  if (!o->rtcp_mux && strcmp(o->port, "65535") == 0 && !o->no_rtcp)
    usage_error("port 65535: RTCP needs PORT+1 (give --rtcp-mux or --no-rtcp)");
}

int options_start_latency_ms(const struct options *o)
{
  int ms = o->latency_ms;
  if (ms == 0) {
    ms = DL_DEFAULT_LATENCY_MS;
    if (ms < o->min_latency_ms)
      ms = o->min_latency_ms;
    if (ms > o->max_latency_ms)
      ms = o->max_latency_ms;
  }
  return ms;
}

