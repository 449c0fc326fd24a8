#!/usr/bin/env bash
# ThreadSanitizer stage: builds the tsan preset (qforge_core, the stock plugins and qforge_threaded_tests, all
# instrumented) and runs the tests labelled `threaded` (calibration, search evaluation, the executor's
# parallel kernels, the progress bar). Any TSan report fails the stage: halt_on_error makes the reporting
# test exit non-zero, and ctest fails on it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
export CCACHE_BASEDIR="$ROOT"

cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$JOBS"

# second_deadlock_stack: lock-order reports show both stacks. exitcode=66 is TSan's default, spelled out so a
# report can never pass as success. The suppressions file lists third-party false positives only (see it).
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66 suppressions=$ROOT/tests/tsan.supp ${TSAN_OPTIONS:-}"
# OpenBLAS (Debian's pthread build, not instrumented) starts its own thread pool when loaded unless told not
# to. qforge calls it single-threaded anyway (executor/ops/gemm_util.hpp: openblas_set_num_threads(1), the
# parallel split is ours through oneTBB), so this only keeps idle, invisible-to-TSan threads off 2 cores.
export OPENBLAS_NUM_THREADS=1
ctest --preset tsan -j "$JOBS" --timeout 600
