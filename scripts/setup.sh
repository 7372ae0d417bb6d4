#!/usr/bin/env bash
# Installs everything the two README commands need, idempotently: each step is skipped when
# already satisfied. Works offline except for the package registries (crates.io, npm, PyPI).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  log "installing worker-build $WORKER_BUILD_VERSION (~4 min, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must equal Cargo.lock; ~2 min, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! wasm-bindgen --version | grep -q "$WASM_BINDGEN_VERSION"; then
  log "wasm-bindgen CLI $(wasm-bindgen --version) != Cargo.lock $WASM_BINDGEN_VERSION; run: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION --force"
  exit 1
fi

# npm: (re)install when node_modules is missing or older than package.json.
if [ ! -x node_modules/.bin/wrangler ] || [ ! -f node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  log "installing npm tooling (wrangler, workerd, node 22, binaryen, esbuild)"
  npm install --no-audit --no-fund --loglevel=error
fi

# Browser tests: Debian's Chromium and ChromeDriver (no browser download from anywhere else).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  log "installing Chromium and ChromeDriver from Debian (browser tests)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

# Python: the real LTI platform (lti1p3platform) and the end-to-end suite.
REQ_HASH=$(sha256sum tests/requirements.txt | cut -c1-16)
if [ ! -x "$PY" ] || [ "$(cat "$VENV/.req-hash" 2>/dev/null)" != "$REQ_HASH" ]; then
  log "installing Python test dependencies into .venv"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$REQ_HASH" > "$VENV/.req-hash"
fi
