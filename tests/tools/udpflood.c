/* udpflood: a stranger's flood for the fault tests: --count datagrams of
 * valid-looking Opus RTP (version 2, payload type 96, one 20 ms SILK frame
 * of random bytes, sequence numbers and timestamps counting up) under its
 * own SSRC, from its own socket (another port than any real sender), sent
 * as fast as --rate allows.
 *
 *   udpflood HOST:PORT [--count N] [--rate PER_S] [--ssrc X] [--seed S]
 *
 * Pacing: absolute deadlines in batches of 100 datagrams, so N datagrams
 * take N / rate seconds. A send the kernel refuses for want of buffer
 * (ENOBUFS/EAGAIN) is retried after a short sleep, not counted twice.
 * Prints {"sent":N,"seconds":S} on stdout. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "shell/clock.h"
#include "util/args.h"

#define BATCH 100
#define PAYLOAD 41

static void sleep_until(int64_t t_ns)
{
  struct timespec ts = {(time_t)(t_ns / 1000000000), (long)(t_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

static uint32_t rng_next(uint64_t *s)   /* xorshift64*, seeded, repeatable */
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static void usage(FILE *f)
{
  fprintf(f,
"usage: udpflood HOST:PORT [options]\n"
"Send valid-looking Opus RTP datagrams from a stranger (own socket, own SSRC).\n"
"  -n, --count N     datagrams to send (default 100000)\n"
"  -r, --rate PER_S  at most this many per second (default 40000)\n"
"  -s, --ssrc X      the stranger's SSRC (default 0x5eed0bad)\n"
"      --seed S      seed of the payload bytes and first sequence number (default 1)\n"
"  -h, --help        this text\n"
"Prints {\"sent\":N,\"seconds\":S}.\n");
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
    {"count", required_argument, NULL, 'n'}, {"rate", required_argument, NULL, 'r'},
    {"ssrc", required_argument, NULL, 's'},  {"seed", required_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
  unsigned long long count = 100000, rate = 40000, ssrc = 0x5eed0badULL, seed = 1;
  char host[256], port[16], *end;
  struct addrinfo hints, *res;
  unsigned char pkt[12 + PAYLOAD];
  uint64_t rs;
  unsigned long long i;
  int64_t t0, batch_ns;
  int fd, c, err;

  while ((c = getopt_long(argc, argv, "n:r:s:h", opts, NULL)) != -1) {
    unsigned long long *dst = c == 'n' ? &count : c == 'r' ? &rate : c == 's' ? &ssrc : &seed;
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    if (c == '?') {
      usage(stderr);
      return 2;
    }
    errno = 0;
    *dst = strtoull(optarg, &end, 0);
    if (errno != 0 || *end != '\0' || end == optarg || (c == 's' && *dst > 0xffffffffULL) ||
        (c == 'r' && *dst == 0)) {
      fprintf(stderr, "udpflood: bad value \"%s\" for -%c\n", optarg, c);
      return 2;
    }
  }
  if (optind + 1 != argc) {
    usage(stderr);
    return 2;
  }
  if (args_hostport(argv[optind], 0, host, sizeof host, port, sizeof port) < 0) {
    fprintf(stderr, "udpflood: expected HOST:PORT, got \"%s\"\n", argv[optind]);
    return 2;
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  err = getaddrinfo(host, port, &hints, &res);
  if (err != 0) {
    fprintf(stderr, "udpflood: %s: %s\n", argv[optind], gai_strerror(err));
    return 1;
  }
  fd = socket(res->ai_family, SOCK_DGRAM, 0);
  if (fd < 0) {
    fprintf(stderr, "udpflood: socket: %s\n", strerror(errno));
    freeaddrinfo(res);
    return 1;
  }
  rs = seed * 0x9E3779B97F4A7C15ULL + 1;
  batch_ns = (int64_t)(1e9 * BATCH / (double)rate);
  uint16_t seq = (uint16_t)rng_next(&rs);
  uint32_t ts = rng_next(&rs);
  t0 = clock_mono_ns();
  for (i = 0; i < count; i++) {
    if (i % BATCH == 0 && i > 0)
      sleep_until(t0 + (int64_t)(i / BATCH) * batch_ns);
    pkt[0] = 0x80;
    pkt[1] = 96;
    pkt[2] = (unsigned char)(seq >> 8);
    pkt[3] = (unsigned char)seq;
    pkt[4] = (unsigned char)(ts >> 24);
    pkt[5] = (unsigned char)(ts >> 16);
    pkt[6] = (unsigned char)(ts >> 8);
    pkt[7] = (unsigned char)ts;
    pkt[8] = (unsigned char)(ssrc >> 24);
    pkt[9] = (unsigned char)(ssrc >> 16);
    pkt[10] = (unsigned char)(ssrc >> 8);
    pkt[11] = (unsigned char)ssrc;
    pkt[12] = 0x08;   /* TOC: SILK NB, 20 ms, one frame */
    for (c = 13; c < (int)sizeof pkt; c++)
      pkt[c] = (unsigned char)rng_next(&rs);
    while (sendto(fd, pkt, sizeof pkt, 0, res->ai_addr, res->ai_addrlen) < 0) {
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
        fprintf(stderr, "udpflood: send: %s\n", strerror(errno));
        close(fd);
        freeaddrinfo(res);
        return 1;
      }
      if (errno != EINTR)
        usleep(100);
    }
    seq++;
    ts += 960;   /* 20 ms at 48 kHz */
  }
  printf("{\"sent\":%llu,\"seconds\":%.3f}\n", count, (double)(clock_mono_ns() - t0) / 1e9);
  close(fd);
  freeaddrinfo(res);
  return 0;
}
