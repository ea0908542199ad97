/* sender: reads an audio file, encodes it with Opus and sends it as RTP over
 * UDP on an absolute schedule (common/tx/pacer); or captures live input
 * (live.c: an ALSA device, or a pipe with --live), whose own clock paces
 * the stream: each frame is encoded and sent as soon as it is complete.
 *
 * One thread, one libuv loop. The schedule is a timerfd (CLOCK_MONOTONIC,
 * TFD_TIMER_ABSTIME) armed at the next packet's deadline and watched with
 * uv_poll: libuv's own timers have millisecond resolution and are relative
 * to the loop's cached time, which is exactly the drift this program exists
 * to avoid. On each wake-up every due packet is sent (uv_udp_try_send), and
 * then the next one is encoded at once, ahead of its deadline, so that
 * encoding never delays a send. With --key each packet is protected with
 * SRTP (common/wire/srtp) as soon as it is encoded, also ahead of its deadline.
 *
 * The loop thread does no file I/O once the stream runs: --stats, --trace,
 * the live line and run-time messages are queued to shell/linew's writer
 * thread, since one write stalled by a busy disk (117 ms was seen) would
 * otherwise make packets late. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <opus/opus.h>
#include <uv.h>

#include "announce.h"
#include "defaults.h"
#include "dests.h"
#include "rtcp.h"
#include "shell/clock.h"
#include "shell/keyfile.h"
#include "shell/linew.h"
#include "shell/metrics.h"
#include "shell/notify.h"
#include "shell/resolve.h"
#include "shell/udppair.h"
#include "shell/usage.h"
#include "live.h"
#include "tx/audio_in.h"
#include "tx/capture.h"
#include "tx/pacer.h"
#include "tx/txpipe.h"
#include "util/addr.h"
#include "util/args.h"
#include "util/json.h"
#include "wire/rtp.h"
#include "wire/sdp.h"
#include "wire/srtp.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define PROG "sender"
#define EXIT_RUNTIME 1
#define DGRAM_CAP (RTP_HEADER_LEN + DL_MAX_PAYLOAD)

struct opts {
  int frame_us;
  int bitrate;            /* 0: by channels */
  int channels;           /* 0: the input's */
  int complexity;
  int application;
  const char *application_name;
  int fec;
  int expect_loss;
  int dtx;
  int pt;
  int have_ssrc;
  uint32_t ssrc;
  int loop;
  double duration;        /* seconds, 0: the whole input */
  const char *sdp;
  double skew_ppm;
  const char *stats;
  const char *metrics;          /* --metrics-file; NULL: none */
  const char *metrics_stream;   /* its stream label */
  int stats_interval_ms;
  const char *trace;
  const char *key;        /* --key FILE: SRTP */
  const char *gen_key;    /* --gen-key FILE */
  int rtcp_mux;           /* --rtcp-mux: RTCP on the RTP port */
  int ttl;                /* --ttl: a group's multicast TTL / hop limit */
  const char *iface;      /* --iface: a group's outgoing interface, name or address; NULL: the route's */
  int rtcp_interval_ms;   /* --rtcp-interval */
  int no_rtcp;            /* --no-rtcp */
  int adapt;              /* --adapt (default) / --no-adapt */
  int have_raw;           /* --raw RATE:CHANNELS:FORMAT */
  struct capture_raw raw;
  int live;               /* --live, or INPUT alsa:DEVICE */
  int capture_buffer_ms;  /* --capture-buffer */
  int min_bitrate;        /* --min-bitrate; 0: DL_DEFAULT_MIN_BITRATE */
  const char *announce;   /* --announce: the session's name; NULL: no SAP */
  char announce_default[300];   /* --announce alone: "driftless on HOST" */
  const char *sap_addr;   /* --sap-addr as given; NULL: DL_SAP_ADDR:DL_SAP_PORT */
  struct sockaddr_storage sap;  /* the SAP group */
  int quiet, verbose;
  const char *input;
  const char *dest;       /* the first HOST:PORT as given */
  int n_dests;            /* how many (struct sender's dests) */
};

struct sender {
  struct opts o;
  uv_loop_t loop;
  uv_udp_t udp;
  uv_poll_t poll;
  uv_timer_t stats_timer, status_timer;
  uv_signal_t sigint, sigterm;
  int tfd;
  int status_on;          /* the live line on a TTY */
  int rtcp_on;            /* RTCP runs (not --no-rtcp) */

  struct audio_in *in;
  struct audio_in_info info;
  struct txpipe *tp;
  struct pacer pacer;
  struct dests dests;         /* where the stream goes, each with its socket and RTCP */
  struct announce ann;        /* --announce */

  /* The next packet, encoded (and with --key protected) ahead of its
   * deadline; libsrtp2 may write DL_SRTP_MAX_TRAILER past the RTP packet. */
  uint8_t pending[DGRAM_CAP + DL_SRTP_MAX_TRAILER];
  int pending_len;            /* > 0 a datagram, 0 a DTX frame (nothing to send) */
  int have_pending;
  uint64_t max_frames;        /* --duration in frames; 0: no limit */
  int frame_samples;
  struct dl_srtp *srtp;       /* --key: the sending session; NULL: plain RTP */
  struct dl_srtp *srtcp_in;   /* --key: the session that checks the receiver's RTCP */
  uint32_t ssrc;              /* the stream's */
  uint8_t key[DL_SRTP_KEY_LEN];

  struct linew *out;          /* every line written once the loop runs */
  int err_id, stats_id, trace_id, metrics_id;   /* its streams; -1: none */
  int64_t start_ns;           /* CLOCK_MONOTONIC at t0 */
  uint64_t sent, bytes, payload_bytes;   /* the stream's: each packet once, however many took it */
  uint64_t last_payload_bytes;
  int64_t last_stats_ns;
  int exit_code;
  int finished;
  int loop_ok;                /* the loop was initialised: teardown closes its handles */

  /* Live input (alsa:DEVICE, or - with --live): frames as they come. */
  struct live *live;
  struct live_info linfo;
  uint64_t live_frames;       /* frames of the stream's timeline so far (sent, DTX, skipped) */
  int64_t live_last_ns;       /* when the last one was handed over */
  struct capture_peak peak_status, peak_stats;   /* the input level, one for each reader */
  int64_t last_cpu_ns;        /* the capture thread's CPU at the last stats line */
  int64_t last_cpu_at_ns;     /* and when that was */
};

static void help(void)
{
  printf(
      "Usage: " PROG " [OPTIONS] INPUT HOST:PORT [HOST:PORT...]\n"
      "\n"
      "Sends an audio file as Opus over RTP/UDP (RFC 3550, RFC 7587), each packet on\n"
      "an absolute deadline t0 + k*frame, so the stream never drifts; or live sound\n"
      "from a capture device or a pipe, each packet as soon as its audio is captured.\n"
      "\n"
      "  INPUT                 any file libsndfile reads (WAV, FLAC, Ogg/Vorbis, ...), any\n"
      "                        sample rate (converted to 48 kHz), more than 2 channels are\n"
      "                        downmixed to stereo; - reads a WAV (or with --raw, raw\n"
      "                        PCM) from standard input (a pipe), paced like a file (with\n"
      "                        --live: as it arrives), its end the stream's end;\n"
      "                        alsa:DEVICE captures live from an ALSA PCM (alsa:default,\n"
      "                        alsa:hw:1,0, alsa:pulse, ...): a capture thread reads\n"
      "                        %.1f ms periods, the device's clock is the stream's (the\n"
      "                        RTP timestamp counts captured samples, no timer paces it),\n"
      "                        any rate is converted to 48 kHz; S16_LE preferred, else\n"
      "                        S32_LE, S24_3LE or FLOAT_LE. An overrun is recovered and\n"
      "                        counted, and the timestamp jumps by the audio lost, so the\n"
      "                        receiver conceals exactly that gap. Runs until --duration\n"
      "                        or SIGINT\n"
      "  HOST:PORT             destination: IPv4 (127.0.0.1:5004), [IPv6]:port ([::1]:5004)\n"
      "                        or a host name (localhost:5004), or a multicast group;\n"
      "                        up to %d of them (fan-out): each packet is encoded once\n"
      "                        and sent to every one, each destination from its own\n"
      "                        ports with its own RTCP session; the encoder's\n"
      "                        adaptation follows the worst of their reports. Two\n"
      "                        destinations may not be one address and port, nor (with\n"
      "                        RTCP on PORT+1) one host's adjacent ports\n"
      "\n"
      "  -f, --frame-ms MS     Opus frame (= packet) duration: 2.5, 5, 10, 20, 40 or 60 (%d)\n"
      "  -b, --bitrate BPS     Opus bitrate in bit/s, %d..%d (%d mono, %d stereo)\n"
      "  -c, --channels 1|2    channels to send (the input's or the device's, at most 2)\n"
      "      --complexity N    Opus encoder complexity 0..10 (%d)\n"
      "      --application A   voip, audio or lowdelay: Opus' tuning (voip)\n"
      "      --fec, --no-fec   Opus in-band forward error correction (on)\n"
      "      --expect-loss PCT packet loss the encoder plans for, 0..100 (%d): feeds\n"
      "                        OPUS_SET_PACKET_LOSS_PERC, without which FEC adds nothing\n"
      "      --dtx             discontinuous transmission: no packets during silence\n"
      "      --pt N            RTP payload type, 96..127 (%d)\n"
      "      --ssrc N          RTP SSRC, 0..4294967295 (random)\n"
      "      --loop            start the input again at its end, seamlessly, until stopped\n"
      "      --duration SEC    stop after SEC seconds of audio (live: of the stream's\n"
      "                        timeline, captured or lost)\n"
      "      --raw RATE:CHANNELS:FORMAT  INPUT - is headerless PCM: RATE 1000..384000 Hz,\n"
      "                        CHANNELS 1..8, FORMAT s16, s24 (packed), s32 or f32, little-\n"
      "                        endian, interleaved (parec --raw --rate=48000: 48000:2:s16)\n"
      "      --live            INPUT - is live: each frame is sent as soon as it arrives,\n"
      "                        the pipe's writer (parec, arecord, ffmpeg -re) sets the\n"
      "                        pace; without it a pipe is paced like a file\n"
      "      --capture-buffer MS  alsa:DEVICE: the device's buffer, %d..%d ms (%d): how\n"
      "                        long the capture thread may be kept from reading before\n"
      "                        audio is lost (an overrun); a sound server's device\n"
      "                        (pulse, pipewire) adds its own buffering\n"
      "      --sdp FILE        write an SDP describing the stream (one destination only),\n"
      "                        for ffmpeg/ffplay\n"
      "                        (-protocol_whitelist file,udp,rtp -i FILE), VLC or GStreamer;\n"
      "                        with --key: RTP/SAVP and an a=crypto line holding the key\n"
      "                        (ffmpeg: -protocol_whitelist file,udp,rtp,srtp); an\n"
      "                        a=extmap line declares the RFC 6051 clock stamp the\n"
      "                        first packets carry, a=rtcp-mux comes with --rtcp-mux\n"
      "      --key FILE        SRTP (AES_CM_128_HMAC_SHA1_80): encrypt and authenticate\n"
      "                        every packet with the key in FILE: 30 bytes of master key\n"
      "                        and salt in base64 (40 characters), bare, as inline:KEY or\n"
      "                        as an SDP a=crypto line; '#' lines are comments. The same\n"
      "                        text is ffmpeg's -srtp_in_params / -srtp_out_params\n"
      "      --gen-key FILE    write a new random key to FILE (created, mode 0600; an\n"
      "                        existing FILE is an error) and exit: " PROG " --gen-key FILE\n"
      "      --clock-skew-ppm PPM  run the schedule PPM parts per million fast (positive) or\n"
      "                        slow (negative), to test a receiver's drift compensation (0)\n"
      "      --stats FILE|-    statistics as JSON lines (- is stderr, and no live line), every\n"
      "                        --stats-interval and once at exit with \"final\":true. Keys: t (s since\n"
      "                        start), sent (packets), bytes (RTP bytes sent), bitrate (Opus bit/s over\n"
      "                        the interval; the final line: over the run), fec, late (packets\n"
      "                        sent a frame or more behind schedule), send_errors, dtx (frames\n"
      "                        not sent); live input: level_dbfs (the input's peak over the\n"
      "                        interval, dBFS; null for a file), overruns (capture overruns,\n"
      "                        and periods the loop had no room for), capture_latency_ms\n"
      "                        (the device's snd_pcm_delay, or a pipe's unread bytes, plus\n"
      "                        the capture ring and the resampler; null for a file),\n"
      "                        capture_cpu_pct (the capture thread's CPU over the interval,\n"
      "                        %% of one core; null without one); from RTCP (null before\n"
      "                        the first report): rtt_ms,\n"
      "                        loss_pct_reported (the last report's fraction lost, %%),\n"
      "                        lost_reported, jitter_ms_reported, far_mos, far_r_factor and\n"
      "                        far_latency_ms (the receiver's XR VoIP Metrics: its MOS-CQ, R\n"
      "                        and end system delay); adapt_events (settings changed),\n"
      "                        encoder_loss_pct, encoder_bitrate; rtcp_sent, rtcp_received,\n"
      "                        rtcp_invalid, rtcp_rejected (not from the destination's host),\n"
      "                        auth_failed (--key: SRTCP that failed); sap_sent (--announce:\n"
      "                        SAP packets sent). With several\n"
      "                        destinations: sent and bytes count each packet once,\n"
      "                        send_errors is the sum, the RTCP figures are the worst\n"
      "                        destination's (highest RTT and loss, lowest MOS) and the\n"
      "                        RTCP counts sums, and \"dests\" lists each: addr, sent,\n"
      "                        bytes, send_errors and its own RTCP keys above\n"
      "      --stats-interval MS   period of the stats lines, %d..3600000 (%d)\n"
      "      --metrics-file PATH   the same statistics in Prometheus' text format, the file\n"
      "                        replaced atomically every --stats-interval (node_exporter's\n"
      "                        textfile collector): driftless_sender_KEY, counts as counters\n"
      "                        (_total), the rest as gauges (README \"Metrics\")\n"
      "      --metrics-stream NAME  the metrics' stream label (default: the first HOST:PORT as\n"
      "                        given); the per-destination \"dests\" are not in the file\n"
      "      --rtcp-interval MS  RTCP: the minimum report interval (RFC 3550 Tmin),\n"
      "                        randomised 0.5..1.5 x and halved before the first; the\n"
      "                        5 %% bandwidth share may make it longer. 100..3600000\n"
      "                        (%d; below it only on a LAN). SR + SDES go to PORT+1 from\n"
      "                        the port above our RTP port, BYE when the stream stops\n"
      "      --announce, --announce=NAME  announce the stream by SAP (RFC 2974), as\n"
      "                        VLC's and PipeWire's discovery expect: its SDP (s=NAME;\n"
      "                        default \"driftless on HOSTNAME\") to the SAP group at once,\n"
      "                        then every %d s (a third either way at random), and a\n"
      "                        deletion when the stream stops; receiver --sap NAME joins\n"
      "                        it. One destination (a group, usually). With --key the\n"
      "                        announcement says RTP/SAVP but never holds the key: each\n"
      "                        receiver needs the key file. --ttl and --iface apply to\n"
      "                        it as to a group\n"
      "      --sap-addr GROUP:PORT  where --announce sends (%s:%d, the\n"
      "                        SAP group VLC listens on); for a test, a group of its own\n"
      "      --ttl N           to a multicast group: its TTL (hop limit), 1..255 (1:\n"
      "                        this link only); loop on, so this host's receivers hear it\n"
      "      --iface IF        to a multicast group: send out of this interface, by\n"
      "                        name (eth0) or one of its addresses (192.168.1.10)\n"
      "      --rtcp-mux        RTCP on the RTP ports (RFC 5761), not on PORT+1\n"
      "      --no-rtcp         no RTCP: no SR, no BYE, no reports heard, no adaptation\n"
      "      --adapt, --no-adapt  follow the receiver's reports (on): the encoder's\n"
      "                        expected loss and FEC track the reported loss (with\n"
      "                        hysteresis; --expect-loss is the start), and the bitrate\n"
      "                        steps down by quarters when a queue builds (RTT above its\n"
      "                        least, with loss), back up when calm; -v says each change\n"
      "      --min-bitrate BPS the adaptation's floor, %d..BITRATE (%d)\n"
      "      --trace FILE      one line per packet sent (tab-separated, with a header):\n"
      "                        seq, RTP timestamp, scheduled and actual send time\n"
      "                        (CLOCK_MONOTONIC ns)\n"
      "  -q, --quiet           no live status line and no notices, only errors\n"
      "  -v, --verbose         say what was set up (input, destination, SSRC, encoder,\n"
      "                        and whether the pacing loop and the capture thread run\n"
      "                        SCHED_FIFO)\n"
      "  -h, --help            this text\n"
      "  -V, --version         the version\n"
      "\n"
      "On a terminal, a live status line shows position, packets and bitrate (live\n"
      "input: its level, peak dBFS and a meter, and the overruns), and once the\n"
      "receiver reports, how the far end hears it (\"far end: MOS 4.3, 2 %% lost,\n"
      "62 ms\": its MOS, the loss it reported last, its own delay).\n"
      "SIGINT/SIGTERM stop the stream cleanly (a final stats line, exit 0).\n"
      "Exit status: 0 done (also: a pipe that closed), 1 run-time error (file, device,\n"
      "host, network), 2 usage error (also: a --key file that holds no valid key).\n",
      DL_CAPTURE_PERIOD_US / 1000.0, DL_MAX_DESTS, DL_DEFAULT_FRAME_US / 1000, DL_MIN_BITRATE, DL_MAX_BITRATE, DL_DEFAULT_BITRATE_MONO,
      DL_DEFAULT_BITRATE_STEREO, DL_DEFAULT_COMPLEXITY, DL_DEFAULT_EXPECT_LOSS, DL_DEFAULT_PT,
      DL_CAPTURE_BUFFER_MIN_MS, DL_CAPTURE_BUFFER_MAX_MS, DL_CAPTURE_BUFFER_MS,
      DL_MIN_STATS_INTERVAL_MS, DL_DEFAULT_STATS_INTERVAL_MS, DL_RTCP_MIN_INTERVAL_MS,
      DL_SAP_INTERVAL_MS / 1000, DL_SAP_ADDR, DL_SAP_PORT, DL_MIN_BITRATE, DL_DEFAULT_MIN_BITRATE);
}

enum {
  OPT_COMPLEXITY = 256, OPT_APPLICATION, OPT_FEC, OPT_NO_FEC, OPT_EXPECT_LOSS, OPT_DTX,
  OPT_PT, OPT_SSRC, OPT_LOOP, OPT_DURATION, OPT_SDP, OPT_SKEW, OPT_STATS,
  OPT_STATS_INTERVAL, OPT_TRACE, OPT_KEY, OPT_GEN_KEY, OPT_METRICS_FILE, OPT_METRICS_STREAM,
  OPT_RTCP_INTERVAL, OPT_RTCP_MUX, OPT_NO_RTCP, OPT_TTL, OPT_IFACE, OPT_ADAPT, OPT_NO_ADAPT, OPT_MIN_BITRATE,
  OPT_RAW, OPT_LIVE, OPT_CAPTURE_BUFFER, OPT_ANNOUNCE, OPT_SAP_ADDR
};

/* The sender words each expected value itself ("bit/s from 6000 to
 * 510000"), where usage_long would print the bare range. */
static long want_long(const char *flag, const char *v, long min, long max, const char *what)
{
  long out;
  if (args_long(v, min, max, &out) < 0)
    usage_error("%s: expected %s, got \"%s\"", flag, what, v);
  return out;
}

static double want_double(const char *flag, const char *v, double min, double max, const char *what)
{
  double out;
  if (args_double(v, min, max, &out) < 0)
    usage_error("%s: expected %s, got \"%s\"", flag, what, v);
  return out;
}

static const struct option longs[] = {
  {"frame-ms", required_argument, NULL, 'f'},
  {"bitrate", required_argument, NULL, 'b'},
  {"channels", required_argument, NULL, 'c'},
  {"complexity", required_argument, NULL, OPT_COMPLEXITY},
  {"application", required_argument, NULL, OPT_APPLICATION},
  {"fec", no_argument, NULL, OPT_FEC},
  {"no-fec", no_argument, NULL, OPT_NO_FEC},
  {"expect-loss", required_argument, NULL, OPT_EXPECT_LOSS},
  {"dtx", no_argument, NULL, OPT_DTX},
  {"pt", required_argument, NULL, OPT_PT},
  {"ssrc", required_argument, NULL, OPT_SSRC},
  {"loop", no_argument, NULL, OPT_LOOP},
  {"duration", required_argument, NULL, OPT_DURATION},
  {"sdp", required_argument, NULL, OPT_SDP},
  {"clock-skew-ppm", required_argument, NULL, OPT_SKEW},
  {"stats", required_argument, NULL, OPT_STATS},
  {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
  {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
  {"metrics-stream", required_argument, NULL, OPT_METRICS_STREAM},
  {"trace", required_argument, NULL, OPT_TRACE},
  {"key", required_argument, NULL, OPT_KEY},
  {"gen-key", required_argument, NULL, OPT_GEN_KEY},
  {"rtcp-interval", required_argument, NULL, OPT_RTCP_INTERVAL},
  {"rtcp-mux", no_argument, NULL, OPT_RTCP_MUX},
  {"ttl", required_argument, NULL, OPT_TTL},
  {"iface", required_argument, NULL, OPT_IFACE},
  {"no-rtcp", no_argument, NULL, OPT_NO_RTCP},
  {"adapt", no_argument, NULL, OPT_ADAPT},
  {"no-adapt", no_argument, NULL, OPT_NO_ADAPT},
  {"min-bitrate", required_argument, NULL, OPT_MIN_BITRATE},
  {"raw", required_argument, NULL, OPT_RAW},
  {"live", no_argument, NULL, OPT_LIVE},
  {"capture-buffer", required_argument, NULL, OPT_CAPTURE_BUFFER},
  {"announce", optional_argument, NULL, OPT_ANNOUNCE},
  {"sap-addr", required_argument, NULL, OPT_SAP_ADDR},
  {"quiet", no_argument, NULL, 'q'},
  {"verbose", no_argument, NULL, 'v'},
  {"help", no_argument, NULL, 'h'},
  {"version", no_argument, NULL, 'V'},
  {NULL, 0, NULL, 0},
};

/* One flag with a value (getopt's c and optarg). Returns 0, or -1 for a
 * flag it does not know. */
static int set_flag(struct opts *o, int c, char *arg)
{
  switch (c) {
  case 'f':
    if (args_frame_us(arg, &o->frame_us) < 0)
      usage_error("--frame-ms: expected 2.5, 5, 10, 20, 40 or 60, got \"%s\"", arg);
    break;
  case 'b':
    o->bitrate = (int)want_long("--bitrate", arg, DL_MIN_BITRATE, DL_MAX_BITRATE,
                                "bit/s from 6000 to 510000");
    break;
  case 'c':
    o->channels = (int)want_long("--channels", arg, 1, 2, "1 or 2");
    break;
  case OPT_COMPLEXITY:
    o->complexity = (int)want_long("--complexity", arg, 0, 10, "0..10");
    break;
  case OPT_APPLICATION:
    if (strcmp(arg, "voip") == 0)
      o->application = OPUS_APPLICATION_VOIP;
    else if (strcmp(arg, "audio") == 0)
      o->application = OPUS_APPLICATION_AUDIO;
    else if (strcmp(arg, "lowdelay") == 0)
      o->application = OPUS_APPLICATION_RESTRICTED_LOWDELAY;
    else
      usage_error("--application: expected voip, audio or lowdelay, got \"%s\"", arg);
    o->application_name = arg;
    break;
  case OPT_FEC: o->fec = 1; break;
  case OPT_NO_FEC: o->fec = 0; break;
  case OPT_EXPECT_LOSS:
    o->expect_loss = (int)want_long("--expect-loss", arg, 0, 100, "a percentage 0..100");
    break;
  case OPT_DTX: o->dtx = 1; break;
  case OPT_PT:
    o->pt = (int)want_long("--pt", arg, DL_MIN_DYNAMIC_PT, DL_MAX_DYNAMIC_PT,
                           "a dynamic payload type 96..127");
    break;
  case OPT_SSRC:
    o->ssrc = (uint32_t)want_long("--ssrc", arg, 0, 4294967295L, "0..4294967295");
    o->have_ssrc = 1;
    break;
  case OPT_LOOP: o->loop = 1; break;
  case OPT_DURATION:
    o->duration = want_double("--duration", arg, 0.001, 1e8, "seconds > 0");
    break;
  case OPT_SDP: o->sdp = arg; break;
  case OPT_SKEW:
    o->skew_ppm = want_double("--clock-skew-ppm", arg, -100000, 100000,
                              "parts per million, -100000..100000");
    break;
  case OPT_STATS: o->stats = arg; break;
  case OPT_METRICS_FILE: o->metrics = arg; break;
  case OPT_METRICS_STREAM: o->metrics_stream = arg; break;
  case OPT_STATS_INTERVAL:
    o->stats_interval_ms = (int)want_long("--stats-interval", arg, DL_MIN_STATS_INTERVAL_MS,
                                          3600000, "milliseconds, 10..3600000");
    break;
  case OPT_TRACE: o->trace = arg; break;
  case OPT_KEY: o->key = arg; break;
  case OPT_GEN_KEY: o->gen_key = arg; break;
  case OPT_RTCP_INTERVAL:
    o->rtcp_interval_ms = (int)want_long("--rtcp-interval", arg, 100, 3600000,
                                         "milliseconds, 100..3600000");
    break;
  case OPT_RTCP_MUX: o->rtcp_mux = 1; break;
  case OPT_TTL: o->ttl = (int)want_long("--ttl", arg, 1, 255, "hops, 1..255"); break;
  case OPT_IFACE: o->iface = arg; break;
  case OPT_NO_RTCP: o->no_rtcp = 1; break;
  case OPT_ADAPT: o->adapt = 1; break;
  case OPT_NO_ADAPT: o->adapt = 0; break;
  case OPT_MIN_BITRATE:
    o->min_bitrate = (int)want_long("--min-bitrate", arg, DL_MIN_BITRATE, DL_MAX_BITRATE,
                                    "bit/s from 6000 to 510000");
    break;
  case OPT_RAW: {
    char why[200];
    if (capture_parse_raw(arg, &o->raw, why, sizeof why) < 0)
      usage_error("%s", why);
    o->have_raw = 1;
    break;
  }
  case OPT_LIVE: o->live = 1; break;
  case OPT_CAPTURE_BUFFER:
    o->capture_buffer_ms = (int)want_long("--capture-buffer", arg, DL_CAPTURE_BUFFER_MIN_MS,
                                          DL_CAPTURE_BUFFER_MAX_MS, "milliseconds, 10..1000");
    break;
  case OPT_ANNOUNCE:
    if (arg == NULL) {
      char host[256] = "localhost";
      gethostname(host, sizeof host - 1);
      host[sizeof host - 1] = '\0';
      snprintf(o->announce_default, sizeof o->announce_default, "driftless on %s", host);
      arg = o->announce_default;
    }
    o->announce = arg;
    if (strlen(arg) == 0 || strlen(arg) > SDP_MAX_NAME)
      usage_error("--announce: expected a name of 1..%d characters, got \"%s\"", SDP_MAX_NAME, arg);
    for (const char *ch = arg; *ch != '\0'; ch++)
      if ((unsigned char)*ch < 0x20 || *ch == 0x7f)
        usage_error("--announce: the name may not hold control characters");
    break;
  case OPT_SAP_ADDR: o->sap_addr = arg; break;
  default:
    return -1;
  }
  return 0;
}

/* --sap-addr GROUP:PORT, numeric, a multicast group; or the default. */
static void parse_sap_addr(struct opts *o)
{
  const char *arg = o->sap_addr != NULL ? o->sap_addr : DL_SAP_ADDR ":" STR(DL_SAP_PORT);
  int r = args_group(arg, &o->sap);

  if (r == -EDOM)
    usage_error("--sap-addr: %s is not a multicast group", arg);
  if (r < 0)
    usage_error("--sap-addr: expected a numeric multicast GROUP:PORT, got \"%s\"", arg);
}

static void parse(int argc, char **argv, struct opts *o, struct dests *ds)
{
  int c;

  memset(o, 0, sizeof *o);
  o->frame_us = DL_DEFAULT_FRAME_US;
  o->complexity = DL_DEFAULT_COMPLEXITY;
  o->application = OPUS_APPLICATION_VOIP;
  o->application_name = "voip";
  o->fec = 1;
  o->expect_loss = DL_DEFAULT_EXPECT_LOSS;
  o->pt = DL_DEFAULT_PT;
  o->stats_interval_ms = DL_DEFAULT_STATS_INTERVAL_MS;
  o->rtcp_interval_ms = DL_RTCP_MIN_INTERVAL_MS;
  o->adapt = 1;

  usage_prog = PROG;   /* usage_hint stays "": the messages say "(see --help)" where it helps */
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":f:b:c:qvhV", longs, NULL)) != -1) {
    if (set_flag(o, c, optarg) == 0)
      continue;
    switch (c) {
    case 'q': o->quiet = 1; break;
    case 'v': o->verbose = 1; break;
    case 'h': help(); exit(0);
    case 'V': printf(PROG " (driftless) %s\n", DL_VERSION); exit(0);
    case ':':
      usage_error("%s needs a value (see --help)", argv[optind - 1]);
    default:
      if (optopt != 0)
        usage_error("unknown option '-%c' (see --help)", optopt);
      usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (o->gen_key != NULL) {
    if (argc - optind != 0 || o->key != NULL)
      usage_error("--gen-key FILE is used alone: it writes a key and exits");
    return;
  }
  if (argc - optind < 2)
    usage_error("expected INPUT and HOST:PORT, got %d argument%s (see --help)", argc - optind,
                argc - optind == 1 ? "" : "s");
  if (argc - optind - 1 > DL_MAX_DESTS)
    usage_error("%d destinations: at most %d", argc - optind - 1, DL_MAX_DESTS);
  o->input = argv[optind];
  o->dest = argv[optind + 1];
  o->n_dests = argc - optind - 1;
  if (o->metrics_stream == NULL)
    o->metrics_stream = o->dest;
  ds->n = o->n_dests;
  for (int i = 0; i < ds->n; i++) {
    struct dest *d = &ds->d[i];
    d->arg = argv[optind + 1 + i];
    d->rtcp_fd = -1;
    if (args_hostport(d->arg, 0, d->host, sizeof d->host, d->port, sizeof d->port) < 0 ||
        d->host[0] == '\0')
      usage_error("%s: expected HOST:PORT with a port 1..65535 (IPv6: [ADDR]:PORT)", d->arg);
    if (!o->rtcp_mux && !o->no_rtcp && strcmp(d->port, "65535") == 0)
      usage_error("port 65535: RTCP needs PORT+1 (give --rtcp-mux or --no-rtcp)");
  }
  if (o->sdp != NULL && ds->n > 1)
    usage_error("--sdp describes one destination; %d were given", ds->n);
  if (o->announce != NULL && ds->n > 1)
    usage_error("--announce describes one destination; %d were given", ds->n);
  if (o->sap_addr != NULL && o->announce == NULL)
    usage_error("--sap-addr is where --announce sends; give --announce too");
  if (o->announce != NULL)
    parse_sap_addr(o);
  if (o->quiet && o->verbose)
    usage_error("-q and -v contradict each other");
  if (o->no_rtcp && o->rtcp_mux)
    usage_error("--no-rtcp and --rtcp-mux contradict each other");
  if (o->min_bitrate != 0 && o->bitrate != 0 && o->min_bitrate > o->bitrate)
    usage_error("--min-bitrate %d is above --bitrate %d", o->min_bitrate, o->bitrate);
  int is_stdin = strcmp(o->input, "-") == 0, is_alsa = strncmp(o->input, "alsa:", 5) == 0;
  if (is_alsa && o->input[5] == '\0')
    usage_error("alsa: needs a device name (alsa:default, alsa:hw:1,0, ...)");
  if (o->have_raw && !is_stdin)
    usage_error("--raw describes standard input: INPUT must be -, not %s", o->input);
  if (o->live && !is_stdin)
    usage_error("--live is for INPUT - (alsa:DEVICE is always live; a file is paced)");
  if (o->capture_buffer_ms != 0 && !is_alsa)
    usage_error("--capture-buffer is for INPUT alsa:DEVICE");
  if (is_alsa)
    o->live = 1;
  if (o->capture_buffer_ms == 0)
    o->capture_buffer_ms = DL_CAPTURE_BUFFER_MS;
  if (o->live && o->loop)
    usage_error("--loop needs a file: live input has no start to go back to");
  if (o->live && o->skew_ppm != 0)
    usage_error("--clock-skew-ppm skews a file's schedule: live input runs on its own clock");
}

/* ---- statistics and status ---------------------------------------------- */

/* The stats keys that count since start: Prometheus counters (the rest
 * are gauges). */
static const char *const counters[] = {
  "sent", "bytes", "late", "send_errors", "dtx", "overruns", "adapt_events", "rtcp_invalid",
  "rtcp_sent", "rtcp_received", "rtcp_rejected", "auth_failed", "sap_sent", NULL,
};

static void write_stats(struct sender *s, int final)
{
  char buf[8192];   /* room for DL_MAX_DESTS entries of "dests" */
  struct json j;
  struct txpipe_stats ts;
  int64_t now = clock_mono_ns();
  double t = (double)(now - s->start_ns) / 1e9;
  double bitrate;

  if (s->stats_id < 0 && s->metrics_id < 0)
    return;
  txpipe_get_stats(s->tp, &ts);
  if (final) {
    bitrate = t > 0 ? (double)s->payload_bytes * 8 / t : 0;
  } else {
    double dt = (double)(now - s->last_stats_ns) / 1e9;
    bitrate = dt > 0 ? (double)(s->payload_bytes - s->last_payload_bytes) * 8 / dt : 0;
  }
  s->last_payload_bytes = s->payload_bytes;
  s->last_stats_ns = now;

  json_begin(&j, buf, sizeof buf);
  json_num(&j, "t", t, 3);
  json_u64(&j, "sent", s->sent);
  json_u64(&j, "bytes", s->bytes);
  json_num(&j, "bitrate", bitrate, 0);
  json_bool(&j, "fec", s->rtcp_on ? dests_fec(&s->dests) : s->o.fec);
  if (!s->rtcp_on) {
    json_null(&j, "loss_pct_reported");
    json_null(&j, "rtt_ms");
  }
  json_u64(&j, "late", s->pacer.late);
  json_u64(&j, "send_errors", dests_send_errors(&s->dests));
  json_u64(&j, "dtx", ts.dtx_frames);
  if (s->live != NULL) {
    struct live_stats ls;
    live_get_stats(s->live, &ls);
    double dt = (double)(now - s->last_cpu_at_ns) / 1e9;
    json_num(&j, "level_dbfs", capture_peak_take(&s->peak_stats), 1);
    json_u64(&j, "overruns", ls.overruns);
    json_num(&j, "capture_latency_ms", ls.latency_ms, 1);
    if (ls.cpu_ns >= 0 && dt > 0) {
      /* The final line: over the whole run. */
      int64_t from = final ? 0 : s->last_cpu_ns;
      double span = final ? (double)(now - s->start_ns) / 1e9 : dt;
      json_num(&j, "capture_cpu_pct", span > 0 ? (double)(ls.cpu_ns - from) / 1e9 / span * 100 : NAN, 2);
      s->last_cpu_ns = ls.cpu_ns;
    } else {
      json_null(&j, "capture_cpu_pct");
    }
    s->last_cpu_at_ns = now;
  } else {
    json_null(&j, "level_dbfs");
    json_u64(&j, "overruns", 0);
    json_null(&j, "capture_latency_ms");
    json_null(&j, "capture_cpu_pct");
  }
  if (s->rtcp_on || s->dests.n > 1)
    dests_json(&s->dests, &j);
  if (s->o.announce != NULL)
    json_u64(&j, "sap_sent", s->ann.sent);
  if (final)
    json_bool(&j, "final", 1);
  const char *line = json_end(&j);
  if (line == NULL)
    return;
  if (s->metrics_id >= 0)
    metrics_put(s->out, s->metrics_id, line, "sender", s->o.metrics_stream, counters, final);
  /* The final line waits for room: it must not be lost, and nothing is
   * paced any more. */
  if (s->stats_id >= 0)
    linew_put_line(s->out, s->stats_id, line, final);
}

static const char *late_text(const struct sender *s)
{
  static char buf[24];
  snprintf(buf, sizeof buf, "%" PRIu64, s->pacer.late);
  return buf;
}

static void status_line(struct sender *s, int last)
{
  char total[32], far[96] = "", level[64] = "";
  double pos = (double)(s->live != NULL ? s->live_frames : s->pacer.next) * s->frame_samples / DL_RATE;
  double secs = (double)(clock_mono_ns() - s->start_ns) / 1e9;

  if (!s->status_on)
    return;
  if (s->live != NULL) {
    struct live_stats ls;
    char meter[11];
    double db = capture_peak_take(&s->peak_status);
    live_get_stats(s->live, &ls);
    capture_meter(db, meter, 10);
    if (db <= CAPTURE_SILENCE_DBFS)
      snprintf(level, sizeof level, "  level  -inf dBFS [%s]  overruns %" PRIu64, meter, ls.overruns);
    else
      snprintf(level, sizeof level, "  level %5.1f dBFS [%s]  overruns %" PRIu64, db, meter, ls.overruns);
  }
  if (s->o.duration > 0)
    snprintf(total, sizeof total, "%.1f s", s->o.duration);
  else if (s->o.loop)
    snprintf(total, sizeof total, "loop");
  else if (s->live != NULL)
    snprintf(total, sizeof total, "live");
  else if (s->info.out_frames >= 0)
    snprintf(total, sizeof total, "%.1f s", (double)s->info.out_frames / DL_RATE);
  else
    snprintf(total, sizeof total, "?");
  if (s->rtcp_on)
    dests_status(&s->dests, far, sizeof far);
  linew_printf(s->out, s->err_id,
               "\r" PROG ": %.1f s / %s  packets %" PRIu64 "  %.1f kb/s%s%s%s\033[K%s",
               pos, total, s->sent, secs > 0 ? (double)s->payload_bytes * 8 / secs / 1000 : 0.0,
               s->live != NULL ? "" : "  late ", s->live != NULL ? level : late_text(s), far,
               last ? "\n" : "");
}

static void stats_cb(uv_timer_t *t)
{
  write_stats(t->data, 0);
}

static void status_cb(uv_timer_t *t)
{
  status_line(t->data, 0);
}

/* ---- the schedule ---------------------------------------------------------- */

static void finish(struct sender *s, int code)
{
  if (s->finished)
    return;
  s->finished = 1;
  s->exit_code = code;
  /* The receiver can tell "ended" from "lost" (RFC 3550 6.6). */
  if (s->rtcp_on)
    dests_bye(&s->dests, code == 0 ? "end of stream" : "sender error");
  announce_stop(&s->ann);
  live_stop(s->live);
  uv_stop(&s->loop);
}

static int protect_pending(struct sender *s, int len);

/* Encodes the packet after the one just sent. Returns 0, or 1 at the end. */
static int encode_next(struct sender *s)
{
  int rc;

  if (s->max_frames != 0 && s->pacer.next >= s->max_frames) {
    s->have_pending = 0;
    return 1;
  }
  /* RFC 6051: in the first second after the start or a marker, the
   * packet tells its wall-clock time (its deadline, on the SR's mapping),
   * so that a --sync receiver is in sync from its first packet, before
   * the first SR. The first packet is encoded before the schedule has its
   * start, which will be about the lead from now. */
  if (txpipe_ntp_due(s->tp, (uint32_t)DL_RATE / 1000 * DL_NTP_EXT_MS)) {
    int64_t now = clock_mono_ns();
    int64_t at = s->start_ns != 0 ? pacer_next_deadline(&s->pacer) : now + (int64_t)DL_SENDER_START_LEAD_US * 1000;
    txpipe_stamp_ntp(s->tp, rtcp_ntp_from_ns(clock_real_ns() + at - now));
  }
  rc = txpipe_pull(s->tp, s->in, s->o.loop, s->pending, DGRAM_CAP);
  if (rc == TXPIPE_END) {
    s->have_pending = 0;
    return 1;
  }
  if (rc < 0) {
    linew_printf(s->out, s->err_id, "%s" PROG ": %s: %s\n", s->status_on ? "\n" : "",
                 s->o.input, rc == -EIO ? "read or encode error" : strerror(-rc));
    s->have_pending = 0;
    finish(s, EXIT_RUNTIME);
    return 1;
  }
  if ((rc = protect_pending(s, rc)) < 0) {
    s->have_pending = 0;
    return 1;
  }
  s->pending_len = rc;
  s->have_pending = 1;
  return 0;
}

/* With --key, protects the datagram of len bytes in s->pending. Returns
 * its new length, or -1 after finishing the stream with an error. */
static int protect_pending(struct sender *s, int len)
{
  if (len > 0 && s->srtp != NULL) {
    size_t n = (size_t)len;
    int prc = dl_srtp_protect(s->srtp, s->pending, &n, sizeof s->pending);
    if (prc < 0) {
      linew_printf(s->out, s->err_id, "%s" PROG ": SRTP protect: %s\n", s->status_on ? "\n" : "",
                   dl_srtp_strerror(prc));
      finish(s, EXIT_RUNTIME);
      return -1;
    }
    len = (int)n;
  }
  return len;
}

/* at: CLOCK_MONOTONIC just before the datagram goes to the kernel. */
static void send_pending(struct sender *s, int64_t deadline, int64_t at)
{
  size_t payload = (size_t)(s->pending_len - RTP_HEADER_LEN - (s->srtp != NULL ? DL_SRTP_TAG_LEN : 0));

  /* Encoded and protected once, sent to each destination. */
  if (dests_send(&s->dests, s->pending, (size_t)s->pending_len, payload, s->out, s->err_id,
                 s->status_on ? "\n" : "", s->o.quiet, PROG) > 0) {
    s->sent++;
    s->bytes += (uint64_t)s->pending_len;
    s->payload_bytes += (uint64_t)payload;
  }
  if (s->trace_id >= 0) {
    const uint8_t *p = s->pending;
    unsigned seq = (unsigned)p[2] << 8 | p[3];
    uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    linew_printf(s->out, s->trace_id, "%u\t%" PRIu32 "\t%" PRId64 "\t%" PRId64 "\n", seq, ts,
                 deadline, at);
  }
}

static int arm(struct sender *s, int64_t deadline)
{
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = deadline / 1000000000;
  its.it_value.tv_nsec = deadline % 1000000000;
  return timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void tick_cb(uv_poll_t *h, int status, int events)
{
  struct sender *s = h->data;
  uint64_t expirations;
  (void)events;

  if (status < 0) {
    linew_printf(s->out, s->err_id, PROG ": timer: %s\n", uv_strerror(status));
    finish(s, EXIT_RUNTIME);
    return;
  }
  /* Clear the timerfd; EAGAIN just means it fired before we re-armed. */
  if (read(s->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) {
    linew_printf(s->out, s->err_id, PROG ": timer: %s\n", strerror(errno));
    finish(s, EXIT_RUNTIME);
    return;
  }
  /* Send every packet that is due (after a stall: all the overdue ones,
   * back to back, counted late by the pacer), encoding each next one
   * straight after its predecessor left. */
  while (s->have_pending && !s->finished) {
    int64_t deadline = pacer_next_deadline(&s->pacer), now = clock_mono_ns();
    if (now < deadline)
      break;
    if (s->pending_len > 0)
      send_pending(s, deadline, now);
    pacer_sent(&s->pacer, now);
    encode_next(s);
  }
  notify_watchdog();   /* a tick ran: the pacing loop is alive */
  if (s->finished)
    return;
  if (!s->have_pending) {
    finish(s, 0);
    return;
  }
  if (arm(s, pacer_next_deadline(&s->pacer)) < 0) {
    linew_printf(s->out, s->err_id, PROG ": timerfd_settime: %s\n", strerror(errno));
    finish(s, EXIT_RUNTIME);
  }
}

static void signal_cb(uv_signal_t *h, int signum)
{
  (void)signum;
  finish(h->data, 0);
}

/* ---- live input --------------------------------------------------------------- */

/* live.h: a frame, complete at at_ns: encoded and sent now. Whole frames
 * lost before it (an overrun) move the sequence number and timestamp on
 * first, as if their datagrams had been lost. */
static int live_frame_cb(void *arg, const int16_t *pcm, unsigned skip, int64_t at_ns)
{
  struct sender *s = arg;
  size_t samples = (size_t)s->frame_samples * (size_t)s->info.channels;
  int rc;

  if (s->finished)
    return 1;
  if (skip > 0) {
    txpipe_skip(s->tp, skip);
    s->live_frames += skip;
  }
  capture_peak_feed(&s->peak_status, pcm, samples);
  capture_peak_feed(&s->peak_stats, pcm, samples);
  rc = txpipe_encode(s->tp, pcm, s->pending, DGRAM_CAP);
  if (rc < 0) {
    linew_printf(s->out, s->err_id, "%s" PROG ": %s: %s\n", s->status_on ? "\n" : "", s->o.input,
                 rc == -EIO ? "encode error" : strerror(-rc));
    finish(s, EXIT_RUNTIME);
    return 1;
  }
  if ((rc = protect_pending(s, rc)) < 0)
    return 1;
  s->pending_len = rc;
  if (rc > 0)
    send_pending(s, at_ns, clock_mono_ns());
  s->live_frames++;
  s->live_last_ns = at_ns;
  notify_watchdog();   /* a frame went out: the loop is alive */
  if (s->max_frames != 0 && s->live_frames >= s->max_frames) {
    finish(s, 0);
    return 1;
  }
  return 0;
}

/* live.h: the pipe closed (a clean end) or the device failed. */
static void live_end_cb(void *arg, int err, const char *why)
{
  struct sender *s = arg;

  if (err < 0) {
    linew_printf(s->out, s->err_id, "%s" PROG ": %s: %s\n", s->status_on ? "\n" : "", s->o.input,
                 why != NULL ? why : strerror(-err));
    finish(s, EXIT_RUNTIME);
    return;
  }
  if (s->live_frames == 0 && s->exit_code == 0) {
    linew_printf(s->out, s->err_id, PROG ": %s: no audio to send (the input is empty)\n", s->o.input);
    finish(s, EXIT_RUNTIME);
    return;
  }
  finish(s, 0);
}

/* ---- setup ------------------------------------------------------------------ */

/* Each destination's host; a bad one is an exit status (dests.h). */
static int resolve(struct sender *s)
{
  int rc = dests_resolve(&s->dests, !s->o.no_rtcp && !s->o.rtcp_mux, PROG);

  if (rc != 0) {
    s->exit_code = rc;
    return -1;
  }
  return 0;
}

/* The stream's SDP into buf. name: s= (NULL: sdp_write's). announce:
 * for SAP, where the key is not given out (RTP/SAVP without a=crypto).
 * Returns its length or a negative errno. */
static int make_sdp(const struct sender *s, uint32_t ssrc, const char *name, int announce,
                    char *buf, size_t cap)
{
  char text[INET6_ADDRSTRLEN];
  struct sdp_params p;
  int n;

  const struct dest *d = &s->dests.d[0];   /* --sdp: one destination */

  if (getnameinfo((const struct sockaddr *)&d->addr, sizeof d->addr, text, sizeof text, NULL, 0,
                  NI_NUMERICHOST) != 0)
    return -EINVAL;
  /* Drop an IPv6 zone ("%eth0"): SDP has no place for it. */
  text[strcspn(text, "%")] = '\0';
  memset(&p, 0, sizeof p);
  p.addr = text;
  p.ipv6 = d->addr.ss_family == AF_INET6;
  p.port = addr_port((const struct sockaddr *)&d->addr);
  p.pt = s->o.pt;
  p.channels = s->info.channels;
  p.bitrate = s->o.bitrate;
  p.fec = s->o.fec;
  p.dtx = s->o.dtx;
  p.frame_us = s->o.frame_us;
  p.ssrc = ssrc;
  p.ntp_ext_id = DL_RTP_EXT_NTP_ID;   /* the first second's packets carry it */
  p.rtcp_mux = s->o.rtcp_mux;
  p.session_id = (uint64_t)time(NULL);
  p.session_name = name;
  if (s->srtp != NULL && announce) {
    p.savp = 1;
    n = sdp_write(&p, buf, cap);
  } else if (s->srtp != NULL) {
    char line[128];
    if (dl_srtp_sdp_crypto(s->key, line, sizeof line) < 0)
      return -EINVAL;
    p.crypto = line + strlen("a=crypto:");   /* sdp_write adds the attribute name */
    n = sdp_write(&p, buf, cap);
  } else {
    n = sdp_write(&p, buf, cap);
  }
  return n;
}

static int write_sdp(struct sender *s, uint32_t ssrc)
{
  char buf[2048];
  FILE *f;
  int n = make_sdp(s, ssrc, s->o.announce, 0, buf, sizeof buf);

  if (n < 0)
    return n;
  f = fopen(s->o.sdp, "w");
  if (f == NULL)
    return -errno;
  if (fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
    int e = errno;
    fclose(f);
    return -e;
  }
  return fclose(f) == 0 ? 0 : -errno;
}

static uint32_t random_u32(void)
{
  uint32_t v;
  if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
    /* Not secret, only unlikely to collide: time and pid will do. */
    v = (uint32_t)clock_mono_ns() ^ (uint32_t)getpid() * 2654435761u;
  }
  return v;
}

/* Adds path ("-": stderr) to s->out as a stream; returns its id, or -1
 * after saying why. */
static int open_out(struct sender *s, const char *path, const char *what)
{
  char name[300];
  FILE *f;
  int id;

  if (strcmp(path, "-") == 0)
    return s->err_id;
  f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, PROG ": %s %s: %s\n", what, path, strerror(errno));
    return -1;
  }
  snprintf(name, sizeof name, "%s %s", what, path);
  id = linew_add(s->out, f, name);
  if (id < 0) {
    fclose(f);
    fprintf(stderr, PROG ": %s %s: %s\n", what, path, strerror(-id));
    return -1;
  }
  return id;
}

/* The writer of every line once the loop runs: stderr, --stats, --trace. */
static int open_outputs(struct sender *s)
{
  int rc = linew_create(&s->out, PROG, DL_LINEW_QUEUE_BYTES);

  if (rc < 0) {
    fprintf(stderr, PROG ": output queue: %s\n", strerror(-rc));
    return rc;
  }
  s->err_id = linew_add(s->out, stderr, "stderr");
  if (s->o.stats != NULL && (s->stats_id = open_out(s, s->o.stats, "--stats")) < 0)
    return -1;
  char mname[300];
  snprintf(mname, sizeof mname, "--metrics-file %s", s->o.metrics != NULL ? s->o.metrics : "");
  if (s->o.metrics != NULL && (s->metrics_id = linew_add_replace(s->out, s->o.metrics, mname)) < 0) {
    fprintf(stderr, PROG ": --metrics-file %s: %s\n", s->o.metrics, strerror(-s->metrics_id));
    return -1;
  }
  if (s->o.trace != NULL) {
    if ((s->trace_id = open_out(s, s->o.trace, "--trace")) < 0)
      return -1;
    linew_printf(s->out, s->trace_id, "seq\tts\tscheduled_ns\tsend_ns\n");
  }
  if ((rc = linew_start(s->out)) < 0) {
    fprintf(stderr, PROG ": writer thread: %s\n", strerror(-rc));
    return rc;
  }
  return 0;
}

/* Live input (live.c): the device or the pipe, opened now so that a
 * device that does not open, is busy or has no usable format is said
 * before anything starts; its format fills s->info as a file's would.
 * Returns 0 or -1 after one line. */
static int open_live(struct sender *s)
{
  struct live_config c = {
    .input = s->o.input, .raw = s->o.have_raw ? &s->o.raw : NULL, .channels = s->o.channels,
    .frame_samples = (int)((int64_t)s->o.frame_us * DL_RATE / 1000000),
    .buffer_ms = s->o.capture_buffer_ms, .quality = DL_RESAMPLE_QUALITY,
  };
  char why[256];

  if (live_open(&s->live, &c, why, sizeof why) < 0) {
    fprintf(stderr, PROG ": %s: %s\n", s->o.input, why);
    return -1;
  }
  live_get_info(s->live, &s->linfo);
  memset(&s->info, 0, sizeof s->info);
  s->info.in_rate = s->linfo.rate;
  s->info.in_channels = s->linfo.in_channels;
  s->info.channels = s->linfo.channels;
  s->info.downmixed = s->linfo.in_channels > DL_MAX_CHANNELS && s->linfo.channels == 2;
  s->info.resampled = s->linfo.rate != DL_RATE;
  s->info.in_frames = s->info.out_frames = -1;
  snprintf(s->info.format, sizeof s->info.format, "%s", s->linfo.format);
  return 0;
}

/* The input (a file, a pipe, or live: open_live), and the bitrate that
 * follows from its channels. Returns 0 or -1 after one line. */
static int open_input(struct sender *s)
{
  char why[256];
  int rc;

  if (s->o.live)
    rc = open_live(s) < 0 ? -1 : 0;
  else if (s->o.have_raw)
    rc = audio_in_open_raw(&s->in, s->o.input, &s->o.raw, s->o.channels, DL_RESAMPLE_QUALITY, why,
                           sizeof why);
  else
    rc = audio_in_open(&s->in, s->o.input, s->o.channels, DL_RESAMPLE_QUALITY, why, sizeof why);
  if (s->o.live) {
    if (rc < 0)
      return -1;
  } else if (rc == 0) {
    audio_in_get_info(s->in, &s->info);
  }
  if (rc < 0) {
    fprintf(stderr, PROG ": %s: %s\n", s->o.input, why);
    return -1;
  }
  if (s->info.downmixed && !s->o.quiet)
    fprintf(stderr, PROG ": %s: %d channels, downmixed to stereo\n", s->o.input, s->info.in_channels);
  if (s->o.bitrate == 0)
    s->o.bitrate = s->info.channels == 2 ? DL_DEFAULT_BITRATE_STEREO : DL_DEFAULT_BITRATE_MONO;
  return 0;
}

/* The encoder and packetizer (common/tx/txpipe), and with --key the SRTP
 * session. Returns 0 or -1 after one line. */
static int make_pipeline(struct sender *s, struct txpipe_config *tc)
{
  int rc, oerr;

  s->frame_samples = (int)((int64_t)s->o.frame_us * DL_RATE / 1000000);
  if (s->o.duration > 0) {
    double f = ceil(s->o.duration * DL_RATE / s->frame_samples - 1e-9);
    s->max_frames = f < 1 ? 1 : (uint64_t)f;
  }
  memset(tc, 0, sizeof *tc);
  tc->channels = s->info.channels;
  tc->frame_samples = s->frame_samples;
  tc->bitrate = s->o.bitrate;
  tc->complexity = s->o.complexity;
  tc->application = s->o.application;
  tc->fec = s->o.fec;
  tc->loss_perc = s->o.expect_loss;
  tc->dtx = s->o.dtx;
  tc->pt = s->o.pt;
  tc->ssrc = s->o.have_ssrc ? s->o.ssrc : random_u32();
  s->ssrc = tc->ssrc;
  /* RFC 3550: random initial sequence number and timestamp. */
  tc->seq0 = (uint16_t)random_u32();
  tc->ts0 = random_u32();
  rc = txpipe_create(&s->tp, tc, &oerr);
  if (rc < 0) {
    fprintf(stderr, PROG ": Opus encoder: %s\n", oerr != OPUS_OK ? opus_strerror(oerr) : strerror(-rc));
    return -1;
  }
  if (s->o.key != NULL && ((rc = dl_srtp_create(&s->srtp, s->key, DL_SRTP_SEND)) < 0 ||
                           (!s->o.no_rtcp && (rc = dl_srtp_create(&s->srtcp_in, s->key, DL_SRTP_RECV)) < 0))) {
    fprintf(stderr, PROG ": SRTP: %s\n", dl_srtp_strerror(rc));
    return -1;
  }
  return 0;
}

/* -v: what was set up. */
static void say_setup(const struct sender *s, const struct txpipe_config *tc)
{
  if (s->live != NULL)
    fprintf(stderr, PROG ": input %s: live, %s, %d Hz, %d channel%s%s\n", s->o.input,
            s->info.format, s->info.in_rate, s->info.in_channels, s->info.in_channels == 1 ? "" : "s",
            s->info.resampled ? " (resampled to 48 kHz)" : "");
  else
    fprintf(stderr, PROG ": input %s: %s, %d Hz, %d channel%s%s, %.3f s\n", s->o.input,
            s->info.format, s->info.in_rate, s->info.in_channels, s->info.in_channels == 1 ? "" : "s",
            s->info.resampled ? " (resampled to 48 kHz)" : "",
            s->info.out_frames >= 0 ? (double)s->info.out_frames / DL_RATE : -1.0);
  char to[DL_MAX_DESTS * (ADDR_TEXT_MAX + 2)] = "";
  for (int i = 0; i < s->dests.n; i++)
    snprintf(to + strlen(to), sizeof to - strlen(to), "%s%s", i > 0 ? ", " : "", s->dests.d[i].addr_text);
  fprintf(stderr, PROG ": to %s, SSRC %" PRIu32 ", pt %d, seq %u, ts %" PRIu32 ", %s\n",
          to, tc->ssrc, tc->pt, tc->seq0, tc->ts0,
          s->srtp != NULL ? "SRTP " DL_SRTP_SUITE : "plain RTP");
  fprintf(stderr, PROG ": Opus %s, %d ch, %g ms frames, %d bit/s, complexity %d, FEC %s"
          " (expect %d%% loss), DTX %s, skew %g ppm\n", s->o.application_name, tc->channels,
          s->o.frame_us / 1000.0, tc->bitrate, tc->complexity, tc->fec ? "on" : "off",
          tc->loss_perc, tc->dtx ? "on" : "off", s->o.skew_ppm);
}

/* The loop and its handles: the socket, the schedule's timerfd, the stats
 * and status timers, the signals. Returns 0 or -1 after one line. */
static int make_loop(struct sender *s)
{
  struct dests_net net = {.no_rtcp = s->o.no_rtcp, .rtcp_mux = s->o.rtcp_mux, .ttl = s->o.ttl,
                          .iface = s->o.iface};
  int rc;

  if ((rc = uv_loop_init(&s->loop)) < 0) {
    fprintf(stderr, PROG ": libuv: %s\n", uv_strerror(rc));
    return -1;
  }
  s->loop_ok = 1;
  if (s->o.ttl != 0 || s->o.iface != NULL) {
    if (!dests_any_group(&s->dests) && s->o.announce == NULL) {
      fprintf(stderr, PROG ": --ttl and --iface need a multicast group, not %s\n", s->dests.d[0].addr_text);
      return -1;
    }
  }
  if (dests_open(&s->dests, &s->loop, &net, PROG) < 0)
    return -1;
  s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (s->tfd < 0) {
    fprintf(stderr, PROG ": timerfd_create: %s\n", strerror(errno));
    return -1;
  }
  if ((rc = uv_poll_init(&s->loop, &s->poll, s->tfd)) < 0) {
    fprintf(stderr, PROG ": uv_poll_init: %s\n", uv_strerror(rc));
    return -1;
  }
  s->poll.data = s;
  uv_timer_init(&s->loop, &s->stats_timer);
  uv_timer_init(&s->loop, &s->status_timer);
  s->stats_timer.data = s->status_timer.data = s;
  uv_signal_init(&s->loop, &s->sigint);
  uv_signal_init(&s->loop, &s->sigterm);
  s->sigint.data = s->sigterm.data = s;
  uv_signal_start(&s->sigint, signal_cb, SIGINT);
  uv_signal_start(&s->sigterm, signal_cb, SIGTERM);
  return 0;
}

/* rtcp.c: what has been sent, now. The stream's RTP time now is the next
 * frame's timestamp moved back by the time to its deadline (at the
 * schedule's rate, skew included): the pending frame, already encoded,
 * has that deadline. */
static void rtcp_now_cb(void *arg, struct rtcp_tx_now *n)
{
  struct sender *s = arg;
  int64_t now = clock_mono_ns();
  uint32_t next_ts = txpipe_next_ts(s->tp) - (s->have_pending ? (uint32_t)s->frame_samples : 0);
  double ahead = (double)(pacer_next_deadline(&s->pacer) - now) * DL_RATE * (1 + s->o.skew_ppm * 1e-6) / 1e9;
  double pps = 1e6 / s->o.frame_us;

  n->mono_ns = now;
  n->realtime_ns = clock_real_ns();
  n->rtp_ts = next_ts - (uint32_t)(int32_t)llround(ahead);
  if (s->live != NULL) {
    /* Live: the next frame begins where the last one handed over ended,
     * and the stream's time has run on since, at the RTP clock. */
    int64_t since = s->live_last_ns != 0 ? now - s->live_last_ns : 0;
    n->rtp_ts = txpipe_next_ts(s->tp) + (uint32_t)(since * DL_RATE / 1000000000);
  }
  n->packets = (uint32_t)s->sent;
  n->octets = (uint32_t)s->payload_bytes;
  n->session_bw = s->o.bitrate / 8.0 + pps * (RTP_HEADER_LEN + DL_RTCP_IP_UDP_OVERHEAD);
}

/* RTCP: its socket (or the RTP one, muxed), the session and the
 * adaptation. Returns 0 or -1 after one line. */
static int start_rtcp(struct sender *s)
{
  struct txrtcp_config c;
  uint64_t rnd;
  int rc;

  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    rnd = (uint64_t)clock_mono_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
  memset(&c, 0, sizeof c);
  c.mux = s->o.rtcp_mux;
  c.interval_ms = s->o.rtcp_interval_ms;
  c.iface = s->o.iface;
  c.adapt = s->o.adapt;
  c.ac.fec = s->o.fec;
  c.ac.loss_perc = s->o.expect_loss;
  c.ac.bitrate = s->o.bitrate;
  c.ac.min_bitrate = s->o.min_bitrate != 0 ? s->o.min_bitrate : DL_DEFAULT_MIN_BITRATE;
  if (c.ac.min_bitrate > c.ac.bitrate)
    c.ac.min_bitrate = c.ac.bitrate;
  c.verbose = s->o.verbose;
  c.ssrc = s->ssrc;
  c.rand = rnd;
  c.srtp_out = s->srtp;
  c.srtp_in = s->srtcp_in;
  c.tp = s->tp;
  c.out = s->out;
  c.err_id = s->err_id;
  c.now_cb = rtcp_now_cb;
  c.now_arg = s;
  rc = dests_start_rtcp(&s->dests, &s->loop, &c);
  if (rc < 0) {
    fprintf(stderr, PROG ": RTCP socket: %s\n", uv_strerror(rc));
    return -1;
  }
  s->rtcp_on = 1;
  for (int i = 0; s->o.verbose && i < s->dests.n; i++) {
    struct dest *d = &s->dests.d[i];
    struct sockaddr_storage local;
    int len = sizeof local;
    int port = uv_udp_getsockname(&d->udp, (struct sockaddr *)&local, &len) == 0
                   ? addr_port((const struct sockaddr *)&local) : -1;
    fprintf(stderr, PROG ": RTP from port %d, RTCP from port %d to port %d%s%s, CNAME %s, adaptation %s\n",
            port, s->o.rtcp_mux ? port : port + 1, addr_port((const struct sockaddr *)&d->rtcp.to),
            s->o.rtcp_mux ? " (muxed)" : "", d->label, d->rtcp.cname,
            !s->o.adapt ? "off" : s->dests.n > 1 ? "on (the encoder follows the worst destination)" : "on");
  }
  return 0;
}

/* --announce: the stream's SDP by SAP, from now until finish(). Returns 0
 * or -1 after one line. */
static int start_announce(struct sender *s)
{
  char sdp[SAP_MAX_BUILD];
  int n = make_sdp(s, s->ssrc, s->o.announce, 1, sdp, sizeof sdp);

  if (n < 0) {
    fprintf(stderr, PROG ": --announce: the SDP: %s\n", strerror(-n));
    return -1;
  }
  if (announce_start(&s->ann, &s->loop, (const struct sockaddr *)&s->o.sap, sdp, (size_t)n, s->o.ttl,
                     s->o.iface, (uint64_t)random_u32() << 32 | random_u32(), s->out, s->err_id, PROG) < 0)
    return -1;
  if (s->o.verbose) {
    char to[ADDR_TEXT_MAX];
    fprintf(stderr, PROG ": announcing \"%s\" by SAP to %s every %d s (hash %04x)\n", s->o.announce,
            addr_text((const struct sockaddr *)&s->o.sap, to, sizeof to), DL_SAP_INTERVAL_MS / 1000,
            s->ann.msg.hash);
  }
  return 0;
}

/* The first packet is encoded before t0, like every later one before its
 * deadline; then the schedule starts. Returns 0 or -1 after one line. */
static int start_live(struct sender *s);
static void start_reports(struct sender *s);

static int start(struct sender *s)
{
  if (s->live != NULL)
    return start_live(s);
  if (pacer_init(&s->pacer, 0, (int64_t)s->o.frame_us * 1000, s->o.skew_ppm) < 0) {
    fprintf(stderr, PROG ": --clock-skew-ppm: out of range\n");
    return -1;
  }
  s->exit_code = 0;
  if (encode_next(s) != 0) {
    if (s->exit_code == 0)
      fprintf(stderr, PROG ": %s: no audio to send (the file is empty)\n", s->o.input);
    s->exit_code = EXIT_RUNTIME;
    return -1;
  }
  s->start_ns = clock_mono_ns() + (int64_t)DL_SENDER_START_LEAD_US * 1000;
  s->last_stats_ns = s->start_ns;
  pacer_init(&s->pacer, s->start_ns, (int64_t)s->o.frame_us * 1000, s->o.skew_ppm);
  if (arm(s, s->start_ns) < 0) {
    fprintf(stderr, PROG ": timerfd_settime: %s\n", strerror(errno));
    s->exit_code = EXIT_RUNTIME;
    return -1;
  }
  if (!s->o.no_rtcp && start_rtcp(s) < 0)
    return -1;
  if (s->o.announce != NULL && start_announce(s) < 0)
    return -1;
  uv_poll_start(&s->poll, UV_READABLE, tick_cb);
  start_reports(s);
  return 0;
}

/* The stats and status timers, for either kind of input. */
static void start_reports(struct sender *s)
{
  if (s->stats_id >= 0 || s->metrics_id >= 0)
    uv_timer_start(&s->stats_timer, stats_cb, (uint64_t)s->o.stats_interval_ms,
                   (uint64_t)s->o.stats_interval_ms);
  /* The live line and JSON lines on the same terminal would garble each
   * other: --stats - wins. */
  s->status_on = !s->o.quiet && isatty(STDERR_FILENO) &&
                 (s->o.stats == NULL || strcmp(s->o.stats, "-") != 0);
  if (s->status_on)
    uv_timer_start(&s->status_timer, status_cb, DL_STATUS_INTERVAL_MS, DL_STATUS_INTERVAL_MS);
}

/* Live input: no schedule; each frame goes out from live_frame_cb as
 * soon as it is captured. Returns 0 or -1 after one line. */
static int start_live(struct sender *s)
{
  char why[256];

  s->exit_code = 0;
  s->start_ns = clock_mono_ns();
  s->last_stats_ns = s->last_cpu_at_ns = s->start_ns;
  if (!s->o.no_rtcp && start_rtcp(s) < 0)
    return -1;
  if (live_start(s->live, &s->loop, live_frame_cb, live_end_cb, s, why, sizeof why) < 0) {
    fprintf(stderr, PROG ": %s: %s\n", s->o.input, why);
    s->exit_code = EXIT_RUNTIME;
    return -1;
  }
  start_reports(s);
  return 0;
}

/* The pacing loop runs SCHED_FIFO where permitted (root or
 * CAP_SYS_NICE/rtprio), as the receiver's playback thread does, so that a
 * busy machine does not delay packets; the writer thread, started before,
 * keeps the normal policy. Best effort: -v says which. Then it runs. */
static void run(struct sender *s)
{
  struct sched_param sp = {.sched_priority = DL_SENDER_RT_PRIORITY};
  int prc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  int rc;

  if (s->o.verbose)
    fprintf(stderr, PROG ": pacing loop %s\n",
            prc == 0 ? "at SCHED_FIFO priority " STR(DL_SENDER_RT_PRIORITY)
                     : "with normal scheduling (SCHED_FIFO refused)");
  notify_ready();   /* a service manager's READY=1: the pacing loop runs */
  uv_run(&s->loop, UV_RUN_DEFAULT);
  live_stop(s->live);
  status_line(s, 1);
  /* Everything queued goes out before the final stats line, which goes
   * out before the files are closed and the verbose summary. */
  write_stats(s, 1);
  rc = linew_destroy(s->out);
  s->out = NULL;
  if (rc < 0 && s->exit_code == 0)
    s->exit_code = EXIT_RUNTIME;
  if (s->o.verbose && s->live != NULL) {
    struct live_stats ls;
    live_get_stats(s->live, &ls);
    fprintf(stderr, PROG ": sent %" PRIu64 " packets, %" PRIu64 " overruns%s\n", s->sent, ls.overruns,
            ls.rt < 0 ? "" : ls.rt ? ", capture thread at SCHED_FIFO priority " STR(DL_CAPTURE_RT_PRIORITY)
                                   : ", capture thread with normal scheduling (SCHED_FIFO refused)");
  } else if (s->o.verbose) {
    fprintf(stderr, PROG ": sent %" PRIu64 " packets, %" PRIu64 " late, max lateness %.3f ms\n",
            s->sent, s->pacer.late, s->pacer.sent > 0 ? (double)s->pacer.max_late_ns / 1e6 : 0.0);
  }
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Whatever was set up, however far that got. Returns the exit status. */
static int teardown(struct sender *s)
{
  /* The capture thread wakes the loop: it stops before the handles close. */
  live_stop(s->live);
  if (s->loop_ok) {
    uv_walk(&s->loop, close_walk_cb, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
  }
  if (s->tfd >= 0)
    close(s->tfd);
  /* Error paths: what was queued (a message, say) is still written. */
  if (linew_destroy(s->out) < 0 && s->exit_code == 0)
    s->exit_code = EXIT_RUNTIME;
  txpipe_destroy(s->tp);
  audio_in_close(s->in);
  live_destroy(s->live);
  dl_srtp_destroy(s->srtp);
  dl_srtp_destroy(s->srtcp_in);
  dests_close(&s->dests);
  memset(s->key, 0, sizeof s->key);
  return s->exit_code;
}

int main(int argc, char **argv)
{
  static struct sender s;   /* large buffers: not on the stack */
  struct txpipe_config tc;
  int rc;

  parse(argc, argv, &s.o, &s.dests);
  if (s.o.gen_key != NULL)
    return keyfile_generate(PROG, s.o.gen_key);
  if (s.o.key != NULL && (rc = keyfile_read(PROG, s.o.key, s.key)) != 0)
    return rc;
  s.tfd = -1;
  s.err_id = s.stats_id = s.trace_id = s.metrics_id = -1;
  s.exit_code = EXIT_RUNTIME;
  signal(SIGPIPE, SIG_IGN);
  /* The kernel may fire a normal task's timers up to 50 us late to batch
   * wake-ups; 1 us is enough batching for a 2.5 ms schedule. */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);

  if (open_input(&s) < 0 || resolve(&s) < 0 || make_pipeline(&s, &tc) < 0)
    goto out;
  if (s.o.verbose)
    say_setup(&s, &tc);
  if (s.o.sdp != NULL && (rc = write_sdp(&s, tc.ssrc)) < 0) {
    fprintf(stderr, PROG ": --sdp %s: %s\n", s.o.sdp, strerror(-rc));
    goto out;
  }
  if (open_outputs(&s) < 0 || make_loop(&s) < 0 || start(&s) < 0)
    goto out;
  run(&s);
out:
  return teardown(&s);
}
