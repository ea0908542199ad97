#!/usr/bin/env bash
# RTCP through build/impair (issue 13), 1 s report intervals, seeded:
#  1. 100 ms delay each way: the sender's rtt_ms is 200 +- 20 ms (in all
#     stats lines but at most one, the median within 5 ms), the receiver's
#     own (RRT/DLRR) too, and its transit_ms (the
#     E-model's) 100 +- 10 ms; the RTCP bandwidth share is measured.
#  2. A loss step 0 -> 10 % -> 0 (--loss 10 --loss-window 8:12, 20 ms
#     delay): the reported loss over the window is impair's within 1 point
#     (cumulative counts) and the mean of the interval reports within 3;
#     the encoder's expected loss rises (FEC on) within 3 s of the step and
#     falls back to 0 (FEC off) within 10 s after it ends; the trajectory
#     is printed.
#  3. 5 % loss throughout, and 20 % of RTCP lost both ways (--rtcp-loss):
#     the far end's MOS at the sender equals the receiver's own mos within
#     0.1; the RTP loss stays impair's --loss.
# tags: sanitize
# timeout: 180
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender impair
SEED=${DL_SEED:-11}
say "seed $SEED (DL_SEED)"
S=$BUILD/sender R=$BUILD/receiver I=$BUILD/impair
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" || fail "sox"

# run NAME DURATION_S IMPAIR_ARGS...: sender -> impair -> receiver.
run() {
  local name=$1 dur=$2 rp lp rx ip
  shift 2
  rp=$(free_rtp_port) && lp=$(free_rtp_port) || fail "no free ports"
  [ "$rp" != "$lp" ] || fail "no free ports"
  # --idle-exit as well: with --rtcp-loss the BYE itself may be lost.
  bg "$R" -q --latency 120 -o "$T/$name.wav" --exit-on-bye --idle-exit 2 --duration $((dur + 20)) --rtcp-interval 1000 \
     --stats "$T/$name.rx.jsonl" "127.0.0.1:$rp" 2>"$T/$name.rx.err"
  rx=$!
  udp_bound "$rp" 10 || fail "$name: receiver did not bind"
  bg "$I" -q --seed "$SEED" --stats "$T/$name.imp.jsonl" --duration $((dur + 20)) "$@" \
     "127.0.0.1:$lp" "127.0.0.1:$rp" 2>"$T/$name.imp.err"
  ip=$!
  udp_bound "$lp" 10 || fail "$name: impair did not bind"
  timeout $((dur + 20)) "$S" -v --rtcp-interval 1000 --loop --duration "$dur" --stats "$T/$name.tx.jsonl" \
    "$T/in.wav" "127.0.0.1:$lp" 2>"$T/$name.tx.err" || fail "$name: sender exited $?"
  wait_exit "$rx" 10 || fail "$name: receiver exited $?"
  kill -TERM "$ip"
  wait_exit "$ip" 10 || fail "$name: impair exited $?"
  say "$name rx: $(tail -n 1 "$T/$name.rx.jsonl")"
  say "$name tx: $(tail -n 1 "$T/$name.tx.jsonl")"
  say "$name impair: $(tail -n 1 "$T/$name.imp.jsonl")"
}

run delay 12 --delay 100
run step 32 --delay 20 --loss 10 --loss-window 8:12
run loss5 15 --loss 5 --rtcp-loss 20
grep 'adapt:' "$T/step.tx.err" | sed 's/^/  /'

python3 - "$T" <<'PY' || fail "checks failed"
import json, sys
T = sys.argv[1]
def lines(n): return [json.loads(l) for l in open(f"{T}/{n}")]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)

# 1. Delay.
tx, rx, imp = lines("delay.tx.jsonl"), lines("delay.rx.jsonl")[-1], lines("delay.imp.jsonl")[-1]
rtts = sorted(l["rtt_ms"] for l in tx if l["rtt_ms"] is not None)
inside = sum(180 <= r <= 220 for r in rtts)
# One report delayed by a stalled process (60 ms was seen on a busy
# 2-core machine) is the machine, not the path: at most one may be out.
check(len(rtts) >= 8 and inside >= len(rtts) - 1 and 195 <= rtts[len(rtts) // 2] <= 205,
      f"delay: sender rtt_ms 200 +- 20 in {inside} of {len(rtts)} lines, median {rtts[len(rtts) // 2]:.1f} "
      f"({rtts[0]:.1f}..{rtts[-1]:.1f})")
check(rx["rtt_ms"] is not None and 180 <= rx["rtt_ms"] <= 220, f"delay: receiver rtt_ms {rx['rtt_ms']} (RRT/DLRR)")
check(rx["transit_source"] == "rtt" and 90 <= rx["transit_ms"] <= 110,
      f"delay: transit_ms {rx['transit_ms']} from {rx['transit_source']}")
# On one host the SR's wall clock is the receiver's: the same transit.
check(rx["transit_clock_ms"] is not None and 90 <= rx["transit_clock_ms"] <= 115,
      f"delay: transit_clock_ms {rx['transit_clock_ms']}")
check(rx["emodel"]["delay_ms"] > 100 + rx["latency_ms"]["mean"],
      f"delay: the E-model's delay {rx['emodel']['delay_ms']} ms counts the transit")
rtp = imp["bytes"] + 28 * imp["received"]
rtcp = imp["rtcp_bytes"] + imp["back_bytes"] + 28 * (imp["rtcp_received"] + imp["back_received"])
print(f"RTCP bandwidth share (1 s intervals, both ways, IP+UDP counted): {100.0 * rtcp / rtp:.2f} % "
      f"({imp['rtcp_received']} SR, {imp['back_received']} RR, {imp['rtcp_bytes'] / max(imp['rtcp_received'], 1):.0f} "
      f"and {imp['back_bytes'] / max(imp['back_received'], 1):.0f} bytes each)")
check(100.0 * rtcp / rtp < 5, "delay: RTCP within 5 % of the session bandwidth")

# 2. The loss step. impair's clock starts at its first datagram, the
# sender's at its t0: within a few ms of each other.
tx, rx, imp = lines("step.tx.jsonl"), lines("step.rx.jsonl")[-1], lines("step.imp.jsonl")[-1]
print("t_s  reported_loss_pct  lost_reported  encoder_loss_pct  fec  bitrate")
for l in tx:
    print(f"{l['t']:5.1f}  {l['loss_pct_reported']}  {l['lost_reported']}  {l['encoder_loss_pct']}  "
          f"{l['fec']}  {l['encoder_bitrate']}")
def at(t): return min(tx, key=lambda l: abs(l["t"] - t))
before, after = at(7.5), at(21.5)
window_truth = 100.0 * imp["lost"] / (12 * 50)
reported = 100.0 * ((after["lost_reported"] or 0) - (before["lost_reported"] or 0)) / (12 * 50)
check(abs(imp["lost"] - (tx[-1]["lost_reported"] or 0)) <= 3,
      f"step: the receiver reported {tx[-1]['lost_reported']} lost, impair lost {imp['lost']}")
check(abs(reported - window_truth) <= 1,
      f"step: reported loss over the window {reported:.2f} % vs impair {window_truth:.2f} %")
inside = [l["loss_pct_reported"] for l in tx if 10 <= l["t"] <= 20]
mean = sum(inside) / len(inside)
check(abs(mean - window_truth) <= 3, f"step: mean interval report {mean:.2f} % vs impair {window_truth:.2f} % (within 3)")
check(all(l["encoder_loss_pct"] == 0 and not l["fec"] for l in tx if 6 <= l["t"] <= 8),
      "step: before the loss the encoder plans for none (FEC off)")
rise = [l["t"] for l in tx if l["t"] >= 8 and l["encoder_loss_pct"] >= 5 and l["fec"]]
check(rise and rise[0] <= 11, f"step: expected loss >= 5 % with FEC on at {rise[0] if rise else None} s (loss from 8 s)")
fall = [l["t"] for l in tx if l["t"] >= 20 and l["encoder_loss_pct"] == 0 and not l["fec"]]
check(fall and fall[0] <= 30, f"step: back to 0 (FEC off) at {fall[0] if fall else None} s (loss until 20 s)")
check(tx[-1]["adapt_events"] >= 4, f"step: adapt_events {tx[-1]['adapt_events']}")

# 3. 5 % loss: the far end's MOS at the sender is the receiver's.
tx, rx = lines("loss5.tx.jsonl")[-1], lines("loss5.rx.jsonl")[-1]
check(rx["lost"] > 0 and rx["mos"] is not None, f"loss5: the receiver lost {rx['lost']}, mos {rx['mos']}")
check(tx["far_mos"] is not None and abs(tx["far_mos"] - rx["mos"]) <= 0.1,
      f"loss5: far_mos {tx['far_mos']} = receiver mos {rx['mos']} within 0.1")
check(abs(tx["loss_pct_reported"] - 5) <= 5, f"loss5: last report {tx['loss_pct_reported']} %")
imp = lines("loss5.imp.jsonl")[-1]
check(imp["rtcp_lost"] > 0 and 2 <= imp["loss_pct"] <= 8,
      f"loss5: impair lost {imp['rtcp_lost']} RTCP datagrams, RTP loss {imp['loss_pct']} %")
check(abs(imp["lost"] - (tx["lost_reported"] or 0)) <= 5,
      f"loss5: reported {tx['lost_reported']} lost, impair {imp['lost']}")
sys.exit(1 if bad else 0)
PY
pass "seed $SEED"
