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
# A claims set that passes validation (nonce from the target's fixed login randomness).
cat > corpus/launch_token/claims.json <<'JSON'
{"iss":"https://lms.example","aud":["c","x"],"azp":"c","sub":"u","exp":1790000300,"iat":1790000000,"nbf":1789999990,
 "nonce":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH",
 "https://purl.imsglobal.org/spec/lti/claim/message_type":"LtiResourceLinkRequest",
 "https://purl.imsglobal.org/spec/lti/claim/version":"1.3.0",
 "https://purl.imsglobal.org/spec/lti/claim/deployment_id":"d",
 "https://purl.imsglobal.org/spec/lti/claim/target_link_uri":"https://tool.example/hosted/index/my-media",
 "https://purl.imsglobal.org/spec/lti/claim/resource_link":{"id":"r"},
 "https://purl.imsglobal.org/spec/lti/claim/roles":["Instructor"],
 "https://purl.imsglobal.org/spec/lti/claim/context":{"id":"c1","title":"t"},
 "https://purl.imsglobal.org/spec/lti/claim/custom":{"u":"user-1"}}
JSON
RUSTC_BOOTSTRAP=1 cargo fuzz run launch_token corpus/launch_token -- -max_total_time="$secs" -max_len=8192
