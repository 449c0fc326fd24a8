#!/usr/bin/env bash
# The accuracy algorithms of issue 16 against PPQ, in one run on one machine (docs/accuracy.md "Algorithms
# vs PPQ"). For every real model: QuantForge `quantize --backend onnxruntime` with the default config and with
# each run of the variant table (bench/lib/algorithm_variants.tsv), then PPQ 0.6.6 under the same scheme
# (uint8 asymmetric per-tensor activations, int8 symmetric per-channel weights) with its percentile, mse and
# minmax calibrations. Every exported QDQ model runs in ONNX Runtime (bench/lib/ort_accuracy.js) against the
# float model on held-out samples; wall time and peak RSS of each quantization come from /usr/bin/time -v.
usage() {
  cat <<'EOF'
usage: bench/algorithms.sh [options]
  --ppq DIR             PPQ source folder (holds ppq/; PPQ 0.6.6); without it PPQ is skipped with a message
  --qforge PATH         qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models "a b"        models (default: every model of ../shared/models and .cache/samples/models.tsv)
  --variants "a,b"      names of the variant table to run (default: all; "default" is always run)
  --table FILE          variant table (default: bench/lib/algorithm_variants.tsv)
  --depthwise "a b"     the depthwise models (default: ultraface_slim320 yunet_2022_120x160 ppocr_v4_det
                        ppocr_v4_rec ppocr_v2_cls: the ones with depthwise (grouped) Conv)
  --cnns "a b"          the CNNs the PPQ + 2 dB target is judged on (default: the models with Conv layers)
  --baseline FILE       default wall times to compare with ("model<TAB>wall s<TAB>MiB<TAB>CPU s" lines; default
                        bench/lib/default_wall_baseline.tsv, main before issue 16)
  --save-baseline FILE  write this run's default wall times there
  --max-samples N       qforge --max-samples (default 16)   --threads N  qforge --threads (default 2)
  --ort-opt LEVEL       ONNX Runtime graph optimization of the accuracy runs (default disabled, as
                        tools/oracle/ort_run.js; "all" runs the fused integer kernels)
  --timeout S           limit of one quantization in seconds (default 1800)
  --python PATH         python for PPQ (default /usr/bin/python3: Debian's python3-torch, python3-onnx)
  --work DIR            outputs (default build/algorithms)
  --write               put the tables into docs/accuracy.md between the algorithms-table markers
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, node, jq and /usr/bin/time.
EOF
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
source "$ROOT/bench/lib/algorithms_common.sh"
QFORGE="" PPQ="" MODELS="" VARIANTS="" TABLE_FILE="$ROOT/bench/lib/algorithm_variants.tsv"
DEPTHWISE="ultraface_slim320 yunet_2022_120x160 ppocr_v4_det ppocr_v4_rec ppocr_v2_cls"
CNNS="mnist_8 super_resolution ultraface_slim320 yunet_2022_120x160 ppocr_v4_det ppocr_v4_rec ppocr_v2_cls
      oww_melspectrogram oww_embedding"
BASELINE="$ROOT/bench/lib/default_wall_baseline.tsv" SAVE_BASELINE="" MAX_SAMPLES=16 THREADS=2 ORT_OPT=disabled TIMEOUT=1800 PYTHON=/usr/bin/python3
WORK="$ROOT/build/algorithms" WRITE=0 ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ppq) PPQ="$2"; shift 2 ;;
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --variants) VARIANTS="$2"; shift 2 ;;
    --table) TABLE_FILE="$2"; shift 2 ;;
    --depthwise) DEPTHWISE="$2"; shift 2 ;;
    --cnns) CNNS="$2"; shift 2 ;;
    --baseline) BASELINE="$2"; shift 2 ;;
    --save-baseline) SAVE_BASELINE="$2"; shift 2 ;;
    --max-samples) MAX_SAMPLES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --ort-opt) ORT_OPT="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --write) WRITE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "algorithms: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
find_qforge algorithms
for tool in jq node; do command -v $tool >/dev/null || { echo "algorithms: $tool not found" >&2; exit 1; }; done
[[ -x /usr/bin/time ]] || { echo "algorithms: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
[[ -f "$TABLE_FILE" ]] || { echo "algorithms: variant table $TABLE_FILE not found" >&2; exit 1; }
load_real_models
[[ -n "$MODELS" ]] || MODELS="${ORDER[*]}"
for n in $MODELS; do [[ -n "${MODEL_PATH[$n]:-}" ]] || { echo "algorithms: unknown model $n" >&2; exit 2; }; done

# PPQ: present (a folder with ppq/ and a python that imports torch and onnx) or skipped with the reason.
PPQ_NOTE=""
if [[ -z "$PPQ" ]]; then PPQ_NOTE="PPQ skipped: no --ppq folder given"
elif [[ ! -d "$PPQ/ppq" ]]; then PPQ_NOTE="PPQ skipped: $PPQ has no ppq/ folder"
elif ! "$PYTHON" -c 'import torch, onnx' 2>/dev/null; then
  PPQ_NOTE="PPQ skipped: $PYTHON cannot import torch and onnx (apt-get install python3-torch python3-onnx)"
fi
[[ -z "$PPQ_NOTE" ]] || echo "algorithms: $PPQ_NOTE" >&2
PPQ_CALIBRATIONS="percentile mse minmax"

# The variant table: names, model sets and configs, in file order.
declare -A V_MODELS V_CONFIG
V_NAMES=()
while IFS=$'\t' read -r name models config; do
  [[ -z "$VARIANTS" || "$name" == default || ",$VARIANTS," == *",$name,"* ]] || continue
  V_NAMES+=("$name"); V_MODELS[$name]="$models"; V_CONFIG[$name]="$config"
done < <(variant_rows "$TABLE_FILE")

slug() { echo "$1" | tr -c 'A-Za-z0-9_.\n-' '_'; }
applies() {  # variant model -> true when the variant runs on the model
  [[ "${V_MODELS[$1]}" == all ]] || [[ " $DEPTHWISE " == *" $2 "* ]]
}

# Results: CELL[model,run] = "sqnr cosine wall rss" or a message; RUNS[model] = the runs made, in order.
declare -A RESULT NOTE RUNS
mkdir -p "$WORK"

# accuracy_of OUT MODEL: reads OUT/ort.json written by ort_accuracy.js into "sqnr cosine".
measure() {  # qdq.onnx model out -> sets ACC="sqnr cosine" or returns 1 (reason in out/ort.log)
  local qdq="$1" n="$2" out="$3"
  node "$ROOT/bench/lib/ort_accuracy.js" --reference "${MODEL_PATH[$n]}" --model "$qdq" \
       --data "$WORK/$n/samples/eval" --opt-level "$ORT_OPT" > "$out/ort.json" 2> "$out/ort.log" || return 1
  ACC="$(jq -r '"\(.worst_sqnr // 1e308) \(.worst_cosine)"' "$out/ort.json")"
}

run_qforge() {  # model variant
  local n="$1" v="$2" out cfg=() status
  out="$WORK/$n/$(slug "$v")"; rm -rf "$out"; mkdir -p "$out"
  if [[ "${V_CONFIG[$v]}" != "-" ]]; then
    jq -c '{model_config: .}' <<<"${V_CONFIG[$v]}" > "$out.config.json"
    cfg=(--config "$out.config.json")
  fi
  status=0
  timed "$out.log" "$out" -- timeout "$TIMEOUT" "$QFORGE" quantize --model "${MODEL_PATH[$n]}" \
    --calib-data "$WORK/$n/samples/calib" --backend onnxruntime --output-dir "$out" "${cfg[@]}" \
    --max-samples "$MAX_SAMPLES" --threads "$THREADS" -q || status=$?
  record "$n" "$v" "$status" "$out" "$out/quantized_model.onnx"
}

record() {  # model run status out qdq -> RESULT or NOTE
  local n="$1" r="$2" status="$3" out="$4" qdq="$5"
  RUNS[$n]+="${r}"$'\n'
  if [[ $status == 124 ]]; then NOTE[$n,$r]="timeout after $TIMEOUT s"
  elif [[ $status != 0 ]] && grep -qE "unknown key|unknown [a-z -]+ '" "$out.log"; then
    NOTE[$n,$r]="n/a (key not supported by this build)"
  elif [[ $status != 0 ]]; then NOTE[$n,$r]="failed: $(grep -m1 -E 'error|failed' "$out.log" | cut -c1-160)"
  elif [[ ! -f "$qdq" ]]; then NOTE[$n,$r]="failed: no $(basename "$qdq") written"
  elif ! measure "$qdq" "$n" "$out"; then
    NOTE[$n,$r]="$([[ "$r" == PPQ* ]] && echo "PPQ failed: ONNX Runtime rejects its export: " || echo "ORT failed: ")"
    NOTE[$n,$r]+="$(ort_reason "$out/ort.log")"
  else RESULT[$n,$r]="$ACC $(time_of "$out")"; fi
  echo "algorithms: $n / $r: ${RESULT[$n,$r]:-${NOTE[$n,$r]}}" >&2
}

run_ppq() {  # model calibration
  local n="$1" c="$2" out status
  out="$WORK/$n/ppq_$c"; rm -rf "$out"; mkdir -p "$out"
  status=0
  ( cd "$out" && timed "$out.log" "$out" -- timeout "$TIMEOUT" "$PYTHON" "$ROOT/bench/lib/ppq_quantize.py" \
      --ppq "$PPQ" --model "${MODEL_PATH[$n]}" --calib "$WORK/$n/samples/calib" --calibration "$c" \
      --output "$out/quantized_model.onnx" ) || status=$?
  if [[ $status != 0 && $status != 124 ]]; then
    RUNS[$n]+="PPQ $c"$'\n'
    NOTE[$n,PPQ $c]="$(grep -m1 '^PPQ failed:' "$out.log" || echo "PPQ failed: exit $status, see $out.log")"
    NOTE[$n,PPQ $c]="${NOTE[$n,PPQ $c]:0:200}"
    echo "algorithms: $n / PPQ $c: ${NOTE[$n,PPQ $c]}" >&2
    return
  fi
  record "$n" "PPQ $c" "$status" "$out" "$out/quantized_model.onnx"
}

echo "algorithms: $(date -u +%H:%M:%S) start, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for n in $MODELS; do
  split_samples "${CALIB_DIR[$n]}" "$WORK/$n/samples" "${MODEL_PATH[$n]}"
  for v in "${V_NAMES[@]}"; do applies "$v" "$n" && run_qforge "$n" "$v"; done
  if [[ -z "$PPQ_NOTE" ]]; then for c in $PPQ_CALIBRATIONS; do run_ppq "$n" "$c"; done; fi
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

source "$ROOT/bench/lib/algorithms_tables.sh"
BLOCK="$(algorithms_block)"
echo "$BLOCK"
echo "$BLOCK" > "$WORK/algorithms.md"
if [[ -n "$SAVE_BASELINE" ]]; then
  for n in $MODELS; do
    [[ -n "${RESULT[$n,default]:-}" ]] || continue
    read -r _ _ wall rss cpu <<<"${RESULT[$n,default]}"
    printf '%s\t%s\t%s\t%s\n' "$n" "$wall" "$rss" "$cpu"
  done > "$SAVE_BASELINE"
  echo "algorithms: wrote $SAVE_BASELINE" >&2
fi
if [[ $WRITE == 1 ]]; then
  write_doc_block "$ROOT/docs/accuracy.md" '<!-- algorithms-table:begin (bench/algorithms.sh --write) -->' \
    '<!-- algorithms-table:end -->' "$BLOCK"
  echo "algorithms: wrote docs/accuracy.md" >&2
fi
