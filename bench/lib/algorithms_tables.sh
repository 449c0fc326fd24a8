# The Markdown output of bench/algorithms.sh (sourced at its end; reads its RESULT, NOTE, RUNS, MODELS,
# CNNS, DEPTHWISE, BASELINE, ... variables). algorithms_block prints: the run's header (machine, load, date,
# versions), the summary per model, the targets of issue 16, and every run.
# RESULT[model,run] = "sqnr cosine wall_s peak_MiB cpu_s" (sqnr 1e308: identical outputs); NOTE[model,run] = why not.

sqnr_of() { local r="${RESULT[$1,$2]:-}"; [[ -n "$r" ]] && echo "${r%% *}"; }
cos_of() { local r="${RESULT[$1,$2]:-}"; [[ -n "$r" ]] && cut -d' ' -f2 <<<"$r"; }
wall_of() { local r="${RESULT[$1,$2]:-}"; [[ -n "$r" ]] && cut -d' ' -f3 <<<"$r"; }
cpu_of() { local r="${RESULT[$1,$2]:-}"; [[ -n "$r" ]] && cut -d' ' -f5 <<<"$r"; }
fmt_db() { awk -v s="$1" 'BEGIN { if (s >= 1e300) printf "inf"; else printf "%.2f", s }'; }
diff_db() {  # a b -> a - b with sign, "inf"-aware
  awk -v a="$1" -v b="$2" 'BEGIN { if (a >= 1e300 || b >= 1e300) printf "-"; else printf "%+.2f", a - b }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
cell_text() { local t="${1//|/\\|}"; echo "${t:-?}"; }  # a message inside a Markdown table cell

# "best calibration" of PPQ for a model: sets PPQ_BEST (run name) or PPQ_WHY (all failed / skipped).
ppq_best() {
  local n="$1" c best="" s
  PPQ_BEST="" PPQ_WHY=""
  for c in $PPQ_CALIBRATIONS; do
    s="$(sqnr_of "$n" "PPQ $c")" || continue
    if [[ -z "$best" ]] || ge "$s" "$(sqnr_of "$n" "$best")"; then best="PPQ $c"; fi
  done
  PPQ_BEST="$best"
  [[ -n "$best" ]] && return
  PPQ_WHY="${PPQ_NOTE:-${NOTE[$n,PPQ percentile]:-PPQ not run}}"
}

# The default's reference wall (column 2) or CPU (column 4) seconds: the "algorithms off" run of this bench
# (the default without its algorithm trials: same run, same machine), else the baseline file.
reference_of() {
  local v
  if [[ $2 == 2 ]]; then v="$(wall_of "$1" "algorithms off")" || v=""; else v="$(cpu_of "$1" "algorithms off")" || v=""; fi
  if [[ -n "$v" ]]; then echo "$v"; else baseline_of "$1" "$2"; fi
}

baseline_of() {  # model column -> that column of the baseline's line of the model (2 wall s, 3 MiB, 4 CPU s)
  [[ -n "$BASELINE" && -f "$BASELINE" ]] && awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c }' "$BASELINE"
}

header_lines() {
  echo "Generated $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/algorithms.sh${ARGS:+ $ARGS}\`"
  echo "on $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores,"\
       "$(free -g | awk '/^Mem:/ { print $2 }') GiB; load average before $LOAD_BEFORE, after $LOAD_AFTER;"
  echo "qforge commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"\
       "(\`quantize --backend onnxruntime --max-samples $MAX_SAMPLES --threads $THREADS -q\`);"\
       "ONNX Runtime (onnxruntime-node $(jq -r .version "$ROOT/.cache/npm/node_modules/onnxruntime-node/package.json"\
       2>/dev/null), graph optimization \`$ORT_OPT\`);"
  if [[ -n "$PPQ_NOTE" ]]; then echo "$PPQ_NOTE."
  else echo "PPQ $(sed -n "s/.*self.VERSION *= *'\(.*\)'.*/\1/p" "$PPQ/ppq/core/config.py") from \`$PPQ\` on"\
            "$("$PYTHON" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null) (CPU)."; fi
}

summary_table() {
  local n d s c row w base
  echo "| model | default SQNR dB / cos | PPQ best SQNR dB / cos | default − PPQ dB | best QuantForge run (vs default dB) | default wall s / CPU s (algorithms off) |"
  echo "|---|---|---|---|---|---|"
  for n in $MODELS; do
    row="| $n"
    if d="$(sqnr_of "$n" default)"; then row+=" | $(fmt_db "$d") / $(printf %.4f "$(cos_of "$n" default)")"
    else row+=" | $(cell_text "${NOTE[$n,default]:-not run}")"; fi
    ppq_best "$n"
    if [[ -n "$PPQ_BEST" ]]; then
      s="$(sqnr_of "$n" "$PPQ_BEST")"
      row+=" | $(fmt_db "$s") / $(printf %.4f "$(cos_of "$n" "$PPQ_BEST")") (${PPQ_BEST#PPQ })"
      row+=" | ${d:+$(diff_db "$d" "$s")}"
    else row+=" | $(cell_text "${PPQ_WHY:0:140}") | -"; fi
    row+=" | $(best_run "$n")"
    w="$(wall_of "$n" default) / $(cpu_of "$n" default)" || w="-"; base="$(reference_of "$n" 2) / $(reference_of "$n" 4)" || true
    [[ "$base" != " / " ]] || base=""
    row+=" | $w${base:+ ($base)} |"
    echo "$row"
  done
}

best_run() {  # model -> "run (+x.xx)" of the best non-default QuantForge run (same-weight-scheme runs only)
  local n="$1" r best="" s d
  d="$(sqnr_of "$n" default)" || { echo "-"; return; }
  while IFS= read -r r; do
    [[ -n "$r" && "$r" != default && "$r" != PPQ* && "$r" != per-tensor* ]] || continue
    s="$(sqnr_of "$n" "$r")" || continue
    if [[ -z "$best" ]] || ge "$s" "$(sqnr_of "$n" "$best")"; then best="$r"; fi
  done <<<"${RUNS[$n]:-}"
  if [[ -z "$best" ]]; then echo "-"; else echo "$best ($(diff_db "$(sqnr_of "$n" "$best")" "$d"))"; fi
}

runs_table() {
  local n r d res s c w m vs
  echo "| model | run | SQNR dB | cosine | vs default dB | wall s | CPU s | peak MiB |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for n in $MODELS; do
    d="$(sqnr_of "$n" default)" || d=""
    while IFS= read -r r; do
      [[ -n "$r" ]] || continue
      res="${RESULT[$n,$r]:-}"
      if [[ -z "$res" ]]; then echo "| $n | $r | $(cell_text "${NOTE[$n,$r]}") | | | | | |"; continue; fi
      read -r s c w m u <<<"$res"
      [[ "$r" == default ]] && vs="-" || vs="${d:+$(diff_db "$s" "$d")}"
      echo "| $n | $r | $(fmt_db "$s") | $(printf %.4f "$c") | $vs | $w | $u | $m |"
    done <<<"${RUNS[$n]:-}"
  done
}

source "$ROOT/bench/lib/algorithms_targets.sh"

algorithms_block() {
  header_lines
  echo
  echo "Worst output over the held-out samples (the last max(1, N/4) of each model's N samples, empty ones"
  echo "skipped; the others calibrate), QDQ model against the float model, both in ONNX Runtime. SQNR pooled"
  echo "over the samples, cosine averaged over them. \"best QuantForge run\" ranks the runs with per-channel"
  echo "weights; \"default − PPQ\" is the default's SQNR minus PPQ's best."
  echo
  summary_table
  echo
  targets_list
  echo
  echo "Every run (\"n/a\": the run's quant_config key is not accepted by this build):"
  echo
  runs_table
}
