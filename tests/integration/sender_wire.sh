#!/usr/bin/env bash
# What the sender puts on the wire, captured by build/tools/rtpdump on
# loopback: version 2, the payload type, one SSRC, sequence +1 and timestamp
# + 48000*frame per packet (across wrap-around), the marker on the first
# packet only, one Opus frame per packet whose TOC says the frame size (and
# stereo when sending 2 channels; 40/60 ms may be several frames), the packet count of --duration; over IPv4
# and IPv6, for 20, 10, 2.5 and 60 ms frames. Then: a 6-channel 44.1 kHz
# file is downmixed (said once) and sent as stereo; SIGINT and SIGTERM stop
# the sender with exit 0 and a final stats line.
# tags: sanitize
# timeout: 150
. "$(dirname "$0")/../lib.sh"
need python3 sox
SENDER=$BUILD/sender DUMP=$BUILD/tools/rtpdump
[ -x "$SENDER" ] && [ -x "$DUMP" ] || fail "build $SENDER and $DUMP first"
IN=$TOP/tests/data/speech.flac

# check_wire DUMP.tsv FRAME_SAMPLES PT COUNT CHANNELS [SSRC]
check_wire() {
  awk -F'\t' -v fs="$2" -v pt="$3" -v want="$4" -v ch="$5" -v ssrc="${6:-}" '
    function fail(m) { print "wire: packet " n ": " m; bad = 1; exit 1 }
    function hex(h,   i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
    /^#/ { next }
    {
      n++
      if ($3 != 2) fail("version " $3)
      if ($4 != pt) fail("payload type " $4 ", want " pt)
      if ($9 !~ /^[0-9]+$/) fail("refused: " $9)
      if ($9 != fs) fail("Opus samples " $9 ", want " fs)
      toc = hex($10); config = int(toc / 8); code = toc % 4; stereo = int(toc / 4) % 2
      if (config < 12) ms = (config % 4 == 0) ? 10 : (config % 4 == 1) ? 20 : (config % 4 == 2) ? 40 : 60
      else if (config < 16) ms = (config % 2 == 0) ? 10 : 20
      else ms = (config % 4 == 0) ? 2.5 : (config % 4 == 1) ? 5 : (config % 4 == 2) ? 10 : 20
      # Up to 20 ms: one frame (code 0) of the frame size. 40 and 60 ms may
      # be several 20 ms frames (CELT has none longer): the TOC frame size
      # must divide the packet, whose total (samples) was checked above.
      if (fs <= 960 && code != 0) fail("TOC code " code ": not one frame per packet")
      if (fs <= 960 && ms * 48 != fs) fail("TOC config " config " is " ms " ms, want " fs / 48 " ms")
      if (fs > 960 && fs % (ms * 48) != 0) fail("TOC config " config " (" ms " ms) does not divide " fs / 48 " ms")
      if (stereo != (ch == 2)) fail("TOC stereo bit " stereo " for " ch " channels")
      if (n == 1) {
        first_ssrc = $8
        if (ssrc != "" && $8 != ssrc) fail("SSRC " $8 ", want " ssrc)
        if ($5 != 1) fail("no marker on the first packet")
      } else {
        if ($8 != first_ssrc) fail("SSRC changed " first_ssrc " -> " $8)
        if ($5 != 0) fail("marker on a later packet")
        if ($6 != (seq + 1) % 65536) fail("seq " seq " -> " $6)
        if ($7 != (ts + fs) % 4294967296) fail("ts " ts " -> " $7)
      }
      seq = $6; ts = $7
    }
    END {
      if (bad) exit 1
      if (n != want) { print "wire: " n " packets, want " want; exit 1 }
      printf "wire: %d packets ok (frame %d, pt %d, %d ch, ssrc %s)\n", n, fs, pt, ch, first_ssrc
    }' "$1"
}

# run_case NAME BIND DEST COUNT FRAME_SAMPLES PT CHANNELS SENDER_ARGS...
run_case() {
  local name=$1 bind=$2 dest=$3 count=$4 fs=$5 pt=$6 ch=$7
  shift 7
  rm -f "$T/ready"
  bg "$DUMP" --count "$count" --idle 5 --ready "$T/ready" "$bind" >"$T/$name.tsv" 2>"$T/$name.dump.err"
  local dump=$!
  for _ in $(seq 1 50); do [ -f "$T/ready" ] && break; sleep 0.1; done
  [ -f "$T/ready" ] || fail "$name: rtpdump did not start: $(cat "$T/$name.dump.err")"
  "$SENDER" -q "$@" "$IN" "$dest" 2>"$T/$name.err" || fail "$name: sender failed: $(cat "$T/$name.err")"
  wait_exit "$dump" 10 || fail "$name: rtpdump did not finish"
  check_wire "$T/$name.tsv" "$fs" "$pt" "$count" "$ch" "${SSRC:-}" || fail "$name: see above"
}

have_v6=0
python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null && have_v6=1
p=$(free_rtp_port) || fail "no free port"
run_case v4_20ms "127.0.0.1:$p" "127.0.0.1:$p" 100 960 96 1 --duration 2
# A host name: "localhost" may resolve to ::1 or 127.0.0.1 first, so
# rtpdump listens on both where it can.
any="127.0.0.1:$p"; [ $have_v6 -eq 1 ] && any="[::]:$p"
SSRC=4294967295 run_case name_10ms_pt111 "$any" "localhost:$p" 200 480 111 1 \
  --duration 2 -f 10 --pt 111 --ssrc 4294967295
run_case v4_2_5ms_stereo "127.0.0.1:$p" "127.0.0.1:$p" 400 120 96 2 --duration 1 -f 2.5 -c 2
run_case v4_60ms "127.0.0.1:$p" "127.0.0.1:$p" 17 2880 96 1 --duration 1 -f 60 --application audio
if [ $have_v6 -eq 1 ]; then
  run_case v6_20ms "[::1]:$p" "[::1]:$p" 50 960 96 1 --duration 1
else
  say "no IPv6 loopback here: IPv6 case not run"
fi

# Wrap-around: the checks above compare modulo 2^16 and 2^32; seq0 and ts0
# are random, so test_txpipe forces a wrap (it starts at 65530, 0xfffff000).

# A 6-channel 44.1 kHz file: said once, sent as stereo at the right length.
sox -n -r 44100 -c 6 -b 16 "$T/six.wav" synth 1 sine 440 || fail "sox"
rm -f "$T/ready"
bg "$DUMP" --count 50 --idle 5 --ready "$T/ready" "127.0.0.1:$p" >"$T/six.tsv" 2>/dev/null
dump=$!
for _ in $(seq 1 50); do [ -f "$T/ready" ] && break; sleep 0.1; done
"$SENDER" "$T/six.wav" "127.0.0.1:$p" 2>"$T/six.err" || fail "six channels: $(cat "$T/six.err")"
wait_exit "$dump" 10 || fail "six channels: rtpdump did not finish"
[ "$(grep -c 'downmixed to stereo' "$T/six.err")" -eq 1 ] || fail "downmix not said exactly once: $(cat "$T/six.err")"
check_wire "$T/six.tsv" 960 96 50 2 || fail "six channels: see above"

# SIGINT / SIGTERM: clean stop, exit 0, a final stats line.
for sig in INT TERM; do
  "$SENDER" -q --loop --stats "$T/stats.$sig" "$IN" "127.0.0.1:$p" &
  pid=$!; _pids+=("$pid")
  sleep 1.5
  kill -"$sig" "$pid"
  wait_exit "$pid" 10; rc=$?
  [ $rc -eq 0 ] || fail "SIG$sig: exit $rc, want 0"
  tail -n 1 "$T/stats.$sig" | grep -q '"final":true' || fail "SIG$sig: no final stats line: $(tail -n 1 "$T/stats.$sig")"
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    for k in ("t","sent","bytes","bitrate","fec","loss_pct_reported","rtt_ms"):
        assert k in d, k
assert d["sent"] >= 50, d' "$T/stats.$sig" || fail "SIG$sig: stats lines malformed"
  say "SIG$sig: exit 0, final: $(tail -n 1 "$T/stats.$sig")"
done
pass
