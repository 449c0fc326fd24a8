#!/usr/bin/env bash
# Bias correction on every real model: `qforge quantize` without it, with mode "per_layer" and with mode
# "layerwise" (model_config.weight.bias_correction, docs/algorithms.md#bias-correction), read from
# OUT/report.json: worst-output SQNR / cosine (float vs calibrated model on the evaluation samples), whether
# the correction was kept, and the wall time of the bias_correction stage. Prints a Markdown table.
#   bench/bias_correction.sh [--qforge PATH] [--backend onnxruntime] [--models "a b"] [--max-samples 16]
#                            [--num-sample N] [--threads 2] [--work DIR]
# Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, and jq.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE=""
BACKEND=onnxruntime
MODELS=""
MAX_SAMPLES=16
NUM_SAMPLE=""  # empty: the config's default
THREADS=2
WORK="$ROOT/build/bias_correction"
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --backend) BACKEND="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --max-samples) MAX_SAMPLES="$2"; shift 2 ;;
    --num-sample) NUM_SAMPLE="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    *) echo "bias_correction: unknown argument $1" >&2; exit 2 ;;
  esac
done
find_qforge bias_correction
command -v jq >/dev/null || { echo "bias_correction: jq not found (apt-get install jq)" >&2; exit 1; }
load_real_models
[[ -n "$MODELS" ]] || MODELS="${ORDER[*]}"

CONFIGS=(off per_layer layerwise)
mkdir -p "$WORK/configs"
echo '{}' > "$WORK/configs/off.json"
for m in per_layer layerwise; do
  printf '{"model_config":{"weight":{"bias_correction":{"mode":"%s"%s}}}}\n' "$m" "${NUM_SAMPLE:+,\"num_sample\":$NUM_SAMPLE}" \
    > "$WORK/configs/$m.json"
done

# "<applied> <seconds of the bias_correction stage>" of a report ("-" without the section).
bias_of() {
  jq -r '"\(if .bias_correction then (if .bias_correction.applied then "kept" else "dropped" end) else "-" end) \([.stages[] | select(.name == "bias_correction") | .seconds] | add // 0)"' "$1"
}

echo "| model | off (SQNR / cos) | per_layer | layerwise |"
echo "|---|---|---|---|"
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" ]] || { echo "bias_correction: unknown model $n" >&2; exit 2; }
  row="| $n"
  for c in "${CONFIGS[@]}"; do
    out="$WORK/$BACKEND/$n/$c"
    rm -rf "$out"; mkdir -p "$out"
    if "$QFORGE" quantize --model "${MODEL_PATH[$n]}" --calib-data "${CALIB_DIR[$n]}" --output-dir "$out" \
         --config "$WORK/configs/$c.json" --backend "$BACKEND" --max-samples "$MAX_SAMPLES" --threads "$THREADS" \
         -q > "$out.log" 2>&1 && [[ -f "$out/report.json" ]]; then
      read -r s co < <(worst_of "$out/report.json")
      cell="$(fmt_cell "$s" "$co")"
      if [[ "$c" != off ]]; then
        read -r kept secs < <(bias_of "$out/report.json")
        cell+=" ($kept, $(printf '%.2f' "$secs") s)"
      fi
    else
      cell="FAILED"
      echo "bias_correction: $n $c: qforge quantize failed, see $out.log" >&2
    fi
    row+=" | $cell"
  done
  echo "$row |"
done
echo
echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/bias_correction.sh${ARGS:+ $ARGS}\` ($(nproc) cores);"
echo "cells: worst-output SQNR dB / cosine (kept or dropped by the metric rule, bias_correction stage time)."
