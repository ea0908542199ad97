/* The sender's adaptation to its receiver's reports (issue 13, --adapt):
 * the encoder's expected packet loss (OPUS_SET_PACKET_LOSS_PERC) and its
 * in-band FEC follow the reported loss, and the bitrate steps down when
 * loss and round-trip time together say the path is congested (a queue
 * builds up: the RTT rises above the least seen), and back up when it has
 * been calm for a while. Pure: one report in, the new settings out.
 *
 * Expected loss. Each report's loss l (percent, its fraction lost) moves
 * an estimate: up at once (est = l when l > est), down by half the
 * difference per report, so that a loss is planned for at its first report
 * and forgotten over a few. The setting is the estimate rounded up (0
 * below half a percent), with hysteresis: it rises when that is
 * DL_ADAPT_HYST_PCT points above it (or it was 0), and falls only after
 * DL_ADAPT_FALL_REPORTS reports in a row wanted DL_ADAPT_HYST_PCT points
 * less (or 0). FEC is on while the setting is above 0 (and FEC is
 * allowed: --no-fec keeps it off).
 *
 * Bitrate. Queueing delay q = RTT - least RTT. Congested: q >=
 * DL_ADAPT_QUEUE_MS with loss >= DL_ADAPT_CONGESTED_LOSS_PCT, or q >= 3
 * DL_ADAPT_QUEUE_MS, in DL_ADAPT_CONGESTED_REPORTS reports in a row (one
 * late report is a host that stalled): the bitrate steps down by a quarter
 * (within the floor). Calm: loss under 1 % and q under DL_ADAPT_QUEUE_MS / 3 for
 * DL_ADAPT_CALM_REPORTS reports in a row: up by a quarter (within the
 * configured bitrate). Random loss without a queue never lowers it:
 * fewer bits would not lose fewer packets there; FEC is the answer. */
#ifndef DL_ADAPT_H
#define DL_ADAPT_H

#include <stdint.h>

struct adapt_config {
  int fec;               /* FEC allowed */
  int loss_perc;         /* the start (--expect-loss), 0..100 */
  int bitrate;           /* the configured bitrate: the ceiling */
  int min_bitrate;       /* the floor (<= bitrate) */
};

/* One receiver report. NaN where unknown. */
struct adapt_input {
  double loss_pct;       /* its fraction lost, percent */
  double rtt_ms;
  double rtt_min_ms;     /* the least RTT seen so far */
};

struct adapt {
  struct adapt_config cfg;
  double est;
  int loss_perc, fec, bitrate;   /* the settings now */
  int fall_votes, calm_reports, congested_reports;
  uint64_t events;               /* settings changed, each counted */
};

/* What adapt_report changed. */
#define ADAPT_LOSS    1u
#define ADAPT_FEC     2u
#define ADAPT_BITRATE 4u

void adapt_init(struct adapt *a, const struct adapt_config *cfg);

/* One report; returns the ADAPT_* bits of the settings that changed (read
 * them in a->loss_perc, a->fec, a->bitrate). */
unsigned adapt_report(struct adapt *a, const struct adapt_input *in);

#endif /* DL_ADAPT_H */
