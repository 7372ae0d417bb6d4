#!/usr/bin/env node
// Shortens the names the wasm module imports from its JS glue, in both files, as a minifier
// would: wasm-bindgen names each import `__wbg_<method>_<16 hex digits>` under the module
// "./<out-name>_bg.js", and those ~90 random-looking names appear in the wasm and again in the
// glue, where gzip cannot compress them (~2.8 KB gzipped of the two files). Run by
// scripts/build-web.sh after esbuild; each old name must occur exactly once in the glue (as
// its key in the import object), otherwise nothing is written and the build fails. Several
// bundles may share one wasm (host.js and element.js): each gets the same renaming.
//   node minify-imports.mjs <module.wasm> <glue.js>...
import { readFileSync, writeFileSync } from 'node:fs';

const SHORT_MODULE = 'm';
const [wasmPath, ...jsPaths] = process.argv.slice(2);
if (!wasmPath || !jsPaths.length) {
  console.error('usage: minify-imports.mjs <module.wasm> <glue.js>...');
  process.exit(2);
}
// wasm-bindgen's import module: "./<out-name>_bg.js".
const MODULE = './' + wasmPath.split('/').pop().replace(/\.wasm$/, '.js');

const wasm = readFileSync(wasmPath);

function leb(buf, at) {
  let value = 0, shift = 0, byte;
  do {
    byte = buf[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}
function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}
const str = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([uleb(b.length), b]); };
// a, b, …, z, A, …, Z, aa, ab, …
function shortName(k) {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = '';
  for (k += 1; k > 0; k = Math.floor((k - 1) / 52)) s = letters[(k - 1) % 52] + s;
  return s;
}
// Skip one import descriptor (function, table, memory, global, tag), returning the end.
function skipDesc(buf, at) {
  const kind = buf[at++];
  let flags;
  switch (kind) {
    case 0: return leb(buf, at)[1];
    case 1: at += 1; [flags, at] = leb(buf, at); at = leb(buf, at)[1]; return flags & 1 ? leb(buf, at)[1] : at;
    case 2: [flags, at] = leb(buf, at); at = leb(buf, at)[1]; return flags & 1 ? leb(buf, at)[1] : at;
    case 3: return at + 2;
    case 4: return leb(buf, at + 1)[1];
    default: throw new Error(`unknown import kind ${kind}`);
  }
}

if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error(`${wasmPath} is not a wasm module`);
const parts = [wasm.subarray(0, 8)];
const renamed = new Map();
let at = 8;
while (at < wasm.length) {
  const id = wasm[at];
  const [size, body] = leb(wasm, at + 1);
  const end = body + size;
  if (id !== 2) {
    parts.push(wasm.subarray(at, end));
    at = end;
    continue;
  }
  let [count, p] = leb(wasm, body);
  const out = [uleb(count)];
  while (count--) {
    let len;
    [len, p] = leb(wasm, p);
    const module = wasm.toString('utf8', p, (p += len));
    [len, p] = leb(wasm, p);
    const name = wasm.toString('utf8', p, (p += len));
    const descEnd = skipDesc(wasm, p);
    let newModule = module, newName = name;
    if (module === MODULE) {
      newModule = SHORT_MODULE;
      if (!renamed.has(name)) renamed.set(name, shortName(renamed.size));
      newName = renamed.get(name);
    }
    out.push(str(newModule), str(newName), wasm.subarray(p, descEnd));
    p = descEnd;
  }
  const section = Buffer.concat(out);
  parts.push(Buffer.from([2]), uleb(section.length), section);
  at = end;
}

const out = jsPaths.map((jsPath) => {
  let js = readFileSync(jsPath, 'utf8');
  const once = (from, to) => {
    const re = new RegExp(`(?<![\\w$])${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w$])`, 'g');
    const hits = js.match(re)?.length ?? 0;
    if (hits !== 1) throw new Error(`minify-imports: "${from}" occurs ${hits} times in ${jsPath}, expected once`);
    js = js.replace(re, to);
  };
  once(JSON.stringify(MODULE), SHORT_MODULE);
  for (const [from, to] of renamed) once(from, to);
  return [jsPath, js];
});

writeFileSync(wasmPath, Buffer.concat(parts));
for (const [jsPath, js] of out) writeFileSync(jsPath, js);
console.error(`minify-imports: ${renamed.size} imports renamed`);
