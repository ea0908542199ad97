#!/usr/bin/env bash
# The man pages (build/man, written by scripts/manpage from each program's
# --help): `man -l` and groff render each without a warning; the NAME line
# is whatis' "NAME \- summary"; the synopsis names the installed program;
# every option and argument that --help lists is an item of the page, and
# its version is the program's; and the generator reads an option whose
# value runs into its description column (one space) as an option, not
# prose, which help2man did not.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
built sender receiver impair
need man groff python3
n=0
for p in sender:driftless-send receiver:driftless-recv impair:driftless-impair; do
  b=${p%%:*} name=${p#*:}
  page=$BUILD/man/$name.1
  [ -f "$page" ] || fail "$page not built (make man)"
  [ "$page" -nt "$BUILD/$b" ] || [ ! "$BUILD/$b" -nt "$page" ] || fail "$page is older than $BUILD/$b"
  warn=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  [ -z "$warn" ] || fail "$name: man --warnings: $warn"
  warn=$(groff -ww -man -z "$page" 2>&1)
  [ -z "$warn" ] || fail "$name: groff -ww: $warn"
  MANWIDTH=80 man -l "$page" 2>/dev/null | col -b >"$T/$name.txt"
  whatis=$(lexgrog "$page" 2>&1) || fail "$name: lexgrog: $whatis"
  [[ "$whatis" == *"\"$name - "* ]] || fail "$name: whatis line is $whatis"
  sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$T/$name.txt" | grep -q "^ *$name \[OPTIONS\]" ||
    fail "$name: synopsis does not name $name: $(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$T/$name.txt")"
  grep -qE "(^|[[:space:]])$b \\[OPTIONS\\]" "$T/$name.txt" && fail "$name: the page still calls the program $b in a command line"
  # Every --long option of --help is an item's term (a line of its own
  # that starts with it, or a -x, --long pair), and none is lost.
  "$BUILD/$b" --help >"$T/$b.help"
  for opt in $(grep -oE '^ {1,6}(-[a-zA-Z], )?--[a-z][a-z0-9-]*' "$T/$b.help" | grep -oE -- '--[a-z][a-z0-9-]*'); do
    grep -qE "^ {7}(-[a-zA-Z], )?$opt( |,|$)" "$T/$name.txt" || fail "$name: $opt is not an item of the page"
    n=$((n + 1))
  done
  v=$("$BUILD/$b" --version | awk '{print $NF}')
  grep -q "driftless $v" "$T/$name.txt" || fail "$name: the page's version is not $v"
done
# The case help2man got wrong: "--expect-loss PCT packet loss ..." has one
# space before its description; it must be an item with PCT as its value.
grep -qE '^ {7}--expect-loss PCT$' "$T/driftless-send.txt" ||
  fail "--expect-loss PCT was not read as an item: $(grep -- '--expect-loss' "$T/driftless-send.txt")"
pass "3 pages render without warnings; $n options, each an item"
