#!/usr/bin/env node
// Embed kit benchmark: shipped size next to @iframe-resizer/parent, and messages handled per
// second / cost per message of the wasm module next to a plain JavaScript listener doing the same
// checks (bench/embed/plain.js), in headless Chromium. Prints a table; asserts nothing.
//   node bench/embed/run.mjs [--n 20000] [--rounds 5]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';

import { chromium } from 'playwright-core';

import { serve } from '../../web/serve.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? Number(process.argv[i + 1]) : d; };
const N = arg('--n', 20000);
const ROUNDS = arg('--rounds', 5);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

const gz = (buf) => gzipSync(buf, { level: 9 }).length;
// Bytes (and KiB): the kit's budget is 40,960 bytes gzipped (scripts/build-web.sh, GNU gzip -9;
// node's zlib at level 9, used here, comes out a little larger).
const kb = (b) => `${b.toLocaleString('en')} B (${(b / 1024).toFixed(1)} KiB)`;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

// ---- sizes
const pkg = join(ROOT, 'web/pkg');
if (!existsSync(join(pkg, 'lti_embed_bg.wasm'))) {
  console.error('web/pkg is missing: run bash scripts/build-web.sh first');
  process.exit(1);
}
const wasm = readFileSync(join(pkg, 'lti_embed_bg.wasm'));
const glue = readFileSync(join(pkg, 'lti_embed.js'));
const irDir = join(ROOT, 'node_modules/@iframe-resizer/parent');
const sizes = [
  ['lti-embed wasm (wasm-opt -Oz)', wasm.length, gz(wasm)],
  ['lti-embed JS (API + loader, minified)', glue.length, gz(glue)],
  ['lti-embed total (host + tool side)', wasm.length + glue.length, gz(wasm) + gz(glue)],
];
if (existsSync(irDir)) {
  const ver = JSON.parse(readFileSync(join(irDir, 'package.json'), 'utf8')).version;
  const umd = readFileSync(join(irDir, 'index.umd.js'));
  sizes.push([`@iframe-resizer/parent ${ver} index.umd.js (as shipped)`, umd.length, gz(umd)]);
  const esbuild = join(ROOT, 'node_modules/@esbuild/linux-x64/bin/esbuild');
  if (existsSync(esbuild)) {
    const bundled = execFileSync(esbuild, [join(irDir, 'index.esm.js'), '--bundle', '--minify', '--format=esm', '--log-level=error'], { maxBuffer: 1 << 24 });
    sizes.push([`@iframe-resizer/parent ${ver} ESM + deps, esbuild --minify`, bundled.length, gz(bundled)]);
  }
} else {
  sizes.push(['@iframe-resizer/parent (not installed: npm install)', 0, 0]);
}

// ---- speed
const mounts = { '/bench/': HERE };
const [host, tool, other] = await Promise.all([0, 0, 0].map(() => serve({ root: join(ROOT, 'web'), port: 0, mounts })));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium', args: ARGS, headless: true });
const workloads = ['frameResize (JSON string)', 'frameResize (object)', 'contentSelected (object)', 'malformed string', 'foreign origin'];
const results = {};
try {
  for (const impl of ['wasm', 'plain']) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${host.url}/bench/bench.html?impl=${impl}&tool=${encodeURIComponent(tool.url)}&other=${encodeURIComponent(other.url)}`);
    await page.waitForFunction(() => window.benchReady !== undefined, null, { timeout: 15_000, polling: 50 });
    await page.evaluate(() => window.benchReady);
    results[impl] = {};
    for (const w of workloads) {
      await page.evaluate(([w]) => runSynthetic(w, 2000), [w]); // warm-up
      const per = [];
      for (let r = 0; r < ROUNDS; r++) {
        const { ms, n } = await page.evaluate(([w, n]) => runSynthetic(w, n), [w, N]);
        per.push((ms * 1000) / n);
      }
      results[impl][w] = median(per);
    }
    const toolFrame = page.frames().find((f) => f.url().startsWith(tool.url));
    await toolFrame.waitForFunction(() => window.flood !== undefined, null, { timeout: 15_000, polling: 50 });
    const flood = [];
    for (let r = 0; r < ROUNDS; r++) {
      await page.evaluate(() => markFlood());
      await toolFrame.evaluate(([n, h]) => flood(n, h), [N, host.url]);
      const { ms, n } = await page.evaluate((n) => waitFlood(n), N);
      flood.push((n / ms) * 1000);
    }
    results[impl].flood = median(flood);
    if (errors.length) console.error(`${impl}: page errors: ${errors.join('; ')}`);
    await page.close();
  }
} finally {
  await browser.close();
  for (const s of [host, tool, other]) s.server.close();
}

// ---- table
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(`\nEmbed kit size (node zlib, gzip level 9)`);
console.log(`${pad('artifact', 58)} ${lpad('raw', 22)} ${lpad('gzipped', 22)}`);
for (const [name, raw, g] of sizes) console.log(`${pad(name, 58)} ${lpad(kb(raw), 22)} ${lpad(kb(g), 22)}`);
console.log(`\nMessage handling in headless Chromium (${N} messages x ${ROUNDS} rounds, median)`);
console.log(`${pad('workload', 34)} ${lpad('wasm µs/msg', 12)} ${lpad('wasm msg/s', 12)} ${lpad('plain µs/msg', 13)} ${lpad('plain msg/s', 12)} ${lpad('ratio', 7)}`);
for (const w of workloads) {
  const a = results.wasm[w];
  const b = results.plain[w];
  console.log(`${pad(w, 34)} ${lpad(a.toFixed(3), 12)} ${lpad(Math.round(1e6 / a).toLocaleString('en'), 12)} ${lpad(b.toFixed(3), 13)} ${lpad(Math.round(1e6 / b).toLocaleString('en'), 12)} ${lpad((a / b).toFixed(1) + 'x', 7)}`);
}
const fa = results.wasm.flood;
const fb = results.plain.flood;
console.log(`${pad('end to end: tool posts, host handles', 34)} ${lpad((1e6 / fa).toFixed(3), 12)} ${lpad(Math.round(fa).toLocaleString('en'), 12)} ${lpad((1e6 / fb).toFixed(3), 13)} ${lpad(Math.round(fb).toLocaleString('en'), 12)} ${lpad((fb / fa).toFixed(1) + 'x', 7)}`);
console.log(`\nsynthetic rows: MessageEvents dispatched on window (listener cost + dispatch); end to end: real`);
console.log(`postMessage from a cross-origin tool iframe, including the browser's delivery. Timings are`);
console.log(`indicative (2-core machine, shared); nothing is asserted.`);
