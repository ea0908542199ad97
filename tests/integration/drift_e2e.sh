#!/usr/bin/env bash
# Drift compensation end to end, in real time on loopback: our sender with
# --clock-skew-ppm 1000 (its schedule 0.1 % fast) -> our receiver -o
# out.wav, 60 s; then a true-rate sender -> receiver --sink-skew-ppm -1000
# (its WAV sink's clock 0.1 % slow). Both are the same drift, +1000 ppm of
# the sender against the sink. Each: in the last 20 s the latency of every
# 1 s interval stays within target +- 5 ms, drift_ppm reads 1000 +- 100
# and no resync happened. Every figure is printed (late packets too: on a
# loaded machine the sender itself can be late).
# The receiver holds a fixed target (--latency 60), so that what moves the
# latency is the drift alone: with the adaptive target, a hiccup of the
# machine (both pairs at once, 6 ms) raised the target 6 ms in two seconds,
# which the controller follows at its smooth pace (the reference approaches
# a new target over seconds), and that lag is not drift. How the adaptive
# target and the controller work together is measured in virtual time
# (sim_drift, sim_jitter, sim_calm), where no hiccup is an accident.
# The interval latency is exact: the stats' cumulative mean times the
# packets played, differenced between lines; intervals that hold the
# stream's start or end (fewer than 48 packets played) are left out.
# tags: solo
# timeout: 200
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender
"$BUILD/receiver" --help | grep -q -- '--latency-quantile' ||
  skip "the receiver does not enable drift compensation yet (no --latency-quantile)"
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" || fail "sox"
DUR=${DL_E2E_SECONDS:-60}

run_case() {   # name, sender skew ppm, receiver extra flags...
  local name=$1 tx_skew=$2; shift 2
  local port
  port=$(free_rtp_port) || fail "no free port"
  bg "$BUILD/receiver" -v --latency 60 -o "$T/$name.wav" --idle-exit 1 --stats "$T/$name.jsonl" \
     --stats-interval 1000 "$@" "127.0.0.1:$port" 2>"$T/$name.rx.err"
  local rx=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.rx.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.rx.err" || { cat "$T/$name.rx.err"; fail "$name: receiver did not start"; }
  timeout $((DUR + 30)) "$BUILD/sender" -q --loop --duration "$DUR" --clock-skew-ppm "$tx_skew" \
    "$T/in.wav" "127.0.0.1:$port" || fail "$name: sender exited $?"
  wait_exit "$rx" 20 || { cat "$T/$name.rx.err"; fail "$name: receiver exited $?"; }
  python3 - "$T/$name.jsonl" "$name" "$DUR" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
name, dur = sys.argv[2], float(sys.argv[3])
final = lines[-1]
# Interval means from the cumulative mean and the packets played. The
# final line (written at exit, its interval running past the stream's end)
# is not an interval of the stream.
rows, prev = [], None
for s in lines:
    if s.get("final"):
        continue
    lat, n = s["latency_ms"]["mean"], s["played"]
    # Whole seconds of the stream only (50 packets of 20 ms, give or take
    # one): the first and the last interval hold its start and its end.
    if prev and lat is not None and prev[1] is not None and n - prev[2] >= 48:
        m = (lat * n - prev[1] * prev[2]) / (n - prev[2])
        rows.append((s["t"], m, s["latency_ms"]["target"], s["drift_ppm"], s["resample_ratio"]))
    prev = (s["t"], lat, n)
start = min(t for t, *_ in rows) if rows else 0
end = max(t for t, *_ in rows) if rows else 0
last = [r for r in rows if r[0] > end - 20]
print("%s: t, interval mean latency, target, drift_ppm, ratio (last 20 s):" % name)
for r in last:
    print("  %6.1f s  %7.2f ms  target %6.2f  drift %8.1f ppm  ratio %.6f" % r)
err = max(abs(m - tg) for _, m, tg, _, _ in last) if last else float("inf")
drift = [d for *_, d, _ in last if d is not None]
print("%s: max |latency - target| %.2f ms over %d intervals; drift_ppm %.1f .. %.1f, final %s; "
      "late %d, lost %d, resyncs %d, underruns %d, played %d" % (name, err, len(last),
      min(drift) if drift else float("nan"), max(drift) if drift else float("nan"), final.get("drift_ppm"),
      final["late"], final["lost"], final.get("resyncs", 0), final.get("underruns", 0), final["played"]))
ok = len(last) >= 18 and err <= 5 and drift and all(abs(d - 1000) <= 100 for d in drift) \
     and final.get("resyncs", 0) == 0
sys.exit(0 if ok else 1)
PY
}
# Both cases at once (each its own ports and files): a minute, not two.
run_case sender_fast 1000 >"$T/sender_fast.log" 2>&1 &
a=$!
run_case sink_slow 0 --sink-skew-ppm -1000 >"$T/sink_slow.log" 2>&1 &
b=$!
wait $a; ra=$?
wait $b; rb=$?
cat "$T/sender_fast.log" "$T/sink_slow.log"
[ $ra -eq 0 ] || fail "sender --clock-skew-ppm 1000: out of bounds"
[ $rb -eq 0 ] || fail "receiver --sink-skew-ppm -1000: out of bounds"
pass
