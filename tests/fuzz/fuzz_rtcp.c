/* libFuzzer target: rtcp_parse on arbitrary datagrams. Besides memory
 * errors (ASan/UBSan), it checks what must hold for every result:
 *   - a refusal is a named rtcp error and leaves the info zeroed;
 *   - an accepted compound starts with an SR or RR (so rtcp_is_rtcp says
 *     yes), its bounded lists are within their bounds and its texts are
 *     terminated;
 *   - packing what was parsed (SR/RR, SDES, XR, BYE, one of each) and
 *     parsing that again gives the same fields, when nothing was dropped
 *     for a bound; where the reporter's chunk has a CNAME, the compound
 *     builder makes the same bytes as the packers one after the other.
 * The RTT and NTP helpers get the input's first bytes as well. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REPACK 16384

static void check(int ok)
{
  if (!ok)
    abort();
}

static int voip_equal(const struct rtcp_voip_metrics *a, const struct rtcp_voip_metrics *b)
{
  return a->ssrc == b->ssrc && a->loss_rate == b->loss_rate && a->discard_rate == b->discard_rate &&
         a->burst_density == b->burst_density && a->gap_density == b->gap_density &&
         a->burst_duration == b->burst_duration && a->gap_duration == b->gap_duration &&
         a->round_trip_delay == b->round_trip_delay && a->end_system_delay == b->end_system_delay &&
         a->signal_level == b->signal_level && a->noise_level == b->noise_level &&
         a->rerl == b->rerl && a->gmin == b->gmin && a->r_factor == b->r_factor &&
         a->ext_r_factor == b->ext_r_factor && a->mos_lq == b->mos_lq && a->mos_cq == b->mos_cq &&
         a->rx_config == b->rx_config && a->jb_nominal == b->jb_nominal &&
         a->jb_maximum == b->jb_maximum && a->jb_abs_max == b->jb_abs_max;
}

static int block_equal(const struct rtcp_report_block *a, const struct rtcp_report_block *b)
{
  return a->ssrc == b->ssrc && a->fraction_lost == b->fraction_lost &&
         a->cumulative_lost == b->cumulative_lost && a->ext_highest_seq == b->ext_highest_seq &&
         a->jitter == b->jitter && a->lsr == b->lsr && a->dlsr == b->dlsr;
}

/* The fields a re-pack carries; the packet counts are not among them. */
static void check_same(const struct rtcp_info *a, const struct rtcp_info *b)
{
  check(a->ssrc == b->ssrc && a->has_sr == b->has_sr);
  if (a->has_sr)
    check(a->sr.ssrc == b->sr.ssrc && a->sr.ntp == b->sr.ntp && a->sr.rtp_ts == b->sr.rtp_ts &&
          a->sr.packet_count == b->sr.packet_count && a->sr.octet_count == b->sr.octet_count);
  check(a->n_reports == b->n_reports);
  for (unsigned i = 0; i < a->n_reports; i++)
    check(block_equal(&a->reports[i], &b->reports[i]));
  check(a->n_sdes_chunks == b->n_sdes_chunks);
  for (unsigned i = 0; i < a->n_sdes_chunks; i++)
    check(a->sdes_ssrc[i] == b->sdes_ssrc[i]);
  check(a->has_cname == b->has_cname && a->has_name == b->has_name && a->has_tool == b->has_tool);
  check(strcmp(a->cname, b->cname) == 0 && strcmp(a->name, b->name) == 0 &&
        strcmp(a->tool, b->tool) == 0);
  check(a->has_bye == b->has_bye && a->n_bye == b->n_bye && a->has_bye_reason == b->has_bye_reason);
  for (unsigned i = 0; i < a->n_bye; i++)
    check(a->bye_ssrc[i] == b->bye_ssrc[i]);
  check(strcmp(a->bye_reason, b->bye_reason) == 0);
  check(a->has_xr == b->has_xr && a->xr_ssrc == b->xr_ssrc && a->has_rrt == b->has_rrt &&
        a->rrt_ntp == b->rrt_ntp && a->n_dlrr == b->n_dlrr && a->has_voip == b->has_voip);
  for (unsigned i = 0; i < a->n_dlrr; i++)
    check(a->dlrr[i].ssrc == b->dlrr[i].ssrc && a->dlrr[i].lrr == b->dlrr[i].lrr &&
          a->dlrr[i].dlrr == b->dlrr[i].dlrr);
  if (a->has_voip)
    check(voip_equal(&a->voip, &b->voip));
}

static int terminated(const char *s, size_t cap)
{
  return memchr(s, '\0', cap) != NULL;
}

static void repack(const struct rtcp_info *in)
{
  static uint8_t buf[MAX_REPACK], built[MAX_REPACK];
  static struct rtcp_info again;
  struct rtcp_sdes_chunk chunks[RTCP_MAX_SDES_CHUNKS];
  struct rtcp_xr xr;
  size_t n = 0;
  int rc, mine = -1;

  if (in->reports_dropped || in->sdes_chunks_dropped || in->bye_dropped || in->dlrr_dropped)
    return;
  memset(chunks, 0, sizeof chunks);
  for (unsigned i = 0; i < in->n_sdes_chunks; i++) {
    chunks[i].ssrc = in->sdes_ssrc[i];
    if (mine < 0 && in->sdes_ssrc[i] == in->ssrc) {
      mine = (int)i;
      chunks[i].cname = in->has_cname ? in->cname : NULL;
      chunks[i].name = in->has_name ? in->name : NULL;
      chunks[i].tool = in->has_tool ? in->tool : NULL;
    }
  }
  memset(&xr, 0, sizeof xr);
  xr.ssrc = in->xr_ssrc;
  xr.has_rrt = in->has_rrt;
  xr.rrt_ntp = in->rrt_ntp;
  xr.dlrr = in->dlrr;
  xr.n_dlrr = in->n_dlrr;
  xr.voip = in->has_voip ? &in->voip : NULL;

  rc = in->has_sr ? rtcp_pack_sr(&in->sr, in->reports, in->n_reports, buf, sizeof buf)
                  : rtcp_pack_rr(in->ssrc, in->reports, in->n_reports, buf, sizeof buf);
  check(rc > 0);
  n += (size_t)rc;
  if (in->n_sdes_chunks > 0) {
    rc = rtcp_pack_sdes(chunks, in->n_sdes_chunks, buf + n, sizeof buf - n);
    check(rc > 0);
    n += (size_t)rc;
  }
  if (in->has_xr) {
    rc = rtcp_pack_xr(&xr, buf + n, sizeof buf - n);
    check(rc > 0);
    n += (size_t)rc;
  }
  if (in->has_bye) {
    rc = rtcp_pack_bye(in->bye_ssrc, in->n_bye, in->has_bye_reason ? in->bye_reason : NULL,
                       buf + n, sizeof buf - n);
    check(rc > 0);
    n += (size_t)rc;
  }
  check(rtcp_parse(buf, n, &again) == RTCP_OK);
  check_same(in, &again);

  /* The builder, where its rules hold (a CNAME for the reporter). */
  if (mine >= 0 && in->has_cname) {
    struct rtcp_builder b;
    rtcp_builder_init(&b, built, sizeof built);
    if (in->has_sr)
      rtcp_builder_sr(&b, &in->sr, in->reports, in->n_reports);
    else
      rtcp_builder_rr(&b, in->ssrc, in->reports, in->n_reports);
    rtcp_builder_sdes(&b, chunks, in->n_sdes_chunks);
    if (in->has_xr)
      rtcp_builder_xr(&b, &xr);
    if (in->has_bye)
      rtcp_builder_bye(&b, in->bye_ssrc, in->n_bye, in->has_bye_reason ? in->bye_reason : NULL);
    rc = rtcp_builder_finish(&b, 0);
    check(rc > 0 && (size_t)rc == n && memcmp(built, buf, n) == 0);
  }
}

static uint32_t word(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct rtcp_info info, zero;
  int rc;

  if (size >= 12) {
    int64_t rtt = rtcp_rtt_ns(word(data), word(data + 4), word(data + 8));
    check(rtt >= 0 || rtt == RTCP_ERR_NO_SR || rtt == RTCP_ERR_RTT_NEGATIVE);
    check(rtt < 0 || rtt <= rtcp_dlsr_to_ns(0x7fffffffu));
    /* Any time from 1970 to 2106 comes back from NTP to the same ns. */
    uint64_t raw = (uint64_t)word(data) << 32 | word(data + 4);
    int64_t ns = (int64_t)(raw % (uint64_t)(4294967295LL * 1000000000LL));
    check(rtcp_ntp_to_ns(rtcp_ntp_from_ns(ns)) == ns);
  }

  rc = rtcp_parse(data, size, &info);
  if (rc != RTCP_OK) {
    check(rc <= RTCP_ERR_SHORT && rc >= RTCP_ERR_XR_BLOCK_LENGTH);
    check(strcmp(rtcp_strerror(rc), "unknown error") != 0);
    check(memcmp(&info, &zero, sizeof info) == 0);
    return 0;
  }
  check(rtcp_is_rtcp(data, size));
  check(data[1] == RTCP_PT_SR || data[1] == RTCP_PT_RR);
  check(info.has_sr == (data[1] == RTCP_PT_SR));
  check(info.n_packets >= 1 && info.n_packets <= size / 4 && info.n_skipped < info.n_packets);
  check(info.n_reports <= RTCP_MAX_REPORTS && info.n_sdes_chunks <= RTCP_MAX_SDES_CHUNKS);
  check(info.n_bye <= RTCP_MAX_BYE && info.n_dlrr <= RTCP_MAX_DLRR);
  check(terminated(info.cname, sizeof info.cname) && terminated(info.name, sizeof info.name) &&
        terminated(info.tool, sizeof info.tool) &&
        terminated(info.bye_reason, sizeof info.bye_reason));
  repack(&info);
  return 0;
}
