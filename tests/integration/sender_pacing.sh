#!/usr/bin/env bash
# Pacing over 30 s, measured on the wire (build/tools/rtpdump's arrival
# times, CLOCK_MONOTONIC, against the sender's --trace of scheduled times on
# the same clock). Two senders run at once, each to its own rtpdump:
#  1. no skew: the send error does not grow: the median error of the last
#     5 s is within 5 ms of the first 5 s, p99 within 30 ms, the trend of
#     per-second medians over the 30 s below 5 ms, and 1500 packets of 20 ms
#     span 30.000 s +- 10 ms;
#  2. --clock-skew-ppm 1000: 30 s of audio takes 29.970 s +- 10 ms.
# Duration of a stream = (last arrival - first arrival) * N / (N - 1): the
# last packet's own period counts. On a loaded machine a single packet can
# arrive tens of ms late (the first one most often), so the first and last
# arrival times are taken from the lower envelope of the first and last
# second of packets (a late packet only ever arrives later than its slot);
# the raw first/last figure is printed too and held to +- 50 ms. Bounds are
# wide for a loaded 2-core machine; a schedule that accumulates its wake-up
# delays drifts by far more.
# tags: solo
# timeout: 150
. "$(dirname "$0")/../lib.sh"
need python3
SENDER=$BUILD/sender DUMP=$BUILD/tools/rtpdump
[ -x "$SENDER" ] && [ -x "$DUMP" ] || fail "build $SENDER and $DUMP first"
IN=$TOP/tests/data/speech.flac
N=1500   # 30 s of 20 ms packets

pa=$(free_port) pb=$(free_port)
[ "$pa" -gt 0 ] && [ "$pb" -gt 0 ] && [ "$pa" != "$pb" ] || fail "no free ports"
for x in a b; do
  port=$pa; [ $x = b ] && port=$pb
  bg "$DUMP" --count $N --idle 10 --ready "$T/ready.$x" "127.0.0.1:$port" >"$T/dump.$x" 2>"$T/dump.$x.err"
  eval "dump_$x=\$!"
done
for _ in $(seq 1 50); do [ -f "$T/ready.a" ] && [ -f "$T/ready.b" ] && break; sleep 0.1; done
[ -f "$T/ready.a" ] && [ -f "$T/ready.b" ] || fail "rtpdump did not start"

bg "$SENDER" -q --loop --duration 30 --trace "$T/trace.a" --stats "$T/stats.a" "$IN" "127.0.0.1:$pa"
sa=$!
bg "$SENDER" -q --loop --duration 30 --clock-skew-ppm 1000 --trace "$T/trace.b" "$IN" "127.0.0.1:$pb"
sb=$!
wait_exit "$sa" 60 || fail "sender (no skew) failed or hung: exit $?"
wait_exit "$sb" 60 || fail "sender (skew) failed or hung: exit $?"
wait_exit "$dump_a" 15 || fail "rtpdump a did not finish"
wait_exit "$dump_b" 15 || fail "rtpdump b did not finish"
say "sender final stats: $(tail -n 1 "$T/stats.a")"

python3 - "$T" "$N" <<'PY' || fail "see above"
import sys
T, N = sys.argv[1], int(sys.argv[2])

def load(x):
    sched, sent = {}, {}
    with open(f"{T}/trace.{x}") as f:
        next(f)
        for line in f:
            seq, ts, s, a = line.split("\t")
            sched[int(seq)] = int(s); sent[int(seq)] = int(a)
    arr = []
    with open(f"{T}/dump.{x}") as f:
        for line in f:
            if line.startswith("#"):
                continue
            c = line.rstrip("\n").split("\t")
            arr.append((int(c[5]), int(c[0])))
    return sched, sent, arr

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]

def median(v):
    return pct(v, 50)

ok = True
def check(cond, msg):
    global ok
    print(("ok    " if cond else "FAIL  ") + msg)
    ok = ok and cond

def check_duration(name, arr, want):
    a = [x for _, x in arr]          # in arrival order = packet order on loopback
    raw = (a[-1] - a[0]) / 1e9 * N / (N - 1)
    # Lower envelope: with the period p from first/last, the earliest
    # a[k] - k*p over the first 50 packets is packet 0's undelayed arrival,
    # the earliest a[k] + (N-1-k)*p over the last 50 is packet N-1's. An
    # error in p matters only across the 50-packet window (1 s).
    p = (a[-1] - a[0]) / (N - 1)
    w = 50
    first = min(a[k] - k * p for k in range(w))
    last = min(a[k] + (N - 1 - k) * p for k in range(N - w, N))
    dur = (last - first) / 1e9 * N / (N - 1)
    print(f"{name}: first/last arrival: {raw:.4f} s raw, {dur:.4f} s from the envelope")
    check(abs(dur - want) <= 0.010, f"{name}: 30 s of audio took {dur:.4f} s ({want:.3f} +- 0.010)")
    check(abs(raw - want) <= 0.050, f"{name}: raw first/last {raw:.4f} s ({want:.3f} +- 0.050)")

# 1. no skew
sched, sent, arr = load("a")
check(len(arr) == N, f"no skew: {len(arr)} packets arrived, want {N}")
t0 = min(sched.values())
err = [((sched[s] - t0) / 1e9, (a - sched[s]) / 1e6) for s, a in arr]
tx = [(sent[s] - sched[s]) / 1e6 for s in sched]
first = [e for t, e in err if t < 5]
last = [e for t, e in err if t >= 25]
f50, f99, fmax = median(first), pct(first, 99), max(first)
l50, l99, lmax = median(last), pct(last, 99), max(last)
print(f"arrival - schedule, first 5 s: p50 {f50:.3f} p99 {f99:.3f} max {fmax:.3f} ms")
print(f"arrival - schedule, last 5 s:  p50 {l50:.3f} p99 {l99:.3f} max {lmax:.3f} ms")
print(f"send - schedule (sender's trace), all: p50 {median(tx):.3f} p99 {pct(tx, 99):.3f} max {max(tx):.3f} ms")
check(min(e for t, e in err) >= 0, "no packet arrived before its deadline")
check(l50 <= f50 + 5.0, f"median error does not grow: {l50:.3f} <= {f50:.3f} + 5 ms")
check(l99 <= f99 + 30.0, f"p99 error does not grow: {l99:.3f} <= {f99:.3f} + 30 ms")
# Trend: least squares over the 30 per-second medians.
secs = {}
for t, e in err:
    secs.setdefault(int(t), []).append(e)
pts = [(k + 0.5, median(v)) for k, v in sorted(secs.items())]
n = len(pts); mx = sum(p[0] for p in pts) / n; my = sum(p[1] for p in pts) / n
slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)
check(abs(slope * 30) < 5.0, f"trend of per-second median error over 30 s: {slope * 30:+.3f} ms (|.| < 5)")
check_duration("no skew", arr, 30.0)

# 2. skew +1000 ppm
sched, sent, arr = load("b")
check(len(arr) == N, f"skew: {len(arr)} packets arrived, want {N}")
check_duration("--clock-skew-ppm 1000", arr, 29.970)
sys.exit(0 if ok else 1)
PY
pass
