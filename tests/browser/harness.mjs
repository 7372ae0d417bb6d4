// Shared set-up of the page tests: three static origins on loopback (host, tool, another origin),
// optionally the local LMS, and headless Chromium through playwright-core. Every wait is bounded;
// nothing asserts on timings.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { serve } from '../../web/serve.mjs';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '../..');
export const WEB = join(ROOT, 'web');
export const FIXTURES = join(HERE, 'fixtures');
export const SCREENSHOTS = join(HERE, 'screenshots');

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Poll `fn` until it returns a truthy value; throw after `timeout` ms with `what`. */
export async function waitFor(fn, { timeout = 10_000, interval = 25, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Start the origins: `host` (the page with the embeds), `tool` (the tool's pages) and `other`
 * (a page on another origin). All serve web/ at /, the fixtures at /fixtures/ and the package
 * at /pkg/ and its published copy (web/public/embed: versioned files) at /embed/ (where the worker serves it). `headers` adds
 * response headers by path (a CSP for the worker-module stand-in); `mounts` more folders by prefix.
 */
export async function startOrigins({ headers, mounts = {} } = {}) {
  const mk = () => serve({ root: WEB, port: 0, mounts: { '/fixtures/': FIXTURES, '/embed/': join(WEB, 'public', 'embed'), ...mounts }, headers });
  const [host, tool, other] = await Promise.all([mk(), mk(), mk()]);
  return {
    H: host.url,
    T: tool.url,
    E: other.url,
    close: () => Promise.all([host, tool, other].map((s) => new Promise((r) => s.server.close(r)))),
  };
}

/** The local LMS (tests/platform/platform.py) with its tool URL pointing at `toolUrl`. */
export async function startLms(toolUrl) {
  const py = process.env.LTI_EDGE_PY || join(ROOT, '.venv/bin/python');
  if (!existsSync(py)) return null;
  const port = await freePort();
  const child = spawn(py, [join(ROOT, 'tests/platform/platform.py'), '--port', String(port), '--tool-url', toolUrl, '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/jwks`)).ok, { timeout: 20_000, what: 'the local LMS' });
  return { url, close: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

/**
 * The real worker (the release build in worker/build) in workerd via `wrangler dev --local`, with
 * fresh local state and secrets. Returns null when the build is missing (run `npm test`, which
 * builds it first). `hostname` is the name in its public URL (`url`); it always listens on
 * 127.0.0.1 (`direct`, for calls from the test). `localhost` puts it on another site than the
 * other loopback origins (sites of IP addresses are the address itself).
 */
/** The worker in workerd (`wrangler dev --local`); `vars`: more worker vars (name → value). */
export async function startWorker({ hostname = '127.0.0.1', vars = {} } = {}) {
  const wrangler = join(ROOT, 'node_modules/.bin/wrangler');
  if (!existsSync(join(ROOT, 'worker/build/index.js')) || !existsSync(wrangler)) return null;
  const port = await freePort();
  const inspector = await freePort();
  const url = `http://${hostname}:${port}`;
  const direct = `http://127.0.0.1:${port}`;
  const state = mkdtempSync(join(tmpdir(), 'lti-edge-browser-'));
  const admin = `adm_${randomBytes(18).toString('base64url')}`;
  const child = spawn(wrangler, ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', state, '--show-interactive-dev-session=false', '--log-level', 'warn',
    '--var', `PUBLIC_BASE_URL:${url}`, '--var', `LTI_ADMIN_TOKEN:${admin}`, '--var', 'ALLOW_HTTP_LOOPBACK:true',
    '--var', `LTI_ENCRYPTION_KEY:${randomBytes(36).toString('base64url')}`,
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LTI_EDGE_SKIP_BUILD: '1', WRANGLER_SEND_METRICS: 'false', DO_NOT_TRACK: '1', CI: 'true', NO_COLOR: '1' },
  });
  await waitFor(async () => { try { return (await fetch(`${direct}/version`)).ok; } catch { return false; } }, { timeout: 60_000, interval: 250, what: 'the worker in workerd' });
  return {
    url,
    direct,
    admin,
    /** Register the local LMS at `lms` (client id lti-edge-local, deployment local-deployment-1). */
    register: async (lms) => {
      const r = await fetch(`${direct}/lti/platforms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ issuer: lms, lti13ClientId: 'lti-edge-local', name: 'Local LMS', lti13PlatformOidcAuthUrl: `${lms}/auth`,
          lti13AuthTokenUrl: `${lms}/token`, lti13KeysUrl: `${lms}/jwks`, deploymentIds: ['local-deployment-1'], deploymentPolicy: 'allowList' }),
      });
      if (!r.ok) throw new Error(`register: ${r.status} ${await r.text()}`);
    },
    close: () => new Promise((r) => {
      child.once('exit', () => { rmSync(state, { recursive: true, force: true }); r(); });
      try { process.kill(-child.pid, 'SIGTERM'); } catch { child.kill('SIGTERM'); }
    }),
  };
}

/**
 * What a test file of the real product needs: the worker in workerd, the local LMS (registered
 * with the worker unless `register` is false) and headless Chromium. `close()` stops all three.
 */
export async function startStack({ register = true } = {}) {
  const worker = await startWorker();
  if (!worker) throw new Error('worker/build is missing: npm test builds it before the browser tests');
  const lms = await startLms(worker.url);
  if (!lms) {
    await worker.close();
    throw new Error('the local LMS needs .venv (npm test sets it up)');
  }
  if (register) await worker.register(lms.url);
  const browser = await launchBrowser();
  return {
    worker, lms, browser,
    close: async () => {
      await browser?.close();
      await lms?.close();
      await worker?.close();
    },
  };
}

/**
 * Headless Chromium. `routedPages`: the tests serve some host pages themselves (page.route, so a
 * page can sit on any origin, e.g. the LMS's); Chromium treats such a fulfilled page as a public
 * page and its Local Network Access checks then block its iframes from loading loopback URLs —
 * which every tool URL here is. The flag switches those checks off (a portal and a tool on public
 * origins never meet them).
 */
export function launchBrowser({ routedPages = false } = {}) {
  const args = routedPages ? [...CHROMIUM_ARGS, '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests'] : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
}

/**
 * Chromium with a fresh profile whose content settings block every cookie of `origins` (exact
 * origins such as `http://localhost:8787`): first- and third-party, partitioned (CHIPS) cookies
 * included — what a browser that blocks a site's cookies does. Blocking third-party cookies alone
 * does not do that: Chromium still stores and sends `Partitioned` cookies in a cross-site iframe.
 * Returns the persistent context; `newPage()` is like `newPage` below.
 */
export async function launchCookieBlockingBrowser(origins, { viewport = { width: 1280, height: 900 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'lti-edge-profile-'));
  mkdirSync(join(profile, 'Default'));
  const cookies = Object.fromEntries(origins.map((o) => [`${o},*`, { setting: 2 }]));
  writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { content_settings: { exceptions: { cookies } } } }));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport });
  return {
    context,
    newPage: async () => {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
      return { page, errors, close: () => page.close() };
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A fresh page that records page errors; `errors` must stay empty in every test. */
export async function newPage(browser, { viewport = { width: 1280, height: 900 }, init } = {}) {
  const context = await browser.newContext({ viewport });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
  return { page, errors, close: () => context.close() };
}

/**
 * The frame of embed `i` on a host page, once its document exposes `global`. Polls by interval:
 * a cross-origin frame off screen is not rendered, so requestAnimationFrame polling would hang.
 */
export async function embedFrame(page, i, global = 'tool') {
  const name = await page.evaluate((i) => host.frameName(i), i);
  const frame = await waitFor(() => page.frame({ name }), { what: `frame ${name}` });
  await frame.waitForFunction((g) => window[g] !== undefined, global, { timeout: 10_000, polling: 50 });
  return frame;
}

export async function openHost(browser, H, opts) {
  const p = await newPage(browser, opts);
  await p.page.goto(`${H}/fixtures/host.html`);
  await p.page.waitForFunction(() => window.host !== undefined, null, { timeout: 10_000, polling: 50 });
  return p;
}

export const heightOf = (page, i) => page.evaluate((i) => host.height(i), i);
export const statsOf = (page, i) => page.evaluate((i) => host.stats(i), i);

export function screenshotPath(name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

/**
 * Serve the kit module at `url` to `page`'s frames as a browser without
 * `location.ancestorOrigins` (Firefox) runs it: that one read replaced by `undefined`.
 */
export async function withoutAncestorOrigins(page, url) {
  await page.route(url, async (route) => {
    const r = await route.fetch();
    const body = await r.text();
    const n = body.split('location.ancestorOrigins').length - 1;
    if (n !== 1) throw new Error(`${url}: location.ancestorOrigins read ${n} times, expected once`);
    await route.fulfill({ response: r, body: body.replace('location.ancestorOrigins', 'void 0') });
  });
}
