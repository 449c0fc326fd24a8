#!/usr/bin/env bash
# Transformers and language models in every mode issue 12 names: for each model, `qforge quantize` with the
# default config, --backend onnxruntime, --backend nash, all_node_type int16, weight-only int8 per output
# channel and weight-only int4 in blocks of 32. Per mode: worst output SQNR (dB) / cosine, top-1 agreement
# of the logits (report.json), wall time, and whether ONNX Runtime runs the export at graph optimisation
# disabled and all: the worst cosine of ORT's outputs against `qforge run` on calibrated_model.onnx over the
# evaluated samples. Prints a Markdown table; --write puts it into docs/accuracy.md between the markers.
usage() {
  cat <<'EOF2'
usage: bench/transformer_accuracy.sh [options]
  --qforge PATH      qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models "a b"     models (default: vit_fmnist_tiny capp_gpt2_tiny; any name from the shared folder or
                     .cache/samples/models.tsv, or a path to a .onnx with --calib DIR)
  --calib DIR        sample folder for a model given by path
  --modes "a b"      subset of: default onnxruntime nash int16 wo_int8 wo_int4_b32
  --ort-samples N    samples compared against ONNX Runtime (default 4)
  --threads N        (default 2)
  --work DIR         keep outputs in DIR (default: a temp dir, removed at exit)
  --write            write the table into docs/accuracy.md
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once (onnxruntime-node), jq, node.
EOF2
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE="" MODELS="vit_fmnist_tiny capp_gpt2_tiny" CALIB="" THREADS=2 WORK="" WRITE=0 ORT_SAMPLES=4
MODES="default onnxruntime nash int16 wo_int8 wo_int4_b32"
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --calib) CALIB="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    --ort-samples) ORT_SAMPLES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --write) WRITE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "transformer_accuracy: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
find_qforge transformer_accuracy
command -v jq >/dev/null || { echo "transformer_accuracy: needs jq" >&2; exit 1; }
if [[ -n "$WORK" ]]; then mkdir -p "$WORK"; else WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi
ORT_RUN="$ROOT/tools/oracle/ort_run.js" NPY_DIFF="$ROOT/tools/oracle/npy_diff.js"
load_real_models

mkdir -p "$WORK/configs"
cfg() { echo "$2" > "$WORK/configs/$1.json"; }
cfg default '{}'
cfg onnxruntime '{"backend": "onnxruntime"}'
cfg nash '{"backend": "nash"}'
cfg int16 '{"model_config": {"all_node_type": "int16"}}'
cfg wo_int8 '{"model_config": {"weight": {"weight_only": {"dtype": "int8", "block_size": 0}}}}'
cfg wo_int4_b32 '{"model_config": {"weight": {"weight_only": {"dtype": "int4", "block_size": 32}}}}'

# Worst cosine of ORT (at optimisation level $3) against qforge run on calibrated_model.onnx, over the
# first $ORT_SAMPLES samples; "fails" when ORT cannot load or run the export.
ort_agreement() {  # out_dir calib_dir level
  local out="$1" calib="$2" level="$3" worst=1 s k=0 c
  for s in "$calib"/*/; do
    [[ $k -lt $ORT_SAMPLES ]] || break; k=$((k + 1))
    rm -rf "$out/ort_$level" "$out/sim"; mkdir -p "$out/ort_$level" "$out/sim"
    node "$ORT_RUN" --model "$out/quantized_model.onnx" --inputs "$s" --output-dir "$out/ort_$level" \
         --opt-level "$level" > "$out/ort_$level.log" 2>&1 || { echo "fails"; return; }
    "$QFORGE" run --model "$out/calibrated_model.onnx" --inputs "$s" --output-dir "$out/sim" -q > /dev/null 2>&1 ||
      { echo "sim fails"; return; }
    c=$(node "$NPY_DIFF" "$out/sim" "$out/ort_$level" | sed -n 's/.*cosine=\([0-9.eE+-]*\).*/\1/p' | sort -g | head -1)
    worst=$(awk -v a="$worst" -v b="${c:-1}" 'BEGIN { print (b < a ? b : a) }')
  done
  printf '%.6f' "$worst"
}

ROWS=()
for n in $MODELS; do
  model="${MODEL_PATH[$n]:-}" calib="${CALIB_DIR[$n]:-}"
  if [[ -z "$model" && -f "$n" ]]; then model="$n" calib="$CALIB"; n="$(basename "$n" .onnx)"; fi
  [[ -n "$model" && -d "$calib" ]] || { echo "transformer_accuracy: unknown model or samples: $n" >&2; exit 2; }
  for mode in $MODES; do
    out="$WORK/$n/$mode"; rm -rf "$out"; mkdir -p "$(dirname "$out")"
    start=$(date +%s.%N)
    if ! "$QFORGE" quantize --model "$model" --calib-data "$calib" --output-dir "$out" \
         --config "$WORK/configs/$mode.json" --threads "$THREADS" -q > "$out.log" 2>&1; then
      echo "transformer_accuracy: $n $mode failed: $(tail -1 "$out.log")" >&2
      ROWS+=("| $n | $mode | FAILED: $(tail -1 "$out.log" | cut -c1-80) | | | | | |"); continue
    fi
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    read -r s co < <(worst_of "$out/report.json")
    top1=$(jq -r '[.outputs[] | select(.top1 != null) | .top1] | if length == 0 then "-" else (min * 100 | tostring) end' "$out/report.json")
    [[ "$top1" == "-" ]] || top1="$(printf '%.2f %%' "$top1")"
    ort_off=$(ort_agreement "$out" "$calib" disabled) ort_all=$(ort_agreement "$out" "$calib" all)
    echo "transformer_accuracy: $n $mode: $(fmt_cell "$s" "$co"), top1 $top1, ${wall} s, ORT $ort_off / $ort_all" >&2
    ROWS+=("| $n | $mode | $(fmt_cell "$s" "$co") | $top1 | $wall | $ort_off | $ort_all |")
  done
done

BLOCK="$(
  echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/transformer_accuracy.sh${ARGS:+ $ARGS}\`"
  echo "($(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); quantize --threads $THREADS, every sample of the model's folder; SQNR dB / cosine of the worst output, top-1 agreement of the logits over every position of every evaluation sample; ORT columns: worst cosine of ONNX Runtime on quantized_model.onnx against \`qforge run\` on calibrated_model.onnx over $ORT_SAMPLES samples, at graph optimisation disabled / all)."
  echo
  echo "| model | mode | SQNR dB / cosine | top-1 | wall s | ORT disabled | ORT all |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
)"
echo "$BLOCK"
if [[ $WRITE == 1 ]]; then
  write_doc_block "$ROOT/docs/accuracy.md" '<!-- transformer-table:begin (bench/transformer_accuracy.sh --write) -->' \
    '<!-- transformer-table:end -->' "$BLOCK"
  echo "transformer_accuracy: wrote docs/accuracy.md" >&2
fi
