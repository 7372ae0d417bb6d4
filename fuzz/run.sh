#!/usr/bin/env bash
# Fuzz the token, claims and request parsers (LTI 1.3 core, then LTI 1.1, then Caliper): `bash fuzz/run.sh [seconds]` (default 60).
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
# A claims set that passes validation (the target puts in the nonce its login derived).
cat > corpus/launch_token/claims.json <<'JSON'
{"iss":"https://lms.example","aud":["c","x"],"azp":"c","sub":"u","exp":1790000300,"iat":1790000000,"nbf":1789999990,
 "nonce":"replaced-by-the-target",
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
# LTI 1.1: an oauthlib-signed launch body, a POX reply and an lti1p1 claim as seeds.
mkdir -p corpus/legacy
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("/lti/launch"); print(d["launches"][0]["body"], end="")' \
  ../crates/lti-legacy/tests/fixtures/oauth1_vectors.json > corpus/legacy/launch
printf '%s' '<?xml version="1.0"?><imsx_POXEnvelopeResponse><imsx_POXHeader><imsx_POXResponseHeaderInfo><imsx_statusInfo><imsx_codeMajor>success</imsx_codeMajor><imsx_description>ok &amp; done</imsx_description></imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader><imsx_POXBody><readResultResponse><result><resultScore><textString>0.5</textString></resultScore></result></readResultResponse></imsx_POXBody></imsx_POXEnvelopeResponse>' > corpus/legacy/reply
printf '%s' '{"iss":"https://lmsvendor.com","exp":1551290856,"nonce":"172we8671fd8z","https://purl.imsglobal.org/spec/lti/claim/deployment_id":"689302","https://purl.imsglobal.org/spec/lti/claim/lti1p1":{"user_id":"34212","oauth_consumer_key":"179248902","oauth_consumer_key_sign":"lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps="}}' > corpus/legacy/claims
RUSTC_BOOTSTRAP=1 cargo fuzz run legacy corpus/legacy -- -max_total_time="$secs" -max_len=16384
# Caliper: a profile and tool events as seeds (what the core accepts must build valid events).
mkdir -p corpus/caliper
printf '%s' '{"id":"lrs","type":"EventStore","apiUrl":"https://lms.example/caliper/events","apiKey":"k","sendEvents":true,"includeActors":true,"includeGeneratedValues":true}' > corpus/caliper/profile
printf '%s' '{"events":[{"type":"MediaEvent","action":"Paused","position":321.5,"object":{"id":"https://tool.example/v/1","name":"Intro","mediaType":"video/mp4","duration":1220}},{"type":"AssessmentEvent","action":"Submitted","object":{"id":"urn:q:1"},"score":3,"scoreMaximum":4,"count":2,"duration":60},{"type":"SessionEvent","action":"LoggedOut"}]}' > corpus/caliper/events
RUSTC_BOOTSTRAP=1 cargo fuzz run caliper corpus/caliper -- -max_total_time="$secs" -max_len=8192
