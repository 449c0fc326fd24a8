#!/usr/bin/env bash
# Time and memory of `qforge quantize` with the default config (no --config) on the real models.
# Prints two Markdown tables:
#   1. seconds per pipeline stage and peak RSS per model, from OUT/report.json, with the peak RSS
#      cross-checked against /usr/bin/time -f %M (the larger is shown, tagged with its source);
#   2. peak RSS and calibrate time at 16, 64 and 256 calibration samples (--max-samples) for a few models.
#      The 256 samples are perturbed copies of the few real ones (bench/lib/perturb_samples.js: copy k of
#      real sample k % R, uniform noise of +-2% of the tensor's std past the first R): they exercise the
#      sample count, not the accuracy. Flat RSS is the goal, hence the RSS(256)/RSS(16) column.
usage() {
  cat <<'EOF'
usage: bench/quantize_bench.sh [options]
  --qforge PATH        qforge binary (default: build/release/bin/qforge, else the newest build/*/bin/qforge)
  --models a,b,c       models of table 1 (default: the 12 real models of bench/compare_ort.sh)
  --all                table 1 on every model in the shared folder and .cache/samples/models.tsv
  --rss-models a,b     models of table 2 (default: ultraface_slim320,ppocr_v2_cls,yunet_2022_120x160;
                       "" skips table 2)
  --sizes "16 64 256"  calibration sample counts of table 2 (the largest is generated)
  --threads N          qforge --threads (default 2)
  --quick              fewer models: table 1 on mnist_8,yunet_2022_120x160,ultraface_slim320,ppocr_v2_cls,
                       table 2 on ultraface_slim320,ppocr_v2_cls
  --keep DIR           keep outputs and generated samples in DIR (default: a temp dir, removed at exit)
  -h, --help           this help
Needs ../shared/models (or $QF_SHARED_DIR), scripts/fetch_models.sh run once, node and /usr/bin/time.
EOF
}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/lib/common.sh"
QFORGE=""
THREADS=2
MODELS="mnist_8 super_resolution ultraface_slim320 yunet_2022_120x160 ppocr_v4_det ppocr_v4_rec ppocr_v2_cls
        oww_melspectrogram oww_embedding oww_hey_jarvis silero_vad_v4 silero_vad_v5"
RSS_MODELS="ultraface_slim320 ppocr_v2_cls yunet_2022_120x160"
SIZES="16 64 256"
KEEP=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --qforge) QFORGE="$2"; shift 2 ;;
    --models) MODELS="${2//,/ }"; shift 2 ;;
    --all) MODELS=""; shift ;;
    --rss-models) RSS_MODELS="${2//,/ }"; shift 2 ;;
    --sizes) SIZES="${2//,/ }"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --quick) MODELS="mnist_8 yunet_2022_120x160 ultraface_slim320 ppocr_v2_cls"
             RSS_MODELS="ultraface_slim320 ppocr_v2_cls"; shift ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quantize_bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
find_qforge quantize_bench
[[ -x /usr/bin/time ]] || { echo "quantize_bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
command -v jq >/dev/null || { echo "quantize_bench: jq missing" >&2; exit 1; }

# name -> model path and real sample folder, from the shared folder and the npm manifest.
load_real_models
if [[ -z "$MODELS" ]]; then MODELS="$(printf '%s\n' "${!MODEL_PATH[@]}" | sort | tr '\n' ' ')"; fi

if [[ -n "$KEEP" ]]; then TMP="$KEEP"; mkdir -p "$TMP"
else TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT; fi
FAILURES=()
load1() { cut -d' ' -f1 /proc/loadavg; }

# run_quantize NAME CALIB_DIR OUT [extra args...]: runs qforge under /usr/bin/time; sets RUN_OK, TIME_KB.
run_quantize() {
  local name="$1" calib="$2" out="$3"; shift 3
  rm -rf "$out"; mkdir -p "$out"
  RUN_OK=1; TIME_KB=""
  if ! /usr/bin/time -f %M -o "$out.time" "$QFORGE" quantize -q --model "${MODEL_PATH[$name]}" --calib-data "$calib" \
        --output-dir "$out" --threads "$THREADS" "$@" >"$out.log" 2>"$out.err" || [[ ! -f "$out/report.json" ]]; then
    RUN_OK=0
    FAILURES+=("$name $*: $(tail -c 600 "$out.err" | tr '\n' ' ')")
    echo "quantize_bench: $name $* failed: $(tail -c 600 "$out.err")" >&2
    return
  fi
  TIME_KB="$(tail -1 "$out.time")"
}
# Larger of report.json's peak_rss_mb and /usr/bin/time's max RSS, tagged with where it came from.
peak_rss() {
  local report_mb time_mb
  report_mb="$(jq -r '.peak_rss_mb // 0' "$1/report.json")"
  time_mb="$(awk -v k="$TIME_KB" 'BEGIN{printf "%.1f", k/1024}')"
  awk -v r="$report_mb" -v t="$time_mb" 'BEGIN{ if (t > r) printf "%.1f (time)", t; else printf "%.1f (report)", r }'
}
# Seconds of one stage (summed if it appears twice), 3 decimals; "-" when the report has no such stage.
stage() {
  jq -r --arg s "$2" '[.stages[] | select(.name == $s) | .seconds] | if length == 0 then "-" else add end' "$1/report.json" \
    | awk '{ if ($1 == "-") print "-"; else printf "%.3f\n", $1 }'
}

COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$ROOT" status --porcelain -- framework plugins sdk 2>/dev/null | wc -l)"
echo "# qforge quantize, default config, --threads $THREADS: $QFORGE ($("$QFORGE" --version 2>/dev/null | head -1)," \
     "built $(date -r "$QFORGE" '+%Y-%m-%d %H:%M'))"
echo "# commit $COMMIT ($DIRTY uncommitted files under framework/ plugins/ sdk/), $(date '+%Y-%m-%d %H:%M %Z')," \
     "$(lscpu | sed -n 's/^Model name: *//p' | head -1), nproc $(nproc), $(free -m | awk '/^Mem:/{print $2}') MB RAM," \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "## Time per stage (s) and peak RSS, all real calibration samples"
echo
echo "| model | samples | optimize | plan | calibrate | search | evaluate | export | total s | peak RSS MB | load 1m |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $MODELS; do
  [[ -n "${MODEL_PATH[$n]:-}" && -d "${CALIB_DIR[$n]:-}" ]] || { echo "quantize_bench: no model/samples for $n, skipped" >&2; continue; }
  load="$(load1)"
  run_quantize "$n" "${CALIB_DIR[$n]}" "$TMP/out/$n"
  if [[ $RUN_OK == 0 ]]; then echo "| $n | fail | | | | | | | | | $load |"; continue; fi
  r="$TMP/out/$n"
  samples="$(jq -r '.samples | if type == "object" then "\(.calibration)" + (if .evaluation != .calibration then "/\(.evaluation) eval" else "" end) else tostring end' "$r/report.json")"
  row="| $n | $samples |"
  for s in optimize plan calibrate search evaluate export; do row+=" $(stage "$r" "$s") |"; done
  row+=" $(jq -r '.total_seconds' "$r/report.json" | awk '{printf "%.3f", $1}') | $(peak_rss "$r") | $load |"
  echo "$row"
done

if [[ -n "${RSS_MODELS// /}" ]]; then
  MAX_SIZE="$(printf '%s\n' $SIZES | sort -n | tail -1)"
  MIN_SIZE="$(printf '%s\n' $SIZES | sort -n | head -1)"
  echo
  echo "## Peak RSS (MB) and calibrate time (s) against the number of calibration samples"
  echo "(perturbed copies of the real samples, bench/lib/perturb_samples.js; RSS is the larger of report.json and /usr/bin/time)"
  echo
  header="| model | real samples |"; rule="|---|---:|"
  for k in $SIZES; do header+=" RSS $k |"; rule+="---:|"; done
  header+=" RSS($MAX_SIZE)/RSS($MIN_SIZE) |"; rule+="---:|"
  for k in $SIZES; do header+=" calibrate s $k |"; rule+="---:|"; done
  header+=" load 1m |"; rule+="---:|"
  echo "$header"; echo "$rule"
  for n in $RSS_MODELS; do
    [[ -n "${MODEL_PATH[$n]:-}" && -d "${CALIB_DIR[$n]:-}" ]] || { echo "quantize_bench: no model/samples for $n, skipped" >&2; continue; }
    gen="$TMP/samples/$n"
    if [[ ! -d "$gen" ]]; then
      node "$ROOT/bench/lib/perturb_samples.js" --src "${CALIB_DIR[$n]}" --dst "$gen" --count "$MAX_SIZE" \
        || { FAILURES+=("$n: sample generation failed"); echo "| $n | fail |"; continue; }
    fi
    real="$(find "${CALIB_DIR[$n]}" -mindepth 1 -maxdepth 1 -type d | wc -l)"
    load="$(load1)"
    rss_cells=""; cal_cells=""; declare -A RSS_AT=()
    for k in $SIZES; do
      run_quantize "$n" "$gen" "$TMP/rss/$n/$k" --max-samples "$k"
      if [[ $RUN_OK == 0 ]]; then rss_cells+=" fail |"; cal_cells+=" fail |"; continue; fi
      r="$TMP/rss/$n/$k"
      used="$(jq -r '.samples | if type == "object" then .calibration else . end' "$r/report.json")"
      rss="$(peak_rss "$r")"
      [[ "$used" == "$k" ]] || rss="$rss, $used used"
      rss_cells+=" $rss |"; cal_cells+=" $(stage "$r" calibrate) |"
      RSS_AT[$k]="${rss%% *}"
    done
    ratio="-"
    if [[ -n "${RSS_AT[$MIN_SIZE]:-}" && -n "${RSS_AT[$MAX_SIZE]:-}" ]]; then
      ratio="$(awk -v a="${RSS_AT[$MAX_SIZE]}" -v b="${RSS_AT[$MIN_SIZE]}" 'BEGIN{printf "%.2f", a/b}')"
    fi
    echo "| $n | $real |$rss_cells $ratio |$cal_cells $load |"
  done
fi

echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ ${#FAILURES[@]} -gt 0 ]]; then
  echo; echo "Failures:"
  for f in "${FAILURES[@]}"; do echo "- $f"; done
fi
