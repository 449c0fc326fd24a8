#!/usr/bin/env bash
# CI stage: builds the libFuzzer harnesses (preset `fuzz`: clang 14, ASan + UBSan; only the harness
# targets and the qforge_core they link) and runs each for FUZZ_SECONDS (default 60) via bench/fuzz.sh.
# Any crash, hang or out-of-memory fails the stage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
export CCACHE_BASEDIR="$ROOT"
command -v clang++ >/dev/null || { echo "ci_fuzz: clang++ is not installed (scripts/setup.sh)" >&2; exit 1; }

start=$(date +%s)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$JOBS"
built=$(date +%s)
# Fresh seeds from the tree's current models and configs (the corpus the runs grow stays in build/fuzz).
fuzz/make_corpus.sh build/fuzz
bench/fuzz.sh "${FUZZ_SECONDS:-60}"
echo "ci_fuzz: build $((built - start)) s, fuzzing $(( $(date +%s) - built )) s"
