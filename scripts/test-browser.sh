#!/usr/bin/env bash
# Browser tests of the embed kit (crates/lti-embed, web/):
#   1. wasm-bindgen tests of the module in headless Chromium (chromedriver);
#   2. page tests: playwright-core drives /usr/bin/chromium against pages it serves itself on
#      127.0.0.1 (host, tool and another origin; the local LMS for the form-launch test).
# Every server is started and stopped by the tests; every wait is bounded; nothing is timed.
# Exits non-zero on the first failing step. Arguments are passed to `node --test`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

need() { [ -e "$1" ] || { log "missing $1: $2"; exit 1; }; }
need /usr/bin/chromium "apt-get install -y chromium"
need /usr/bin/chromedriver "apt-get install -y chromium-driver"
need "$ROOT/node_modules/playwright-core/package.json" "npm install (devDependency playwright-core)"
command -v wasm-bindgen-test-runner >/dev/null || { log "wasm-bindgen-test-runner missing: cargo install wasm-bindgen-cli --version 0.2.130"; exit 1; }

bash scripts/build-web.sh

log "embed kit: wasm-bindgen tests in headless Chromium"
(
  cd crates/lti-embed # webdriver.json (Chromium binary and flags) is read from here
  CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=120 \
    cargo test --target wasm32-unknown-unknown
)

log "embed kit: page tests (playwright-core + Chromium)"
node --test --test-concurrency=1 --test-timeout=180000 "$@" tests/browser/*.test.mjs
