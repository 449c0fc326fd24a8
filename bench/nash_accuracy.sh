#!/usr/bin/env bash
# The nash backend's int8 constraints and what error compensation recovers: for each real model,
# `qforge quantize --backend nash` all int8, all_node_type int16 (Conv/ConvTranspose weights, Resize and
# GridSample inputs and MatMul input 1 stay int8), and all_node_type dual-int16 (those inputs int16-ec),
# next to all int16 on the unconstrained generic backend. Prints a Markdown table of the worst output's
# SQNR (dB) / cosine and the share of the constrained-int16 gap ec closes (in dB); with --write it replaces
# the block between the markers in docs/accuracy.md.
usage() {
  cat <<'EOF'
usage: bench/nash_accuracy.sh [options]
  --qforge PATH      qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models "a b"     models (default: every model in the shared folder and .cache/samples/models.tsv)
  --calibration T    activation calibration_type (default max: one candidate, so the table isolates dtypes)
  --max-samples N    calibration samples (default 8)
  --threads N        (default 2)
  --work DIR         keep outputs in DIR (default: a temp dir, removed at exit)
  --write            write the table into docs/accuracy.md
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, and jq.
EOF
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE="" MODELS="" CALIBRATION=max MAX_SAMPLES=8 THREADS=2 WORK="" WRITE=0
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --calibration) CALIBRATION="$2"; shift 2 ;;
    --max-samples) MAX_SAMPLES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --write) WRITE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "nash_accuracy: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
find_qforge nash_accuracy
command -v jq >/dev/null || { echo "nash_accuracy: needs jq" >&2; exit 1; }
if [[ -n "$WORK" ]]; then mkdir -p "$WORK"; else WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi

load_real_models
[[ -n "$MODELS" ]] || MODELS="${ORDER[*]}"

mkdir -p "$WORK/configs"
config() {  # name backend all_node_type
  printf '{"backend":"%s","model_config":{"all_node_type":"%s","activation":{"calibration_type":"%s"}}}\n' \
    "$2" "$3" "$CALIBRATION" > "$WORK/configs/$1.json"
}
config int8 nash int8
config int16 nash int16
config ec nash dual-int16
config generic16 generic int16


ROWS=()
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" ]] || { echo "nash_accuracy: unknown model $n" >&2; exit 2; }
  row="| $n"
  declare -A SQNR=()
  for c in int8 int16 ec generic16; do
    out="$WORK/$n/$c"
    rm -rf "$out"; mkdir -p "$(dirname "$out")"
    start=$(date +%s)
    if ! "$QFORGE" quantize --model "${MODEL_PATH[$n]}" --calib-data "${CALIB_DIR[$n]}" --output-dir "$out" \
         --config "$WORK/configs/$c.json" --max-samples "$MAX_SAMPLES" --threads "$THREADS" -q > "$out.log" 2>&1; then
      echo "nash_accuracy: $n $c failed: $(tail -1 "$out.log")" >&2
      row+=" | FAILED"; SQNR[$c]=nan
      continue
    fi
    read -r s co < <(worst_of "$out/report.json")
    SQNR[$c]=$s
    echo "nash_accuracy: $n $c: $(fmt_cell "$s" "$co") ($(( $(date +%s) - start )) s)" >&2
    row+=" | $(fmt_cell "$s" "$co")"
  done
  ec_tensors=$(jq -r '.export.int16_ec_points // "?"' "$WORK/$n/ec/report.json" 2>/dev/null || echo "?")
  closed=$(awk -v c="${SQNR[int16]}" -v e="${SQNR[ec]}" -v u="${SQNR[generic16]}" 'BEGIN {
    if (c == "nan" || e == "nan" || u == "nan") { print "-"; exit }
    if (u >= 1e300) u = 200; if (e >= 1e300) e = 200; if (c >= 1e300) c = 200;
    if (u - c < 0.5) { print "no gap"; exit }
    printf "%.0f%%", 100 * (e - c) / (u - c) }')
  row+=" | $closed | $ec_tensors"
  ROWS+=("$row |")
  unset SQNR
done

BLOCK="$(
  echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/nash_accuracy.sh${ARGS:+ $ARGS}\`"
  echo "(quantize --max-samples $MAX_SAMPLES --threads $THREADS, calibration_type $CALIBRATION, $(nproc) cores; SQNR dB / cosine of the worst output)."
  echo
  echo "| model | nash all int8 | nash all int16 (int8 constraints) | nash all int16 + int16-ec (dual-int16) | generic all int16 (no constraints) | constrained-int16 gap closed by ec (dB) | int16-ec points |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
)"
echo "$BLOCK"

if [[ $WRITE == 1 ]]; then
  write_doc_block "$ROOT/docs/accuracy.md" '<!-- nash-table:begin (bench/nash_accuracy.sh --write) -->' \
    '<!-- nash-table:end -->' "$BLOCK"
  echo "nash_accuracy: wrote docs/accuracy.md" >&2
fi
