#!/usr/bin/env bash
# RTCP with third-party peers (issue 13):
#  1. GStreamer rtpbin receives our stream (RTP on PORT, RTCP on PORT+1) and
#     shows our SR in its session's source stats (have-sr, a packet count =
#     packets sent, an octet count, an NTP time within a minute of now and
#     an RTP time), and our BYE; its RR reaches our sender (rtt_ms, 0 % lost).
#  2. GStreamer rtpbin sends to our receiver and reads our RR: its own
#     source's stats have a report block (have-rb) about it with our
#     fraction lost (0) and jitter; our receiver took its SR (mapped).
#  3. ffmpeg sends with its RTCP (no skip_rtcp): our receiver takes its SR
#     (wallclock_mapped, sender_packets) and plays the stream.
# ffmpeg receiving our stream with our RTCP on PORT+1 is interop_ffmpeg_rx.
# GStreamer's stats need python3-gi with GStreamer's introspection data
# (gir1.2-gstreamer-1.0): without them parts 1 and 2 are skipped.
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox python3 ffmpeg gst-launch-1.0
built receiver sender
S=$BUILD/sender R=$BUILD/receiver G=$TOP/tests/tools/gst_rtcp.py
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 8 || fail "sox"
have_gi=1
/usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0"); gi.require_version("Gio", "2.0")' 2>/dev/null ||
  have_gi=0
skipped=""

if [ $have_gi = 1 ]; then
  # 1. rtpbin receives: our sender first (its RTCP port is where rtpbin's
  # RR goes), then rtpbin, which misses the first few packets.
  port=$(free_rtp_port) || fail "no free port"
  bg "$S" -v --rtcp-interval 1000 --stats "$T/g1.tx.jsonl" "$T/in.wav" "127.0.0.1:$port" 2>"$T/g1.tx.err"
  tx=$!
  for _ in $(seq 1 50); do grep -q 'RTCP from port' "$T/g1.tx.err" && break; sleep 0.1; done
  txport=$(sed -n 's/.*RTCP from port \([0-9]*\).*/\1/p' "$T/g1.tx.err")
  [ -n "$txport" ] || fail "the sender did not say its RTCP port: $(cat "$T/g1.tx.err")"
  timeout 30 /usr/bin/python3 "$G" recv "$port" "$txport" 9 >"$T/g1.out" 2>"$T/g1.err" ||
    fail "rtpbin receiving: $(tail -n 3 "$T/g1.err") $(cat "$T/g1.out")"
  wait_exit "$tx" 15 || fail "sender exited $?"
  say "rtpbin's sources: $(cat "$T/g1.out")"
  say "sender: $(tail -n 1 "$T/g1.tx.jsonl")"

  # 2. rtpbin sends to our receiver from LOCAL (RTP) and LOCAL+1 (RTCP).
  port=$(free_rtp_port) && local=$(free_rtp_port) || fail "no free port"
  bg "$R" -q -o "$T/g2.wav" --rtcp-interval 1000 --idle-exit 1.5 --duration 30 --stats "$T/g2.rx.jsonl" \
    "127.0.0.1:$port" 2>"$T/g2.rx.err"
  rx=$!
  udp_bound "$port" 10 || fail "receiver did not bind"
  timeout 30 /usr/bin/python3 "$G" send "$port" "$local" 8 >"$T/g2.out" 2>"$T/g2.err" ||
    fail "rtpbin sending: $(tail -n 3 "$T/g2.err") $(cat "$T/g2.out")"
  wait_exit "$rx" 15 || fail "receiver exited $?"
  say "rtpbin's sources: $(cat "$T/g2.out")"
  say "receiver: $(tail -n 1 "$T/g2.rx.jsonl")"
  grep -q '"skipped"' "$T/g1.out" "$T/g2.out" && skipped="rtpbin: $(grep -ho '"skipped": "[^"]*"' "$T"/g?.out | head -n 1)"
else
  skipped="GStreamer parts: python3-gi cannot load Gst (gir1.2-gstreamer-1.0 not installed)"
  say "$skipped"
fi

# 3. ffmpeg sends with RTCP.
port=$(free_rtp_port) || fail "no free port"
bg "$R" -q -o "$T/f.wav" --rtcp-interval 1000 --idle-exit 1.5 --duration 30 --stats "$T/f.rx.jsonl" \
  "127.0.0.1:$port" 2>"$T/f.rx.err"
rx=$!
udp_bound "$port" 10 || fail "receiver did not bind"
timeout 30 ffmpeg -nostdin -loglevel error -re -i "$T/in.wav" -c:a libopus -b:a 32k -application voip \
  -frame_duration 20 -payload_type 96 -ssrc 305419896 -f rtp "rtp://127.0.0.1:$port" >"$T/f.log" 2>&1 ||
  fail "ffmpeg exited $?: $(tail -n 3 "$T/f.log")"
wait_exit "$rx" 15 || fail "receiver exited $?"
say "receiver (ffmpeg's stream): $(tail -n 1 "$T/f.rx.jsonl")"

python3 - "$T" "$have_gi" "$skipped" <<'PY' || fail "checks failed"
import json, os, sys, time
T, have_gi, skipped = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
def final(n): return json.loads(open(f"{T}/{n}").read().splitlines()[-1])
def srcs(n): return [json.loads(l) for l in open(f"{T}/{n}") if l.startswith("{")]
if have_gi and not skipped:
    tx = final("g1.tx.jsonl")
    ours = [s for s in srcs("g1.out") if not s.get("internal")]
    check(len(ours) == 1, f"rtpbin saw one remote source ({len(ours)})")
    s = ours[0] if ours else {}
    check(s.get("have-sr") is True, "rtpbin: have-sr (our SR)")
    check(s.get("sr-packet-count") == tx["sent"], f"rtpbin: SR packet count {s.get('sr-packet-count')} = sent {tx['sent']}")
    check(s.get("sr-octet-count", 0) > 0, f"rtpbin: SR octet count {s.get('sr-octet-count')}")
    ntp_s = (s.get("sr-ntptime", 0) >> 32) - 2208988800
    check(abs(ntp_s - time.time()) < 60, f"rtpbin: SR NTP time {ntp_s} within a minute of now")
    check(s.get("sr-rtptime", 0) != 0, f"rtpbin: SR RTP time {s.get('sr-rtptime')}")
    check(s.get("received-bye") is True, "rtpbin: our BYE")
    check(tx["rtcp_received"] >= 1 and tx["rtt_ms"] is not None and tx["rtt_ms"] < 50
          and tx["loss_pct_reported"] == 0,
          f"sender: rtpbin's RR taken ({tx['rtcp_received']}), rtt {tx['rtt_ms']} ms, lost {tx['loss_pct_reported']} %")
    rx = final("g2.rx.jsonl")
    own = [s for s in srcs("g2.out") if s.get("internal") and s.get("is-sender")]
    check(len(own) == 1, "rtpbin: its own sender source")
    remote = [s for s in srcs("g2.out") if not s.get("internal")]
    rb = [s for s in own + remote if s.get("have-rb")]
    check(len(rb) >= 1, "rtpbin: have-rb (our RR's block)")
    if rb:
        b = rb[0]
        check(b.get("rb-ssrc") == own[0].get("ssrc") if own else False, f"rtpbin: the block is about its SSRC {b.get('rb-ssrc')}")
        check(b.get("rb-fractionlost") == 0 and b.get("rb-packetslost") == 0,
              f"rtpbin: our fraction lost {b.get('rb-fractionlost')}, lost {b.get('rb-packetslost')}")
        check(0 <= b.get("rb-jitter", -1) < 480, f"rtpbin: our jitter {b.get('rb-jitter')} (RTP units)")
    check(rx["wallclock_mapped"] and rx["sr_received"] >= 1, f"receiver: rtpbin's SR taken ({rx['sr_received']})")
    check(rx["played"] > 300 and rx["lost"] == 0, f"receiver: played {rx['played']}, lost {rx['lost']}")
rx = final("f.rx.jsonl")
check(rx["wallclock_mapped"] and rx["sr_received"] >= 1 and (rx["sender_packets"] or 0) > 0,
      f"ffmpeg: its SR taken ({rx['sr_received']}, {rx['sender_packets']} packets), wall clock mapped")
check(rx["rtcp_invalid"] == 0, f"ffmpeg: rtcp_invalid {rx['rtcp_invalid']}")
check(rx["played"] > 350 and rx["lost"] == 0, f"ffmpeg: played {rx['played']}, lost {rx['lost']}")
sys.exit(1 if bad else 0)
PY
[ -n "$skipped" ] && skip "$skipped (ffmpeg's SR: passed)"
pass "rtpbin shows our SR and reads our RR; ffmpeg's SR taken"
