#!/usr/bin/env bash
# Drift in virtual time: one simulated hour each of sender +300 ppm, sender
# -300 ppm, sink +200 ppm, and sender -300 with sink +200 at once, through
# the receiver's pipeline (bench/sim drives common/rx/rxpipe). After 30 s:
# |latency - target| <= 2 ms at p99, no frame dropped or inserted (no late,
# concealed, silent or resynced frame, every packet played), and drift_ppm
# within 10 ppm of the truth throughout.
# timeout: 900
. "$(dirname "$0")/../lib.sh"
SIM=$BUILD/bench/sim
built bench/sim
need python3
SEED=${DL_SEED:-1}
say "seed $SEED (DL_SEED)"
DUR=${DL_SIM_HOUR:-3600}

run_case() {   # name, sim flags...
  local name=$1; shift
  "$SIM" --duration "$DUR" --settle 30 --seed "$SEED" "$@" >"$T/$name.json" 2>"$T/$name.err" ||
    { cat "$T/$name.err"; return 1; }
}
# Two at a time: the machine has two cores.
run_case sender_p300 --sender-skew-ppm 300 & a=$!
run_case sender_m300 --sender-skew-ppm -300 & b=$!
wait $a || fail "sender +300: sim failed"
wait $b || fail "sender -300: sim failed"
run_case sink_p200 --sink-skew-ppm 200 & a=$!
run_case both --sender-skew-ppm -300 --sink-skew-ppm 200 & b=$!
wait $a || fail "sink +200: sim failed"
wait $b || fail "both: sim failed"

bad=0
for c in sender_p300 sender_m300 sink_p200 both; do
  python3 - "$T/$c.json" "$c" <<'PY' || bad=1
import json, sys
d = json.load(open(sys.argv[1])); s = d["sim"]; name = sys.argv[2]
checks = [
  ("err_p99_ms <= 2", s["err_p99_ms"] <= 2.0),
  ("drift_err_max_ppm <= 10", s["drift_err_max_ppm"] <= 10.0),
  ("late == 0", s["late"] == 0 and d["late"] == 0),
  ("no frame inserted (plc/fec/silence)", s["inserted"] == 0 and d["concealed"] == 0 and d["fec_recovered"] == 0),
  ("no resync", d["resyncs"] == 0),
  ("every packet played", s["unplayed"] == 0),
  ("ratio within 0.5 %", 0.995 <= s["ratio_min"] and s["ratio_max"] <= 1.005),
]
print("%-12s truth %8.2f ppm, drift_ppm %8.2f (max err %.2f), |lat-target| p99 %.3f max %.3f ms, "
      "played %d of %d, ratio %.6f..%.6f, %.1f s wall, %.1f s cpu" % (name, s["drift_true_ppm"],
      d["drift_ppm"], s["drift_err_max_ppm"], s["err_p99_ms"], s["err_max_ms"], d["played"], s["sent"],
      s["ratio_min"], s["ratio_max"], s["wall_s"], s["cpu_s"]))
failed = [n for n, ok in checks if not ok]
if failed:
    print("  FAILED: " + ", ".join(failed))
    sys.exit(1)
PY
done
[ $bad -eq 0 ] || fail "a drift case missed its bounds (seed $SEED)"
pass
