#!/usr/bin/env bash
# --live from parec (issue 12): `parec --raw | sender --live --raw
# 48000:2:s16 -`, a PulseAudio null sink's monitor as the source whose
# clock paces the stream through the pipe; a stereo file with different
# speech on each side is played into the sink. The sender ends at
# --duration with a final stats line and exit 0 (parec then meets a closed
# pipe); the receiver's WAV has each input channel on its own side (>= 0.8,
# crosses <= 0.3), nothing lost; the packets left at the pipe's pace: from
# the first to the last send (--trace) 7.98 s of stream took 7.7 .. 8.3 s
# (cat's pipe, which has it all at once, takes 0.1 s: sender_stdin).
# tags: solo
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox paplay python3
built sender receiver tools/wavcmp
pulse_start 2

S=$TOP/tests/data/speech.flac
sox "$S" -r 48000 -c 1 -b 16 "$T/a.wav" trim 1 6 && sox "$S" -r 48000 -c 1 -b 16 "$T/b.wav" trim 12 6 &&
  sox -M "$T/a.wav" "$T/b.wav" "$T/st.wav" || fail "sox could not make the input"
port=$(free_rtp_port) || fail "no free port"
bg "$BUILD/receiver" -v -o "$T/out.wav" --latency 100 --idle-exit 1 --stats "$T/rx.jsonl" \
   "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }
( parec --raw --device=nullsink.monitor --rate=48000 --channels=2 --format=s16le --latency-msec=10 \
    2>"$T/parec.err" |
    "$BUILD/sender" -v --live --raw 48000:2:s16 --duration 8 --stats "$T/tx.jsonl" --trace "$T/trace" \
    - "127.0.0.1:$port" \
    2>"$T/tx.err"; echo $? >"$T/tx.rc" ) &
pipe=$!
_pids+=($pipe)
sleep 1
paplay --device=nullsink "$T/st.wav" || fail "paplay failed"
wait_exit "$pipe" 20 || fail "the parec | sender pipeline did not end"
secs=$(awk -F'\t' 'NR == 2 { a = $4 } NR > 1 { b = $4 } END { printf "%.3f", (b - a) / 1e9 }' "$T/trace")
cat "$T/tx.err"
[ "$(cat "$T/tx.rc")" = 0 ] || fail "sender exited $(cat "$T/tx.rc")"
wait_exit "$rx" 20 || { cat "$T/rx.err"; fail "receiver exited $?"; }
last=$(tail -n 1 "$T/tx.jsonl")
case $last in *'"final":true'*) ;; *) fail "no final stats line";; esac
python3 - "$last" "$(tail -n 1 "$T/rx.jsonl")" "$secs" <<'PY' || fail "counts"
import json, sys
tx, rx, secs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
bad = []
if not 395 <= tx["sent"] <= 401: bad.append("sent %d, expected 400" % tx["sent"])
if rx["lost"] != 0 or rx["received"] != tx["sent"]: bad.append("received %d of %d, lost %d" % (rx["received"], tx["sent"], rx["lost"]))
if not 7.7 <= secs <= 8.3: bad.append("7.98 s of stream went out in %.3f s: not at the pipe's pace" % secs)
print("sent %d over %.3f s, level %s dBFS, capture_latency_ms %s; received %d, lost %d, late %d%s" % (
    tx["sent"], secs, tx["level_dbfs"], tx["capture_latency_ms"], rx["received"], rx["lost"], rx["late"],
    "" if not bad else "; FAIL " + ", ".join(bad)))
sys.exit(1 if bad else 0)
PY
sox "$T/out.wav" "$T/L.wav" remix 1 && sox "$T/out.wav" "$T/R.wav" remix 2 || fail "split"
c() { "$BUILD/tools/wavcmp" --track --max-lag-ms 8000 "$1" "$2" | sed -n 's/^corr=//p'; }
ll=$(c "$T/a.wav" "$T/L.wav"); rr=$(c "$T/b.wav" "$T/R.wav")
lr=$(c "$T/b.wav" "$T/L.wav"); rl=$(c "$T/a.wav" "$T/R.wav")
say "L~L $ll, R~R $rr, L~R $lr, R~L $rl"
awk -v a="$ll" -v b="$rr" -v x="$lr" -v y="$rl" 'BEGIN { exit !(a >= 0.8 && b >= 0.8 && x <= 0.3 && y <= 0.3) }' ||
  fail "the output channels do not match their inputs (L~L, R~R >= 0.8, crosses <= 0.3)"
pass "parec --raw | sender --live: 7.98 s of stream sent over $secs s, L~L $ll, R~R $rr"
