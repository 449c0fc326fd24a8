# The four targets of issue 16 ("Show"), judged on the results of bench/algorithms.sh (sourced by
# bench/lib/algorithms_tables.sh, whose helpers it uses). Each line says met / MISSED / not measured.

target_ppq_margin() {  # default SQNR >= PPQ best + 2 dB on every CNN
  local n d s met=() missed=() unknown=()
  for n in $CNNS; do
    [[ " $MODELS " == *" $n "* ]] || continue
    ppq_best "$n"
    if ! d="$(sqnr_of "$n" default)" || [[ -z "$PPQ_BEST" ]]; then unknown+=("$n"); continue; fi
    s="$(sqnr_of "$n" "$PPQ_BEST")"
    if ge "$d" "$(awk -v s="$s" 'BEGIN { print s + 2 }')"; then met+=("$n ($(diff_db "$d" "$s"))")
    else missed+=("$n ($(diff_db "$d" "$s"))"); fi
  done
  echo "- **Default SQNR ≥ PPQ best + 2 dB on every CNN**: $(verdict "${#missed[@]}" "${#met[@]}")."\
       "Met: ${met[*]:-none}; missed: ${missed[*]:-none}; not measured (a side failed or was skipped): ${unknown[*]:-none}."
}

target_ppocr_cosine() {  # ppocr_v4_det int8 cosine >= 0.99
  local c
  if [[ " $MODELS " != *" ppocr_v4_det "* ]] || ! c="$(cos_of ppocr_v4_det default)"; then
    echo "- **ppocr_v4_det cosine ≥ 0.99**: not measured."; return
  fi
  if ge "$c" 0.99; then echo "- **ppocr_v4_det cosine ≥ 0.99**: met ($(printf %.4f "$c"))."
  else echo "- **ppocr_v4_det cosine ≥ 0.99**: MISSED ($(printf %.4f "$c"))."; fi
}

target_per_tensor_gain() {  # per_channel off: cle + adaround gain >= 3 dB on the depthwise models
  local n a b met=() missed=() unknown=()
  for n in $DEPTHWISE; do
    [[ " $MODELS " == *" $n "* ]] || continue
    if ! a="$(sqnr_of "$n" "per-tensor weights")" || ! b="$(sqnr_of "$n" "per-tensor weights + cle + adaround")"; then
      unknown+=("$n"); continue
    fi
    if ge "$b" "$(awk -v a="$a" 'BEGIN { print a + 3 }')"; then met+=("$n ($(diff_db "$b" "$a"))")
    else missed+=("$n ($(diff_db "$b" "$a"))"); fi
  done
  echo "- **Per-tensor weights: cle + adaround gain ≥ 3 dB on the depthwise models**:"\
       "$(verdict "${#missed[@]}" "${#met[@]}"). Met: ${met[*]:-none}; missed: ${missed[*]:-none};"\
       "not measured: ${unknown[*]:-none}."
}

target_wall_time() {  # default within 2x of the default without its trials ("algorithms off", else the baseline file)
  local n w base cpu cpu_base wall_missed=() cpu_missed=() met=0 unknown=()
  for n in $MODELS; do
    base="$(reference_of "$n" 2)" || true; cpu_base="$(reference_of "$n" 4)" || true
    if ! w="$(wall_of "$n" default)" || [[ -z "$base" ]]; then unknown+=("$n"); continue; fi
    cpu="$(cpu_of "$n" default)"
    # Runs under a second are dominated by process start; they pass when within 1 s of the baseline.
    within_2x "$w" "$base" || wall_missed+=("$n (${w} s vs ${base} s)")
    [[ -z "$cpu_base" ]] || within_2x "$cpu" "$cpu_base" || cpu_missed+=("$n (${cpu} s vs ${cpu_base} s)")
    met=$(( met + 1 ))
  done
  echo "- **Default quantize within 2× of its wall time without the algorithm trials** (the \"algorithms off\" run, else the baseline file): $(verdict "${#wall_missed[@]}" "$met")"\
       "(missed: ${wall_missed[*]:-none}); in CPU time (user + system, less sensitive to the machine's load):"\
       "$(verdict "${#cpu_missed[@]}" "$met") (missed: ${cpu_missed[*]:-none}); no baseline or no run: ${unknown[*]:-none}."
}

within_2x() {  # value baseline
  ge "$(awk -v b="$2" 'BEGIN { print (b < 1 ? b + 1 : 2 * b) }')" "$1"
}

verdict() {  # missed met -> met / MISSED / not measured
  if [[ $1 -gt 0 ]]; then echo "MISSED on $1"; elif [[ $2 -gt 0 ]]; then echo "met"; else echo "not measured"; fi
}

targets_list() {
  echo "Targets of issue 16 (this run):"
  echo
  target_ppq_margin
  target_ppocr_cosine
  target_per_tensor_gain
  target_wall_time
}
