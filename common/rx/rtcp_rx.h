/* The receiver's RTCP session (RFC 3550 6.4, RFC 3611): what it learns of
 * the stream's packets for its reports, what it takes from the sender's
 * reports, when it reports, and the compound it sends: RR + SDES CNAME +
 * XR (Receiver Reference Time, VoIP Metrics).
 *
 * Pure and single-threaded (the receiver's loop thread): every time is an
 * argument. Two clocks meet here: CLOCK_MONOTONIC (arrivals, schedules,
 * DLSR) and the wall clock as NTP time (an SR's and an RRT's timestamps),
 * which the caller reads and passes as realtime_ns (CLOCK_REALTIME, ns
 * since 1970). rtcp_rx_clock tells the offset between the two, so that a
 * packet's monotonic arrival has a wall-clock time too.
 *
 * What is measured:
 *   - per packet (rtcp_rx_packet): RFC 3550 A.1/A.3 counts of the source's
 *     sequence (extended highest, expected, received), A.8 jitter, and the
 *     RFC 3611 4.7.2 burst/gap pattern of its losses (Gmin 16; a packet that
 *     arrives after a later one was already counted lost there);
 *   - from an SR of the source: LSR and its arrival (for DLSR), the
 *     sender's RTP-to-wall-clock mapping and its packet and octet counts;
 *   - from an XR DLRR answering our RRT (RFC 3611 4.5): our own round trip
 *     time, whose half is one estimate of the network's one-way transit;
 *   - the other: with the mapping, each packet's arrival wall clock minus
 *     the sender's wall clock at its timestamp (right where both ends share
 *     a clock, as on one host; an offset between two hosts' clocks shows as
 *     a transit below 0 or over DL_TRANSIT_CLOCK_MAX_MS, and is not used).
 * rtcp_rx_transit says which is used: the round trip's half when known,
 * else the clock's when plausible, else none. */
#ifndef DL_RTCP_RX_H
#define DL_RTCP_RX_H

#include <stddef.h>
#include <stdint.h>

#include "wire/rtcp.h"

#define RTCP_RX_GMIN 16   /* RFC 3611's recommended Gmin */

enum rtcp_transit_source { RTCP_TRANSIT_NONE, RTCP_TRANSIT_RTT, RTCP_TRANSIT_CLOCK };

/* What the XR VoIP Metrics block says of the playout, from the playback
 * thread's published counters (the loop thread's copy). NaN: unknown. */
struct rtcp_rx_quality {
  uint64_t discarded;        /* packets late or duplicated (never played) */
  double r_factor, mos_cq;   /* the E-model's, delay included */
  double mos_lq;             /* the same without the delay impairment */
  double end_system_ms;      /* frame + look-ahead + mean latency: the receiver's part */
  double jb_nominal_ms;      /* the target latency */
  double jb_max_ms;          /* the largest latency seen */
  double jb_abs_max_ms;      /* --max-latency */
  int jb_adaptive;           /* --latency auto */
  int plc_silence;           /* --conceal silence */
};

struct rtcp_rx_config {
  uint32_t ssrc;             /* ours: random (the caller draws it) */
  const char *cname;         /* ours, copied (RFC 7022: random is fine) */
  int64_t min_interval_ns;   /* RFC 3550 Tmin; 0: DL_RTCP_MIN_INTERVAL_MS */
};

struct rtcp_rx_stats {
  uint64_t sr_received;      /* SRs of the source taken */
  int have_sr;
  uint32_t sender_packets;   /* the last SR's counts */
  uint32_t sender_octets;
  int64_t rtt_ns;            /* our round trip (RRT/DLRR); < 0: unknown */
  int64_t transit_clock_ns;  /* the wall-clock estimate; INT64_MIN: none yet */
  unsigned members;          /* rtcp_rx_members */
};

struct rtcp_rx {
  struct rtcp_rx_config cfg;
  char cname[RTCP_MAX_TEXT + 1];
  int64_t mono_to_real_ns;   /* realtime - monotonic, from rtcp_rx_clock */
  int have_clock;

  /* The source (RFC 3550 A.1, without probation: admission did that). */
  int have_source;
  uint32_t source_ssrc;
  uint16_t max_seq;
  uint32_t cycles;
  uint32_t base_seq;
  uint32_t received;
  struct rtcp_rxstats rs;
  int frame_samples;         /* of the last packet, for durations */
  uint64_t bytes;            /* datagram bytes of the source, for the session bandwidth */
  int64_t first_ns, last_ns;

  /* RFC 3611 4.7.2 burst/gap pattern. */
  uint64_t gap_pkts, gap_lost, burst_pkts, burst_lost, bursts;
  uint32_t since_loss, pend;
  int in_burst, have_loss;

  /* The sender's last SR (of the source; one of an SSRC not yet seen
   * waits in pending). */
  int have_sr;
  struct rtcp_sender_info sr;
  int64_t sr_arrival_ns;
  int have_pending_sr;
  struct rtcp_sender_info pending_sr;
  int64_t pending_sr_arrival_ns;
  uint64_t sr_count;

  /* Our RRT and its answer. */
  int64_t rtt_ns;            /* < 0: unknown */
  double transit_clock_ns;   /* exponential mean; NaN: none */

  /* The schedule (RFC 3550 6.3): the other members heard (besides the
   * source), and the deterministic interval their timeout counts in. */
  struct rtcp_members others;
  int64_t td_ns;
  int initial;
  double avg_size;
  int64_t next_ns;           /* 0: not started */
  int64_t prev_ns;           /* the last report (or the start): RFC 3550 tp */
};

void rtcp_rx_init(struct rtcp_rx *r, const struct rtcp_rx_config *cfg);

/* The wall clock against the monotonic one, read by the caller at about
 * the same moment; call it before each report and SR handled. */
void rtcp_rx_clock(struct rtcp_rx *r, int64_t mono_ns, int64_t realtime_ns);

/* A packet admitted into the stream (after admission, as it goes to the
 * playback thread); datagram_len: its bytes off the socket. A new SSRC
 * restarts the counts. */
void rtcp_rx_packet(struct rtcp_rx *r, uint32_t ssrc, uint16_t seq, uint32_t ts, int samples,
                    int64_t arrival_ns, size_t datagram_len);

/* What a parsed compound from the stream's host told (rtcp_rx_input). */
#define RTCP_RX_SR   1u      /* an SR of the source was taken */
#define RTCP_RX_RTT  2u      /* a DLRR gave our round trip */
#define RTCP_RX_BYE  4u      /* the source said BYE */
struct rtcp_rx_input_result {
  unsigned what;
  int have_end_ts;           /* BYE with an SR of the source: its RTP timestamp */
  uint32_t end_ts;
  uint32_t bye_ssrc;
};

/* A compound packet that rtcp_parse accepted, from the stream's host,
 * arrived at now_ns. */
void rtcp_rx_input(struct rtcp_rx *r, const struct rtcp_info *in, int64_t now_ns,
                   struct rtcp_rx_input_result *res);

/* Whether a report can be made (a source is known). */
int rtcp_rx_ready(const struct rtcp_rx *r);

/* Schedules the first report at now_ns (the stream started); u in [0, 1)
 * is the caller's random draw. */
void rtcp_rx_start(struct rtcp_rx *r, int64_t now_ns, double u);
/* When the next report is due (CLOCK_MONOTONIC ns); 0: not started. */
int64_t rtcp_rx_next_ns(const struct rtcp_rx *r);

/* The timer reached next_ns: RFC 3550 6.3.6 forward reconsideration. A
 * new interval is drawn (u); if the last report plus it has passed, the
 * report is due (1: build and send it now); else the timer moves there
 * (0). Without it the randomised interval, already divided by e - 3/2 to
 * make up for reconsideration, would overshoot the bandwidth share. */
int rtcp_rx_due(struct rtcp_rx *r, int64_t now_ns, double u);

/* The report at now_ns: RR (one block about the source) + SDES CNAME + XR
 * (RRT at our wall clock now, VoIP Metrics from q). Returns its length or
 * a negative enum rtcp_error. Moves the report interval on (the fraction
 * lost is per report), so send what it made. */
int rtcp_rx_build(struct rtcp_rx *r, int64_t now_ns, const struct rtcp_rx_quality *q,
                  uint8_t *buf, size_t cap);

/* A report of wire_bytes (IP and UDP headers included) was sent (or an
 * RTCP packet received: rtcp_rx_seen); schedules the next with u. */
void rtcp_rx_sent(struct rtcp_rx *r, int64_t now_ns, size_t wire_bytes, double u);
void rtcp_rx_seen(struct rtcp_rx *r, size_t wire_bytes);
/* A parsed compound from anyone in the session (in a group: the other
 * receivers too, whose reports are otherwise not ours to take), heard at
 * now_ns: the session's members, which the report interval scales by. */
void rtcp_rx_member(struct rtcp_rx *r, const struct rtcp_info *in, int64_t now_ns);
/* The session's members as the interval counts them: ourselves, the
 * source, the others heard within their timeout (at least 2). */
unsigned rtcp_rx_members(const struct rtcp_rx *r);

/* The transit the E-model should use (ns, >= 0) and where it comes from. */
int64_t rtcp_rx_transit(const struct rtcp_rx *r, enum rtcp_transit_source *source);
const char *rtcp_transit_source_name(enum rtcp_transit_source s);   /* "rtt", "clock", "none" */

void rtcp_rx_get_stats(const struct rtcp_rx *r, struct rtcp_rx_stats *out);

/* The fraction of the source's packets lost since the start (0..1). */
double rtcp_rx_loss_fraction(const struct rtcp_rx *r);

#endif /* DL_RTCP_RX_H */
