// The API frontend teams expect (issue 13): on() returns an unsubscribe function, once, AbortSignal,
// ready, destroy that frees the wasm-side state (free, Symbol.dispose), clean-up when the
// container leaves the document, Embed.attach, errors a developer can act on (init, container,
// options, CSP), and the <lti-embed> custom element. Host pages use the host entry (host.js).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { embedFrame, heightOf, launchBrowser, newPage, startOrigins, statsOf, waitFor } from './harness.mjs';

const CSP = {
  '/fixtures/csp-wasm.html': "default-src 'self'; script-src 'self' 'unsafe-inline'",
  '/fixtures/csp-connect.html': "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; connect-src 'none'",
};
let origins, browser;
before(async () => {
  origins = await startOrigins({ headers: (path) => (CSP[path] ? { 'content-security-policy': CSP[path] } : {}) });
  browser = await launchBrowser({ routedPages: true });
});
after(async () => {
  await browser?.close();
  await origins?.close();
});

const toolUrl = (q = '') => `${origins.T}/fixtures/tool.html?host=${encodeURIComponent(origins.H)}${q}`;
async function open(query = '') {
  const p = await newPage(browser);
  await p.page.goto(`${origins.H}/fixtures/host.html?entry=host${query}`);
  await p.page.waitForFunction(() => window.host !== undefined, null, { timeout: 10_000, polling: 50 });
  return p;
}
const create = (page, options) => page.evaluate((o) => host.create(o), options);

describe('API', { timeout: 60_000 }, () => {
  it('on() returns an unsubscribe function; once, AbortSignal, once() as a promise; ready', async () => {
    const { page, errors, close } = await open();
    try {
      const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      await page.evaluate((i) => {
        const e = host.embeds[i];
        const got = (window.got = { on: [], once: [], signal: [], ready: null, readyEvent: null, next: null });
        window.un = e.on('resize', (d) => got.on.push(d.height));
        e.once('resize', (d) => got.once.push(d.height));
        window.ac = new AbortController();
        e.on('resize', (d) => got.signal.push(d.height), { signal: window.ac.signal });
        e.ready.then((d) => (got.ready = d));
        e.on('ready', (d) => (got.readyEvent = d));
        e.once('resize').then((d) => (got.next = d.height));
        window.unType = typeof window.un;
      }, i);
      assert.equal(await page.evaluate(() => window.unType), 'function');
      const tool = await embedFrame(page, i);
      const H = origins.H;
      await tool.evaluate((H) => tool.post({ subject: 'lti.frameResize', height: 900 }, H), H);
      await waitFor(async () => (await heightOf(page, i)) === 900, { what: '900' });
      await page.evaluate(() => window.ac.abort());
      await tool.evaluate((H) => tool.post({ subject: 'lti.frameResize', height: 1000 }, H), H);
      await waitFor(async () => (await heightOf(page, i)) === 1000, { what: '1000' });
      await page.evaluate(() => window.un());
      await tool.evaluate((H) => tool.post({ subject: 'lti.frameResize', height: 1100 }, H), H);
      await waitFor(async () => (await heightOf(page, i)) === 1100, { what: '1100' });
      const got = await page.evaluate(() => window.got);
      assert.deepEqual(got.on, [900, 1000], 'unsubscribed after 1000');
      assert.deepEqual(got.once, [900], 'once');
      assert.deepEqual(got.signal, [900], 'aborted after 900');
      assert.equal(got.next, 900, 'once() without a listener is a promise');
      assert.deepEqual(got.ready, { origin: origins.T }, 'ready resolves at the first accepted message');
      assert.deepEqual(got.readyEvent, { origin: origins.T });
      // An aborted signal: never added. Unknown events and non-functions: a sentence.
      const msgs = await page.evaluate((i) => {
        const e = host.embeds[i];
        const ac = new AbortController();
        ac.abort();
        let called = 0;
        e.on('resize', () => called++, { signal: ac.signal });
        const t = (f) => { try { f(); return null; } catch (x) { return x.message; } };
        return [called, t(() => e.on('resize', null)), t(() => e.on('reszie', () => {}))];
      }, i);
      assert.equal(msgs[0], 0);
      assert.equal(msgs[1], 'listener must be a function (got null)');
      assert.match(msgs[2], /^unknown event "reszie" \(events: resize, contentSelected/);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('destroy() frees the wasm-side state; free() and Symbol.dispose destroy; stats survive', async () => {
    const { page, errors, close } = await open();
    try {
      const r = await page.evaluate((T) => {
        const { Embed, liveEmbeds } = host.mod;
        const slot = document.getElementById('slots');
        const before = liveEmbeds();
        const made = [];
        for (let n = 0; n < 60; n++) made.push(new Embed(slot, { url: 'about:blank'.replace('about:blank', '/fixtures/evil.html'), allowedOrigins: [T] }));
        const during = liveEmbeds();
        made.slice(0, 20).forEach((e) => e.destroy());
        made.slice(20, 40).forEach((e) => e.free());
        made.slice(40).forEach((e) => e[Symbol.dispose]());
        const stats = made[0].stats();
        let postError = null;
        try { made[0].post({ subject: 'x' }); } catch (e) { postError = e.message; }
        return { before, during, after: liveEmbeds(), destroyed: made.every((e) => e.destroyed), frames: document.querySelectorAll('iframe').length, stats, postError };
      }, origins.T);
      assert.equal(r.during - r.before, 60);
      assert.equal(r.after, r.before, 'no state left in the core');
      assert.ok(r.destroyed);
      assert.equal(r.frames, 0);
      assert.equal(r.stats.accepted, 0, 'stats() still answers after destroy');
      assert.equal(r.postError, 'this embed was destroyed');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('cleans up an embed whose container left the document, with one warning', async () => {
    const { page, errors, close } = await open();
    try {
      const warnings = [];
      page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
      // A container attached after the embed was made is fine (not cleaned up).
      const i = await page.evaluate((T) => {
        const div = document.createElement('div');
        const e = new host.mod.Embed(div, { url: '/fixtures/evil.html', allowedOrigins: [T] });
        document.getElementById('slots').append(div);
        return host.track(e);
      }, origins.T);
      await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      assert.equal(await page.evaluate(() => host.mod.liveEmbeds()), 3);
      await page.evaluate(() => document.getElementById('slots').querySelectorAll('.slot').forEach((s) => s.remove()));
      await waitFor(async () => (await page.evaluate(() => host.mod.liveEmbeds())) === 1, { what: 'the two removed embeds destroyed' });
      assert.equal(await page.evaluate((i) => host.embeds[i].destroyed, i), false, 'the embed still in the page lives');
      assert.equal(await page.evaluate(() => host.embeds.filter((e) => e.destroyed).length), 2);
      assert.equal(warnings.filter((w) => /left the document/.test(w)).length, 1, 'warned once');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('Embed.attach adopts an iframe the page already rendered', async () => {
    const { page, errors, close } = await open();
    try {
      const i = await page.evaluate((src) => {
        const f = document.createElement('iframe');
        f.className = 'lms-theme-frame';
        f.src = src;
        document.getElementById('slots').append(f);
        return host.track(host.mod.Embed.attach(f, { allowedOrigins: [new URL(src).origin], minHeight: 300 }));
      }, toolUrl('&h=1234'));
      await waitFor(async () => (await heightOf(page, i)) === 1234, { what: 'adopted iframe resized' });
      assert.equal(await page.locator('iframe.lms-theme-frame').evaluate((f) => [f.style.height, f.clientHeight].join()), '1234px,1234');
      const twice = await page.evaluate((T) => { try { host.mod.Embed.attach(document.querySelector('iframe.lms-theme-frame'), { allowedOrigins: [T] }); } catch (e) { return e.message; } }, origins.T);
      assert.equal(twice, 'Embed.attach: this iframe already has an embed (destroy() it first)');
      await page.evaluate((i) => host.embeds[i].destroy(), i);
      assert.equal(await page.locator('iframe.lms-theme-frame').count(), 1, 'destroy leaves the adopted iframe');
      const err = await page.evaluate(() => { try { host.mod.Embed.attach(document.body, { allowedOrigins: ['https://t.example'] }); } catch (e) { return e.message; } });
      assert.equal(err, 'Embed.attach needs an <iframe> element (got <body>)');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('errors a developer can act on: init first, container, options without list indexes', async () => {
    const p = await newPage(browser);
    try {
      await p.page.goto(`${origins.H}/fixtures/bare.html`);
      await p.page.waitForFunction(() => document.title === 'bare-ready', null, { timeout: 10_000, polling: 50 });
      const t = (src) => p.page.evaluate((src) => { try { new Function('kit', src)(window.kit); return null; } catch (e) { return e.message; } }, src);
      assert.equal(await t(`new kit.Embed(document.getElementById('slot'), {url: '/x', allowedOrigins: ['https://t.example']})`),
        'lti-embed: call `await init()` first: the module is not initialised yet');
      await p.page.evaluate(() => window.kit.default());
      assert.equal(await t(`new kit.Embed(document.getElementById('nope'), {url: '/x', allowedOrigins: ['https://t.example']})`), 'container must be an Element (got null)');
      assert.equal(await t(`new kit.Embed('#slot', {url: '/x', allowedOrigins: ['https://t.example']})`), 'container must be an Element (got a string)');
      assert.equal(await t(`new kit.Embed(document.getElementById('slot'))`), 'options must be an object (got undefined)');
      assert.equal(await t(`new kit.Embed(document.getElementById('slot'), {url: '/x', allowedOrigins: ['https://t.example', '*']})`),
        'options.allowedOrigins[1]: wildcards are not allowed: list each origin exactly');
      assert.equal(await t(`new kit.Embed(document.getElementById('slot'), {url: '/x', allowedOrigins: ['https://t.example'], maxHeight: 1e9})`),
        'options.maxHeight: must be a number of pixels between 0 and 100000');
      // The tool entry: a single-value origin option is named without a list index.
      const tool = await p.page.evaluate(async () => {
        const m = await import('/pkg/tool.js');
        await m.default();
        try { new m.ToolClient({ hostOrigin: '*' }); } catch (e) { return [e.message, 'Embed' in m, 'ToolClient' in window.kit]; }
      });
      assert.deepEqual(tool, ['options.hostOrigin: wildcards are not allowed: list each origin exactly', false, false], 'and each entry carries one side only');
      assert.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
  });

  it("says which CSP directive blocks the wasm instead of the browser's raw error", async () => {
    for (const [path, want] of [['csp-wasm', /Content-Security-Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src/],
      ['csp-connect', new RegExp(`Content-Security-Policy blocks fetching ${origins.H}/pkg/lti_embed_host_bg\\.wasm: add ${origins.H.replace(/\./g, '\\.')} to connect-src`)]]) {
      const p = await newPage(browser);
      try {
        await p.page.goto(`${origins.H}/fixtures/${path}.html`);
        await p.page.waitForFunction(() => document.title === 'csp-done', null, { timeout: 10_000, polling: 50 });
        assert.match(await p.page.evaluate(() => window.result), want, path);
        assert.deepEqual(p.errors, []);
      } finally {
        await p.close();
      }
    }
  });

  it('<lti-embed>: attributes in, DOM events out, one script tag; removal destroys', async () => {
    const p = await newPage(browser);
    try {
      const { page, errors } = p;
      const integrity = await (await fetch(`${origins.H}/pkg/integrity.json`)).json();
      // A host page on the host origin, served by the test itself.
      const html = `<!doctype html><html><body>
<lti-embed id="a" src="${toolUrl('&h=1500')}" allowed-origins="${origins.T}" min-height="600" max-height="1400"></lti-embed>
<script>
window.seen = [];
const a = document.getElementById('a');
for (const ev of ['ready', 'resize', 'contentselected', 'message']) a.addEventListener(ev, (e) => window.seen.push([ev, e.detail, e.bubbles]));
window.bubbled = 0;
window.addEventListener('resize', (e) => { if (e instanceof CustomEvent) window.bubbled++; });
</script>
<script type="module" src="${origins.H}/pkg/element.js" integrity="${integrity['element.js']}" crossorigin="anonymous"></script>
</body></html>`;
      await page.route(`${origins.H}/element-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
      await page.goto(`${origins.H}/element-test.html`);
      await waitFor(() => page.evaluate(() => document.getElementById('a').height === 1400), { what: 'element resized (capped by max-height)' });
      const name = await page.evaluate(() => document.getElementById('a').iframe.name);
      const frame = await waitFor(() => page.frame({ name }), { what: 'frame' });
      await frame.waitForFunction(() => window.tool !== undefined, null, { timeout: 10_000, polling: 50 });
      await frame.evaluate(() => tool.client.contentSelected({ entryId: '1_x', title: 'X' }));
      const seen = await waitFor(() => page.evaluate(() => window.seen.some(([e]) => e === 'contentselected') && window.seen), { what: 'contentselected' });
      assert.equal(seen.find(([e]) => e === 'resize')[1].height, 1400);
      assert.equal(seen.find(([e]) => e === 'contentselected')[1].entry.entryId, '1_x');
      assert.ok(seen.some(([e]) => e === 'message'), 'message (built only while listened to) arrives');
      assert.ok(seen.every(([, , bubbles]) => bubbles === false));
      assert.equal(await page.evaluate(() => window.bubbled), 0, 'a resize event never reaches window listeners');

      // Created like a framework would: createElement, attributes, a listener, insert; then removed.
      const r = await page.evaluate(([src, T]) => new Promise((ok) => {
        const el = document.createElement('lti-embed');
        el.setAttribute('src', src);
        el.setAttribute('allowed-origins', T);
        el.addEventListener('ready', (e) => {
          const live = el.embed && !el.embed.destroyed;
          const embed = el.embed;
          el.remove();
          ok({ origin: e.detail.origin, live, destroyed: embed.destroyed });
        });
        document.body.append(el);
      }), [toolUrl('&h=900'), origins.T]);
      assert.deepEqual(r, { origin: origins.T, live: true, destroyed: true });
      // Refused options: an error event with the sentence, no page error.
      const bad = await page.evaluate(() => new Promise((ok) => {
        const el = document.createElement('lti-embed');
        el.setAttribute('src', 'javascript:alert(1)');
        el.setAttribute('allowed-origins', '*');
        el.addEventListener('error', (e) => ok(e.detail.message));
        document.body.append(el);
      }));
      assert.match(bad, /^options\./);
      assert.deepEqual(errors, []);
    } finally {
      await p.close();
    }
  });
});
