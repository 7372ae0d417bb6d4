#!/usr/bin/env bash
# Builds the browser embed kit (crates/lti-embed) into web/pkg/: an ES module (lti_embed.js),
# its wasm (lti_embed_bg.wasm, optimised with wasm-opt -Oz) and TypeScript types
# (lti_embed.d.ts); the two runtime files also go to web/public/embed/. Prints raw and gzipped
# sizes. Idempotent; run after scripts/setup.sh.
#   LTI_EDGE_SKIP_WEB_BUILD=1   skip when web/pkg already exists (tests build once)
#   LTI_EDGE_WEB_BUDGET_GZ=N    fail above N bytes gzipped (wasm + JS glue; default 65536, a
#                               regression guard a few KB above today's size: serde_json, float
#                               formatting or the url crate creeping back in would cross it). The
#                               design target is 40 KB; see the report line.
#   CARGO_TARGET_DIR            cargo's target directory (default: $ROOT/target)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

PKG="$ROOT/web/pkg"
if [ "${LTI_EDGE_SKIP_WEB_BUILD:-}" = 1 ] && [ -f "$PKG/lti_embed_bg.wasm" ]; then exit 0; fi

want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
have=$("$WASM_BINDGEN_BIN" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  log "wasm-bindgen CLI '${have:-missing}' != Cargo.lock $want; run: cargo install wasm-bindgen-cli --version $want --force"
  exit 1
fi
[ -x "$WASM_OPT_BIN" ] || { log "wasm-opt missing at $WASM_OPT_BIN; run: bash scripts/setup.sh (npm binaryen)"; exit 1; }

log "embed kit: cargo build (wasm32, release)"
cargo build --release --target wasm32-unknown-unknown -p lti-embed --quiet >&2

# Generate into a scratch folder, then swap in, so a failed build never leaves half a package.
tmp="$(mktemp -d "$ROOT/web/.pkg.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$WASM_BINDGEN_BIN" --target web --out-dir "$tmp" --out-name lti_embed \
  "${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/release/lti_embed.wasm"
# -Oz for size; strip names/producers (kept out of the shipped module). The target_features
# section wasm-bindgen keeps tells wasm-opt which features rustc used.
"$WASM_OPT_BIN" -Oz --converge --strip-debug --strip-producers "$tmp/lti_embed_bg.wasm" -o "$tmp/lti_embed_bg.wasm"
# Minify the JS glue (exports, import.meta.url and the wasm import names are kept); the types
# live in lti_embed.d.ts, referenced again from the minified file.
"$ESBUILD_BIN" "$tmp/lti_embed.js" --minify --format=esm --target=es2020 --legal-comments=none \
  --log-level=warning --outfile="$tmp/lti_embed.min.js"
# Shorten the wasm-bindgen import names (`__wbg_<method>_<hash>`) in the module and the glue.
node "$ROOT/crates/lti-embed/tools/minify-imports.mjs" "$tmp/lti_embed_bg.wasm" "$tmp/lti_embed.min.js"
{ echo '/* @ts-self-types="./lti_embed.d.ts" */'; cat "$tmp/lti_embed.min.js"; } > "$tmp/lti_embed.js"
rm -f "$tmp/lti_embed.min.js"
cat > "$tmp/package.json" <<'JSON'
{
  "name": "lti-embed",
  "version": "0.1.0",
  "description": "Host-page embed kit for LTI tool iframes, and its tool-side client (Rust → wasm)",
  "license": "Apache-2.0",
  "type": "module",
  "main": "lti_embed.js",
  "types": "lti_embed.d.ts",
  "files": ["lti_embed.js", "lti_embed_bg.wasm", "lti_embed.d.ts", "lti_embed_bg.wasm.d.ts"],
  "sideEffects": false
}
JSON
rm -rf "$PKG"
mv "$tmp" "$PKG"
trap - EXIT
chmod 755 "$PKG"
# The runtime files again under web/public/embed/, for a static-assets directory that serves them
# at /embed/ (wrangler: [assets] directory = "web/public").
mkdir -p "$ROOT/web/public/embed"
cp "$PKG/lti_embed.js" "$PKG/lti_embed_bg.wasm" "$ROOT/web/public/embed/"

size() { stat -c %s "$1"; }
gz() { gzip -9c "$1" | wc -c; }
w="$PKG/lti_embed_bg.wasm"; j="$PKG/lti_embed.js"
total_gz=$(( $(gz "$w") + $(gz "$j") ))
printf '%-22s %9s %9s\n' file raw gzip >&2
printf '%-22s %9d %9d\n' lti_embed_bg.wasm "$(size "$w")" "$(gz "$w")" >&2
printf '%-22s %9d %9d\n' lti_embed.js "$(size "$j")" "$(gz "$j")" >&2
budget="${LTI_EDGE_WEB_BUDGET_GZ:-65536}"
printf '%-22s %9d %9d  (budget %d, target 40960)\n' "wasm + JS glue" $(( $(size "$w") + $(size "$j") )) "$total_gz" "$budget" >&2
if [ "$total_gz" -gt 40960 ]; then
  log "embed kit: $total_gz bytes gzipped, above the 40 KB target (where the size goes: bench/embed/README.md)"
fi
if [ "$total_gz" -gt "$budget" ]; then
  log "embed kit over its ${budget}-byte gzipped budget"
  exit 1
fi
