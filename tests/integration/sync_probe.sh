#!/usr/bin/env bash
# Synchronized playout (issue 16, part 4), judged from the audio: one
# sender to an IPv4 group on loopback, two receivers with --sync playing
# into the left and right channels of one PulseAudio stereo null sink (the
# two-channel probe of TESTBED.md; here each receiver plays stereo (-c 2)
# straight into the null sink, its stream's volume set to one channel only
# (pactl set-sink-input-volume: 100%% 0%% and 0%% 100%%): TESTBED's ALSA
# route PCMs never consumed in real time on this alsa-lib (aplay -D left of
# 1 s did not finish in 6 s), and a PulseAudio remap sink reports its
# delay 7 ms off in steps, which a receiver that counts snd_pcm_delay
# follows),
# recorded once from its monitor with parec. The offset between the
# channels, by cross-correlation over 1 s windows (tests/tools/chanoff),
# must have p50 |offset| within 0.5 ms and p99 within 1 ms over 60 s (the
# issue's figure), first with both receivers as they are, then with one
# receiver's wall clock shifted by --wallclock-offset-ms 250 (sync must not
# lean on aligned clocks). The same two receivers without --sync are
# measured too and printed (their offset is whatever their latencies happen
# to be: not asserted). Bad input to the sync flags: one line, exit 2.
#
# SYNC_PROBE_S: seconds measured per run (default 60, about 4.5 minutes in
# all), after SYNC_SETTLE_S (25) that are not counted: the null sink
# consumes some 250 ppm off CLOCK_MONOTONIC here (both receivers'
# drift_ppm say so), and the drift controller's integral takes about 20 s
# to learn that (and PulseAudio reports a stream's delay low for its first
# moments). SYNC_PROBE_P99_MS sets the gate (1); SYNC_PROBE_DELAY (400, or
# default: the receiver's own), SYNC_PROBE_BUF_L and _R (150, 200) the
# receivers; SYNC_PROBE_STALL=SEC:MS stalls the left one's playback once
# (--stall-at); SYNC_PROBE_ONLY_SYNC=1 runs the first run alone.
# Measured here over 60 s at the receiver's default delay and 80/120 ms
# buffers (make bench's form): p99 0.21 ms, and 0.56 ms with one wall clock
# shifted; at make test's 400 ms and 150/200 ms: 0.44 and 0.33 ms. Before the clocks' rate was fitted to SRs alone (common/rx/sync.c)
# it sat at its 1000 ppm bound in some runs, and p99 ranged 0.2 to 16 ms.
# tags: solo
# timeout: 480
. "$(dirname "$0")/../lib.sh"
need sox python3
built receiver sender tools/chanoff
SEC=${SYNC_PROBE_S:-60}
SETTLE=${SYNC_SETTLE_S:-25}
DELAY=${SYNC_PROBE_DELAY:-400}
BUF_L=${SYNC_PROBE_BUF_L:-150}
BUF_R=${SYNC_PROBE_BUF_R:-200}
S=$BUILD/sender R=$BUILD/receiver

# 0. Bad input first: cheap, and it needs no sound server.
bad() {
  local out rc
  out=$(timeout 5 "$R" "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || fail "receiver $*: exit $rc, expected 2"
  [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "receiver $*: more than one line: $out"
  say "bad input: $* -> $out"
}
bad --sync --no-rtcp -o "$T/x.wav" 127.0.0.1:5004
bad --sync --sync-delay 5 -o "$T/x.wav" 127.0.0.1:5004
bad --sync --sync-delay 5000 -o "$T/x.wav" 127.0.0.1:5004
bad --sync --sync-delay abc -o "$T/x.wav" 127.0.0.1:5004
bad --sync-delay 100 -o "$T/x.wav" 127.0.0.1:5004
bad --sync-trim 3 -o "$T/x.wav" 127.0.0.1:5004
bad --sync --sync-trim 900 -o "$T/x.wav" 127.0.0.1:5004
bad --sync --latency 80 -o "$T/x.wav" 127.0.0.1:5004
bad --sync --no-resample -o "$T/x.wav" 127.0.0.1:5004
bad --sync --max-latency 100 -o "$T/x.wav" 127.0.0.1:5004
bad --sync --wallclock-offset-ms x -o "$T/x.wav" 127.0.0.1:5004

# The probe: lib.sh's stereo null sink, ALSA's default; each receiver's
# stream is turned to one channel once it plays. Each counts its own
# client's delay (snd_pcm_delay) in its latency.
pulse_start 2

sox "$TOP/tests/data/speech.flac" -r 48000 -c 1 -b 16 "$T/in.wav" || fail "sox"

# pan PID_LEFT PID_RIGHT LOG: every 0.2 s, each receiver's sink inputs to
# its channel; LOG gets "index pid" for each one set.
pan() {
  local vol=("100% 0%" "0% 100%") pid=("$1" "$2") seen="" i idx
  while :; do
    for i in 0 1; do
      for idx in $(pactl list sink-inputs 2>/dev/null | awk -v pid="\"${pid[$i]}\"" '
          /^Sink Input #/ { id = substr($3, 2) } $1 == "application.process.id" && $3 == pid { print id }'); do
        case " $seen " in *" $idx "*) continue ;; esac
        pactl set-sink-input-volume "$idx" ${vol[$i]} 2>/dev/null && seen="$seen $idx" && echo "$idx ${pid[$i]}" >>"$3"
      done
    done
    sleep 0.2
  done
}

# run NAME [left receiver flags] -- [right receiver flags]: one stream of
# SETTLE + SEC seconds to both, recorded once; prints chanoff's JSON into
# $T/NAME.off.
run() {
  local name=$1 lf=() rf=() side=l P total pids=() rec
  shift
  for a in "$@"; do
    if [ "$a" = -- ]; then side=r; continue; fi
    if [ $side = l ]; then lf+=("$a"); else rf+=("$a"); fi
  done
  P=$(free_rtp_port) || fail "no free port"
  total=$((SETTLE + SEC + 4))
  # The recorder first: it wakes the idle null sink (TESTBED.md).
  parec --device=nullsink.monitor --latency-msec=20 --file-format=wav --rate=48000 --channels=2 \
    --format=s16le "$T/$name.wav" &
  rec=$!
  _pids+=($rec)
  sleep 1
  for ch in left right; do
    local f=("${lf[@]}")
    [ $ch = right ] && f=("${rf[@]}")
    "$R" -q -c 2 --iface 127.0.0.1 --rtcp-interval 1000 --duration $((total + 2)) --idle-exit 2 \
      --stats "$T/$name.$ch.json" --stats-interval 1000 "${f[@]}" "239.1.2.3:$P" 2>"$T/$name.$ch.err" &
    pids+=($!)
    _pids+=($!)
  done
  # Each receiver's stream to its channel (found by its process id). The
  # ALSA pulse plugin makes a new stream (at the default volume) when the
  # device is prepared again (its start, an underrun): a watcher keeps
  # setting them for the whole run, and says when it had to.
  pan "${pids[0]}" "${pids[1]}" "$T/$name.pan" &
  _pids+=($!)
  local panner=$!
  for _ in $(seq 1 50); do [ -s "$T/$name.pan" ] && break; sleep 0.1; done
  [ -s "$T/$name.pan" ] || fail "$name: the receivers' streams did not appear in PulseAudio"
  sleep 0.5
  timeout $((total + 10)) "$S" -q --no-adapt --iface 127.0.0.1 --rtcp-interval 1000 --loop \
    --duration $total "$T/in.wav" "239.1.2.3:$P" 2>"$T/$name.tx.err" || fail "$name: sender: $(cat "$T/$name.tx.err")"
  for p in "${pids[@]}"; do wait_exit "$p" 15 || fail "$name: a receiver failed: $(cat "$T/$name".*.err)"; done
  kill -INT $rec; wait_exit $rec 5 >/dev/null
  kill $panner 2>/dev/null
  # A stream made anew after the settling time was at both channels for
  # up to a watcher's period: those windows are not the receivers' offset.
  say "$name: streams panned: $(sort -u "$T/$name.pan" | wc -l) (two per receiver as it starts, one more per underrun)"
  "$BUILD/tools/chanoff" "$T/$name.wav" --skip-s $((1 + SETTLE)) --max-lag-ms 300 --dump "$T/$name.dump" \
    >"$T/$name.off" || fail "$name: chanoff found nothing to compare: $(cat "$T/$name.off")"
  python3 - "$T/$name" "$name" <<'PY' || fail "$name: the receivers' counts"
import json, sys
base, name = sys.argv[1], sys.argv[2]
for ch in ("left", "right"):
    d = None
    for l in open("%s.%s.json" % (base, ch)):
        d = json.loads(l)
    keys = ("late", "concealed", "underruns", "sync_source", "sync_error_ms", "clock_offset_ms",
            "sync_met", "sync_miss_ms")
    print("  %s %s: %s" % (name, ch, ", ".join("%s %s" % (k, d.get(k)) for k in keys if k in d)))
    if d["played"] < 100:
        sys.exit("%s %s: played %s" % (name, ch, d["played"]))
PY
  say "$name: $(cat "$T/$name.off")"
  # SYNC_PROBE_KEEP=DIR: keep the recordings' figures (for make bench, or
  # a look at a failure).
  [ -z "${SYNC_PROBE_KEEP:-}" ] || cp "$T/$name".* "$SYNC_PROBE_KEEP/" 2>/dev/null
}

# chk NAME: enough windows compared, p50 |offset| within 0.5 ms and p99
# within P99_LIMIT_MS.
P99_LIMIT_MS=${SYNC_PROBE_P99_MS:-1}
chk() {
  python3 - "$T/$1.off" "$P99_LIMIT_MS" "$SEC" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lim, sec = float(sys.argv[2]), int(sys.argv[3])
if d["used"] < sec * 0.6:
    sys.exit("only %d of %d windows compared" % (d["used"], d["windows"]))
if d["p50_abs_ms"] > 0.5:
    sys.exit("p50 |offset| %.3f ms > 0.5 ms" % d["p50_abs_ms"])
if d["p99_abs_ms"] > lim:
    sys.exit("p99 |offset| %.3f ms > %.1f ms" % (d["p99_abs_ms"], lim))
PY
}

fig() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f/%.3f" % (d["p50_abs_ms"], d["p99_abs_ms"]))' "$T/$1.off"; }
# over NAME: the windows beyond the gate (seconds into the recording: offset).
over() {
  awk -v lim="$P99_LIMIT_MS" '($2 > lim || $2 < -lim) && $3 >= 0.7 { s = s sprintf(" %.0f s: %.2f ms;", $1, $2) }
    END { if (s != "") printf "; windows beyond %s ms:%s", lim, s }' "$T/$1.dump"
}

# The right receiver's device buffer is deeper than the left's (BUF_R
# against BUF_L): two different sinks, as two rooms' would be. Both are
# deeper here than a receiver's default (80 ms through a sound server), and
# the presentation delay longer (DELAY, 400 ms against 150), so that a
# stall of the whole machine below BUF_L (CI saw one of some 100 ms: an
# underrun on the 80 ms side, late packets on the 120 ms one) is ridden
# out: after an underrun the pulse plugin makes its stream anew, whose
# delay reports read up to 1.8 ms off for some 10 s (a forced 150 ms stall,
# SYNC_PROBE_STALL=35:150: p99 1.6-1.8 ms), which is the sound server's
# doing, not the sync's. make bench measures the default delay and buffers.
L=(--sync --device-buffer "$BUF_L") R2=(--sync --device-buffer "$BUF_R")
[ "$DELAY" = default ] || { L+=(--sync-delay "$DELAY"); R2+=(--sync-delay "$DELAY"); }
run sync "${L[@]}" ${SYNC_PROBE_STALL:+--stall-at "$SYNC_PROBE_STALL"} -- "${R2[@]}"
chk sync || fail "--sync: $(chk sync 2>&1)$(over sync)"
[ -z "${SYNC_PROBE_ONLY_SYNC:-}" ] || { pass "$(fig sync) ms with --sync over ${SEC} s"; exit 0; }
run shifted "${L[@]}" -- "${R2[@]}" --wallclock-offset-ms 250
chk shifted || fail "--sync, right receiver's wall clock +250 ms: $(chk shifted 2>&1)$(over shifted)"
# Without --sync: each plays at its own arrival + adaptive target.
run nosync --device-buffer "$BUF_L" -- --device-buffer "$BUF_R"
pass "p50/p99 |offset| $(fig sync) ms with --sync, $(fig shifted) ms with one wall clock +250 ms, over ${SEC} s; without --sync $(fig nosync) ms"
