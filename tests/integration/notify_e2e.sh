#!/usr/bin/env bash
# The programs speak systemd's notify protocol without systemd: a unix
# datagram socket of our own stands in for the manager ($NOTIFY_SOCKET,
# $WATCHDOG_USEC 400 ms, $WATCHDOG_PID unset as in a unit). The receiver
# (-o out.wav) says READY=1 once, then WATCHDOG=1 from its playback thread
# every 100-400 ms, none while --stall-at holds the thread for 1.5 s, and
# again after, and STOPPING=1 when --duration ends it; the sender says READY=1 and pings from its pacing loop
# while it sends. Without $NOTIFY_SOCKET nothing breaks (every other test).
# tags: sanitize tsan
# timeout: 60
. "$(dirname "$0")/../lib.sh"
built sender receiver
need python3

# listen SOCK SEC OUT: receive datagrams on SOCK for SEC seconds, one line
# each into OUT: "seconds-since-start message".
listen() {
  python3 - "$@" <<'EOF' &
import socket, sys, time
path, dur, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.05)
t0 = time.monotonic()
with open(out, "w") as f:
    while time.monotonic() - t0 < dur:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        f.write("%.3f %s\n" % (time.monotonic() - t0, d.decode()))
        f.flush()
EOF
  _pids+=($!)
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  fail "the stand-in manager's socket did not appear"
}

# Receiver: the playback thread stalls 1.5 s from 2 s after its start.
listen "$T/rx.sock" 7 "$T/rx.log"
lpid=$!
port=$(free_port)
NOTIFY_SOCKET=$T/rx.sock WATCHDOG_USEC=400000 \
  timeout 10 "$BUILD/receiver" -c 1 -o "$T/out.wav" --stall-at 2:1500 --duration 5 "$port" ||
  fail "receiver exit $?"
wait "$lpid"
python3 - "$T/rx.log" <<'EOF' >"$T/why" 2>&1 || fail "receiver: $(cat "$T/why")"
import sys
rows = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
msgs = [m for _, m in rows]
if msgs.count("READY=1") != 1:
    sys.exit("READY=1 %d times, not once: %s" % (msgs.count("READY=1"), msgs[:5]))
t_ready = float(rows[msgs.index("READY=1")][0])
pings = [float(t) for t, m in rows if m == "WATCHDOG=1"]
others = set(msgs) - {"READY=1", "WATCHDOG=1", "STOPPING=1"}
if others:
    sys.exit("unexpected messages: %s" % sorted(others))
# --duration ends it: STOPPING=1 once, and nothing after it but the last
# pings of a playback thread that is being stopped.
if msgs.count("STOPPING=1") != 1 or msgs.index("STOPPING=1") < msgs.index("READY=1"):
    sys.exit("STOPPING=1 %d times, or before READY=1: %s" % (msgs.count("STOPPING=1"), msgs[-5:]))
if len(pings) < 10:
    sys.exit("only %d pings in 5 s" % len(pings))
gaps = [b - a for a, b in zip(pings, pings[1:])]
# At most one per 100 ms (a quarter of WATCHDOG_USEC). Seen from here a
# gap may look shorter by how late this listener woke for the first of
# two pings (6 ms once on a busy machine): what is well under 100 ms, or
# more pings than 100 ms allow, is a broken rate limit.
short = [round(g, 3) for g in gaps if g < 0.07]
if short:
    sys.exit("pings closer than a quarter of WATCHDOG_USEC (100 ms): %s" % short)
if len(pings) > (pings[-1] - pings[0]) / 0.1 + 1:
    sys.exit("%d pings in %.2f s: more than one per 100 ms" % (len(pings), pings[-1] - pings[0]))
long_ = [(round(a - t_ready, 2), round(b - a, 2)) for a, b in zip(pings, pings[1:]) if b - a > 1.0]
# Exactly one long silence, the stall (1.5 s, from 2 s after the start),
# and pings again after it.
if len(long_) != 1 or not 1.2 <= long_[0][1] <= 2.5:
    sys.exit("gaps over 1 s (after READY, length): %s; expected one of about 1.5 s" % long_)
after = [p for p in pings if p > t_ready + long_[0][0] + long_[0][1]]
print("READY at %.2f s, %d pings, the stall %.2f s long at %.2f s, %d pings after it"
      % (t_ready, len(pings), long_[0][1], long_[0][0], len(after)))
if len(after) < 3:
    sys.exit("only %d pings after the stall" % len(after))
EOF
say "receiver: $(cat "$T/why")"

# Sender: 2 s of a file to a port nobody reads.
listen "$T/tx.sock" 4 "$T/tx.log"
lpid=$!
NOTIFY_SOCKET=$T/tx.sock WATCHDOG_USEC=400000 \
  timeout 10 "$BUILD/sender" --duration 2 "$TOP/tests/data/speech.flac" "127.0.0.1:$(free_port)" ||
  fail "sender exit $?"
wait "$lpid"
[ "$(head -n 1 "$T/tx.log" | cut -d' ' -f2)" = READY=1 ] || fail "sender: the first message is not READY=1: $(head -n 3 "$T/tx.log")"
[ "$(grep -c ' READY=1$' "$T/tx.log")" = 1 ] || fail "sender: READY=1 not exactly once"
np=$(grep -c ' WATCHDOG=1$' "$T/tx.log")
# 2 s at one per 100 ms or more: 6 to 21 (a slow start may miss some).
[ "$np" -ge 6 ] && [ "$np" -le 21 ] || fail "sender: $np pings in 2 s"
pass "$(cat "$T/why"); sender: READY, $np pings in 2 s"
