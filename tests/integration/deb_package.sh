#!/usr/bin/env bash
# The Debian package: scripts/deb (what `make deb` runs) builds it from a
# copy of this tree into a directory of the test's own; lintian reports no
# error (its warnings are printed); it holds the programs, units, pages and
# README where Debian puts them; apt installs it; the installed programs
# print their version from /usr/bin, man finds their pages, the user
# driftless exists in group audio, and systemd-analyze verify accepts the
# units in place; `apt-get purge` then leaves none of its files and none of
# its directories. The user stays after a purge (Debian's practice, see
# debian/postrm): the test removes it if it made it.
# Installs a package on this machine: root only, and skipped where a
# driftless package is installed already (the test would replace it).
# tags: solo
# timeout: 900
. "$(dirname "$0")/../lib.sh"
need dpkg-buildpackage dh lintian apt-get dpkg-deb
[ "$(id -u)" = 0 ] || skip "not root: the test installs the package"
if dpkg-query -W -f='${Status}' driftless 2>/dev/null | grep -q 'install ok installed'; then
  skip "a driftless package is installed on this machine; the test would replace it"
fi
unset MAKEFLAGS MAKELEVEL MFLAGS
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -y -q -o DPkg::Lock::Timeout=300)
had_user=0
id driftless >/dev/null 2>&1 && had_user=1

_deb_cleanup() {
  if dpkg-query -W -f='${Status}' driftless 2>/dev/null | grep -q installed; then
    "${apt[@]}" purge driftless >/dev/null 2>&1
  fi
  if [ $had_user = 0 ] && id driftless >/dev/null 2>&1; then
    userdel driftless 2>/dev/null; groupdel driftless 2>/dev/null
  fi
  _cleanup
}
trap _deb_cleanup EXIT

start=$(date +%s)
"$TOP/scripts/deb" "$T/out" >"$T/deb.log" 2>&1 || { tail -n 30 "$T/deb.log"; fail "scripts/deb failed"; }
deb=$(tail -n 1 "$T/deb.log")
secs=$(( $(date +%s) - start ))
[ -f "$deb" ] || fail "no .deb: $(tail -n 3 "$T/deb.log")"
say "built $(basename "$deb") in $secs s"

lintian --pedantic "$deb" >"$T/lintian.log" 2>&1
grep -v 'running with root privileges' "$T/lintian.log" | sed 's/^/lintian: /'
grep -q '^E: ' "$T/lintian.log" && fail "lintian reports errors (above)"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||; /\/$/d' | sort >"$T/contents"
for f in usr/bin/driftless-send usr/bin/driftless-recv usr/bin/driftless-impair \
         usr/share/man/man1/driftless-send.1.gz usr/share/man/man1/driftless-recv.1.gz \
         usr/share/man/man1/driftless-impair.1.gz \
         lib/systemd/system/driftless-recv@.service lib/systemd/system/driftless-send@.service \
         usr/lib/sysusers.d/driftless.conf usr/share/doc/driftless/copyright \
         usr/share/doc/driftless/README.md.gz usr/share/doc/driftless/examples/recv-example.conf; do
  grep -qx "$f" "$T/contents" || fail "the package lacks $f"
done
dpkg-deb -f "$deb" Depends | grep -q libopus0 || fail "Depends has no libopus0 (shlibs): $(dpkg-deb -f "$deb" Depends)"

"${apt[@]}" install --no-install-recommends "$deb" >"$T/apt.log" 2>&1 ||
  { tail -n 20 "$T/apt.log"; fail "apt-get install failed"; }
for n in send recv impair; do
  v=$("/usr/bin/driftless-$n" --version) || fail "/usr/bin/driftless-$n --version: exit $?"
  [[ "$v" == *" 0."* || "$v" == *" "[1-9]* ]] || fail "driftless-$n --version: $v"
  [ "$(man -w "driftless-$n")" = "/usr/share/man/man1/driftless-$n.1.gz" ] ||
    fail "man -w driftless-$n: $(man -w "driftless-$n" 2>&1)"
done
say "installed: $(/usr/bin/driftless-recv --version)"
id driftless >/dev/null 2>&1 || fail "no user driftless after install"
id -nG driftless | tr ' ' '\n' | grep -qx audio || fail "driftless is not in group audio: $(id driftless)"
out=$(systemd-analyze verify /lib/systemd/system/driftless-recv@.service /lib/systemd/system/driftless-send@.service 2>&1) ||
  fail "systemd-analyze verify of the installed units: $out"
[ -z "$out" ] || fail "systemd-analyze verify of the installed units says: $out"
dpkg -L driftless >"$T/files"

"${apt[@]}" purge driftless >"$T/purge.log" 2>&1 || { tail -n 20 "$T/purge.log"; fail "apt-get purge failed"; }
dpkg-query -W -f='${Status}' driftless 2>/dev/null | grep -q installed && fail "still installed after purge"
left=""
while read -r f; do
  [ -e "$f" ] || continue
  # Directories that other packages share (/usr/bin, /lib/systemd, ...).
  if [ -d "$f" ] && [[ "$f" != *driftless* ]]; then continue; fi
  left="$left $f"
done <"$T/files"
[ -z "$left" ] || fail "left after purge:$left"
pass "built in $secs s, lintian without errors, installed, --version from /usr/bin, purged clean"
