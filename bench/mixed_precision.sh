#!/usr/bin/env bash
# Automatic mixed precision on the real models: for each model, `qforge quantize` with the default config
# (all int8, model-wise best candidate), with all_node_type int16, and with mixed_precision_search
# (target: output cosine >= 0.9999 unless --target), read from each OUT/report.json. Prints a Markdown table
# of the worst output's SQNR (dB) and cosine, the number of escalated tensors and the search time; with
# --write it replaces the block between the markers in docs/accuracy.md.
usage() {
  cat <<'EOF'
usage: bench/mixed_precision.sh [options]
  --qforge PATH      qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models "a b"     models (default: every model in the shared folder and .cache/samples/models.tsv)
  --target X         cosine target (default 0.9999)
  --max-time S       mixed_precision_search.max_time in seconds (default 900)
  --max-samples N    calibration samples (default 16)
  --threads N        (default 2)
  --work DIR         keep outputs in DIR (default: a temp dir, removed at exit)
  --write            write the table into docs/accuracy.md
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, and jq.
EOF
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE="" MODELS="" TARGET=0.9999 MAX_TIME=900 MAX_SAMPLES=16 THREADS=2 WORK="" WRITE=0
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --target) TARGET="$2"; shift 2 ;;
    --max-time) MAX_TIME="$2"; shift 2 ;;
    --max-samples) MAX_SAMPLES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --write) WRITE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "mixed_precision: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
find_qforge mixed_precision
command -v jq >/dev/null || { echo "mixed_precision: needs jq" >&2; exit 1; }
if [[ -n "$WORK" ]]; then mkdir -p "$WORK"; else WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi

load_real_models
[[ -n "$MODELS" ]] || MODELS="${ORDER[*]}"

mkdir -p "$WORK/configs"
echo '{"model_config":{"all_node_type":"int16"}}' > "$WORK/configs/int16.json"
printf '{"model_config":{"mixed_precision_search":{"metric":"cosine-similarity","target":%s,"max_time":%s}}}\n' \
  "$TARGET" "$MAX_TIME" > "$WORK/configs/mixed.json"


ROWS=()
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" ]] || { echo "mixed_precision: unknown model $n" >&2; exit 2; }
  row="| $n"
  for c in int8 int16 mixed; do
    out="$WORK/$n/$c"
    rm -rf "$out"; mkdir -p "$(dirname "$out")"
    cfg=()
    [[ "$c" == int8 ]] || cfg=(--config "$WORK/configs/$c.json")
    start=$(date +%s)
    if ! "$QFORGE" quantize --model "${MODEL_PATH[$n]}" --calib-data "${CALIB_DIR[$n]}" --output-dir "$out" \
         "${cfg[@]}" --max-samples "$MAX_SAMPLES" --threads "$THREADS" -q > "$out.log" 2>&1; then
      echo "mixed_precision: $n $c failed: $(tail -1 "$out.log")" >&2
      row+=" | FAILED"; [[ "$c" == mixed ]] && row+=" | | | "
      continue
    fi
    read -r s co < <(worst_of "$out/report.json")
    echo "mixed_precision: $n $c: $(fmt_cell "$s" "$co") ($(( $(date +%s) - start )) s)" >&2
    row+=" | $(fmt_cell "$s" "$co")"
    if [[ "$c" == mixed ]]; then
      escalated=$(jq -r '(.search.tradeoff // []) | last | .escalated // 0' "$out/report.json")
      tensors=$(jq -r '.plan.activations + .plan.weights' "$out/report.json" 2>/dev/null || echo "?")
      seconds=$(jq -r '[.stages[] | select(.name == "search") | .seconds] | add | . * 10 | round / 10' "$out/report.json")
      evals=$(jq -r '.search.evaluations // "?"' "$out/report.json")
      reached=$(awk -v c="$co" -v t="$TARGET" 'BEGIN { print (c >= t ? "yes" : "**no**") }')
      row+=" | $escalated of $tensors | $reached | $seconds s ($evals evaluations)"
    fi
  done
  ROWS+=("$row |")
done

BLOCK="$(
  echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/mixed_precision.sh${ARGS:+ $ARGS}\`"
  echo "(quantize --max-samples $MAX_SAMPLES --threads $THREADS, $(nproc) cores; SQNR dB / cosine of the worst output)."
  echo
  echo "| model | all int8 (default) | all int16 | mixed precision (target cos ≥ $TARGET) | escalated tensors | target reached | search time |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
)"
echo "$BLOCK"

if [[ $WRITE == 1 ]]; then
  write_doc_block "$ROOT/docs/accuracy.md" '<!-- mixed-precision-table:begin (bench/mixed_precision.sh --write) -->' \
    '<!-- mixed-precision-table:end -->' "$BLOCK"
  echo "mixed_precision: wrote docs/accuracy.md" >&2
fi
