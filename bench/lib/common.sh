# Shared by the bench scripts (source it after setting ROOT). Provides:
#   find_qforge NAME       sets QFORGE (if empty) to build/release/bin/qforge, else the newest build/*/bin/qforge;
#                          exits with "NAME: ..." when there is none
#   load_real_models       fills MODEL_PATH[name], CALIB_DIR[name] and ORDER (shared models first, then the
#                          npm manifest .cache/samples/models.tsv written by scripts/fetch_models.sh)
#   write_doc_block DOC BEGIN END BLOCK   replaces the lines between the two marker lines of DOC by BLOCK
SHARED="${QF_SHARED_DIR:-$ROOT/../shared}/models"
SAMPLES="${QF_SAMPLES_DIR:-$ROOT/.cache/samples}"

find_qforge() {
  if [[ -z "${QFORGE:-}" ]]; then
    if [[ -x "$ROOT/build/release/bin/qforge" ]]; then QFORGE="$ROOT/build/release/bin/qforge"
    else QFORGE="$(ls -t "$ROOT"/build/*/bin/qforge 2>/dev/null | head -1 || true)"; fi
  fi
  [[ -x "$QFORGE" ]] || { echo "$1: qforge binary not found (build first or pass --qforge PATH)" >&2; exit 1; }
}

declare -A MODEL_PATH CALIB_DIR
ORDER=()
load_real_models() {
  local m n p
  for m in "$SHARED"/*.onnx; do
    [[ -e "$m" ]] || continue
    n="$(basename "$m" .onnx)"; MODEL_PATH[$n]="$m"; CALIB_DIR[$n]="$SHARED/inputs/$n"; ORDER+=("$n")
  done
  if [[ -f "$SAMPLES/models.tsv" ]]; then
    while IFS=$'\t' read -r n p; do
      [[ -n "$n" ]] || continue
      MODEL_PATH[$n]="$p"; CALIB_DIR[$n]="$SAMPLES/$n"; ORDER+=("$n")
    done < "$SAMPLES/models.tsv"
  fi
}

write_doc_block() {
  local doc="$1" begin="$2" end="$3" block="$4" tmp
  grep -qF "$begin" "$doc" && grep -qF "$end" "$doc" || { echo "markers missing in $doc: $begin" >&2; return 1; }
  tmp="$(mktemp "$doc.XXXXXX")"
  awk -v begin="$begin" -v end="$end" -v block_file=<(echo "$block") '
    $0 == begin { print; while ((getline l < block_file) > 0) print l; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }' "$doc" > "$tmp"
  mv "$tmp" "$doc"
}

# "<min sqnr> <min cosine>" over the outputs of a qforge report.json (sqnr null = identical = +inf).
worst_of() {
  jq -r '[.outputs[]?] as $o | "\([$o[] | (.sqnr // 1e308)] | min) \([$o[] | (.cosine // 1)] | min)"' "$1"
}
# "SQNR / cosine" table cell ("inf" for identical outputs).
fmt_cell() {
  awk -v s="$1" -v c="$2" 'BEGIN { if (s >= 1e300) printf "inf"; else printf "%.2f", s; printf " / %.6f", c }'
}
