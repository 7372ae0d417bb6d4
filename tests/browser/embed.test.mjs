// Page tests of the host side (Embed) against tool pages on other loopback origins.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { embedFrame, heightOf, launchBrowser, openHost, startLms, startOrigins, statsOf, waitFor } from './harness.mjs';

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
const create = (page, options) => page.evaluate((o) => host.create(o), options);

describe('Embed', { timeout: 60_000 }, () => {
  it('takes the height the tool reports, never below 800 px', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const i = await create(page, { url: toolUrl('&h=1400'), allowedOrigins: [origins.T] });
    const tool = await embedFrame(page, i);
    await waitFor(async () => (await heightOf(page, i)) === 1400, { what: 'height 1400' });
    const box = await page.locator('iframe').first().boundingBox();
    assert.equal(Math.round(box.height), 1400, 'the iframe really is 1400 px tall');
    assert.equal(await page.evaluate((i) => host.styleHeight(i), i), '1400px');

    await tool.evaluate(() => tool.setHeight(300));
    await waitFor(async () => (await heightOf(page, i)) === 800, { what: 'clamped to the 800 px minimum' });
    await tool.evaluate(() => tool.client.reportHeight(2000));
    await waitFor(async () => (await heightOf(page, i)) === 2000, { what: 'explicit report' });
    await tool.evaluate((H) => tool.post({ subject: 'lti.frameResize', height: 10 }, H), origins.H);
    await waitFor(async () => (await heightOf(page, i)) === 800, { what: 'never below 800' });
    const resizes = await page.evaluate((i) => host.eventsOf(i, 'resize'), i);
    assert.ok(resizes.every((r) => r.height >= 800), JSON.stringify(resizes));
    assert.deepEqual(errors, []);
    await close();
  });

  it('accepts the JSON string form, the object form and the legacy messageType', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
    const tool = await embedFrame(page, i);
    const H = origins.H;
    await tool.evaluate((H) => tool.post(JSON.stringify({ subject: 'lti.frameResize', height: 1111 }), H), H);
    await waitFor(async () => (await heightOf(page, i)) === 1111, { what: 'string form' });
    await tool.evaluate((H) => tool.post({ subject: 'lti.frameResize', height: '1222px' }, H), H);
    await waitFor(async () => (await heightOf(page, i)) === 1222, { what: 'object form' });
    await tool.evaluate((H) => tool.post(JSON.stringify({ messageType: 'lti.frameResize', height: 1333 }), H), H);
    await waitFor(async () => (await heightOf(page, i)) === 1333, { what: 'legacy messageType' });
    assert.equal((await statsOf(page, i)).accepted, 3);
    assert.deepEqual(errors, []);
    await close();
  });

  it('ignores a page on another origin posting the same messages', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const i = await create(page, { url: toolUrl('&h=1000'), allowedOrigins: [origins.T] });
    await embedFrame(page, i);
    await waitFor(async () => (await heightOf(page, i)) === 1000, { what: 'height 1000' });

    // 1. Another frame on the page (another origin) posts the tool's messages to the host.
    await page.evaluate((E) => {
      const f = document.createElement('iframe');
      f.name = 'other-origin';
      f.src = `${E}/fixtures/evil.html`;
      document.body.append(f);
    }, origins.E);
    const evil = await waitFor(() => page.frame({ name: 'other-origin' }), { what: 'other frame' });
    await evil.waitForFunction(() => window.attack !== undefined, null, { timeout: 10_000, polling: 50 });
    const before = await statsOf(page, i);
    const sent = await evil.evaluate(() => attack());
    await waitFor(async () => (await statsOf(page, i)).ignored >= before.ignored + sent, { what: 'messages seen and ignored' });
    let s = await statsOf(page, i);
    assert.equal(s.accepted, before.accepted, 'nothing accepted');
    assert.equal(s.replies, before.replies, 'nothing answered');
    assert.equal(await heightOf(page, i), 1000);
    assert.deepEqual(await page.evaluate((i) => host.eventsOf(i, 'contentSelected'), i), []);

    // 2. The embed's own iframe navigated to another origin: same window, wrong origin.
    const tool = await embedFrame(page, i);
    await tool.evaluate((E) => { location.href = `${E}/fixtures/evil.html`; }, origins.E);
    const name = await page.evaluate((i) => host.frameName(i), i);
    const navigated = await waitFor(async () => {
      const f = page.frame({ name });
      return f && f.url().startsWith(origins.E) && (await f.evaluate(() => window.attack !== undefined).catch(() => false)) && f;
    }, { what: 'iframe on the other origin' });
    const mid = await statsOf(page, i);
    await navigated.evaluate(() => attack());
    await waitFor(async () => (await statsOf(page, i)).dropped >= mid.dropped + sent, { what: 'messages dropped by origin' });
    s = await statsOf(page, i);
    assert.equal(s.accepted, before.accepted);
    assert.equal(s.replies, before.replies);
    assert.equal(await heightOf(page, i), 1000);
    assert.deepEqual(await navigated.evaluate(() => window.replies), [], 'no reply reaches another origin');
    const dropped = await page.evaluate((i) => host.eventsOf(i, 'dropped'), i);
    assert.ok(dropped.some((d) => d.reason === 'origin not allowed' && d.origin === origins.E));
    assert.deepEqual(errors, []);
    await close();
  });

  it('raises no page error on malformed, oversized and unknown messages', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
    const tool = await embedFrame(page, i);
    const sent = await tool.evaluate((H) => {
      const cyclic = { subject: 'lti.frameResize', height: 1500 };
      cyclic.self = cyclic;
      const bad = [
        'garbage', '{"subject":', '[1,2,3]', 5, null, true, [], { subject: 7 }, { subject: '' }, { nosubject: 1 },
        'x'.repeat(200_000), { subject: 'lti.frameResize', height: 900, pad: 'y'.repeat(100_000) },
        { subject: 'lti.frameResize', height: 'tall' }, { subject: 'lti.frameResize', height: -5 }, cyclic,
        new Blob(['x']), new ArrayBuffer(8), new Date(0), { subject: 'lti.put_data', key: 'k', value: 'no id' },
        { subject: 'lti.showAlert', body: { text: '' } }, { subject: 'lti.get_data.response', message_id: 'loop' },
        { subject: 'lti.contentSelected', entry: { entryId: 'x', url: 'javascript:alert(1)' } },
        { subject: 'requestFullWindowLaunch', data: 'https://evil.example/' },
        JSON.parse('{"subject":"kaf.custom","__proto__":{"polluted":true}}'),
        { subject: 'lti.unknownThing', message_id: 'u1' },
        { subject: 'lti.screenReaderAlert', body: '<img src=x onerror="window.pwned=1">' },
      ];
      for (const m of bad) parent.postMessage(m, H);
      parent.postMessage({ subject: 'lti.frameResize', height: 1444 }, H);
      return bad.length;
    }, origins.H);
    await waitFor(async () => (await heightOf(page, i)) === 1444, { what: 'the valid message after them' });
    const s = await statsOf(page, i);
    assert.equal(s.accepted, 4, 'kaf.custom, lti.unknownThing, screenReaderAlert and the final resize');
    assert.equal(s.dropped + s.badRequests + s.accepted, sent + 1);
    assert.ok(s.badRequests >= 6, JSON.stringify(s));
    assert.equal(await page.evaluate(() => ({}).polluted), undefined, 'no prototype pollution');
    const live = await page.evaluate(() => document.querySelector('.lti-embed-live').textContent);
    assert.equal(live, '<img src=x onerror="window.pwned=1">', 'alerts are text');
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    const alerts = await page.evaluate((i) => host.eventsOf(i, 'alert'), i);
    assert.deepEqual(alerts, [{ body: '<img src=x onerror="window.pwned=1">', screenReader: true }]);
    const replies = await waitFor(async () => {
      const r = await tool.evaluate(() => tool.received.map((m) => m.data));
      return r.some((m) => m.message_id === 'u1') && r;
    }, { what: 'unsupported_subject reply' });
    assert.deepEqual(replies.find((m) => m.message_id === 'u1').error.code, 'unsupported_subject');
    assert.ok(!replies.some((m) => m.message_id === 'loop'), 'no answer to a .response');
    assert.ok(replies.filter((m) => m.error?.code === 'bad_request').length >= 6);
    assert.deepEqual(errors, []);
    await close();
  });

  it('keeps two embeds from hearing each other', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const a = await create(page, { url: toolUrl('&h=1500'), allowedOrigins: [origins.T] });
    const b = await create(page, { url: toolUrl('&h=1100'), allowedOrigins: [origins.T] });
    const ta = await embedFrame(page, a);
    await embedFrame(page, b);
    await waitFor(async () => {
      const hs = [await heightOf(page, a), await heightOf(page, b)];
      if (hs[0] === 1500 && hs[1] === 1100) return true;
      throw new Error(`heights ${hs}; stats ${JSON.stringify([await statsOf(page, a), await statsOf(page, b)])}`);
    }, { what: 'each its own height' });
    assert.notEqual(await page.evaluate((a) => host.frameName(a), a), await page.evaluate((b) => host.frameName(b), b));
    await ta.evaluate(() => tool.client.contentSelected({ entryId: '1_a', title: 'From A' }));
    await waitFor(async () => (await page.evaluate((a) => host.eventsOf(a, 'contentSelected'), a)).length === 1, { what: 'selection on A' });
    assert.deepEqual(await page.evaluate((b) => host.eventsOf(b, 'contentSelected'), b), []);
    const [sa, sb] = [await statsOf(page, a), await statsOf(page, b)];
    assert.ok(sa.ignored > 0 && sb.ignored > 0, 'each saw the other one\'s messages and ignored them');
    assert.equal(await heightOf(page, a), 1500);
    assert.equal(await heightOf(page, b), 1100);
    assert.deepEqual(errors, []);
    await close();
  });

  it('answers platform storage: round trip, ids echoed, quotas, partitioned by origin', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const i = await create(page, { url: toolUrl('&auto=0'), allowedOrigins: [origins.T] });
    const tool = await embedFrame(page, i);
    assert.equal(await tool.evaluate(async () => { await tool.client.putData('state', 'abc'); return tool.client.getData('state'); }), 'abc');
    assert.equal(await tool.evaluate(() => tool.client.getData('missing')), null);

    await tool.evaluate((H) => {
      parent.postMessage({ subject: 'lti.get_data', message_id: 'raw-1', key: 'state' }, H);
      parent.postMessage({ subject: 'lti.put_data', message_id: 'raw-2', key: 'big', value: 'v'.repeat(4097) }, H);
    }, origins.H);
    const raw = await waitFor(async () => {
      const r = await tool.evaluate(() => tool.received);
      return r.filter((m) => ['raw-1', 'raw-2'].includes(m.data?.message_id)).length === 2 && r;
    }, { what: 'raw replies' });
    const r1 = raw.find((m) => m.data.message_id === 'raw-1');
    assert.deepEqual(r1.data, { subject: 'lti.get_data.response', message_id: 'raw-1', key: 'state', value: 'abc' });
    assert.equal(r1.origin, origins.H);
    assert.equal(r1.fromParent, true);
    assert.equal(raw.find((m) => m.data.message_id === 'raw-2').data.error.code, 'storage_exhaustion');

    // In batches the embed's reply rate allows (100 a second, bursts of 100; issue 13).
    const quota = await tool.evaluate(async () => {
      for (let n = 0; n < 499; n += 50) {
        await Promise.all(Array.from({ length: Math.min(50, 499 - n) }, (_, k) => tool.client.putData(`k${n + k}`, 'v')));
        await new Promise((r) => setTimeout(r, 520));
      }
      try { await tool.client.putData('one-too-many', 'v'); return 'stored'; } catch (e) { return e.code; }
    });
    assert.equal(quota, 'storage_exhaustion', '500 keys per origin');

    const caps = await tool.evaluate(() => tool.client.capabilities());
    assert.ok(caps.some((c) => c.subject === 'lti.put_data'));

    // The same host, a tool on another origin: its own partition.
    const j = await create(page, { url: `${origins.E}/fixtures/tool.html?auto=0&host=${encodeURIComponent(origins.H)}`, allowedOrigins: [origins.E] });
    const other = await embedFrame(page, j);
    assert.equal(await other.evaluate(() => tool.client.getData('state')), null);
    assert.deepEqual(errors, []);
    await close();
  });

  it('serves storage through a named storage frame (lti_storage_target)', async () => {
    const { page, errors, close } = await openHost(browser, origins.H);
    const i = await create(page, { url: toolUrl('&auto=0&storageTarget=lti-storage'), allowedOrigins: [origins.T], storageFrame: 'lti-storage' });
    const tool = await embedFrame(page, i);
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe[name="lti-storage"]').length), 1);
    assert.equal(await tool.evaluate(async () => { await tool.client.putData('state', 's1'); return tool.client.getData('state'); }), 's1');
    const caps = await tool.evaluate(() => tool.client.capabilities());
    assert.deepEqual(caps.find((c) => c.subject === 'lti.get_data'), { subject: 'lti.get_data', frame: 'lti-storage' });
    // Only storage is answered there.
    const before = await statsOf(page, i);
    await tool.evaluate((H) => parent.frames['lti-storage'].postMessage({ subject: 'lti.frameResize', height: 1700 }, H), origins.H);
    await waitFor(async () => (await statsOf(page, i)).dropped === before.dropped + 1, { what: 'resize via storage frame dropped' });
    assert.equal(await heightOf(page, i), 800);
    await page.evaluate((i) => host.destroy(i), i);
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe[name="lti-storage"]').length), 0, 'storage frame removed with its last embed');
    assert.deepEqual(errors, []);
    await close();
  });

  it('destroy leaves no listener behind', async () => {
    // Count window listeners without DevTools: wrap add/removeEventListener before any script.
    const init = () => {
      const live = new Map();
      const add = EventTarget.prototype.addEventListener;
      const remove = EventTarget.prototype.removeEventListener;
      const key = (t, f) => `${t}:${(f.__lid ||= Math.random())}`;
      EventTarget.prototype.addEventListener = function (t, f, o) { if (this === window && f) live.set(key(t, f), t); return add.call(this, t, f, o); };
      EventTarget.prototype.removeEventListener = function (t, f, o) { if (this === window && f) live.delete(key(t, f)); return remove.call(this, t, f, o); };
      window.__listeners = () => [...live.values()].sort();
    };
    const { page, errors, close } = await openHost(browser, origins.H, { init, viewport: { width: 1000, height: 600 } });
    const baseline = await page.evaluate(() => __listeners());
    const i = await create(page, { url: toolUrl('&h=1300'), allowedOrigins: [origins.T] });
    const tool = await embedFrame(page, i);
    await tool.evaluate((H) => {
      parent.postMessage({ subject: 'lti.enableScrollEvents' }, H);
      parent.postMessage({ subject: 'lti.setUnloadMessage', message: 'unsaved' }, H);
    }, origins.H);
    await waitFor(async () => {
      const l = await page.evaluate(() => __listeners());
      return l.includes('scroll') && l.includes('beforeunload') && l.includes('message');
    }, { what: 'message, scroll and beforeunload listeners' });
    await page.evaluate(() => window.scrollTo(0, 200));
    await waitFor(async () => (await tool.evaluate(() => tool.received)).some((m) => m.data?.subject === 'lti.scroll'), { what: 'lti.scroll' });

    await page.evaluate((i) => host.destroy(i), i);
    assert.deepEqual(await page.evaluate(() => __listeners()), baseline, 'window listeners back to the baseline');
    assert.equal(await page.evaluate(() => host.live()), 0);
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe, .lti-embed-live, form').length), 0);

    // Behaviour: put the destroyed embed's iframe back; its tool loads and reports its height
    // to a page that no longer listens. Nothing moves.
    const stats = await statsOf(page, i);
    await page.evaluate(() => {
      window.__heard = 0;
      window.addEventListener('message', () => { window.__heard += 1; });
    });
    await page.evaluate((i) => host.reattach(i), i);
    await waitFor(() => page.evaluate(() => window.__heard > 0), { what: 'the reattached tool posting again' });
    assert.deepEqual(await statsOf(page, i), stats, 'stats do not move');
    assert.equal(await page.evaluate((i) => host.styleHeight(i), i), '1300px', 'height untouched');
    assert.deepEqual(errors, []);
    await close();
  });

  it('launches by form POST into its own frame through the LMS /launch route', async (t) => {
    const lms = await startLms(`${origins.T}/fixtures`);
    if (!lms) return t.skip('no .venv with lti1p3platform (run scripts/setup.sh)');
    try {
      const { page, errors, close } = await openHost(browser, origins.H);
      const fields = { course: 'his200', user: 'grace', role: 'Learner', placement: 'browseembed' };
      const a = await create(page, { form: { action: `${lms.url}/launch`, fields }, allowedOrigins: [origins.T] });
      const b = await create(page, { url: `${lms.url}/launch?course=bio101&user=ada&role=Instructor&placement=mymedia`, allowedOrigins: [origins.T] });
      const fa = await embedFrame(page, a, 'loginParams');
      const fb = await embedFrame(page, b, 'loginParams');
      const pa = await fa.evaluate(() => window.loginParams);
      const pb = await fb.evaluate(() => window.loginParams);
      for (const p of [pa, pb]) {
        for (const k of ['iss', 'login_hint', 'target_link_uri', 'lti_message_hint', 'client_id', 'lti_deployment_id']) assert.ok(p[k], `${k} in ${JSON.stringify(p)}`);
        assert.equal(p.iss, lms.url);
      }
      assert.equal(pa.login_hint, 'user-1003');
      assert.match(pa.target_link_uri, /\/browseandembed\/index\/browseandembed$/);
      assert.equal(pb.login_hint, 'user-1001');
      assert.match(pb.target_link_uri, /\/hosted\/index\/my-media$/);
      await waitFor(async () => (await heightOf(page, a)) >= 1100 && (await heightOf(page, b)) >= 1100, { what: 'both resized', timeout: 15_000 });
      assert.deepEqual(errors, []);
      await close();
    } finally {
      await lms.close();
    }
  });
});
