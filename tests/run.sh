#!/usr/bin/env bash
# Runs every test: C unit tests (build-debug/tests/test_*, ASan + UBSan),
# reference tests against PyTorch and node (tests/test_*.py, tests/test_*.sh)
# and the libFuzzer targets for a bounded time. Prints one line per test and
# closes with "N passed, N failed".
#   TEST_FILTER=regex   run only matching tests
#   FUZZ_SECONDS=N      time per fuzz target (default 20; 0 skips fuzzing)
set -u
cd "$(dirname "$0")/.."
export AHA="${AHA:-./aha}" AHA_DEBUG="${AHA_DEBUG:-./aha-debug}"
export PYTHON="${PYTHON:-/usr/bin/python3}"
export TEST_TMP="$(mktemp -d /tmp/aha-test.XXXXXX)"
trap 'rm -rf "$TEST_TMP"' EXIT
CBUILD="${CBUILD:-build-debug}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

passed=0 failed=0 failures=()
run_one() {   # name, command...
  local name=$1; shift
  [[ -n "${TEST_FILTER:-}" && ! "$name" =~ $TEST_FILTER ]] && return
  local log="$TEST_TMP/$(echo "$name" | tr '/ ' '__').log" t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); printf 'ok    %-40s %4ds\n' "$name" $((SECONDS - t0))
  else
    failed=$((failed + 1)); failures+=("$name")
    printf 'FAIL  %-40s %4ds\n' "$name" $((SECONDS - t0)); tail -n 40 "$log" | sed 's/^/      | /'
  fi
}

for t in "$CBUILD"/tests/test_*; do [ -x "$t" ] && run_one "c/$(basename "$t")" "$t"; done
for t in tests/test_*.py; do [ -f "$t" ] && run_one "py/$(basename "$t")" "$PYTHON" "$t"; done
for t in tests/test_*.sh; do [ -f "$t" ] && run_one "sh/$(basename "$t")" bash "$t"; done
if [ "$FUZZ_SECONDS" != 0 ]; then
  for f in build-fuzz/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    n=$(basename "$f"); corpus="$TEST_TMP/corpus_$n"; mkdir -p "$corpus"
    seeds=(); [ -d "fuzz/corpus/$n" ] && seeds=("fuzz/corpus/$n")
    run_one "fuzz/$n" "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 "$corpus" "${seeds[@]}"
  done
fi
echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
