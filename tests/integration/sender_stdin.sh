#!/usr/bin/env bash
# Standard input as INPUT "-": a WAV from ffmpeg's pipe is sent like a file
# (paced, every frame), and a pipe that closes mid-stream (the WAV cut short)
# ends the stream cleanly: exit 0, a final stats line, fewer frames sent.
# timeout: 60
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
pass "pipe: 100 packets; cut pipe: $sent packets, clean end"
