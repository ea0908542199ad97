#!/usr/bin/env bash
# Interop: GStreamer receives our sender's stream (payload type 96 pinned on
# both sides) of a 44.1 kHz stereo file and of a 16 kHz mono file, decodes it
# into a WAV, and that WAV, aligned by cross-correlation against the input
# resampled to 48 kHz mono, has correlation >= 0.9 and the input's duration
# within 60 ms. The stereo file carries different speech in each channel, so
# a sender that dropped a channel would fail the correlation.
# timeout: 180
. "$(dirname "$0")/../lib.sh"
need sox gst-launch-1.0 ss
gst-inspect-1.0 rtpopusdepay >/dev/null 2>&1 || skip "GStreamer rtpopusdepay (plugins-good) missing"
gst-inspect-1.0 opusdec >/dev/null 2>&1 || skip "GStreamer opusdec (plugins-base) missing"
for b in sender tools/wavcmp; do [ -x "$BUILD/$b" ] || fail "$BUILD/$b not built"; done

S=$TOP/tests/data/speech.flac
sox "$S" "$T/l.wav" trim 1 7
sox "$S" "$T/r.wav" trim 12 7
sox -M "$T/l.wav" "$T/r.wav" -r 44100 -b 16 "$T/st44.wav"
sox "$S" -r 16000 -c 1 -b 16 "$T/m16.wav" trim 3 6

# udp_bound PORT SEC: wait until something listens on UDP PORT.
udp_bound() {
  local i
  for i in $(seq 1 $(($2 * 10))); do
    [ -n "$(ss -Hlun "sport = :$1")" ] && return 0
    sleep 0.1
  done
  return 1
}

run_one() {   # run_one NAME INPUT
  local name=$1 in=$2 port gst snd rc
  port=$(free_rtp_port) || fail "no free port"
  sox "$in" -r 48000 -c 1 -b 16 "$T/$name.ref.wav"
  bg gst-launch-1.0 -e udpsrc address=127.0.0.1 port="$port" \
    caps="application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96" \
    ! rtpjitterbuffer latency=60 do-lost=true ! rtpopusdepay ! opusdec plc=true \
    ! audioconvert ! audio/x-raw,format=S16LE,channels=1 ! wavenc \
    ! filesink location="$T/$name.out.wav" >"$T/$name.gst.log" 2>&1
  gst=$!
  udp_bound "$port" 15 || fail "$name: GStreamer did not bind port $port: $(tail -n 3 "$T/$name.gst.log")"
  bg "$BUILD/sender" --pt 96 --stats "$T/$name.tx.json" "$in" "127.0.0.1:$port" \
    >"$T/$name.tx.log" 2>&1
  snd=$!
  wait_exit "$snd" 30; rc=$?
  [ $rc = 0 ] || fail "$name: sender exited $rc: $(tail -n 3 "$T/$name.tx.log")"
  # Let the jitter buffer (60 ms) drain, then end the pipeline: -e turns
  # SIGINT into EOS so the WAV is complete.
  sleep 1
  kill -INT "$gst" 2>/dev/null
  wait_exit "$gst" 15 >/dev/null
  [ -s "$T/$name.out.wav" ] || fail "$name: GStreamer wrote nothing: $(tail -n 5 "$T/$name.gst.log")"
  check "$name" "$T/$name.ref.wav" "$T/$name.out.wav"
}

# check NAME REF OUT: corr >= 0.9, durations within 60 ms; prints the figures.
check() {
  local res
  res=$("$BUILD/tools/wavcmp" "$2" "$3" --json) || fail "$1: wavcmp failed"
  say "$1: $res"
  echo "$res" | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = []
if d["corr"] is None or d["corr"] < 0.9: bad.append("corr %s < 0.9" % d["corr"])
if abs(d["out_s"] - d["ref_s"]) > 0.060:
    bad.append("duration %.4f s vs input %.4f s (more than 60 ms apart)" % (d["out_s"], d["ref_s"]))
if bad: print("; ".join(bad)); sys.exit(1)' >"$T/why" || fail "$1: $(cat "$T/why")"
}

run_one stereo44k "$T/st44.wav"
run_one mono16k "$T/m16.wav"
pass
