/* rtpdump: a small RTP receiver for the tests. Binds a UDP port on loopback
 * and prints one tab-separated line per datagram, with its CLOCK_MONOTONIC
 * arrival time, so that scripts can check what a sender put on the wire and
 * when:
 *
 *   arrival_ns len version pt marker seq ts ssrc samples toc
 *
 * samples: the Opus packet's duration at 48 kHz (rtp_opus_samples), or
 * "error:<why>" when the datagram or its payload is refused (then the
 * header fields that could not be read are "-"). toc: the first payload
 * byte in hex. A first line starting with '#' names the columns.
 *
 *   rtpdump [--count N] [--idle SEC] [--ready FILE] [ADDR:]PORT
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "shell/clock.h"
#include "util/args.h"
#include "wire/rtp.h"

#define PROG "rtpdump"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
  (void)sig;
  stop = 1;
}

static void usage(FILE *f)
{
  fprintf(f,
          "Usage: " PROG " [OPTIONS] [ADDR:]PORT\n"
          "Receives RTP on ADDR:PORT (default 127.0.0.1; [::1]:PORT for IPv6, [::]:PORT for\n"
          "both families) and prints one tab-separated line per datagram: arrival_ns\n"
          "(CLOCK_MONOTONIC) len version pt marker seq ts ssrc samples toc (samples: Opus\n"
          "48 kHz samples, or error:WHY; toc: first payload byte, hex). A first line\n"
          "starting with '#' names the columns.\n"
          "  -n, --count N     exit after N datagrams\n"
          "  -i, --idle SEC    exit after SEC seconds without a datagram (also before the first)\n"
          "  -r, --ready FILE  create FILE once the port is bound\n"
          "  -h, --help        this text\n");
}

int main(int argc, char **argv)
{
  static const struct option longs[] = {
    {"count", required_argument, NULL, 'n'},
    {"idle", required_argument, NULL, 'i'},
    {"ready", required_argument, NULL, 'r'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  long count = 0;
  double idle = 0;
  const char *ready = NULL;
  char host[256], port[16];
  struct addrinfo hints, *res = NULL;
  static uint8_t buf[DL_MAX_DATAGRAM];
  int c, fd, rc;

  opterr = 0;
  while ((c = getopt_long(argc, argv, "n:i:r:h", longs, NULL)) != -1) {
    switch (c) {
    case 'n':
      if (args_long(optarg, 1, 1000000000L, &count) < 0) {
        fprintf(stderr, PROG ": --count: expected a number >= 1, got \"%s\"\n", optarg);
        return 2;
      }
      break;
    case 'i':
      if (args_double(optarg, 0.001, 1e6, &idle) < 0) {
        fprintf(stderr, PROG ": --idle: expected seconds > 0, got \"%s\"\n", optarg);
        return 2;
      }
      break;
    case 'r': ready = optarg; break;
    case 'h': usage(stdout); return 0;
    default:
      fprintf(stderr, PROG ": bad option '%s' (see --help)\n", argv[optind - 1]);
      return 2;
    }
  }
  if (argc - optind != 1 || args_hostport(argv[optind], 1, host, sizeof host, port, sizeof port) < 0) {
    usage(stderr);
    return 2;
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  rc = getaddrinfo(host[0] ? host : "127.0.0.1", port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, PROG ": %s: %s\n", host, gai_strerror(rc));
    return 1;
  }
  fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && res->ai_family == AF_INET6) {
    /* [::]:PORT takes IPv4 too (as mapped addresses): a test can send to a
     * host name without knowing which family it resolves to first. */
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
    fprintf(stderr, PROG ": bind %s: %s\n", argv[optind], strerror(errno));
    return 1;
  }
  freeaddrinfo(res);
  /* A loaded machine may run us late: let the kernel hold a backlog. */
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (ready != NULL) {
    FILE *f = fopen(ready, "w");
    if (f == NULL) {
      fprintf(stderr, PROG ": --ready %s: %s\n", ready, strerror(errno));
      return 1;
    }
    fclose(f);
  }
  printf("#arrival_ns\tlen\tversion\tpt\tmarker\tseq\tts\tssrc\tsamples\ttoc\n");

  long got = 0;
  int64_t last = clock_mono_ns();
  while (!stop && (count == 0 || got < count)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int timeout = 200;
    if (idle > 0) {
      int64_t left = last + (int64_t)(idle * 1e9) - clock_mono_ns();
      if (left <= 0)
        break;
      if (left / 1000000 < timeout)
        timeout = (int)(left / 1000000) + 1;
    }
    rc = poll(&p, 1, timeout);
    if (rc < 0 && errno != EINTR) {
      fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
      return 1;
    }
    if (rc <= 0)
      continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    int64_t at = clock_mono_ns();
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED)
        continue;
      fprintf(stderr, PROG ": recv: %s\n", strerror(errno));
      return 1;
    }
    last = at;
    got++;
    struct rtp_header h;
    const uint8_t *pl = NULL;
    size_t plen = 0;
    int err = rtp_parse(buf, (size_t)n, &h, &pl, &plen);
    if (err == RTP_ERR_SHORT || err == RTP_ERR_VERSION) {
      printf("%" PRId64 "\t%zd\t%u\t-\t-\t-\t-\t-\terror:%s\t-\n", at, n,
             n > 0 ? buf[0] >> 6 : 0u, rtp_strerror(err));
      continue;
    }
    /* The fixed header is readable whatever failed after it. */
    unsigned pt = buf[1] & 0x7f, marker = buf[1] >> 7;
    unsigned seq = (unsigned)buf[2] << 8 | buf[3];
    uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
    uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
    printf("%" PRId64 "\t%zd\t%u\t%u\t%u\t%u\t%" PRIu32 "\t%" PRIu32 "\t", at, n, buf[0] >> 6, pt,
           marker, seq, ts, ssrc);
    if (err != RTP_OK) {
      printf("error:%s\t-\n", rtp_strerror(err));
      continue;
    }
    int samples = rtp_opus_samples(pl, plen);
    if (samples < 0)
      printf("error:%s\t%02x\n", rtp_strerror(samples), pl[0]);
    else
      printf("%d\t%02x\n", samples, pl[0]);
  }
  close(fd);
  return 0;
}
