#!/usr/bin/env bash
# Builds the browser embed kit (crates/lti-embed) into web/pkg/: an ES module (lti_embed.js),
# its wasm (lti_embed_bg.wasm, optimised with wasm-opt -Oz) and TypeScript types
# (lti_embed.d.ts); the two runtime files also go to web/public/embed/. Prints raw and gzipped
# sizes. Idempotent; run after scripts/setup.sh.
#   LTI_EDGE_SKIP_WEB_BUILD=1   skip when web/pkg already exists (tests build once)
#   LTI_EDGE_WEB_BUDGET_GZ=N    fail above N bytes gzipped (wasm + every JS file shipped; default
#                               40960, the kit's 40 KB target: serde_json, float formatting,
#                               web-sys bindings, dlmalloc or a panicking path creeping back in
#                               crosses it — bench/embed/README.md says where the size goes).
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
# section wasm-bindgen keeps tells wasm-opt which features rustc used. --low-memory-unused lets
# wasm-opt fold constant offsets into loads and stores (−0.2 KB gzipped): Rust's wasm32 layout
# puts the 1 MB stack first, growing down towards address 0, so the low 1 KB is only reached a
# whole stack deep (the kit's deepest work, the JSON reader, stops at 128 levels).
"$WASM_OPT_BIN" -Oz --converge --low-memory-unused --strip-debug --strip-producers "$tmp/lti_embed_bg.wasm" -o "$tmp/lti_embed_bg.wasm"
# The target_features section only informs wasm-opt; dropped once optimised.
"$WASM_OPT_BIN" --strip-target-features "$tmp/lti_embed_bg.wasm" -o "$tmp/lti_embed_bg.wasm"
# The shipped module is one file: the hand-written API (crates/lti-embed/js/kit.js: Embed,
# ToolClient, liveEmbeds, doing the DOM work the wasm core decides) and wasm-bindgen's loader
# (init, initSync and the core's one export), bundled and minified by esbuild; nothing else is
# imported at run time. The types are hand-written too (crates/lti-embed/js/lti_embed.d.ts),
# referenced from the minified file.
mv "$tmp/lti_embed.js" "$tmp/core.js"
cp "$ROOT/crates/lti-embed/js/kit.js" "$tmp/kit.js"
cat > "$tmp/entry.js" <<'JS'
import init, { initSync, k } from './core.js';
import { kit } from './kit.js';
export const { Embed, ToolClient, liveEmbeds } = kit(k);
export { init as default, initSync };
JS
# --pure:console.warn drops wasm-bindgen's loader warnings (deprecated init parameters; a server
# sending the wasm without `application/wasm`, where it falls back to the slower
# WebAssembly.instantiate and still works): ~0.1 KB gzipped. The kit itself only uses console.error.
"$ESBUILD_BIN" "$tmp/entry.js" --bundle --minify --format=esm --target=es2020 --legal-comments=none --pure:console.warn \
  --log-level=warning --outfile="$tmp/lti_embed.min.js"
rm -f "$tmp/core.js" "$tmp/kit.js" "$tmp/entry.js"
cp "$ROOT/crates/lti-embed/js/lti_embed.d.ts" "$tmp/lti_embed.d.ts"
# Shorten the wasm-bindgen import names (`__wbg_<method>_<hash>`) in the module and the glue.
node "$ROOT/crates/lti-embed/tools/minify-imports.mjs" "$tmp/lti_embed_bg.wasm" "$tmp/lti_embed.min.js"
{ echo '/* @ts-self-types="./lti_embed.d.ts" */'; cat "$tmp/lti_embed.min.js"; } > "$tmp/lti_embed.js"
rm -f "$tmp/lti_embed.min.js"
# Every JS file the package ships for run time is counted below: only lti_embed.js (checked).
extra=$(cd "$tmp" && find . -name '*.js' ! -name lti_embed.js | head -5)
if [ -n "$extra" ]; then log "embed kit: unexpected JS files in the package: $extra"; exit 1; fi
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
budget="${LTI_EDGE_WEB_BUDGET_GZ:-40960}"
printf '%-22s %9d %9d  (budget %d)\n' "wasm + JS" $(( $(size "$w") + $(size "$j") )) "$total_gz" "$budget" >&2
if [ "$total_gz" -gt "$budget" ]; then
  log "embed kit over its ${budget}-byte gzipped budget (where the size goes: bench/embed/README.md)"
  exit 1
fi
