#!/usr/bin/env bash
# Builds the worker (worker-build → worker/build/index.js + index_bg.wasm), optimised.
# wrangler.toml calls this; LTI_EDGE_SKIP_BUILD=1 skips it when a build exists (tests build once).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [ "${LTI_EDGE_SKIP_BUILD:-}" = 1 ] && [ -f "$ROOT/worker/build/index.js" ]; then exit 0; fi
cd "$ROOT/worker"
worker-build --release >&2
# Drop the name/producers sections worker-build leaves (≈140 KB of function names); keeps
# target_features so wasm-bindgen saw the right features.
"$WASM_OPT_BIN" "$ROOT/worker/build/index_bg.wasm" --strip-debug --strip-producers -o "$ROOT/worker/build/index_bg.wasm"
