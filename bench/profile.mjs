// Where a launch's CPU goes inside workerd: runs the release worker through Miniflare with the V8
// inspector on, drives N distinct login + launch pairs (tokens signed here with the platform
// fixture key), records a CPU profile of the worker's isolate during the launches only and prints
// the functions with the most self time (wasm functions by name when the build keeps names).
// It also prints the CPU time the workerd process spent per launch (from /proc, every isolate
// and Miniflare's KV/DO simulations included). PROFILE_CPU_ONLY=1 skips the profiler (no
// inspector overhead): only the /proc numbers.
// Not a test and not the benchmark (`npm run bench`); a tool for finding the next thing to cut.
//   node bench/profile.mjs [N=1500] [C=8]      (env NONCE_STORE=kv|durable, PROFILE_OUT=file.cpuprofile)
import { createServer } from 'node:http';
import { createSign, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Miniflare } from 'miniflare';

import { root, workerOptions } from '../scripts/miniflare-options.mjs';

const N = Number(process.argv[2] || 1500);
const C = Number(process.argv[3] || 8);
const fixtures = path.join(root, 'crates/lti-core/fixtures');
const jwks = readFileSync(path.join(fixtures, 'platform_jwks.json'));
const platformKey = readFileSync(path.join(fixtures, 'platform_key.pem'), 'utf8');
const KID = 'platform-key-1';
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';
const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';

const jwksServer = createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(jwks); });
await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${jwksServer.address().port}`;

const port = 18890 + Math.floor(Math.random() * 50);
const inspectorPort = port + 100;
// PROFILE_DIRECT=1: requests go to a socket of the worker itself (Miniflare's unsafeDirectSockets),
// skipping Miniflare's entry worker — a dev-tool hop the deployed runtime does not have.
const direct = process.env.PROFILE_DIRECT === '1';
const base = `http://127.0.0.1:${port}`;
const admin = `adm_${randomBytes(18).toString('base64url')}`;
const mf = new Miniflare(workerOptions({
  port,
  direct,
  inspectorPort,
  bindings: { PUBLIC_BASE_URL: base, LTI_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), LTI_ADMIN_TOKEN: admin,
    ALLOW_HTTP_LOOPBACK: 'true', NONCE_STORE: process.env.NONCE_STORE || 'kv' },
}));
await mf.ready;

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function sign(claims) {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: KID })}.${b64(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(platformKey).toString('base64url')}`;
}
const target = `${base}/hosted/index/my-media`;
async function login(i) {
  const q = new URLSearchParams({ iss: issuer, login_hint: `u${i}`, target_link_uri: target, client_id: 'bench-client' });
  const r = await fetch(`${base}/lti/login?${q}`, { redirect: 'manual' });
  const loc = new URL(r.headers.get('location'));
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const now = Math.floor(Date.now() / 1000);
  const token = sign({ iss: issuer, aud: 'bench-client', sub: `u${i}`, exp: now + 600, iat: now, nonce: loc.searchParams.get('nonce'),
    [`${CLAIM}message_type`]: 'LtiResourceLinkRequest', [`${CLAIM}version`]: '1.3.0', [`${CLAIM}deployment_id`]: 'bench-dep',
    [`${CLAIM}target_link_uri`]: target, [`${CLAIM}resource_link`]: { id: `rl-${i % 50}` },
    [`${CLAIM}roles`]: [LIS + (i % 2 ? 'Learner' : 'Instructor')], [`${CLAIM}context`]: { id: `course-${i % 20}` } });
  return { body: new URLSearchParams({ id_token: token, state: loc.searchParams.get('state') }).toString(), cookie };
}
async function launch(p) {
  const r = await fetch(`${base}/lti/launch`, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', cookie: p.cookie }, body: p.body });
  await r.arrayBuffer();
  if (r.status !== 303) throw new Error(`launch ${r.status}`);
}
async function lanes(items, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: C }, async () => { while (next < items.length) { const k = next++; await fn(items[k], k); } }));
}

const reg = await fetch(`${base}/lti/platforms`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  body: JSON.stringify({ issuer, lti13ClientId: 'bench-client', name: 'Bench', lti13PlatformOidcAuthUrl: `${issuer}/auth`,
    lti13AuthTokenUrl: `${issuer}/token`, lti13KeysUrl: `${issuer}/jwks`, deploymentIds: ['bench-dep'] }) });
if (!reg.ok) throw new Error(`register ${reg.status} ${await reg.text()}`);
const warm = await Promise.all(Array.from({ length: 50 }, (_, i) => login(1e6 + i)));
await lanes(warm, launch);

// CPU seconds (user + system) of the workerd processes Miniflare started.
const workerdPids = () => execFileSync('pgrep', ['-P', String(process.pid), 'workerd']).toString().trim().split(/\s+/).filter(Boolean);
const cpuOf = (pids) => pids.reduce((sum, pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return sum + (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}, 0);
if (process.env.PROFILE_CPU_ONLY === '1') {
  const prepared = [];
  await lanes(Array.from({ length: N }, (_, i) => i), async (i) => { prepared[i] = await login(i); });
  const pids = workerdPids();
  const c0 = cpuOf(pids);
  const t0 = performance.now();
  await lanes(prepared, launch);
  const wall = performance.now() - t0;
  const cpu = cpuOf(pids) - c0;
  const f0 = cpuOf(pids);
  const t1 = performance.now();
  await lanes(Array.from({ length: N }), async () => { await (await fetch(`${base}/version`)).arrayBuffer(); });
  const fwall = performance.now() - t1;
  const fcpu = cpuOf(pids) - f0;
  console.log(`floor: ${N} GET /version in ${(fwall / 1000).toFixed(2)} s = ${(N / fwall * 1000).toFixed(0)}/s; workerd CPU ${(fcpu * 1e6 / N).toFixed(0)} µs per request`);
  await mf.dispose();
  jwksServer.close();
  console.log(`${N} launches at C=${C} in ${(wall / 1000).toFixed(2)} s = ${(N / wall * 1000).toFixed(0)}/s; workerd CPU ${(cpu * 1e6 / N).toFixed(0)} µs per launch (${pids.length} process)`);
  process.exit(0);
}

// The user worker's inspector target (Miniflare names it after the worker; internal services are not listed).
const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
let id = 0;
const pending = new Map();
ws.onmessage = (m) => { const d = JSON.parse(m.data); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } };
const cdp = (method, params = {}) => new Promise((r) => { const k = ++id; pending.set(k, r); ws.send(JSON.stringify({ id: k, method, params })); });

// PROFILE_WHAT=login profiles the logins (OIDC initiation) instead of the launches.
const profileLogins = process.env.PROFILE_WHAT === 'login';
const prepared = [];
if (!profileLogins) await lanes(Array.from({ length: N }, (_, i) => i), async (i) => { prepared[i] = await login(i); });
await cdp('Profiler.enable');
await cdp('Profiler.setSamplingInterval', { interval: 100 });
await cdp('Profiler.start');
const t0 = performance.now();
if (profileLogins) await lanes(Array.from({ length: N }, (_, i) => i), async (i) => { prepared[i] = await login(i); });
else await lanes(prepared, launch);
const wall = performance.now() - t0;
const { result } = await cdp('Profiler.stop');
ws.close();
await mf.dispose();
jwksServer.close();

const profile = result.profile;
if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
const dt = new Map();
for (let k = 0; k < profile.samples.length; k++) dt.set(profile.samples[k], (dt.get(profile.samples[k]) || 0) + (profile.timeDeltas[k + 1] || 0));
const self = new Map();
let total = 0;
let idle = 0;
for (const node of profile.nodes) {
  const us = dt.get(node.id) || 0;
  const name = node.callFrame.functionName || '(anonymous)';
  if (name === '(idle)') { idle += us; continue; }
  total += us;
  const key = `${name}  ${node.callFrame.url ? path.basename(node.callFrame.url) : ''}`.trim();
  self.set(key, (self.get(key) || 0) + us);
}
console.log(`${N} ${profileLogins ? 'logins' : 'launches'} at C=${C} in ${(wall / 1000).toFixed(2)} s = ${(N / wall * 1000).toFixed(0)}/s (profiler on)`);
console.log(`worker isolate busy ${(total / N).toFixed(0)} µs per launch, idle ${(idle / N).toFixed(0)} µs per launch`);
console.log('| self µs per launch | share | function |\n|---:|---:|---|');
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP || 30))) {
  console.log(`| ${(us / N).toFixed(1)} | ${(100 * us / total).toFixed(1)}% | ${k} |`);
}
