#!/usr/bin/env bash
# Fault (issue 6, item 5): a 5 s blackout. sender -> build/impair
# --blackout 2:5 (everything dropped from 2 s to 7 s after the first
# datagram) -> receiver --latency 60 --no-resample, stats every 200 ms.
# After the stream resumes:
#  - the latency of the frames played (per stats interval, from the
#    cumulative mean) is back, from 1 s after the resumption on, within 10 ms
#    (half a frame) of what it was before the blackout in every interval and
#    within 2 ms in the median, and within 6 ms of the 60 ms target (the playout's 5 ms
#    sink-period grid puts the steady latency 0..5 ms above the target, run
#    to run: 60.2 in one run, 63.4 in another);
#  - no backlog: the receiver never plays an old packet late (late 0, and
#    every packet that arrived is played: played == received == sent minus
#    what the relay dropped in the blackout, played + lost == sent); the
#    audio after the blackout sits at the same lag in the output as the
#    audio before it, within 1 ms (each part aligned on its own against the
#    clean-path decode); the stream lasts as long in the output as in the
#    input (the blackout is real time, not stretched or squeezed), within
#    -20..+120 ms.
# timeout: 90
# The sender runs --no-adapt: its receiver's reports would change the
# encoder's settings mid-stream, and the clean decode is of the settings
# it starts with.
. "$(dirname "$0")/../lib.sh"
need sox python3 ss
built sender receiver impair tools/wavcmp tools/encdec
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 1 10 || fail "sox"
"$BUILD/tools/encdec" "$T/in.wav" "$T/clean.wav" || fail "encdec exited $?"
sox "$T/clean.wav" "$T/pre.wav" trim 0.5 1.0 || fail "sox"
sox "$T/clean.wav" "$T/post.wav" trim 8.0 || fail "sox"

rp=$(free_rtp_port) || fail "no free port"
lp=$(free_rtp_port) || fail "no free port"
[ "$lp" != "$rp" ] || lp=$(free_rtp_port)
bg "$BUILD/receiver" --no-resample -q --latency 60 -o "$T/out.wav" --idle-exit 7 \
  --stats "$T/rx.jsonl" --stats-interval 200 "127.0.0.1:$rp" 2>"$T/rx.err"
rx=$!
bg "$BUILD/impair" -q --blackout 2:5 --stats "$T/imp.jsonl" "127.0.0.1:$lp" "127.0.0.1:$rp" 2>"$T/imp.err"
imp=$!
udp_bound "$rp" 10 || fail "receiver did not bind: $(tail -n 3 "$T/rx.err")"
udp_bound "$lp" 10 || fail "impair did not bind: $(tail -n 3 "$T/imp.err")"
timeout 40 "$BUILD/sender" -q --no-adapt --stats "$T/tx.jsonl" "$T/in.wav" "127.0.0.1:$lp" || fail "sender exited $?"
wait_exit "$rx" 20 || { tail -n 20 "$T/rx.err"; fail "receiver exited $? (--idle-exit 7 after the stream)"; }
kill -TERM "$imp"; wait_exit "$imp" 10 || fail "impair exited $? on SIGTERM"
say "relay final stats: $(tail -n 1 "$T/imp.jsonl")"
say "receiver final stats: $(tail -n 1 "$T/rx.jsonl")"
for s in pre post clean; do
  "$BUILD/tools/wavcmp" --max-lag-ms 20000 "$T/$s.wav" "$T/out.wav" >"$T/cmp_$s.txt" || fail "wavcmp $s exited $?"
  say "wavcmp $s: $(tr '\n' ' ' <"$T/cmp_$s.txt")"
done

python3 - "$T" <<'PY' || fail "checks failed"
import json, sys
T = sys.argv[1]
def lines(p): return [json.loads(l) for l in open(p) if l.strip()]
rxs = lines(T + "/rx.jsonl")
f, tx, imp = rxs[-1], lines(T + "/tx.jsonl")[-1], lines(T + "/imp.jsonl")[-1]
def cmp(n): return dict(l.strip().split("=", 1) for l in open(f"{T}/cmp_{n}.txt") if "=" in l)
pre, post, whole = cmp("pre"), cmp("post"), cmp("clean")
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
# Per 200 ms interval: frames played and their mean latency.
series = []
for a, b in zip(rxs, rxs[1:]):
    n1, n2 = a["played"], b["played"]
    m1, m2 = a["latency_ms"]["mean"], b["latency_ms"]["mean"]
    lat = (m2 * n2 - (m1 or 0) * n1) / (n2 - n1) if n2 > n1 and m2 is not None else None
    series.append({"t": b["t"], "rx": b["received"] - a["received"], "lat": lat, "target": b["latency_ms"]["target"]})
# The blackout: the longest run of intervals with nothing received after the first packet.
best, run = None, []
for r in series:
    if r["rx"] == 0 and any(x["rx"] for x in series if x["t"] < r["t"]):
        run.append(r)
    else:
        if run and (best is None or len(run) > len(best[0])):
            best = (run, r)
        run = []
check(best is not None and 4.4 <= len(best[0]) * 0.2 <= 5.6,
      f"a gap of {len(best[0]) * 0.2 if best else 0:.1f} s in the received counts (5 s blackout)")
dropped = imp.get("blackout")
check(dropped is not None and 230 <= dropped <= 260, f"the relay dropped {dropped} datagrams in the blackout (~250)")
if best:
    t_res = best[1]["t"]
    after = [r for r in series if r["lat"] is not None and t_res + 1.0 <= r["t"]]
    worst = max((abs(r["lat"] - r["target"]) for r in after), default=None)
    print("latency per 200 ms from the resumption (t=%.1f s): %s" % (t_res,
          " ".join("%.1f" % r["lat"] if r["lat"] is not None else "-" for r in series if r["t"] >= t_res - 0.2)))
    before = [r["lat"] for r in series if r["lat"] is not None and r["t"] < best[0][0]["t"] - 0.2][-5:]
    lb = sum(before) / len(before) if before else None
    print("latency per 200 ms in the last second before the blackout: %s" % " ".join("%.1f" % v for v in before))
    # The playout keeps its sink-period grid (5 ms) through the gap: the
    # steady latency sits 0..5 ms above the target wherever the first
    # packet fell on that grid (run to run 60.2 or 63.4 ms, say), so the
    # target bound allows that period, and the tight bound is against the
    # latency before the blackout: a backlog would raise it by up to 5 s.
    check(lb is not None and abs(lb - 60.0) <= 5.0 + 1.0, f"latency before the blackout {lb if lb is None else round(lb, 2)} ms within 5 ms (one sink period) + 1 of the 60 ms target")
    worst_b = max((abs(r["lat"] - lb) for r in after), default=None) if lb is not None else None
    check(len(after) >= 5 and worst is not None and worst <= 5.0 + 1.0,
          f"{len(after)} intervals from 1 s after the resumption, worst |latency - 60| = {worst if worst is None else round(worst, 2)} ms <= 5 (+1 of the period grid)")
    med = sorted(r["lat"] for r in after)[len(after) // 2] if after else None
    # Every interval within 10 ms: half a frame, so that a backlog of even
    # one frame (20 ms) fails; one 200 ms interval's arrivals can sit 5 ms
    # off on a loaded machine (CI once: 5.07). The median and the audio's
    # position are held tighter below.
    check(worst_b is not None and worst_b <= 10.0,
          f"from 1 s after the resumption, worst |latency - latency before| = {worst_b if worst_b is None else round(worst_b, 2)} ms <= 10")
    # The median within 2 ms: the audio's position is checked to the
    # sample below; what moves this is only when packets reach the receiver
    # through the relay, whose phase can move by a ms between the two halves
    # of a run on a loaded machine (CI once: 61.2 before, 60.02 after).
    check(med is not None and lb is not None and abs(med - lb) <= 2.0,
          f"median latency after {med if med is None else round(med, 2)} ms within 2 ms of before {lb if lb is None else round(lb, 2)} ms")
check(f["late"] == 0, f"late = {f['late']} == 0: no old packet played late")
check(f["underruns"] == 0, f"underruns = {f['underruns']} == 0")
check(f["received"] == tx["sent"] - (dropped or 0), f"received {f['received']} == sent {tx['sent']} - {dropped} dropped")
check(f["played"] == f["received"], f"played {f['played']} == received {f['received']}")
check(f["played"] + f["lost"] == tx["sent"], f"played {f['played']} + lost {f['lost']} == sent {tx['sent']} (fec_recovered {f['fec_recovered']}, concealed {f['concealed']})")
shift = (float(post["lag_ms"]) - 8000.0) - (float(pre["lag_ms"]) - 500.0)
check(abs(shift) <= 1.0, f"the audio after the blackout sits {shift:+.3f} ms from where it sat before (<= 1 ms); corr pre {pre['corr']}, post {post['corr']}")
check(float(pre["corr"]) >= 0.99 and float(post["corr"]) >= 0.99, "both parts match the clean decode (corr >= 0.99)")
d = float(whole["out_span_s"]) - float(whole["ref_span_s"])
check(-0.020 <= d <= 0.120, f"the stream lasts {whole['out_span_s']} s in the output, {whole['ref_span_s']} s in the clean decode ({d*1000:+.1f} ms)")
sys.exit(1 if bad else 0)
PY
pass
