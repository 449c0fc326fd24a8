#!/usr/bin/env bash
# The full test suite (docs/development.md). First the gates, cheap and before anything is built: the
# format (clang-format), the layering (an upward include between framework folders must not compile, ctest
# label gate) and the function size (clang-tidy, 80 lines); all three run, and any failure stops the suite.
# Then the release build with -Werror (unit, cli, conformance and real-model suites under ctest), the unit
# and CLI tests again under AddressSanitizer + UndefinedBehaviorSanitizer, ThreadSanitizer over the threaded
# tests, and the fuzzers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
# ccache keys on paths relative to the checkout, so a fresh clone reuses objects built elsewhere.
export CCACHE_BASEDIR="$ROOT"

cmake --preset release >/dev/null
gates_failed=()
bash scripts/check_format.sh || gates_failed+=(format)
ctest --preset release -L gate -j "$JOBS" || gates_failed+=(layering)
bash scripts/check_function_size.sh || gates_failed+=(function-size)
if (( ${#gates_failed[@]} )); then
  echo "test.sh: gate(s) failed: ${gates_failed[*]}" >&2
  exit 1
fi

cmake --build --preset release -j "$JOBS"
ctest --preset release -LE gate -j "$JOBS" --timeout 900

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$JOBS" --timeout 900

# ThreadSanitizer over the threaded tests (calibration, search evaluation, the executor's parallel paths).
bash scripts/ci_tsan.sh

# Every libFuzzer harness for a short time (FUZZ_SECONDS, default 60 each); any crash or hang fails.
bash scripts/ci_fuzz.sh
