#!/usr/bin/env bash
# Installs every Debian package QuantForge needs to build, test and benchmark (run as root or with sudo),
# then the npm test oracle and real example models (scripts/fetch_models.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libonnx-dev libprotobuf-dev protobuf-compiler      # ONNX IR, checker, shape inference, textual parser
  libboost-dev libboost-program-options-dev          # Boost.DLL (header-only) and the CLI
  libtbb-dev libspdlog-dev nlohmann-json3-dev        # scheduler, logging, JSON
  libvalijson-dev                                    # JSON Schema validation of backend.json
  libopenblas-dev                                    # GEMM for Conv/MatMul/RNN kernels
  libgtest-dev libgmock-dev libbenchmark-dev         # tests and benchmarks
  libonnx-testdata                                   # ONNX operator conformance suite
  nodejs npm                                         # ONNX Runtime oracle (npm onnxruntime-node) and npm models
  clang-14 clang libclang-rt-14-dev                  # libFuzzer + sanitizers for the fuzz preset (fuzz/)
  clang-format-14 clang-tidy-14                      # the format and function-size gates (scripts/check_*.sh)
  hyperfine
  chromium                                           # headless browser: the debug report.html render test
  dpkg-dev xz-utils                                  # dpkg-source: oneTBB source for the tsan preset (scripts/fetch_onetbb_source.sh)
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere (e.g. a newer build already on PATH); keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$ROOT/scripts/fetch_models.sh"
