#!/usr/bin/env bash
# scripts/netem/run: sender and receiver in two network namespaces joined
# by a veth pair, loss5 applied by tc netem (or, where the kernel has no
# netem, by nftables numgen random): the receiver sees about 5 % loss and
# recovers some by FEC; a profile that needs netem says "skipped: netem not
# in this kernel" there (exit 77); no namespace or veth is left behind.
# timeout: 90
. "$(dirname "$0")/../lib.sh"
need ip tc sox
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
built sender receiver
NETEM=$TOP/scripts/netem/run
before=$(ip netns list | grep -c '^dl-[0-9]*-' || true)

"$NETEM" --probe; probe=$?
[ $probe = 0 ] || [ $probe = 77 ] || fail "--probe exited $probe"
if [ $probe = 77 ]; then
  out=$("$NETEM" --build "$BUILD" --seconds 2 --out "$T/j" jitter20 2>&1); rc=$?
  say "jitter20 without netem: exit $rc: $out"
  [ $rc = 77 ] && [[ "$out" == *"skipped: netem not in this kernel"* ]] ||
    fail "a netem-only profile should skip without netem"
fi

"$NETEM" --build "$BUILD" --seconds 8 --out "$T/l" loss5 >"$T/l.log" 2>&1; rc=$?
cat "$T/l.log"
[ $rc = 77 ] && skip "$(grep -m1 '^skipped:' "$T/l.log" | sed 's/^skipped: //')"
[ $rc = 0 ] || fail "loss5 exited $rc"
final=$(tail -n 1 "$T/l/rx.json")
get() { echo "$final" | grep -o "\"$1\":[0-9.]*" | head -n 1 | cut -d: -f2; }
lost=$(get lost) received=$(get received) fec=$(get fec_recovered)
pct=$(awk -v l="$lost" -v r="$received" 'BEGIN { printf "%.1f", 100 * l / (l + r) }')
say "loss5: received $received, lost $lost ($pct %), fec_recovered $fec"
awk -v p="$pct" 'BEGIN { exit !(p >= 1.5 && p <= 10) }' || fail "loss $pct % not about 5 % (400 packets)"
[ "$fec" -gt 0 ] || fail "no FEC-recovered frames"
after=$(ip netns list | grep -c '^dl-[0-9]*-' || true)
[ "$after" -le "$before" ] || fail "namespaces left behind: $(ip netns list | grep '^dl-')"
ip link | grep -q ' dlt[0-9]*@' && fail "a veth was left behind"
pass "loss $pct %"
