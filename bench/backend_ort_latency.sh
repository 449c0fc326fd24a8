#!/usr/bin/env bash
# What a backend description buys in the runtime it describes: each real model quantized for the
# `generic` backend (int8 symmetric everywhere) and for the `onnxruntime` backend (uint8 asymmetric
# activations, int8 per-channel weights, only ops ORT has QDQ kernels for, its fusions), then the float
# model and both QDQ exports timed in ONNX Runtime's CPU provider with graph optimisation "all" (median
# of N runs after a warm-up, sample_000). Prints a Markdown table with latency ratios to float and the
# worst output's SQNR of each export; with --write it replaces the block in docs/performance.md.
usage() {
  cat <<'EOF'
usage: bench/backend_ort_latency.sh [options]
  --qforge PATH      qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models "a b"     models (default: the CNNs mnist_8 super_resolution ultraface_slim320 yunet_2022_120x160
                     ppocr_v4_det ppocr_v4_rec ppocr_v2_cls oww_embedding)
  --runs N           timed runs per model (default 20)
  --threads N        ONNX Runtime intra-op threads and quantize threads (default 1)
  --max-samples N    calibration samples (default 8)
  --write            write the table into docs/performance.md
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, node and jq.
EOF
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE="" RUNS=20 THREADS=1 MAX_SAMPLES=8 WRITE=0
MODELS="mnist_8 super_resolution ultraface_slim320 yunet_2022_120x160 ppocr_v4_det ppocr_v4_rec ppocr_v2_cls oww_embedding"
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --max-samples) MAX_SAMPLES="$2"; shift 2 ;;
    --write) WRITE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "backend_ort_latency: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
find_qforge backend_ort_latency
command -v jq >/dev/null || { echo "backend_ort_latency: needs jq" >&2; exit 1; }
load_real_models
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
median_of() { sed -n 's/.*latency_ms median=\([0-9.eE+-]*\).*/\1/p' | tail -1; }
ort_ms() {  # model sample
  node "$ROOT/tools/oracle/ort_run.js" --model "$1" --inputs "$2" --threads "$THREADS" --benchmark "$RUNS" \
    --opt-level all 2>>"$WORK/err" | median_of
}

ROWS=()
declare -A LOGSUM=()
COUNT=0
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" && -d "${CALIB_DIR[$n]}/sample_000" ]] || { echo "backend_ort_latency: no model/sample for $n, skipped" >&2; continue; }
  sample="${CALIB_DIR[$n]}/sample_000"
  f="$(ort_ms "${MODEL_PATH[$n]}" "$sample")"
  row="| $n | $(printf %.3f "$f")"
  ok=1
  for b in generic onnxruntime; do
    out="$WORK/$n/$b"; mkdir -p "$WORK/$n"
    echo '{"model_config":{"activation":{"calibration_type":"max"}}}' > "$WORK/config.json"
    if ! "$QFORGE" quantize -q --model "${MODEL_PATH[$n]}" --calib-data "${CALIB_DIR[$n]}" --output-dir "$out" \
         --backend "$b" --config "$WORK/config.json" --max-samples "$MAX_SAMPLES" --threads 2 >"$out.log" 2>&1; then
      echo "backend_ort_latency: $n $b quantize failed: $(tail -1 "$out.log")" >&2; row+=" | FAILED | | "; ok=0; continue
    fi
    q="$(ort_ms "$out/quantized_model.onnx" "$sample")"
    sq="$(worst_of "$out/report.json" | awk '{ if ($1 >= 1e300) print "inf"; else printf "%.1f", $1 }')"
    if [[ -z "$q" ]]; then row+=" | ORT failed | | $sq"; ok=0; continue; fi
    r="$(awk -v a="$q" -v b="$f" 'BEGIN{printf "%.2f", a/b}')"
    row+=" | $(printf %.3f "$q") | $r | $sq"
    LOGSUM[$b]="$(awk -v s="${LOGSUM[$b]:-0}" -v a="$q" -v b="$f" 'BEGIN{printf "%.12f", s + log(a/b)}')"
    echo "backend_ort_latency: $n $b: ${q} ms vs float ${f} ms (SQNR $sq dB)" >&2
  done
  [[ $ok == 1 ]] && COUNT=$((COUNT + 1))
  ROWS+=("$row |")
done
geo() { awk -v s="${LOGSUM[$1]:-0}" -v n="$COUNT" 'BEGIN{ if (n > 0) printf "%.2f", exp(s / n); else printf "-" }'; }

BLOCK="$(
  echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/backend_ort_latency.sh${ARGS:+ $ARGS}\` (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown),"
  echo "onnxruntime-node $(node -e "console.log(require('$ROOT/.cache/npm/node_modules/onnxruntime-node/package.json').version)" 2>/dev/null || echo '?'), graph optimisation all, $THREADS thread(s), median of $RUNS runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))."
  echo
  echo "| model | float ms | generic QDQ ms | ratio to float | generic SQNR dB | onnxruntime QDQ ms | ratio to float | onnxruntime SQNR dB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo "| geometric mean of ratios | | | $(geo generic) | | | $(geo onnxruntime) | |"
)"
echo "$BLOCK"
if [[ $WRITE == 1 ]]; then
  write_doc_block "$ROOT/docs/performance.md" '<!-- backend-ort-latency:begin (bench/backend_ort_latency.sh --write) -->' \
    '<!-- backend-ort-latency:end -->' "$BLOCK"
  echo "backend_ort_latency: wrote docs/performance.md" >&2
fi
