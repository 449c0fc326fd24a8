#!/usr/bin/env bash
# ThreadSanitizer stage. Builds the tsan preset: only qforge_core, the stock plugins, qforge_threaded_tests and
# oneTBB's scheduler (built from Debian's source package, so TSan sees its synchronization), all with -fsanitize=thread. Then
# runs the tests labelled `threaded`: calibration, search evaluation, the executor's parallel kernels and
# concurrent runs, the debug tools' parallel passes, the progress bar ticked from worker threads.
#
# The test preset sets the environment (CMakePresets.json, testPresets/tsan):
#   TSAN_OPTIONS=halt_on_error=1 second_deadlock_stack=1 exitcode=66 (+ any TSAN_OPTIONS given here): the first
#     report ends its test with exit code 66, so ctest, and this stage, fail on any report.
#   OPENBLAS_NUM_THREADS=1: Debian's OpenBLAS (not instrumented) would start its own thread pool when loaded;
#     qforge calls it single-threaded anyway (executor/ops/gemm_util.hpp: openblas_set_num_threads(1), the
#     parallel split is ours through oneTBB), so this only keeps idle threads TSan cannot see off 2 cores.
# No suppressions file: nothing is suppressed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
# ccache keys on paths relative to the checkout, so a fresh clone reuses objects built elsewhere.
export CCACHE_BASEDIR="$ROOT"
# With -g1 ccache would also hash the build folder (it lands in the debug info), so a clone elsewhere could
# never hit; TSan's stacks print the relative source paths, so the folder does not matter here.
export CCACHE_NOHASHDIR=1

bash scripts/fetch_onetbb_source.sh
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$JOBS"
ctest --preset tsan -j "$JOBS"
