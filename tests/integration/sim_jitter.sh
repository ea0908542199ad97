#!/usr/bin/env bash
# Adaptive target on jitter traces of 10 simulated minutes (bench/sim, the
# receiver's pipeline in virtual time): normal jitter sd 10 and 30 ms,
# Pareto (scale 10 ms, shape 3) and delay spikes (queue stalls of about
# 150 ms every 30 s). Each: late-loss <= 1 % and mean latency <= 1.2 x the
# hindsight-optimal fixed latency for that loss (the smallest fixed latency
# with no more late packets, found by re-running the same trace).
# And FEC in time: on a calm path (normal jitter sd 2 ms) with 2 % single
# losses, the adaptive target leaves the packet after a loss time to be
# there when the lost frame is decoded: >= 95 % of losses are FEC-decoded
# (without the sink's read block in the target, 36 %).
# timeout: 900
. "$(dirname "$0")/../lib.sh"
SIM=$BUILD/bench/sim
built bench/sim
need python3
SEED=${DL_SEED:-1}
say "seed $SEED (DL_SEED)"
DUR=${DL_SIM_JITTER:-600}

traces=(normal:10 normal:30 pareto:10:3 spikes:30:150)
i=0
for tr in "${traces[@]}"; do
  "$SIM" --duration "$DUR" --trace "$tr" --hindsight --seed "$SEED" >"$T/$i.json" 2>"$T/$i.err" &
  pids[$i]=$!
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then wait "${pids[$((i - 2))]}" "${pids[$((i - 1))]}"; fi
done
wait
bad=0
i=0
for tr in "${traces[@]}"; do
  [ -s "$T/$i.json" ] || { cat "$T/$i.err"; fail "$tr: sim failed"; }
  python3 - "$T/$i.json" "$tr" <<'PY' || bad=1
import json, sys
d = json.load(open(sys.argv[1])); s = d["sim"]
ok_loss = s["late_pct"] <= 1.0
ok_lat = s["mean_over_hindsight"] <= 1.2
print("%-15s late-loss %.3f %%, mean latency %.2f ms (p99 %.2f), target mean %.2f ms, hindsight fixed "
      "%.0f ms (late %.3f %%): ratio %.3f; %d probes, %.1f s + %.1f s wall" % (sys.argv[2], s["late_pct"],
      d["latency_ms"]["mean"], d["latency_ms"]["p99"], s["target_mean_ms"], s["hindsight_ms"],
      s["hindsight_late_pct"], s["mean_over_hindsight"], s["hindsight_runs"], s["wall_s"], s["hindsight_wall_s"]))
if not (ok_loss and ok_lat):
    print("  FAILED: " + ("late-loss > 1 %  " if not ok_loss else "") + ("mean > 1.2 x hindsight" if not ok_lat else ""))
    sys.exit(1)
PY
  i=$((i + 1))
done
[ $bad -eq 0 ] || fail "a jitter trace missed its bounds (seed $SEED)"

"$SIM" --duration 300 --trace normal:2 --loss 2 --seed "$SEED" >"$T/fec.json" || fail "sim failed (fec run)"
python3 - "$T/fec.json" <<'PY' || fail "FEC came too late for single losses (seed $SEED)"
import json, sys
d = json.load(open(sys.argv[1]))
lost, fec, plc = d["lost"], d["fec_recovered"], d["concealed"]
print("normal:2, 2 %% loss: lost %d, FEC %d, PLC %d, late %d, target %.2f ms, mean latency %.2f ms"
      % (lost, fec, plc, d["late"], d["latency_ms"]["target"], d["latency_ms"]["mean"]))
sys.exit(0 if lost > 100 and fec >= 0.95 * lost else 1)
PY
pass
