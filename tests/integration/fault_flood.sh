#!/usr/bin/env bash
# Fault (issue 6, item 5): a stranger floods the receiver with 100 000
# valid-looking Opus RTP datagrams (own socket on another port, own SSRC,
# tests/tools/udpflood, about 3 s at 33 000/s) in the middle of a real
# stream. Nothing that is heard changes: every datagram that is not the
# stream's is counted in `rejected` (at least what arrived of the flood:
# the kernel may drop some of it when the socket buffer is full, never the
# receiver silently), and underruns, late, lost and concealed stay 0; the
# output equals the clean-path decode (tests/tools/encdec) sample for
# sample once aligned: corr >= 0.99, damaged 0 (--no-resample, fixed
# --latency 100), and played == sent.
# tags: solo
# timeout: 90
# The sender runs --no-adapt: its receiver's reports would change the
# encoder's settings mid-stream, and the clean decode is of the settings
# it starts with.
. "$(dirname "$0")/../lib.sh"
need sox python3
built sender receiver tools/udpflood tools/wavcmp tools/encdec
SEED=${DL_SEED:-$RANDOM}
say "seed $SEED (DL_SEED to repeat)"
N=100000
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 2 8 || fail "sox"
"$BUILD/tools/encdec" "$T/in.wav" "$T/clean.wav" || fail "encdec exited $?"

port=$(free_rtp_port) || fail "no free port"
bg "$BUILD/receiver" --no-resample -v --latency 100 -o "$T/out.wav" --idle-exit 2 \
  --stats "$T/rx.jsonl" "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }
bg timeout 40 "$BUILD/sender" -q --no-adapt --stats "$T/tx.jsonl" "$T/in.wav" "127.0.0.1:$port"
tx=$!
for _ in $(seq 1 100); do grep -q 'stream started' "$T/rx.err" && break; sleep 0.1; done
grep -q 'stream started' "$T/rx.err" || { cat "$T/rx.err"; fail "the stream did not start"; }
sleep 1   # the flood lands in the middle of the 8 s stream
timeout 30 "$BUILD/tools/udpflood" --count $N --rate 33000 --seed "$SEED" "127.0.0.1:$port" \
  >"$T/flood.json" || fail "udpflood exited $?"
say "flood: $(cat "$T/flood.json")"
wait_exit "$tx" 40 || fail "sender exited $?"
wait_exit "$rx" 20 || { tail -n 20 "$T/rx.err"; fail "receiver exited $? (--idle-exit 2 after the stream)"; }
say "receiver final stats: $(tail -n 1 "$T/rx.jsonl")"
"$BUILD/tools/wavcmp" --max-lag-ms 10000 "$T/clean.wav" "$T/out.wav" >"$T/cmp.txt" || fail "wavcmp exited $?"
say "wavcmp against the clean decode: $(tr '\n' ' ' <"$T/cmp.txt")"

python3 - "$T" "$N" <<'PY' || fail "checks failed"
import json, sys
T, n = sys.argv[1], int(sys.argv[2])
def last(p): return json.loads(open(p).read().splitlines()[-1])
f, tx, fl = last(T + "/rx.jsonl"), last(T + "/tx.jsonl"), last(T + "/flood.json")
cmp = dict(l.strip().split("=", 1) for l in open(T + "/cmp.txt") if "=" in l)
arrived = f["datagrams"] - f["received"]   # what of the flood reached the receiver
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(fl["sent"] == n, f"the stranger sent {fl['sent']} datagrams in {fl['seconds']} s")
check(f["rejected"] >= arrived > 0, f"rejected {f['rejected']} >= {arrived} of the flood that arrived ({100.0 * arrived / n:.1f} % of {n})")
check(f["rejected"] == arrived, f"every datagram accounted for: datagrams {f['datagrams']} = received {f['received']} + rejected {f['rejected']}")
for k in ("underruns", "late", "lost", "concealed", "invalid", "resyncs", "restarts"):
    check(f[k] == 0, f"{k} = {f[k]} == 0")
check(f["played"] == tx["sent"] == f["received"], f"played {f['played']} == received {f['received']} == sent {tx['sent']}")
check(float(cmp["corr"]) >= 0.99 and int(cmp["damaged"]) == 0,
      f"output = clean decode: corr {cmp['corr']} >= 0.99, damaged {cmp['damaged']} == 0")
sys.exit(1 if bad else 0)
PY
pass "$(python3 -c "import json;d=json.loads(open('$T/rx.jsonl').read().splitlines()[-1]);print('rejected',d['rejected'],'of $N, played',d['played'])"), corr $(sed -n 's/^corr=//p' "$T/cmp.txt")"
