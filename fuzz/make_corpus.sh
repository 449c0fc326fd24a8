#!/usr/bin/env bash
# Builds the seed corpora of the libFuzzer harnesses from the real models, samples and configs (nothing
# large is committed: seeds are generated or copied here, capped in size).
#   model/         seed models built in code (fuzz_seed_models) + every real model found, stripped of weights
#   npy/           hand-made .npy files (every dtype, versions 1-3, empty, scalar, Fortran order) + small samples
#   quant_config/  docs/examples/*.json and the configs in tests and examples
#   backend_json/  plugins/backends/*/*.backend.json and the examples' backend.json files
# Usage: fuzz/make_corpus.sh [BUILD_DIR (build/fuzz)] [OUT_DIR (BUILD_DIR/seeds)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/fuzz}"
OUT="${2:-$BUILD/seeds}"
MAX_SEED_BYTES=65536   # libFuzzer mutates small inputs far faster; larger real files are stripped or skipped
MAX_SAMPLES=24         # real .npy samples kept (the smallest first)

rm -rf "$OUT"
mkdir -p "$OUT"/{model,npy,quant_config,backend_json}

# --- model: generated seeds, then real models with their weights reduced to one element each.
"$BUILD/fuzz/fuzz_seed_models" "$OUT/model"
real_models() {
  [[ -f "$ROOT/.cache/samples/models.tsv" ]] && cut -f2 "$ROOT/.cache/samples/models.tsv"
  ls "$ROOT"/../shared/models/*.onnx 2>/dev/null || true
}
while read -r model; do
  [[ -f "$model" ]] || continue
  seed="$OUT/model/real_$(basename "$model")"
  "$BUILD/fuzz/fuzz_seed_models" --strip "$model" "$seed" 2>/dev/null || { rm -f "$seed"; continue; }
  (( $(stat -c %s "$seed") <= MAX_SEED_BYTES )) || rm -f "$seed"
done < <(real_models | sort -u)

# --- npy: one file per format feature, then the smallest real samples.
# npy_file <out> <descr> <fortran True|False> <shape tuple> <data bytes> [version 1|2|3]
npy_file() {
  local out=$1 descr=$2 fortran=$3 shape=$4 nbytes=$5 version=${6:-1}
  local dict="{'descr': '$descr', 'fortran_order': $fortran, 'shape': $shape, }"
  local prefix=$(( version == 1 ? 10 : 12 ))
  local pad=$(( (64 - (prefix + ${#dict} + 1) % 64) % 64 ))
  local hlen=$(( ${#dict} + pad + 1 ))
  {
    printf "\\x93NUMPY\\x$(printf %02x "$version")\\x00"
    printf "\\x$(printf %02x $((hlen & 255)))\\x$(printf %02x $((hlen >> 8)))"
    (( version == 1 )) || printf '\x00\x00'
    printf '%s%*s\n' "$dict" "$pad" ''
    head -c "$nbytes" /dev/urandom
  } > "$out"
}
npy_file "$OUT/npy/f4_2x3.npy" '<f4' False '(2, 3)' 24
npy_file "$OUT/npy/f2_4.npy" '<f2' False '(4,)' 8
npy_file "$OUT/npy/f8_2x2.npy" '<f8' False '(2, 2)' 32
npy_file "$OUT/npy/i8_3.npy" '<i8' False '(3,)' 24
npy_file "$OUT/npy/i4_1x2.npy" '<i4' False '(1, 2)' 8
npy_file "$OUT/npy/i2_2.npy" '<i2' False '(2,)' 4
npy_file "$OUT/npy/i1_5.npy" '|i1' False '(5,)' 5
npy_file "$OUT/npy/u1_1x1x4.npy" '|u1' False '(1, 1, 4)' 4
npy_file "$OUT/npy/b1_3.npy" '|b1' False '(3,)' 3
npy_file "$OUT/npy/scalar.npy" '<f4' False '()' 4
npy_file "$OUT/npy/empty_0x3.npy" '<f4' False '(0, 3)' 0
npy_file "$OUT/npy/fortran_2x2.npy" '<f4' True '(2, 2)' 16
npy_file "$OUT/npy/big_endian.npy" '>f4' False '(2,)' 8
npy_file "$OUT/npy/v2_f4_2.npy" '<f4' False '(2,)' 8 2
npy_file "$OUT/npy/v3_f4_2.npy" '<f4' False '(2,)' 8 3
npy_file "$OUT/npy/truncated.npy" '<f4' False '(1000,)' 12
find "$ROOT/.cache/samples" "$ROOT/../shared/models/inputs" -name '*.npy' -size -16k -printf '%s %p\n' 2>/dev/null |
  sort -n | awk '!seen[$1]++' | head -n "$MAX_SAMPLES" | while read -r _ f; do
    cp "$f" "$OUT/npy/sample_$(echo "$f" | md5sum | cut -c1-8).npy"
  done

# --- quant_config and backend.json: every example in the tree.
copy_json() {  # copy_json <dest> <files...>
  local dest=$1 f
  shift
  for f in "$@"; do
    [[ -f "$f" ]] && (( $(stat -c %s "$f") <= MAX_SEED_BYTES )) && cp "$f" "$dest/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
  return 0
}
mapfile -t configs < <(find "$ROOT/docs" "$ROOT/examples" "$ROOT/tests" -name '*.json' ! -name '*backend*' \
  ! -name 'package*.json' 2>/dev/null)
copy_json "$OUT/quant_config" "${configs[@]}"
printf '{}' > "$OUT/quant_config/empty.json"
printf '{\n  // a comment\n  "model_config": {"all_node_type": "int16" /* block */}\n}\n' > "$OUT/quant_config/comments.json"
mapfile -t backends < <(find "$ROOT/plugins/backends" "$ROOT/examples" -name '*.backend.json')
copy_json "$OUT/backend_json" "${backends[@]}"

for h in model npy quant_config backend_json; do
  echo "make_corpus: $h: $(find "$OUT/$h" -type f | wc -l) seeds, $(du -sk "$OUT/$h" | cut -f1) KiB"
done
