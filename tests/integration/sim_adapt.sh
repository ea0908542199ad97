#!/usr/bin/env bash
# Adapting within a second (issue 15), in virtual time (bench/sim: the
# receiver's pipeline on generated arrivals, its timeline as CSV):
#   - a +100 ms step in the path's delay: at most 120 ms of audio
#     concealed, the latency at its target within 1 s, no resync;
#   - a -100 ms step: back at the target within 5 s, nothing concealed;
#   - a jitter burst (sd 5 -> 40 ms for 40 s): after its first second, the
#     late-loss within the burst at most that of a fixed buffer at the same
#     mean latency on the same arrivals, + 1 point;
#   - a clean start: the target within 2 ms of its settled value after 2 s;
#     outside adaptation (no splice), the output's stretch (the resampler's
#     ratio) within 50 ppm of the true drift (a sender 300 ppm fast).
# Seeded (DL_SEED, printed).
# tags: sanitize
# timeout: 300
. "$(dirname "$0")/../lib.sh"
SIM=$BUILD/bench/sim
built bench/sim
need python3
SEED=${DL_SEED:-1}
say "seed $SEED (DL_SEED)"

# sim NAME ARGS...: $T/NAME.json and $T/NAME.csv (every frame's row).
sim() {
  local name=$1; shift
  "$SIM" --seed "$SEED" --csv "$T/$name.csv" --csv-every 20 "$@" >"$T/$name.json" ||
    fail "$name: sim failed"
}
sim up --trace step:10:100 --base-delay 20 --duration 30
sim down --trace step:10:-100 --base-delay 120 --duration 30
sim burst --trace burst:20:40:5:40 --duration 80
sim start --trace constant --sender-skew-ppm 300 --duration 60

python3 - "$T" <<'PY' || fail "adaptation out of bounds (seed $SEED)"
import csv, json, math, os, sys
T = sys.argv[1]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        bad.append(what)
def rows(name):
    return list(csv.DictReader(open(os.path.join(T, name + ".csv"))))
def num(r, k):
    try:
        return float(r[k])
    except (ValueError, KeyError):
        return math.nan
def stats(name):
    return json.load(open(os.path.join(T, name + ".json")))
def settled_after(rs, t0, tol):
    """First time after t0 from which |ctl latency - target| stays within tol."""
    last_bad = t0
    for r in rs:
        t, c, g = num(r, "t"), num(r, "ctl_latency"), num(r, "target")
        if t >= t0 and not math.isnan(c) and abs(c - g) > tol:
            last_bad = t
    return last_bad - t0

up, s = rows("up"), stats("up")
# Concealed: from the first concealed frame's heard time to the next packet's.
c0 = next(num(r, "t") for r in up if r["event"] in ("plc", "silence") and num(r, "t") >= 9.5)
c1 = next(num(r, "t") for r in up if r["event"] in ("packet", "fec") and num(r, "t") > c0)
check(round((c1 - c0) * 1000, 1) <= 120, "+100 ms step: %.1f ms concealed <= 120" % ((c1 - c0) * 1000))
check(s["resyncs"] == 0, "+100 ms step: %d resyncs == 0" % s["resyncs"])
check(s["route_steps"] >= 1, "+100 ms step: recognised (%d route steps)" % s["route_steps"])
t = settled_after(up, 10.0, 2.0)
check(t <= 1.0, "+100 ms step: latency within 2 ms of its target %.2f s after the step <= 1" % t)

down, s = rows("down"), stats("down")
conc = [r for r in down if r["event"] in ("plc", "silence") and num(r, "t") >= 9.5]
check(not conc, "-100 ms step: %d frames concealed == 0" % len(conc))
check(s["resyncs"] == 0 and s["late"] == 0, "-100 ms step: resyncs %d, late %d == 0" % (s["resyncs"], s["late"]))
t = settled_after(down, 10.0, 2.0)
check(t <= 5.0, "-100 ms step: back within 2 ms of the target %.2f s after the step <= 5" % t)

# The burst: packets are sent every 20 ms; late rows carry their arrival.
b = rows("burst")
win = lambda r: 21.0 <= num(r, "t") < 60.0
late = sum(1 for r in b if r["event"] == "late" and win(r))
lats = [num(r, "latency") for r in b if r["event"] == "packet" and win(r) and not math.isnan(num(r, "latency"))]
mean = sum(lats) / len(lats)
sent = 39.0 / 0.020
print("burst: %d late of %.0f in the window, mean latency %.1f ms" % (late, sent, mean))
open(os.path.join(T, "burst.mean"), "w").write("%.1f\n" % mean)
open(os.path.join(T, "burst.late"), "w").write("%d\n" % late)

st, s = rows("start"), stats("start")
g_end = num([r for r in st if not math.isnan(num(r, "target"))][-1], "target")
after = [num(r, "target") for r in st if num(r, "t") >= 2.0 and not math.isnan(num(r, "target"))]
worst = max(abs(g - g_end) for g in after)
check(worst <= 2.0, "clean start: target within %.2f ms of its settled %.2f ms from 2 s on (<= 2)" % (worst, g_end))
splices = [num(r, "t") for r in st if r.get("tsm", "0") not in ("", "0")]
steady = [num(r, "ratio") for r in st if num(r, "t") >= 10 and r["event"] == "packet"]
ppm = (sum(steady) / len(steady) - 1) * 1e6
check(abs(ppm - 300) <= 50, "clean start, 300 ppm: the stretch outside adaptation %.1f ppm of 300 (+-50)" % ppm)
sys.exit(1 if bad else 0)
PY
# The fixed buffer at the burst's mean latency, on the same arrivals.
mean=$(cat "$T/burst.mean")
sim fixed --trace burst:20:40:5:40 --duration 80 --latency "$mean"
python3 - "$T" <<'PY' || fail "jitter burst: late-loss above the fixed buffer's + 1 point (seed $SEED)"
import csv, os, sys
T = sys.argv[1]
ours = int(open(os.path.join(T, "burst.late")).read())
rs = list(csv.DictReader(open(os.path.join(T, "fixed.csv"))))
fixed = sum(1 for r in rs if r["event"] == "late" and 21.0 <= float(r["t"]) < 60.0)
n = 39.0 / 0.020
print("jitter burst: ours %.2f %% late, a fixed buffer at the same mean latency %.2f %%" % (100 * ours / n, 100 * fixed / n))
sys.exit(0 if ours <= fixed + 0.01 * n else 1)
PY
pass
