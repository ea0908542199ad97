#!/usr/bin/env bash
# systemd-analyze verify accepts both template units as make install lays
# them out (instance "i": every directive known and well-formed, ExecStart
# executable, Documentation=man:driftless-...(1) found among the installed
# pages), and prints nothing; the same tool does complain about a unit
# with one word wrong, so silence means something. systemd-analyze
# security rates the hardening of each at 3.0 or less ("OK"). Needs
# systemd-analyze, not a running systemd.
# timeout: 120
. "$(dirname "$0")/../lib.sh"
built sender receiver impair
need systemd-analyze man
unset MAKEFLAGS MAKELEVEL MFLAGS
root=$T/root
make -s -C "$TOP" BUILD="${DL_BUILD:-build}" DESTDIR="$root" install >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "make install failed"; }
units=$root/usr/local/lib/systemd/system
export MANPATH=$root/usr/local/share/man
mkdir -p "$T/u"
for u in recv send; do
  # The unit as installed, but for the program's path, which is under
  # DESTDIR here.
  sed "s|^ExecStart=/usr/local/bin/|ExecStart=$root/usr/local/bin/|" \
    "$units/driftless-$u@.service" >"$T/u/driftless-$u@.service"
  out=$(systemd-analyze verify "$T/u/driftless-$u@.service" 2>&1) ||
    fail "driftless-$u@.service: systemd-analyze verify exit $?: $out"
  [ -z "$out" ] || fail "driftless-$u@.service: systemd-analyze verify says: $out"
  score=$(systemd-analyze security --offline=yes "$T/u/driftless-$u@.service" 2>&1 |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || fail "driftless-$u@.service: no exposure level from systemd-analyze security"
  awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || fail "driftless-$u@.service: exposure $score > 3.0"
  say "driftless-$u@.service: verified, exposure $score"
  scores="${scores:-}${scores:+, }$u $score"
done
# The control: one misspelt value, and verify speaks.
sed 's/^Type=notify$/Type=notfy/' "$T/u/driftless-recv@.service" >"$T/u/bad@.service"
out=$(systemd-analyze verify "$T/u/bad@.service" 2>&1)
[[ "$out" == *"notfy"* ]] || fail "systemd-analyze verify did not notice Type=notfy (said: $out)"
pass "both units verified (systemd-analyze security exposure: $scores)"
