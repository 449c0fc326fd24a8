#!/usr/bin/env bash
# Accuracy of `qforge quantize` on every real model: the default config (modelwise search over the 12
# max/kl candidates), each single calibrator (max, min-max, percentile, kl, mse) and all-int16, read from
# OUT/report.json (float model vs calibrated model on the evaluation samples). Prints a Markdown table
# (SQNR dB / cosine per cell; worst output when a model has several) and, with --write, puts it into
# docs/accuracy.md between the accuracy-table markers.
#   bench/accuracy.sh [--qforge PATH] [--models "a b"] [--max-samples 16] [--threads 2] [--work DIR] [--write]
# Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, and jq.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE=""
MODELS=""
MAX_SAMPLES=16
THREADS=2
WORK="$ROOT/build/accuracy"
WRITE=0
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --max-samples) MAX_SAMPLES="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --write) WRITE=1; shift ;;
    *) echo "accuracy: unknown argument $1" >&2; exit 2 ;;
  esac
done
find_qforge accuracy
command -v jq >/dev/null || { echo "accuracy: jq not found (apt-get install jq)" >&2; exit 1; }
[[ -f "$SAMPLES/models.tsv" ]] || { echo "accuracy: $SAMPLES/models.tsv missing: run scripts/fetch_models.sh" >&2; exit 1; }
load_real_models
[[ -n "$MODELS" ]] || MODELS="${ORDER[*]}"

# Configurations, in column order; "default" runs without --config.
CONFIGS=(default max min-max percentile kl mse all-int16)
mkdir -p "$WORK/configs"
for c in max min-max percentile kl mse; do
  printf '{"model_config":{"activation":{"calibration_type":"%s"}}}\n' "$c" > "$WORK/configs/$c.json"
done
echo '{"model_config":{"all_node_type":"int16"}}' > "$WORK/configs/all-int16.json"

# Worst output of a report: "<min sqnr> <min cosine> <outputs>"; sqnr null (identical) counts as +inf.
worst_of() {
  jq -r '[.outputs[]?] as $o
         | ([$o[] | (.sqnr // 1e308)] | min) as $s
         | ([$o[] | (.cosine // 1)] | min) as $c
         | "\($s) \($c) \($o | length)"' "$1"
}

fmt_cell() {  # sqnr cosine -> "41.23 / 0.999925"
  awk -v s="$1" -v c="$2" 'BEGIN { if (s >= 1e300) printf "inf"; else printf "%.2f", s; printf " / %.6f", c }'
}

declare -A SQNR COS NOUT
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" ]] || { echo "accuracy: unknown model $n" >&2; exit 2; }
  for c in "${CONFIGS[@]}"; do
    out="$WORK/$n/$c"
    rm -rf "$out"; mkdir -p "$out"
    cfg=()
    [[ "$c" == default ]] || cfg=(--config "$WORK/configs/$c.json")
    start=$(date +%s)
    if "$QFORGE" quantize --model "${MODEL_PATH[$n]}" --calib-data "${CALIB_DIR[$n]}" --output-dir "$out" \
         "${cfg[@]}" --max-samples "$MAX_SAMPLES" --threads "$THREADS" -q > "$out.log" 2>&1 \
       && [[ -f "$out/report.json" ]]; then
      read -r s co no < <(worst_of "$out/report.json")
      SQNR[$n,$c]="$s"; COS[$n,$c]="$co"; NOUT[$n]="$no"
      echo "accuracy: $n $c: $(fmt_cell "$s" "$co") ($(( $(date +%s) - start )) s)" >&2
    else
      echo "accuracy: $n $c: qforge quantize failed, see $out.log" >&2
    fi
  done
done

# The table. Marks: (a) default below a single calibrator's SQNR by more than rounding (0.005 dB);
# (b) all-int16 below 45 dB.
TABLE="$(
  echo "| model | default (SQNR / cos) | max | min-max | percentile | kl | mse | all-int16 |"
  echo "|---|---|---|---|---|---|---|---|"
  for n in $MODELS; do
    name="$n"
    [[ "${NOUT[$n]:-1}" -gt 1 ]] && name="$n (worst of ${NOUT[$n]} outputs)"
    row="| $name"
    for c in "${CONFIGS[@]}"; do
      if [[ -z "${SQNR[$n,$c]:-}" ]]; then row+=" | FAILED"; continue; fi
      cell="$(fmt_cell "${SQNR[$n,$c]}" "${COS[$n,$c]}")"
      if [[ "$c" == default ]]; then
        for s in max min-max percentile kl mse; do
          [[ -n "${SQNR[$n,$s]:-}" ]] || continue
          if awk -v d="${SQNR[$n,default]}" -v x="${SQNR[$n,$s]}" 'BEGIN { exit !(d < x - 0.005) }'; then
            cell+=" **(a)**"; break
          fi
        done
      fi
      if [[ "$c" == all-int16 ]] && awk -v x="${SQNR[$n,$c]}" 'BEGIN { exit !(x < 45) }'; then cell+=" **(b)**"; fi
      row+=" | $cell"
    done
    echo "$row |"
  done
  echo
  echo "**(a)**: the default config's SQNR is below a single calibrator's (by more than 0.005 dB)."
  echo "**(b)**: all-int16 is below 45 dB."
)"

# The worst nodes (node cosine vs float) of the rows that miss a requirement, for whoever tunes them.
DETAILS="$(
  for n in $MODELS; do
    for c in default all-int16; do
      [[ -n "${SQNR[$n,$c]:-}" ]] || continue
      miss=0
      if [[ "$c" == all-int16 ]]; then
        awk -v x="${SQNR[$n,$c]}" 'BEGIN { exit !(x < 45) }' && miss=1
      else
        for s in max min-max percentile kl mse; do
          [[ -n "${SQNR[$n,$s]:-}" ]] || continue
          awk -v d="${SQNR[$n,default]}" -v x="${SQNR[$n,$s]}" 'BEGIN { exit !(d < x - 0.005) }' && miss=1
        done
      fi
      [[ $miss == 1 ]] || continue
      chosen="$(jq -r '.search.chosen // "?"' "$WORK/$n/$c/report.json")"
      worst="$(jq -r '[.nodes[]? | select(.cosine != null)] | sort_by(.cosine) | .[:3]
                      | map("`\(.name)` (\(.op), \(.dtype), \(.cosine | tostring | .[:8]))") | join(", ")' \
               "$WORK/$n/$c/report.json")"
      echo "- $n, $c (chosen: \`$chosen\`): worst nodes $worst"
    done
  done
)"

BLOCK="$(
  echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/accuracy.sh${ARGS:+ $ARGS}\`"
  echo "(\`$(basename "$QFORGE")\` quantize --max-samples $MAX_SAMPLES --threads $THREADS -q, $(nproc) cores)."
  echo
  echo "$TABLE"
  if [[ -n "$DETAILS" ]]; then
    echo
    echo "Rows that miss a requirement, with their three worst nodes (node output cosine vs float):"
    echo
    echo "$DETAILS"
  fi
)"
echo "$BLOCK"

if [[ $WRITE == 1 ]]; then
  write_doc_block "$ROOT/docs/accuracy.md" '<!-- accuracy-table:begin (bench/accuracy.sh --write) -->' \
    '<!-- accuracy-table:end -->' "$BLOCK"
  echo "accuracy: wrote docs/accuracy.md" >&2
fi
