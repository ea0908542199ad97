#!/usr/bin/env bash
# wavcmp against signals whose answers are known: a copy of the speech sample
# delayed by a seeded number of samples with white noise of a seeded level
# mixed in (lag to the sample, SNR as sox measures the two parts, corr as
# that SNR implies), a copy with its head cut (negative lag), a copy with a
# 200 ms hole (exactly 10 damaged 20 ms windows), a zero-padded copy (its
# span of sound equals the reference's), copies played 100 ppm slow
# and 200 ppm fast (--rate-check), and the exit codes.
# tags: sanitize
# timeout: 120
. "$(dirname "$0")/../lib.sh"
need sox awk
W=$BUILD/tools/wavcmp
[ -x "$W" ] || fail "$W not built"

seed=${DL_SEED:-$(( $(date +%s) % 100000 ))}
say "seed $seed (set DL_SEED to repeat)"
# delay: 1000..20999 samples; noise level 0.01..0.04 of full scale.
delay=$(( 1000 + seed * 7919 % 20000 ))
vol=$(awk -v s="$seed" 'BEGIN { printf "%.4f", 0.01 + (s * 104729 % 1000) / 1000 * 0.03 }')
say "delay $delay samples, noise vol $vol"

sox "$TOP/tests/data/speech.flac" -b 16 "$T/ref.wav" trim 0 8
sox "$T/ref.wav" "$T/del.wav" pad "${delay}s" 0
n=$(soxi -s "$T/del.wav")
sox -R -n -r 48000 -c 1 -b 16 "$T/noise.wav" synth "${n}s" whitenoise vol "$vol"
sox -m -v 1 "$T/del.wav" -v 1 "$T/noise.wav" "$T/out.wav"

rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }'; }
# The overlap is all of ref; the noise over it is the noise file's (uniform).
want_snr=$(awk -v s="$(rms "$T/ref.wav")" -v n="$(rms "$T/noise.wav")" 'BEGIN { printf "%.3f", 20 * log(s / n) / log(10) }')
want_corr=$(awk -v d="$want_snr" 'BEGIN { printf "%.4f", 1 / sqrt(1 + 10 ^ (-d / 10)) }')
want_lag=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 48 }')

# key=value output into shell variables prefixed r_.
measure() {
  local out
  out=$("$W" "$@") || fail "wavcmp $* exited $?"
  echo "$out" | sed 's/^/    /'
  eval "$(echo "$out" | sed -n 's/^\([a-z_]*\)=\([-0-9.naif]*\)$/r_\1=\2/p')"
}
near() {   # near NAME GOT WANT TOL
  awk -v g="$2" -v w="$3" -v t="$4" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= t) }' ||
    fail "$1 = $2, expected $3 +- $4"
}
atleast() { awk -v g="$2" -v w="$3" 'BEGIN { exit !(g >= w) }' || fail "$1 = $2, expected >= $3"; }

say "delayed + noisy: want lag $want_lag ms, snr $want_snr dB, corr $want_corr"
measure "$T/ref.wav" "$T/out.wav"
near lag_ms "$r_lag_ms" "$want_lag" 0.021          # one sample
near snr_db "$r_snr_db" "$want_snr" 0.3
near corr "$r_corr" "$want_corr" 0.003
near gain "$r_gain" 1 0.01
near ref_s "$r_ref_s" 8 0.0001
near out_s "$r_out_s" "$(awk -v d="$delay" 'BEGIN { print 8 + d / 48000 }')" 0.0001
near overlap_s "$r_overlap_s" 8 0.0001

say "identical"
measure "$T/ref.wav" "$T/ref.wav"
near lag_ms "$r_lag_ms" 0 0
near corr "$r_corr" 1 0.00001
[ "$r_damaged" = 0 ] || fail "damaged = $r_damaged on identical files"
atleast windows "$r_windows" 300     # 400 windows of 20 ms, pauses excluded

say "head cut by 500 ms"
sox "$T/ref.wav" "$T/head.wav" trim 0.5
measure "$T/ref.wav" "$T/head.wav"
near lag_ms "$r_lag_ms" -500 0
near overlap_s "$r_overlap_s" 7.5 0.0001

say "1.5 s of zeros before, 2 s after (a receiver's output): lag, span"
sox "$T/ref.wav" "$T/padded.wav" pad 1.5 2
measure "$T/ref.wav" "$T/padded.wav"
near lag_ms "$r_lag_ms" 1500 0
near out_s "$r_out_s" 11.5 0.0001
near out_span_s "$r_out_span_s" "$r_ref_span_s" 0.00003
atleast ref_span_s "$r_ref_span_s" 7     # the speech fills the 8 s
near corr "$r_corr" 1 0.00001

say "a 200 ms hole at 2.0 s (every 20 ms window there has speech)"
sox "$T/ref.wav" "$T/a.wav" trim 0 2
sox "$T/ref.wav" "$T/b.wav" trim 2.2
sox -n -r 48000 -c 1 -b 16 "$T/z.wav" trim 0 0.2
sox "$T/a.wav" "$T/z.wav" "$T/b.wav" "$T/hole.wav"
measure "$T/ref.wav" "$T/hole.wav"
[ "$r_damaged" = 10 ] || fail "damaged = $r_damaged, expected 10"
near lag_ms "$r_lag_ms" 0 0

say "100 ppm slow (stretched) and 200 ppm fast"
sox "$T/ref.wav" "$T/slow.wav" speed 0.9999 rate -v 48000
measure "$T/ref.wav" "$T/slow.wav" --rate-check
near drift_ppm "$r_drift_ppm" 100 10
sox "$T/ref.wav" "$T/fast.wav" speed 1.0002 rate -v 48000
measure "$T/ref.wav" "$T/fast.wav" --rate-check
near drift_ppm "$r_drift_ppm" -200 15
measure "$T/ref.wav" "$T/out.wav" --rate-check
near drift_ppm "$r_drift_ppm" 0 5

say "JSON"
j=$("$W" "$T/ref.wav" "$T/out.wav" --json) || fail "--json exited $?"
echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {"lag_ms","corr","snr_db","ref_s","out_s","damaged_pct","windows"} <= d.keys(), d' ||
  fail "--json is not the expected object: $j"

say "exit codes"
"$W" "$T/ref.wav" "$T/out.wav" --min-corr 0.9 >/dev/null || fail "--min-corr 0.9 met but exit $?"
"$W" "$T/ref.wav" "$T/noise.wav" --min-corr 0.9 >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] || fail "--min-corr not met: exit $rc, expected 1"
sox -n -r 48000 -c 1 -b 16 -D "$T/silent.wav" trim 0 3
"$W" "$T/ref.wav" "$T/silent.wav" --min-corr 0.5 >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] || fail "silent OUT with --min-corr: exit $rc, expected 1 (a result, not an error)"
grep -q '^corr=nan$' "$T/out" || fail "silent OUT: corr should be nan: $(cat "$T/out")"
sox "$T/ref.wav" -r 44100 "$T/r44.wav"
"$W" "$T/ref.wav" "$T/r44.wav" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] || fail "44.1 kHz file: exit $rc, expected 2"
grep -q "44100" "$T/err" || fail "44.1 kHz file: message does not name the rate: $(cat "$T/err")"
"$W" "$T/ref.wav" "$T/missing.wav" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "missing file: exit $rc, expected 2"
"$W" "$T/ref.wav" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "one argument: exit $rc, expected 2"
"$W" "$T/ref.wav" "$T/out.wav" --window-ms abc >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "--window-ms abc: exit $rc, expected 2"
pass
