#!/usr/bin/env bash
# `npm start`: the whole thing locally — the worker in workerd (local KV + Durable Objects) on
# 127.0.0.1:8787, a local LMS (the real lti1p3platform library) on 127.0.0.1:9001, registered
# with each other — then prints the URLs to open. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
TOOL_PORT="${LTI_EDGE_PORT:-8787}"
LMS_PORT="${LTI_EDGE_PLATFORM_PORT:-9001}"
TOOL="http://127.0.0.1:$TOOL_PORT"
LMS="http://127.0.0.1:$LMS_PORT"
CLIENT_ID=lti-edge-local
DEPLOYMENT_ID=local-deployment-1

bash scripts/setup.sh
log "building the worker and the embed kit"
bash scripts/build-worker.sh
bash scripts/build-web.sh

# Local secrets, generated once (never committed: .lti-edge/ is ignored).
mkdir -p .lti-edge
if [ ! -f .lti-edge/dev-secrets ]; then
  umask 077
  printf 'LTI_ENCRYPTION_KEY=%s\nLTI_ADMIN_TOKEN=%s\n' "$("$PY" -c 'import secrets;print(secrets.token_urlsafe(32))')" \
    "$("$PY" -c 'import secrets;print(secrets.token_urlsafe(24))')" > .lti-edge/dev-secrets
fi
if ! grep -q '^LTI_SERVICES_TOKEN=' .lti-edge/dev-secrets; then
  printf 'LTI_SERVICES_TOKEN=%s\n' "$("$PY" -c 'import secrets;print(secrets.token_urlsafe(24))')" >> .lti-edge/dev-secrets
fi
source .lti-edge/dev-secrets

pids=()
cleanup() { trap '' TERM INT; for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# Each child in its own process group (wrangler signals its whole group when it stops).
setsid "$PY" tests/platform/platform.py --port "$LMS_PORT" --tool-url "$TOOL" --client-id "$CLIENT_ID" --deployment-id "$DEPLOYMENT_ID" --quiet &
pids+=($!)
LTI_EDGE_SKIP_BUILD=1 setsid wrangler dev --local --ip 127.0.0.1 --port "$TOOL_PORT" --persist-to .wrangler/state \
  --show-interactive-dev-session=false --log-level info \
  --var "PUBLIC_BASE_URL:$TOOL" --var "LTI_ENCRYPTION_KEY:$LTI_ENCRYPTION_KEY" --var "LTI_ADMIN_TOKEN:$LTI_ADMIN_TOKEN" --var "LTI_SERVICES_TOKEN:$LTI_SERVICES_TOKEN" \
  --var ALLOW_HTTP_LOOPBACK:true --var "NONCE_STORE:${NONCE_STORE:-kv}" &
pids+=($!)

setsid node web/serve.mjs --port "${LTI_EDGE_DEMO_PORT:-8788}" --tool-port "${LTI_EDGE_DEMO_TOOL_PORT:-8789}" &
pids+=($!)

for _ in $(seq 1 90); do
  curl -fs "$TOOL/version" >/dev/null 2>&1 && curl -fs "$LMS/jwks" >/dev/null 2>&1 && break
  sleep 1
done
curl -fs "$TOOL/version" >/dev/null || { log "the worker did not start; see the output above"; exit 1; }

# Register the local LMS with the tool (upsert: safe to repeat).
curl -fs -X POST "$TOOL/lti/platforms" -H "authorization: Bearer $LTI_ADMIN_TOKEN" -H 'content-type: application/json' -d @- >/dev/null <<JSON
{"issuer": "$LMS", "lti13ClientId": "$CLIENT_ID", "name": "Local LMS",
 "lti13PlatformOidcAuthUrl": "$LMS/auth", "lti13AuthTokenUrl": "$LMS/token", "lti13KeysUrl": "$LMS/jwks",
 "deploymentIds": ["$DEPLOYMENT_ID"]}
JSON

# A one-time invitation to LTI Dynamic Registration (24 h), for the second way in: the local LMS
# registers the tool itself, in Moodle's or Canvas's dialect.
INVITATION=$(curl -fs -X POST "$TOOL/lti/invitations" -H "authorization: Bearer $LTI_ADMIN_TOKEN" \
  -H 'content-type: application/json' -d '{"name": "Local LMS (Dynamic Registration)"}' \
  | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["data"]["url"])' || true)
DR_LINK="(could not create an invitation: POST $TOOL/lti/invitations)"
if [ -n "$INVITATION" ]; then
  DR_LINK="$LMS/dr?url=$("$PY" -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$INVITATION")"
fi

cat <<EOF2

  LTI Edge is running.

    Local LMS (launch from here):  $LMS/
    Embed kit demo (host page):    http://127.0.0.1:${LTI_EDGE_DEMO_PORT:-8788}/demo/
    Tool (edge worker):            $TOOL/
    Admin console:                 $TOOL/admin/  (sign in with LTI_ADMIN_TOKEN from .lti-edge/dev-secrets)
    What to paste, per LMS:        $TOOL/lti/setup
    Tool config for LMS admins:    $TOOL/lti/config
    Tool public keys:              $TOOL/lti/jwks
    Admin API token:               .lti-edge/dev-secrets (LTI_ADMIN_TOKEN)
    Register by Dynamic Registration: $DR_LINK

  Open $LMS/, pick a course and Instructor or Learner, and press Launch (the seeded registration).
  The admin console shows each launch in its inspector, with the user-id rules you could choose.
  Or register the LMS by LTI Dynamic Registration: open the link above, choose Moodle or Canvas,
  press Register; the new registration then appears in the LMS's launch form. The link is
  one-time; make another with: curl -X POST $TOOL/lti/invitations -H "authorization: Bearer \$LTI_ADMIN_TOKEN"
  Ctrl-C stops everything.

EOF2
wait
