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
