/* udpseq: numbered datagrams for the impair tests: send them, receive
 * them, measure.
 *
 *   udpseq send HOST:PORT [--count N] [--interval-ms MS] [--size BYTES]
 *                         [--expect-echo] [--echo-wait S]
 *   udpseq recv [HOST:]PORT [--idle S] [--max-time S] [--log FILE] [--echo]
 *                           [--ready FILE]
 *
 * Each datagram looks like RTP (version 2, payload type 96, sequence
 * number = index mod 65536) and carries its index and its CLOCK_MONOTONIC
 * send time in ns, so a receiver on the same machine measures each one-way
 * delay. send paces on absolute deadlines and prints {"sent","echoed"}
 * (echoed: datagrams that came back; recv --echo returns each to its
 * source). recv stops --idle seconds after the last datagram (once one
 * came) or after --max-time, and prints received, unique, duplicates,
 * reordered (arrived after a higher index), lost (missing below the
 * highest), highest, delay_ms {mean, sd, min, max, p50}. --log writes
 * "index send_ns recv_ns" per datagram. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "shell/clock.h"
#include "util/args.h"
#include "util/json.h"

#define MAX_INDEX 1000000
#define HDR 12
#define BODY 16

static void die(const char *what, const char *why)
{
  fprintf(stderr, "udpseq: %s: %s\n", what, why);
  exit(1);
}

static int open_socket(const char *spec, int bare, int do_bind, struct sockaddr_storage *addr,
                       socklen_t *alen)
{
  char host[256], port[16];
  struct addrinfo hints, *res;
  int fd, err;

  if (args_hostport(spec, bare, host, sizeof host, port, sizeof port) < 0) {
    fprintf(stderr, "udpseq: expected %sHOST:PORT, got \"%s\"\n", bare ? "[HOST:]PORT or " : "", spec);
    exit(2);
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_DGRAM;
  err = getaddrinfo(*host ? host : "127.0.0.1", port, &hints, &res);
  if (err)
    die(spec, gai_strerror(err));
  fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket", strerror(errno));
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  *alen = res->ai_addrlen;
  freeaddrinfo(res);
  if (do_bind && bind(fd, (struct sockaddr *)addr, *alen) < 0)
    die(spec, strerror(errno));
  return fd;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

static int drain(int fd)
{
  uint8_t b[65536];
  int n = 0;
  while (recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0)
    n++;
  return n;
}

static int cmd_send(int argc, char **argv)
{
  static const struct option o[] = {
    {"count", required_argument, NULL, 'c'}, {"interval-ms", required_argument, NULL, 'i'},
    {"size", required_argument, NULL, 's'}, {"expect-echo", no_argument, NULL, 'e'},
    {"echo-wait", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
  long count = 100, size = 100;
  double ivl = 20, echo_wait = 1;
  int expect = 0, c, fd;
  struct sockaddr_storage to;
  socklen_t tolen;
  uint8_t buf[65536];
  long echoed = 0;

  while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
    switch (c) {
    case 'c': if (args_long(optarg, 1, MAX_INDEX, &count) < 0) exit(2); break;
    case 'i': if (args_double(optarg, 0, 1e6, &ivl) < 0) exit(2); break;
    case 's': if (args_long(optarg, HDR + BODY, 65000, &size) < 0) exit(2); break;
    case 'e': expect = 1; break;
    case 'w': if (args_double(optarg, 0, 60, &echo_wait) < 0) exit(2); break;
    default: exit(2);
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "udpseq send: expected HOST:PORT\n");
    exit(2);
  }
  fd = open_socket(argv[optind], 0, 0, &to, &tolen);
  memset(buf, 0, sizeof buf);
  int64_t t0 = clock_mono_ns(), step = (int64_t)llround(ivl * 1e6);
  for (long i = 0; i < count; i++) {
    int64_t due = t0 + i * step;
    struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
    echoed += drain(fd);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
    buf[0] = 0x80;
    buf[1] = 96;
    put_be(buf + 2, (uint64_t)i & 0xffff, 2);
    put_be(buf + 4, (uint64_t)i * 960, 4);
    put_be(buf + 8, 0x5eed, 4);
    put_be(buf + HDR, (uint64_t)i, 8);
    put_be(buf + HDR + 8, (uint64_t)clock_mono_ns(), 8);
    if (sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&to, tolen) < 0)
      fprintf(stderr, "udpseq: send: %s\n", strerror(errno));
  }
  if (expect) {
    int64_t end = clock_mono_ns() + (int64_t)(echo_wait * 1e9);
    for (;;) {
      int64_t left = end - clock_mono_ns();
      struct pollfd p = {fd, POLLIN, 0};
      echoed += drain(fd);
      if (left <= 0)
        break;
      poll(&p, 1, (int)(left / 1000000) + 1);
    }
  }
  printf("{\"sent\":%ld,\"echoed\":%ld}\n", count, echoed);
  close(fd);
  return 0;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmd_recv(int argc, char **argv)
{
  static const struct option o[] = {
    {"idle", required_argument, NULL, 'i'}, {"max-time", required_argument, NULL, 'm'},
    {"log", required_argument, NULL, 'l'}, {"echo", no_argument, NULL, 'e'},
    {"ready", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
  double idle = 1, max_time = 30;
  const char *log_name = NULL, *ready = NULL;
  int echo = 0, c, fd;
  struct sockaddr_storage me;
  socklen_t melen;
  FILE *log = NULL;
  uint8_t *seen = calloc(MAX_INDEX, 1);
  double *delays = malloc(sizeof(double) * 4 * MAX_INDEX);
  long n = 0, unique = 0, reordered = 0, highest = -1;
  uint8_t buf[65536];

  if (seen == NULL || delays == NULL)
    die("memory", strerror(ENOMEM));
  while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
    switch (c) {
    case 'i': if (args_double(optarg, 0.01, 3600, &idle) < 0) exit(2); break;
    case 'm': if (args_double(optarg, 0.01, 36000, &max_time) < 0) exit(2); break;
    case 'l': log_name = optarg; break;
    case 'e': echo = 1; break;
    case 'r': ready = optarg; break;
    default: exit(2);
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "udpseq recv: expected [HOST:]PORT\n");
    exit(2);
  }
  fd = open_socket(argv[optind], 1, 1, &me, &melen);
  if (ready) {
    FILE *f = fopen(ready, "w");
    if (f == NULL)
      die(ready, strerror(errno));
    fclose(f);
  }
  if (log_name && (log = fopen(log_name, "w")) == NULL)
    die(log_name, strerror(errno));
  int64_t start = clock_mono_ns(), last = 0;
  for (;;) {
    int64_t now = clock_mono_ns();
    int64_t until = start + (int64_t)(max_time * 1e9);
    if (last && last + (int64_t)(idle * 1e9) < until)
      until = last + (int64_t)(idle * 1e9);
    if (now >= until)
      break;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)((until - now) / 1000000) + 1) <= 0)
      continue;
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t len = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    int64_t t = clock_mono_ns();
    if (len < 0)
      continue;
    last = t;
    if (echo)
      sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&from, flen);
    if (len < HDR + BODY || n >= 4 * MAX_INDEX)
      continue;
    uint64_t idx = get_be(buf + HDR, 8);
    int64_t sent = (int64_t)get_be(buf + HDR + 8, 8);
    if (idx >= MAX_INDEX)
      continue;
    if (!seen[idx]++)
      unique++;
    if ((long)idx < highest)
      reordered++;
    if ((long)idx > highest)
      highest = (long)idx;
    delays[n++] = (double)(t - sent) / 1e6;
    if (log)
      fprintf(log, "%lu %lld %lld\n", (unsigned long)idx, (long long)sent, (long long)t);
  }
  if (log)
    fclose(log);

  double sum = 0, sq = 0, mean = NAN, sd = NAN;
  for (long i = 0; i < n; i++)
    sum += delays[i];
  if (n) {
    mean = sum / (double)n;
    for (long i = 0; i < n; i++)
      sq += (delays[i] - mean) * (delays[i] - mean);
    sd = sqrt(sq / (double)n);
    qsort(delays, (size_t)n, sizeof *delays, cmp_double);
  }
  char line[1024];
  struct json j;
  json_begin(&j, line, sizeof line);
  json_i64(&j, "received", n);
  json_i64(&j, "unique", unique);
  json_i64(&j, "duplicates", n - unique);
  json_i64(&j, "reordered", reordered);
  json_i64(&j, "highest", highest);
  json_i64(&j, "lost", n ? highest + 1 - unique : 0);
  json_obj_begin(&j, "delay_ms");
  json_num(&j, "mean", mean, 3);
  json_num(&j, "sd", sd, 3);
  json_num(&j, "min", n ? delays[0] : NAN, 3);
  json_num(&j, "max", n ? delays[n - 1] : NAN, 3);
  json_num(&j, "p50", n ? delays[n / 2] : NAN, 3);
  json_obj_end(&j);
  printf("%s\n", json_end(&j));
  free(seen);
  free(delays);
  close(fd);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "send") == 0)
    return cmd_send(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "recv") == 0)
    return cmd_recv(argc - 1, argv + 1);
  fprintf(stderr, "usage: udpseq send HOST:PORT [--count N] [--interval-ms MS] [--size BYTES]\n"
                  "                 [--expect-echo] [--echo-wait S]\n"
                  "       udpseq recv [HOST:]PORT [--idle S] [--max-time S] [--log FILE]\n"
                  "                 [--echo] [--ready FILE]\n");
  return 2;
}
