#!/usr/bin/env bash
# Interop: ffmpeg sends Opus/RTP (payload type 96 pinned, marker on every
# packet, its own SSRC) of a 44.1 kHz stereo file to our receiver writing a
# WAV (-o, --idle-exit 2). The WAV, aligned by cross-correlation against the
# input resampled to 48 kHz mono, has correlation >= 0.9. The two channels
# carry different speech, so a receiver that kept one would fail.
# tags: sanitize
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox ffmpeg ss python3
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libopus || skip "ffmpeg has no libopus encoder"
built receiver tools/wavcmp

S=$TOP/tests/data/speech.flac
sox "$S" "$T/l.wav" trim 1 7
sox "$S" "$T/r.wav" trim 12 7
sox -M "$T/l.wav" "$T/r.wav" -r 44100 -b 16 "$T/in.wav"
sox "$T/in.wav" -r 48000 -c 1 -b 16 "$T/ref.wav"

port=$(free_rtp_port) || fail "no free port"
# --no-resample: the output is compared sample-exact with a decode, so
# the drift resampler (which stretches time to move latency to its target,
# by design) stays out; drift_e2e.sh and the simulator test it.
bg "$BUILD/receiver" --no-resample -q -o "$T/out.wav" --idle-exit 2 --pt 96 --stats "$T/rx.json" \
  "127.0.0.1:$port" >"$T/rx.log" 2>&1
rx=$!
udp_bound "$port" 10 || fail "receiver did not bind port $port: $(tail -n 3 "$T/rx.log")"
# 64 kbit/s for stereo, as our sender's default: at 32 kbit/s ffmpeg's own
# stereo encoding scores only about 0.915 against the input, too close to
# the bar to say anything about the receiver.
timeout 30 ffmpeg -nostdin -loglevel warning -re -i "$T/in.wav" -c:a libopus -b:a 64k \
  -application voip -frame_duration 20 -payload_type 96 -ssrc 305419896 \
  -rtpflags skip_rtcp -f rtp "rtp://127.0.0.1:$port" >"$T/ff.log" 2>&1 ||
  fail "ffmpeg exited $?: $(tail -n 3 "$T/ff.log")"
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
