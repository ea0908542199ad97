#!/usr/bin/env bash
# Loopback end to end: our sender -> our receiver -o out.wav over 127.0.0.1,
# both with default settings. On this clean path the receiver's final stats
# say lost, late and concealed 0; its output aligns with the clean-path
# decode of the same stream (tests/tools/encdec, the sender's encoder
# settings, nothing lost) with correlation >= 0.95; and the stream inside the
# WAV (first to last audible sample, between the silence the sink plays
# before the stream and after it) lasts as long as in the clean decode within
# one frame (20 ms: the sender's RTCP BYE ends it, no tail is concealed),
# and it played as many packets as the sender sent:
# nothing was dropped, repeated or stretched.
# --latency 100 rather than the 60 ms start of auto: either program is an
# ordinary process that can stall for tens of ms on a loaded 2-core machine,
# and a packet late for that reason says nothing about the path.
# tags: sanitize tsan
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox ss python3
built sender receiver tools/wavcmp tools/encdec

sox "$TOP/tests/data/speech.flac" -b 16 "$T/in.wav" trim 2 8
"$BUILD/tools/encdec" "$T/in.wav" "$T/clean.wav" || fail "encdec exited $?"

port=$(free_rtp_port) || fail "no free port"
# --no-resample: the output is compared sample-exact with a decode, so
# the drift resampler (which stretches time to move latency to its target,
# by design) stays out; drift_e2e.sh and the simulator test it.
bg "$BUILD/receiver" --no-resample -q --latency 100 -o "$T/out.wav" --idle-exit 2 --stats "$T/rx.json" \
  "127.0.0.1:$port" >"$T/rx.log" 2>&1
rx=$!
udp_bound "$port" 10 || fail "receiver did not bind port $port: $(tail -n 3 "$T/rx.log")"
bg "$BUILD/sender" -q --stats "$T/tx.json" "$T/in.wav" "127.0.0.1:$port" >"$T/tx.log" 2>&1
tx=$!
wait_exit "$tx" 30; rc=$?
[ $rc = 0 ] || { tail -n 40 "$T/tx.log"; fail "sender exited $rc"; }
say "sender final stats: $(tail -n 1 "$T/tx.json" 2>/dev/null)"
wait_exit "$rx" 15; rc=$?
[ $rc = 0 ] || { tail -n 40 "$T/rx.log"; fail "receiver exited $rc (--idle-exit 2 after the stream)"; }
say "receiver final stats: $(tail -n 1 "$T/rx.json")"

res=$("$BUILD/tools/wavcmp" "$T/clean.wav" "$T/out.wav" --max-lag-ms 10000 --json) ||
  fail "wavcmp failed"
say "wavcmp against the clean decode: $res"
say "wavcmp against the input: $("$BUILD/tools/wavcmp" "$T/in.wav" "$T/out.wav" --max-lag-ms 10000 --json)"

python3 - "$T/rx.json" "$res" "$T/tx.json" <<'PY' || fail "see above"
import json, sys
def final_line(path):
    try:
        lines = [l for l in open(path) if '"final"' in l]
    except OSError:
        return None
    return json.loads(lines[-1]) if lines else None
bad = []
final = [final_line(sys.argv[1])] if final_line(sys.argv[1]) else []
tx = final_line(sys.argv[3])
if not final:
    bad.append("no final stats line")
else:
    f = final[-1]
    for k in ("lost", "late", "concealed"):
        if f.get(k) != 0:
            bad.append("%s = %s, expected 0" % (k, f.get(k)))
    # The sender's RTCP BYE ends the stream once it is played (issue 13):
    # no PLC or silence after it.
    for k in ("tail_concealed", "tail_silence"):
        if f.get(k) != 0:
            bad.append("%s = %s, expected 0 (the stream ended with BYE)" % (k, f.get(k)))
    if not f.get("played"):
        bad.append("played = %s" % f.get("played"))
    if tx is None:
        bad.append("no final sender stats line")
    elif f.get("played") != tx.get("sent"):
        bad.append("played %s packets, the sender sent %s" % (f.get("played"), tx.get("sent")))
d = json.loads(sys.argv[2])
if d["corr"] is None or d["corr"] < 0.95:
    bad.append("corr %s < 0.95 against the clean decode" % d["corr"])
# The sender's BYE tells the end of the stream from a loss: nothing is
# concealed after its last packet. So the output runs within one frame of
# the clean decode.
diff = d["out_span_s"] - d["ref_span_s"]
if not -0.020 <= diff <= 0.020:
    bad.append("stream lasts %.4f s in the output, %.4f s in the clean decode (outside -20..+20 ms)"
               % (d["out_span_s"], d["ref_span_s"]))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
pass
