#!/usr/bin/env bash
# Latency of `qforge run` against ONNX Runtime's CPU provider (tools/oracle/ort_run.js) on the real models,
# at 1 and 2 threads. Both sides load the model, run once to warm up, then time N runs of the inference
# alone and report the median. Prints a Markdown table with qforge/ORT ratios and their geometric mean.
#   bench/compare_ort.sh [--qforge PATH] [--runs N] [--threads "1 2"] [--ort-opt disabled|all] [--models "a b"] [--all]
# Needs ../shared/models (or $QF_SHARED_DIR) and scripts/fetch_models.sh run once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE=""
RUNS=10
THREADS="1 2"
ORT_OPT=disabled
MODELS="mnist_8 super_resolution ultraface_slim320 yunet_2022_120x160 ppocr_v4_det ppocr_v4_rec ppocr_v2_cls
        oww_melspectrogram oww_embedding oww_hey_jarvis silero_vad_v4 silero_vad_v5"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --ort-opt) ORT_OPT="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --all) MODELS=""; shift ;;
    *) echo "compare_ort: unknown argument $1" >&2; exit 2 ;;
  esac
done
find_qforge compare_ort
[[ -f "$SAMPLES/models.tsv" ]] || { echo "compare_ort: $SAMPLES/models.tsv missing: run scripts/fetch_models.sh" >&2; exit 1; }

# name -> model path and calibration folder (its sample_000 is what both runtimes run on).
load_real_models
if [[ -z "$MODELS" ]]; then MODELS="$(printf '%s\n' "${!MODEL_PATH[@]}" | sort | tr '\n' ' ')"; fi

median_of() { sed -n 's/.*latency_ms median=\([0-9.eE+-]*\).*/\1/p' | tail -1; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT

echo "# $("$QFORGE" --version 2>/dev/null | head -1 || echo qforge) vs onnxruntime-node $(node -e "console.log(require('$ROOT/.cache/npm/node_modules/onnxruntime-node/package.json').version)")" \
     "(graph optimization: $ORT_OPT), median of $RUNS runs after 1 warm-up, sample_000 of each model"
echo "# commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
header="| model |"; rule="|---|"
for t in $THREADS; do header+=" qforge ${t}T ms | ORT ${t}T ms | ratio ${t}T |"; rule+="---:|---:|---:|"; done
echo; echo "$header"; echo "$rule"
declare -A LOGSUM COUNT
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" && -d "${CALIB_DIR[$n]}/sample_000" ]] || { echo "compare_ort: no model/sample for $n, skipped" >&2; continue; }
  row="| $n |"
  for t in $THREADS; do
    q="$("$QFORGE" run -q --model "${MODEL_PATH[$n]}" --inputs "${CALIB_DIR[$n]}/sample_000" --output-dir "$TMP/q" \
          --threads "$t" --benchmark "$RUNS" 2>"$TMP/err" | median_of)" || true
    o="$(node "$ROOT/tools/oracle/ort_run.js" --model "${MODEL_PATH[$n]}" --inputs "${CALIB_DIR[$n]}/sample_000" \
          --threads "$t" --benchmark "$RUNS" --opt-level "$ORT_OPT" 2>>"$TMP/err" | median_of)" || true
    if [[ -z "$q" || -z "$o" ]]; then
      row+=" ${q:-fail} | ${o:-fail} | - |"
      echo "compare_ort: $n at $t threads failed: $(tail -c 300 "$TMP/err")" >&2
      continue
    fi
    r="$(awk -v a="$q" -v b="$o" 'BEGIN{printf "%.2f", a/b}')"
    row+=" $(printf %.3f "$q") | $(printf %.3f "$o") | $r |"
    LOGSUM[$t]="$(awk -v s="${LOGSUM[$t]:-0}" -v a="$q" -v b="$o" 'BEGIN{printf "%.12f", s + log(a/b)}')"
    COUNT[$t]=$(( ${COUNT[$t]:-0} + 1 ))
  done
  echo "$row"
done
row="| **geometric mean** |"
for t in $THREADS; do
  g="-"; [[ -n "${COUNT[$t]:-}" ]] && g="$(awk -v s="${LOGSUM[$t]}" -v c="${COUNT[$t]}" 'BEGIN{printf "%.2f", exp(s/c)}')"
  row+=" | | **$g** |"
done
echo "$row"
