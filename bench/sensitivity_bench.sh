#!/usr/bin/env bash
# Speed of `qforge debug sensitivity` over every node of each real model, against the two yardsticks of
# issue 5, all measured in the same run on the same machine:
#   - nodes x one full fake-quant inference (`qforge run --benchmark` on calibrated_model.onnx): what the
#     sensitivity would cost if every "quantize only this node" trial ran the whole graph;
#   - one calibration pass (the calibrate stage of `qforge quantize` with the default config, which feeds
#     up to 16 samples to 20 calibration candidates).
# Sensitivity re-runs only the nodes downstream of each trial's calibration nodes, from cached float
# activations (incremental re-execution), and runs the trials in parallel on TBB.
# Prints a Markdown table.
usage() {
  cat <<'EOF'
usage: bench/sensitivity_bench.sh [options]
  --qforge PATH      qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models "a b"     models (default: every model in the shared folder and .cache/samples/models.tsv)
  --data-num N       samples per sensitivity trial (default 1, as the seed toolchain's hmct)
  --threads N        --threads of every qforge call (default 2)
  --keep DIR         keep the outputs in DIR (default: a temp dir, removed at exit)
  -h, --help         this help
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, and jq.
EOF
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE=""
MODELS=""
DATA_NUM=1
THREADS=2
KEEP=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --data-num) DATA_NUM="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "sensitivity_bench: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
find_qforge sensitivity_bench
command -v jq >/dev/null || { echo "sensitivity_bench: needs jq" >&2; exit 1; }
if [[ -n "$KEEP" ]]; then WORK="$KEEP"; mkdir -p "$WORK"; else WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi

load_real_models
[[ -n "$MODELS" ]] || MODELS="${ORDER[*]}"

now() { date +%s.%N; }
ROWS=()
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" ]] || { echo "sensitivity_bench: unknown model $n" >&2; continue; }
  out="$WORK/$n"
  rm -rf "$out"
  echo "sensitivity_bench: $n" >&2
  if ! "$QFORGE" quantize --model "${MODEL_PATH[$n]}" --calib-data "${CALIB_DIR[$n]}" --output-dir "$out/q" \
       --max-samples 16 --threads "$THREADS" -q > "$out.quantize.log" 2>&1; then
    ROWS+=("| $n | quantize failed: $(tail -1 "$out.quantize.log") ||||||||"); continue
  fi
  calibrate=$(jq '[.stages[] | select(.name == "calibrate") | .seconds] | add' "$out/q/report.json")
  first="$(ls -d "${CALIB_DIR[$n]}"/*/ | head -1)"
  latency=$("$QFORGE" run --model "$out/q/calibrated_model.onnx" --inputs "$first" --output-dir "$out/run" \
              --benchmark 5 --threads "$THREADS" 2>/dev/null | sed -n 's/.*median=\([0-9.]*\).*/\1/p')
  t0=$(now)
  if ! "$QFORGE" debug sensitivity --model "$out/q/calibrated_model.onnx" --calib-data "${CALIB_DIR[$n]}" \
       --output-dir "$out/sens" --data-num "$DATA_NUM" --threads "$THREADS" -q > "$out.sens.log" 2>&1; then
    ROWS+=("| $n | sensitivity failed: $(tail -1 "$out.sens.log") ||||||||"); continue
  fi
  t1=$(now)
  nodes=$(jq '.nodes | length' "$out/sens/sensitivity_node.json")
  ROWS+=("$(awk -v n="$n" -v k="$nodes" -v s="$t0" -v e="$t1" -v lat="$latency" -v cal="$calibrate" -v d="$DATA_NUM" 'BEGIN {
    sens = e - s; full = k * d * lat / 1000.0;
    printf "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |", n, k, lat, full, sens,
           (full > 0 ? sens / full : 0), cal, (cal > 0 ? sens / cal : 0) }')")
done

echo
echo "| model | nodes | one fake-quant inference (ms) | nodes x data-num x inference (s) | sensitivity (s) | ratio to full runs | calibration pass (s) | ratio to calibration |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "qforge debug sensitivity --node-type node --data-num $DATA_NUM --threads $THREADS (wall clock, incl. loading);"
echo "inference: qforge run --benchmark 5 median; calibration pass: the calibrate stage of qforge quantize"
echo "(default config: 20 candidates, --max-samples 16). $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)."
