#!/usr/bin/env bash
# Fan-out (issue 16, part 2): one sender to three receivers on loopback,
# each on its own port, one of them by host name. Each receiver's WAV is
# aligned with the input (speech, correlation >= 0.95 against the clean
# decode, tests/tools/encdec), each received = sent; the sender's stats
# have one "dests" entry per receiver with its own RTCP (an RTT, 0 %
# reported loss, a far-end MOS, packets sent = the stream's), and its
# top-level keys keep their meaning (sent counts each packet once). The
# same with --key (one SRTP context, each receiver authenticates every
# packet and its SRTCP). Bad input (a destination that does not resolve,
# a duplicate, adjacent ports, too many) is one line and a non-zero exit.
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender tools/wavcmp tools/encdec
S=$BUILD/sender R=$BUILD/receiver
speech_input 4

# run NAME SENDER_ARGS...: three receivers, one sender to all of them.
run() {
  local name=$1 ports=() dests=() i p pids=()
  shift
  for i in 1 2 3; do
    p=$(free_rtp_port) || fail "no free port"
    # Distinct ports with a gap (RTCP on PORT+1): free_rtp_port gives even ones.
    for q in "${ports[@]}"; do [ "$p" != "$q" ] || p=$(free_rtp_port); done
    ports+=("$p")
  done
  dests=("127.0.0.1:${ports[0]}" "localhost:${ports[1]}" "127.0.0.1:${ports[2]}")
  for i in 0 1 2; do
    bg "$R" --duration 20 -q --no-resample --latency 100 --idle-exit 1 --exit-on-bye --rtcp-interval 500 \
      "${RXKEY[@]}" -o "$T/$name$i.wav" --stats "$T/$name$i.json" "127.0.0.1:${ports[$i]}"
    pids+=($!)
  done
  for p in "${ports[@]}"; do udp_bound "$p" 5 || fail "$name: receiver on $p did not start"; done
  timeout 20 "$S" --rtcp-interval 500 --stats "$T/$name.tx.json" "$@" "$T/in.wav" "${dests[@]}" \
    2>"$T/$name.tx.err" || fail "$name: sender: $(cat "$T/$name.tx.err")"
  for p in "${pids[@]}"; do wait_exit "$p" 10 || fail "$name: a receiver exited $?"; done
  stats_last "$T/$name.tx.json" >"$T/$name.tx.last"
  python3 - "$T/$name.tx.last" "${ports[@]}" <<'PY' || fail "$name: sender stats: $(cat "$T/$name.tx.last")"
import json, sys
d = json.load(open(sys.argv[1]))
ports = [int(p) for p in sys.argv[2:]]
bad = []
ds = d.get("dests") or []
if len(ds) != 3: bad.append("%d dests entries" % len(ds))
for e, p in zip(ds, ports):
    if e["addr"] != "127.0.0.1:%d" % p: bad.append("addr %s, expected port %d" % (e["addr"], p))
    if e["sent"] != d["sent"]: bad.append("%s sent %s of %s" % (e["addr"], e["sent"], d["sent"]))
    if e["rtt_ms"] is None or not 0 <= e["rtt_ms"] < 20: bad.append("%s rtt_ms %s" % (e["addr"], e["rtt_ms"]))
    if e["loss_pct_reported"] != 0: bad.append("%s loss %s" % (e["addr"], e["loss_pct_reported"]))
    if e["far_mos"] is None: bad.append("%s no far_mos" % e["addr"])
    if e["rtcp_received"] < 1 or e["auth_failed"] != 0: bad.append("%s rtcp %s/%s" % (e["addr"], e["rtcp_received"], e["auth_failed"]))
if d["rtt_ms"] != max(e["rtt_ms"] for e in ds): bad.append("top rtt_ms %s is not the worst" % d["rtt_ms"])
if d["rtcp_received"] != sum(e["rtcp_received"] for e in ds): bad.append("rtcp_received not the sum")
if d["sent"] < 190 or d["send_errors"] != 0: bad.append("sent %s send_errors %s" % (d["sent"], d["send_errors"]))
if bad: print("; ".join(bad)); sys.exit(1)
PY
  say "$name: sender: $(python3 - "$T/$name.tx.last" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("sent %d, per destination rtt_ms %s, far_mos %s" % (d["sent"], [e["rtt_ms"] for e in d["dests"]], [e["far_mos"] for e in d["dests"]]))
PY
)"
  sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$T/$name.tx.last")
  for i in 0 1 2; do
    got=$(stats_last "$T/$name$i.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["received"], d["auth_failed"])')
    [ "$got" = "$sent 0" ] || fail "$name: receiver $i: received, auth_failed = $got (sent $sent)"
    res=$("$BUILD/tools/wavcmp" "$T/ref.wav" "$T/$name$i.wav" --max-lag-ms 3000 --json) || fail "$name: wavcmp $i"
    corr=$(echo "$res" | python3 -c 'import json,sys; print(json.load(sys.stdin)["corr"])')
    python3 -c "import sys; sys.exit(0 if $corr >= 0.95 else 1)" || fail "$name: receiver $i: $res"
    say "$name: receiver $i (${dests[$i]}): received $sent of $sent, $res"
  done
}

RXKEY=()
run plain
"$S" --gen-key "$T/k" || fail "--gen-key"
RXKEY=(--key "$T/k")
run srtp --key "$T/k"

# Bad input: one line, non-zero exit (2: usage, 1: a host that does not resolve).
bad() {
  local want=$1 out rc
  shift
  out=$(timeout 5 "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq "$want" ] || fail "$*: exit $rc, expected $want: $out"
  [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "$*: more than one line: $out"
  say "bad input: exit $rc: $out"
}
P=$(free_rtp_port)
bad 1 "$S" "$T/in.wav" "127.0.0.1:$P" "no-such-host.invalid:$P"
bad 2 "$S" "$T/in.wav" "127.0.0.1:$P" "localhost:$P"
bad 2 "$S" "$T/in.wav" "127.0.0.1:$P" "127.0.0.1:$((P + 1))"
bad 2 "$S" "$T/in.wav" $(for i in $(seq 1 17); do printf '127.0.0.1:%d ' $((20000 + 2 * i)); done)
bad 2 "$S" --sdp "$T/x.sdp" "$T/in.wav" "127.0.0.1:$P" "127.0.0.1:$((P + 2))"
pass "three receivers of one sender, plain and SRTP, each aligned with its own RTCP; bad input"
