#!/usr/bin/env bash
# GStreamer sends 8 s of speech as Opus/RTP (pt 96; its first timestamp
# step is 648, not 960: the encoder's lookahead) over loopback to our
# receiver writing a WAV. Clean path: nothing lost, late or concealed
# within the stream, every packet played, and the output aligns with the
# input (correlation >= 0.9).
# --latency 150: the sender is an ordinary process that can stall on a
# loaded machine; the clean-path counts are the point here.
# tags: sanitize
# timeout: 90
. "$(dirname "$0")/../lib.sh"
need gst-launch-1.0 sox python3
built receiver tools/wavcmp
gst-inspect-1.0 opusenc >/dev/null 2>&1 && gst-inspect-1.0 rtpopuspay >/dev/null 2>&1 ||
  skip "GStreamer opusenc/rtpopuspay plugins not installed"

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 8 || fail "sox"
port=$(free_rtp_port) || fail "no free port"
# --no-resample: the output is compared with the input at one lag, which
# the drift resampler's time stretch (tested by drift_e2e.sh) would blur.
bg "$BUILD/receiver" --no-resample -v --latency 150 -o "$T/out.wav" --idle-exit 1.5 --stats "$T/stats.jsonl" \
   "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }

timeout 40 gst-launch-1.0 -q filesrc location="$T/in.wav" ! wavparse ! audioconvert ! audioresample \
  ! audio/x-raw,rate=48000,channels=1 ! opusenc bitrate=32000 frame-size=20 \
  ! rtpopuspay pt=96 ssrc=3735928559 ! udpsink host=127.0.0.1 port="$port" >"$T/gst.log" 2>&1 ||
  { cat "$T/gst.log"; fail "gst-launch failed"; }
wait_exit "$rx" 15
rc=$?
cat "$T/rx.err"
[ $rc -eq 0 ] || fail "receiver exited $rc"
final=$(tail -n 1 "$T/stats.jsonl")
echo "final: $final"
"$BUILD/tools/wavcmp" --max-lag-ms 8000 "$T/in.wav" "$T/out.wav" | tee "$T/cmp.txt"
python3 - "$final" "$T/cmp.txt" <<'PY' || fail "checks failed"
import json, sys
s = json.loads(sys.argv[1])
cmp = dict(l.strip().split("=", 1) for l in open(sys.argv[2]) if "=" in l)
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(s.get("final") is True, "final line")
for k in ("lost", "late", "duplicate", "invalid", "rejected", "overflow", "resyncs"):
    check(s[k] == 0, f"{k} == 0 (got {s[k]})")
check(s["received"] >= 400 and s["played"] == s["received"], f"all {s['received']} packets played")
check(s["concealed"] == 0, f"concealed == 0 (got {s['concealed']})")
# The stream's end: 100 ms (5 frames) of PLC before silence, counted apart.
check(s.get("tail_concealed") == 5, f"tail_concealed == 5 (got {s.get('tail_concealed')})")
check(float(cmp["corr"]) >= 0.9, f"correlation with the input {cmp['corr']} >= 0.9")
sys.exit(1 if bad else 0)
PY
pass "corr $(sed -n 's/^corr=//p' "$T/cmp.txt")"
