/* RTCP (RFC 3550 section 6, RFC 3611 extended reports): packing, validating
 * parsing, NTP time, report statistics and the transmission interval.
 * Pure functions and caller-owned structs: any thread, one thread at a time
 * per struct. No clock reads: every time is an argument.
 *
 * What rtcp_parse checks, before a byte of content is read: the datagram
 * is at least 8 bytes; every packet has version 2 and a length that stays
 * inside the datagram, and the lengths sum to the datagram (RFC 3550 A.2);
 * the first packet is an SR or an RR; only the last packet is padded, by a
 * non-zero multiple of 4 that leaves its header whole. Then, per packet:
 * SR/RR fixed part and report count; SDES chunk count, items and their
 * terminating null octet; BYE SSRC count and reason length; XR SSRC and
 * block lengths (RRT, DLRR and VoIP Metrics blocks of the length RFC 3611
 * fixes). Other packet types (APP, RTPFB, PSFB, ...) and XR block types are
 * skipped by their length. A reduced-size packet (RFC 5506: no SR/RR first)
 * is refused: it needs a=rtcp-rsize, which driftless never offers.
 *
 * Errors are enum rtcp_error: a refusal is RTCP_ERR_BASE (-1100) minus a
 * small number, a range of its own (apart from errno values, which end at
 * 133 on Linux, and from rtp's -1000s, since both parsers meet one muxed
 * port); packing says -ENOBUFS or -EINVAL. rtcp_strerror names each. */
#ifndef DL_RTCP_H
#define DL_RTCP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define RTCP_VERSION      2
#define RTCP_PT_SR        200
#define RTCP_PT_RR        201
#define RTCP_PT_SDES      202
#define RTCP_PT_BYE       203
#define RTCP_PT_APP       204
#define RTCP_PT_XR        207   /* RFC 3611 */

#define RTCP_SDES_END     0
#define RTCP_SDES_CNAME   1
#define RTCP_SDES_NAME    2
#define RTCP_SDES_TOOL    6

#define RTCP_XR_RRT       4     /* Receiver Reference Time, RFC 3611 4.4 */
#define RTCP_XR_DLRR      5     /* DLRR, 4.5 */
#define RTCP_XR_VOIP      7     /* VoIP Metrics, 4.7 */

#define RTCP_MAX_REPORTS  31    /* report blocks in one SR or RR (5-bit count) */
#define RTCP_MAX_SDES_CHUNKS 31 /* chunks in one SDES packet (5-bit count) */
#define RTCP_MAX_BYE      31    /* SSRCs in one BYE packet */
#define RTCP_MAX_DLRR     16    /* DLRR sub-blocks packed or kept by parse */
#define RTCP_MAX_TEXT     255   /* an SDES item's or a BYE reason's bytes */
#define RTCP_MIN_LEN      8     /* the smallest compound packet: an empty RR */
#define RTCP_REPORT_BLOCK_LEN 24

/* VoIP Metrics (RFC 3611 4.7): the value of an unknown R factor, MOS,
 * signal or noise level, or RERL. */
#define RTCP_XR_UNAVAILABLE 127

#define RTCP_ERR_BASE (-1100)
enum rtcp_error {
  RTCP_OK = 0,
  RTCP_ERR_SHORT = RTCP_ERR_BASE - 1,            /* datagram shorter than 8 bytes */
  RTCP_ERR_VERSION = RTCP_ERR_BASE - 2,          /* a packet's version is not 2 */
  RTCP_ERR_FIRST_TYPE = RTCP_ERR_BASE - 3,       /* first packet is not SR or RR */
  RTCP_ERR_LENGTH = RTCP_ERR_BASE - 4,           /* a packet's length runs past the datagram */
  RTCP_ERR_LENGTH_SUM = RTCP_ERR_BASE - 5,       /* 1..3 bytes left after the last packet */
  RTCP_ERR_PADDING_NOT_LAST = RTCP_ERR_BASE - 6, /* padding bit on a packet that is not the last */
  RTCP_ERR_PADDING_COUNT = RTCP_ERR_BASE - 7,    /* padding count 0, not a multiple of 4, or into the header */
  RTCP_ERR_REPORT_SHORT = RTCP_ERR_BASE - 8,     /* SR or RR shorter than its SSRC (and sender info) */
  RTCP_ERR_REPORT_COUNT = RTCP_ERR_BASE - 9,     /* report blocks run past the packet */
  RTCP_ERR_SDES_CHUNK = RTCP_ERR_BASE - 10,      /* SDES source count past the packet */
  RTCP_ERR_SDES_ITEM = RTCP_ERR_BASE - 11,       /* an SDES item runs past the packet */
  RTCP_ERR_SDES_END = RTCP_ERR_BASE - 12,        /* an SDES chunk's items have no null terminator */
  RTCP_ERR_BYE_COUNT = RTCP_ERR_BASE - 13,       /* BYE SSRC list past the packet */
  RTCP_ERR_BYE_REASON = RTCP_ERR_BASE - 14,      /* BYE reason runs past the packet */
  RTCP_ERR_XR_SHORT = RTCP_ERR_BASE - 15,        /* XR without its SSRC */
  RTCP_ERR_XR_BLOCK = RTCP_ERR_BASE - 16,        /* an XR block runs past the packet */
  RTCP_ERR_XR_BLOCK_LENGTH = RTCP_ERR_BASE - 17, /* RRT not 2 words, DLRR not 3n, VoIP Metrics not 8 */
  RTCP_ERR_ORDER = RTCP_ERR_BASE - 18,           /* builder: packets out of RFC 3550 6.1 order */
  RTCP_ERR_NO_CNAME = RTCP_ERR_BASE - 19,        /* builder: no SDES CNAME for the reporting SSRC */
  RTCP_ERR_NO_SR = RTCP_ERR_BASE - 20,           /* rtt: LSR 0, no SR received yet */
  RTCP_ERR_RTT_NEGATIVE = RTCP_ERR_BASE - 21,    /* rtt: the report claims more delay than elapsed */
  RTCP_ERR_NOBUFS = -ENOBUFS,                    /* pack: output buffer too small */
  RTCP_ERR_ARG = -EINVAL                         /* pack: a count or text over its limit, a NULL */
};

/* A short English text for any enum rtcp_error ("report count past the
 * packet end", ...); "unknown error" for anything else. */
const char *rtcp_strerror(int err);

/* ---- packet contents -------------------------------------------------- */

/* One report block (RFC 3550 6.4.1), host values. */
struct rtcp_report_block {
  uint32_t ssrc;              /* the source reported on */
  uint8_t fraction_lost;      /* since the previous report, in 1/256 */
  int32_t cumulative_lost;    /* since the start; packing clamps to -0x800000..0x7fffff */
  uint32_t ext_highest_seq;   /* cycles << 16 | highest sequence number */
  uint32_t jitter;            /* interarrival jitter, RTP timestamp units */
  uint32_t lsr;               /* middle 32 bits of the last SR's NTP time; 0: none */
  uint32_t dlsr;              /* since that SR arrived, 1/65536 s; 0 if lsr is 0 */
};

/* The sender information of an SR. */
struct rtcp_sender_info {
  uint32_t ssrc;
  uint64_t ntp;               /* NTP 64-bit time (rtcp_ntp_from_ns) of rtp_ts */
  uint32_t rtp_ts;
  uint32_t packet_count;      /* RTP packets sent since the start */
  uint32_t octet_count;       /* RTP payload bytes sent since the start */
};

/* One SDES chunk to pack. Texts are NUL-terminated, at most RTCP_MAX_TEXT
 * bytes, borrowed for the call; NULL leaves an item out. */
struct rtcp_sdes_chunk {
  uint32_t ssrc;
  const char *cname;
  const char *name;
  const char *tool;
};

/* DLRR sub-block (RFC 3611 4.5). */
struct rtcp_dlrr_item {
  uint32_t ssrc;              /* the receiver whose RRT this answers */
  uint32_t lrr;               /* middle 32 bits of that RRT's NTP time */
  uint32_t dlrr;              /* since it arrived, 1/65536 s */
};

/* VoIP Metrics (RFC 3611 4.7), in the wire's encodings: rates and densities
 * in 1/256 (rtcp_xr_rate), durations and delays in ms, levels in dB (dBm0
 * signed for signal and noise), R factors 0..100 and MOS x 10 (10..50),
 * RTCP_XR_UNAVAILABLE where unknown. */
struct rtcp_voip_metrics {
  uint32_t ssrc;              /* the source reported on */
  uint8_t loss_rate, discard_rate, burst_density, gap_density;
  uint16_t burst_duration, gap_duration;
  uint16_t round_trip_delay, end_system_delay;
  int8_t signal_level, noise_level;
  uint8_t rerl, gmin;
  uint8_t r_factor, ext_r_factor, mos_lq, mos_cq;
  uint8_t rx_config;          /* RTCP_XR_RX_CONFIG(plc, jba, jb_rate) */
  uint16_t jb_nominal, jb_maximum, jb_abs_max;
};

#define RTCP_XR_PLC_ENHANCED  3
#define RTCP_XR_PLC_STANDARD  2
#define RTCP_XR_PLC_SILENCE   1
#define RTCP_XR_JB_ADAPTIVE   3
#define RTCP_XR_JB_FIXED      2
#define RTCP_XR_RX_CONFIG(plc, jba, rate) \
  ((uint8_t)(((plc) & 3) << 6 | ((jba) & 3) << 4 | ((rate) & 15)))

/* One XR packet to pack: any of its three blocks, in the order RRT, DLRR,
 * VoIP Metrics. Pointers borrowed for the call. */
struct rtcp_xr {
  uint32_t ssrc;              /* the packet's sender */
  int has_rrt;
  uint64_t rrt_ntp;           /* NTP 64-bit time the XR was sent */
  const struct rtcp_dlrr_item *dlrr;   /* n_dlrr of them; 0: no DLRR block */
  unsigned n_dlrr;
  const struct rtcp_voip_metrics *voip;   /* NULL: no VoIP Metrics block */
};

/* What rtcp_parse found: a flat copy, nothing points into the datagram.
 * Bounded lists keep the first entries and count the rest as dropped.
 * Where the compound holds a thing twice (two SRs, two CNAMEs, two RRT
 * blocks), the first one is kept. */
struct rtcp_info {
  uint32_t ssrc;              /* the first packet's (the reporter's) SSRC */
  int has_sr;                 /* the first packet is an SR: sr is set */
  struct rtcp_sender_info sr;
  unsigned n_reports;         /* from every SR and RR of the compound */
  unsigned reports_dropped;
  struct rtcp_report_block reports[RTCP_MAX_REPORTS];

  unsigned n_sdes_chunks;
  unsigned sdes_chunks_dropped;
  uint32_t sdes_ssrc[RTCP_MAX_SDES_CHUNKS];
  /* The items of the first chunk whose SSRC is the reporter's. Text is
   * copied and NUL-terminated (a NUL inside an item ends it early). */
  int has_cname, has_name, has_tool;
  char cname[RTCP_MAX_TEXT + 1];
  char name[RTCP_MAX_TEXT + 1];
  char tool[RTCP_MAX_TEXT + 1];

  int has_bye;
  unsigned n_bye;             /* SSRCs of every BYE */
  unsigned bye_dropped;
  uint32_t bye_ssrc[RTCP_MAX_BYE];
  int has_bye_reason;
  char bye_reason[RTCP_MAX_TEXT + 1];

  int has_xr;
  uint32_t xr_ssrc;           /* the first XR packet's sender */
  int has_rrt;
  uint64_t rrt_ntp;
  unsigned n_dlrr;
  unsigned dlrr_dropped;
  struct rtcp_dlrr_item dlrr[RTCP_MAX_DLRR];
  int has_voip;
  struct rtcp_voip_metrics voip;

  unsigned n_packets;         /* packets in the compound */
  unsigned n_skipped;         /* of them, of a type not parsed here */
};

/* ---- packing ---------------------------------------------------------- */

/* Each writes one RTCP packet (no padding) at buf and returns its length in
 * bytes, or RTCP_ERR_NOBUFS if cap is too small (nothing useful is left in
 * buf then), or RTCP_ERR_ARG (a count or a text over its limit, a NULL
 * pointer with a non-zero count). */

/* SR with 0..RTCP_MAX_REPORTS report blocks: 28 + 24 n bytes. */
int rtcp_pack_sr(const struct rtcp_sender_info *sr, const struct rtcp_report_block *blocks,
                 unsigned n, uint8_t *buf, size_t cap);
/* RR from ssrc with 0..RTCP_MAX_REPORTS report blocks: 8 + 24 n bytes. */
int rtcp_pack_rr(uint32_t ssrc, const struct rtcp_report_block *blocks, unsigned n,
                 uint8_t *buf, size_t cap);
/* SDES with 0..RTCP_MAX_SDES_CHUNKS chunks, each item list null-terminated
 * and the chunk padded with nulls to 32 bits. */
int rtcp_pack_sdes(const struct rtcp_sdes_chunk *chunks, unsigned n, uint8_t *buf, size_t cap);
/* BYE for 0..RTCP_MAX_BYE SSRCs and an optional reason (NULL: none),
 * padded with nulls to 32 bits. */
int rtcp_pack_bye(const uint32_t *ssrcs, unsigned n, const char *reason, uint8_t *buf,
                  size_t cap);
/* XR with the blocks xr names (0..RTCP_MAX_DLRR DLRR sub-blocks). */
int rtcp_pack_xr(const struct rtcp_xr *xr, uint8_t *buf, size_t cap);

/* A compound packet in RFC 3550 6.1 order: one SR or RR first (further
 * RRs may follow it, for more than 31 sources), then one SDES whose chunk
 * for the reporting SSRC has a CNAME, then any XRs, then at most one BYE,
 * which ends it. The first error sticks: later calls return it and finish
 * does too, so a caller may check only finish.
 *
 *   struct rtcp_builder b;
 *   rtcp_builder_init(&b, buf, sizeof buf);
 *   rtcp_builder_sr(&b, &si, blocks, n);
 *   rtcp_builder_sdes(&b, &chunk, 1);
 *   rtcp_builder_xr(&b, &xr);
 *   int len = rtcp_builder_finish(&b, 0);
 *
 * Fields are private to rtcp.c. */
struct rtcp_builder {
  uint8_t *buf;
  size_t cap, len;
  size_t last;                /* offset of the last packet written */
  uint32_t ssrc;              /* the reporter's */
  int stage;
  int err;
};

/* Starts a compound in buf (cap bytes), which stays the caller's and must
 * outlive b. NULL buf: every call says RTCP_ERR_NOBUFS. */
void rtcp_builder_init(struct rtcp_builder *b, uint8_t *buf, size_t cap);
/* Each appends one packet (contents borrowed for the call) and returns 0
 * or the (sticky) error. */
int rtcp_builder_sr(struct rtcp_builder *b, const struct rtcp_sender_info *sr,
                    const struct rtcp_report_block *blocks, unsigned n);
int rtcp_builder_rr(struct rtcp_builder *b, uint32_t ssrc, const struct rtcp_report_block *blocks,
                    unsigned n);
int rtcp_builder_sdes(struct rtcp_builder *b, const struct rtcp_sdes_chunk *chunks, unsigned n);
int rtcp_builder_xr(struct rtcp_builder *b, const struct rtcp_xr *xr);
int rtcp_builder_bye(struct rtcp_builder *b, const uint32_t *ssrcs, unsigned n,
                     const char *reason);
/* Pads the last packet (its P bit and count) so that the length is a
 * multiple of pad_to bytes: 0 for no padding, else a multiple of 4 up to
 * 256 (RFC 3550 6.4.1: padding counts are multiples of 4 and fit a byte).
 * Returns the compound's length in bytes, or the error. */
int rtcp_builder_finish(struct rtcp_builder *b, unsigned pad_to);

/* ---- parsing ---------------------------------------------------------- */

/* Validates the compound packet of len bytes (see the top of this file)
 * and only then fills *out. Returns RTCP_OK or an enum rtcp_error; on
 * error *out is zeroed. Nothing is read outside buf[0..len). */
int rtcp_parse(const uint8_t *buf, size_t len, struct rtcp_info *out);

/* RFC 5761 section 4 demultiplexing, RTP and RTCP on one port: 1 if the
 * datagram's second byte is an RTCP packet type (192..223), else 0 (and 0
 * for fewer than 2 bytes). RTP payload types 64..95 must not be used on a
 * muxed port, since with the marker bit they look like RTCP. */
int rtcp_is_rtcp(const uint8_t *buf, size_t len);

/* ---- time ------------------------------------------------------------- */

#define RTCP_NTP_UNIX_OFFSET 2208988800u   /* seconds from 1900 to 1970 */

/* NTP 64-bit time (32.32 seconds since 1900, wrapping in 2036 as NTP era 1
 * does) of a CLOCK_REALTIME time in ns since 1970, which the caller reads.
 * The fraction is truncated (233 ps steps). */
uint64_t rtcp_ntp_from_ns(int64_t realtime_ns);
/* Back to ns since 1970, the fraction rounded to the nearest ns (exact for
 * what rtcp_ntp_from_ns made). NTP seconds below RTCP_NTP_UNIX_OFFSET are
 * read as era 1 (after 2036-02-07), so times 1970..2106 come back. */
int64_t rtcp_ntp_to_ns(uint64_t ntp);
/* The middle 32 bits (16.16 seconds): an SR's LSR, an RRT's LRR. */
static inline uint32_t rtcp_ntp_middle(uint64_t ntp) { return (uint32_t)(ntp >> 16); }

/* A duration in ns as 16.16 seconds (DLSR, DLRR), rounded to the nearest
 * 1/65536 s; 0 for ns <= 0, 0xffffffff past 65536 s. */
uint32_t rtcp_dlsr_from_ns(int64_t ns);
/* A 16.16 seconds value (DLSR, DLRR, or a difference of middle 32 bits)
 * in ns, rounded to the nearest ns. */
int64_t rtcp_dlsr_to_ns(uint32_t q16);

/* RFC 3550 6.4.1 round-trip time: arrival is the middle 32 bits of the NTP
 * time (same clock as the SR's) at which the report block (or DLRR) came
 * in; lsr and dlsr are the block's. Arithmetic is modulo 2^32, so it holds
 * across the 16.16 wrap (every 18 hours). Returns the RTT in ns (>= 0), or
 * RTCP_ERR_NO_SR (lsr 0: no SR was received yet, the RTT is unknown), or
 * RTCP_ERR_RTT_NEGATIVE (the arrival is before LSR + DLSR: a clock step, or
 * a report not for our SR). */
int64_t rtcp_rtt_ns(uint32_t arrival, uint32_t lsr, uint32_t dlsr);

/* ---- report statistics (RFC 3550 A.3, A.8) ------------------------------ */

/* A receiver's per-source state between reports. Zero it (or call
 * rtcp_rxstats_init) at the start and when the source restarts. */
struct rtcp_rxstats {
  uint32_t expected_prior;    /* expected and received at the last report */
  uint32_t received_prior;
  uint64_t jitter_q4;         /* the RFC's integer jitter: 16 x RTP units */
  uint32_t transit;           /* arrival - timestamp of the previous packet */
  int have_transit;
};

void rtcp_rxstats_init(struct rtcp_rxstats *s);

/* One packet arrived: its RTP timestamp and its arrival time in RTP units
 * (the receiver's clock times the RTP rate, any origin, modulo 2^32; see
 * rtcp_rtp_units). The first packet only sets the transit time. */
void rtcp_rxstats_arrival(struct rtcp_rxstats *s, uint32_t rtp_ts, uint32_t arrival_rtp);

/* The jitter to report, in RTP units (J of RFC 3550 A.8). */
uint32_t rtcp_rxstats_jitter(const struct rtcp_rxstats *s);

/* Fills rb's fraction_lost, cumulative_lost and jitter for a report now,
 * and moves the interval on. expected is the number of packets expected
 * since the start (extended highest sequence - first sequence + 1) and
 * received the number received since the start (duplicates included, as
 * the RFC counts them), both modulo 2^32. The caller sets rb's ssrc,
 * ext_highest_seq, lsr and dlsr. */
void rtcp_rxstats_report(struct rtcp_rxstats *s, uint32_t expected, uint32_t received,
                         struct rtcp_report_block *rb);

/* The fraction lost of one interval (RFC 3550 A.3): lost / expected in
 * 1/256, truncated; 0 when nothing was expected or nothing (or less than
 * nothing, duplicates) was lost; at most 255. */
uint8_t rtcp_fraction_lost(uint32_t expected_interval, uint32_t received_interval);

/* The cumulative lost count clamped to its 24-bit signed field: at most
 * 0x7fffff, at least -0x800000 (RFC 3550 6.4.1). */
int32_t rtcp_clamp_lost(int64_t lost);

/* A time in ns as RTP units at rate Hz, modulo 2^32 (for
 * rtcp_rxstats_arrival). ns >= 0. */
uint32_t rtcp_rtp_units(int64_t ns, uint32_t rate);

/* ---- VoIP Metrics encodings (RFC 3611 4.7) ------------------------------ */

/* A fraction 0..1 as 1/256, truncated and limited to 255 (loss, discard,
 * burst and gap density). Negative or NaN: 0. */
uint8_t rtcp_xr_rate(double fraction);
/* A MOS 1..5 as MOS x 10 (10..50, rounded and limited); NaN:
 * RTCP_XR_UNAVAILABLE. */
uint8_t rtcp_xr_mos(double mos);
/* An R factor as 0..100 (rounded and limited); NaN: RTCP_XR_UNAVAILABLE. */
uint8_t rtcp_xr_r(double r);

/* ---- transmission interval (RFC 3550 6.3, A.7) -------------------------- */

struct rtcp_interval_params {
  unsigned members;           /* in the session, ourselves included */
  unsigned senders;           /* of them, those that sent RTP lately */
  double rtcp_bw;             /* bytes per second for RTCP (DL_RTCP_BW_PERMILLE of the session) */
  double avg_rtcp_size;       /* bytes per compound packet, IP and UDP headers included */
  int we_sent;                /* we sent RTP since the report before last */
  int initial;                /* no RTCP sent yet: the minimum is halved */
  int64_t min_interval_ns;    /* 0: DL_RTCP_MIN_INTERVAL_MS */
};

/* The randomised interval to the next report in ns: the deterministic
 * interval (at least the minimum, halved initially), times u + 0.5, divided
 * by e - 3/2 (the compensation for timer reconsideration). u is a random
 * number in [0, 1) that the caller draws; out-of-range u is clamped. */
int64_t rtcp_interval_ns(const struct rtcp_interval_params *p, double u);

/* That u: the next of a xorshift64 sequence in *state (seeded non-zero by
 * the caller), uniform in [0, 1). */
double rtcp_interval_draw(uint64_t *state);

/* avg_rtcp_size after a compound packet of bytes (IP and UDP headers
 * included) was sent or received: RFC 3550 6.3.3's 1/16 moving average. */
double rtcp_avg_size_update(double avg, size_t bytes);

/* ---- the session's members (RFC 3550 6.3.2, 6.3.5) ------------------------ */

/* The other participants heard, by SSRC, each with when it was last heard:
 * in a group, every receiver's reports reach every member, and the report
 * interval grows with their number. A fixed table: beyond RTCP_MEMBERS_MAX
 * the one heard longest ago gives way (the count then saturates, so the
 * interval is that of RTCP_MEMBERS_MAX members). */
#define RTCP_MEMBERS_MAX 256
/* RFC 3550 6.3.5: a member not heard for this many deterministic report
 * intervals (M) has left. */
#define RTCP_MEMBER_TIMEOUT_INTERVALS 5

struct rtcp_members {
  unsigned n;
  uint32_t ssrc[RTCP_MEMBERS_MAX];
  int64_t heard_ns[RTCP_MEMBERS_MAX];
};

/* ssrc was heard (an RTCP packet of it, or RTP) at now_ns. */
void rtcp_members_heard(struct rtcp_members *m, uint32_t ssrc, int64_t now_ns);
/* ssrc said BYE: it has left. */
void rtcp_members_left(struct rtcp_members *m, uint32_t ssrc);
/* Removes those not heard since now_ns - timeout_ns; returns how many are
 * left. */
unsigned rtcp_members_expire(struct rtcp_members *m, int64_t now_ns, int64_t timeout_ns);
/* A parsed compound heard at now_ns: its reporter joins (or stays), the
 * SSRCs of its BYE leave; own_ssrc (our own reports, looped back by a
 * group) is never counted. */
void rtcp_members_take(struct rtcp_members *m, const struct rtcp_info *in, uint32_t own_ssrc,
                       int64_t now_ns);
/* 1 if ssrc is among them. */
int rtcp_members_has(const struct rtcp_members *m, uint32_t ssrc);

#endif /* DL_RTCP_H */
