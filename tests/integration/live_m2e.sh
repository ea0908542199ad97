#!/usr/bin/env bash
# Mouth-to-ear through real devices (issue 12), measured from the audio
# itself with TESTBED's two-channel probe: one stereo PulseAudio null sink,
# recorded once from its monitor. Speech is played into its LEFT channel
# ("the mouth"); `sender alsa:micl` captures the monitor's left channel
# (micl: a remap source, so that it never hears the right one) and sends to a
# receiver on loopback, which plays into the RIGHT channel ("the ear").
# The recording's R behind its L, in 1 s windows by cross-correlation
# (tools/wavcmp), is the whole path: capture, frame, network, playout,
# playback and the sound server's own buffering, both ways.
# Then the sound server's part alone: arecord from micl straight into
# aplay on the right channel (small buffers), measured the same way.
# Checks: most windows align; the settled mouth-to-ear's median exceeds
# one frame and stays under 300 ms. With a fixed receiver latency (the
# test's default, DL_M2E_LATENCY=80) nothing should move: p99 - p50 within
# 10 ms and the second half's median within 3 ms of the first's (no creep:
# the capture device paces the stream and the timestamps count its
# samples; one sink clock plays both sides). DL_M2E_LATENCY=auto (the
# bench) runs the adaptive receiver and only reports. DL_M2E_SECONDS,
# DL_M2E_FRAME_MS and DL_M2E_JSON (the figures as JSON, for scripts/bench)
# set the run.
# Solo: two sessions ago a fresh-clone CI and a local rerun each lost the
# receiver's side of the probe (1-7 of 24 windows aligned) in about one run
# of three, beside other PulseAudio tests in the pool; since then 17 runs in
# a row passed here, alone, beside a full CPU load, and beside three other
# PulseAudio tests. A failure prints both sides' per-second series, so that
# which side went quiet is on record. scripts/bench runs it at length
# (section live).
# tags: solo
# timeout: 180
. "$(dirname "$0")/../lib.sh"
need sox aplay arecord python3
built sender receiver tools/wavcmp
SECS=${DL_M2E_SECONDS:-24}
FRAME=${DL_M2E_FRAME_MS:-20}
pulse_start 2
# Mono views of the stereo sink's channels, by the sound server itself
# (remap modules), each a plain pulse PCM: left and right to play into,
# micl to capture the left channel of what the sink plays.
pactl load-module module-remap-sink sink_name=spkl master=nullsink channels=1 channel_map=mono \
  master_channel_map=front-left remix=no >/dev/null 2>>"$T/pa.log" &&
pactl load-module module-remap-sink sink_name=spkr master=nullsink channels=1 channel_map=mono \
  master_channel_map=front-right remix=no >/dev/null 2>>"$T/pa.log" &&
pactl load-module module-remap-source source_name=micl master=nullsink.monitor channels=1 \
  channel_map=mono master_channel_map=front-left remix=no >/dev/null 2>>"$T/pa.log" ||
  skip "pulseaudio would not load its remap modules ($(tail -n 1 "$T/pa.log"))"
cat >>"$T/.asoundrc" <<EOT
pcm.left  { type pulse server "unix:$T/pulse/native" device "spkl" }
pcm.right { type pulse server "unix:$T/pulse/native" device "spkr" }
pcm.micl  { type pulse server "unix:$T/pulse/native" device "micl" }
EOT
# The mouth: speech with its pauses, long enough for SECS.
sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/one.wav" || fail "sox"
sox "$T/one.wav" "$T/in.wav" repeat $((SECS / 26 + 1)) trim 0 "$SECS" || fail "sox"

pulse_record 2 "$T/probe.wav"
port=$(free_rtp_port) || fail "no free port"
LAT=${DL_M2E_LATENCY:-80}
bg "$BUILD/receiver" -v -c 1 -d right --latency "$LAT" --idle-exit 2 --stats "$T/rx.jsonl" --stats-interval 1000 "127.0.0.1:$port" 2>"$T/rx.err"
rx=$!
for _ in $(seq 1 50); do grep -q 'checked at start-up\|playback thread' "$T/rx.err" && break; sleep 0.1; done
bg "$BUILD/sender" -q -c 1 --frame-ms "$FRAME" --duration $((SECS + 2)) --stats "$T/tx.jsonl" --stats-interval 1000 alsa:micl \
   "127.0.0.1:$port" 2>"$T/tx.err"
tx=$!
sleep 0.5
aplay -q -D left "$T/in.wav" || fail "aplay into the left channel failed"
wait_exit "$tx" 20; rc=$?
[ $rc = 0 ] || { cat "$T/tx.err"; tail -n 2 "$T/tx.jsonl"; fail "sender exited $rc"; }
wait_exit "$rx" 20; rc=$?
[ $rc = 0 ] || { cat "$T/rx.err"; fail "receiver exited $rc"; }
# The sound server alone: capture straight into playback.
sox "$T/one.wav" "$T/direct_in.wav" trim 0 8
timeout 14 arecord -q -D micl -f S16_LE -r 48000 -c 1 --buffer-time=20000 --period-time=5000 -t raw |
  timeout 14 aplay -q -D right -f S16_LE -r 48000 -c 1 --buffer-time=20000 --period-time=5000 -t raw &
direct=$!
sleep 1
aplay -q -D left "$T/direct_in.wav" || fail "aplay (direct) failed"
sleep 1
kill -INT "$rec"; wait_exit "$rec" 5
pkill -INT -f "arecord -q -D micl" 2>/dev/null; wait "$direct" 2>/dev/null
sox "$T/probe.wav" "$T/L.wav" remix 1 && sox "$T/probe.wav" "$T/R.wav" remix 2 || fail "cannot split the probe"

# lags FROM TO: R behind L in 1 s windows from FROM to TO s of the probe,
# one per line "t lag_ms corr" (windows whose L is a pause are left out).
lags() {
  local t
  for t in $(seq "$1" "$(($2 - 1))"); do
    sox "$T/L.wav" "$T/wl.wav" trim "$t" 1 2>/dev/null || continue
    sox "$T/R.wav" "$T/wr.wav" trim "$t" 1.4 2>/dev/null || continue
    "$BUILD/tools/wavcmp" "$T/wl.wav" "$T/wr.wav" --max-lag-ms 350 --json 2>/dev/null |
      python3 -c 'import json,sys
d = json.load(sys.stdin)
if d.get("corr") is not None and d.get("windows", 1) > 0: print(sys.argv[1], d["lag_ms"], d["corr"])' "$t"
  done
}
# The speech entered the probe about 1 s after the recording began; the
# stream's part runs to SECS + 1, the direct part after it.
dur=$(soxi -D "$T/probe.wav" | cut -d. -f1)
lags 1 $((SECS + 1)) >"$T/stream.lags"
lags $((SECS + 3)) "$dur" >"$T/direct.lags"
python3 - "$T/stream.lags" "$T/direct.lags" "$FRAME" "$T/tx.jsonl" "$T/rx.jsonl" "${DL_M2E_JSON:-}" "$LAT" <<'PYEOF' || fail "mouth-to-ear"
import json, sys
def rows(p):
    return [tuple(float(x) for x in l.split()) for l in open(p) if l.strip()]
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
def last(p):
    d = {}
    for l in open(p):
        try: d = json.loads(l)
        except ValueError: pass
    return d
st, di, frame = rows(sys.argv[1]), rows(sys.argv[2]), float(sys.argv[3])
out = sys.argv[6] if len(sys.argv) > 6 else ""
fixed = len(sys.argv) > 7 and sys.argv[7] != "auto"   # a fixed latency: nothing should move
tx, rx = last(sys.argv[4]), last(sys.argv[5])
good = [(t, l) for t, l, c in st if c >= 0.6]
settled = [l for t, l in good if t >= 8]          # the adaptive target settles first
dgood = [l for t, l, c in di if c >= 0.6]
bad = []
if len(good) < 0.6 * len(st) or len(settled) < 8:
    bad.append("only %d of %d windows aligned (%d settled)" % (len(good), len(st), len(settled)))
else:
    p50, p99 = q(settled, .5), q(settled, .99)
    h = len(settled) // 2
    a, b = q(settled[:h], .5), q(settled[h:], .5)
    print("mouth-to-ear (%g ms frames, %d windows after 8 s): p50 %.1f  p99 %.1f  max %.1f ms; "
          "first half %.1f, second %.1f" % (frame, len(settled), p50, p99, max(settled), a, b))
    print("  the programs' own parts: capture_latency %s ms, the receiver's latency mean %s ms "
          "(target %s), overruns %s, late %s, concealed %s" % (
              tx.get("capture_latency_ms"), rx.get("latency_ms", {}).get("mean"),
              rx.get("latency_ms", {}).get("target"), tx.get("overruns"), rx.get("late"), rx.get("concealed")))
    if dgood:
        print("  the sound server alone (arecord -> aplay, 20 ms buffers): p50 %.1f ms over %d windows"
              % (q(dgood, .5), len(dgood)))
    if not (frame < p50 < 300): bad.append("p50 %.1f ms outside (%g, 300)" % (p50, frame))
    if fixed and p99 - p50 > 10: bad.append("p99 - p50 = %.1f ms > 10" % (p99 - p50))
    if fixed and abs(b - a) > 3: bad.append("the second half moved %.1f ms from the first" % (b - a))
    if out:
        json.dump({"frame_ms": frame, "latency": sys.argv[7] if len(sys.argv) > 7 else None, "windows": len(settled), "m2e_ms": {"p50": p50, "p99": p99,
                   "max": max(settled)}, "first_half_p50_ms": a, "second_half_p50_ms": b,
                   "server_direct_p50_ms": q(dgood, .5) if dgood else None,
                   "capture_latency_ms": tx.get("capture_latency_ms"),
                   "capture_cpu_pct": tx.get("capture_cpu_pct"), "overruns": tx.get("overruns"),
                   "rx_latency_mean_ms": rx.get("latency_ms", {}).get("mean"),
                   "rx_target_ms": rx.get("latency_ms", {}).get("target"),
                   "rx_target_parts_ms": rx.get("target_parts_ms"),
                   "late": rx.get("late"), "concealed": rx.get("concealed")}, open(out, "w"))
    if tx.get("overruns"): bad.append("%s overruns on a clean run" % tx.get("overruns"))
for b in bad: print("FAIL:", b)
if bad:
    # Which side went quiet: the capture's level and counts, the receiver's.
    def series(p, keys):
        for l in open(p):
            try: d = json.loads(l)
            except ValueError: continue
            print("  %s t %s: %s" % (p.rsplit("/", 1)[1], d.get("t"), " ".join("%s=%s" % (k, d.get(k)) for k in keys)))
    series(sys.argv[4], ("sent", "level_dbfs", "overruns", "capture_latency_ms"))
    series(sys.argv[5], ("received", "played", "concealed", "late", "underruns", "latency_ctl_ms"))
    print("  stream windows: " + " ".join("%d:%.1f/%.2f" % r for r in st))
sys.exit(1 if bad else 0)
PYEOF
pass "mouth-to-ear measured from the audio, $(grep -c . "$T/stream.lags") windows"
