#!/usr/bin/env bash
# Stereo end to end, into WAV files (the receiver at --channels auto, its
# default, unless said): our sender's stereo stream and GStreamer's each
# play stereo with L and R aligned to the input's L and R; a mono stream
# with --channels 2 plays the same on both channels; a mono stream at auto
# gives a mono file.
#
# The input's channels are two different stretches of speech, so that a
# swap or a downmix fails: each output channel must match its own input
# channel and not the other one (<= 0.3; different speech scores about
# 0.06, a downmix about 0.7): against the clean-path decode of the same
# encoder for our sender (>= 0.99: it is bit-exact), against the original
# for GStreamer's own encoder (>= 0.85: Opus at 64 kbit/s stereo scores
# about 0.94 against the original here). Those receivers run --no-resample,
# so that each channel is compared at one lag (the drift resampler's time
# stretch is drift_e2e's subject); the mono-at-2 case runs with it. Every
# case plays at a fixed --latency 60: the adaptive target sits at the clean
# path's floor (issue 15), where a stall of a loaded machine makes a packet
# late (the mono-at-2 case, once in three runs here, unloaded), and its
# start splices pitch periods (that case scored 0.85 to 0.91 tracked
# against the input, 0.849 once in CI, against 0.942 fixed); these cases
# are about channels, not the adaptation (receiver_adapt, sim_adapt).
# tags: sanitize
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox python3
built sender receiver tools/wavcmp tools/encdec

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/a.wav" trim 0 6 || fail "sox"
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/b.wav" trim 10 6 || fail "sox"
sox -M "$T/a.wav" "$T/b.wav" "$T/st.wav" || fail "sox -M"
# Our encoder's clean decode, channel by channel.
"$BUILD/tools/encdec" "$T/st.wav" "$T/ref.wav" || fail "encdec"
sox "$T/ref.wav" "$T/ref.a.wav" remix 1 && sox "$T/ref.wav" "$T/ref.b.wav" remix 2 || fail "split ref"

# rx NAME ARGS...: a receiver writing $T/NAME.wav; its port in $port.
rx() {
  local name=$1; shift
  port=$(free_rtp_port) || fail "no free port"
  bg "$BUILD/receiver" -v -o "$T/$name.wav" --idle-exit 1 --stats "$T/$name.jsonl" "$@" \
     "127.0.0.1:$port" 2>"$T/$name.err"
  rxpid=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.err" || { cat "$T/$name.err"; fail "$name: receiver did not start"; }
}

# done_rx NAME: waits for the receiver; checks its clean-path counts.
done_rx() {
  wait_exit "$rxpid" 20 || { cat "$T/$1.err"; fail "$1: receiver exited $?"; }
  python3 - "$1" "$(tail -n 1 "$T/$1.jsonl")" <<'PY' || fail "$1: counts"
import json, sys
s = json.loads(sys.argv[2])
bad = [k for k in ("lost", "late", "invalid", "rejected", "overflow", "concealed") if s[k] != 0]
if s["played"] != s["received"] or s["received"] < 250:
    bad.append("played %d of %d" % (s["played"], s["received"]))
print("%s: received %d, played %d%s" % (sys.argv[1], s["received"], s["played"],
      "" if not bad else "; FAIL " + ", ".join(bad)))
sys.exit(1 if bad else 0)
PY
}

# corr REF OUT: wavcmp's correlation of OUT against REF.
corr() {
  "$BUILD/tools/wavcmp" --max-lag-ms 3000 "$1" "$2" | sed -n 's/^corr=//p'
}

# channels_match NAME REF MIN: NAME.wav is stereo, its L matches REF.a.wav
# and its R REF.b.wav (correlation >= MIN), and neither matches the other
# channel's (<= 0.3).
channels_match() {
  local ch ll rr lr rl
  ch=$(soxi -c "$T/$1.wav") || fail "$1: soxi"
  [ "$ch" -eq 2 ] || fail "$1: $ch channel(s), want 2"
  sox "$T/$1.wav" "$T/$1.L.wav" remix 1 && sox "$T/$1.wav" "$T/$1.R.wav" remix 2 || fail "$1: split"
  ll=$(corr "$T/$2a.wav" "$T/$1.L.wav"); rr=$(corr "$T/$2b.wav" "$T/$1.R.wav")
  lr=$(corr "$T/$2b.wav" "$T/$1.L.wav"); rl=$(corr "$T/$2a.wav" "$T/$1.R.wav")
  say "$1: L~L $ll, R~R $rr, L~R $lr, R~L $rl"
  awk -v a="$ll" -v b="$rr" -v c="$lr" -v d="$rl" -v m="$3" \
    'BEGIN { exit !(a >= m && b >= m && c <= 0.3 && d <= 0.3) }' ||
    fail "$1: channels do not match their inputs (want L~L, R~R >= $3 and the crosses <= 0.3)"
}

# 1. Our sender, stereo input: a stereo stream, played stereo.
rx ours --no-resample --latency 60
"$BUILD/sender" -q "$T/st.wav" "127.0.0.1:$port" || fail "sender failed"
done_rx ours
grep -q 'stream started: .*stereo' "$T/ours.err" || { cat "$T/ours.err"; fail "ours: not seen as stereo"; }
channels_match ours ref. 0.99

# 2. GStreamer's stereo stream.
if command -v gst-launch-1.0 >/dev/null 2>&1 && gst-inspect-1.0 opusenc >/dev/null 2>&1 &&
   gst-inspect-1.0 rtpopuspay >/dev/null 2>&1; then
  rx gst --no-resample --latency 60
  timeout 40 gst-launch-1.0 -q filesrc location="$T/st.wav" ! wavparse ! audioconvert ! audioresample \
    ! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=64000 frame-size=20 \
    ! rtpopuspay pt=96 ssrc=3735928559 ! udpsink host=127.0.0.1 port="$port" >"$T/gst.log" 2>&1 ||
    { cat "$T/gst.log"; fail "gst-launch failed"; }
  done_rx gst
  channels_match gst "" 0.85
  gst_said="GStreamer stereo ok"
else
  say "GStreamer's opusenc/rtpopuspay not installed: its stereo case not run"
  gst_said="GStreamer case not run (no plugins)"
fi

# 3. A mono stream at --channels 2: the same signal on both channels.
rx mono2 -c 2 --latency 60
"$BUILD/sender" -q "$T/a.wav" "127.0.0.1:$port" || fail "sender failed"
done_rx mono2
[ "$(soxi -c "$T/mono2.wav")" -eq 2 ] || fail "mono2: not a stereo file"
sox "$T/mono2.wav" "$T/mono2.L.wav" remix 1 && sox "$T/mono2.wav" "$T/mono2.R.wav" remix 2 || fail "split"
# libopus decodes a mono packet into two channels rounding each on its own:
# they may differ by a few counts (of 32768; 3 seen), never by a signal.
python3 - "$T/mono2.wav" <<'PY' || fail "mono2: L and R are not the same signal"
import array, sys, wave
w = wave.open(sys.argv[1])
a = array.array("h", w.readframes(w.getnframes()))
d = max(abs(a[i] - a[i + 1]) for i in range(0, len(a), 2))
rms = (sum(x * x for x in a[0::2]) / (len(a) // 2)) ** 0.5
print("mono2: |L - R| at most %d counts, RMS of L %.0f counts" % (d, rms))
sys.exit(0 if d <= 4 and rms >= 300 else 1)
PY
c=$("$BUILD/tools/wavcmp" --track --max-lag-ms 3000 "$T/a.wav" "$T/mono2.L.wav" | sed -n 's/^corr=//p')
awk -v c="$c" 'BEGIN { exit !(c >= 0.85) }' || fail "mono2: tracked correlation $c with the input"

# 4. A mono stream at auto: a mono file.
rx mono --latency 60
"$BUILD/sender" -q "$T/a.wav" "127.0.0.1:$port" || fail "sender failed"
done_rx mono
[ "$(soxi -c "$T/mono.wav")" -eq 1 ] || fail "mono: $(soxi -c "$T/mono.wav") channels at auto"
pass "stereo L/R aligned; $gst_said; mono at -c 2 the same on both channels (tracked corr $c); mono at auto mono"
