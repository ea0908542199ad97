#!/usr/bin/env bash
# receiver --trace against sender --trace on loopback (one host: both
# CLOCK_MONOTONIC, so their times compare).
#
# A trace file that cannot be created: exit 1, one error line, no WAV.
#
# Clean path, 10 ms and 20 ms frames: the header names the columns; every
# sequence number sent appears exactly once (played, or late if the machine
# stalled), with the sender's RTP timestamp; the trace agrees with the
# final statistics (played lines = played, late lines = late, and the mean
# of play_ns - arrival_ns = latency_ms.mean within 2 ms); causality holds
# per packet (scheduled <= sent <= arrived <= played); consecutive played
# packets are heard one frame apart (the sink's clock, within the drift
# resampler's +-0.5 % and 0.2 ms); and the mouth-to-ear latency
# (play_ns - (scheduled_ns - frame): the frame's first sample exists a
# frame before the sender's deadline) is at least the physical limit,
# frame + transit, for every packet. Its p50/p99/max are printed.
#
# Impaired path (build/impair: 10 % loss, 10 % duplicates, 30 ms jitter,
# fixed 20 ms latency): late and dup lines appear with play_ns 0, each kind
# counts what the statistics count (played, late, duplicate,
# fec_recovered), fec lines name sequence numbers that were sent, and
# nothing names one that was not. (With 15 ms of jitter 3-6 packets were
# late, and none in a busy ASan run whose first packet came late: the
# whole stream then had that much more margin.)
# tags: sanitize tsan
# timeout: 150
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender impair

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 6 || fail "sox"

# start_rx NAME FLAGS...: a receiver with --trace on a free port ($port).
start_rx() {
  local name=$1
  shift
  port=$(free_rtp_port) || fail "no free port"
  bg "$BUILD/receiver" -v -o "$T/$name.wav" --idle-exit 1 --duration 60 --stats "$T/$name.jsonl" \
     --stats-interval 1000 --trace "$T/$name.rx.tsv" "$@" "127.0.0.1:$port" 2>"$T/$name.err"
  rx=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.err" || { cat "$T/$name.err"; fail "$name: receiver did not start"; }
}

finish_rx() {
  local name=$1 rc
  wait_exit "$rx" 20
  rc=$?
  grep -v 'listening on\|stream started\|locked to\|sink:\|target latency\|playback thread\|stopping\|stopped:' \
    "$T/$name.err" || true
  [ $rc -eq 0 ] || { cat "$T/$name.err"; fail "$name: receiver exited $rc"; }
}

# A trace file that cannot be created: one line, exit 1, before anything runs.
"$BUILD/receiver" -o "$T/never.wav" --trace "$T/no/such/dir/x.tsv" "127.0.0.1:$(free_port)" \
  2>"$T/bad.err"
rc=$?
cat "$T/bad.err"
[ $rc -eq 1 ] && [ "$(wc -l <"$T/bad.err")" -eq 1 ] && grep -q '^receiver: --trace .*x.tsv: cannot create' "$T/bad.err" ||
  fail "--trace to a missing directory: exit $rc, expected 1 and one line"
[ ! -e "$T/never.wav" ] || fail "--trace failed but a WAV was created"

for fr in 10 20; do
  start_rx "clean$fr"
  timeout 40 "$BUILD/sender" -q --frame-ms "$fr" --trace "$T/clean$fr.tx.tsv" "$T/in.wav" \
    "127.0.0.1:$port" || fail "sender exited $?"
  finish_rx "clean$fr"
done

# Impaired: sender -> impair -> receiver.
start_rx imp --latency 20
rport=$port
iport=$(free_rtp_port) || fail "no free port"
bg "$BUILD/impair" --seed "${DL_SEED:-1}" --loss 10 --duplicate 10 --jitter 30 "127.0.0.1:$iport" \
   "127.0.0.1:$rport" 2>"$T/impair.err"
imp=$!
sleep 0.3
kill -0 "$imp" 2>/dev/null || { cat "$T/impair.err"; fail "impair did not start"; }
timeout 40 "$BUILD/sender" -q --frame-ms 20 --trace "$T/imp.tx.tsv" "$T/in.wav" \
  "127.0.0.1:$iport" || fail "sender exited $?"
finish_rx imp
echo "impair seed ${DL_SEED:-1} (DL_SEED)"

python3 - "$T" <<'PY' || fail "see above"
import json, statistics, sys
T = sys.argv[1]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        bad.append(what)

def tsv(path, want):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        check(head == want, "%s header %s" % (path.rsplit("/", 1)[1], "\t".join(head)))
        rows = []
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != len(head):
                check(False, "a whole line: %r" % line)
                continue
            r = dict(zip(head, p))
            for k in head:
                if k != "kind":
                    r[k] = int(r[k])
            rows.append(r)
    return rows

def final(path):
    with open(path) as f:
        s = json.loads(f.read().strip().split("\n")[-1])
    check(s.get("final") is True, "final stats line")
    return s

def q(v, p):
    return v[min(len(v) - 1, int(p * len(v)))]

RX = ["seq", "ts", "arrival_ns", "play_ns", "kind"]
TX = ["seq", "ts", "scheduled_ns", "send_ns"]
for fr in (10, 20):
    n = "clean%d" % fr
    tx = tsv("%s/%s.tx.tsv" % (T, n), TX)
    rx = tsv("%s/%s.rx.tsv" % (T, n), RX)
    st = final("%s/%s.jsonl" % (T, n))
    frame_ns = fr * 1000000
    sent = {r["seq"]: r for r in tx}
    check(len(sent) == len(tx) and len(tx) > 0, "%s: %d packets sent, distinct seqs" % (n, len(tx)))
    pk = [r for r in rx if r["kind"] == "packet"]
    late = [r for r in rx if r["kind"] == "late"]
    other = [r for r in rx if r["kind"] not in ("packet", "late")]
    seen = sorted(r["seq"] for r in pk + late)
    check(seen == sorted(sent), "%s: every sent seq appears once (%d played, %d late)"
          % (n, len(pk), len(late)))
    check(not other, "%s: no fec/dup lines on a clean path (%d)" % (n, len(other)))
    check(len(pk) == st["played"], "%s: packet lines %d = played %d" % (n, len(pk), st["played"]))
    check(len(late) == st["late"], "%s: late lines %d = late %d" % (n, len(late), st["late"]))
    check(all(r["play_ns"] == 0 for r in late), "%s: late lines have play_ns 0" % n)
    check(all(sent[r["seq"]]["ts"] == r["ts"] for r in pk + late if r["seq"] in sent),
          "%s: RTP timestamps match the sender's" % n)
    lat = [(r["play_ns"] - r["arrival_ns"]) / 1e6 for r in pk]
    mean = statistics.mean(lat)
    check(abs(mean - st["latency_ms"]["mean"]) <= 2.0,
          "%s: mean play - arrival %.3f ms = stats latency mean %.2f ms within 2 ms"
          % (n, mean, st["latency_ms"]["mean"]))
    causal = [r for r in pk if not (sent[r["seq"]]["scheduled_ns"] <= sent[r["seq"]]["send_ns"]
                                    <= r["arrival_ns"] <= r["play_ns"])]
    check(not causal, "%s: scheduled <= sent <= arrival <= play for every packet (%d not)"
          % (n, len(causal)))
    # One frame apart at the sink: ts steps over the drift resampler's ratio.
    steps = bad_steps = 0
    for a, b in zip(pk, pk[1:]):
        dts = (b["ts"] - a["ts"]) % 2**32
        if dts != fr * 48:
            continue
        steps += 1
        want = dts * 1e9 / 48000
        if abs((b["play_ns"] - a["play_ns"]) - want) > 0.005 * want + 200000:
            bad_steps += 1
    # A step off is an underrun (the device lost time) or a splice of the
    # re-targeting (time-scale modification took or gave a pitch period
    # within that frame): each moves one step, nothing else may.
    underruns = st.get("underruns", 0)
    splices = st.get("tsm_splices", 0)
    check(steps > 0 and bad_steps <= underruns + splices,
          "%s: consecutive packets heard a frame apart (%d of %d steps off, %d underruns, %d splices)"
          % (n, bad_steps, steps, underruns, splices))
    m2e, over = [], 0
    for r in pk:
        s = sent[r["seq"]]
        m = r["play_ns"] - (s["scheduled_ns"] - frame_ns)
        limit = frame_ns + (r["arrival_ns"] - s["send_ns"])
        over += m < limit
        m2e.append(m / 1e6)
    m2e.sort()
    check(over == 0 and m2e[0] >= fr,
          "%s: mouth-to-ear >= frame + transit for every packet (min %.2f ms)" % (n, m2e[0]))
    trn = sorted((r["arrival_ns"] - sent[r["seq"]]["send_ns"]) / 1e6 for r in pk)
    print("%s: mouth-to-ear p50 %.2f  p99 %.2f  max %.2f ms; limit (frame + transit p50) %.2f ms; "
          "p99 - limit %.2f ms; late %d" % (n, q(m2e, .5), q(m2e, .99), m2e[-1], fr + q(trn, .5),
                                            q(m2e, .99) - fr - q(trn, .5), len(late)))

n = "imp"
tx = tsv("%s/%s.tx.tsv" % (T, n), TX)
rx = tsv("%s/%s.rx.tsv" % (T, n), RX)
st = final("%s/%s.jsonl" % (T, n))
sent = {r["seq"]: r for r in tx}
kinds = {k: [r for r in rx if r["kind"] == k] for k in ("packet", "fec", "late", "dup")}
check(len(rx) == sum(len(v) for v in kinds.values()), "%s: only known kinds" % n)
for k, key in (("packet", "played"), ("fec", "fec_recovered"), ("late", "late"), ("dup", "duplicate")):
    check(len(kinds[k]) == st[key], "%s: %s lines %d = %s %d" % (n, k, len(kinds[k]), key, st[key]))
check(len(kinds["dup"]) > 0 and len(kinds["late"]) > 0,
      "%s: the impairment made dup (%d) and late (%d) lines" % (n, len(kinds["dup"]), len(kinds["late"])))
check(all(r["play_ns"] == 0 and r["arrival_ns"] > 0 for r in kinds["late"] + kinds["dup"]),
      "%s: late and dup lines: arrival_ns set, play_ns 0" % n)
check(all(r["play_ns"] > 0 and r["arrival_ns"] == 0 for r in kinds["fec"]),
      "%s: fec lines: play_ns set, arrival_ns 0" % n)
check(all(r["seq"] in sent for r in rx), "%s: every traced seq was sent" % n)
check(all(sent[r["seq"]]["ts"] == r["ts"] for r in rx if r["seq"] in sent),
      "%s: RTP timestamps match the sender's (fec: the recovered packet's)" % n)
check(all(r["play_ns"] >= r["arrival_ns"] > 0 for r in kinds["packet"]),
      "%s: played packets: arrival <= play" % n)
if bad:
    sys.exit(1)
PY
pass
