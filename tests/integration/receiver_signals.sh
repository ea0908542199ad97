#!/usr/bin/env bash
# Signals end the receiver cleanly: SIGINT or SIGTERM mid-stream (ffmpeg
# sending speech) and SIGINT before any packet each leave exit status 0, a
# valid WAV and a last stats line with "final": true, written once. The WAV
# holds exactly the frames the final line counts as written to the sink
# (sink_frames), and the sink took frames at the pace of the clock. A
# SIGKILL leaves a WAV readable up to about its last second (the header is
# rewritten every second). --duration ends a run the same way.
# tags: sanitize tsan
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need ffmpeg sox soxi python3
built receiver

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 10 || fail "sox"

# run NAME SIGNAL SEND AFTER: start a receiver, have ffmpeg send (SEND=1),
# deliver SIGNAL AFTER seconds after the stream started (or the receiver,
# without a stream); leaves $T/NAME.{wav,jsonl,err}.
run() {
  local name=$1 sig=$2 send=$3 after=$4 port rx ff="" rc
  shift 4   # the rest: extra receiver flags
  port=$(free_rtp_port) || fail "no free port"
  local t0
  t0=$(date +%s.%N)
  bg "$BUILD/receiver" -v -o "$T/$name.wav" --stats "$T/$name.jsonl" --stats-interval 250 \
     "$@" "127.0.0.1:$port" 2>"$T/$name.err"
  rx=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.err" || { cat "$T/$name.err"; fail "$name: receiver did not start"; }
  if [ "$send" = 1 ]; then
    bg timeout 40 ffmpeg -nostdin -loglevel error -re -i "$T/in.wav" -c:a libopus -b:a 32k \
      -frame_duration 20 -payload_type 96 -rtpflags skip_rtcp -f rtp -sdp_file "$T/tx.sdp" "rtp://127.0.0.1:$port"
    ff=$!
    # Time the signal from the stream's start: ffmpeg is slow to start on a
    # loaded machine.
    for _ in $(seq 1 100); do grep -q 'stream started' "$T/$name.err" && break; sleep 0.1; done
    grep -q 'stream started' "$T/$name.err" || fail "$name: the stream did not start"
  fi
  sleep "$after"
  kill -"$sig" "$rx"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }' >"$T/$name.elapsed"
  wait_exit "$rx" 10
  rc=$?
  [ -n "$ff" ] && { kill -TERM "$ff" 2>/dev/null; wait "$ff" 2>/dev/null; }
  cat "$T/$name.err"
  echo "$name: exit $rc"
  return $rc
}

# check NAME WANT_PLAYED [PPM]: the WAV and the final line agree; the sink
# ran PPM fast (--sink-skew-ppm).
check() {
  python3 - "$T/$1.wav" "$T/$1.jsonl" "$2" "${3:-0}" <<'PY'
import json, sys, wave
path, stats, want_played = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
pace = 1 + float(sys.argv[4]) * 1e-6
lines = [json.loads(l) for l in open(stats)]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(len(lines) >= 1, f"{len(lines)} stats lines")
finals = [l for l in lines if l.get("final")]
check(len(finals) == 1 and lines[-1].get("final") is True, "exactly one final line, and it is the last")
s = lines[-1]
with wave.open(path) as w:
    check(w.getframerate() == 48000 and w.getnchannels() == 1 and w.getsampwidth() == 2,
          "WAV is 48 kHz mono 16-bit")
    frames = w.getnframes()
    data = w.readframes(frames)
check(len(data) == 2 * frames, f"WAV header length {frames} frames matches its data ({len(data) // 2})")
check(frames == s["sink_frames"], f"WAV frames {frames} == final sink_frames {s['sink_frames']}")
# frames_out: what the playout engine produced at 48 kHz, before the drift
# resampler (within +-0.5 %) and the part of a packet left for the next period.
check(abs(s["frames_out"] - frames) < 5760 + 0.005 * frames,
      f"frames_out {s['frames_out']} ~ sink_frames (one packet, +-0.5 % resampling)")
# Paced in real time: between the first and the last periodic line the
# sink took as many frames as the clock advanced (start-up, slow under a
# sanitizer, is left out), and the WAV is no longer than the run.
periodic = [l for l in lines if not l.get("final") and l["sink_frames"] > 0]
if len(periodic) >= 2:
    a, b = periodic[0], periodic[-1]
    span = b["t"] - a["t"]
    got = (b["sink_frames"] - a["sink_frames"]) / 48000
    check(span >= 0.4 and abs(got - span * pace) < 0.1 + 0.005 * span,
          f"sink paced in real time x {pace}: {got:.3f} s of audio in {span:.3f} s")
else:
    check(False, "at least two periodic stats lines with sink frames")
check(frames / 48000 <= s["t"] * pace + 0.05, f"WAV {frames / 48000:.3f} s within the running time {s['t']} s")
if want_played:
    check(s["played"] >= 40, f"packets played before the signal: {s['played']}")
    check(s["played"] * 960 <= frames, "every played frame is in the WAV")
    check(max(abs(int.from_bytes(data[i:i+2], "little", signed=True)) for i in range(0, len(data), 2)) > 1000,
          "the WAV holds audio, not only silence")
else:
    check(s["played"] == 0 and s["received"] == 0, "no stream, nothing played")
    check(not any(data), "all silence")
sys.exit(1 if bad else 0)
PY
}

run sigint INT 1 3 || fail "SIGINT: exit status $? (want 0)"
check sigint 1 || fail "SIGINT mid-stream"
run sigterm TERM 1 2.5 || fail "SIGTERM: exit status $? (want 0)"
check sigterm 1 || fail "SIGTERM mid-stream"
# Before any packet the sink runs only when told its channels (-c 1): then
# it is paced like a device from the start. At --channels auto (the
# default) it is not open yet: the WAV made at start-up stays empty, and
# valid.
run idle INT 0 2 -c 1 || fail "SIGINT before any packet: exit status $? (want 0)"
check idle 0 || fail "SIGINT before any packet"
run idle_auto INT 0 1 || fail "SIGINT before any packet, --channels auto: exit status $? (want 0)"
python3 - "$T/idle_auto.wav" "$T/idle_auto.jsonl" <<'PY' || fail "SIGINT before any packet, --channels auto"
import json, sys, wave
lines = [json.loads(l) for l in open(sys.argv[2])]
with wave.open(sys.argv[1]) as w:
    ok = w.getnframes() == 0 and w.getnchannels() == 1 and w.getframerate() == 48000
s = lines[-1]
ok = ok and s.get("final") is True and sum(1 for l in lines if l.get("final")) == 1 and s["sink_frames"] == 0
print(("ok   " if ok else "FAIL ") + "auto, no stream: an empty valid WAV, one final line, sink_frames 0")
sys.exit(0 if ok else 1)
PY
# A sink clock 10 % fast takes 10 % more frames per second (the counters
# are up to 50 ms old: the tolerance is 0.1 s, the effect 0.3 s).
run skew INT 0 3 --sink-skew-ppm 100000 -c 1 || fail "--sink-skew-ppm: exit status $? (want 0)"
check skew 0 100000 || fail "--sink-skew-ppm 100000"

# --duration ends the run by itself, the same way.
port=$(free_rtp_port) || fail "no free port"
bg "$BUILD/receiver" -c 1 -o "$T/dur.wav" --duration 1.5 --stats "$T/dur.jsonl" --stats-interval 250 \
   "127.0.0.1:$port" 2>"$T/dur.err"
wait_exit $! 10 || { cat "$T/dur.err"; fail "--duration 1.5: exit status $? (want 0)"; }
check dur 0 || fail "--duration 1.5"
python3 -c "import json,sys; t=json.loads(open(sys.argv[1]).readlines()[-1])['t']; sys.exit(0 if 1.5 <= t < 2.5 else 1)" \
  "$T/dur.jsonl" || fail "--duration 1.5 ran $(tail -n 1 "$T/dur.jsonl")"

# SIGKILL: nothing is finalised; the header rewritten each second must make
# the file readable up to about its last second.
run sigkill KILL 1 3.3 -c 1
[ -s "$T/sigkill.wav" ] || fail "SIGKILL left no WAV"
python3 - "$T/sigkill.wav" "$(cat "$T/sigkill.elapsed")" <<'PY' || fail "WAV after SIGKILL"
import sys, wave
ran = float(sys.argv[2])
with wave.open(sys.argv[1]) as w:
    n = w.getnframes()
    w.readframes(n)
print(f"SIGKILL after {ran:.2f} s: readable, {n / 48000:.3f} s of audio")
sys.exit(0 if ran - 1.5 <= n / 48000 <= ran + 0.05 else 1)
PY
pass
