// HTTP load driver: replays a prepared list of requests against one origin with a fixed number of
// concurrent lanes (one keep-alive connection each, undici Pool), and records per-request latency.
//
//   node driver.mjs <job.json> <out.json>
//
// job.json: {
//   "origin": "http://127.0.0.1:18880",        // loopback only (checked)
//   "concurrency": 8,
//   "deadlineMs": 300000,                      // requests not started by then are recorded as errors
//   "expectStatus": 303,                       // a response body is kept only for other statuses
//   "requests": [{"method": "POST", "path": "/lti/launch", "headers": {...}, "body": "..."}, ...]
// }
// out.json: { "wallMs": ..., "results": [{"status", "ms", "location", "setCookie": [...], "body"?, "err"?}] }
// Latency = from sending the request to the end of the response body. No redirect is followed.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const [jobPath, outPath] = process.argv.slice(2);
if (!jobPath || !outPath) {
  console.error('usage: node driver.mjs <job.json> <out.json>');
  process.exit(2);
}
const job = JSON.parse(readFileSync(jobPath, 'utf8'));
const origin = new URL(job.origin);
if (origin.hostname !== '127.0.0.1' || origin.protocol !== 'http:') {
  console.error(`refusing a non-loopback origin: ${job.origin}`);
  process.exit(2);
}
const concurrency = Math.max(1, Math.min(64, job.concurrency | 0));
const requests = job.requests;
const deadline = Date.now() + (job.deadlineMs || 300_000);

const pool = new Pool(origin.origin, {
  connections: concurrency,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
  connectTimeout: 10_000,
});

const results = new Array(requests.length);
let next = 0;

async function lane() {
  for (;;) {
    const i = next++;
    if (i >= requests.length) return;
    if (Date.now() > deadline) {
      results[i] = { status: 0, ms: 0, err: 'deadline passed before the request was sent' };
      continue;
    }
    const r = requests[i];
    const t0 = performance.now();
    try {
      const res = await pool.request({
        path: r.path, method: r.method, headers: r.headers || {}, body: r.body ?? null,
      });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      const sc = res.headers['set-cookie'];
      const out = {
        status: res.statusCode,
        ms,
        location: res.headers.location ?? null,
        setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc],
      };
      if (res.statusCode !== job.expectStatus) out.body = text.slice(0, 400);
      results[i] = out;
    } catch (err) {
      results[i] = { status: 0, ms: performance.now() - t0, err: String(err && err.message || err) };
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
const wallMs = performance.now() - t0;
await pool.close();
writeFileSync(outPath, JSON.stringify({ wallMs, results }));
