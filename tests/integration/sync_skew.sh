#!/usr/bin/env bash
# Synchronized playout against sink clocks that disagree (issue 16, part
# 4): one sender to an IPv4 group on loopback, three receivers with --sync
# writing WAV files whose clocks run -300, 0 and +300 ppm off (WAV sinks
# --sink-skew-ppm), for SYNC_SKEW_S real seconds (default 120: the issue's
# "2 real minutes"). Each file's sample-to-clock mapping is known to the
# test from its skew and its start instant, which the receiver's --trace
# records (the "start" line: frame 0's CLOCK_MONOTONIC time): sample n is
# heard at start + n / (48000 (1 + skew)). Each file is resampled by sox
# from its skewed rate to 48 kHz and padded by its start, so that all
# three are on one time base; then each pair is compared by
# cross-correlation over 1 s windows (tests/tools/chanoff). After
# SYNC_SKEW_SETTLE_S (30: the drift controller's integral learns 300 ppm
# in about that, holding the error under 1 ms meanwhile) the same RTP time
# must be heard at the same instant: p99 |offset| within 0.5 ms for every
# pair.
# The receivers' own figures are printed, not judged. SYNC_SKEW_DELAY=MS
# gives every receiver --sync-delay MS (scripts/bench: the smallest delay
# that keeps late-loss 0).
# tags: solo
# timeout: 300
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender tools/chanoff
DUR=${SYNC_SKEW_S:-120}
SETTLE=${SYNC_SKEW_SETTLE_S:-30}
S=$BUILD/sender R=$BUILD/receiver
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" || fail "sox"
P=$(free_rtp_port) || fail "no free port"
SKEWS="-300 0 300"
pids=()
for k in $SKEWS; do
  bg "$R" -q --sync ${SYNC_SKEW_DELAY:+--sync-delay "$SYNC_SKEW_DELAY"} -c 1 --iface 127.0.0.1 --rtcp-interval 1000 --duration $((DUR + 8)) --idle-exit 2 \
    -o "$T/o$k.wav" --sink-skew-ppm "$k" --trace "$T/t$k.tsv" --stats "$T/s$k.json" --stats-interval 1000 \
    "239.1.2.3:$P" 2>"$T/e$k.err"
  pids+=($!)
done
sleep 0.5
timeout $((DUR + 20)) "$S" -q --no-adapt --iface 127.0.0.1 --rtcp-interval 1000 --loop --duration "$DUR" \
  "$T/in.wav" "239.1.2.3:$P" 2>"$T/tx.err" || fail "sender: $(cat "$T/tx.err")"
for p in "${pids[@]}"; do wait_exit "$p" 20 || fail "a receiver failed: $(cat "$T"/e*.err)"; done

# Each file onto the common time base: its start (mono ns) and skew.
python3 - "$T" $SKEWS >"$T/plan" <<'PY' || fail "the receivers' traces or stats"
import json, sys
T, skews = sys.argv[1], sys.argv[2:]
start = {}
for k in skews:
    for line in open("%s/t%s.tsv" % (T, k)):
        p = line.rstrip("\n").split("\t")
        if len(p) == 5 and p[4] == "start":
            start[k] = int(p[3])
            break
    else:
        sys.exit("receiver %s ppm: no start line in its trace" % k)
    d = None
    for line in open("%s/s%s.json" % (T, k)):
        d = json.loads(line)
    keys = ("played", "late", "concealed", "underruns", "drift_ppm", "sync_source", "sync_error_ms", "sync_met",
            "sync_miss_ms", "tsm_splices")
    print(" ".join(["#", k, "ppm:"] + ["%s %s" % (x, d.get(x)) for x in keys]), file=sys.stderr)
    if d["underruns"] != 0:
        sys.exit("receiver %s ppm: %d underruns (the WAV clock restarted: the mapping is broken)" % (k, d["underruns"]))
t0 = min(start.values())
for k in skews:
    # Input rate of the file on the real clock, and the silence before it.
    print(k, "%.6f" % (48000 * (1 + int(k) * 1e-6)), "%.6f" % ((start[k] - t0) / 1e9))
PY
sed -n 's/^# /  /p' "$T/plan" >&2 || true
while read -r k rate pad; do
  case $k in \#*) continue ;; esac
  sox -r "$rate" "$T/o$k.wav" -r 48000 "$T/n$k.wav" rate -v pad "$pad" 0 || fail "sox: $k ppm"
done <"$T/plan"

worst=0
for pair in "0 -300" "0 300" "-300 300"; do
  set -- $pair
  sox -M "$T/n$1.wav" "$T/n$2.wav" "$T/m.wav" || fail "sox -M"
  res=$("$BUILD/tools/chanoff" "$T/m.wav" --skip-s "$SETTLE" --max-lag-ms 50 --dump "$T/d$1_$2.tsv") ||
    fail "$1 against $2 ppm: nothing compared: $res"
  say "$1 ppm against $2 ppm: $res"
  [ -z "${SYNC_SKEW_KEEP:-}" ] || cp "$T"/d*.tsv "$T"/s*.json "$SYNC_SKEW_KEEP/" 2>/dev/null
  python3 - "$res" "$DUR" "$SETTLE" <<'PY' || fail "$1 against $2 ppm: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("p99 |offset| %.3f ms over %d windows" % (d["p99_abs_ms"], d["used"]))' "$res")"
import json, sys
d, dur, settle = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sys.exit(0 if d["used"] >= (dur - settle) * 0.6 and d["p99_abs_ms"] <= 0.5 else 1)
PY
  worst=$(python3 -c 'import json,sys; print(max(float(sys.argv[1]), json.loads(sys.argv[2])["p99_abs_ms"]))' "$worst" "$res")
done
[ -z "${SYNC_SKEW_KEEP:-}" ] || cp "$T"/d*.tsv "$T"/s*.json "$T"/t*.tsv "$SYNC_SKEW_KEEP/" 2>/dev/null
pass "WAV sinks at -300, 0, +300 ppm over $DUR s: the same RTP time heard within p99 $worst ms (limit 0.5)"
