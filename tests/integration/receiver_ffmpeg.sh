#!/usr/bin/env bash
# ffmpeg sends 8 s of speech as Opus/RTP (20 ms frames, pt 96) over loopback
# to our receiver writing a WAV (-o). On a clean path nothing may be lost,
# late or concealed; every packet is played; the WAV holds exactly the
# frames the final stats line says went into the sink; the audio aligns
# with ffmpeg's input (correlation >= 0.9) and its duration is the input's
# within one frame plus the latency.
# tags: sanitize tsan
# timeout: 90
# --latency 150: ffmpeg is an ordinary process; on a loaded machine it can
# stall for tens of ms, and a packet that late is (rightly) discarded. The
# clean-path counts are the point here, not the size of the latency.
. "$(dirname "$0")/../lib.sh"
need ffmpeg sox python3
built receiver tools/wavcmp

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 8 || fail "sox"
in_frames=$(soxi -s "$T/in.wav")
port=$(free_rtp_port) || fail "no free port"

# --no-resample: the output is compared sample-exact with a decode, so
# the drift resampler (which stretches time to move latency to its target,
# by design) stays out; drift_e2e.sh and the simulator test it.
bg "$BUILD/receiver" --no-resample -v --latency 150 -o "$T/out.wav" --idle-exit 1.5 --stats "$T/stats.jsonl" \
   --stats-interval 200 "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }

timeout 40 ffmpeg -nostdin -loglevel error -re -i "$T/in.wav" -c:a libopus -b:a 32k \
  -application voip -frame_duration 20 -payload_type 96 -ssrc 305419896 \
  -rtpflags skip_rtcp -f rtp -sdp_file "$T/tx.sdp" "rtp://127.0.0.1:$port" >"$T/ff.log" 2>&1 ||
  { cat "$T/ff.log"; fail "ffmpeg failed"; }
wait_exit "$rx" 15
rc=$?
cat "$T/rx.err"
[ $rc -eq 0 ] || fail "receiver exited $rc (want 0 after --idle-exit)"

final=$(tail -n 1 "$T/stats.jsonl")
echo "final: $final"
wav_frames=$(soxi -s "$T/out.wav") || fail "out.wav is not a readable WAV"
"$BUILD/tools/wavcmp" --max-lag-ms 8000 "$T/in.wav" "$T/out.wav" | tee "$T/cmp.txt"

python3 - "$final" "$in_frames" "$wav_frames" "$T/cmp.txt" "$T/out.wav" <<'PY' || fail "checks failed"
import json, sys
s = json.loads(sys.argv[1]); in_frames = int(sys.argv[2]); wav = int(sys.argv[3])
cmp = dict(l.strip().split("=", 1) for l in open(sys.argv[4]) if "=" in l)
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(s.get("final") is True, "final line has \"final\": true")
for k in ("lost", "late", "duplicate", "invalid", "rejected", "underruns", "fec_recovered", "overflow", "resyncs"):
    check(s[k] == 0, f"{k} == 0 (got {s[k]})")
# ffmpeg pads the end of the input to whole frames and adds the encoder's
# 312-sample lookahead: the packets carry 384000..384000+960+312 samples.
pkts = s["received"]
check(s["played"] == pkts, f"every received packet played ({s['played']} of {pkts})")
check(0 <= pkts * 960 - in_frames <= 960 + 312, f"packets cover the input: {pkts} x 960 vs {in_frames}")
# When the stream ends the engine conceals DL_SILENCE_AFTER_MS (100 ms =
# 5 frames) and then plays silence; with nothing after them those frames
# are the stream's tail, not a loss: tail_concealed, not concealed.
check(s["concealed"] == 0, f"concealed == 0 (got {s['concealed']})")
# The stream's end: 100 ms (5 frames) of PLC before silence, counted apart.
check(s.get("tail_concealed") == 5, f"tail_concealed == 5 (got {s.get('tail_concealed')})")
check(wav == s["sink_frames"], f"WAV length {wav} == sink_frames {s['sink_frames']}")
check(wav >= pkts * 960, f"WAV holds every played frame ({wav} >= {pkts * 960})")
lag = float(cmp["lag_ms"]); corr = float(cmp["corr"])
check(corr >= 0.9, f"correlation with the input {corr} >= 0.9")
# Duration: the audio in the WAV ends within one frame plus the latency of
# where the input (delayed by lag) ends; after it comes only silence.
lat = s["latency_ms"]
print(f"latency_ms: {lat}  jitter_ms: {s['jitter_ms']}")
# Nothing is played before its time (mean >= target, less a period); the
# upper bound leaves room for ffmpeg's 2-packet bursts and a loaded machine.
check(lat["mean"] is not None and lat["target"] - 10 <= lat["mean"] <= lat["target"] + 70,
      f"mean latency {lat['mean']} ms within -10..+70 ms of target {lat['target']}")
# Before the stream and after its end (plus the 100 ms of concealment that
# fades out) the sink gets digital silence: never stale audio.
import wave
with wave.open(sys.argv[5]) as w:
    pcm = w.readframes(w.getnframes())
x = memoryview(pcm).cast("h")
start = int((lag / 1000 - 0.05) * 48000)
end = int((lag / 1000 + in_frames / 48000 + 0.15) * 48000)
check(start > 0 and not any(x[:start]), f"silence before the stream (first {start} frames)")
check(end < len(x) and not any(x[end:]), f"silence after the stream's end plus 100 ms ({len(x) - end} frames)")
check(float(cmp["overlap_s"]) >= in_frames / 48000 - 0.021, f"whole input overlaps ({cmp['overlap_s']} s)")
sys.exit(1 if bad else 0)
PY
pass "lag $(sed -n 's/^lag_ms=//p' "$T/cmp.txt") ms, corr $(sed -n 's/^corr=//p' "$T/cmp.txt")"
