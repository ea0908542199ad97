#!/usr/bin/env bash
# --sdp: ffmpeg, given only the SDP the sender wrote, receives the stream
# and decodes it: over IPv4 (mono, 20 ms) and IPv6 (stereo, 10 ms), the WAV
# it writes is as long as what was sent (within 60 ms) and not silent.
# (The full interop checks with ffmpeg and GStreamer live elsewhere.)
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need ffmpeg python3
SENDER=$BUILD/sender
[ -x "$SENDER" ] || fail "build $SENDER first"
IN=$TOP/tests/data/speech.flac

# case NAME DEST CHANNELS SECONDS SENDER_ARGS...
run() {
  local name=$1 dest=$2 ch=$3 secs=$4
  shift 4
  # Write the SDP first (a short run), so that ffmpeg can listen before
  # the stream starts; the SSRC is pinned so both runs match it.
  "$SENDER" -q --ssrc 424242 --duration 0.02 --sdp "$T/$name.sdp" "$@" "$IN" "$dest" ||
    fail "$name: writing the SDP failed"
  bg timeout 60 ffmpeg -nostdin -loglevel error -protocol_whitelist file,udp,rtp -listen_timeout 3 \
    -i "$T/$name.sdp" -c:a pcm_s16le -y "$T/$name.wav" 2>"$T/$name.ff.err"
  local ff=$!
  sleep 1.5   # ffmpeg's start-up (it binds the port after probing its libraries)
  "$SENDER" -q --ssrc 424242 --duration "$secs" "$@" "$IN" "$dest" || fail "$name: sender failed"
  wait_exit "$ff" 30 || fail "$name: ffmpeg failed: $(tail -n 3 "$T/$name.ff.err")"
  python3 - "$T/$name.wav" "$ch" "$secs" <<'PY' || fail "$name: see above"
import sys, wave, array, math
w = wave.open(sys.argv[1]); ch, secs = int(sys.argv[2]), float(sys.argv[3])
n, rate = w.getnframes(), w.getframerate()
a = array.array("h", w.readframes(n))
rms = math.sqrt(sum(x * x for x in a) / max(1, len(a)))
dur = n / rate
print(f"ffmpeg decoded {dur:.3f} s, {w.getnchannels()} ch at {rate} Hz, rms {rms:.0f}")
# ffmpeg decodes to the rtpmap's 2 channels whatever was sent: not checked.
ok = abs(dur - secs) <= 0.060 and rms > 100
sys.exit(0 if ok else 1)
PY
  say "$name: ok ($(grep -c '' "$T/$name.sdp") SDP lines)"
}

p=$(free_rtp_port) || fail "no free port"
run v4_mono "127.0.0.1:$p" 1 4
if python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
  run v6_stereo "[::1]:$p" 2 3 -c 2 -f 10
else
  say "no IPv6 loopback here: IPv6 case not run"
fi
pass
