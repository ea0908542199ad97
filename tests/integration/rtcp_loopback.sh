#!/usr/bin/env bash
# RTCP both ways on loopback (issue 13): our sender -> our receiver.
#  1. Clean path, RTCP on PORT+1: the sender's rtt_ms is below 5 ms and it
#     reports what the receiver measured (0 % lost, the far end's MOS equal
#     to the receiver's own mos within 0.1); the receiver took the SRs (the
#     wall-clock mapping set, the SR's packet count = packets sent) and has
#     its own RTT from RRT/DLRR (transit_source rtt); the stream ends with
#     BYE: 0 tail frames counted as PLC or silence, and with --exit-on-bye
#     the receiver exits within a second of the sender.
#  2. The same with --rtcp-mux (RTCP on the RTP port).
#  3. SRTCP with --key: reports flow (auth_failed 0), and a forged or
#     unkeyed RTCP packet (a BYE for the stream to the receiver, an RR
#     claiming 50 % loss to the sender, each in clear and with a bad tag)
#     changes nothing: the stream plays to its end, the sender's reported
#     loss stays 0, each forgery is counted in auth_failed.
#  4. Without a key: unparsable RTCP is counted in rtcp_invalid and
#     changes nothing.
#  5. After a BYE, a new SSRC from the same host (another port) is a new
#     stream at once (a restart, without --restart-after's wait).
# tags: sanitize tsan
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender
S=$BUILD/sender R=$BUILD/receiver
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 6 || fail "sox"

# run NAME FORGE RX_ARGS -- TX_ARGS: one 6 s stream with 1 s RTCP
# intervals. FORGE: a python snippet run 2.5 s in (or "").
run() {
  local name=$1 forge=$2 rxargs=() txargs=() port rx tx t0 t1
  shift 2
  while [ "$1" != -- ]; do rxargs+=("$1"); shift; done
  shift
  txargs=("$@")
  port=$(free_rtp_port) || fail "no free port"
  # Each program's exit time, stamped as it exits.
  bg bash -c '"$@"; rc=$?; date +%s%N >"$0"; exit $rc' "$T/$name.rx.end" \
     "$R" -v --latency 60 -o "$T/$name.wav" --exit-on-bye --duration 30 --rtcp-interval 1000 \
     --stats "$T/$name.rx.jsonl" "${rxargs[@]}" "127.0.0.1:$port" 2>"$T/$name.rx.err"
  rx=$!
  for _ in $(seq 1 50); do grep -q 'listening on' "$T/$name.rx.err" && break; sleep 0.1; done
  grep -q 'listening on' "$T/$name.rx.err" || { cat "$T/$name.rx.err"; fail "$name: receiver did not start"; }
  bg bash -c '"$@"; rc=$?; date +%s%N >"$0"; exit $rc' "$T/$name.tx.end" \
     "$S" -v --rtcp-interval 1000 --ssrc 305419896 --stats "$T/$name.tx.jsonl" "${txargs[@]}" \
     "$T/in.wav" "127.0.0.1:$port" 2>"$T/$name.tx.err"
  tx=$!
  if [ -n "$forge" ]; then
    sleep 2.5
    local txport
    txport=$(sed -n 's/.*RTCP from port \([0-9]*\).*/\1/p' "$T/$name.tx.err")
    python3 - "$port" "$txport" "$forge" <<'PY' || fail "$name: the forger failed"
import os, socket, struct, sys
rx_port, tx_port, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
SSRC = 305419896
def hdr(count, pt, words): return struct.pack("!BBH", 0x80 | count, pt, words)
def rr(ssrc, blocks=b"", n=0): return hdr(n, 201, 1 + 6 * n) + struct.pack("!I", ssrc) + blocks
def sdes(ssrc):
    item = b"\x01\x05forge"
    chunk = struct.pack("!I", ssrc) + item + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return hdr(1, 202, len(chunk) // 4) + chunk
def bye(ssrc): return hdr(1, 203, 1) + struct.pack("!I", ssrc)
# A report block about the stream: 50 % lost.
block = struct.pack("!IIIIII", SSRC, (128 << 24) | 100, 1000, 10, 0, 0)
to_rx = rr(0xbad0bad0) + sdes(0xbad0bad0) + bye(SSRC)
to_tx = rr(0xbad0bad0, block, 1) + sdes(0xbad0bad0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for pkt, port in ((to_rx, rx_port + (0 if "mux" in what else 1)), (to_tx, tx_port)):
    if "garbage" in what:
        s.sendto(b"\x80\xc9\x00\x07" + os.urandom(12), ("127.0.0.1", port))   # length past the end
        continue
    s.sendto(pkt, ("127.0.0.1", port))                                         # unkeyed
    s.sendto(pkt + struct.pack("!I", 0x80000005) + os.urandom(10), ("127.0.0.1", port))   # a bad tag
PY
  fi
  wait_exit "$tx" 20 || fail "$name: sender exited $?"
  wait_exit "$rx" 10 || { cat "$T/$name.rx.err"; fail "$name: receiver exited $? (after --exit-on-bye)"; }
  t0=$(cat "$T/$name.tx.end") t1=$(cat "$T/$name.rx.end")
  echo $(( (t1 - t0) / 1000000 )) >"$T/$name.exit_ms"
  say "$name: receiver exited $(cat "$T/$name.exit_ms") ms after the sender"
  say "$name rx: $(tail -n 1 "$T/$name.rx.jsonl")"
  say "$name tx: $(tail -n 1 "$T/$name.tx.jsonl")"
}

port_key=$T/k
"$S" --gen-key "$port_key" || fail "--gen-key"
run clean "" --
run mux "" --rtcp-mux -- --rtcp-mux
run srtcp "forge" --key "$port_key" -- --key "$port_key"
run garbage "garbage" --

# 5. Two senders one after the other (new SSRC, new port), the receiver
# waiting 5 s before it takes a new source as a restart: after the first
# one's BYE the second is a new stream at once.
port=$(free_rtp_port) || fail "no free port"
sox "$T/in.wav" "$T/in3.wav" trim 0 3 || fail "sox"
bg "$R" -v --latency 60 -o "$T/two.wav" --restart-after 5000 --idle-exit 1 --duration 30 \
   --rtcp-interval 1000 --stats "$T/two.rx.jsonl" "127.0.0.1:$port" 2>"$T/two.rx.err"
rx=$!
udp_bound "$port" 10 || fail "two: receiver did not bind"
"$S" -q --ssrc 1111 --stats "$T/two.a.jsonl" "$T/in3.wav" "127.0.0.1:$port" || fail "two: first sender"
"$S" -q --ssrc 2222 --stats "$T/two.b.jsonl" "$T/in3.wav" "127.0.0.1:$port" || fail "two: second sender"
wait_exit "$rx" 15 || fail "two: receiver exited $?"
say "two rx: $(tail -n 1 "$T/two.rx.jsonl")"

python3 - "$T" <<'PY' || fail "checks failed"
import json, sys
T = sys.argv[1]
def lines(n): return [json.loads(l) for l in open(f"{T}/{n}")]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
for name in ("clean", "mux", "srtcp", "garbage"):
    rx, tx = lines(f"{name}.rx.jsonl")[-1], lines(f"{name}.tx.jsonl")[-1]
    exit_ms = int(open(f"{T}/{name}.exit_ms").read())
    check(rx.get("final") and tx.get("final"), f"{name}: final lines")
    check(tx["rtt_ms"] is not None and tx["rtt_ms"] < 5, f"{name}: sender rtt_ms {tx['rtt_ms']} < 5")
    check(rx["rtt_ms"] is not None and rx["rtt_ms"] < 5, f"{name}: receiver rtt_ms {rx['rtt_ms']} < 5 (RRT/DLRR)")
    check(rx["transit_source"] == "rtt" and rx["transit_ms"] < 2.5,
          f"{name}: transit {rx['transit_ms']} ms from {rx['transit_source']}")
    check(tx["loss_pct_reported"] == 0 and tx["lost_reported"] == 0,
          f"{name}: reported loss {tx['loss_pct_reported']} %, {tx['lost_reported']} lost")
    check(tx["far_mos"] is not None and abs(tx["far_mos"] - rx["mos"]) <= 0.1,
          f"{name}: far_mos {tx['far_mos']} = receiver mos {rx['mos']} within 0.1")
    check(tx["far_r_factor"] is not None and abs(tx["far_r_factor"] - rx["r_factor"]) <= 1.5,
          f"{name}: far_r_factor {tx['far_r_factor']} ~ r_factor {rx['r_factor']}")
    check(tx["far_latency_ms"] is not None and 20 < tx["far_latency_ms"] < 200,
          f"{name}: far_latency_ms {tx['far_latency_ms']}")
    check(rx["wallclock_mapped"] and rx["sr_received"] >= 3 and rx["sender_packets"] == tx["sent"],
          f"{name}: SRs {rx['sr_received']}, mapped {rx['wallclock_mapped']}, SR packets {rx['sender_packets']} = sent {tx['sent']}")
    check(rx["rtcp_sent"] >= 3 and tx["rtcp_received"] >= 3,
          f"{name}: reports sent {rx['rtcp_sent']}, taken {tx['rtcp_received']}")
    check(rx["played"] == tx["sent"] and rx["lost"] == 0, f"{name}: played {rx['played']} = sent {tx['sent']}")
    for k in ("tail_concealed", "tail_silence", "concealed", "silence"):
        check(rx[k] == 0, f"{name}: {k} {rx[k]} == 0 (the stream ended with BYE)")
    check(rx["bye_received"] == 1, f"{name}: bye_received {rx['bye_received']} == 1")
    check(exit_ms < 1000, f"{name}: --exit-on-bye: the receiver exited {exit_ms} ms after the sender")
    if name == "srtcp":
        check(rx["auth_failed"] == 2, f"srtcp: the receiver counted 2 forgeries in auth_failed ({rx['auth_failed']})")
        check(tx["auth_failed"] == 2, f"srtcp: the sender counted 2 forgeries in auth_failed ({tx['auth_failed']})")
        check(max(l["loss_pct_reported"] or 0 for l in lines("srtcp.tx.jsonl")) == 0,
              "srtcp: no stats line ever showed the forged 50 % loss")
    elif name == "garbage":
        check(rx["rtcp_invalid"] == 1 and tx["rtcp_invalid"] == 1,
              f"garbage: rtcp_invalid {rx['rtcp_invalid']} (receiver), {tx['rtcp_invalid']} (sender)")
    else:
        check(rx["auth_failed"] == 0 and tx["auth_failed"] == 0 and rx["rtcp_invalid"] == 0,
              f"{name}: nothing refused")
rx, a, b = lines("two.rx.jsonl")[-1], lines("two.a.jsonl")[-1], lines("two.b.jsonl")[-1]
check(rx["restarts"] == 1 and rx["rejected"] == 0,
      f"two: the second sender a restart at once after the first one's BYE (restarts {rx['restarts']}, rejected {rx['rejected']})")
check(rx["played"] == a["sent"] + b["sent"], f"two: played {rx['played']} = {a['sent']} + {b['sent']}")
check(rx["bye_received"] == 2 and rx["tail_concealed"] == 0 and rx["concealed"] == 0,
      f"two: {rx['bye_received']} BYEs, tail_concealed {rx['tail_concealed']}, concealed {rx['concealed']}")
sys.exit(1 if bad else 0)
PY
pass "rtt $(python3 -c "import json;print(json.loads(open('$T/clean.tx.jsonl').read().splitlines()[-1])['rtt_ms'])") ms on loopback; BYE exit $(cat "$T/clean.exit_ms") ms"
