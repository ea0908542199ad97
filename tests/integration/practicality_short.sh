#!/usr/bin/env bash
# The short practicality matrix (10 s of speech under clean, loss5,
# bursty5, jitter40 and blackout3, one after another) and the assertions of
# the issue: clean has MOS >= 4.2, zero loss and zero late; 5 % random loss
# has FEC-recovered frames and a MOS below clean's; after the 3 s blackout
# the latency is back at target within 1 s and the audio after it is not
# shifted (no backlog played); every profile's output stream lasts as long
# as the input's within 100 ms. scripts/practicality does the work.
# tags: solo
# timeout: 240
. "$(dirname "$0")/../lib.sh"
need sox soxi python3
built sender receiver impair tools/wavcmp tools/encdec tools/emodel
python3 "$TOP/scripts/practicality" --short --build "$BUILD" --out "$T/report" --seed "${DL_SEED:-1}"
rc=$?
[ $rc -eq 77 ] && skip "see above"
[ -f "$T/report/PRACTICALITY.md" ] && sed -n '/^| profile/,/^$/p' "$T/report/PRACTICALITY.md"
[ $rc -eq 0 ] || fail "practicality --short exited $rc"
pass
