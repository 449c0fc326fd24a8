#!/usr/bin/env bash
# Runs every libFuzzer harness (fuzz/, built by the `fuzz` preset) for SECONDS each, one after the other
# (one core), and prints per harness: executions, exec/s, crashes, hangs/timeouts, OOMs and corpus size.
# Exits non-zero when any harness crashed, hung or ran out of memory; reproducers are left in
# BUILD/artifacts/<harness>/ (copy a small one to fuzz/regressions/<harness>/ so the unit tests replay it).
# The corpus in BUILD/corpus/<harness>/ persists between runs, so repeated runs go deeper.
# Usage: bench/fuzz.sh [SECONDS (60)] [HARNESS...]   env: FUZZ_BUILD_DIR (build/fuzz), FUZZ_ARGS (extra flags)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${1:-60}"
shift $(( $# > 0 ? 1 : 0 ))
HARNESSES=("$@")
(( ${#HARNESSES[@]} )) || HARNESSES=(model npy quant_config backend_json)
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build/fuzz}"
# The limits the issue names: 2 GB of memory and 10 s per input.
LIMITS=(-rss_limit_mb=2048 -timeout=10)

[[ -x "$BUILD/fuzz/fuzz_model" ]] || { echo "fuzz.sh: no harnesses in $BUILD/fuzz (cmake --preset fuzz && cmake --build --preset fuzz)" >&2; exit 2; }
[[ -d "$BUILD/seeds" ]] || "$ROOT/fuzz/make_corpus.sh" "$BUILD" >&2 || exit 2

# stat <log> <name>: a -print_final_stats value (0 when the run died before printing it).
stat_value() { grep -o "stat::$2: *[0-9]*" "$1" | tail -1 | grep -o '[0-9]*$' || echo 0; }
# Executions when final stats are missing: the last "#N" status line.
last_exec_count() { grep -o '^#[0-9]*' "$1" | tail -1 | tr -d '#' || echo 0; }
count_files() { find "$1" -maxdepth 1 -type f -name "$2" 2>/dev/null | wc -l; }

failed=0
rows=()
for h in "${HARNESSES[@]}"; do
  corpus="$BUILD/corpus/$h" artifacts="$BUILD/artifacts/$h" log="$BUILD/logs/$h.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  rm -f "$artifacts"/*
  dict=()
  [[ -f "$ROOT/fuzz/dict/$h.dict" ]] && dict=(-dict="$ROOT/fuzz/dict/$h.dict")
  # -close_fd_mask=1: the harnesses' logging on stdout is noise here; libFuzzer reports on stderr.
  UBSAN_OPTIONS=print_stacktrace=1 "$BUILD/fuzz/fuzz_$h" "${LIMITS[@]}" "${dict[@]}" -max_total_time="$SECONDS_EACH" \
    -print_final_stats=1 -close_fd_mask=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
    "$corpus" "$BUILD/seeds/$h" > "$log" 2>&1
  rc=$?
  execs=$(stat_value "$log" number_of_executed_units)
  (( execs )) || execs=$(last_exec_count "$log")
  rate=$(stat_value "$log" average_exec_per_sec)
  crashes=$(( $(count_files "$artifacts" 'crash-*') + $(count_files "$artifacts" 'leak-*') ))
  hangs=$(count_files "$artifacts" 'timeout-*')
  ooms=$(count_files "$artifacts" 'oom-*')
  # A failure without an artifact (e.g. the harness did not start) still counts as a crash.
  (( rc != 0 && crashes + hangs + ooms == 0 )) && crashes=1
  (( crashes + hangs + ooms )) && { failed=1; echo "fuzz.sh: $h failed (exit $rc), see $log and $artifacts/" >&2; }
  rows+=("$(printf '%-14s %12s %8s %8s %14s %6s %12s' "$h" "$execs" "$rate" "$crashes" "$hangs" "$ooms" "$(count_files "$corpus" '*')")")
done

printf '%-14s %12s %8s %8s %14s %6s %12s\n' harness executions exec/s crashes hangs/timeouts OOMs corpus
printf '%s\n' "${rows[@]}"
exit $failed
