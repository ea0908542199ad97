/* encdec: the clean-path decode of a file. Encodes it with Opus frame by
 * frame as the sender does by default, decodes every packet in order with
 * nothing lost, and writes what a perfect receiver would play. Comparing a
 * receiver's output with this file (tests/tools/wavcmp) counts only the
 * damage done after the encoder: the network, the playout queue and the
 * sink, not Opus itself.
 *
 * The output starts with the encoder's look-ahead (312 samples at 48 kHz,
 * as on the wire) and is a whole number of frames long (the last frame is
 * padded with zeros, as the sender pads it). With --conceal PCT a seeded
 * share of the packets is not decoded but concealed (Opus PLC), as a
 * receiver does when a packet and its FEC are both missing: a damaged
 * decode whose timeline is intact, for judging the judge. A test tool: it
 * exits on error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opus.h>
#include <sndfile.h>

#include "defaults.h"
#include "util/args.h"

#define PROG "encdec"

static void usage(FILE *f) {
  fprintf(f,
    "usage: " PROG " [OPTIONS] IN OUT.wav\n"
    "\n"
    "Opus-encodes IN (any file libsndfile reads, 48000 Hz: resample with sox\n"
    "first) with the sender's default settings, decodes every packet in\n"
    "order, and writes the decoded 16-bit 48 kHz audio to OUT.wav: the\n"
    "clean-path reference for a receiver's output.\n"
    "\n"
    "  -f, --frame-ms MS         2.5, 5, 10, 20, 40 or 60 (%g)\n"
    "  -b, --bitrate BPS         %d..%d (%d mono, %d stereo)\n"
    "  -c, --channels 1|2        encode this many channels (IN's, at most 2;\n"
    "                            more are mixed down to mono)\n"
    "      --complexity 0..10    (%d)\n"
    "      --application voip|audio|lowdelay   (voip)\n"
    "      --fec | --no-fec      Opus in-band FEC (on)\n"
    "      --loss-perc PCT       OPUS_SET_PACKET_LOSS_PERC, 0..100 (%d);\n"
    "      --expect-loss PCT     the same, under the sender's name\n"
    "      --dtx                 discontinuous transmission (off)\n"
    "      --conceal PCT         conceal PCT %% of the packets (Opus PLC) instead\n"
    "                            of decoding them, chosen by --seed (0)\n"
    "      --seed N              the choice of concealed packets (1)\n"
    "  -v, --verbose             print frames and bytes to stderr\n"
    "  -h, --help                this text\n"
    "Exit: 0; 1 on an encoder, decoder or write error; 2 on usage or input errors.\n",
    DL_DEFAULT_FRAME_US / 1000.0, DL_MIN_BITRATE, DL_MAX_BITRATE, DL_DEFAULT_BITRATE_MONO,
    DL_DEFAULT_BITRATE_STEREO, DL_DEFAULT_COMPLEXITY, DL_DEFAULT_EXPECT_LOSS);
}

static void die(int code, const char *what, const char *why) {
  fprintf(stderr, PROG ": %s: %s\n", what, why);
  exit(code);
}

static long parse_long(const char *flag, const char *s, long lo, long hi) {
  long v;
  if (args_long(s, lo, hi, &v) != 0) {
    fprintf(stderr, PROG ": %s: expected %ld..%ld, got \"%s\"\n", flag, lo, hi, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  int frame_us = DL_DEFAULT_FRAME_US, channels = 0, complexity = DL_DEFAULT_COMPLEXITY;
  int fec = 1, loss = DL_DEFAULT_EXPECT_LOSS, dtx = 0, verbose = 0;
  long bitrate = 0;
  int application = OPUS_APPLICATION_VOIP;
  long conceal = 0, seed = 1;
  enum { O_COMPLEXITY = 256, O_APP, O_FEC, O_NOFEC, O_LOSS, O_DTX, O_CONCEAL, O_SEED };
  static const struct option longopts[] = {
    {"frame-ms", required_argument, NULL, 'f'},
    {"bitrate", required_argument, NULL, 'b'},
    {"channels", required_argument, NULL, 'c'},
    {"complexity", required_argument, NULL, O_COMPLEXITY},
    {"application", required_argument, NULL, O_APP},
    {"fec", no_argument, NULL, O_FEC},
    {"no-fec", no_argument, NULL, O_NOFEC},
    {"loss-perc", required_argument, NULL, O_LOSS},
    {"expect-loss", required_argument, NULL, O_LOSS},
    {"dtx", no_argument, NULL, O_DTX},
    {"conceal", required_argument, NULL, O_CONCEAL},
    {"seed", required_argument, NULL, O_SEED},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "f:b:c:vh", longopts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (args_frame_us(optarg, &frame_us) != 0) {
        fprintf(stderr, PROG ": --frame-ms: expected 2.5, 5, 10, 20, 40 or 60, got \"%s\"\n",
                optarg);
        return 2;
      }
      break;
    case 'b': bitrate = parse_long("--bitrate", optarg, DL_MIN_BITRATE, DL_MAX_BITRATE); break;
    case 'c': channels = (int)parse_long("--channels", optarg, 1, 2); break;
    case O_COMPLEXITY: complexity = (int)parse_long("--complexity", optarg, 0, 10); break;
    case O_APP:
      if (!strcmp(optarg, "voip")) application = OPUS_APPLICATION_VOIP;
      else if (!strcmp(optarg, "audio")) application = OPUS_APPLICATION_AUDIO;
      else if (!strcmp(optarg, "lowdelay")) application = OPUS_APPLICATION_RESTRICTED_LOWDELAY;
      else {
        fprintf(stderr, PROG ": --application: expected voip, audio or lowdelay, got \"%s\"\n",
                optarg);
        return 2;
      }
      break;
    case O_FEC: fec = 1; break;
    case O_NOFEC: fec = 0; break;
    case O_LOSS: loss = (int)parse_long("--loss-perc", optarg, 0, 100); break;
    case O_DTX: dtx = 1; break;
    case O_CONCEAL: conceal = parse_long("--conceal", optarg, 0, 100); break;
    case O_SEED: seed = parse_long("--seed", optarg, 0, 2147483647); break;
    case 'v': verbose = 1; break;
    case 'h': usage(stdout); return 0;
    default: fprintf(stderr, PROG ": try --help\n"); return 2;
    }
  }
  if (argc - optind != 2) {
    fprintf(stderr, PROG ": expected IN and OUT.wav, got %d argument(s); try --help\n",
            argc - optind);
    return 2;
  }
  const char *in_path = argv[optind], *out_path = argv[optind + 1];

  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *in = sf_open(in_path, SFM_READ, &info);
  if (!in) die(2, in_path, sf_strerror(NULL));
  if (info.samplerate != DL_RATE) {
    char why[128];
    snprintf(why, sizeof why, "sample rate %d Hz, expected %d (resample it first)",
             info.samplerate, DL_RATE);
    die(2, in_path, why);
  }
  int in_ch = info.channels;
  if (in_ch < 1) die(2, in_path, "no audio channels");
  if (channels == 0) channels = in_ch <= 2 ? in_ch : 1;
  if (bitrate == 0) bitrate = channels == 1 ? DL_DEFAULT_BITRATE_MONO : DL_DEFAULT_BITRATE_STEREO;

  int err;
  OpusEncoder *enc = opus_encoder_create(DL_RATE, channels, application, &err);
  if (!enc) die(1, "opus_encoder_create", opus_strerror(err));
  OpusDecoder *dec = opus_decoder_create(DL_RATE, channels, &err);
  if (!dec) die(1, "opus_decoder_create", opus_strerror(err));
  if ((err = opus_encoder_ctl(enc, OPUS_SET_BITRATE((opus_int32)bitrate))) != OPUS_OK ||
      (err = opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(complexity))) != OPUS_OK ||
      (err = opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(fec))) != OPUS_OK ||
      (err = opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(loss))) != OPUS_OK ||
      (err = opus_encoder_ctl(enc, OPUS_SET_DTX(dtx))) != OPUS_OK)
    die(1, "opus_encoder_ctl", opus_strerror(err));

  SF_INFO oinfo;
  memset(&oinfo, 0, sizeof oinfo);
  oinfo.samplerate = DL_RATE;
  oinfo.channels = channels;
  oinfo.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE *out = sf_open(out_path, SFM_WRITE, &oinfo);
  if (!out) die(1, out_path, sf_strerror(NULL));

  int frame = (int)((long)frame_us * DL_RATE / 1000000);
  /* int16 in and opus_encode, as the sender's txpipe: the same samples
   * give the same packets. */
  short *raw = malloc((size_t)frame * (size_t)in_ch * sizeof *raw);
  opus_int16 *pcm = malloc((size_t)frame * (size_t)channels * sizeof *pcm);
  opus_int16 *dpcm = malloc((size_t)DL_MAX_PACKET_SAMPLES * (size_t)channels * sizeof *dpcm);
  unsigned char pkt[DL_MAX_PAYLOAD];
  if (!raw || !pcm || !dpcm) die(1, "memory", strerror(ENOMEM));

  long frames = 0, bytes = 0, concealed = 0;
  unsigned long rng = (unsigned long)seed * 2654435761u + 1;
  for (;;) {
    sf_count_t got = sf_readf_short(in, raw, frame);
    if (got <= 0) break;
    /* Channel mapping: as is, stereo to mono by the mean, mono to both. */
    for (int i = 0; i < frame; i++) {
      for (int ch = 0; ch < channels; ch++) {
        int v = 0;
        if (i < got) {
          if (in_ch == channels) {
            v = raw[i * in_ch + ch];
          } else if (channels == 1) {
            for (int k = 0; k < in_ch; k++) v += raw[i * in_ch + k];
            v /= in_ch;
          } else {
            v = raw[i * in_ch + (ch < in_ch ? ch : 0)];
          }
        }
        pcm[i * channels + ch] = (opus_int16)v;
      }
    }
    int n = opus_encode(enc, pcm, frame, pkt, (opus_int32)sizeof pkt);
    if (n < 0) die(1, "opus_encode", opus_strerror(n));
    /* A 31-bit LCG (glibc's constants): the same seed, the same packets. */
    rng = (rng * 1103515245u + 12345u) & 0x7fffffffu;
    int lose = conceal > 0 && (long)(rng % 100) < conceal;
    concealed += lose;
    int d = lose ? opus_decode(dec, NULL, 0, dpcm, frame, 0)
                 : opus_decode(dec, pkt, n, dpcm, DL_MAX_PACKET_SAMPLES, 0);
    if (d < 0) die(1, "opus_decode", opus_strerror(d));
    if (sf_writef_short(out, dpcm, d) != d) die(1, out_path, sf_strerror(out));
    frames++;
    bytes += n;
    if (got < frame) break;
  }
  if (verbose)
    fprintf(stderr, PROG ": %ld frames of %g ms, %ld concealed, %ld bytes, %.0f bit/s\n", frames,
            frame_us / 1000.0, concealed, bytes,
            frames ? bytes * 8.0 / (frames * (frame_us / 1e6)) : 0.0);
  free(raw);
  free(pcm);
  free(dpcm);
  sf_close(in);
  if (sf_close(out) != 0) die(1, out_path, "close failed");
  opus_encoder_destroy(enc);
  opus_decoder_destroy(dec);
  return 0;
}
