#!/usr/bin/env bash
# Interop: ffmpeg receives our sender's stream (payload type 96 pinned) of a
# 44.1 kHz stereo file and of a 16 kHz mono file through the SDP that the
# sender writes (--sdp), decodes it into a WAV, and that WAV, aligned by
# cross-correlation against the input resampled to 48 kHz mono, has
# correlation >= 0.9 and the input's duration within 60 ms. The stereo file
# carries different speech in each channel, so a sender that dropped a
# channel would fail the correlation.
# timeout: 180
. "$(dirname "$0")/../lib.sh"
need sox ffmpeg ss python3
ffmpeg -hide_banner -decoders 2>/dev/null | grep -q opus || skip "ffmpeg has no Opus decoder"
built sender tools/wavcmp

interop_inputs

run_one() {   # run_one NAME INPUT
  local name=$1 in=$2 port ff snd rc
  port=$(free_rtp_port) || fail "no free port"
  sox "$in" -r 48000 -c 1 -b 16 "$T/$name.ref.wav"
  # The SDP must exist before ffmpeg starts and ffmpeg must listen before
  # the stream starts: a first, 20 ms run of the sender writes it (its one
  # packet goes to the closed port), then the real run streams.
  "$BUILD/sender" --pt 96 --sdp "$T/$name.sdp" --duration 0.02 "$in" "127.0.0.1:$port" \
    >"$T/$name.sdp.log" 2>&1 || fail "$name: sender --sdp exited $?: $(tail -n 3 "$T/$name.sdp.log")"
  [ -s "$T/$name.sdp" ] || fail "$name: sender wrote no SDP"
  sed 's/^/    sdp: /' "$T/$name.sdp"
  bg ffmpeg -nostdin -loglevel warning -protocol_whitelist file,udp,rtp -listen_timeout 3 \
    -i "$T/$name.sdp" -af aresample=async=1:min_hard_comp=0.01:first_pts=0 -ac 1 \
    -c:a pcm_s16le -y "$T/$name.out.wav" >"$T/$name.ff.log" 2>&1
  ff=$!
  udp_bound "$port" 15 || fail "$name: ffmpeg did not bind port $port: $(tail -n 3 "$T/$name.ff.log")"
  bg "$BUILD/sender" --pt 96 --stats "$T/$name.tx.json" "$in" "127.0.0.1:$port" \
    >"$T/$name.tx.log" 2>&1
  snd=$!
  wait_exit "$snd" 30; rc=$?
  [ $rc = 0 ] || fail "$name: sender exited $rc: $(tail -n 3 "$T/$name.tx.log")"
  # ffmpeg ends by itself about 3 s after the last packet.
  wait_exit "$ff" 20; rc=$?
  [ $rc = 0 ] || fail "$name: ffmpeg exited $rc: $(tail -n 5 "$T/$name.ff.log")"
  [ -s "$T/$name.out.wav" ] || fail "$name: ffmpeg wrote nothing: $(tail -n 5 "$T/$name.ff.log")"
  interop_check "$name" "$T/$name.ref.wav" "$T/$name.out.wav"
}

run_one stereo44k "$T/st44.wav"
run_one mono16k "$T/m16.wav"
pass
