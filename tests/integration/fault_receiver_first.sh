#!/usr/bin/env bash
# Fault (issue 6, item 5): the receiver started long before the sender. It
# sits idle for 5 s (no stream: it writes silence, nothing else), then a
# 4 s stream plays normally: lost, late, concealed, underruns 0, played ==
# sent, and the output is the clean-path decode (tests/tools/encdec) once
# aligned (corr >= 0.99, damaged 0; --no-resample, --latency 100). The
# WAV holds digital silence only (every sample 0) up to the stream, which
# starts no earlier than 4.5 s into it (the 5 s wait, less slack for a
# slow start of the receiver's sink). -c 1: a receiver told its channels
# opens its sink at start-up (at --channels auto it opens when the stream
# comes, and the WAV begins there: receiver_stereo, receiver_signals).
# timeout: 60
# The sender runs --no-adapt: its receiver's reports would change the
# encoder's settings mid-stream, and the clean decode is of the settings
# it starts with.
. "$(dirname "$0")/../lib.sh"
need sox python3
built sender receiver tools/wavcmp tools/encdec
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 1 4 || fail "sox"
"$BUILD/tools/encdec" "$T/in.wav" "$T/clean.wav" || fail "encdec exited $?"

port=$(free_rtp_port) || fail "no free port"
bg "$BUILD/receiver" -c 1 --no-resample -v --latency 100 -o "$T/out.wav" --idle-exit 2 \
  --stats "$T/rx.jsonl" --stats-interval 500 "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }
sleep 5
kill -0 "$rx" 2>/dev/null || { cat "$T/rx.err"; fail "the idle receiver exited before any stream"; }
idle=$(tail -n 1 "$T/rx.jsonl")
say "receiver after 5 s idle: $idle"
timeout 30 "$BUILD/sender" -q --no-adapt --stats "$T/tx.jsonl" "$T/in.wav" "127.0.0.1:$port" || fail "sender exited $?"
wait_exit "$rx" 20 || { tail -n 20 "$T/rx.err"; fail "receiver exited $? (--idle-exit 2 after the stream)"; }
say "receiver final stats: $(tail -n 1 "$T/rx.jsonl")"
"$BUILD/tools/wavcmp" --max-lag-ms 15000 "$T/clean.wav" "$T/out.wav" >"$T/cmp.txt" || fail "wavcmp exited $?"
say "wavcmp against the clean decode: $(tr '\n' ' ' <"$T/cmp.txt")"

python3 - "$T" "$idle" <<'PY' || fail "checks failed"
import json, sys, wave, array
T, idle = sys.argv[1], json.loads(sys.argv[2])
def last(p): return json.loads(open(p).read().splitlines()[-1])
f, tx = last(T + "/rx.jsonl"), last(T + "/tx.jsonl")
cmp = dict(l.strip().split("=", 1) for l in open(T + "/cmp.txt") if "=" in l)
w = wave.open(T + "/out.wav")
assert w.getsampwidth() == 2 and w.getframerate() == 48000
x = array.array("h", w.readframes(w.getnframes()))
ch = w.getnchannels()
first = next((i for i, v in enumerate(x) if v != 0), None)
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(idle["received"] == 0 and idle["played"] == 0 and idle["datagrams"] == 0,
      f"idle for 5 s: received {idle['received']}, played {idle['played']}, datagrams {idle['datagrams']}")
check(first is not None, "the output is not all silence")
if first is not None:
    t0 = first / ch / 48000.0
    check(t0 >= 4.5, f"the WAV is digital silence (all 0) for {t0:.3f} s before the stream (>= 4.5 s)")
    check(float(cmp["lag_ms"]) >= 4500, f"the stream sits {cmp['lag_ms']} ms into the output")
for k in ("lost", "late", "concealed", "underruns", "invalid", "rejected", "resyncs", "restarts"):
    check(f[k] == 0, f"{k} = {f[k]} == 0")
check(f["played"] == tx["sent"] == f["received"] > 0, f"played {f['played']} == received {f['received']} == sent {tx['sent']}")
check(float(cmp["corr"]) >= 0.99 and int(cmp["damaged"]) == 0,
      f"output = clean decode: corr {cmp['corr']} >= 0.99, damaged {cmp['damaged']} == 0")
sys.exit(1 if bad else 0)
PY
pass "stream at $(sed -n 's/^lag_ms=//p' "$T/cmp.txt") ms after 5 s idle, corr $(sed -n 's/^corr=//p' "$T/cmp.txt")"
