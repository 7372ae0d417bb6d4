#!/usr/bin/env bash
# Builds the check worker (crates/lti-webcrypto-check), runs it in workerd and prints what it
# answers: `vectors` (default; exits 1 unless every RS256 vector passes on WebCrypto and on
# pure-Rust rsa) or `bench` (µs per operation inside workerd).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mode="${1:-vectors}"
port="${CHECK_PORT:-18890}"
dir="$ROOT/crates/lti-webcrypto-check"
if [ "${LTI_EDGE_SKIP_BUILD:-}" != 1 ] || [ ! -f "$dir/build/index.js" ]; then
  (cd "$dir" && worker-build --release >&2 2>"$ROOT/target/webcrypto-check-build.log") || { cat "$ROOT/target/webcrypto-check-build.log" >&2; exit 1; }
fi
state=$(mktemp -d)
# Own process group: wrangler signals its whole group when it stops.
setsid wrangler dev --config "$dir/wrangler.toml" --local --ip 127.0.0.1 --port "$port" --persist-to "$state" \
  --show-interactive-dev-session=false --log-level error >"$state/log" 2>&1 &
pid=$!
cleanup() { rc=$?; trap '' TERM INT; kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; rm -rf "$state"; exit "$rc"; }
trap cleanup EXIT
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/vectors" -o /dev/null 2>/dev/null && break; sleep 1; done
case "$mode" in
  vectors)
    out=$(curl -fsS --max-time 60 "http://127.0.0.1:$port/vectors")
    echo "$out"
    echo "$out" | grep -q '"all_pass":true' || { log "RS256 vectors FAILED inside workerd"; exit 1; }
    log "RS256 vectors: all pass on WebCrypto and on pure-Rust rsa inside workerd; ES256 vectors and a P-256 round trip pass on WebCrypto" ;;
  bench)
    curl -fsS --max-time 300 "http://127.0.0.1:$port/bench?${BENCH_QUERY:-verify=2000&rust=100&sign=500}"; echo ;;
  *) log "usage: webcrypto-check.sh [vectors|bench]"; exit 2 ;;
esac
