// Install paths that work (issue 13), against the real worker (release build in workerd) on
// http://localhost:<port> — another site than the host pages on http://127.0.0.1:<port>:
// - the README's embed-kit snippet, verbatim (only its example hosts replaced), in a cross-site
//   host page, launching through the local LMS into the worker's module page;
// - the versioned /embed/v<version>/ files: CORS, immutable caching, Content-Type, SRI hashes;
// - <lti-embed> from one <script type="module" integrity=…> tag, cross-site;
// - the worker's module page where the browser reports no ancestor origin (Firefox): its tool
//   client falls back to the LMS's origin from the session.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ROOT, launchBrowser, newPage, screenshotPath, startLms, startOrigins, startWorker, waitFor, withoutAncestorOrigins } from './harness.mjs';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'web/pkg/package.json'), 'utf8')).version;

/** The first ```js block of the README's embed-kit section, as written. */
function readmeSnippet() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Embedding the tool in a host page'));
  return section.match(/```js\n([\s\S]*?)```/)[1];
}

// Host pages written by the tests, served by a real static server on the host origin.
const pages = mkdtempSync(join(tmpdir(), 'lti-embed-install-'));
let worker, lms, origins, browser;
before(async () => {
  worker = await startWorker({ hostname: 'localhost' });
  assert.ok(worker, 'worker/build is missing: npm test builds it before the browser tests');
  lms = await startLms(worker.url);
  assert.ok(lms, 'the local LMS needs .venv (npm test sets it up)');
  await worker.register(lms.url);
  origins = await startOrigins({ mounts: { '/t/': pages } });
  browser = await launchBrowser({ routedPages: true });
});
after(async () => {
  await browser?.close();
  await origins?.close();
  await lms?.close();
  await worker?.close();
  rmSync(pages, { recursive: true, force: true });
});

const html = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title></head><body>${body}</body></html>`;
let n = 0;
/** A host page with `body`: on the host origin, a file served by the static server; on another
 *  origin (the LMS's), served by the test (page.route; see launchBrowser's routedPages). */
async function hostPage(p, origin, body) {
  if (origin === origins.H) {
    const name = `page-${++n}.html`;
    writeFileSync(join(pages, name), html(body));
    return p.page.goto(`${origins.H}/t/${name}`);
  }
  await p.page.route(`${origin}/install-test.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html(body) }));
  await p.page.goto(`${origin}/install-test.html`);
}

const launchUrl = (q = '') => `${lms.url}/launch?course=bio101&user=ada&role=Learner&placement=mymedia${q}`;

describe('install paths against the real worker', { timeout: 120_000 }, () => {
  it("runs the README's snippet verbatim in a cross-site host page", async () => {
    const snippet = readmeSnippet();
    assert.match(snippet, /https:\/\/tool\.example\.com\/embed\/v[\d.]+\/host\.js/);
    const code = snippet
      .replaceAll('https://tool.example.com', worker.url)
      .replaceAll('https://lms.example.edu/launch?placement=mymedia', launchUrl());
    const p = await newPage(browser, { viewport: { width: 1200, height: 900 } });
    const failed = [];
    p.page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
    p.page.on('console', (m) => { if (/CORS|blocked|Refused/i.test(m.text())) failed.push(m.text()); });
    try {
      await hostPage(p, origins.H, `<h1>Portal</h1><div id="media"></div><script type="module">${code}\nwindow.embed = embed; window.done = true;</script>`);
      await p.page.waitForFunction(() => window.done === true, null, { timeout: 60_000, polling: 100 });
      const r = await p.page.evaluate(() => ({ stats: window.embed.stats(), src: window.embed.iframe.src }));
      assert.ok(r.stats.accepted >= 1, `the worker's module page spoke to the host: ${JSON.stringify(r.stats)}`);
      assert.ok(r.src.startsWith(lms.url));
      const tool = p.page.frames().find((f) => f.url().startsWith(`${worker.url}/hosted/index/my-media/ks/`));
      assert.ok(tool, 'the iframe reached the worker module page');
      assert.equal(await tool.evaluate(() => document.documentElement.dataset.hostOriginSource), 'ancestorOrigins');
      assert.deepEqual(failed, []);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
  });

  it('serves the kit at versioned, immutable URLs with CORS, the wasm type and matching SRI hashes', async () => {
    const integrity = await (await fetch(`${worker.direct}/embed/v${VERSION}/integrity.json`)).json();
    assert.equal(integrity.version, VERSION);
    for (const [file, type] of [['host.js', /javascript/], ['tool.js', /javascript/], ['element.js', /javascript/], ['lti_embed.js', /javascript/], ['caliper.js', /javascript/],
      ['lti_embed_host_bg.wasm', /^application\/wasm/], ['lti_embed_tool_bg.wasm', /^application\/wasm/], ['lti_embed_bg.wasm', /^application\/wasm/]]) {
      const r = await fetch(`${worker.direct}/embed/v${VERSION}/${file}`, { headers: { origin: origins.H } });
      assert.equal(r.status, 200, file);
      assert.match(r.headers.get('content-type'), type, file);
      assert.equal(r.headers.get('access-control-allow-origin'), '*', file);
      assert.match(r.headers.get('cache-control') || '', /max-age=31536000.*immutable/, file);
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(`sha384-${createHash('sha384').update(body).digest('base64')}`, integrity[file], `${file}: served bytes match integrity.json`);
      // The package's copy is the same file.
      assert.ok(body.equals(readFileSync(join(ROOT, 'web/pkg', file))), `${file} equals web/pkg/${file}`);
    }
    // The unversioned all-in-one module (pages written before versioning) is loadable cross-site too.
    const old = await fetch(`${worker.direct}/embed/lti_embed.js`);
    assert.equal(old.headers.get('access-control-allow-origin'), '*');
    assert.doesNotMatch(old.headers.get('cache-control') || '', /immutable/);
  });

  it('<lti-embed> from one script tag with SRI, cross-site; a wrong hash is refused', async () => {
    const integrity = await (await fetch(`${worker.direct}/embed/v${VERSION}/integrity.json`)).json();
    const p = await newPage(browser, { viewport: { width: 1200, height: 900 } });
    try {
      await hostPage(p, origins.H, `<lti-embed id="media" src="${launchUrl()}" allowed-origins="${worker.url}"></lti-embed>
<script>window.ready = null; document.getElementById('media').addEventListener('ready', (e) => (window.ready = e.detail));</script>
<script type="module" src="${worker.url}/embed/v${VERSION}/element.js" integrity="${integrity['element.js']}" crossorigin="anonymous"></script>`);
      const ready = await waitFor(() => p.page.evaluate(() => window.ready), { timeout: 60_000, what: 'ready from the worker module page' });
      assert.deepEqual(ready, { origin: worker.url });
      await p.page.screenshot({ path: screenshotPath('install-element.png') });
      assert.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
    const q = await newPage(browser);
    const blocked = [];
    q.page.on('console', (m) => { if (/integrity/i.test(m.text())) blocked.push(m.text()); });
    try {
      const wrong = integrity['host.js']; // another file's hash
      await hostPage(q, origins.H, `<lti-embed src="${launchUrl()}" allowed-origins="${worker.url}"></lti-embed>
<script type="module" src="${worker.url}/embed/v${VERSION}/element.js" integrity="${wrong}" crossorigin="anonymous"></script>`);
      await waitFor(() => blocked.length > 0, { what: 'the integrity failure' });
      assert.equal(await q.page.evaluate(() => customElements.get('lti-embed')), undefined, 'not defined: the script did not run');
    } finally {
      await q.close();
    }
  });

  it("the worker's module page falls back to the LMS's origin where no ancestor origin is reported (Firefox)", async () => {
    // A course page on the LMS's own origin (served by the test), whose theme rendered the tool's
    // iframe, adopted with Embed.attach. The worker's module page gets the kit's tool entry as a
    // browser without location.ancestorOrigins (Firefox) runs it; its client must fall back to the
    // LMS's origin from the session (#lti-embed-config) and reach this page.
    const p = await newPage(browser, { viewport: { width: 1200, height: 900 } });
    try {
      await withoutAncestorOrigins(p.page, `${worker.url}/embed/v${VERSION}/tool.js`);
      await hostPage(p, lms.url, `<h1>Course page</h1><iframe id="tool" style="width:100%;border:0"></iframe>
<script type="module">
import init, { Embed } from "${worker.url}/embed/v${VERSION}/host.js";
await init();
const f = document.getElementById('tool');
window.embed = Embed.attach(f, { url: ${JSON.stringify(launchUrl())}, allowedOrigins: [${JSON.stringify(worker.url)}] });
await window.embed.ready;
window.done = true;
</script>`);
      await p.page.waitForFunction(() => window.done === true, null, { timeout: 60_000, polling: 100 });
      const tool = p.page.frames().find((f) => f.url().startsWith(`${worker.url}/hosted/index/my-media/ks/`));
      assert.ok(tool);
      const info = await tool.evaluate(() => ({ source: document.documentElement.dataset.hostOriginSource, host: document.documentElement.dataset.hostOrigin,
        config: JSON.parse(document.getElementById('lti-embed-config').textContent), status: document.getElementById('lti-embed-status').hidden }));
      assert.deepEqual(info, { source: 'platformOrigin', host: lms.url, config: { platformOrigin: lms.url }, status: true });
      assert.ok((await p.page.evaluate(() => window.embed.stats().accepted)) >= 1);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
  });
});
