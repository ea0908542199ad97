/* The receiver's RTCP session (see rtcp_rx.h). */
#include "rx/rtcp_rx.h"

#include <math.h>
#include <string.h>

#include "defaults.h"
#include "wire/rtp.h"

#define MAX_DROPOUT 3000      /* RFC 3550 A.1: a jump this far restarts the counts */
#define TRANSIT_WEIGHT (1.0 / 64)

void rtcp_rx_init(struct rtcp_rx *r, const struct rtcp_rx_config *cfg)
{
  memset(r, 0, sizeof *r);
  r->cfg = *cfg;
  if (cfg->cname != NULL) {
    size_t n = strnlen(cfg->cname, RTCP_MAX_TEXT);
    memcpy(r->cname, cfg->cname, n);
  }
  r->cfg.cname = r->cname;
  if (r->cfg.min_interval_ns <= 0)
    r->cfg.min_interval_ns = (int64_t)DL_RTCP_MIN_INTERVAL_MS * 1000000;
  r->rtt_ns = -1;
  r->transit_clock_ns = NAN;
  r->initial = 1;
  r->avg_size = DL_RTCP_INITIAL_AVG_SIZE;
}

void rtcp_rx_clock(struct rtcp_rx *r, int64_t mono_ns, int64_t realtime_ns)
{
  r->mono_to_real_ns = realtime_ns - mono_ns;
  r->have_clock = 1;
}

/* ---- the burst/gap pattern (RFC 3611 4.7.2) ------------------------------ */

/* A loss less than Gmin received packets after the one before starts (or
 * continues) a burst, which takes that earlier loss and the packets between
 * with it; Gmin packets without a loss end a burst. */
static void burst_lost(struct rtcp_rx *r)
{
  if (r->have_loss && r->since_loss < RTCP_RX_GMIN) {
    if (r->in_burst) {
      r->burst_pkts += r->pend + 1;
      r->burst_lost++;
    } else {
      /* The previous loss and what followed it were counted in the gap. */
      r->gap_pkts -= r->since_loss + 1;
      r->gap_lost--;
      r->burst_pkts += r->since_loss + 2;
      r->burst_lost += 2;
      r->in_burst = 1;
      r->bursts++;
    }
  } else {
    r->gap_pkts++;
    r->gap_lost++;
  }
  r->pend = 0;
  r->since_loss = 0;
  r->have_loss = 1;
}

static void burst_received(struct rtcp_rx *r)
{
  r->since_loss++;
  if (!r->in_burst) {
    r->gap_pkts++;
    return;
  }
  if (++r->pend >= RTCP_RX_GMIN) {
    r->in_burst = 0;
    r->gap_pkts += r->pend;
    r->pend = 0;
  }
}

/* ---- packets and reports in --------------------------------------------- */

static void take_sr(struct rtcp_rx *r, const struct rtcp_sender_info *sr, int64_t arrival_ns)
{
  r->sr = *sr;
  r->sr_arrival_ns = arrival_ns;
  r->have_sr = 1;
  r->sr_count++;
}

static void new_source(struct rtcp_rx *r, uint32_t ssrc, uint16_t seq, int64_t arrival_ns)
{
  r->have_source = 1;
  r->source_ssrc = ssrc;
  r->max_seq = seq;
  r->cycles = 0;
  r->base_seq = seq;
  r->received = 0;
  rtcp_rxstats_init(&r->rs);
  r->gap_pkts = r->gap_lost = r->burst_pkts = r->burst_lost = r->bursts = 0;
  r->since_loss = r->pend = 0;
  r->in_burst = r->have_loss = 0;
  r->bytes = 0;
  r->first_ns = arrival_ns;
  r->transit_clock_ns = NAN;
  r->have_sr = 0;
  if (r->have_pending_sr && r->pending_sr.ssrc == ssrc)
    take_sr(r, &r->pending_sr, r->pending_sr_arrival_ns);
  r->have_pending_sr = 0;
}

void rtcp_rx_packet(struct rtcp_rx *r, uint32_t ssrc, uint16_t seq, uint32_t ts, int samples,
                    int64_t arrival_ns, size_t datagram_len)
{
  if (!r->have_source || ssrc != r->source_ssrc) {
    new_source(r, ssrc, seq, arrival_ns);
  } else {
    int d = (int16_t)(uint16_t)(seq - r->max_seq);
    if (d > MAX_DROPOUT) {
      new_source(r, ssrc, seq, arrival_ns);   /* the sender's sequence restarted */
    } else if (d > 0) {
      if (seq < r->max_seq)
        r->cycles += 65536;
      r->max_seq = seq;
      for (int k = 1; k < d; k++)
        burst_lost(r);
    }
    /* d <= 0: a duplicate or a late one; counted received, as A.3 does. */
  }
  r->received++;
  burst_received(r);
  rtcp_rxstats_arrival(&r->rs, ts, rtcp_rtp_units(arrival_ns, DL_RATE));
  if (samples > 0)
    r->frame_samples = samples;
  r->bytes += datagram_len;
  r->last_ns = arrival_ns;
  if (r->have_sr && r->have_clock) {
    /* The sender's wall clock at this timestamp, through its last SR. */
    double sent = (double)rtcp_ntp_to_ns(r->sr.ntp) +
                  (double)(int32_t)(ts - r->sr.rtp_ts) * 1e9 / DL_RATE;
    double t = (double)(arrival_ns + r->mono_to_real_ns) - sent;
    r->transit_clock_ns = isnan(r->transit_clock_ns)
                              ? t
                              : r->transit_clock_ns + (t - r->transit_clock_ns) * TRANSIT_WEIGHT;
  }
}

void rtcp_rx_input(struct rtcp_rx *r, const struct rtcp_info *in, int64_t now_ns,
                   struct rtcp_rx_input_result *res)
{
  memset(res, 0, sizeof *res);
  if (in->has_sr) {
    if (r->have_source && in->sr.ssrc == r->source_ssrc) {
      take_sr(r, &in->sr, now_ns);
      res->what |= RTCP_RX_SR;
    } else {
      r->pending_sr = in->sr;   /* perhaps the stream about to start */
      r->pending_sr_arrival_ns = now_ns;
      r->have_pending_sr = 1;
    }
  }
  if (r->have_clock) {
    uint32_t arrival = rtcp_ntp_middle(rtcp_ntp_from_ns(now_ns + r->mono_to_real_ns));
    for (unsigned i = 0; i < in->n_dlrr; i++) {
      const struct rtcp_dlrr_item *d = &in->dlrr[i];
      int64_t rtt;
      if (d->ssrc != r->cfg.ssrc)
        continue;
      rtt = rtcp_rtt_ns(arrival, d->lrr, d->dlrr);
      if (rtt >= 0) {
        r->rtt_ns = rtt;
        res->what |= RTCP_RX_RTT;
      }
    }
  }
  for (unsigned i = 0; i < in->n_bye && r->have_source; i++) {
    if (in->bye_ssrc[i] != r->source_ssrc)
      continue;
    res->what |= RTCP_RX_BYE;
    res->bye_ssrc = in->bye_ssrc[i];
    if (in->has_sr && in->sr.ssrc == r->source_ssrc) {
      res->have_end_ts = 1;
      res->end_ts = in->sr.rtp_ts;
    }
  }
}

/* ---- reports out ---------------------------------------------------------- */

int rtcp_rx_ready(const struct rtcp_rx *r)
{
  return r->have_source;
}

static uint32_t expected(const struct rtcp_rx *r)
{
  return r->cycles + r->max_seq - r->base_seq + 1;
}

double rtcp_rx_loss_fraction(const struct rtcp_rx *r)
{
  double e = r->have_source ? (double)expected(r) : 0;
  double lost = e - (double)r->received;
  return e > 0 && lost > 0 ? lost / e : 0;
}

static uint16_t ms16(double ms)
{
  if (!(ms > 0))
    return 0;
  return ms >= 65535 ? 65535 : (uint16_t)lround(ms);
}

static double ratio(uint64_t a, uint64_t b)
{
  return b > 0 ? (double)a / (double)b : 0;
}

static void fill_voip(const struct rtcp_rx *r, const struct rtcp_rx_quality *q,
                      struct rtcp_voip_metrics *v)
{
  double frame_ms = r->frame_samples > 0 ? r->frame_samples * 1000.0 / DL_RATE : 20.0;
  uint32_t e = expected(r);

  memset(v, 0, sizeof *v);
  v->ssrc = r->source_ssrc;
  v->loss_rate = rtcp_xr_rate(rtcp_rx_loss_fraction(r));
  v->discard_rate = rtcp_xr_rate(ratio(q->discarded, e));
  v->burst_density = rtcp_xr_rate(ratio(r->burst_lost, r->burst_pkts));
  v->gap_density = rtcp_xr_rate(ratio(r->gap_lost, r->gap_pkts));
  v->burst_duration = ms16(r->bursts > 0 ? (double)r->burst_pkts * frame_ms / (double)r->bursts : 0);
  v->gap_duration = ms16((double)r->gap_pkts * frame_ms / (double)(r->bursts + 1));
  v->round_trip_delay = ms16(r->rtt_ns >= 0 ? (double)r->rtt_ns / 1e6 : 0);
  v->end_system_delay = ms16(q->end_system_ms);
  v->signal_level = RTCP_XR_UNAVAILABLE;
  v->noise_level = RTCP_XR_UNAVAILABLE;
  v->rerl = RTCP_XR_UNAVAILABLE;
  v->gmin = RTCP_RX_GMIN;
  v->r_factor = rtcp_xr_r(q->r_factor);
  v->ext_r_factor = RTCP_XR_UNAVAILABLE;
  v->mos_lq = rtcp_xr_mos(q->mos_lq);
  v->mos_cq = rtcp_xr_mos(q->mos_cq);
  v->rx_config = RTCP_XR_RX_CONFIG(q->plc_silence ? RTCP_XR_PLC_SILENCE : RTCP_XR_PLC_ENHANCED,
                                   q->jb_adaptive ? RTCP_XR_JB_ADAPTIVE : RTCP_XR_JB_FIXED, 0);
  v->jb_nominal = ms16(q->jb_nominal_ms);
  v->jb_maximum = ms16(q->jb_max_ms);
  v->jb_abs_max = ms16(q->jb_abs_max_ms);
}

int rtcp_rx_build(struct rtcp_rx *r, int64_t now_ns, const struct rtcp_rx_quality *q,
                  uint8_t *buf, size_t cap)
{
  struct rtcp_builder b;
  struct rtcp_report_block rb;
  struct rtcp_sdes_chunk sd = {.ssrc = r->cfg.ssrc, .cname = r->cname};
  struct rtcp_voip_metrics vm;
  struct rtcp_xr xr;

  if (!r->have_source)
    return RTCP_ERR_ARG;
  memset(&rb, 0, sizeof rb);
  rb.ssrc = r->source_ssrc;
  rb.ext_highest_seq = r->cycles + r->max_seq;
  rtcp_rxstats_report(&r->rs, expected(r), r->received, &rb);
  if (r->have_sr) {
    rb.lsr = rtcp_ntp_middle(r->sr.ntp);
    rb.dlsr = rtcp_dlsr_from_ns(now_ns - r->sr_arrival_ns);
  }
  memset(&xr, 0, sizeof xr);
  xr.ssrc = r->cfg.ssrc;
  if (r->have_clock) {
    xr.has_rrt = 1;
    xr.rrt_ntp = rtcp_ntp_from_ns(now_ns + r->mono_to_real_ns);
  }
  if (q != NULL) {
    fill_voip(r, q, &vm);
    xr.voip = &vm;
  }
  rtcp_builder_init(&b, buf, cap);
  rtcp_builder_rr(&b, r->cfg.ssrc, &rb, 1);
  rtcp_builder_sdes(&b, &sd, 1);
  if (xr.has_rrt || xr.voip != NULL)
    rtcp_builder_xr(&b, &xr);
  return rtcp_builder_finish(&b, 0);
}

/* ---- the schedule --------------------------------------------------------- */

/* The session bandwidth (bytes per second, IP and UDP headers included)
 * from the source's packets; before a second of them, a default stream's. */
static double session_bw(const struct rtcp_rx *r)
{
  double dur = (double)(r->last_ns - r->first_ns) / 1e9;

  if (r->have_source && dur >= 1.0)
    return ((double)r->bytes + (double)r->received * DL_RTCP_IP_UDP_OVERHEAD) / dur;
  return DL_DEFAULT_BITRATE_MONO / 8.0 + 50.0 * (RTP_HEADER_LEN + DL_RTCP_IP_UDP_OVERHEAD);
}

unsigned rtcp_rx_members(const struct rtcp_rx *r)
{
  unsigned n = 1 + r->others.n;   /* ourselves and the others heard */

  if (!r->have_source || !rtcp_members_has(&r->others, r->source_ssrc))
    n++;                          /* the source, heard or to come */
  return n;
}

static int64_t interval(struct rtcp_rx *r, double u)
{
  struct rtcp_interval_params p = {
    .members = rtcp_rx_members(r), .senders = 1, .we_sent = 0, .initial = r->initial,
    .rtcp_bw = session_bw(r) * DL_RTCP_BW_PERMILLE / 1000.0,
    .avg_rtcp_size = r->avg_size, .min_interval_ns = r->cfg.min_interval_ns,
  };
  /* Td: the randomised interval at u = 1/2 undoes the compensation. */
  r->td_ns = (int64_t)((double)rtcp_interval_ns(&p, 0.5) * (M_E - 1.5));
  return rtcp_interval_ns(&p, u);
}

/* RFC 3550 6.3.5: those not heard for M deterministic intervals left. */
static void expire(struct rtcp_rx *r, int64_t now_ns)
{
  int64_t td = r->td_ns > 0 ? r->td_ns : r->cfg.min_interval_ns;
  rtcp_members_expire(&r->others, now_ns, RTCP_MEMBER_TIMEOUT_INTERVALS * td);
}

void rtcp_rx_member(struct rtcp_rx *r, const struct rtcp_info *in, int64_t now_ns)
{
  rtcp_members_take(&r->others, in, r->cfg.ssrc, now_ns);
  expire(r, now_ns);
}

void rtcp_rx_start(struct rtcp_rx *r, int64_t now_ns, double u)
{
  r->prev_ns = now_ns;
  r->next_ns = now_ns + interval(r, u);
}

int rtcp_rx_due(struct rtcp_rx *r, int64_t now_ns, double u)
{
  int64_t t;

  if (r->next_ns == 0 || now_ns < r->next_ns)
    return 0;
  expire(r, now_ns);
  t = r->prev_ns + interval(r, u);
  if (t <= now_ns)
    return 1;
  r->next_ns = t;
  return 0;
}

int64_t rtcp_rx_next_ns(const struct rtcp_rx *r)
{
  return r->next_ns;
}

void rtcp_rx_sent(struct rtcp_rx *r, int64_t now_ns, size_t wire_bytes, double u)
{
  r->avg_size = rtcp_avg_size_update(r->avg_size, wire_bytes);
  r->initial = 0;
  r->prev_ns = now_ns;
  r->next_ns = now_ns + interval(r, u);
}

void rtcp_rx_seen(struct rtcp_rx *r, size_t wire_bytes)
{
  r->avg_size = rtcp_avg_size_update(r->avg_size, wire_bytes);
}

/* ---- what it learnt -------------------------------------------------------- */

int64_t rtcp_rx_transit(const struct rtcp_rx *r, enum rtcp_transit_source *source)
{
  double t = r->transit_clock_ns;

  if (r->rtt_ns >= 0) {
    *source = RTCP_TRANSIT_RTT;
    return r->rtt_ns / 2;
  }
  if (!isnan(t) && t >= -(double)DL_TRANSIT_CLOCK_SLACK_MS * 1e6 &&
      t <= (double)DL_TRANSIT_CLOCK_MAX_MS * 1e6) {
    *source = RTCP_TRANSIT_CLOCK;
    return t > 0 ? (int64_t)t : 0;
  }
  *source = RTCP_TRANSIT_NONE;
  return 0;
}

const char *rtcp_transit_source_name(enum rtcp_transit_source s)
{
  switch (s) {
  case RTCP_TRANSIT_RTT: return "rtt";
  case RTCP_TRANSIT_CLOCK: return "clock";
  default: return "none";
  }
}

void rtcp_rx_get_stats(const struct rtcp_rx *r, struct rtcp_rx_stats *out)
{
  memset(out, 0, sizeof *out);
  out->sr_received = r->sr_count;
  out->have_sr = r->have_sr;
  out->sender_packets = r->sr.packet_count;
  out->sender_octets = r->sr.octet_count;
  out->rtt_ns = r->rtt_ns;
  out->members = rtcp_rx_members(r);
  out->transit_clock_ns = isnan(r->transit_clock_ns) ? INT64_MIN : (int64_t)r->transit_clock_ns;
}
