#!/usr/bin/env bash
# End to end on loopback: our sender -> our receiver -o out.wav, 8 s of
# speech. On a clean path nothing is lost, late or concealed within the
# stream; every packet sent is played; the output aligns with a clean
# decode of the same stream (tests/tools/encdec: identical encoder
# settings, so the match is near bit-exact: correlation >= 0.95 and no
# damaged 20 ms window); the audio lasts the input's duration within one
# frame, with digital silence before it and after it (the sender's RTCP
# BYE ends the stream: no concealment after its last packet). The sender
# runs --no-adapt: its reports would change the encoder's settings
# mid-stream, and the clean decode is of the settings it starts with.
# --latency 100: the sender is an ordinary process that can stall on a
# loaded machine; the clean-path counts are the point here.
# tags: sanitize tsan
# timeout: 90
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender tools/wavcmp tools/encdec

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 8 || fail "sox"
"$BUILD/tools/encdec" "$T/in.wav" "$T/ref.wav" || fail "encdec"
port=$(free_rtp_port) || fail "no free port"

# --no-resample: the output is compared sample-exact with a decode, so
# the drift resampler (which stretches time to move latency to its target,
# by design) stays out; drift_e2e.sh and the simulator test it.
bg "$BUILD/receiver" --no-resample -v --latency 100 -o "$T/out.wav" --idle-exit 1 --stats "$T/rx.jsonl" \
   --stats-interval 500 "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }
timeout 40 "$BUILD/sender" -q --no-adapt --stats "$T/tx.jsonl" "$T/in.wav" "127.0.0.1:$port" ||
  fail "sender exited $?"
wait_exit "$rx" 15
rc=$?
cat "$T/rx.err"
[ $rc -eq 0 ] || fail "receiver exited $rc"
final=$(tail -n 1 "$T/rx.jsonl")
echo "receiver: $final"
echo "sender:   $(tail -n 1 "$T/tx.jsonl")"
"$BUILD/tools/wavcmp" --max-lag-ms 8000 "$T/ref.wav" "$T/out.wav" | tee "$T/cmp.txt"

python3 - "$final" "$(tail -n 1 "$T/tx.jsonl")" "$T/cmp.txt" "$T/out.wav" "$(soxi -s "$T/in.wav")" <<'PY' ||
import json, sys, wave
s = json.loads(sys.argv[1]); tx = json.loads(sys.argv[2])
cmp = dict(l.strip().split("=", 1) for l in open(sys.argv[3]) if "=" in l)
in_frames = int(sys.argv[5])
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(s.get("final") is True and tx.get("final") is True, "both final lines")
for k in ("lost", "late", "duplicate", "invalid", "rejected", "overflow", "resyncs", "underruns", "fec_recovered"):
    check(s[k] == 0, f"{k} == 0 (got {s[k]})")
check(s["received"] == tx["sent"] and s["played"] == tx["sent"], f"sent {tx['sent']} = received {s['received']} = played {s['played']}")
check(s["concealed"] == 0, f"concealed == 0 (got {s['concealed']})")
# The stream's end: its BYE, so no PLC after it (issue 13).
check(s.get("tail_concealed") == 0, f"tail_concealed == 0 (got {s.get('tail_concealed')})")
check(abs(s["played"] * 960 - in_frames) < 960, f"played audio {s['played'] * 960} frames = input {in_frames} within one frame")
corr = float(cmp["corr"]); lag = float(cmp["lag_ms"])
check(corr >= 0.95, f"correlation with the clean decode {corr} >= 0.95")
check(int(cmp["damaged"]) == 0, f"no damaged window ({cmp['damaged']} of {cmp['windows']})")
lat = s["latency_ms"]
print(f"latency_ms: {lat}  jitter_ms: {s['jitter_ms']}")
check(lat["target"] - 6 <= lat["mean"] <= lat["target"] + 40, f"mean latency {lat['mean']} within -6..+40 ms of target {lat['target']}")
with wave.open(sys.argv[4]) as w:
    x = memoryview(w.readframes(w.getnframes())).cast("h")
check(len(x) == s["sink_frames"], f"WAV frames {len(x)} == sink_frames {s['sink_frames']}")
start = int(lag / 1000 * 48000) - 48
end = int((lag / 1000 + in_frames / 48000) * 48000) + 960
check(start > 0 and not any(x[:start]), f"silence before the stream ({start} frames)")
check(end < len(x) and not any(x[end:]), f"silence after the input's end + one frame ({len(x) - end} frames)")
sys.exit(1 if bad else 0)
PY
  fail "checks failed"
pass "corr $(sed -n 's/^corr=//p' "$T/cmp.txt"), latency $(python3 -c "import json,sys; print(json.loads(sys.argv[1])['latency_ms'])" "$final")"
