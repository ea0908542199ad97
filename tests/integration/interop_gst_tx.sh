#!/usr/bin/env bash
# Interop: GStreamer sends Opus/RTP (payload type 96 pinned, its first
# timestamp step 648, not 960) of a 16 kHz mono file to our receiver writing a
# WAV (-o, --idle-exit 2). The WAV, aligned by cross-correlation against the
# input resampled to 48 kHz mono, has correlation >= 0.9.
# tags: sanitize
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox gst-launch-1.0 ss python3
gst-inspect-1.0 opusenc >/dev/null 2>&1 || skip "GStreamer opusenc (plugins-base) missing"
gst-inspect-1.0 rtpopuspay >/dev/null 2>&1 || skip "GStreamer rtpopuspay (plugins-good) missing"
built receiver tools/wavcmp

S=$TOP/tests/data/speech.flac
sox "$S" -r 16000 -c 1 -b 16 "$T/in.wav" trim 3 6
sox "$T/in.wav" -r 48000 -c 1 -b 16 "$T/ref.wav"

port=$(free_rtp_port) || fail "no free port"
# --no-resample: the output is compared sample-exact with a decode, so
# the drift resampler (which stretches time to move latency to its target,
# by design) stays out; drift_e2e.sh and the simulator test it.
bg "$BUILD/receiver" --no-resample -q -o "$T/out.wav" --idle-exit 2 --pt 96 --stats "$T/rx.json" \
  "127.0.0.1:$port" >"$T/rx.log" 2>&1
rx=$!
udp_bound "$port" 10 || fail "receiver did not bind port $port: $(tail -n 3 "$T/rx.log")"
# udpsink syncs to the buffer timestamps: the file is sent in real time.
timeout 30 gst-launch-1.0 -q filesrc location="$T/in.wav" ! wavparse ! audioconvert \
  ! audioresample ! audio/x-raw,rate=48000,channels=1 ! opusenc bitrate=32000 frame-size=20 \
  ! rtpopuspay pt=96 ssrc=3735928559 ! udpsink host=127.0.0.1 port="$port" >"$T/gst.log" 2>&1 ||
  fail "gst-launch exited $?: $(tail -n 3 "$T/gst.log")"
wait_exit "$rx" 15; rc=$?
[ $rc = 0 ] || { tail -n 40 "$T/rx.log"; fail "receiver exited $rc (--idle-exit 2 after the stream)"; }
say "receiver final stats: $(tail -n 1 "$T/rx.json")"
[ -s "$T/out.wav" ] || fail "receiver wrote no WAV"

res=$("$BUILD/tools/wavcmp" "$T/ref.wav" "$T/out.wav" --max-lag-ms 10000 --json) ||
  fail "wavcmp failed"
say "wavcmp: $res"
corr=$(echo "$res" | python3 -c 'import json,sys; c=json.load(sys.stdin)["corr"]; print(c if c is not None else "nan")')
awk -v c="$corr" 'BEGIN { exit !(c >= 0.9) }' || fail "corr $corr < 0.9"
pass "corr $corr"
