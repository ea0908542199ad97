#!/usr/bin/env bash
# Adapting in real time (issue 15), through build/impair, judged from the
# output WAV against the clean-path decode (tests/tools/encdec) along its
# own lag line (wavcmp --warp: splices and the drift resampler's stretch
# are followed, concealment and garbage counted):
#   - a +100 ms route change at 6 s (impair --change): recognised, no
#     resync, at most 12 damaged 20 ms windows (the step and one packet to
#     confirm it, 120 ms, and the fades at its ends);
#   - a jitter burst (sd 5 -> 40 ms for 7 s): no resync; after the
#     burst's first second (the onset, which an adaptive buffer pays at its
#     old target and a fixed buffer chosen in hindsight does not), no more
#     packets late than the same receiver at a fixed latency equal to its
#     own mean, on the same seeded arrivals, + 1 point (as sim_adapt.sh
#     judges it in virtual time); and the audio damaged over the whole
#     stream, onset included, below 5 % (before issue 15 the target rose at
#     4.5 ms/s and such a burst damaged 16-22 %).
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

run burst --trace "$T/burst.trace" -- --delay 20 --jitter 5 --change 5:20:40 --change 12:20:5
report burst
mean=$(python3 -c 'import json,sys; print(round(json.loads(open(sys.argv[1]).read().splitlines()[-1])["latency_ms"]["mean"]))' "$T/burst.jsonl")
run fixed --latency "$mean" --trace "$T/fixed.trace" -- --delay 20 --jitter 5 --change 5:20:40 --change 12:20:5
report fixed
python3 - "$T/burst.jsonl" "$T/burst.cmp" "$T/fixed.cmp" "$T/burst.trace" "$T/fixed.trace" <<'PY' || fail "jitter burst (seed $SEED)"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ours, fixed = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))

def late_in_burst(path):
    """Late and all packets with RTP time in [6 s, 12 s): the burst after its first second."""
    rows = [l.split("\t") for l in open(path).read().splitlines()[1:]]
    rows = [r for r in rows if len(r) >= 5]
    t0 = int(rows[0][1])
    seen, late = set(), set()
    for r in rows:
        t = ((int(r[1]) - t0) & 0xFFFFFFFF) / 48000.0
        if 6.0 <= t < 12.0:
            seen.add(r[0])
            if r[4] == "late":
                late.add(r[0])
    return len(late), len(seen)

ol, on = late_in_burst(sys.argv[4])
fl, fn = late_in_burst(sys.argv[5])
print("burst: ours %.2f %% damaged, fixed at our mean latency %.2f %%; after the onset ours %d late of %d "
      "(%.2f %%), fixed %d of %d (%.2f %%)" % (ours["warp_damaged_pct"], fixed["warp_damaged_pct"],
      ol, on, 100.0 * ol / on, fl, fn, 100.0 * fl / fn))
bad = []
if s["resyncs"] != 0: bad.append("resyncs %d" % s["resyncs"])
if on < 250 or fn < 250: bad.append("too few packets in the window (%d, %d)" % (on, fn))
elif 100.0 * ol / on > 100.0 * fl / fn + 1.0:
    bad.append("more late packets after the onset than the fixed buffer + 1 point")
if ours["warp_damaged_pct"] >= 5.0:
    bad.append("%.2f %% of the audio damaged (>= 5 %%)" % ours["warp_damaged_pct"])
if bad: print("FAIL " + "; ".join(bad)); sys.exit(1)
PY
pass "route change and jitter burst judged from the audio"
