#!/usr/bin/env bash
# --metrics-file (issue 14 item 5): a sender and a receiver on loopback each
# keep a Prometheus text file beside their JSON stats. Read by the Prometheus
# client's own parser (Debian's python3-prometheus-client) while the stream
# runs, every read parses (the file is replaced atomically, never seen
# half-written); after the stream, every counter equals its key on the final
# JSON line, every gauge too, each metric carries the stream label, and
# nothing is left of the temporary files.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
built sender receiver
PY=/usr/bin/python3
[ -x $PY ] && $PY -c 'import prometheus_client.parser' 2>/dev/null ||
  skip "the Prometheus client's parser (python3-prometheus-client) is not installed"

port=$(free_rtp_port) || fail "no free port"
bg "$BUILD/receiver" -o "$T/out.wav" --idle-exit 1 --stats "$T/rx.jsonl" --stats-interval 200 \
   --metrics-file "$T/rx.prom" --metrics-stream livingroom "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$T/rx.err" 2>/dev/null && break; sleep 0.1; done
bg "$BUILD/sender" -q --duration 3 --stats "$T/tx.jsonl" --stats-interval 200 --metrics-file "$T/tx.prom" \
   "$TOP/tests/data/speech.flac" "127.0.0.1:$port"
tx=$!
# Read both files as fast as possible while they are being replaced.
$PY - "$T/rx.prom" "$T/tx.prom" >"$T/reads" 2>&1 <<'PYEOF' &
import sys, time
from prometheus_client.parser import text_string_to_metric_families
reads = bad = 0
end = time.time() + 2.5
while time.time() < end:
    for p in sys.argv[1:]:
        try:
            text = open(p).read()
        except FileNotFoundError:
            continue
        try:
            fams = list(text_string_to_metric_families(text))
            if not fams:
                bad += 1
        except Exception:
            bad += 1
        reads += 1
print(reads, bad)
PYEOF
reader=$!
wait_exit "$tx" 20 || fail "sender exited $?"
wait_exit "$rx" 20 || { cat "$T/rx.err"; fail "receiver exited $?"; }
wait "$reader"
read -r reads bad <"$T/reads" || fail "reader: $(cat "$T/reads")"
say "$reads reads while the stream ran, $bad did not parse"
[ "$reads" -ge 50 ] && [ "$bad" -eq 0 ] || fail "$bad of $reads reads did not parse (or too few reads)"
ls "$T"/*.tmp >/dev/null 2>&1 && fail "a temporary file was left: $(ls "$T"/*.tmp)"

$PY - "$T/rx.prom" "$T/rx.jsonl" receiver livingroom "$T/tx.prom" "$T/tx.jsonl" sender "127.0.0.1:$port" <<'PYEOF' || fail "metrics differ from the stats"
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
bad = []
def flat(d, pre=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, pre + k + "_"))
        elif k != "final" and v is not None and not isinstance(v, str):
            out[pre + k] = float(v)
    return out
for prom, stats, prog, stream in (sys.argv[1:5], sys.argv[5:9]):
    final = json.loads(open(stats).read().splitlines()[-1])
    want = flat(final)
    got, counters = {}, 0
    for fam in text_string_to_metric_families(open(prom).read()):
        for s in fam.samples:
            if s.labels != {"stream": stream}:
                bad.append("%s: labels %s" % (s.name, s.labels))
            name = s.name[len("driftless_%s_" % prog):]
            if fam.type == "counter":
                counters += 1
                name = name[:-len("_total")] if name.endswith("_total") else name
            got[name] = s.value
    for k, v in want.items():
        if k not in got:
            bad.append("%s: %s missing" % (prog, k))
        elif not math.isclose(got[k], v, rel_tol=0, abs_tol=1e-9):
            bad.append("%s: %s = %s in the file, %s on the final line" % (prog, k, got[k], v))
    extra = set(got) - set(want)
    if extra:
        bad.append("%s: metrics not on the final line: %s" % (prog, sorted(extra)))
    if counters < 5:
        bad.append("%s: only %d counters" % (prog, counters))
    print("%s: %d metrics (%d counters) equal the final stats line" % (prog, len(got), counters))
if bad:
    print("\n".join(bad)); sys.exit(1)
PYEOF
pass "atomic replace: $reads reads, all parsed; every metric equals the final stats line"
