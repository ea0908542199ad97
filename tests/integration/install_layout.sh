#!/usr/bin/env bash
# make install DESTDIR=... (default PREFIX /usr/local) lays out exactly
# these files where the FHS puts them: the programs under their installed
# names in bin (executable, the same programs as the build tree's), man
# pages gzip'd in share/man/man1 (each renders), the two template units
# in lib/systemd/system (ExecStart naming the installed program, nothing
# left unsubstituted), the sysusers.d user, the README and the examples
# in share/doc/driftless, an empty /etc/driftless; then make uninstall
# leaves no file and none of driftless' own directories. The same build
# paths as `make all`, so nothing is rebuilt beside the other tests.
# timeout: 120
. "$(dirname "$0")/../lib.sh"
built sender receiver impair
need gzip
unset MAKEFLAGS MAKELEVEL MFLAGS
root=$T/root
mk() { make -s -C "$TOP" BUILD="${DL_BUILD:-build}" DESTDIR="$root" "$@"; }

mk install >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install failed"; }

expected="etc/driftless/
usr/local/bin/driftless-impair
usr/local/bin/driftless-recv
usr/local/bin/driftless-send
usr/local/lib/systemd/system/driftless-recv@.service
usr/local/lib/systemd/system/driftless-send@.service
usr/local/lib/sysusers.d/driftless.conf
usr/local/share/doc/driftless/README.md
usr/local/share/doc/driftless/examples/recv-example.conf
usr/local/share/doc/driftless/examples/send-example.conf
usr/local/share/man/man1/driftless-impair.1.gz
usr/local/share/man/man1/driftless-recv.1.gz
usr/local/share/man/man1/driftless-send.1.gz"
# Files, and empty directories with a slash.
got=$(cd "$root" && { find . -type f; find . -type d -empty -printf '%p/\n'; } | sed 's|^\./||' | sort)
[ "$got" = "$expected" ] || fail "installed files differ from the expected layout:
$(diff <(echo "$expected") <(echo "$got"))"

for p in sender:driftless-send receiver:driftless-recv impair:driftless-impair; do
  b=${p%%:*} n=${p#*:}
  f=$root/usr/local/bin/$n
  [ "$(stat -c %a "$f")" = 755 ] || fail "$n: mode $(stat -c %a "$f"), not 755"
  cmp -s "$f" "$BUILD/$b" || fail "$n is not build/$b"
  "$f" --version >/dev/null || fail "$n --version failed"
  m=$root/usr/local/share/man/man1/$n.1.gz
  [ "$(stat -c %a "$m")" = 644 ] || fail "$n.1.gz: mode $(stat -c %a "$m"), not 644"
  gzip -t "$m" || fail "$n.1.gz is not gzip"
  # -n: no name or time stamp in the gzip header (reproducible, as Debian wants).
  [ "$(od -An -tu4 -j4 -N4 "$m" | tr -d ' ')" = 0 ] || fail "$n.1.gz holds a time stamp (gzip without -n)"
  zcat "$m" | grep -q "^\.TH $(echo "$n" | tr a-z A-Z | sed 's/-/\\\\-/g') 1 " || fail "$n.1.gz: no .TH $n line"
done

for u in recv send; do
  f=$root/usr/local/lib/systemd/system/driftless-$u@.service
  grep -qx "ExecStart=/usr/local/bin/driftless-$u \$OPTIONS" "$f" || fail "driftless-$u@.service: ExecStart is $(grep ExecStart "$f")"
  grep -qx "EnvironmentFile=/etc/driftless/$u-%i.conf" "$f" || fail "driftless-$u@.service: $(grep EnvironmentFile "$f")"
  grep -qx 'LimitRTPRIO=[1-9][0-9]*' "$f" || fail "driftless-$u@.service: no LimitRTPRIO=N"
  grep -q "/usr/local/share/doc/driftless/examples/$u-example.conf" "$f" || fail "driftless-$u@.service does not name its example"
done
if grep -rl '@[A-Z_]*@' "$root"/usr/local/lib "$root"/usr/local/share/doc/driftless/examples; then
  fail "a placeholder was left unsubstituted (above)"
fi
# The example options name the installed programs' arguments: a receiver
# example that parses (into a WAV file instead of the sound card, on a
# free port): a usage error would be exit 2.
port=$(free_port)
( eval "$(grep '^OPTIONS=' "$root/usr/local/share/doc/driftless/examples/recv-example.conf")"
  OPTIONS=${OPTIONS/--device plughw:0/-o $T/ex.wav}
  # shellcheck disable=SC2086
  timeout 5 "$BUILD/receiver" --duration 0.2 ${OPTIONS/5004/$port} ) ||
  fail "the receiver example's OPTIONS do not run (exit $?)"

mk uninstall >"$T/uninstall.log" 2>&1 || { cat "$T/uninstall.log"; fail "make uninstall failed"; }
left=$(cd "$root" && find . -type f | sed 's|^\./||')
[ -z "$left" ] || fail "make uninstall left files: $left"
for d in usr/local/share/doc/driftless etc/driftless; do
  [ ! -e "$root/$d" ] || fail "make uninstall left $d"
done
# An options file of the user's own is kept, and so its directory.
mk install >/dev/null 2>&1 || fail "make install (again) failed"
echo 'OPTIONS="5004"' >"$root/etc/driftless/recv-mine.conf"
mk uninstall >/dev/null 2>&1 || fail "make uninstall (again) failed"
[ -f "$root/etc/driftless/recv-mine.conf" ] || fail "make uninstall removed the user's options file"
[ -z "$(cd "$root" && find . -type f ! -name recv-mine.conf)" ] || fail "make uninstall (again) left files"
pass "13 paths installed as the FHS says, all removed again"
