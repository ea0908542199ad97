#!/usr/bin/env bash
# Sanitizers (issue 6, item 6): valgrind memcheck of an end-to-end stream.
#  1. valgrind build/receiver -o out.wav --no-resample --latency 200
#     --idle-exit 2, receiving a 3 s stream from a plain build/sender;
#  2. valgrind build/sender streaming 3 s to a plain build/receiver.
# Each: --leak-check=full --errors-for-leak-kinds=definite
# --error-exitcode=99; the exit status is 0 (not 99, not a crash), the log
# says "ERROR SUMMARY: 0 errors" and nothing definitely lost ("definitely
# lost: 0 bytes", or "no leaks are possible"), and the stream arrived
# (played > 0; memcheck is slow, so quality is not asserted here).
# tags: solo
# timeout: 90
. "$(dirname "$0")/../lib.sh"
need valgrind sox python3
built sender receiver
# Under a sanitizer build valgrind cannot run (ASan/TSan own the memory map).
if nm -a "$BUILD/receiver" 2>/dev/null | grep -q -e __asan_init -e __tsan_init; then
  skip "$BUILD is a sanitizer build; valgrind needs a plain one"
fi
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 1 3 || fail "sox"
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)

wait_listen() {   # wait_listen ERRFILE SEC
  for _ in $(seq 1 $(($2 * 10))); do grep -q 'listening on' "$1" && return 0; sleep 0.1; done
  return 1
}

# 1. The receiver under memcheck.
port=$(free_rtp_port) || fail "no free port"
bg "${VG[@]}" --log-file="$T/vg_rx.log" "$BUILD/receiver" -v --no-resample --latency 200 --idle-exit 2 \
  -o "$T/rx1.wav" --stats "$T/rx1.jsonl" "127.0.0.1:$port" 2>"$T/rx1.err"
rx=$!
wait_listen "$T/rx1.err" 30 || { cat "$T/rx1.err"; fail "receiver under valgrind did not start"; }
timeout 30 "$BUILD/sender" -q --stats "$T/tx1.jsonl" "$T/in.wav" "127.0.0.1:$port" || fail "sender exited $?"
wait_exit "$rx" 40; rc_rx=$?
say "receiver under valgrind exited $rc_rx; $(tail -n 1 "$T/rx1.jsonl" 2>/dev/null | cut -c1-200)"

# 2. The sender under memcheck.
port=$(free_rtp_port) || fail "no free port"
bg "$BUILD/receiver" -v --no-resample --latency 200 --idle-exit 3 -o "$T/rx2.wav" \
  --stats "$T/rx2.jsonl" "127.0.0.1:$port" 2>"$T/rx2.err"
rx=$!
wait_listen "$T/rx2.err" 20 || { cat "$T/rx2.err"; fail "receiver did not start"; }
timeout 60 "${VG[@]}" --log-file="$T/vg_tx.log" "$BUILD/sender" -q --stats "$T/tx2.jsonl" "$T/in.wav" \
  "127.0.0.1:$port" 2>"$T/tx2.err"; rc_tx=$?
say "sender under valgrind exited $rc_tx; $(tail -n 1 "$T/tx2.jsonl" 2>/dev/null)"
wait_exit "$rx" 20 || fail "receiver (plain) exited $?"

bad=0
for w in rx:$rc_rx tx:$rc_tx; do
  n=${w%%:*} rc=${w#*:} log=$T/vg_$n.log
  say "$n: $(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|in use at exit|no leaks are possible' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
  if [ "$rc" != 0 ]; then echo "FAIL $n: exit status $rc (99: memcheck errors)"; bad=1; fi
  grep -q 'ERROR SUMMARY: 0 errors' "$log" || { echo "FAIL $n: memcheck errors"; sed -n '1,80p' "$log"; bad=1; }
  grep -q -e 'definitely lost: 0 bytes' -e 'no leaks are possible' "$log" ||
    { echo "FAIL $n: memory definitely lost"; grep -A 20 'definitely lost in' "$log" | head -60; bad=1; }
done
python3 - "$T" <<'PY' || bad=1
import json, sys
T = sys.argv[1]
for n in ("rx1", "rx2"):
    try:
        f = json.loads(open(f"{T}/{n}.jsonl").read().splitlines()[-1])
    except (OSError, IndexError, ValueError):
        print(f"FAIL {n}: no stats"); sys.exit(1)
    print(f"{n}: played {f['played']}, lost {f['lost']}, late {f['late']}, concealed {f['concealed']}, underruns {f['underruns']}")
    if not f["played"] > 0:
        print(f"FAIL {n}: nothing played"); sys.exit(1)
PY
[ $bad = 0 ] || fail "see above"
pass
