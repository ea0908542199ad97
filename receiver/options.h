/* receiver's command line (options.c): every flag, its default and its
 * check. A bad value is a usage error: one line on stderr, exit 2. */
#ifndef DL_RECEIVER_OPTIONS_H
#define DL_RECEIVER_OPTIONS_H

#include <stdio.h>
#include <sys/socket.h>

#define PROG "receiver"
#define EXIT_RUNTIME 1

struct options {
  int channels;               /* 0: auto, from the stream */
  const char *device;
  int device_buffer_ms;     /* 0: auto (sink_alsa_open's rule) */
  const char *output;
  double skew_ppm;
  int skew_set;
  int latency_ms;             /* 0: auto */
  int min_latency_ms;
  int max_latency_ms;
  int max_latency_set;        /* --max-latency was given */
  double latency_quantile;    /* auto: the quantile of arrival delays aimed at */
  int no_resample;            /* 1: no drift compensation */
  double stall_at_s, stall_ms;  /* --stall-at (testing); stall_ms 0: none */
  int conceal_silence;
  int pt;                     /* 0: lock to the first dynamic payload type */
  double duration_s;          /* 0: run until stopped */
  double idle_exit_s;         /* 0: never */
  const char *stats_path;
  const char *metrics_path;   /* --metrics-file; NULL: none */
  const char *metrics_stream; /* its stream label */
  int stats_interval_ms;
  const char *trace_path;     /* --trace: per-packet lines; NULL: none */
  int quiet;
  int verbose;
  const char *key_path;       /* --key: SRTP */
  const char *gen_key_path;   /* --gen-key: write a key and exit */
  const char *peer;           /* --peer HOST[:PORT] as given; NULL: none */
  char peer_host[256];        /* its host, and port ("": any port) */
  char peer_port[8];
  int restart_after_ms;
  int exit_on_bye;            /* --exit-on-bye */
  int rtcp_interval_ms;       /* RTCP Tmin */
  int rtcp_mux;               /* RTCP on the RTP port */
  int no_rtcp;
  const char *iface;          /* --iface: a group's interface address; NULL: any */
  const char *source;         /* --source: SSM, the one source; NULL: any */
  const char *sap_name;       /* --sap NAME: find the stream by SAP; NULL: HOST:PORT given */
  const char *sap_addr;       /* --sap-addr as given; NULL: DL_SAP_ADDR:DL_SAP_PORT */
  struct sockaddr_storage sap_group;   /* --sap-addr, parsed */
  int sync;                   /* --sync: play at the sender's wall clock + sync_delay_ms */
  int sync_delay_ms;
  int sync_delay_set;
  double sync_trim_ms;        /* this receiver plays that much later (< 0: earlier) */
  int sync_trim_set;
  double wallclock_offset_ms; /* testing: added to every read of our wall clock */
  char host[256];             /* with --sap: set when the announcement comes */
  char port[8];
};

/* Fills o from argv; on --help or --version prints and exits 0, on a bad
 * flag or value prints one line and exits 2. */
void options_parse(int argc, char **argv, struct options *o);

/* The --help text. */
void options_usage(FILE *f);

/* The target latency to start from, ms: --latency, or with auto the
 * default within --min-latency and --max-latency. */
int options_start_latency_ms(const struct options *o);

#endif /* DL_RECEIVER_OPTIONS_H */
