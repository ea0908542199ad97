#!/usr/bin/env bash
# Every libFuzzer target in tests/fuzz/ for 5 s on a scratch copy of its seed
# corpus: builds them (clang, build/fuzz, as `make fuzz` does), fails on any
# crash, leak, sanitizer report or broken invariant. `make fuzz` runs them
# for 60 s each.
# tags: solo
# timeout: 400
. "$(dirname "$0")/../lib.sh"
need clang make
# .ci/run runs `make fuzz` (every target for 60 s) after the suite.
[ -n "${DL_CI_FUZZ:-}" ] && skip "make fuzz runs every target for 60 s later in this CI run"
SECS=${DL_FUZZ_SECS:-5}

# clang without the libFuzzer runtime (e.g. a distribution that splits it
# out) cannot link a target: say so instead of failing.
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$T/probe.c"
clang -fsanitize=fuzzer,address -o "$T/probe" "$T/probe.c" >"$T/probe.log" 2>&1 ||
  skip "clang cannot link -fsanitize=fuzzer (no libFuzzer runtime): $(head -n 1 "$T/probe.log")"
grep -q '^fuzz-bins:' "$TOP/Makefile" || skip "the Makefile has no fuzz-bins rule"

make -C "$TOP" --no-print-directory fuzz-bins \
  >"$T/build.log" 2>&1 || { tail -n 30 "$T/build.log"; fail "building the fuzz targets"; }

n=0
for src in "$TOP"/tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  bin=$TOP/build/fuzz/$t
  [ -x "$bin" ] || fail "$t was not built"
  mkdir -p "$T/corpus/$t"
  cp "$TOP/tests/fuzz/corpus/$t/"* "$T/corpus/$t/" 2>/dev/null
  timeout -k 5 $((SECS + 60)) "$bin" -max_total_time="$SECS" -print_final_stats=1 \
    -artifact_prefix="$TOP/build/fuzz/$t-" "$T/corpus/$t" >"$T/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$t.log")
  cov=$(grep -o 'cov: [0-9]*' "$T/$t.log" | tail -n 1)
  say "$t: ${execs:-?} executions in $SECS s, $cov"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|runtime error|in LLVMFuzzerTestOneInput' "$T/$t.log" | head -n 10
    fail "$t exited $rc (crash input in build/fuzz/$t-*)"
  fi
  [ "${execs:-0}" -gt 0 ] || fail "$t ran no inputs"
  n=$((n + 1))
done
[ $n -ge 4 ] || fail "only $n fuzz targets found"
pass "$n targets, $SECS s each"
