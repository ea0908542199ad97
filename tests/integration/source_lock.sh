#!/usr/bin/env bash
# Source locking (issue 6, item 2). The receiver locks to the first valid
# stream's address (IP and port) and SSRC:
#  - a stranger on another port sending valid Opus RTP during the stream,
#    with its own SSRCs and with the stream's own SSRC (a spoof), is counted
#    in `rejected` and changes nothing in the audio: the output equals a
#    clean run's (aligned, --no-resample, so sample-exact);
#  - the sender killed and started again (a new process: new port, new
#    SSRC) after 1.5 s of silence (> --restart-after 1000) is a restart:
#    accepted, counted in `restarts`, the playout resyncs, every packet of
#    both runs is played;
#  - --peer HOST: a stream from another address is rejected entirely.
# Stranger datagrams: seeded (DL_SEED), the seed is printed.
# tags: sanitize
# timeout: 60
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender tools/wavcmp
S=$BUILD/sender R=$BUILD/receiver
SEED=${DL_SEED:-$RANDOM}
say "seed $SEED (DL_SEED to repeat)"
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 4 || fail "sox"
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in2.wav" trim 0 2 || fail "sox"

# start_rx NAME ARGS...: a receiver on a fresh port ($port), pid in $rx.
start_rx() {
  local name=$1
  shift
  port=$(free_rtp_port) || fail "no free port"
  bg "$R" --no-resample -v --latency 100 -o "$T/$name.wav" --stats "$T/$name.jsonl" "$@" \
     "127.0.0.1:$port" 2>"$T/$name.err"
  rx=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.err" || { cat "$T/$name.err"; fail "$name: receiver did not start"; }
}

# 1. Clean, and with a stranger.
start_rx clean --idle-exit 1
timeout 20 "$S" -q --ssrc 1111 --stats "$T/clean.tx.jsonl" "$T/in.wav" "127.0.0.1:$port" || fail "sender exited $?"
wait_exit "$rx" 15 || fail "clean: receiver exited $?"

start_rx stranger --idle-exit 1
bg timeout 20 "$S" -q --ssrc 1111 --stats "$T/stranger.tx.jsonl" "$T/in.wav" "127.0.0.1:$port"
tx=$!
for _ in $(seq 1 50); do grep -q 'stream started' "$T/stranger.err" && break; sleep 0.1; done
grep -q 'stream started' "$T/stranger.err" || fail "stranger: the stream did not start"
python3 - "$port" "$SEED" >"$T/stranger.count" <<'PY' || fail "the stranger's datagrams"
import random, socket, struct, sys, time
port, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
n = 0
for i in range(150):                      # 1.5 s, every 10 ms
    ssrc = 1111 if i % 3 == 0 else rng.getrandbits(32)
    opus = bytes([0x08]) + bytes(rng.getrandbits(8) for _ in range(40))   # SILK 20 ms, one frame
    hdr = struct.pack("!BBHII", 0x80, 96, rng.getrandbits(16), rng.getrandbits(32), ssrc)
    s.sendto(hdr + opus, ("127.0.0.1", port)); n += 1
    time.sleep(0.01)
print(n)
PY
wait "$tx" || fail "stranger: sender exited $?"
wait_exit "$rx" 15 || fail "stranger: receiver exited $?"

# 2. A sender restart after 1.5 s of silence.
start_rx restart --idle-exit 3
timeout 20 "$S" -q --stats "$T/restart1.tx.jsonl" "$T/in2.wav" "127.0.0.1:$port" || fail "sender 1 exited $?"
sleep 1.5
timeout 20 "$S" -q --stats "$T/restart2.tx.jsonl" "$T/in2.wav" "127.0.0.1:$port" || fail "sender 2 exited $?"
wait_exit "$rx" 15 || fail "restart: receiver exited $?"

# 3. --peer: only 127.0.0.2 may send; our sender sends from 127.0.0.1.
start_rx peer --peer 127.0.0.2 --duration 3.5
timeout 20 "$S" -q --duration 2 "$T/in2.wav" "127.0.0.1:$port" || fail "sender exited $?"
wait_exit "$rx" 15 || fail "peer: receiver exited $?"

for n in clean stranger restart peer; do echo "$n: $(tail -n 1 "$T/$n.jsonl")"; done
grep -h -e 'locked to source' -e 'restart' "$T"/*.err
"$BUILD/tools/wavcmp" --max-lag-ms 8000 "$T/clean.wav" "$T/stranger.wav" | tee "$T/cmp.txt"

python3 - "$T" "$(cat "$T/stranger.count")" <<'PY' || fail "checks failed"
import json, sys
T, strangers = sys.argv[1], int(sys.argv[2])
def final(n): return json.loads(open(f"{T}/{n}.jsonl").read().splitlines()[-1])
def sent(n): return json.loads(open(f"{T}/{n}.tx.jsonl").read().splitlines()[-1])["sent"]
clean, st, rs, peer = final("clean"), final("stranger"), final("restart"), final("peer")
cmp = dict(l.strip().split("=", 1) for l in open(f"{T}/cmp.txt") if "=" in l)
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(st["rejected"] == strangers, f"stranger: rejected {st['rejected']} == {strangers} sent")
check(st["datagrams"] == st["received"] + strangers, "stranger: every datagram accounted for")
for k in ("lost", "late", "invalid", "resyncs", "restarts", "concealed"):
    check(st[k] == 0 and clean[k] == 0, f"{k} == 0 (stranger {st[k]}, clean {clean[k]})")
check(st["played"] == clean["played"] == sent("stranger") > 150, f"played {st['played']} = clean {clean['played']} = sent")
check(float(cmp["corr"]) >= 0.95 and int(cmp["damaged"]) == 0,
      f"audio with the stranger = clean run: corr {cmp['corr']} >= 0.95, damaged {cmp['damaged']} == 0")
n1, n2 = sent("restart1"), sent("restart2")
check(rs["restarts"] == 1, f"restart: restarts {rs['restarts']} == 1")
check(rs["resyncs"] >= 1, f"restart: resyncs {rs['resyncs']} >= 1")
check(rs["rejected"] == 0, f"restart: rejected {rs['rejected']} == 0")
check(rs["received"] == n1 + n2 and rs["played"] == n1 + n2, f"restart: received {rs['received']}, played {rs['played']} == {n1} + {n2} sent")
check(peer["rejected"] == peer["datagrams"] >= 90 and peer["played"] == 0,
      f"--peer 127.0.0.2: rejected {peer['rejected']} of {peer['datagrams']}, played {peer['played']}")
sys.exit(1 if bad else 0)
PY
pass "stranger $(cat "$T/stranger.count") rejected, corr $(sed -n 's/^corr=//p' "$T/cmp.txt"); restart: $(python3 -c "import json;d=json.loads(open('$T/restart.jsonl').read().splitlines()[-1]);print('played',d['played'],'resyncs',d['resyncs'],'restarts',d['restarts'])")"
