// Page tests of the tool side (ToolClient), including the snippet proposed for the worker's
// module page, served under the Content-Security-Policy proposed with it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { FIXTURES, ROOT, embedFrame, heightOf, launchBrowser, openHost, startOrigins, statsOf, waitFor } from './harness.mjs';

// The CSP the worker's module page would send with the snippet: the inline module by hash,
// wasm compilation allowed, the package and its .wasm fetched from the worker's own origin.
const inline = (file) => readFileSync(file, 'utf8').match(/<script type="module">([\s\S]*?)<\/script>/)[1];
const snippet = readFileSync(join(ROOT, 'web/tool/module-page.js'), 'utf8');
export const SNIPPET_HASH = `sha256-${createHash('sha256').update(snippet).digest('base64')}`;
export const MODULE_PAGE_CSP = `default-src 'none'; script-src 'self' '${SNIPPET_HASH}' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'`;

let origins, browser;
before(async () => {
  origins = await startOrigins({ headers: (path) => (path === '/fixtures/worker-module.html' ? { 'content-security-policy': MODULE_PAGE_CSP } : {}) });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await origins?.close();
});

describe('ToolClient', { timeout: 60_000 }, () => {
  it('the worker-module stand-in and the demo inline web/tool/module-page.js verbatim', () => {
    assert.equal(inline(join(FIXTURES, 'worker-module.html')), snippet);
    assert.equal(inline(join(ROOT, 'web/demo/tool/module.html')), snippet);
  });

  it('runs the worker module-page snippet under its CSP: resize and contentSelected', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    try {
      const i = await page.evaluate((o) => host.create(o), { url: `${origins.T}/fixtures/worker-module.html`, allowedOrigins: [origins.T] });
      const name = await page.evaluate((i) => host.frameName(i), i);
      const frame = await waitFor(() => page.frame({ name }), { what: 'module frame' });
      const violations = [];
      page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
      await waitFor(async () => (await heightOf(page, i)) > 1000, { what: 'resized to the module page' });
      const h = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
      assert.equal(await heightOf(page, i), h);
      await frame.click('button[data-entry-id]');
      const sel = await waitFor(async () => (await page.evaluate((i) => host.eventsOf(i, 'contentSelected'), i))[0], { what: 'contentSelected' });
      assert.deepEqual(sel.entry, { entryId: '1_demo', title: 'Demo entry', url: 'https://tool.example.com/embed/1_demo', duration: 61 });
      assert.deepEqual(violations, []);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('posts only to the host origin it was given (never "*")', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    try {
      // The tool believes its host is another origin: the browser does not deliver its messages.
      const i = await page.evaluate((o) => host.create(o), { url: `${origins.T}/fixtures/tool.html?auto=0&host=${encodeURIComponent(origins.E)}`, allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      await page.evaluate(() => { window.__heard = 0; window.addEventListener('message', () => { window.__heard += 1; }); });
      await tool.evaluate(() => tool.client.reportHeight(1500));
      // A message to the right origin afterwards is delivered; the first one never was.
      await tool.evaluate((H) => parent.postMessage({ subject: 'lti.frameResize', height: 1234 }, H), origins.H);
      await waitFor(async () => (await heightOf(page, i)) === 1234, { what: 'the correctly addressed message' });
      assert.equal(await page.evaluate(() => window.__heard), 1);
      assert.equal((await statsOf(page, i)).accepted, 1);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('checks what it sends: bad entries and options throw, nothing is posted', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    try {
      const i = await page.evaluate((o) => host.create(o), { url: `${origins.T}/fixtures/tool.html?auto=0&host=${encodeURIComponent(origins.H)}`, allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      const thrown = await tool.evaluate(async () => {
        const out = [];
        const t = (f) => { try { f(); out.push('no error'); } catch (e) { out.push(e.message); } };
        t(() => tool.client.contentSelected({ title: 'no id' }));
        t(() => tool.client.contentSelected({ entryId: 'x', url: 'javascript:alert(1)' }));
        t(() => tool.client.send('lti.showAlert', { body: '' }));
        t(() => new tool.client.constructor({ hostOrigin: '*' }));
        t(() => new tool.client.constructor({ hostOrigin: 'null' }));
        t(() => new tool.client.constructor({ storageTarget: '_top' }));
        try { await tool.client.putData('', 'v'); out.push('stored'); } catch (e) { out.push(e.code); }
        return out;
      });
      assert.equal(thrown.length, 7);
      assert.ok(!thrown.includes('no error'), JSON.stringify(thrown));
      assert.match(thrown[0], /bad_request: entry needs an entryId/);
      assert.match(thrown[3], /hostOrigin.*wildcards/);
      assert.equal(thrown[6], 'bad_request');
      assert.equal((await statsOf(page, i)).accepted + (await statsOf(page, i)).dropped, 0, 'nothing reached the host');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});
