#!/usr/bin/env bash
# The benchmark script's smoke form (scripts/bench --smoke): every section at
# a tiny scale, into a temporary directory (never the committed
# bench/RESULTS.md). Checks that it writes RESULTS.md and results.json and
# that their numbers are sane: positive CPU costs with ratios to libopus in
# a plausible range, mouth-to-ear latency above the frame duration, a
# jitter-buffer row for ours, the hindsight optimum and speexdsp, one live
# pair without underruns.
# tags: solo
# timeout: 420
. "$(dirname "$0")/../lib.sh"
need python3
for b in bench/cost bench/resampler bench/jbuf bench/sim sender receiver tools/rtpdump tools/encdec tools/wavcmp; do
  [ -x "$BUILD/$b" ] || skip "$BUILD/$b not built"
done

before=$(cksum 2>/dev/null <"$TOP/bench/RESULTS.md")

# Usage errors first: exit 2, one line naming the flag.
"$TOP/scripts/bench" --sections nosuch --out "$T/x" >"$T/usage.out" 2>&1
[ $? -eq 2 ] || fail "--sections nosuch: expected exit 2"
grep -q -- '--sections' "$T/usage.out" || fail "--sections nosuch: message does not name the flag"

say "running scripts/bench --smoke (about a minute)"
DL_BUILD=$BUILD timeout -s TERM 400 "$TOP/scripts/bench" --smoke --out "$T/out" >"$T/bench.log" 2>&1
rc=$?
cat "$T/bench.log"
[ $rc -eq 0 ] || fail "scripts/bench --smoke exited $rc"
[ -s "$T/out/RESULTS.md" ] || fail "no RESULTS.md"
[ -s "$T/out/results.json" ] || fail "no results.json"
head -n 1 "$T/out/RESULTS.md" | grep -q '^# driftless benchmarks' || fail "RESULTS.md: no title"
grep -q '^## Headline' "$T/out/RESULTS.md" || fail "RESULTS.md: no headline table"
# The headline table comes before any section.
[ "$(grep -n '^## ' "$T/out/RESULTS.md" | head -n 1 | cut -d: -f2-)" = "## Headline" ] ||
  fail "RESULTS.md: the headline table is not first"
! grep -q '/work/\|/tmp/' "$T/out/RESULTS.md" || fail "RESULTS.md names a path of this machine"

python3 - "$T/out/results.json" <<'PY' || fail "results.json: numbers out of range (above)"
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
def check(what, v, lo, hi):
    if not isinstance(v, (int, float)) or not (lo <= v <= hi):
        bad.append("%s = %r, expected %g..%g" % (what, v, lo, hi))
m = r["meta"]
check("meta.cores", m["machine"]["cores"], 1, 4096)
if not m["smoke"]:
    bad.append("meta.smoke is not true")
c = r["cost"]
for side in ("tx", "rx"):
    check("cost.%s.ours_ms_per_s" % side, c[side]["ours_ms_per_s"]["median"], 0.01, 1000)
    check("cost.%s.raw_ms_per_s" % side, c[side]["raw_ms_per_s"]["median"], 0.01, 1000)
    # Ours does at least what bare libopus does, and not 10 times more.
    check("cost.%s.ratio" % side, c[side]["ratio"]["median"], 0.5, 10)
    check("cost.%s.ours_p99_us" % side, c[side]["ours_p99_us"]["median"], 1, 1e6)
    s = c[side]["ratio"]
    if not s["min"] <= s["median"] <= s["max"]:
        bad.append("cost.%s.ratio: median outside min..max" % side)
check("cost.rx.streams_per_core", c["rx"]["streams_per_core"]["median"], 1, 1e5)
# The drift resampler study: the receiver's quality is among the rows, and
# its artefacts sit far below Opus's coding noise in the speech band.
rs = c["resampler"]
q = rs["chosen_quality"]
chosen = [x for x in rs["rows"].values() if x["quality"] == q]
if len(chosen) != 2:
    bad.append("cost.resampler: no rows for the chosen quality %r" % q)
for x in chosen:
    check("cost.resampler.q%s.snr_speech_db" % q, x["snr_speech_db"], 40, 200)
    check("cost.resampler.q%s.ms_per_s" % q, x["ms_per_s"]["median"], 0.001, 100)
check("cost.resampler.opus_noise.speech_db", rs["opus_noise"]["speech_db"], 0, 40)
g = r["callgrind"]
if "skipped" not in g:
    check("callgrind.tx_ratio", g["tx_ratio"], 0.9, 10)   # ours includes the bare encoder
    check("callgrind.rx_ratio", g["rx_ratio"], 0.9, 10)
for x in r["latency"]["runs"]:
    f = x["frame_ms"]
    check("latency.m2e_ms.p50 (%g ms frames)" % f, x["m2e_ms"]["p50"], f, 2000)
    check("latency.m2e_ms.p99", x["m2e_ms"]["p99"], x["m2e_ms"]["p50"], 2000)
    check("latency.limit_ms", x["limit_ms"], f, f + 50)
    check("latency.receiver.played", x["receiver"]["played"], 1, 1e9)
    if "decomposition" in x:   # per packet (receiver --trace)
        d = x["decomposition"]
        check("latency.wait_ms.p50", x["wait_ms"]["p50"], 0, 2000)
        # The target's parts are the receiver's own (target_parts_ms):
        # the read block is the sink's period, the margin at most a frame.
        check("latency.decomposition.block_term_ms", d["block_term_ms"], 0.1, 50)
        check("latency.decomposition.margin_term_ms", d["margin_term_ms"], 0, f)
lv = r["live"]
if "skipped" not in lv:
    for x in lv["runs"]:
        # Through the devices: at least a frame and the capture latency.
        check("live.m2e_ms.p50", x["m2e_ms"]["p50"], x["frame_ms"] + x["capture_latency_ms"], 500)
        check("live.server_direct_p50_ms", x["server_direct_p50_ms"], 0.1, 500)
        check("live.overruns", x["overruns"], 0, 0)
sy = r["sync"]
if "skipped" not in sy:
    # One multicast group at 1 and 2 receivers: the stream on the wire at
    # Opus's rate (about 50 kbit/s with headers), every receiver heard it.
    if len(sy.get("groups", [])) != 2:
        bad.append("sync.groups: %r" % sy.get("groups"))
    for g in sy.get("groups", []):
        check("sync.groups.rtp_kbps", g["rtp_kbps"], 20, 200)
        check("sync.groups.received_min", g["received_min"], 150, 250)
        check("sync.groups.lost", g["lost"], 0, 0)
rows = r["jbuf"]["rows"]
if not rows:
    bad.append("jbuf: no rows")
for x in rows:
    for who in ("ours", "hindsight", "speexdsp"):
        check("jbuf.%s.mean_ms" % who, x[who]["mean_ms"], 0.1, 2000)
        check("jbuf.%s.late_pct" % who, x[who]["late_pct"], 0, 100)
    # The hindsight buffer is the optimum for ours' late-loss: it cannot
    # lose more.
    if x["hindsight"]["late_pct"] > x["ours"]["late_pct"] + 1e-9:
        bad.append("jbuf: hindsight loses more than ours")
    # The quantile sweep: one row per quantile tried, and a higher quantile
    # never gives a much lower latency.
    cv = x["quantile_curve"]
    if len(cv) < 2:
        bad.append("jbuf: no quantile sweep")
    elif cv[-1]["mean_ms"] < cv[0]["mean_ms"] - 1:
        bad.append("jbuf: latency falls as the quantile rises")
p = r["peer"]
if "skipped" not in p:
    names = [x["name"] for x in p["receivers"]]
    if "ours" not in names:
        bad.append("peer: no row for ours")
    for x in p["receivers"]:
        check("peer.%s.damaged_pct" % x["name"], x["damaged_pct"], 0, 100)
        check("peer.%s.corr" % x["name"], x["corr"], -1, 1)
        # Each receiver wrote about the stream's length of audio.
        check("peer.%s.out_s" % x["name"], x["out_s"], 0.5 * p["seconds"], p["seconds"] + 30)
        # The comparison itself works: GStreamer's output at its default
        # latency resembles the clean decode. (Ours is not held to this
        # here: its drift resampler stretches time, which a single-lag
        # comparison counts as damage; RESULTS.md says so.)
        if x["name"] == "gst-default":
            check("peer.gst-default.corr", x["corr"], 0.3, 1)
ca = r["capacity"]
check("capacity.max_pairs_zero_underruns", ca["max_pairs_zero_underruns"], 1, 10000)
for k, v in r.items():
    if isinstance(v, dict) and "error" in v:
        bad.append("%s: %s" % (k, v["error"]))
for b in bad:
    print("bench_smoke: " + b)
sys.exit(1 if bad else 0)
PY

after=$(cksum 2>/dev/null <"$TOP/bench/RESULTS.md")
[ "$before" = "$after" ] || fail "the smoke run changed the committed bench/RESULTS.md"
pass "smoke results sane"
