#!/usr/bin/env bash
# Catch-up after a stall: the sender is stopped (SIGSTOP) for 300 ms in the
# middle of a 4 s stream. When it runs again it sends every overdue packet
# at once (a burst on the wire), their timestamps unchanged, counts them as
# late, and the schedule is not stretched: every deadline in --trace is
# still exactly t0 + k * 20 ms, and the stream ends on time.
# tags: sanitize solo
# timeout: 60
. "$(dirname "$0")/../lib.sh"
need python3
SENDER=$BUILD/sender DUMP=$BUILD/tools/rtpdump
[ -x "$SENDER" ] && [ -x "$DUMP" ] || fail "build $SENDER and $DUMP first"
IN=$TOP/tests/data/speech.flac
p=$(free_port)
[ "$p" -gt 0 ] || fail "no free port"

bg "$DUMP" --count 200 --idle 10 --ready "$T/ready" "127.0.0.1:$p" >"$T/dump" 2>"$T/dump.err"
dump=$!
for _ in $(seq 1 50); do [ -f "$T/ready" ] && break; sleep 0.1; done
[ -f "$T/ready" ] || fail "rtpdump did not start"
bg "$SENDER" -q --duration 4 --trace "$T/trace" --stats "$T/stats" "$IN" "127.0.0.1:$p"
s=$!
sleep 1.5
kill -STOP "$s"
sleep 0.3
kill -CONT "$s"
wait_exit "$s" 20 || fail "sender failed or hung"
wait_exit "$dump" 15 || fail "rtpdump did not finish"
say "final stats: $(tail -n 1 "$T/stats")"

python3 - "$T" <<'PY' || fail "see above"
import sys, json
T = sys.argv[1]
ok = True
def check(cond, msg):
    global ok
    print(("ok    " if cond else "FAIL  ") + msg)
    ok = ok and cond

rows = [l.rstrip("\n").split("\t") for l in open(f"{T}/trace")][1:]
sched = [int(r[2]) for r in rows]
ts = [int(r[1]) for r in rows]
check(len(rows) == 200, f"{len(rows)} packets in the trace, want 200")
check(all(sched[k] - sched[0] == k * 20000000 for k in range(len(sched))),
      "every deadline is t0 + k * 20 ms (nothing stretched)")
check(all((ts[k] - ts[0]) % 2**32 == k * 960 for k in range(len(ts))), "timestamps + 960 per packet")

arr = [int(l.split("\t")[0]) for l in open(f"{T}/dump") if not l.startswith("#")]
check(len(arr) == 200, f"{len(arr)} packets arrived, want 200")
gaps = [(arr[k + 1] - arr[k]) / 1e6 for k in range(len(arr) - 1)]
burst = sum(1 for g in gaps if g < 5.0)
longest = max(gaps)
print(f"longest gap {longest:.1f} ms, {burst} packets less than 5 ms apart")
check(longest >= 250, "the stall shows on the wire (a gap of >= 250 ms)")
check(burst >= 10, "the overdue packets went out as a burst (>= 10 within 5 ms of each other)")
dur = (arr[-1] - arr[0]) / 1e9 * 200 / 199
check(abs(dur - 4.0) <= 0.050, f"the stream still took {dur:.4f} s (4.000 +- 0.050)")
final = json.loads(open(f"{T}/stats").read().splitlines()[-1])
check(final.get("final") is True and final["late"] >= 10, f"late sends counted: {final['late']} (>= 10)")
check(final["sent"] == 200, f"sent {final['sent']}")
sys.exit(0 if ok else 1)
PY
pass
