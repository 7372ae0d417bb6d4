#!/usr/bin/env bash
# Builds the browser embed kit (crates/lti-embed) into web/pkg/, the npm package, with four entry
# points, each one minified ES module over its own wasm core (wasm-opt -Oz):
#   host.js     + lti_embed_host_bg.wasm   Embed (host pages; cargo feature "host" only)
#   tool.js     + lti_embed_tool_bg.wasm   ToolClient (tool pages; feature "tool" only)
#   element.js  + lti_embed_host_bg.wasm   <lti-embed> custom element, self-initialising
#   lti_embed.js + lti_embed_bg.wasm       both sides (the all-in-one module)
#   caliper.js                             Caliper analytics from tool pages (plain JS, no wasm)
# with TypeScript types for each, package.json (exports map) and integrity.json (SHA-384 SRI of
# every file; each module fetches its wasm with that hash). The runtime files are also published
# for the worker's static assets at web/public/embed/v<version>/ (immutable, CORS: _headers) and,
# for pages that still import the unversioned URL, web/public/embed/. Prints raw and gzipped
# sizes. Idempotent; run after scripts/setup.sh.
#   LTI_EDGE_SKIP_WEB_BUILD=1   skip when web/pkg already exists (tests build once)
#   LTI_EDGE_HOST_BUDGET_GZ=N   fail when what a host page loads (host.js + its wasm, gzip -9)
#                               exceeds N bytes (default below); LTI_EDGE_TOOL_BUDGET_GZ likewise
#                               for tool.js, LTI_EDGE_ELEMENT_BUDGET_GZ for element.js, and
#                               LTI_EDGE_WEB_BUDGET_GZ for the all-in-one module (default 40960,
#                               the kit's 40 KB target: serde_json, float formatting, web-sys
#                               bindings, dlmalloc or a panicking path creeping back in crosses
#                               them — bench/embed/README.md says where the size goes);
#                               LTI_EDGE_CALIPER_BUDGET_GZ for caliper.js (default 3072).
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

VERSION=$(awk -F'"' '/^\[workspace.package\]/{p=1} p && /^version = /{print $2; exit}' Cargo.toml)
[ -n "$VERSION" ] || { log "no [workspace.package] version in Cargo.toml"; exit 1; }
JS="$ROOT/crates/lti-embed/js"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/release/lti_embed.wasm"

# Generate into a scratch folder, then swap in, so a failed build never leaves half a package.
tmp="$(mktemp -d "$ROOT/web/.pkg.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"

# One wasm per side: <name> <cargo features>.
build_wasm() {
  local name="$1" features="$2"
  log "embed kit: cargo build (wasm32, release, features: $features)"
  cargo build --release --target wasm32-unknown-unknown -p lti-embed --no-default-features --features "$features" --quiet >&2
  "$WASM_BINDGEN_BIN" --target web --no-typescript --out-dir "$tmp/src" --out-name "$name" "$TARGET"
  # -Oz for size; strip names/producers (kept out of the shipped module). The target_features
  # section wasm-bindgen keeps tells wasm-opt which features rustc used. --low-memory-unused lets
  # wasm-opt fold constant offsets into loads and stores (−0.2 KB gzipped): Rust's wasm32 layout
  # puts the 1 MB stack first, growing down towards address 0, so the low 1 KB is only reached a
  # whole stack deep (the kit's deepest work, the JSON reader, stops at 128 levels).
  "$WASM_OPT_BIN" -Oz --converge --low-memory-unused --strip-debug --strip-producers "$tmp/src/${name}_bg.wasm" -o "$tmp/${name}_bg.wasm"
  # The target_features section only informs wasm-opt; dropped once optimised.
  "$WASM_OPT_BIN" --strip-target-features "$tmp/${name}_bg.wasm" -o "$tmp/${name}_bg.wasm"
}
build_wasm lti_embed_host host
build_wasm lti_embed_tool tool
build_wasm lti_embed host,tool

cp "$JS/kit.js" "$JS/protocol.js" "$JS/loader.js" "$JS/element.js" "$tmp/src/"
# Each entry point: the hand-written API (js/kit.js; only the side it exports survives
# tree-shaking; the core's codes come from js/protocol.js, generated from src/protocol.rs and
# inlined by esbuild), the loader (js/loader.js: init with the wasm's integrity, clear errors) and
# wasm-bindgen's glue for its wasm, bundled and minified by esbuild into one file. The wasm's
# SRI hash is filled in after the import names are shortened (which changes the wasm).
entry() { # <file> <wasm name> <exports…>
  local file="$1" wasm="$2"
  cat > "$tmp/src/entry-$file" <<JS
import wbgInit, { initSync as wbgInitSync, k as core } from './$wasm.js';
import { loader } from './loader.js';
import { hostKit, toolKit, kit } from './kit.js';
import { defineElement } from './element.js';
const L = loader(wbgInit, wbgInitSync, core, () => new URL('./${wasm}_bg.wasm', import.meta.url), '@WASM_INTEGRITY@');
export const init = L.init;
export const initSync = L.initSync;
export default init;
JS
  cat >> "$tmp/src/entry-$file"
}
entry host.js lti_embed_host <<'JS'
export const { Embed, liveEmbeds } = hostKit(L.k);
JS
entry tool.js lti_embed_tool <<'JS'
export const { ToolClient } = toolKit(L.k);
JS
entry lti_embed.js lti_embed <<'JS'
export const { Embed, ToolClient, liveEmbeds } = kit(L.k);
JS
# The element module loads its wasm and defines <lti-embed> by itself: one script tag.
entry element.js lti_embed_host <<'JS'
export const { Embed, liveEmbeds } = hostKit(L.k);
const loading = init();
loading.catch((e) => console.error(e.message));
export const LtiEmbedElement = defineElement(Embed, loading);
JS
# --pure:console.warn drops wasm-bindgen's loader warnings (deprecated init parameters; a server
# sending the wasm without `application/wasm`, where it falls back to the slower
# WebAssembly.instantiate and still works): ~0.1 KB gzipped. The kit warns through `console.warn`
# only via a local alias (kit.js `warn`), which this flag does not touch.
for f in host tool element lti_embed; do
  "$ESBUILD_BIN" "$tmp/src/entry-$f.js" --bundle --minify --format=esm --target=es2020 --legal-comments=none --pure:console.warn \
    --log-level=warning --outfile="$tmp/$f.js"
done
# Shorten the wasm-bindgen import names (`__wbg_<method>_<hash>`) in each wasm and its bundles.
node "$ROOT/crates/lti-embed/tools/minify-imports.mjs" "$tmp/lti_embed_host_bg.wasm" "$tmp/host.js" "$tmp/element.js"
node "$ROOT/crates/lti-embed/tools/minify-imports.mjs" "$tmp/lti_embed_tool_bg.wasm" "$tmp/tool.js"
node "$ROOT/crates/lti-embed/tools/minify-imports.mjs" "$tmp/lti_embed_bg.wasm" "$tmp/lti_embed.js"
# The Caliper client: no wasm, its own small module.
"$ESBUILD_BIN" "$JS/caliper.js" --bundle --minify --format=esm --target=es2020 --legal-comments=none \
  --log-level=warning --outfile="$tmp/caliper.js"
{ echo "/* @ts-self-types=\"./caliper.d.ts\" */"; cat "$tmp/caliper.js"; } > "$tmp/caliper.js.tmp" && mv "$tmp/caliper.js.tmp" "$tmp/caliper.js"
rm -rf "$tmp/src"

sri() { printf 'sha384-%s' "$(openssl dgst -sha384 -binary "$1" | openssl base64 -A)"; }
# The wasm's hash into each module, then the types reference.
for pair in host:lti_embed_host tool:lti_embed_tool element:lti_embed_host lti_embed:lti_embed; do
  f="${pair%%:*}"; w="${pair#*:}"
  h=$(sri "$tmp/${w}_bg.wasm")
  n=$(grep -o '@WASM_INTEGRITY@' "$tmp/$f.js" | wc -l)
  [ "$n" = 1 ] || { log "embed kit: $f.js has $n integrity placeholders, expected 1"; exit 1; }
  sed -i "s|@WASM_INTEGRITY@|$h|" "$tmp/$f.js"
  { echo "/* @ts-self-types=\"./$f.d.ts\" */"; cat "$tmp/$f.js"; } > "$tmp/$f.js.tmp" && mv "$tmp/$f.js.tmp" "$tmp/$f.js"
done
# Every JS file the package ships for run time is counted below (checked).
extra=$(cd "$tmp" && find . -name '*.js' ! -name lti_embed.js ! -name host.js ! -name tool.js ! -name element.js ! -name caliper.js | head -5)
if [ -n "$extra" ]; then log "embed kit: unexpected JS files in the package: $extra"; exit 1; fi
cp "$JS/lti_embed.d.ts" "$JS/host.d.ts" "$JS/tool.d.ts" "$JS/element.d.ts" "$JS/caliper.d.ts" "$tmp/"

# integrity.json: the SRI hash of every runtime file, for <script integrity=…> and for checking.
{
  printf '{\n  "version": "%s"' "$VERSION"
  for f in host.js tool.js element.js lti_embed.js caliper.js lti_embed_host_bg.wasm lti_embed_tool_bg.wasm lti_embed_bg.wasm; do
    printf ',\n  "%s": "%s"' "$f" "$(sri "$tmp/$f")"
  done
  printf '\n}\n'
} > "$tmp/integrity.json"
cat > "$tmp/package.json" <<JSON
{
  "name": "lti-embed",
  "version": "$VERSION",
  "description": "Host-page embed kit for LTI tool iframes, and its tool-side client (Rust → wasm)",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./lti_embed.js",
  "types": "./lti_embed.d.ts",
  "exports": {
    ".": { "types": "./lti_embed.d.ts", "default": "./lti_embed.js" },
    "./host": { "types": "./host.d.ts", "default": "./host.js" },
    "./tool": { "types": "./tool.d.ts", "default": "./tool.js" },
    "./element": { "types": "./element.d.ts", "default": "./element.js" },
    "./caliper": { "types": "./caliper.d.ts", "default": "./caliper.js" },
    "./lti_embed_host_bg.wasm": "./lti_embed_host_bg.wasm",
    "./lti_embed_tool_bg.wasm": "./lti_embed_tool_bg.wasm",
    "./lti_embed_bg.wasm": "./lti_embed_bg.wasm",
    "./integrity.json": "./integrity.json",
    "./package.json": "./package.json"
  },
  "files": ["*.js", "*.wasm", "*.d.ts", "integrity.json"],
  "sideEffects": ["./element.js"]
}
JSON
rm -rf "$PKG"
mv "$tmp" "$PKG"
trap - EXIT
chmod 755 "$PKG"

# The worker's static assets ([assets] directory = "web/public"): versioned, immutable URLs
# /embed/v<version>/… (CORS and caching: web/public/_headers),
# and the all-in-one module at the unversioned /embed/ for pages written before versioning.
PUB="$ROOT/web/public/embed"
rm -rf "$PUB"
mkdir -p "$PUB/v$VERSION"
for f in host.js tool.js element.js lti_embed.js caliper.js lti_embed_host_bg.wasm lti_embed_tool_bg.wasm lti_embed_bg.wasm integrity.json; do
  cp "$PKG/$f" "$PUB/v$VERSION/"
done
cp "$PKG/lti_embed.js" "$PKG/lti_embed_bg.wasm" "$PUB/"
# The worker's module page imports the tool entry of this version (byte-for-byte, CSP-hashed).
if ! grep -q "/embed/v$VERSION/tool.js" "$ROOT/web/tool/module-page.js"; then
  log "web/tool/module-page.js must import /embed/v$VERSION/tool.js (the kit's version)"; exit 1
fi

size() { stat -c %s "$1"; }
gz() { gzip -9c "$1" | wc -c; }
status=0
row() { # <label> <budget> <files…>
  local label="$1" budget="$2"; shift 2
  local raw=0 z=0 f
  for f in "$@"; do raw=$(( raw + $(size "$PKG/$f") )); z=$(( z + $(gz "$PKG/$f") )); done
  printf '%-34s %9d %9d  (budget %d)\n' "$label" "$raw" "$z" "$budget" >&2
  if [ "$z" -gt "$budget" ]; then log "embed kit: $label over its ${budget}-byte gzipped budget (where the size goes: bench/embed/README.md)"; status=1; fi
}
printf '%-34s %9s %9s\n' "file" raw "gzip -9" >&2
for f in host.js lti_embed_host_bg.wasm tool.js lti_embed_tool_bg.wasm element.js lti_embed.js lti_embed_bg.wasm caliper.js; do
  printf '%-34s %9d %9d\n' "$f" "$(size "$PKG/$f")" "$(gz "$PKG/$f")" >&2
done
row "host entry (host.js + wasm)" "${LTI_EDGE_HOST_BUDGET_GZ:-40960}" host.js lti_embed_host_bg.wasm
row "tool entry (tool.js + wasm)" "${LTI_EDGE_TOOL_BUDGET_GZ:-30720}" tool.js lti_embed_tool_bg.wasm
row "element (element.js + host wasm)" "${LTI_EDGE_ELEMENT_BUDGET_GZ:-41984}" element.js lti_embed_host_bg.wasm
row "all-in-one (lti_embed.js + wasm)" "${LTI_EDGE_WEB_BUDGET_GZ:-46080}" lti_embed.js lti_embed_bg.wasm
row "caliper (caliper.js, no wasm)" "${LTI_EDGE_CALIPER_BUDGET_GZ:-3072}" caliper.js
exit $status
