/* The sender's RTCP session (see rtcp_tx.h). */
#include "tx/rtcp_tx.h"

#include <math.h>
#include <string.h>

#include "defaults.h"

unsigned rtcp_tx_members(const struct rtcp_tx *t)
{
  return t->others.n >= 1 ? 1 + t->others.n : 2;
}

static int64_t interval(struct rtcp_tx *t, double session_bw, double u)
{
  struct rtcp_interval_params p = {
    .members = rtcp_tx_members(t), .senders = 1, .we_sent = 1, .initial = t->initial,
    .rtcp_bw = session_bw * DL_RTCP_BW_PERMILLE / 1000.0,
    .avg_rtcp_size = t->avg_size, .min_interval_ns = t->cfg.min_interval_ns,
  };
  /* Td: the randomised interval at u = 1/2 undoes the compensation. */
  t->td_ns = (int64_t)((double)rtcp_interval_ns(&p, 0.5) * (M_E - 1.5));
  return rtcp_interval_ns(&p, u);
}

void rtcp_tx_member(struct rtcp_tx *t, const struct rtcp_info *in, int64_t now_ns)
{
  int64_t td = t->td_ns > 0 ? t->td_ns : t->cfg.min_interval_ns;

  rtcp_members_take(&t->others, in, t->cfg.ssrc, now_ns);
  rtcp_members_expire(&t->others, now_ns, RTCP_MEMBER_TIMEOUT_INTERVALS * td);
}

static void far_reset(struct rtcp_tx_far *f)
{
  memset(f, 0, sizeof *f);
  f->rtt_ms = f->rtt_min_ms = f->loss_pct = f->jitter_ms = NAN;
  f->mos = f->r_factor = f->latency_ms = f->xr_loss_pct = f->xr_discard_pct = NAN;
  f->jb_nominal_ms = NAN;
}

void rtcp_tx_init(struct rtcp_tx *t, const struct rtcp_tx_config *cfg, int64_t now_ns,
                  double session_bw, double u)
{
  memset(t, 0, sizeof *t);
  t->cfg = *cfg;
  if (cfg->cname != NULL) {
    size_t n = strnlen(cfg->cname, RTCP_MAX_TEXT);
    memcpy(t->cname, cfg->cname, n);
  }
  t->cfg.cname = t->cname;
  if (t->cfg.min_interval_ns <= 0)
    t->cfg.min_interval_ns = (int64_t)DL_RTCP_MIN_INTERVAL_MS * 1000000;
  t->initial = 1;
  t->avg_size = DL_RTCP_INITIAL_AVG_SIZE;
  far_reset(&t->far);
  t->prev_ns = now_ns;
  t->next_ns = now_ns + interval(t, session_bw, u);
}

int rtcp_tx_due(struct rtcp_tx *t, int64_t now_ns, double session_bw, double u)
{
  int64_t next;

  if (now_ns < t->next_ns)
    return 0;
  rtcp_members_expire(&t->others, now_ns,
                      RTCP_MEMBER_TIMEOUT_INTERVALS * (t->td_ns > 0 ? t->td_ns : t->cfg.min_interval_ns));
  next = t->prev_ns + interval(t, session_bw, u);
  if (next <= now_ns)
    return 1;
  t->next_ns = next;
  return 0;
}

int64_t rtcp_tx_next_ns(const struct rtcp_tx *t)
{
  return t->next_ns;
}

int rtcp_tx_build(struct rtcp_tx *t, const struct rtcp_tx_now *now, int bye, const char *reason,
                  uint8_t *buf, size_t cap)
{
  struct rtcp_builder b;
  struct rtcp_sender_info si = {
    .ssrc = t->cfg.ssrc, .ntp = rtcp_ntp_from_ns(now->realtime_ns), .rtp_ts = now->rtp_ts,
    .packet_count = now->packets, .octet_count = now->octets,
  };
  struct rtcp_sdes_chunk sd = {.ssrc = t->cfg.ssrc, .cname = t->cname, .tool = "driftless"};
  struct rtcp_dlrr_item d[RTCP_TX_MAX_RRT];
  struct rtcp_xr xr;

  rtcp_builder_init(&b, buf, cap);
  rtcp_builder_sr(&b, &si, NULL, 0);
  rtcp_builder_sdes(&b, &sd, 1);
  if (t->have_rrt) {
    /* RFC 3611 4.5: the receiver's RRT and how long we held it. */
    unsigned n = 0;
    for (unsigned i = 0; i < t->n_rrts && n < RTCP_TX_MAX_RRT; i++) {
      /* An RRT older than the reports' timeout (5 intervals at most
       * minutes) is a receiver gone. */
      if (now->mono_ns - t->rrts_arrival_ns[i] > (int64_t)RTCP_TX_RRT_KEEP_S * 1000000000)
        continue;
      d[n] = t->rrts[i];
      d[n].dlrr = rtcp_dlsr_from_ns(now->mono_ns - t->rrts_arrival_ns[i]);
      n++;
    }
    if (n == 0) {   /* all old: the last one, as before there were more */
      d[0] = t->rrt;
      d[0].dlrr = rtcp_dlsr_from_ns(now->mono_ns - t->rrt_arrival_ns);
      n = 1;
    }
    memset(&xr, 0, sizeof xr);
    xr.ssrc = t->cfg.ssrc;
    xr.dlrr = d;
    xr.n_dlrr = n;
    rtcp_builder_xr(&b, &xr);
  }
  if (bye)
    rtcp_builder_bye(&b, &t->cfg.ssrc, 1, reason);
  return rtcp_builder_finish(&b, 0);
}

void rtcp_tx_sent(struct rtcp_tx *t, int64_t now_ns, size_t wire_bytes, double session_bw, double u)
{
  t->avg_size = rtcp_avg_size_update(t->avg_size, wire_bytes);
  t->initial = 0;
  t->prev_ns = now_ns;
  t->next_ns = now_ns + interval(t, session_bw, u);
}

void rtcp_tx_seen(struct rtcp_tx *t, size_t wire_bytes)
{
  t->avg_size = rtcp_avg_size_update(t->avg_size, wire_bytes);
}

static double xr_value(uint8_t v, double scale)
{
  return v == RTCP_XR_UNAVAILABLE ? NAN : v / scale;
}

unsigned rtcp_tx_input(struct rtcp_tx *t, const struct rtcp_info *in, int64_t mono_ns,
                       int64_t realtime_ns)
{
  struct rtcp_tx_far *f = &t->far;
  unsigned what = 0;

  for (unsigned i = 0; i < in->n_reports; i++) {
    const struct rtcp_report_block *rb = &in->reports[i];
    int64_t rtt;

    if (rb->ssrc != t->cfg.ssrc)
      continue;
    what |= RTCP_TX_REPORT;
    f->have_report = 1;
    f->ssrc = in->ssrc;
    f->loss_pct = rb->fraction_lost * 100.0 / 256.0;
    f->cum_lost = rb->cumulative_lost;
    f->jitter_ms = rb->jitter * 1000.0 / DL_RATE;
    f->expected_interval = t->have_prev ? rb->ext_highest_seq - t->prev_ext_seq : 0;
    t->have_prev = 1;
    t->prev_ext_seq = rb->ext_highest_seq;
    rtt = rtcp_rtt_ns(rtcp_ntp_middle(rtcp_ntp_from_ns(realtime_ns)), rb->lsr, rb->dlsr);
    if (rtt >= 0) {
      f->rtt_ms = (double)rtt / 1e6;
      if (!(f->rtt_min_ms <= f->rtt_ms))
        f->rtt_min_ms = f->rtt_ms;
      what |= RTCP_TX_RTT;
    }
    break;   /* one stream: one block about it */
  }
  if (in->has_rrt) {
    t->have_rrt = 1;
    t->rrt.ssrc = in->xr_ssrc;
    t->rrt.lrr = rtcp_ntp_middle(in->rrt_ntp);
    t->rrt_arrival_ns = mono_ns;
    unsigned i, oldest = 0;
    for (i = 0; i < t->n_rrts && t->rrts[i].ssrc != in->xr_ssrc; i++)
      if (t->rrts_arrival_ns[i] < t->rrts_arrival_ns[oldest])
        oldest = i;
    if (i == t->n_rrts) {
      if (t->n_rrts < RTCP_TX_MAX_RRT)
        t->n_rrts++;
      else
        i = oldest;   /* full: the longest silent receiver's goes */
    }
    t->rrts[i] = t->rrt;
    t->rrts_arrival_ns[i] = mono_ns;
  }
  if (in->has_voip && in->voip.ssrc == t->cfg.ssrc) {
    const struct rtcp_voip_metrics *v = &in->voip;
    what |= RTCP_TX_XR;
    f->have_xr = 1;
    f->mos = xr_value(v->mos_cq, 10.0);
    f->r_factor = xr_value(v->r_factor, 1.0);
    f->latency_ms = v->end_system_delay;
    f->xr_loss_pct = v->loss_rate * 100.0 / 256.0;
    f->xr_discard_pct = v->discard_rate * 100.0 / 256.0;
    f->jb_nominal_ms = v->jb_nominal;
  }
  for (unsigned i = 0; i < in->n_bye; i++)
    if (in->bye_ssrc[i] == in->ssrc)
      what |= RTCP_TX_BYE;
  return what;
}

const struct rtcp_tx_far *rtcp_tx_far(const struct rtcp_tx *t)
{
  return &t->far;
}
