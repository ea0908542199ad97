#!/usr/bin/env bash
# A forced ALSA underrun is recovered and counted (issue 6, faults).
#
# The device is a PulseAudio null sink (paced in real time, like a sound
# card) as ALSA "default", with the pulse plugin's `handle_underrun true`
# so that a buffer that runs dry is reported as -EPIPE, as hardware does.
# The receiver stalls its playback thread once (--stall-at SEC:MS) while
# our sender streams 10 s of speech to it over loopback. Two runs:
#
# A. Stall 200 ms, --latency 100, --max-latency 500 (the default). The
#    device's 20 ms buffer runs dry: underruns >= 1. The stall holds the
#    playback thread, not the packets: they wait in the ring and all play
#    afterwards, in order, so nothing is lost, late, invalid or concealed
#    (the gap the listener hears is the device's own underrun, not a frame
#    of ours), played == received, and nothing resyncs: the packets after
#    the stall continue the stream, they are no timestamp jump. The stall
#    shows as a step up in latency (the device's clock stood still): the
#    controller's latency (latency_ctl_ms) rises by at least 100 ms, stays
#    under --max-latency, and from then on comes back down by resampling
#    without dropping a frame (the ratio stays within +-0.5 %, so at most
#    5 ms/s; the controller plans 2.5 ms/s, DL_DRIFT_FALL_US_PER_S, and
#    measured 3-5 ms/s here): asserted as at least 1 ms/s of descent from
#    its peak to the last second of the stream, and never below the target
#    by more than 10 ms. Back at the target only after about a minute: the
#    design drops no frame to get there faster (run B is the exception).
#    The step is not drift: |drift_ppm| stays under 500 (the null sink runs
#    on the system clock, so the truth is about 0; measured 13-50, and 250
#    in a run where load added a second, short underrun; a controller that
#    took the step for drift read 600-1500, or 5000, its bound). These two
#    are judged on runs where the device behaved (one underrun, the peak
#    within 1.5 s of the stall): a null sink that keeps adding to its
#    reported delay after the restart is printed, not judged.
# B. Stall 300 ms, --latency 100, --max-latency 250: the stall puts the
#    latency (about 400 ms) over what the user allowed, so the design's one
#    exception applies: exactly one resync, which drops the backlog (at most
#    (stall + max-latency) / 20 ms packets) and goes on from the newest
#    packet at the target; nothing lost, late, invalid or concealed, and
#    the latency back within 25 ms of the target by the end.
#
# --latency 100 (fixed): the sender is an ordinary process; on a loaded
# machine a packet can be tens of ms late, which an adaptive target of ~20
# ms would (rightly) discard; the counts are the point here. The sender
# starts 2 s after the receiver: the ALSA sink already waits at open until
# the device plays in real time (an idle null sink can hold a new stream
# for 0.2-1.7 s, TESTBED.md); this is margin on top, so that the only
# stall in the run is the forced one.
# Skips where PulseAudio cannot start.
# tags: tsan solo
# timeout: 150
. "$(dirname "$0")/../lib.sh"
need python3
built receiver sender
pulse_start 1
# The pulse plugin reports an underrun as -EPIPE only when asked to.
sed -i 's/device "nullsink" }/device "nullsink"  handle_underrun true }/' "$T/.asoundrc"
grep -q handle_underrun "$T/.asoundrc" || fail "could not set handle_underrun in .asoundrc"
# Under TSan: libpulse (the ALSA pulse plugin's client, not instrumented)
# synchronises its own threads in ways TSan cannot see (as receiver_alsa.sh).
printf '%s\n' "race:libpulsecommon" "race:libpulse.so" "race:libasound_module_pcm_pulse" \
  "called_from_lib:libpulsecommon" "called_from_lib:libpulse.so" >"$T/tsan.supp"
export TSAN_OPTIONS="${TSAN_OPTIONS:-} suppressions=$T/tsan.supp"

# (pulse_start sets the clients up without shared memory: see lib.sh.)

# A reader of the monitor keeps the null sink awake (it is also what a
# listener would hear); its recording is not needed.
pulse_record 1 "$T/played.wav"

# run NAME STALL_AT STALL_MS MAX_LATENCY: one receiver and one 10 s stream.
# -c 1: the device opens at start-up (told its channels), so the stall is
# the only thing that moves the latency.
run() {
  local name=$1 at=$2 ms=$3 max=$4 port rx rc
  port=$(free_rtp_port) || fail "no free port"
  bg "$BUILD/receiver" -v -c 1 --latency 100 --max-latency "$max" --stall-at "$at:$ms" -d default \
     --idle-exit 1 --stats "$T/$name.jsonl" --stats-interval 500 "127.0.0.1:$port" 2>"$T/$name.err"
  rx=$!
  for _ in $(seq 1 50); do grep -q 'playback thread' "$T/$name.err" && break; sleep 0.1; done
  grep -q 'playback thread' "$T/$name.err" ||
    { cat "$T/$name.err"; tail -n 5 "$T/pa.log"; fail "$name: receiver did not start on the pulse device"; }
  sleep 2
  timeout 40 "$BUILD/sender" --duration 10 "$TOP/tests/data/speech.flac" "127.0.0.1:$port" \
    >"$T/$name.tx" 2>&1 || { cat "$T/$name.tx"; fail "$name: sender failed"; }
  wait_exit "$rx" 20
  rc=$?
  cat "$T/$name.err"
  [ $rc -eq 0 ] || fail "$name: receiver exited $rc"
}

run a 5 200 500
run b 5 300 250

python3 - "$T/a.jsonl" "$T/b.jsonl" <<'PY' || fail "checks failed"
import json, sys
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)

def load(path, name, stall_s):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    s = lines[-1]
    print(f"{name}: final: {json.dumps(s)}")
    check(s.get("final") is True, f"{name}: final stats line")
    check(s["underruns"] >= 1, f"{name}: underruns >= 1 (got {s['underruns']})")
    for k in ("lost", "late", "invalid", "concealed"):
        check(s[k] == 0, f"{name}: {k} == 0 (got {s[k]})")
    check(s["received"] >= 480, f"{name}: the stream arrived ({s['received']} packets)")
    # The timeline of the controller's latency while the stream played.
    tl = [(l["t"], l["latency_ctl_ms"]) for l in lines
          if l.get("latency_ctl_ms") is not None and l["played"] > 0]
    last_played = max(l["t"] for l in lines if l["played"] < s["played"]) if s["played"] else 0
    before = [v for t, v in tl if t < stall_s]
    after = [(t, v) for t, v in tl if stall_s + 0.3 < t <= last_played - 1.0]
    check(len(before) >= 2 and len(after) >= 8,
          f"{name}: latency seen before ({len(before)}) and after ({len(after)}) the stall")
    return s, before, after

target = 100.0
a, before, after = load(sys.argv[1], "A", 5.0)
check(a["resyncs"] == 0, f"A: resyncs == 0 (got {a['resyncs']})")
check(a["played"] == a["received"], f"A: played == received ({a['played']} of {a['received']})")
if before and after:
    l0 = before[-1]
    tpk, lpk = max(after, key=lambda x: x[1])
    tend, lend = after[-1]
    rate = (lpk - lend) / (tend - tpk) if tend > tpk else 0.0
    print(f"A: latency_ctl_ms before {l0:.1f}, peak {lpk:.1f} at t={tpk:.1f}, "
          f"end {lend:.1f} at t={tend:.1f}: down {rate:.2f} ms/s")
    check(lpk - l0 >= 100, f"A: the stall showed as latency (+{lpk - l0:.1f} ms >= 100)")
    check(lpk < 500, f"A: peak {lpk:.1f} ms under --max-latency 500")
    # The recovery rate and the drift estimate are judged where the device
    # behaved: one underrun (a loaded machine can starve it again on its
    # own, and each underrun steps the latency anew) and the peak within
    # 1.5 s of the stall (the step is the stall). On CI the null sink once
    # kept adding to its reported delay for 5 s after the restart (118 ->
    # 328 ms while the resampler ran at its bound to reduce it): that is the
    # device's reporting, not the controller, and is printed, not judged.
    d = a["drift_ppm"]
    if a["underruns"] == 1 and tpk <= 5.0 + 1.5:
        check(tend - tpk >= 4 and rate >= 1.0,
              f"A: latency coming back by resampling: {rate:.2f} ms/s >= 1 over {tend - tpk:.1f} s")
        check(d is not None and abs(d) < 500, f"A: the step was not taken for drift: drift_ppm {d} within +-500")
    else:
        print(f"A: not judged (underruns {a['underruns']}, peak at t={tpk:.1f} s, stall at 5.0 s): "
              f"recovery {rate:.2f} ms/s, drift_ppm {d}")

b, before, after = load(sys.argv[2], "B", 5.0)
check(b["resyncs"] == 1, f"B: exactly one resync (got {b['resyncs']})")
dropped = b["received"] - b["played"]
check(1 <= dropped <= (300 + 250) // 20, f"B: the backlog dropped: {dropped} packets (1..{(300 + 250) // 20})")
if after:
    tend, lend = after[-1]
    print(f"B: latency_ctl_ms at t={tend:.1f}: {lend:.1f}; after the stall max {max(v for _, v in after):.1f}")
    check(abs(lend - target) <= 25, f"B: latency back at target ({lend:.1f} ms, target {target:.0f} +- 25)")
sys.exit(1 if bad else 0)
PY
pass "underrun recovered and counted; over --max-latency: one resync"
