#!/usr/bin/env bash
# wavcmp --warp against signals whose answers are known, made from 10 s of
# the speech sample (sox, tools/stretch, tools/tsm, tools/encdec, and a
# python3 generator for the zeroed windows), every place and seed from one
# printed seed:
#   - identical: 0 damaged, no step, SNR 999; a 50 Hz hum (outside the
#     speech band) is not scored;
#   - a steady 0.5 % stretch (sox speed) and a slewing one through the
#     receiver's own resampler (tools/stretch, ratio 1.005 -> 1.0 over
#     10 s): under 0.5 % and above 55 dB (the sinc: a cubic gives 41-44),
#     where one lag scores most windows damaged;
#   - 5 % of the speech's 20 ms windows zeroed: 5 +- 0.5 %, as one lag
#     scores them, and the same under a slewing stretch;
#   - a timeline that jumps 100 ms (a hole of silence, a repeat, a chunk
#     cut out), alone and under a stretch: only the windows whose audio is
#     missing are damaged, and the warp's line steps once by 100 ms;
#   - time-scale modification (tools/tsm) at 1.1 and 0.9 for 1 s: splices
#     of whole pitch periods, followed (warp_steps), scoring near 0 where
#     one lag and --track score the whole second;
#   - concealment stays damage: Opus PLC in 5 % of the frames (encdec
#     --conceal) scores with --warp as with one lag, and so does the same
#     decode stretched or time-scaled; a 200 ms noise burst is 10 windows;
#   - the keys, and that --warp leaves --track's as they are.
# tags: sanitize
# timeout: 300
. "$(dirname "$0")/../lib.sh"
need sox awk python3
built tools/wavcmp tools/stretch tools/tsm tools/encdec
W=$BUILD/tools/wavcmp

seed=${DL_SEED:-$(( $(date +%s) % 100000 ))}
say "seed $seed (set DL_SEED to repeat)"
tsm_from=$(awk -v s="$seed" 'BEGIN { printf "%.2f", 1 + (s * 7919 % 600) / 100 }')    # 1..7 s
plc_seed=$(( 1 + seed % 1000 ))

sox "$TOP/tests/data/speech.flac" -b 16 "$T/ref.wav" trim 0 10

# Places in speech, from REF itself: a seeded 20 ms window between 2 and
# 8 s whose 100 ms from it are all loud (at least the file's mean energy
# less 10 dB), for the jumps and the burst; and the zeroed windows.
python3 - "$T/ref.wav" "$seed" >"$T/places" <<'EOF' || fail "places"
import random, struct, sys, wave
w = wave.open(sys.argv[1]); n = w.getnframes()
x = struct.unpack("<%dh" % n, w.readframes(n))
win = 960
e = [sum(v * v for v in x[i:i + win]) / win for i in range(0, n - win + 1, win)]
mean = sum(v * v for v in x) / n
loud = [k for k in range(len(e)) if e[k] >= mean / 10]
audible = [k for k in range(len(e)) if e[k] >= mean / 1000 and e[k] >= 32768 ** 2 * 1e-6]
rng = random.Random(int(sys.argv[2]))
jumps = [k for k in loud if 100 <= k < 400 and all(j in loud for j in range(k, k + 5))]
print("jump", rng.choice(jumps) * win)
burst = [k for k in loud if 100 <= k < 400 and all(j in loud for j in range(k, k + 10))]
print("burst", rng.choice(burst) * win)
nz = round(len(audible) * 0.05)
print("zeroed", " ".join(str(k * win) for k in sorted(rng.sample(loud, nz))))
print("audible", len(audible))
EOF
jump=$(sed -n 's/^jump //p' "$T/places")
bpos=$(sed -n 's/^burst //p' "$T/places")
zeroed=$(sed -n 's/^zeroed //p' "$T/places")
nz=$(echo "$zeroed" | wc -w)
say "jump at $jump, burst at $bpos, $nz windows zeroed of $(sed -n 's/^audible //p' "$T/places") audible, TSM from $tsm_from s, PLC seed $plc_seed"

# key=value output into shell variables: w_ with --warp (every key, the
# tracked ones too), u_ with one lag.
warped() {
  local out
  out=$("$W" "$@" --warp) || fail "wavcmp $* --warp exited $?"
  eval "$(echo "$out" | sed -n 's/^\([a-z_]*\)=\([-0-9.naif]*\)$/w_\1=\2/p')"
  echo "    --warp: damaged $w_warp_damaged of $w_warp_windows ($w_warp_damaged_pct %), snr $w_warp_snr_db dB," \
       "steps $w_warp_steps (max $w_warp_max_step_ms ms), anchors $w_warp_anchors of $w_warp_frames;" \
       "--track: $w_damaged ($w_damaged_pct %)"
}
onelag() {
  local out
  out=$("$W" "$@") || fail "wavcmp $* exited $?"
  eval "$(echo "$out" | sed -n 's/^\([a-z_]*\)=\([-0-9.naif]*\)$/u_\1=\2/p')"
  echo "    one lag: damaged $u_damaged ($u_damaged_pct %), lag $u_lag_ms ms"
}
near() {   # near NAME GOT WANT TOL
  awk -v g="$2" -v w="$3" -v t="$4" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= t) }' ||
    fail "$1 = $2, expected $3 +- $4"
}
atleast() { awk -v g="$2" -v w="$3" 'BEGIN { exit !(g >= w) }' || fail "$1 = $2, expected >= $3"; }
atmost() { awk -v g="$2" -v w="$3" 'BEGIN { exit !(g <= w) }' || fail "$1 = $2, expected <= $3"; }

say "identical"
warped "$T/ref.wav" "$T/ref.wav"
[ "$w_warp_damaged" = 0 ] && [ "$w_warp_steps" = 0 ] || fail "identical: damaged $w_warp_damaged, steps $w_warp_steps"
near warp_snr_db "$w_warp_snr_db" 999 0
[ "$w_warp_anchors" = "$w_warp_frames" ] || fail "identical: $w_warp_anchors anchors of $w_warp_frames frames"

say "a steady 0.5 % stretch (sox speed 0.995)"
sox "$T/ref.wav" "$T/st.wav" speed 0.995 rate -v 48000
onelag "$T/ref.wav" "$T/st.wav"
atleast "one lag damaged_pct" "$u_damaged_pct" 50
warped "$T/ref.wav" "$T/st.wav"
atmost warp_damaged_pct "$w_warp_damaged_pct" 0.5
[ "$w_warp_steps" = 0 ] || fail "steady stretch: warp_steps $w_warp_steps, expected 0"
atleast warp_snr_db "$w_warp_snr_db" 55

say "slewing through the receiver's resampler: ratio 1.005 -> 1.0 over 10 s, and 0.995 -> 1.0"
"$BUILD/tools/stretch" --ratio 1.005:1 --seconds 10 "$T/ref.wav" "$T/slew.wav" >/dev/null || fail "stretch"
onelag "$T/ref.wav" "$T/slew.wav"
atleast "one lag damaged_pct" "$u_damaged_pct" 50
warped "$T/ref.wav" "$T/slew.wav"
atmost warp_damaged_pct "$w_warp_damaged_pct" 0.5
[ "$w_warp_steps" = 0 ] || fail "slewing stretch: warp_steps $w_warp_steps, expected 0"
atleast warp_snr_db "$w_warp_snr_db" 55
"$BUILD/tools/stretch" --ratio 0.995:1 --seconds 10 "$T/ref.wav" "$T/slow.wav" >/dev/null || fail "stretch"
warped "$T/ref.wav" "$T/slow.wav"
atmost warp_damaged_pct "$w_warp_damaged_pct" 0.5

say "out of the speech band: a 50 Hz hum 17 dB under the speech, not scored"
sox -n -r 48000 -c 1 -b 16 "$T/hum.wav" synth 10 sine 50 vol 0.02
sox -m -v 1 "$T/ref.wav" -v 1 "$T/hum.wav" "$T/humref.wav"
onelag "$T/ref.wav" "$T/humref.wav"
atleast "one lag damaged_pct" "$u_damaged_pct" 20
warped "$T/ref.wav" "$T/humref.wav"
atmost warp_damaged_pct "$w_warp_damaged_pct" 0.5

say "$nz windows of 20 ms zeroed (5 % of the audible ones)"
python3 - "$T/ref.wav" "$T/zero.wav" $zeroed <<'EOF' || fail "zeroing"
import sys, wave
w = wave.open(sys.argv[1]); p = w.getparams(); d = bytearray(w.readframes(p.nframes))
for a in map(int, sys.argv[3:]):
    d[2 * a:2 * (a + 960)] = bytes(2 * 960)
o = wave.open(sys.argv[2], "wb"); o.setparams(p); o.writeframes(bytes(d)); o.close()
EOF
onelag "$T/ref.wav" "$T/zero.wav"
warped "$T/ref.wav" "$T/zero.wav"
near warp_damaged_pct "$w_warp_damaged_pct" 5 0.5
near warp_damaged "$w_warp_damaged" "$nz" 1
near "warp_damaged against one lag's" "$w_warp_damaged" "$u_damaged" 1
[ "$w_warp_steps" = 0 ] || fail "zeroed: warp_steps $w_warp_steps, expected 0 (a zeroed window is no timeline change)"
# Stretched after zeroing, slow (0.995 -> 1), so that OUT lags REF and the
# windows' grid stays REF's own (lag_ms >= 0): the zeroed windows are
# whole windows of it.
"$BUILD/tools/stretch" --ratio 0.995:1 --seconds 10 "$T/zero.wav" "$T/zslow.wav" >/dev/null || fail "stretch"
onelag "$T/ref.wav" "$T/zslow.wav"
atleast "one lag damaged_pct" "$u_damaged_pct" 30
warped "$T/ref.wav" "$T/zslow.wav"
atleast lag_ms "$w_lag_ms" 0
near "warp_damaged_pct, zeroed and slewing" "$w_warp_damaged_pct" 5 0.5
[ "$w_warp_steps" = 0 ] || fail "zeroed and slewing: warp_steps $w_warp_steps, expected 0"

# A jump: silence inserted (OUT jumps back: lag +100 ms), the audio before
# it repeated (the same step, nothing missing), or 100 ms cut (lag -100
# ms: the cut audio is missing, the only damage). At the edge of a jump a
# frame or two may match the speech beside it a pitch period away, which
# the warp may follow as a small step of its own (harmless where nothing
# is missing; at a cut it is the edge of the missing audio compared with
# the period beside it, as at a splice, so a cut may cost a window less).
onestep() {   # onestep WHAT MS: one step of about MS, or that and a period
  [ "$w_warp_steps" -ge 1 ] && [ "$w_warp_steps" -le 2 ] || fail "$1: warp_steps $w_warp_steps, expected 1 or 2"
  [ "$w_warp_steps" = 1 ] && { near "$1: warp_max_step_ms" "$w_warp_max_step_ms" "$2" 0.2; return; }
  near "$1: warp_max_step_ms" "$w_warp_max_step_ms" "$2" 25
}
cutstep() {   # cutstep WHAT: one step of -100 ms, or it split at the edges
  [ "$w_warp_steps" -ge 1 ] && [ "$w_warp_steps" -le 3 ] || fail "$1: warp_steps $w_warp_steps, expected 1..3"
  [ "$w_warp_steps" = 1 ] && { near "$1: warp_max_step_ms" "$w_warp_max_step_ms" -100 0.2; return; }
  near "$1: warp_max_step_ms" "$w_warp_max_step_ms" -70 30.2
}
jumps() {   # jumps SRC SUFFIX: the three files from SRC
  sox "$1" "$T/a.wav" trim 0 "${jump}s"
  sox "$1" "$T/b.wav" trim "${jump}s"
  sox -n -r 48000 -c 1 -b 16 "$T/z.wav" trim 0 4800s
  sox "$T/a.wav" "$T/z.wav" "$T/b.wav" "$T/hole$2.wav"
  sox "$1" "$T/r.wav" trim "$(( jump - 4800 ))s"
  sox "$T/a.wav" "$T/r.wav" "$T/rep$2.wav"
  sox "$1" "$T/c.wav" trim "$(( jump + 4800 ))s"
  sox "$T/a.wav" "$T/c.wav" "$T/cut$2.wav"
}
jumps "$T/ref.wav" ""
say "100 ms of silence inserted at $jump"
onelag "$T/ref.wav" "$T/hole.wav"
warped "$T/ref.wav" "$T/hole.wav"
atmost warp_damaged "$w_warp_damaged" 1
onestep hole 100
say "100 ms repeated at $jump"
warped "$T/ref.wav" "$T/rep.wav"
atmost warp_damaged "$w_warp_damaged" 1
onestep repeat 100
say "100 ms cut at $jump: its 5 windows missing"
onelag "$T/ref.wav" "$T/cut.wav"
atleast "one lag damaged" "$u_damaged" 100
warped "$T/ref.wav" "$T/cut.wav"
atleast warp_damaged "$w_warp_damaged" 4
atmost warp_damaged "$w_warp_damaged" 6
cutstep cut
say "the same three under a slewing stretch (1.005 -> 1.0)"
jumps "$T/slew.wav" "s"
warped "$T/ref.wav" "$T/holes.wav"
atmost warp_damaged "$w_warp_damaged" 1
onestep "stretched hole" 100
warped "$T/ref.wav" "$T/reps.wav"
atmost warp_damaged "$w_warp_damaged" 1
onestep "stretched repeat" 100
warped "$T/ref.wav" "$T/cuts.wav"
atleast warp_damaged "$w_warp_damaged" 4
atmost warp_damaged "$w_warp_damaged" 7
cutstep "stretched cut"

say "time-scale modification, 1 s from $tsm_from s: 10 % faster, then 10 % slower"
for rate in 1.1 0.9; do
  "$BUILD/tools/tsm" --rate $rate --from "$tsm_from" --seconds 1 "$T/ref.wav" "$T/tsm.wav" >"$T/tsm.txt" ||
    fail "tsm --rate $rate"
  sed 's/^/    /' "$T/tsm.txt"
  change=$(sed -n 's/.*change [-+]\([0-9]*\) frames.*/\1/p' "$T/tsm.txt")
  onelag "$T/ref.wav" "$T/tsm.wav"
  warped "$T/ref.wav" "$T/tsm.wav"
  # The second holds about 50 windows: one lag or --track loses most of
  # them; the warp follows the splices one by one and loses at most the
  # cross-fades of periods that differ and what TSM cut where it took the
  # audio for a pause (0-5 windows shortening, 0 lengthening, in a sweep
  # of 14 starts).
  atleast "one lag damaged" "$u_damaged" 25
  atleast "--track damaged" "$w_damaged" 15
  atmost "warp_damaged, rate $rate" "$w_warp_damaged" 7
  atleast "warp_steps, rate $rate" "$w_warp_steps" 5
  atmost "warp_max_step_ms, rate $rate (of a change of $change frames)" "${w_warp_max_step_ms#-}" \
    "$(awk -v c="$change" 'BEGIN { print c / 48 * 0.6 }')"
done

say "concealment stays damage: Opus PLC in 5 % of the frames (seed $plc_seed) against the clean decode"
"$BUILD/tools/encdec" "$T/ref.wav" "$T/dec.wav" || fail "encdec"
"$BUILD/tools/encdec" --conceal 5 --seed "$plc_seed" "$T/ref.wav" "$T/plc.wav" || fail "encdec --conceal"
onelag "$T/dec.wav" "$T/plc.wav"
atleast "one lag damaged" "$u_damaged" 10
warped "$T/dec.wav" "$T/plc.wav"
# The same lag everywhere; the count differs from one lag's only by the
# speech band (a concealed window whose error lies mostly above 8 kHz).
[ "$w_warp_steps" = 0 ] || fail "PLC: warp_steps $w_warp_steps, expected 0"
near "warp_damaged (PLC)" "$w_warp_damaged" "$u_damaged" "$(( 2 + u_damaged / 20 ))"
d=$w_warp_damaged
"$BUILD/tools/stretch" --ratio 0.995:1 --seconds 10 "$T/plc.wav" "$T/plcs.wav" >/dev/null || fail "stretch"
warped "$T/dec.wav" "$T/plcs.wav"
near "warp_damaged (PLC, slewing)" "$w_warp_damaged" "$d" 3
"$BUILD/tools/tsm" --rate 0.9 --from "$tsm_from" --seconds 1 "$T/plc.wav" "$T/plct.wav" >/dev/null || fail "tsm"
warped "$T/dec.wav" "$T/plct.wav"
atleast "warp_damaged (PLC, time-scaled)" "$w_warp_damaged" $(( d - 3 ))
say "a 200 ms noise burst replacing the audio at $bpos: 10 windows"
sox "$T/ref.wav" "$T/a.wav" trim 0 "${bpos}s"
sox "$T/ref.wav" "$T/b.wav" trim "$(( bpos + 9600 ))s"
sox -R -n -r 48000 -c 1 -b 16 "$T/nz.wav" synth 0.2 whitenoise vol 0.2
sox "$T/a.wav" "$T/nz.wav" "$T/b.wav" "$T/burst.wav"
warped "$T/ref.wav" "$T/burst.wav"
[ "$w_warp_damaged" = 10 ] || fail "burst: warp_damaged $w_warp_damaged, expected 10"
[ "$w_warp_steps" = 0 ] || fail "burst: warp_steps $w_warp_steps, expected 0"

say "keys: --warp adds its own, --track's are the same with it and without"
j=$("$W" "$T/ref.wav" "$T/hole.wav" --warp --json) || fail "--warp --json exited $?"
echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin)
want = {"damaged_pct","track_blocks","lag_steps","track_drift_ppm","warp_snr_db","warp_windows","warp_damaged",
        "warp_damaged_pct","warp_steps","warp_max_step_ms","warp_frames","warp_anchors"}
assert want <= d.keys(), want - d.keys()' || fail "--warp --json is not the expected object: $j"
"$W" "$T/ref.wav" "$T/tsm.wav" --track >"$T/t1" || fail "--track"
"$W" "$T/ref.wav" "$T/tsm.wav" --warp | grep -v '^warp_' >"$T/t2" || fail "--warp"
cmp -s "$T/t1" "$T/t2" || fail "--track's keys differ with --warp: $(diff "$T/t1" "$T/t2" | tr '\n' ' ')"
"$W" "$T/ref.wav" "$T/st.wav" --track --json | grep -q warp_ && fail "warp keys without --warp"
"$W" --help | grep -q -- "--warp" || fail "--help does not document --warp"
pass "seed $seed"
