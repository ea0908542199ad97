#!/usr/bin/env bash
# Multicast on loopback (issue 16, part 1), by TESTBED's recipe (join and
# send on 127.0.0.1): one sender to 239.1.2.3, two receivers on one host
# sharing the port, each writes a WAV aligned with the input (speech,
# correlation >= 0.95 against the clean decode, tests/tools/encdec) with
# received = sent; SSM: --source 127.0.0.1 receives, --source
# 127.0.0.2 receives nothing; bad input (--ttl
# 300, a unicast-only option on a unicast address, an unparsable group)
# or an interface that does not exist is one line and a non-zero exit.
# timeout: 90
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender tools/wavcmp tools/encdec
S=$BUILD/sender R=$BUILD/receiver
speech_input 4

# 1. Two receivers of one IPv4 group on one host.
P=$(free_rtp_port)
for i in 1 2; do
  bg "$R" --duration 20 -q --no-resample --latency 100 --iface 127.0.0.1 --idle-exit 1 --exit-on-bye -o "$T/o$i.wav" \
    --stats "$T/r$i.json" "239.1.2.3:$P"
done
sleep 0.5
timeout 20 "$S" --no-adapt --iface 127.0.0.1 --stats "$T/tx.json" "$T/in.wav" "239.1.2.3:$P" 2>"$T/tx.err" ||
  fail "sender: $(cat "$T/tx.err")"
for p in "${_pids[@]}"; do wait_exit "$p" 10; done
sent=$(stats_key "$T/tx.json" sent)
for i in 1 2; do
  got=$(stats_key "$T/r$i.json" received)
  [ "$got" = "$sent" ] || fail "receiver $i: received $got of $sent"
  corr=$(aligned "$T/ref.wav" "$T/o$i.wav" "receiver $i") || { echo "$corr"; exit 1; }
  say "IPv4 group, receiver $i: received $got of $sent, corr $corr"
done

# 2. SSM: the right source is heard, a wrong one is not.
P=$(free_rtp_port)
bg "$R" --duration 20 -q --iface 127.0.0.1 --source 127.0.0.1 --idle-exit 1 --exit-on-bye --stats "$T/ok.json" -o "$T/ok.wav" "232.1.2.3:$P"
bg "$R" --duration 20 -q --iface 127.0.0.1 --source 127.0.0.2 --duration 6 --stats "$T/no.json" -o "$T/no.wav" "232.1.2.3:$P"
sleep 0.5
timeout 20 "$S" --iface 127.0.0.1 "$T/in.wav" "232.1.2.3:$P" 2>"$T/tx2.err" || fail "sender: $(cat "$T/tx2.err")"
for p in "${_pids[@]}"; do wait_exit "$p" 10; done
ok=$(stats_key "$T/ok.json" received) no=$(stats_key "$T/no.json" received)
[ "$ok" -ge 190 ] 2>/dev/null || fail "SSM --source 127.0.0.1: received $ok"
[ "$no" = 0 ] || fail "SSM --source 127.0.0.2: received $no (expected 0)"
say "SSM 232.1.2.3: right source received $ok, wrong source received $no"

# 3. Bad input: one line, non-zero exit.
bad() {
  local out rc
  out=$(timeout 5 "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -ne 0 ] || fail "$*: exit 0"
  [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "$*: more than one line: $out"
  say "bad input: $* -> exit $rc: $out"
}
bad "$S" --ttl 300 "$T/in.wav" "239.1.2.3:$P"
bad "$S" --ttl 2 "$T/in.wav" "127.0.0.1:$P"
bad "$S" "$T/in.wav" "239.1.2.300:$P"
bad "$R" --source 127.0.0.1 -o "$T/x.wav" "127.0.0.1:$P"
bad "$R" -o "$T/x.wav" "239.1.2.300:$P"
bad "$S" --iface dl-no-such0 "$T/in.wav" "239.1.2.3:$P"
bad "$R" --iface dl-no-such0 -o "$T/x.wav" "239.1.2.3:$P"
pass "two receivers of one IPv4 group, SSM, bad input (IPv6 groups: multicast_netns.sh)"
