#!/usr/bin/env bash
# Bad input to the sender: each case gets exactly one line on stderr, which
# starts with "sender: ", nothing on stdout, and exit 2 (usage) or 1 (run
# time), within a few seconds. Nothing is sent anywhere: the destination is a
# port on 127.0.0.1 that nothing listens on.
# tags: sanitize
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need python3 sox
SENDER=$BUILD/sender
[ -x "$SENDER" ] || fail "build $SENDER first"
IN=$TOP/tests/data/speech.flac
D=127.0.0.1:$(free_port)

# Files for the run-time cases.
echo "this is text, not audio; long enough to be looked at by libsndfile" >"$T/text.wav"
: >"$T/empty.wav"
mkdir "$T/dir"
sox -n -r 8000 -c 1 -b 16 "$T/zero.wav" synth 0.1 sine 440 vol 0.5 || fail "sox"
# Sample rate (byte 24) and byte rate (byte 28) of the canonical header: 0.
python3 -c 'import sys
f = open(sys.argv[1], "r+b"); d = bytearray(f.read())
i = d.find(b"fmt ") + 8
d[i + 4:i + 12] = bytes(8); f.seek(0); f.write(d)' "$T/zero.wav"
sox -n -r 48000 -c 1 -b 16 "$T/ok.wav" synth 0.2 sine 440 vol 0.5 || fail "sox"
python3 -c 'import sys, wave
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000); w.close()' "$T/noframes.wav"

n=0
# expect CODE WHAT ARGS...
expect() {
  local code=$1 what=$2 rc lines
  shift 2
  n=$((n + 1))
  timeout 20 "$SENDER" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  lines=$(wc -l <"$T/err")
  if [ $rc -ne "$code" ] || [ "$lines" -ne 1 ] || [ -s "$T/out" ] || ! grep -q '^sender: ' "$T/err"; then
    echo "case '$what': sender $*"
    echo "  exit $rc (want $code), $lines stderr line(s) (want 1), stdout $(wc -c <"$T/out") bytes:"
    sed 's/^/  | /' "$T/err"
    fail "case '$what'"
  fi
  printf '%-28s exit %d: %s\n' "$what" $rc "$(cat "$T/err")"
}

# Usage: exit 2.
expect 2 "no arguments"
expect 2 "one argument" "$IN"
expect 2 "three arguments" "$IN" "$D" extra
expect 2 "unknown long option" --frobnicate "$IN" "$D"
expect 2 "unknown short option" -Z "$IN" "$D"
expect 2 "option without value" "$IN" "$D" --bitrate
expect 2 "frame size 7 ms" -f 7 "$IN" "$D"
expect 2 "frame size text" --frame-ms twenty "$IN" "$D"
expect 2 "bitrate too low" -b 100 "$IN" "$D"
expect 2 "bitrate too high" --bitrate 600000 "$IN" "$D"
expect 2 "bitrate not a number" -b 32k "$IN" "$D"
expect 2 "channels 3" -c 3 "$IN" "$D"
expect 2 "complexity 11" --complexity 11 "$IN" "$D"
expect 2 "application" --application music "$IN" "$D"
expect 2 "expect-loss 101" --expect-loss 101 "$IN" "$D"
expect 2 "pt 95" --pt 95 "$IN" "$D"
expect 2 "pt 128" --pt 128 "$IN" "$D"
expect 2 "ssrc 2^32" --ssrc 4294967296 "$IN" "$D"
expect 2 "duration 0" --duration 0 "$IN" "$D"
expect 2 "duration negative" --duration -3 "$IN" "$D"
expect 2 "skew text" --clock-skew-ppm fast "$IN" "$D"
expect 2 "skew too large" --clock-skew-ppm 200000 "$IN" "$D"
expect 2 "stats-interval 5" --stats-interval 5 "$IN" "$D"
expect 2 "port 0" "$IN" 127.0.0.1:0
expect 2 "port 70000" "$IN" 127.0.0.1:70000
expect 2 "port text" "$IN" 127.0.0.1:rtp
expect 2 "no port" "$IN" 127.0.0.1
expect 2 "empty host" "$IN" :5004
expect 2 "IPv6 without brackets" "$IN" ::1:5004

# Run time: exit 1.
expect 1 "missing file" "$T/nope.wav" "$D"
expect 1 "directory" "$T/dir" "$D"
expect 1 "text file" "$T/text.wav" "$D"
expect 1 "empty file" "$T/empty.wav" "$D"
expect 1 "sample rate 0" "$T/zero.wav" "$D"
expect 1 "WAV without frames" "$T/noframes.wav" "$D"
if [ "$(id -u)" -ne 0 ]; then
  cp "$T/ok.wav" "$T/noperm.wav" && chmod 000 "$T/noperm.wav"
  expect 1 "unreadable file" "$T/noperm.wav" "$D"
else
  say "running as root: the unreadable-file case cannot be made"
fi
expect 1 "unresolvable host" "$T/ok.wav" no-such-host.invalid:5004
expect 1 "no such capture device" alsa:dl_no_such_pcm "$D"
expect 2 "alsa: without a name" alsa: "$D"
expect 2 "bad --raw" --raw 48000:0:s16 - "$D"
expect 2 "--raw on a file" --raw 48000:2:s16 "$T/ok.wav" "$D"
expect 2 "--live on a file" --live "$T/ok.wav" "$D"
expect 2 "--loop live" --loop alsa:dl_no_such_pcm "$D"
expect 2 "--capture-buffer out of range" --capture-buffer 5 alsa:dl_no_such_pcm "$D"
expect 1 "sdp unwritable" --sdp "$T/dir/no/x.sdp" "$T/ok.wav" "$D"
expect 1 "stats unwritable" --stats "$T/dir/no/s.jsonl" "$T/ok.wav" "$D"
expect 1 "trace unwritable" --trace "$T/dir/no/t.tsv" "$T/ok.wav" "$D"

# The messages name the problem.
"$SENDER" -f 7 "$IN" "$D" 2>&1 | grep -q -- '--frame-ms' || fail "frame-size message does not name --frame-ms"
"$SENDER" "$T/zero.wav" "$D" 2>&1 | grep -q 'sample rate' || fail "rate-0 message does not say sample rate"
"$SENDER" "$T/nope.wav" "$D" 2>&1 | grep -q 'No such file' || fail "missing-file message"
"$SENDER" alsa:dl_no_such_pcm "$D" 2>&1 | grep -q 'no such ALSA capture device' || fail "alsa message"
# --help explains every flag of the CLI (issue 2) and exits 0; so does -V.
"$SENDER" --help >"$T/help" 2>&1 || fail "--help exit $?"
for f in -f --frame-ms -b --bitrate -c --channels --complexity --application --fec --no-fec \
         --expect-loss --dtx --pt --ssrc --loop --duration --sdp --clock-skew-ppm --stats \
         --stats-interval --trace --raw --live --capture-buffer -q -v -h --help -V --version; do
  grep -q -- "$f\b" "$T/help" || fail "--help does not mention $f"
done
"$SENDER" -V | grep -q '^sender ' || fail "-V does not print the version"
# A good run of the same short file works (the cases above failed for their reason).
"$SENDER" -q "$T/ok.wav" "$D" || fail "a good run failed"
pass "$n cases"
