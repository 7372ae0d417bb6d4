// Safe by default against the embedded tool (issue 13): what a hostile or buggy tool page can no
// longer do to the host page. Host pages on one loopback origin use the host entry point
// (host.js); tool pages on another post raw messages (tool.post) or use the ToolClient.
// Behaviour is asserted through the embed's counters and the page's state, never through time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { embedFrame, heightOf, launchBrowser, newPage, startOrigins, statsOf, waitFor, withoutAncestorOrigins } from './harness.mjs';

let origins, browser;
before(async () => {
  origins = await startOrigins();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await origins?.close();
});

const toolUrl = (q = '') => `${origins.T}/fixtures/tool.html?host=${encodeURIComponent(origins.H)}${q}`;

async function open(query = '', opts) {
  const p = await newPage(browser, opts);
  await p.page.goto(`${origins.H}/fixtures/host.html?entry=host${query}`);
  await p.page.waitForFunction(() => window.host !== undefined, null, { timeout: 10_000, polling: 50 });
  return p;
}
const create = (page, options) => page.evaluate((o) => host.create(o), options);

const eventsOf = (page, i, ev) => page.evaluate(([i, ev]) => host.eventsOf(i, ev), [i, ev]);
const post = (tool, H, msg) => tool.evaluate(([m, H]) => tool.post(m, H), [msg, H]);

describe('safe by default', { timeout: 90_000 }, () => {
  it('caps heights at the default maxHeight (20000): style, .height and the event agree', async () => {
    const { page, errors, close } = await open();
    try {
      const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      for (const h of [1e9, 1e10, 33554428, '99999999px']) {
        await post(tool, origins.H, { subject: 'lti.frameResize', height: 5000 });
        await waitFor(async () => (await heightOf(page, i)) === 5000, { what: 'height 5000' });
        await post(tool, origins.H, { subject: 'lti.frameResize', height: h });
        await waitFor(async () => (await heightOf(page, i)) === 20000, { what: `${h} capped at 20000` });
        assert.equal(await page.evaluate((i) => host.styleHeight(i), i), '20000px', `style for ${h}`);
        const box = await page.locator('iframe').first().boundingBox();
        assert.equal(Math.round(box.height), 20000, `the iframe really is 20000 px tall for ${h}`);
        const last = (await eventsOf(page, i, 'resize')).at(-1);
        assert.equal(last.height, 20000, `the event says what the style says for ${h}`);
        assert.deepEqual(last.requested, h);
      }
      const s = await statsOf(page, i);
      assert.equal(s.maxHeight, 20000);
      assert.equal(s.height, 20000);
      // An explicit maxHeight above the default is honoured (and still the same everywhere).
      const j = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T], maxHeight: 50000 });
      const tool2 = await embedFrame(page, j);
      await post(tool2, origins.H, { subject: 'lti.frameResize', height: 1e10 });
      await waitFor(async () => (await heightOf(page, j)) === 50000, { what: 'capped at maxHeight 50000' });
      assert.equal(await page.evaluate((j) => host.styleHeight(j), j), '50000px');
      assert.equal((await eventsOf(page, j, 'resize')).at(-1).height, 50000);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('drops navigation to javascript:, data: and other schemes with a reason; http(s) and relative paths pass', async () => {
    const { page, errors, close } = await open();
    try {
      const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      const bad = ['javascript:alert(document.domain)', 'JAVASCRIPT:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<script>alert(1)</script>',
        'vbscript:msgbox(1)', '//evil.example/x', '/\\evil.example'];
      for (const target of bad) {
        await post(tool, origins.H, { subject: 'lti.navigation', location: target });
        await post(tool, origins.H, { subject: 'lti.navigation', path: target });
      }
      const good = [{ location: 'next' }, { path: '/hosted/index/my-media' }, { location: `${origins.T}/x?y=1` }, { path: 'media/1_abc' }];
      for (const g of good) await post(tool, origins.H, { subject: 'lti.navigation', ...g });
      await waitFor(async () => (await eventsOf(page, i, 'navigation')).length === good.length, { what: 'the good navigations' });
      const nav = await eventsOf(page, i, 'navigation');
      assert.deepEqual(nav, good, 'only http(s) and relative targets reach host code');
      const dropped = (await eventsOf(page, i, 'dropped')).filter((d) => d.subject === 'lti.navigation');
      assert.equal(dropped.length, bad.length * 2);
      assert.ok(dropped.every((d) => d.reason === 'navigation target must be an http(s) URL or a relative path'), JSON.stringify(dropped[0]));
      assert.equal((await statsOf(page, i)).dropped, bad.length * 2);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('honours lti.scrollToTop only after a user gesture in the frame, at most once per 2 s', async () => {
    const { page, errors, close } = await open('&tall=1', { viewport: { width: 1000, height: 700 } });
    try {
      const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      // The user scrolls down the host page; the tool floods scrollToTop.
      await page.evaluate(() => scrollTo(0, 3000));
      await tool.evaluate((H) => { for (let n = 0; n < 300; n++) tool.post({ subject: 'lti.scrollToTop' }, H); }, origins.H);
      await waitFor(async () => (await statsOf(page, i)).scrollsRefused === 300, { what: '300 refused' });
      assert.equal(await page.evaluate(() => scrollY), 3000, 'the user keeps their scroll position');
      assert.equal((await statsOf(page, i)).scrolls, 0);

      // A click in the tool (focus moves into its iframe, the page gets user activation): one
      // scroll is honoured, the rest of the flood is not.
      await tool.click('#content', { position: { x: 5, y: 5 } });
      assert.equal(await page.evaluate(() => document.activeElement?.localName), 'iframe');
      await page.evaluate(() => scrollTo(0, 2500));
      await tool.evaluate((H) => { for (let n = 0; n < 100; n++) tool.post({ subject: 'lti.scrollToTop' }, H); }, origins.H);
      await waitFor(async () => (await statsOf(page, i)).scrollsRefused === 399, { what: 'the rest refused' });
      const s = await statsOf(page, i);
      assert.equal(s.scrolls, 1, JSON.stringify(s));
      const top = await page.evaluate(() => Math.round(document.querySelector('iframe').getBoundingClientRect().top) + 0);
      assert.equal(top, 0, 'the honoured one scrolled the frame into view');
      // The user scrolls away again; a flood right after does not bring them back.
      await page.evaluate(() => scrollTo(0, 4000));
      await tool.evaluate((H) => { for (let n = 0; n < 100; n++) tool.post({ subject: 'lti.scrollToTop' }, H); }, origins.H);
      await waitFor(async () => (await statsOf(page, i)).scrollsRefused === 499, { what: 'flood refused' });
      assert.equal(await page.evaluate(() => scrollY), 4000);

      // scrollToTop: "never" refuses even with a gesture; "always" needs none (still rate-limited).
      const n = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T], scrollToTop: 'never' });
      const toolN = await embedFrame(page, n);
      await toolN.click('#content', { position: { x: 5, y: 5 } });
      await post(toolN, origins.H, { subject: 'lti.scrollToTop' });
      await waitFor(async () => (await statsOf(page, n)).scrollsRefused === 1, { what: 'never' });
      assert.equal((await statsOf(page, n)).scrolls, 0);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('rate-limits reply floods per embed: 10,000 messages that each want an answer', async () => {
    const { page, errors, close } = await open();
    try {
      const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
      const j = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] }, 'other');
      const tool = await embedFrame(page, i);
      const other = await embedFrame(page, j);
      const N = 10_000;
      const started = Date.now();
      await tool.evaluate(([H, N]) => {
        for (let n = 0; n < N; n++) {
          const k = n % 3;
          const m = k === 0 ? { subject: 'lti.fetchWindowSize', message_id: 'w' + n }
            : k === 1 ? { subject: 'lti.put_data', message_id: 'p' + n, key: 'k' + n, value: 'v' }
            : { subject: 'org.example.unknown', message_id: 'u' + n };
          parent.postMessage(m, H);
        }
      }, [origins.H, N]);
      const s = await waitFor(async () => {
        const s = await statsOf(page, i);
        return s.accepted + s.rateLimited + s.dropped + s.badRequests === N && s;
      }, { timeout: 60_000, what: 'every flood message handled' });
      const seconds = (Date.now() - started) / 1000;
      // At most the burst plus 100 a second were answered; everything else was counted and dropped.
      assert.ok(s.replies <= 100 + 100 * seconds + 1, `${s.replies} replies in ${seconds.toFixed(1)} s`);
      assert.ok(s.rateLimited >= N - (500 + 500 * seconds), JSON.stringify(s));
      assert.equal(s.replies + s.rateLimited, N, JSON.stringify(s));
      const received = await waitFor(async () => {
        const r = await tool.evaluate(() => tool.received.length);
        return r === s.replies && r;
      }, { what: 'the tool received exactly the replies counted' });
      assert.equal(received, s.replies);
      const dropped = (await eventsOf(page, i, 'dropped')).filter((d) => d.reason === 'rate limited');
      assert.ok(dropped.length >= 1 && dropped.length <= 1 + Math.ceil(seconds), `at most one 'rate limited' event a second, got ${dropped.length} in ${seconds.toFixed(1)} s`);
      // The other embed on the page was not limited by this one's flood.
      await other.evaluate((H) => tool.post({ subject: 'lti.put_data', message_id: 'x', key: 'a', value: 'b' }, H), origins.H);
      await waitFor(async () => (await statsOf(page, j)).replies === 1, { what: 'the other embed still answers' });
      // Once the flood is over, the embed works again (buckets refill).
      await waitFor(async () => {
        await tool.evaluate((H) => tool.post({ subject: 'lti.get_data', message_id: 'later', key: 'k1' }, H), origins.H);
        return (await tool.evaluate(() => tool.received.some((r) => r.data.message_id === 'later')));
      }, { timeout: 10_000, interval: 500, what: 'answers after the flood' });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('stops a resize feedback loop (body{min-height:100vh;margin:8px} + autoResize) and says so', async () => {
    const { page, errors, close } = await open();
    try {
      const warnings = [];
      page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
      const i = await create(page, { url: toolUrl('&loop=1'), allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      const loops = await waitFor(() => tool.evaluate(() => tool.loops.length && tool.loops), { what: 'the loop detected' });
      assert.match(loops[0].message, /follows its frame's height .* Auto-resize stopped at \d+ px/);
      assert.match(await tool.evaluate(() => tool.client.resizeLoop), /min-height:100vh/);
      assert.equal(await tool.evaluate(() => tool.client.observedElement), undefined, 'auto-resize stopped');
      const h = await heightOf(page, i);
      assert.ok(h >= 800 && h <= 800 + 16 * 5, `stopped near the start, at ${h} px`);
      // Stable: more frames pass, the frame does not grow.
      await page.evaluate(() => new Promise((r) => setTimeout(r, 500)));
      assert.equal(await heightOf(page, i), h);
      assert.ok(warnings.some((w) => /Auto-resize stopped/.test(w)), 'a console warning says so');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('falls back to platformOrigin where the browser reports no ancestor origin (Firefox), and says when nothing is known', async () => {
    const { page, errors, close } = await open();
    try {
      // Firefox has no location.ancestorOrigins. Chromium always reports it (referrerpolicy does not
      // mask it), so the tool pages here get the kit with that one read replaced by `undefined`.
      await withoutAncestorOrigins(page, `${origins.T}/pkg/lti_embed.js`);
      const i = await create(page, { url: `${origins.T}/fixtures/tool.html?h=1300&platform=${encodeURIComponent(origins.H)}`, allowedOrigins: [origins.T] });
      const tool = await embedFrame(page, i);
      assert.equal(await tool.evaluate(() => tool.client.hostOriginSource), 'platformOrigin');
      assert.equal(await tool.evaluate(() => tool.client.hostOrigin), origins.H);
      await waitFor(async () => (await heightOf(page, i)) === 1300, { what: 'the height reported through the fallback' });

      // Neither: the client refuses with a sentence that says what to pass.
      const j = await create(page, { url: `${origins.T}/fixtures/tool.html?h=1300`, allowedOrigins: [origins.T] });
      const name = await page.evaluate((j) => host.frameName(j), j);
      const frame = await waitFor(() => page.frame({ name }), { what: 'frame' });
      await frame.waitForFunction(() => document.title === 'tool-ready', null, { timeout: 10_000, polling: 50 });
      assert.match(await frame.evaluate(() => window.toolError), /^options\.hostOrigin is required: this browser does not report the embedding page's origin \(no location\.ancestorOrigins, e\.g\. Firefox\); pass hostOrigin, or platformOrigin from the launch$/);
      // An explicit hostOrigin still wins.
      const k = await create(page, { url: `${origins.T}/fixtures/tool.html?h=1400&host=${encodeURIComponent(origins.H)}&platform=${encodeURIComponent(origins.E)}`, allowedOrigins: [origins.T] });
      const toolK = await embedFrame(page, k);
      assert.equal(await toolK.evaluate(() => tool.client.hostOriginSource), 'hostOrigin');
      await waitFor(async () => (await heightOf(page, k)) === 1400, { what: 'hostOrigin' });
      assert.deepEqual(errors.filter((e) => !/hostOrigin is required/.test(e)), []);
    } finally {
      await close();
    }
  });
});
