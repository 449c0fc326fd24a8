# Helpers of bench/algorithms.sh (source after bench/lib/common.sh). Provides:
#   split_samples SRC DST [MODEL]  DST/calib and DST/eval: copies (qforge does not follow symlinked samples)
#                            of SRC's sample folders; the last max(1, N/4) samples are held out for
#                            evaluation (skipping samples on which an output of MODEL is empty, see
#                            held_out_indexes), the others calibrate (one sample: it does both)
#   timed LOG OUT -- CMD...  runs CMD under /usr/bin/time -v (stdout+stderr to LOG, time's report to
#                            OUT.time); returns CMD's exit status
#   time_of OUT              "<wall seconds> <peak RSS MiB> <CPU seconds (user + system)>" from OUT.time
#   variant_rows TABLE       the variant table without comments and blank lines
#   ort_reason LOG           one line saying why ONNX Runtime failed (from ort_accuracy.js's log)

split_samples() {  # src dst [float model]
  local src="$1" dst="$2" model="${3:-}" all n held i
  mapfile -t all < <(find "$src/" -mindepth 1 -maxdepth 1 -type d -name 'sample_*' | sort)
  n=${#all[@]}
  [[ $n -gt 0 ]] || { echo "split_samples: no sample_* folders in $src" >&2; return 1; }
  held=$(( n / 4 )); [[ $held -ge 1 ]] || held=1
  local -A eval_set=()
  for i in $(held_out_indexes "$src" "$model" "$n" "$held"); do eval_set[$i]=1; done
  rm -rf "$dst"; mkdir -p "$dst/calib" "$dst/eval"
  for (( i = 0; i < n; i++ )); do
    if [[ -n "${eval_set[$i]:-}" ]]; then cp -rL "${all[$i]}" "$dst/eval/"; fi
    if [[ -z "${eval_set[$i]:-}" || $n == 1 ]]; then cp -rL "${all[$i]}" "$dst/calib/"; fi
  done
}

# The indexes of the held-out samples: the last HELD of N, skipping "empty" samples (a float output whose
# max |y| is below 1e-3 of the largest such peak over the samples, e.g. a text-detection map of an image
# without text: SQNR is undefined there) while enough others remain.
held_out_indexes() {  # src model n held
  local src="$1" model="$2" n="$3" held="$4" peaks=()
  if [[ -n "$model" ]]; then
    mapfile -t peaks < <(node "$ROOT/bench/lib/ort_accuracy.js" --reference "$model" --data "$src" --signal \
                         2>/dev/null | awk '{ print $2 }')
  fi
  awk -v n="$n" -v held="$held" -v p="${peaks[*]:-}" 'BEGIN {
    k = split(p, peak, " "); top = 0
    for (i = 1; i <= k; i++) if (peak[i] > top) top = peak[i]
    for (i = n; i >= 1 && picked < held; i--) {
      if (k == n && peak[i] < 1e-3 * top && i - 1 >= held - picked) continue
      print i - 1; picked++
    }
  }'
}

timed() {
  local log="$1" out="$2"; shift 3
  /usr/bin/time -v -o "$out.time" "$@" > "$log" 2>&1
}

time_of() {
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /Maximum resident set size/ { m = $2 / 1024 }
    /(User|System) time \(seconds\)/ { cpu += $2 }
    END { printf "%.2f %.0f %.2f\n", w, m, cpu }' "$1.time"
}

variant_rows() {
  grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$'
}


# One line from an ort_accuracy.js error log; ONNX Runtime's model checks ("... In Node, ("n", Op, ...) :
# ... Error <what>") become "n (Op): <what>".
ort_reason() {
  local msg re='In Node, \("([^"]+)", ([A-Za-z]+),.* Error (.*)$'
  msg="$(head -c 1000 "$1" | tr '\n' ' ' | sed 's/^ort_accuracy: //; s/Load model from [^ ]* failed://; s/ *$//')"
  if [[ "$msg" =~ $re ]]; then msg="${BASH_REMATCH[1]} (${BASH_REMATCH[2]}): ${BASH_REMATCH[3]}"; fi
  echo "${msg:0:200}"
}
