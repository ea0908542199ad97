/* The ITU-T G.107 E-model, reduced to what a one-way Opus stream can be
 * measured for: R = 93.2 - Id - Ie,eff, everything else at G.107's
 * defaults (which give the 93.2). Pure functions: any thread.
 *
 * Delay: Id from the one-way mouth-to-ear delay d (ms) by Cole and
 * Rosenbluth's fit to G.107: Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3).
 * The caller says what d is; the receiver uses frame duration + its
 * measured latency (arrival to sink) + an estimate of the network delay.
 *
 * Loss: Ie,eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl). G.113 has no
 * Ie or Bpl for Opus. We use Ie = 0 (Opus at speech bitrates is rated as
 * transparent as G.711 in listening tests, the codec whose Ie is 0) and
 * Bpl = 25.1 (G.113's value for G.711 with packet loss concealment, the
 * closest published case to Opus with PLC). Ppl counts frames that were
 * not played from their own packet or from FEC: an FEC-recovered frame is
 * not lost. BurstR = 1 / (p + q) from the observed runs (p: P(lost | the
 * frame before was not), q: P(not lost | the frame before was)); 1 for
 * random loss, above 1 for bursty loss. */
#ifndef DL_EMODEL_H
#define DL_EMODEL_H

#include <stdint.h>

#define EMODEL_R0   93.2   /* G.107 default basic signal-to-noise ratio minus defaults */
#define EMODEL_IE   0.0    /* equipment impairment of Opus (see above) */
#define EMODEL_BPL  25.1   /* packet-loss robustness (G.711 with PLC) */

/* Delay impairment Id for a one-way delay in ms (negative counts as 0). */
double emodel_id(double delay_ms);

/* Effective equipment impairment for loss_pct (0..100) and burst_r (>= 1
 * is usual; values <= 0 count as 1). */
double emodel_ie_eff(double loss_pct, double burst_r);

/* R for a one-way mouth-to-ear delay (ms), a loss in percent and BurstR.
 * The receiver's `r_factor`: emodel_r(frame_ms + latency_ms + net_ms,
 * loss_pct_after_fec, emodel_runs_burst_r(&runs)). NaN in, NaN out. */
double emodel_r(double delay_ms, double loss_pct, double burst_r);

/* MOS (conversational quality, 1..4.5) from R, G.107 Annex B. */
double emodel_mos(double r);

/* Accumulates the lost / not lost sequence of frames in play order, to
 * give the loss percentage and BurstR. Zero it with emodel_runs_init. */
struct emodel_runs {
  uint64_t frames;
  uint64_t lost;
  uint64_t found_to_lost;    /* transitions, frame before not lost */
  uint64_t found_to_found;
  uint64_t lost_to_found;
  uint64_t lost_to_lost;
  int have_prev;
  int prev_lost;
};

void emodel_runs_init(struct emodel_runs *r);
/* One frame: lost = 1 if it was concealed by PLC or silence (not played
 * from its packet nor recovered by FEC). */
void emodel_runs_add(struct emodel_runs *r, int lost);
/* A run of n lost frames: n calls of emodel_runs_add(r, 1), in O(1). */
void emodel_runs_add_lost(struct emodel_runs *r, uint64_t n);
double emodel_runs_loss_pct(const struct emodel_runs *r);   /* 0 with no frames */
/* BurstR = 1 / (p + q); 1 with no loss (or no transitions to measure). */
double emodel_runs_burst_r(const struct emodel_runs *r);
/* The mean length of a run of lost frames (0 with no loss). */
double emodel_runs_mean_burst(const struct emodel_runs *r);

#endif /* DL_EMODEL_H */
