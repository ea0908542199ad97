#!/usr/bin/env bash
# wavcmp --track against signals whose answers are known, all made from 8 s
# of the speech sample with sox: a copy stretched 0.3 % (a resampler's
# reach; one global lag fails on it, the tracked comparison scores it as
# perfect and measures the stretch), a copy whose lag wanders (pieces at
# seeded speeds, as a hunting resampler makes it), a copy with a seeded
# hole of silence inserted (one step up by exactly its length, no damage),
# a copy with a seeded chunk cut out (one step down; only the missing
# audio is damaged), a copy with a 200 ms noise burst at a seeded place
# (damage, not a step: the same windows damaged as without --track), a
# slight stretch plus a hole (both at once), the Opus decode of the input
# stretched with a chunk cut out against the clean decode (the
# practicality matrix's case), the --json keys, --min-corr on the tracked
# corr, a silent OUT, and bad flags.
# tags: sanitize
# timeout: 180
. "$(dirname "$0")/../lib.sh"
need sox awk python3
W=$BUILD/tools/wavcmp
[ -x "$W" ] || fail "$W not built"

seed=${DL_SEED:-$(( $(date +%s) % 100000 ))}
say "seed $seed (set DL_SEED to repeat)"
hole=$(( 960 + seed * 7919 % 3360 ))          # 20..90 ms, in samples
hpos=$(( 144000 + seed * 104729 % 96000 ))    # 3..5 s
cut=$(( 1920 + seed * 6007 % 3840 ))          # 40..120 ms
cpos=$(( 120000 + seed * 3001 % 48000 ))      # 2.5..3.5 s
# 200 ms bursts starting on the 20 ms grid where all ten windows hold
# speech (found once with this very tool; the count is asserted below).
bursts=(60 65 70 75 80 85 90 95 100 105 130 135 140 145 150 155 160 165 170 175 180 185
        190 195 200 220 225 230 265 270 275 280 285 320 325 330 335 350 355 360 365 370)
bpos=$(( ${bursts[seed % ${#bursts[@]}]} * 960 ))
# A wandering lag: speeds 200..700 ppm slow and fast.
s1=$(awk -v s="$seed" 'BEGIN { printf "%.6f", 1 - (200 + s % 500) / 1e6 }')
s3=$(awk -v s="$seed" 'BEGIN { printf "%.6f", 1 + (200 + s * 7 % 500) / 1e6 }')
say "hole $hole samples at $hpos, cut $cut at $cpos, burst at $bpos, speeds $s1 $s3"

sox "$TOP/tests/data/speech.flac" -b 16 "$T/ref.wav" trim 0 8

# key=value output into shell variables prefixed r_ (u_ for a run without
# --track), each run's wall time checked.
measure() {
  local out t0 t1
  t0=$(date +%s%N)
  out=$("$W" "$@") || fail "wavcmp $* exited $?"
  t1=$(date +%s%N)
  echo "$out" | tr '\n' ' ' | sed 's/^/    /'
  echo " ($(( (t1 - t0) / 1000000 )) ms)"
  # Generous: 8 s take about 0.3 s here, several times that under ASan
  # on a loaded machine.
  [ $(( (t1 - t0) / 1000000 )) -lt 20000 ] || fail "wavcmp $* took $(( (t1 - t0) / 1000000 )) ms"
  eval "$(echo "$out" | sed -n 's/^\([a-z_]*\)=\([-0-9.naif]*\)$/r_\1=\2/p')"
}
untracked() {
  local out
  out=$("$W" "$@") || fail "wavcmp $* exited $?"
  eval "$(echo "$out" | sed -n 's/^\([a-z_]*\)=\([-0-9.naif]*\)$/u_\1=\2/p')"
  echo "    without --track: corr $u_corr damaged $u_damaged ($u_damaged_pct %)"
}
near() {   # near NAME GOT WANT TOL
  awk -v g="$2" -v w="$3" -v t="$4" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= t) }' ||
    fail "$1 = $2, expected $3 +- $4"
}
atleast() { awk -v g="$2" -v w="$3" 'BEGIN { exit !(g >= w) }' || fail "$1 = $2, expected >= $3"; }
atmost() { awk -v g="$2" -v w="$3" 'BEGIN { exit !(g <= w) }' || fail "$1 = $2, expected <= $3"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.4f", s / 48 }'; }

say "identical"
measure "$T/ref.wav" "$T/ref.wav" --track
near corr "$r_corr" 1 0
near snr_db "$r_snr_db" 999 0
[ "$r_damaged" = 0 ] && [ "$r_lag_steps" = 0 ] && [ "$r_track_unaligned" = 0 ] ||
  fail "identical: damaged $r_damaged, steps $r_lag_steps, unaligned $r_track_unaligned"
atleast track_blocks "$r_track_blocks" 70
near track_drift_ppm "$r_track_drift_ppm" 0 0
near lag_max_ms "$r_lag_max_ms" 0 0

say "stretched 0.3 % (sox speed 0.997): lag grows 3009 ppm, 24 ms over 8 s"
sox "$T/ref.wav" "$T/st.wav" speed 0.997 rate -v 48000
truth=$(awk 'BEGIN { printf "%.1f", (1 / 0.997 - 1) * 1e6 }')
untracked "$T/ref.wav" "$T/st.wav"
atleast "untracked damaged_pct" "$u_damaged_pct" 50      # one lag cannot do it
measure "$T/ref.wav" "$T/st.wav" --track
atleast corr "$r_corr" 0.99
atmost damaged_pct "$r_damaged_pct" 2
[ "$r_lag_steps" = 0 ] || fail "stretch: lag_steps $r_lag_steps, expected 0"
near track_drift_ppm "$r_track_drift_ppm" "$truth" "$(awk -v t="$truth" 'BEGIN { print t / 10 }')"
near lag_max_ms "$r_lag_max_ms" 24 1
# And 0.2 % fast: the lag shrinks, -1996 ppm.
sox "$T/ref.wav" "$T/fast.wav" speed 1.002 rate -v 48000
measure "$T/ref.wav" "$T/fast.wav" --track
atleast corr "$r_corr" 0.99
atmost damaged_pct "$r_damaged_pct" 2
[ "$r_lag_steps" = 0 ] || fail "fast: lag_steps $r_lag_steps, expected 0"
near track_drift_ppm "$r_track_drift_ppm" "$(awk 'BEGIN { print (1 / 1.002 - 1) * 1e6 }')" 200

say "a wandering lag (a resampler hunting): 2 s pieces at 1, $s1, 1, $s3"
# Each piece stretched on its own, so the lag bends at every join; sox's
# filter leaves a glitch of a window or two at each join.
for i in 0 1 2 3; do sox "$T/ref.wav" "$T/p$i.wav" trim $(( i * 2 )) 2; done
sox "$T/p1.wav" "$T/p1s.wav" speed "$s1" rate -v 48000
sox "$T/p3.wav" "$T/p3s.wav" speed "$s3" rate -v 48000
sox "$T/p0.wav" "$T/p1s.wav" "$T/p2.wav" "$T/p3s.wav" "$T/wander.wav"
untracked "$T/ref.wav" "$T/wander.wav"
measure "$T/ref.wav" "$T/wander.wav" --track
atleast corr "$r_corr" 0.99
atmost damaged_pct "$r_damaged_pct" 3
[ "$r_lag_steps" = 0 ] || fail "wandering lag: lag_steps $r_lag_steps, expected 0"

say "a hole of $(ms $hole) ms of silence inserted at $hpos: one step up"
sox "$T/ref.wav" "$T/a.wav" trim 0 "${hpos}s"
sox "$T/ref.wav" "$T/b.wav" trim "${hpos}s"
sox -n -r 48000 -c 1 -b 16 "$T/z.wav" trim 0 "${hole}s"
sox "$T/a.wav" "$T/z.wav" "$T/b.wav" "$T/hole.wav"
untracked "$T/ref.wav" "$T/hole.wav"
measure "$T/ref.wav" "$T/hole.wav" --track
[ "$r_lag_steps" = 1 ] || fail "hole: lag_steps $r_lag_steps, expected 1"
near max_step_ms "$r_max_step_ms" "$(ms $hole)" 0.1
near lag_min_ms "$r_lag_min_ms" 0 0.05
near lag_max_ms "$r_lag_max_ms" "$(ms $hole)" 0.1
atmost damaged "$r_damaged" 1      # the switch is put where it errs least
atleast corr "$r_corr" 0.999
near track_drift_ppm "$r_track_drift_ppm" 0 5

say "$(ms $cut) ms cut out at $cpos: one step down, only that audio damaged"
sox "$T/ref.wav" "$T/a.wav" trim 0 "${cpos}s"
sox "$T/ref.wav" "$T/b.wav" trim "$(( cpos + cut ))s"
sox "$T/a.wav" "$T/b.wav" "$T/cut.wav"
untracked "$T/ref.wav" "$T/cut.wav"
measure "$T/ref.wav" "$T/cut.wav" --track
[ "$r_lag_steps" = 1 ] || fail "cut: lag_steps $r_lag_steps, expected 1"
near max_step_ms "$r_max_step_ms" "-$(ms $cut)" 0.1
# The missing audio covers cut/20 windows, one more where it straddles.
atmost damaged "$r_damaged" "$(awk -v c="$cut" 'BEGIN { print int((c / 960) + 0.999) + 1 }')"
atmost damaged "$r_damaged" "$(( u_damaged - 1 ))"

say "a 200 ms noise burst replacing the audio at $bpos: damage, not a step"
sox "$T/ref.wav" "$T/a.wav" trim 0 "${bpos}s"
sox "$T/ref.wav" "$T/b.wav" trim "$(( bpos + 9600 ))s"
sox -R -n -r 48000 -c 1 -b 16 "$T/nz.wav" synth 0.2 whitenoise vol 0.2
sox "$T/a.wav" "$T/nz.wav" "$T/b.wav" "$T/burst.wav"
untracked "$T/ref.wav" "$T/burst.wav"
[ "$u_damaged" = 10 ] || fail "burst without --track: damaged $u_damaged, expected 10"
measure "$T/ref.wav" "$T/burst.wav" --track
[ "$r_damaged" = 10 ] || fail "burst: tracked damaged $r_damaged, expected 10 (as without --track)"
[ "$r_lag_steps" = 0 ] || fail "burst: lag_steps $r_lag_steps, expected 0"
near lag_min_ms "$r_lag_min_ms" 0 0.01
near lag_max_ms "$r_lag_max_ms" 0 0.01
near corr "$r_corr" "$u_corr" 0.0005

say "stretched 500 ppm and a hole: both"
sox "$T/hole.wav" "$T/sthole.wav" speed 0.9995 rate -v 48000
measure "$T/ref.wav" "$T/sthole.wav" --track
[ "$r_lag_steps" = 1 ] || fail "stretch + hole: lag_steps $r_lag_steps, expected 1"
near max_step_ms "$r_max_step_ms" "$(awk -v h="$hole" 'BEGIN { print h / 48 / 0.9995 }')" 0.3
near track_drift_ppm "$r_track_drift_ppm" 500.25 50
atmost damaged "$r_damaged" 2
atleast corr "$r_corr" 0.99

if [ -x "$BUILD/tools/encdec" ]; then
  say "Opus decode stretched 500 ppm, 20 ms cut at 5 s, against the clean decode"
  "$BUILD/tools/encdec" "$T/ref.wav" "$T/dec.wav" || fail "encdec"
  sox "$T/dec.wav" "$T/decst.wav" speed 0.9995 rate -v 48000
  sox "$T/decst.wav" "$T/a.wav" trim 0 5
  sox "$T/decst.wav" "$T/b.wav" trim 5.02
  sox "$T/a.wav" "$T/b.wav" "$T/rx.wav"
  untracked "$T/dec.wav" "$T/rx.wav"
  measure "$T/dec.wav" "$T/rx.wav" --track
  [ "$r_lag_steps" = 1 ] || fail "decode: lag_steps $r_lag_steps, expected 1"
  near max_step_ms "$r_max_step_ms" -20 0.1
  atmost damaged "$r_damaged" 2
  near track_drift_ppm "$r_track_drift_ppm" 500.25 50
  say "the same against the input (Opus itself differs): tracked as good as the decode at one lag"
  untracked "$T/ref.wav" "$T/dec.wav"
  measure "$T/ref.wav" "$T/rx.wav" --track
  atleast corr "$r_corr" "$(awk -v c="$u_corr" 'BEGIN { print c - 0.01 }')"
  [ "$r_lag_steps" = 1 ] || fail "decode vs input: lag_steps $r_lag_steps, expected 1"
fi

say "JSON"
j=$("$W" "$T/ref.wav" "$T/sthole.wav" --track --json) || fail "--json exited $?"
echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin)
want = {"lag_ms","corr","snr_db","gain","windows","damaged","damaged_pct","track_blocks","track_unaligned",
        "lag_min_ms","lag_max_ms","lag_steps","max_step_ms","track_drift_ppm"}
assert want <= d.keys(), want - d.keys()
assert d["lag_steps"] == 1, d' || fail "--track --json is not the expected object: $j"
j=$("$W" "$T/ref.wav" "$T/st.wav" --json) || fail "--json exited $?"
echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert "lag_steps" not in d, d' ||
  fail "track keys without --track: $j"

say "--min-corr applies to the tracked corr"
"$W" "$T/ref.wav" "$T/st.wav" --track --min-corr 0.99 >/dev/null || fail "--track --min-corr 0.99: exit $?"
"$W" "$T/ref.wav" "$T/st.wav" --min-corr 0.99 >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "--min-corr 0.99 without --track on the stretched copy: exit $rc, expected 1"

say "silent OUT: a result, every block unaligned"
sox -n -r 48000 -c 1 -b 16 -D "$T/silent.wav" trim 0 3
"$W" "$T/ref.wav" "$T/silent.wav" --track --min-corr 0.5 >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] || fail "silent OUT with --track --min-corr: exit $rc, expected 1"
grep -q '^corr=nan$' "$T/out" || fail "silent OUT: corr should be nan: $(cat "$T/out")"
grep -q '^lag_steps=0$' "$T/out" || fail "silent OUT: lag_steps should be 0: $(cat "$T/out")"
b=$(sed -n 's/^track_blocks=//p' "$T/out")
grep -q "^track_unaligned=$b\$" "$T/out" || fail "silent OUT: all $b blocks should be unaligned: $(cat "$T/out")"

say "bad flags"
for f in "--track-block-ms abc" "--track-block-ms 0" "--track-search-ms -1" "--track-min-ncc 2" "--track-step-ms x"; do
  # shellcheck disable=SC2086
  "$W" "$T/ref.wav" "$T/st.wav" --track $f >/dev/null 2>"$T/err"; rc=$?
  [ $rc = 2 ] || fail "$f: exit $rc, expected 2"
  grep -q "^wavcmp: --track-" "$T/err" || fail "$f: message: $(cat "$T/err")"
done
"$W" --help | grep -q -- "--track-search-ms" || fail "--help does not document --track-search-ms"
pass "seed $seed"
