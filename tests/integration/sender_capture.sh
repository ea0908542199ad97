#!/usr/bin/env bash
# Live capture (issue 12): a 44.1 kHz stereo file, a different stretch of
# speech on each channel, is played with paplay into a PulseAudio null sink
# "mic"; `sender alsa:mic` captures its monitor (the device's clock paces
# the stream) and sends to a receiver writing a WAV on loopback.
#  - Clean run: no overrun, nothing lost; each output channel aligns with
#    its own input channel (>= 0.8) and not with the other (<= 0.3), so a
#    swap or a downmix fails.
#  - Forced overrun: DL_TEST_CAPTURE_STALL_MS stalls the capture thread for
#    300 ms five seconds in. The overrun is counted, the receiver sees
#    about 15 frames lost (the sequence and timestamp jumped by the audio
#    lost) and conceals them, and the timeline does not shift: a stretch of
#    speech before the stall and one after it are found in the output at
#    the same lag, within 10 ms (without the jump they would be 300 ms
#    apart; measured: within 0.4 ms).
# The receiver runs at a fixed --latency with --no-resample, so that it
# moves nothing itself: the device and the WAV sink share the machine's
# clock (the null sink is paced by it).
# tags: sanitize solo
# timeout: 150
. "$(dirname "$0")/../lib.sh"
need sox paplay python3
built sender receiver tools/wavcmp
pulse_start 2
pactl load-module module-null-sink sink_name=mic rate=48000 channels=2 >/dev/null 2>>"$T/pa.log" ||
  skip "pulseaudio would not load a second null sink"
cat >>"$T/.asoundrc" <<EOT
pcm.mic { type pulse server "unix:$T/pulse/native" device "mic.monitor" }
EOT

S=$TOP/tests/data/speech.flac
sox "$S" -r 48000 -c 1 -b 16 "$T/a.wav" trim 1 8 && sox "$S" -r 48000 -c 1 -b 16 "$T/b.wav" trim 12 8 &&
  sox -M "$T/a.wav" "$T/b.wav" -r 44100 -b 16 "$T/in44.wav" || fail "sox could not make the input"

# run NAME [ENV...]: receiver, then sender alsa:mic (10 s), then paplay.
run() {
  local name=$1 rx tx rc; shift
  port=$(free_rtp_port) || fail "no free port"
  bg "$BUILD/receiver" -v -o "$T/$name.wav" --latency 100 --no-resample --idle-exit 1 \
     --stats "$T/$name.rx.jsonl" "127.0.0.1:$port" 2>"$T/$name.rx.err"
  rx=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.rx.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.rx.err" || { cat "$T/$name.rx.err"; fail "$name: receiver did not start"; }
  bg env "$@" "$BUILD/sender" -v --duration 10 --stats "$T/$name.tx.jsonl" alsa:mic "127.0.0.1:$port" \
     2>"$T/$name.tx.err"
  tx=$!
  sleep 0.5
  paplay --device=mic "$T/in44.wav" || fail "$name: paplay failed"
  wait_exit "$tx" 20; rc=$?
  cat "$T/$name.tx.err"
  [ $rc -eq 0 ] || fail "$name: sender exited $rc"
  wait_exit "$rx" 20 || { cat "$T/$name.rx.err"; fail "$name: receiver exited $?"; }
  sox "$T/$name.wav" "$T/$name.L.wav" remix 1 && sox "$T/$name.wav" "$T/$name.R.wav" remix 2 ||
    fail "$name: cannot split the output"
}

# lag REF_START REF_LEN OUT: where a.wav's stretch [START, START+LEN] s is
# in OUT, as the lag of a.wav's start (ms).
lag() {
  sox "$T/a.wav" "$T/seg.wav" trim "$1" "$2" || fail "sox trim"
  "$BUILD/tools/wavcmp" --max-lag-ms 12000 "$T/seg.wav" "$3" |
    awk -F= -v s="$1" '$1 == "lag_ms" { printf "%.3f", $2 - s * 1000 }'
}
corr() { "$BUILD/tools/wavcmp" --track --max-lag-ms 8000 "$1" "$2" | sed -n 's/^corr=//p'; }

# counts NAME: the sender's and the receiver's final lines, as JSON on one line.
counts() {
  python3 - "$(tail -n 1 "$T/$1.tx.jsonl")" "$(tail -n 1 "$T/$1.rx.jsonl")" <<'PY'
import json, sys
tx, rx = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"overruns": tx["overruns"], "sent": tx["sent"], "capture_latency_ms": tx["capture_latency_ms"],
                  "capture_cpu_pct": tx["capture_cpu_pct"], "final": tx.get("final", False),
                  "received": rx["received"], "lost": rx["lost"], "late": rx["late"], "played": rx["played"],
                  "concealed": rx["concealed"] + rx["silence"] + rx["fec_recovered"]}))
PY
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

run clean
c=$(counts clean)
say "clean: $c"
[ "$(field "$c" final)" = True ] || fail "clean: no final stats line"
[ "$(field "$c" overruns)" = 0 ] || fail "clean: overruns on a clean run: $c"
[ "$(field "$c" lost)" = 0 ] && [ "$(field "$c" late)" = 0 ] || fail "clean: packets lost or late: $c"
sent=$(field "$c" sent)
[ "$sent" -ge 490 ] && [ "$sent" -le 500 ] || fail "clean: --duration 10 sent $sent packets, expected 500"
grep -q 'ALSA S16_LE' "$T/clean.tx.err" || fail "clean: the device was not captured as S16_LE"
ll=$(corr "$T/a.wav" "$T/clean.L.wav"); rr=$(corr "$T/b.wav" "$T/clean.R.wav")
lr=$(corr "$T/b.wav" "$T/clean.L.wav"); rl=$(corr "$T/a.wav" "$T/clean.R.wav")
say "clean: L~L $ll, R~R $rr, L~R $lr, R~L $rl"
awk -v a="$ll" -v b="$rr" -v x="$lr" -v y="$rl" 'BEGIN { exit !(a >= 0.8 && b >= 0.8 && x <= 0.3 && y <= 0.3) }' ||
  fail "clean: the output channels do not match their inputs (L~L, R~R >= 0.8, crosses <= 0.3)"
l1=$(lag 1 2 "$T/clean.L.wav"); l2=$(lag 6 1.5 "$T/clean.L.wav")
say "clean: lag before $l1 ms, after $l2 ms"

run stall DL_TEST_CAPTURE_STALL_MS=300@5
c=$(counts stall)
say "stall: $c"
ov=$(field "$c" overruns) lost=$(field "$c" lost)
[ "$ov" -ge 1 ] || fail "stall: the forced overrun was not counted: $c"
# 300 ms stall = 15 frames of 20 ms; the device had buffered some of it.
[ "$lost" -ge 8 ] && [ "$lost" -le 25 ] || fail "stall: the receiver lost $lost frames, expected about 15"
# The frame that held the audio just before the stall could only be
# completed (padded) once the gap was known, after the stall: it is late.
[ "$(field "$c" late)" -le 2 ] || fail "stall: packets late: $c"
s1=$(lag 1 2 "$T/stall.L.wav"); s2=$(lag 6 1.5 "$T/stall.L.wav")
say "stall: lag before $s1 ms, after $s2 ms"
awk -v a="$s1" -v b="$s2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 10) }' ||
  fail "stall: the timeline shifted at the overrun: lag $s1 ms before, $s2 ms after"
sr=$(corr "$T/b.wav" "$T/stall.R.wav")
awk -v b="$sr" 'BEGIN { exit !(b >= 0.7) }' || fail "stall: R~R $sr"
pass "clean: 0 overruns, L~L $ll R~R $rr (crosses $lr $rl), lag $l1/$l2 ms; stall: $ov overrun(s), $lost frames lost and concealed, lag $s1 ms before, $s2 ms after"
