#!/usr/bin/env bash
# Fuzz the token, claims and request parsers: `bash fuzz/run.sh [seconds]` (default 60).
# Installs cargo-fuzz once. Uses the stable toolchain with RUSTC_BOOTSTRAP=1 for the sanitizer
# flags cargo-fuzz passes (this machine has no nightly).
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
mkdir -p corpus/launch_token
# Seed with real shapes: a valid-looking token header/payload and a registration body.
printf '%s' 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2xtcy5leGFtcGxlIn0.AAAA' > corpus/launch_token/token
printf '%s' '{"issuer":"https://lms.example","clientId":"c","name":"n","authLoginUrl":"https://a","authTokenUrl":"https://t","keysetUrl":"https://k"}' > corpus/launch_token/registration
RUSTC_BOOTSTRAP=1 cargo fuzz run launch_token corpus/launch_token -- -max_total_time="$secs" -max_len=8192
