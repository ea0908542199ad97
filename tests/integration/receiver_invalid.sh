#!/usr/bin/env bash
# Malformed and foreign datagrams in the middle of a stream (ffmpeg sending
# speech) are counted and dropped, and the audio goes on: each malformed
# kind (too short, wrong version, CSRC list or extension or padding past
# the end, no payload, a payload that is not Opus or is longer than 120 ms,
# an empty datagram) counts in `invalid`; valid RTP of another payload
# type counts in `rejected`; nothing is lost or late and the output still
# aligns with the input.
# tags: sanitize tsan
# timeout: 90
# --latency 150: ffmpeg is an ordinary process; on a loaded machine it can
# stall for tens of ms, and a packet that late is (rightly) discarded. The
# clean-path counts are the point here, not the size of the latency.
. "$(dirname "$0")/../lib.sh"
need ffmpeg sox python3
built receiver tools/wavcmp

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" trim 0 6 || fail "sox"
port=$(free_rtp_port) || fail "no free port"
# --no-resample: the output is compared with the input at one lag, which
# the drift resampler's time stretch (tested by drift_e2e.sh) would blur.
bg "$BUILD/receiver" --no-resample -v --latency 150 -o "$T/out.wav" --idle-exit 1 --stats "$T/stats.jsonl" "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'listening on' "$T/rx.err" && break; sleep 0.1; done
grep -q 'listening on' "$T/rx.err" || { cat "$T/rx.err"; fail "receiver did not start"; }

bg timeout 40 ffmpeg -nostdin -loglevel error -re -i "$T/in.wav" -c:a libopus -b:a 32k \
  -frame_duration 20 -payload_type 96 -rtpflags skip_rtcp -f rtp -sdp_file "$T/tx.sdp" \
  "rtp://127.0.0.1:$port"
ff=$!
# Once the stream has locked the payload type, spray the bad datagrams over
# two seconds; the script prints how many of each count it expects.
for _ in $(seq 1 50); do grep -q 'stream started' "$T/rx.err" && break; sleep 0.1; done
grep -q 'stream started' "$T/rx.err" || fail "the stream did not start"
python3 - "$port" >"$T/expect" <<'PY' || fail "sending the bad datagrams"
import socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def hdr(pt=96, v=2, p=0, x=0, cc=0, seq=7, ts=1000, ssrc=0x11223344):
    return struct.pack("!BBHII", (v << 6) | (p << 5) | (x << 4) | cc, pt, seq, ts, ssrc)
opus20 = bytes([0x08]) + bytes(40)            # TOC: SILK 20 ms, one frame
invalid = [
    b"\x80\x60\x00",                           # shorter than a header
    hdr(v=1) + opus20,                         # version 1
    hdr(cc=15) + opus20,                       # 15 CSRCs run past the end
    hdr(x=1) + b"\x00\x01",                    # extension header cut off
    hdr(x=1) + b"\xbe\xde\x00\x40" + opus20,   # extension length past the end
    hdr(p=1) + opus20[:-1] + b"\x00",          # padding count 0
    hdr(p=1) + opus20[:-1] + b"\xff",          # padding past the payload
    hdr(),                                     # no payload
    hdr() + bytes([0x0b, 0x00]),               # Opus code 3 with 0 frames
    hdr() + bytes([0x0b, 48]) + bytes(60),     # 48 x 20 ms: longer than 120 ms
    b"",                                       # empty datagram
]
rejected = [hdr(pt=0) + bytes(160), hdr(pt=97) + opus20, hdr(pt=127) + opus20]
rounds = 5
for r in range(rounds):
    for d in invalid + rejected:
        s.sendto(d, ("127.0.0.1", port))
    time.sleep(0.4)
print(len(invalid) * rounds, len(rejected) * rounds)
PY
wait "$ff" || fail "ffmpeg failed"
wait_exit "$rx" 15 || fail "receiver exited $?"
cat "$T/rx.err"
final=$(tail -n 1 "$T/stats.jsonl")
echo "final: $final"
"$BUILD/tools/wavcmp" --max-lag-ms 8000 "$T/in.wav" "$T/out.wav" | tee "$T/cmp.txt"
python3 - "$final" $(cat "$T/expect") "$T/cmp.txt" <<'PY' || fail "checks failed"
import json, sys
s = json.loads(sys.argv[1]); want_invalid, want_rejected = int(sys.argv[2]), int(sys.argv[3])
cmp = dict(l.strip().split("=", 1) for l in open(sys.argv[4]) if "=" in l)
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
check(s["invalid"] == want_invalid, f"invalid {s['invalid']} == {want_invalid} sent")
check(s["rejected"] == want_rejected, f"rejected {s['rejected']} == {want_rejected} sent")
check(s["datagrams"] == s["received"] + want_invalid + want_rejected, "every datagram accounted for")
for k in ("lost", "late", "duplicate", "resyncs", "overflow"):
    check(s[k] == 0, f"{k} == 0 (got {s[k]})")
check(s["played"] == s["received"] and s["received"] >= 300, f"all {s['received']} packets played")
check(float(cmp["corr"]) >= 0.9, f"correlation with the input {cmp['corr']} >= 0.9")
sys.exit(1 if bad else 0)
PY
pass "$(cat "$T/expect" | awk '{print $1 " invalid, " $2 " rejected"}'), audio intact"
