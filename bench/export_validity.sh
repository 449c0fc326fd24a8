#!/usr/bin/env bash
# Export validity matrix: `qforge quantize` for every model x backend x config, then ONNX Runtime
# (tools/oracle/ort_run.js) on OUT/quantized_model.onnx at graph optimisation `disabled` and `all`, and the
# outputs compared with the simulation (`qforge run` on OUT/calibrated_model.onnx) on the first sample.
# One line per run:  <model> <backend> <config> <level> OK cos_min=<worst cosine ORT vs sim>
#                or  <model> <backend> <config> <level> FAIL <first line of ORT's error>
#
#   bench/export_validity.sh [--models "a b"] [--backends "generic nash"] [--configs "perchannel int16"]
#                            [--work DIR] [--jobs N]
# Configs: perchannel (int8 with per-channel activations: what the default search picks), int8, int16,
# float16, mixed (mixed_precision_search), ec (dual-int16), default (no config: the full default search).
# Models: names of ../shared/models/*.onnx or of .cache/samples/models.tsv (default: the small ones).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
qforge=${QFORGE:-$root/build/release/bin/qforge}
oracle=$root/tools/oracle
shared=${QF_SHARED_DIR:-$root/../shared}/models
samples_dir=$root/.cache/samples
models="mnist_8 super_resolution ultraface_slim320 vit_fmnist_tiny yunet_2022_120x160 capp_gpt2_tiny ppocr_v2_cls oww_embedding oww_melspectrogram oww_alexa"
backends="generic nash onnxruntime tensorrt"
configs="perchannel int8 int16 float16 mixed ec"
work=${TMPDIR:-/tmp}/qforge_export_validity
while [[ $# -gt 0 ]]; do
  case $1 in
    --models) models=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

config_json() {
  case $1 in
    perchannel) echo '{"model_config":{"activation":{"calibration_type":"max","per_channel":true}}}' ;;
    int8) echo '{"model_config":{"activation":{"calibration_type":"max","per_channel":false}}}' ;;
    int16) echo '{"model_config":{"all_node_type":"int16","activation":{"calibration_type":"max"}}}' ;;
    float16) echo '{"model_config":{"all_node_type":"float16"}}' ;;
    mixed) echo '{"model_config":{"activation":{"calibration_type":"max"},"mixed_precision_search":{"metric":"cosine-similarity","target":0.9999,"max_time":20}}}' ;;
    ec) echo '{"model_config":{"all_node_type":"dual-int16","activation":{"calibration_type":"max"}}}' ;;
    default) echo '' ;;
    *) echo "unknown config $1" >&2; exit 2 ;;
  esac
}

# model path and sample folder of a model name
locate() {
  if [[ -f $shared/$1.onnx ]]; then echo "$shared/$1.onnx $shared/inputs/$1"; return; fi
  local path
  path=$(awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$samples_dir/models.tsv")
  [[ -n $path ]] || { echo "unknown model $1" >&2; exit 2; }
  echo "$path $samples_dir/$1"
}

for model in $models; do
  read -r model_path sample_root < <(locate "$model")
  sample=$(find "$sample_root" -mindepth 1 -maxdepth 1 -type d | sort | head -n1)
  for backend in $backends; do
    for config in $configs; do
      dir=$work/$model/$backend/$config
      rm -rf "$dir"; mkdir -p "$dir"
      args=(quantize --model "$model_path" --calib-data "$sample_root" --output-dir "$dir/out" --backend "$backend"
            --max-samples 2 --threads 2 -q)
      json=$(config_json "$config")
      if [[ -n $json ]]; then echo "$json" >"$dir/config.json"; args+=(--config "$dir/config.json"); fi
      if ! "$qforge" "${args[@]}" >"$dir/quantize.log" 2>&1; then
        echo "$model $backend $config - QUANTIZE_FAIL $(grep -m1 -i error "$dir/quantize.log" || tail -n1 "$dir/quantize.log")"
        continue
      fi
      "$qforge" run --model "$dir/out/calibrated_model.onnx" --inputs "$sample" --output-dir "$dir/sim" --threads 2 \
        >"$dir/sim.log" 2>&1 || { echo "$model $backend $config - SIM_FAIL"; continue; }
      for level in disabled all; do
        if node "$oracle/ort_run.js" --model "$dir/out/quantized_model.onnx" --inputs "$sample" \
             --output-dir "$dir/ort_$level" --opt-level "$level" >"$dir/ort_$level.log" 2>&1; then
          cos=$(node "$oracle/npy_diff.js" "$dir/sim" "$dir/ort_$level" 2>/dev/null |
                sed -n 's/.*cosine=\([0-9.]*\).*/\1/p' | sort -g | head -n1)
          echo "$model $backend $config $level OK cos_min=${cos:-n/a}"
        else
          echo "$model $backend $config $level FAIL $(head -c 300 "$dir/ort_$level.log" | tr '\n' ' ')"
        fi
      done
    done
  done
done
