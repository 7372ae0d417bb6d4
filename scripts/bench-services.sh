#!/usr/bin/env bash
# `npm run bench:services`: AGS score-post burst (service token cache hit rate), Deep Linking
# responses and Caliper events (accepted by the worker, delivered through its queue to the local
# LMS's event store) through the worker in workerd, then RS256 deep-link signing WebCrypto vs pure-Rust.
# Prints numbers; asserts nothing about time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
[ "${LTI_EDGE_SKIP_BUILD:-}" = 1 ] || bash scripts/build-worker.sh
"$PY" bench/services.py
log "deep-link signing inside workerd (µs per response, responses per second)"
BENCH_QUERY="verify=500&rust=20&sign=200&dl=${BENCH_DEEP_LINKS:-300}&dl_rust=${BENCH_DEEP_LINKS_RUST:-15}" bash scripts/webcrypto-check.sh bench
