#!/usr/bin/env bash
# Builds the hello world (build/index.js + build/index_bg.wasm) exactly as scripts/build-worker.sh
# builds the real worker: worker-build --release, then wasm-opt --strip-debug --strip-producers.
# Cached: skipped while the sources, this script and the toolchain are those of the last build.
# Compiles in the repository's target dir (the worker's dependencies are already built there).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/env.sh"
dir="$ROOT/bench/peers/hello-worker"
cd "$dir"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
stamp=$( { cat Cargo.toml Cargo.lock src/*.rs build.sh; rustc -V; worker-build --version; "$WASM_OPT_BIN" --version; } | sha256sum | cut -c1-32)
if [ -f build/index.js ] && [ -f build/index_bg.wasm ] && [ "$(cat build/.stamp 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
log "building the workers-rs hello world (bench/peers/hello-worker) for the cold-start comparison"
worker-build --release >&2
"$WASM_OPT_BIN" build/index_bg.wasm --strip-debug --strip-producers -o build/index_bg.wasm
echo "$stamp" > build/.stamp
