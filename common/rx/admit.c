/* Admission (see admit.h for the rules). */
#include "rx/admit.h"

#include <errno.h>
#include <string.h>

#include "util/addr.h"

/* Of a keyless stream's first PROBE_PACKETS, at least one in PROBE_RATIO
 * failing the Opus check means encrypted payloads. */
#define PROBE_PACKETS 50
#define PROBE_RATIO   5
/* Authentication failures with none good before the key is said wrong. */
#define AUTH_SAY_AFTER 50

int admit_init(struct admit *a, const struct admit_config *cfg)
{
  if (cfg == NULL || (cfg->pt != 0 && (cfg->pt < DL_MIN_DYNAMIC_PT || cfg->pt > DL_MAX_DYNAMIC_PT)) ||
      cfg->restart_after_ns < 0 ||
      (cfg->peer != NULL && cfg->peer->sa_family != AF_INET && cfg->peer->sa_family != AF_INET6))
    return -EINVAL;
  memset(a, 0, sizeof *a);
  a->cfg = *cfg;
  if (cfg->peer != NULL) {
    addr_copy(&a->peer, cfg->peer);
    a->cfg.peer = (const struct sockaddr *)&a->peer;
  }
  a->locked_pt = cfg->pt != 0 ? cfg->pt : -1;
  return 0;
}

/* Returns 0 reject, 1 accept, 2 accept and (re)lock. Decides only. */
static int source_check(const struct admit *a, const struct sockaddr *from, uint32_t ssrc,
                        int64_t now)
{
  int64_t silent = now - a->last_accept_ns, restart = a->cfg.restart_after_ns;
  const struct sockaddr *lock = (const struct sockaddr *)&a->lock_addr;

  if (a->cfg.peer != NULL && !addr_same(a->cfg.peer, from, !a->cfg.peer_any_port))
    return 0;
  if (!a->locked)
    return 2;
  if (a->bye) {
    /* The stream ended: its stragglers pass (playout drops them as late),
     * anything else is a new stream, at once. */
    if (addr_same(lock, from, 1) && ssrc == a->lock_ssrc)
      return 1;
    return 2;
  }
  if (addr_same(lock, from, 0)) {
    if (addr_same(lock, from, 1) && ssrc == a->lock_ssrc)
      return 1;
    return silent >= restart ? 2 : 0;
  }
  return a->cfg.peer == NULL && silent >= 10 * restart ? 2 : 0;
}

/* Keyless: whether this packet's stream looks like SRTP (see admit.h).
 * Packets that passed before the verdict went on to the decoder, but the
 * first failure usually comes within the first two or three packets, and
 * a held first packet of the stream is dropped with the verdict. Returns
 * 1 to refuse this packet. */
static int probe_srtp(struct admit *a, uint32_t ssrc, int not_opus, unsigned *events)
{
  if (a->cfg.keyed)
    return 0;
  if (a->probe_n == 0 || ssrc != a->probe_ssrc) {
    a->probe_ssrc = ssrc;
    a->probe_n = a->probe_fail = 0;
    a->probe_srtp = 0;
  }
  if (a->probe_n < PROBE_PACKETS) {
    a->probe_n++;
    a->probe_fail += not_opus != 0;
    if (a->probe_fail > 0 && a->probe_fail * PROBE_RATIO >= a->probe_n && !a->probe_srtp) {
      a->probe_srtp = 1;
      if (a->held_valid && a->held.ssrc == ssrc) {   /* it never reaches the decoder */
        a->held_valid = 0;
        a->st.invalid++;
      }
      if (!a->srtp_said)
        *events |= ADMIT_EV_LOOKS_SRTP;
      a->srtp_said = 1;
    }
  }
  return a->probe_srtp;
}

/* Whether a payload type is acceptable; locks to the first dynamic one. */
static int pt_check(struct admit *a, unsigned pt, unsigned *events)
{
  if (a->locked_pt >= 0)
    return (int)pt == a->locked_pt;
  if (pt < DL_MIN_DYNAMIC_PT || pt > DL_MAX_DYNAMIC_PT)
    return 0;
  a->locked_pt = (int)pt;
  *events |= ADMIT_EV_PT_LOCKED;
  return 1;
}

/* Keyless: the hold of a stream's first packet (see admit.h). Returns 1 if
 * pkt was held; 0 to pass it now, after res->release if that is set. */
static int hold_gate(struct admit *a, const struct rtp_packet *pkt, struct admit_result *res)
{
  if (a->cfg.keyed)
    return 0;
  if (a->held_valid) {
    const struct rtp_packet *h = &a->held;
    int ok = pkt->ssrc == h->ssrc && pkt->seq == (uint16_t)(h->seq + 1) &&
             pkt->samples == h->samples && rtp_ts_diff(pkt->ts, h->ts) >= pkt->samples / 2;
    a->held_valid = 0;
    if (ok) {
      res->release = h;   /* untouched until the next call */
      a->plain_ssrc = pkt->ssrc;
      a->plain_ok = 1;
      return 0;
    }
    a->st.invalid++;
  } else if (a->plain_ok && pkt->ssrc == a->plain_ssrc) {
    return 0;
  }
  a->held = *pkt;
  memcpy(a->held_payload, pkt->payload, pkt->len);
  a->held.payload = a->held_payload;
  a->held_valid = 1;
  return 1;
}

static void verdict(struct admit_result *res, enum admit_verdict v, uint64_t *count)
{
  res->verdict = v;
  if (count != NULL)
    (*count)++;
}

void admit_packet(struct admit *a, const struct sockaddr *from, int parse,
                  const struct rtp_packet *pkt, struct admit_result *res)
{
  int opus_bad = parse == RTP_ERR_EMPTY || parse == RTP_ERR_OPUS || parse == RTP_ERR_TOO_LONG;
  int src;

  memset(res, 0, sizeof *res);
  if (parse != RTP_OK && !opus_bad) {
    res->reason = parse;
    verdict(res, ADMIT_INVALID, &a->st.invalid);
    return;
  }
  src = from != NULL ? source_check(a, from, pkt->ssrc, pkt->arrival_ns) : 0;
  if (src != 0 && probe_srtp(a, pkt->ssrc, parse == RTP_ERR_OPUS, &res->events)) {
    verdict(res, ADMIT_INVALID, &a->st.invalid);
    return;
  }
  if (opus_bad) {
    res->reason = parse;
    verdict(res, ADMIT_INVALID, &a->st.invalid);
    return;
  }
  if (src == 0 || !pt_check(a, pkt->pt, &res->events)) {
    verdict(res, ADMIT_REJECTED, &a->st.rejected);
    return;
  }
  if (src == 2) {
    if (a->locked && a->bye && !addr_same((const struct sockaddr *)&a->lock_addr, from, 0)) {
      res->events |= ADMIT_EV_LOCKED;   /* another host, after the stream's end */
    } else if (a->locked) {
      a->st.restarts++;
      res->events |= ADMIT_EV_RESTART;
      res->silent_ns = pkt->arrival_ns - a->last_accept_ns;
    } else {
      res->events |= ADMIT_EV_LOCKED;
    }
    addr_copy(&a->lock_addr, from);
    a->lock_ssrc = pkt->ssrc;
    a->locked = 1;
    a->bye = 0;
  }
  a->last_accept_ns = pkt->arrival_ns;
  verdict(res, hold_gate(a, pkt, res) ? ADMIT_HOLD : ADMIT_PASS, NULL);
}

void admit_invalid(struct admit *a)
{
  a->st.invalid++;
}

int admit_auth_failed(struct admit *a)
{
  a->st.auth_failed++;
  return a->auth_good == 0 && a->st.auth_failed == AUTH_SAY_AFTER;
}

void admit_auth_ok(struct admit *a)
{
  a->auth_good++;
}

int admit_bye(struct admit *a, const struct sockaddr *from, uint32_t ssrc)
{
  if (!a->locked || from == NULL || ssrc != a->lock_ssrc ||
      !addr_same((const struct sockaddr *)&a->lock_addr, from, 0))
    return 0;
  a->bye = 1;
  return 1;
}

int admit_locked(const struct admit *a, struct sockaddr_storage *addr, uint32_t *ssrc)
{
  if (!a->locked)
    return 0;
  if (addr != NULL)
    *addr = a->lock_addr;
  if (ssrc != NULL)
    *ssrc = a->lock_ssrc;
  return 1;
}

int admit_pt(const struct admit *a)
{
  return a->locked_pt;
}

void admit_get_stats(const struct admit *a, struct admit_stats *out)
{
  *out = a->st;
}
