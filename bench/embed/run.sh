#!/usr/bin/env bash
# Embed kit benchmark (see README.md): builds web/pkg if needed, then prints the size and
# message-handling tables. Arguments go to run.mjs (--n 20000 --rounds 5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$ROOT"
LTI_EDGE_SKIP_WEB_BUILD="${LTI_EDGE_SKIP_WEB_BUILD:-1}" bash scripts/build-web.sh
node bench/embed/run.mjs "$@"
