#!/usr/bin/env bash
# Standard input as INPUT "-": a WAV from ffmpeg's or sox's pipe is sent
# like a file (paced, every frame), and a pipe that closes mid-stream (the
# WAV cut short) ends the stream cleanly: exit 0, a final stats line, fewer
# frames sent. Raw PCM with --raw is paced the same; with --live each frame
# goes out as it arrives (a pipe that has it all at once: far faster than
# real time), also for a WAV, and a --live pipe closed mid-stream ends
# cleanly too. A bad --raw spec is one line and exit 2; --live on a file
# one line and exit 1. (--live from parec, paced by a device: sender_parec.)
# timeout: 90
. "$(dirname "$0")/../lib.sh"
need ffmpeg
built sender
IN=$TOP/tests/data/speech.flac
p=$(free_port)
[ "$p" -gt 0 ] || fail "no free port"

ffmpeg -nostdin -loglevel error -i "$IN" -t 2 -ac 1 -ar 48000 -f wav - >"$T/in.wav" ||
  fail "ffmpeg could not make the input"
timeout 20 sh -c "ffmpeg -nostdin -loglevel error -i '$IN' -t 2 -f wav - |
  '$BUILD/sender' -q --stats '$T/full' - 127.0.0.1:$p" || fail "sender - failed (rc $?)"
last=$(tail -n 1 "$T/full")
say "full pipe: $last"
case $last in *'"final":true'*) ;; *) fail "no final stats line";; esac
sent=$(printf '%s' "$last" | sed -n 's/.*"sent":\([0-9]*\).*/\1/p')
[ "$sent" = 100 ] || fail "2 s of WAV from a pipe sent $sent packets, expected 100"

# The pipe closes after ~0.5 s of audio: a clean end, not an error.
timeout 20 sh -c "head -c 48044 '$T/in.wav' | '$BUILD/sender' -q --stats '$T/cut' - 127.0.0.1:$p" ||
  fail "a pipe closed mid-stream gave exit $?, expected 0"
last=$(tail -n 1 "$T/cut")
say "cut pipe: $last"
case $last in *'"final":true'*) ;; *) fail "no final stats line after the pipe closed";; esac
sent=$(printf '%s' "$last" | sed -n 's/.*"sent":\([0-9]*\).*/\1/p')
[ "$sent" -ge 20 ] && [ "$sent" -le 30 ] || fail "0.5 s cut pipe sent $sent packets, expected ~25"
cut_sent=$sent

# sent FILE: the final line's sent count (or fail).
final_sent() {
  local last
  last=$(tail -n 1 "$1")
  case $last in *'"final":true'*) ;; *) fail "$1: no final stats line";; esac
  printf '%s' "$last" | sed -n 's/.*"sent":\([0-9]*\).*/\1/p'
}
need sox
# sox's WAV on a pipe (its data size unknown), 44.1 kHz stereo: paced.
timeout 20 sh -c "sox -V1 '$IN' -r 44100 -c 2 -b 16 -t wav - trim 0 2 |
  '$BUILD/sender' -q --stats '$T/sox' - 127.0.0.1:$p" || fail "sox | sender - failed (rc $?)"
sent=$(final_sent "$T/sox")
[ "$sent" = 100 ] || fail "2 s of sox's WAV sent $sent packets, expected 100"

# --raw, paced: 2 s take about 2 s.
sox "$IN" -r 44100 -c 2 -b 16 -e signed -t raw "$T/in.raw" trim 0 2 || fail "sox raw"
t0=$(date +%s.%N)
timeout 20 sh -c "cat '$T/in.raw' | '$BUILD/sender' -q --raw 44100:2:s16 --stats '$T/raw' - 127.0.0.1:$p" ||
  fail "--raw 44100:2:s16 failed (rc $?)"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
sent=$(final_sent "$T/raw")
[ "$sent" = 100 ] || fail "2 s of raw PCM sent $sent packets, expected 100"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.8) }' || fail "--raw without --live was not paced: 2 s in $secs s"
say "raw paced: 100 packets in $secs s"

# --live: the pipe sets the pace; cat hands it all over at once.
t0=$(date +%s.%N)
timeout 20 sh -c "cat '$T/in.raw' | '$BUILD/sender' -q --live --raw 44100:2:s16 --stats '$T/live' - 127.0.0.1:$p" ||
  fail "--live --raw failed (rc $?)"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
sent=$(final_sent "$T/live")
[ "$sent" -ge 100 ] && [ "$sent" -le 101 ] || fail "2 s of raw PCM with --live sent $sent packets, expected 100"
awk -v s="$secs" 'BEGIN { exit !(s < 1.5) }' || fail "--live paced a pipe that had it all: 2 s in $secs s"
grep -q '"capture_latency_ms":[0-9]' "$T/live" || fail "--live: no capture_latency_ms"
say "raw live: $sent packets in $secs s"
# A WAV header with --live, the pipe closed after about 0.5 s of audio.
timeout 20 sh -c "head -c 48044 '$T/in.wav' | '$BUILD/sender' -q --live --stats '$T/livecut' - 127.0.0.1:$p" ||
  fail "--live, a pipe closed mid-stream gave exit $?, expected 0"
sent=$(final_sent "$T/livecut")
[ "$sent" -ge 24 ] && [ "$sent" -le 26 ] || fail "0.5 s cut --live pipe sent $sent packets, expected 25"

# Bad input: one line each.
"$BUILD/sender" --raw 48000:2:s8 - 127.0.0.1:$p </dev/null >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] || fail "a bad --raw spec gave exit $rc, expected 2"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- '--raw: FORMAT' "$T/err" || fail "bad --raw: $(cat "$T/err")"
"$BUILD/sender" --raw 48000:2 - 127.0.0.1:$p </dev/null 2>"$T/err"
[ $? -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] || fail "--raw 48000:2: $(cat "$T/err")"
"$BUILD/sender" --live --raw 48000:2:s16 - 127.0.0.1:$p <"$T/in.raw" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] || fail "--live on a file: exit $rc, $(cat "$T/err")"
echo hello | "$BUILD/sender" --live - 127.0.0.1:$p 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'not a WAV' "$T/err" ||
  fail "--live, not a WAV: exit $rc, $(cat "$T/err")"
pass "pipe: 100 packets; cut pipe: $cut_sent packets, clean end; sox WAV, --raw paced ($secs s live); bad specs one line"

