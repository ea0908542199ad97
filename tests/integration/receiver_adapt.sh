#!/usr/bin/env bash
# Adapting in real time (issue 15), through build/impair, judged from the
# output WAV against the clean-path decode (tests/tools/encdec) along its
# own lag line (wavcmp --warp: splices and the drift resampler's stretch
# are followed, concealment and garbage counted):
#   - a +100 ms route change at 6 s (impair --change): recognised, no
#     resync, at most 12 damaged 20 ms windows (the step and one packet to
#     confirm it, 120 ms, and the fades at its ends);
#   - a jitter burst (sd 5 -> 40 ms for 7 s): no resync, and no more damage
#     than the same receiver at a fixed latency equal to its own mean, on
#     the same seeded arrivals, + 1 point.
# The sender runs --no-adapt, so that its encoding is the clean decode's.
# tags: solo
# timeout: 240
. "$(dirname "$0")/../lib.sh"
need sox python3
built sender receiver impair tools/wavcmp tools/encdec
SEED=${DL_SEED:-5}
say "seed $SEED (DL_SEED)"
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 16 || fail "sox"
"$BUILD/tools/encdec" "$T/in.wav" "$T/clean.wav" || fail "encdec"

# run NAME RECEIVER_FLAGS -- IMPAIR_FLAGS: $T/NAME.{wav,jsonl,cmp}
run() {
  local name=$1 rport lport rx im; shift
  local rflags=() iflags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do rflags+=("$1"); shift; done
  shift
  iflags=("$@")
  rport=$(free_rtp_port) && lport=$(free_rtp_port) || fail "no free port"
  bg "$BUILD/receiver" -q -o "$T/$name.wav" --idle-exit 1 --stats "$T/$name.jsonl" "${rflags[@]}" \
     "127.0.0.1:$rport" 2>"$T/$name.err"
  rx=$!
  bg "$BUILD/impair" -q --seed "$SEED" --duration 40 "${iflags[@]}" "127.0.0.1:$lport" "127.0.0.1:$rport"
  im=$!
  udp_bound "$rport" 10 && udp_bound "$lport" 10 || fail "$name: receiver or relay did not bind"
  "$BUILD/sender" -q --no-adapt "$T/in.wav" "127.0.0.1:$lport" || fail "$name: sender failed"
  wait_exit "$rx" 20 || { cat "$T/$name.err"; fail "$name: receiver exited $?"; }
  kill -TERM "$im" 2>/dev/null
  "$BUILD/tools/wavcmp" --warp --max-lag-ms 3000 --json "$T/clean.wav" "$T/$name.wav" >"$T/$name.cmp" ||
    fail "$name: wavcmp"
}

report() {
  python3 - "$T/$1.jsonl" "$T/$1.cmp" "$1" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
c = json.load(open(sys.argv[2]))
print("%s: damaged %d of %d windows (%.2f %%), latency mean %.1f ms, late %d, PLC %d, silence %d, "
      "resyncs %d, route steps %d, splices %d" % (sys.argv[3], c["warp_damaged"], c["warp_windows"],
      c["warp_damaged_pct"], s["latency_ms"]["mean"], s["late"], s["concealed"], s["silence"],
      s["resyncs"], s["route_steps"], s["tsm_splices"]))
PY
}

run step -- --delay 20 --jitter 1 --change 6:120
report step
python3 - "$T/step.jsonl" "$T/step.cmp" <<'PY' || fail "route change"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
c = json.load(open(sys.argv[2]))
bad = []
if s["resyncs"] != 0: bad.append("resyncs %d" % s["resyncs"])
if s["route_steps"] < 1: bad.append("the step was not recognised")
if c["warp_damaged"] > 12: bad.append("%d damaged windows > 12" % c["warp_damaged"])
if bad: print("FAIL " + "; ".join(bad)); sys.exit(1)
PY

run burst -- --delay 20 --jitter 5 --change 5:20:40 --change 12:20:5
report burst
mean=$(python3 -c 'import json,sys; print(round(json.loads(open(sys.argv[1]).read().splitlines()[-1])["latency_ms"]["mean"]))' "$T/burst.jsonl")
run fixed --latency "$mean" -- --delay 20 --jitter 5 --change 5:20:40 --change 12:20:5
report fixed
python3 - "$T/burst.jsonl" "$T/burst.cmp" "$T/fixed.cmp" <<'PY' || fail "jitter burst"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ours, fixed = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
print("burst: ours %.2f %% damaged, fixed at our mean latency %.2f %%" % (ours["warp_damaged_pct"], fixed["warp_damaged_pct"]))
bad = []
if s["resyncs"] != 0: bad.append("resyncs %d" % s["resyncs"])
if ours["warp_damaged_pct"] > fixed["warp_damaged_pct"] + 1.0:
    bad.append("more damage than the fixed buffer + 1 point")
if bad: print("FAIL " + "; ".join(bad)); sys.exit(1)
PY
pass "route change and jitter burst judged from the audio"
