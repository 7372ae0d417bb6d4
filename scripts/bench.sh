#!/usr/bin/env bash
# `npm run bench`: side-by-side LTI 1.3 launch benchmark, then the worker's cold start beside a
# workers-rs hello world. Prints tables (the worker's own CPU per launch and login too, net of the
# local store simulation: bench/store-check/); asserts nothing about time. Runs LTI Edge (wrangler dev /
# workerd, KV and Durable Object nonce stores), pylti1p3 and ltijs on 127.0.0.1 only, drives them
# from this machine, stops everything it started. See bench/README.md.
#   bash scripts/bench.sh             everything (`npm run bench`)
#   bash scripts/bench.sh coldstart   the cold start alone (`npm run bench -- coldstart`)
# Knobs: BENCH_LAUNCHES (2000), BENCH_CONCURRENCY ("8,1"), BENCH_WARMUP (50), BENCH_ONLY, BENCH_PORT
# (18880), BENCH_COLDSTART_RUNS (5), BENCH_COMPILE_RUNS (9), BENCH_KEEP=1 (keep logs);
# LTI_EDGE_SKIP_BUILD=1 benchmarks the existing worker build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
mode="${1:-all}"
case "$mode" in
  all|coldstart) ;;
  *) log "usage: bash scripts/bench.sh [coldstart]   (npm run bench [-- coldstart])"; exit 2 ;;
esac

bash scripts/setup.sh
bash scripts/build-worker.sh
bash bench/peers/hello-worker/build.sh

if [ "$mode" = all ]; then
  # Bench-only dependencies, each step skipped when already satisfied.
  BENCH_REQ_HASH=$(sha256sum bench/requirements.txt | cut -c1-16)
  if [ "$(cat "$VENV/.bench-req-hash" 2>/dev/null)" != "$BENCH_REQ_HASH" ]; then
    log "installing bench Python dependencies (pylti1p3, Flask, gunicorn) into .venv"
    "$PY" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
    echo "$BENCH_REQ_HASH" > "$VENV/.bench-req-hash"
  fi
  if [ ! -d bench/node_modules/ltijs ] || [ ! -d bench/node_modules/undici ] \
     || [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package.json -nt bench/node_modules/.package-lock.json ]; then
    log "installing bench npm packages (ltijs, undici) into bench/node_modules"
    npm install --prefix bench --no-audit --no-fund --loglevel=error
  fi
fi

# Every process bench.py and coldstart.py start (tests/support/supervisor.py) runs in its own process
# group whose id they append to $RUN_DIR/pgids; they stop them themselves, and this trap makes sure
# even if Python is killed.
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lti-edge-bench.XXXXXX")
cleanup() {
  if [ -f "$RUN_DIR/pgids" ]; then
    while read -r pgid; do
      [ -n "$pgid" ] && kill -TERM -- "-$pgid" 2>/dev/null || true
    done < "$RUN_DIR/pgids"
    sleep 1
    while read -r pgid; do
      [ -n "$pgid" ] && kill -KILL -- "-$pgid" 2>/dev/null || true
    done < "$RUN_DIR/pgids"
  fi
  if [ "${BENCH_KEEP:-}" = 1 ]; then log "logs kept in $RUN_DIR"; else rm -rf "$RUN_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$mode" = all ]; then
  log "benchmark: ${BENCH_LAUNCHES:-2000} launches per row (takes a few minutes)"
  BENCH_RUN_DIR="$RUN_DIR" "$PY" bench/bench.py
  echo
fi

log "cold start: lti-edge and a workers-rs hello world, each from a fresh workerd to its first answer"
BENCH_RUN_DIR="$RUN_DIR" "$PY" bench/coldstart.py
[ "$mode" = coldstart ] && exit 0

echo
log "RS256/ES256 inside workerd: WebCrypto vs the pure-Rust rsa crate compiled to wasm (µs per operation)"
bash scripts/webcrypto-check.sh bench | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
rows = [("RS256 verify, WebCrypto (key cached)", d["webcrypto_verify_us"], d["webcrypto_verify_n"]),
        ("RS256 verify, pure-Rust rsa in wasm", d["pure_rust_verify_us"], d["pure_rust_verify_n"]),
        ("RS256 sign, WebCrypto", d["webcrypto_sign_us"], d["webcrypto_sign_n"]),
        ("ES256 sign (session tokens), WebCrypto", d["webcrypto_es256_sign_us"], d["webcrypto_sign_n"]),
        ("private JWK import, WebCrypto", d["webcrypto_private_jwk_import_us"], 200)]
print("| operation | µs per op | iterations |")
print("|---|---:|---:|")
for name, us, n in rows:
    print(f"| {name} | {us:.1f} | {n} |")
ratio = d["pure_rust_verify_us"] / max(d["webcrypto_verify_us"], 0.001)
print(f"pure-Rust verify / WebCrypto verify: {ratio:.1f}x")
print("(local workerd advances its clock during CPU work at 1 ms resolution; deployed Workers freeze it until I/O)")
'

echo
log "embed kit: size next to @iframe-resizer/parent, and message handling vs a plain listener"
bash bench/embed/run.sh
