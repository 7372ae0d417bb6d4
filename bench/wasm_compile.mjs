// Times one WebAssembly.compile of a .wasm file in this (fresh) node process and prints the
// milliseconds as JSON. bench/coldstart.py runs it once per process, several times: within one
// process V8 would answer a second compile of the same bytes from its module cache.
// Usage: node wasm_compile.mjs FILE.wasm   (V8 flags such as --no-wasm-lazy-compilation go before it)
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const bytes = readFileSync(process.argv[2]);
const t0 = performance.now();
await WebAssembly.compile(bytes);
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, bytes: bytes.length }));
