#!/usr/bin/env bash
# A calm path after a rough one (bench/sim, virtual time): 60 s of normal
# jitter sd 30 ms, then almost none. The adaptive target must come back
# down (within 2 ms of where it settles) within 30 s; the latency follows by
# resampling alone (no frame dropped), at the bounded slew.
# tags: sanitize
# timeout: 300
. "$(dirname "$0")/../lib.sh"
SIM=$BUILD/bench/sim
built bench/sim
need python3
SEED=${DL_SEED:-1}
say "seed $SEED (DL_SEED)"
"$SIM" --duration 150 --trace normal:30 --calm-after 60 --seed "$SEED" >"$T/calm.json" ||
  fail "sim failed"
python3 - "$T/calm.json" <<'PY' || fail "target did not come down in time (seed $SEED)"
import json, sys
d = json.load(open(sys.argv[1])); s = d["sim"]
print("target %.1f ms when the path calmed, settles at %.1f ms: within 2 ms of it after %.1f s; "
      "the latency follows after %.1f s; late %d of %d packets" % (
      s["calm_from_ms"], s["target_end_ms"], s["calm_target_down_s"], s["calm_latency_down_s"],
      s["late"], s["sent"]))
sys.exit(0 if s["calm_target_down_s"] <= 30 and s["target_end_ms"] < 30 else 1)
PY
pass
