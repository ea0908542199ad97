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
built sender tools/wavcmp

interop_inputs

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
  interop_check "$name" "$T/$name.ref.wav" "$T/$name.out.wav"
}

run_one stereo44k "$T/st44.wav"
run_one mono16k "$T/m16.wav"
pass
