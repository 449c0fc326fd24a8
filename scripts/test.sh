#!/usr/bin/env bash
# The full test suite: release build with -Werror (unit, conformance and real-model suites under ctest),
# then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
# ccache keys on paths relative to the checkout, so a fresh clone reuses objects built elsewhere.
export CCACHE_BASEDIR="$ROOT"

cmake --preset release >/dev/null
cmake --build --preset release -j "$JOBS"
ctest --preset release -j "$JOBS" --timeout 900

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$JOBS" --timeout 900

# ThreadSanitizer over the threaded tests (calibration, search evaluation, the executor's parallel paths).
bash scripts/ci_tsan.sh

# Every libFuzzer harness for a short time (FUZZ_SECONDS, default 60 each); any crash or hang fails.
bash scripts/ci_fuzz.sh
