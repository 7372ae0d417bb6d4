// LTI Platform Storage in Chromium, end to end: the real worker (release build, workerd) and the
// local LMS (lti1p3platform). The LMS's course page (/embed-host, on the platform's own origin)
// embeds the tool with the embed kit, which answers lti.put_data / lti.get_data; the launch goes
// LMS → worker OIDC login with lti_storage_target → LMS authorization → worker launch, all inside
// the kit's iframe. The worker's two storage pages (worker/src/pages.rs: storage_login_page,
// storage_launch_page) run their nonce'd inline scripts for real here.
//
// Sites: the LMS and its host page are on http://127.0.0.1:<port> (its issuer, so the worker's
// put_data/get_data target origin), the worker on http://localhost:<port> — another site, so the
// tool is a cross-site iframe.
//
// Cookies: the worker's state cookie is `SameSite=None; Secure; Partitioned`. Chromium blocking
// third-party cookies (its default here, or --test-third-party-cookie-phaseout, or the
// block_third_party_cookies pref) still keeps and sends a Partitioned cookie in a cross-site
// iframe, so that alone does not take the storage path. The cookie tests therefore run Chromium
// with a profile whose content settings block every cookie of the worker's origin
// (launchCookieBlockingBrowser: the browser "blocks cookies" for the tool, partitioned ones too),
// and the first test checks both sides: with default Chromium the launch request carries the
// state cookie and binds by `cookie`; in the blocking profile it carries none.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { launchBrowser, launchCookieBlockingBrowser, newPage, screenshotPath, startLms, startWorker, waitFor } from './harness.mjs';

const MODULE_PATH = '/hosted/index/my-media';
const COOKIE = /(^|;\s*)lti_edge_s_[^=]*=/;

let worker, lms, blocking, browser;
before(async () => {
  worker = await startWorker({ hostname: 'localhost' });
  assert.ok(worker, 'worker/build is missing: npm test builds it before the browser tests');
  lms = await startLms(worker.url);
  assert.ok(lms, 'the local LMS needs .venv (npm test sets it up)');
  await worker.register(lms.url);
  blocking = await launchCookieBlockingBrowser([worker.url], { viewport: { width: 1280, height: 1000 } });
  browser = await launchBrowser();
});
after(async () => {
  await blocking?.close();
  await browser?.close();
  await lms?.close();
  await worker?.close();
});

/**
 * Runs in every frame before its scripts; acts only in the LMS's top page. Records the platform
 * storage messages posted to this window (capture phase, ahead of the kit's listener) and, with
 * `tamper`, answers lti.get_data itself with a forged value instead of letting the kit answer.
 */
function hostObserver({ tamper }) {
  if (window !== window.top) return;
  const seen = (window.__storageSeen = []);
  addEventListener('message', (e) => {
    let d = e.data;
    if (typeof d === 'string') { try { d = JSON.parse(d); } catch { return; } }
    if (!d || typeof d !== 'object' || typeof d.subject !== 'string' || !/^lti\.(put_data|get_data|capabilities)$/.test(d.subject)) return;
    seen.push({ subject: d.subject, origin: e.origin, key: d.key });
    if (tamper && d.subject === 'lti.get_data') {
      e.stopImmediatePropagation();
      e.source.postMessage({ subject: 'lti.get_data.response', message_id: d.message_id, key: d.key, value: 'forged-by-the-host-page' }, e.origin);
    }
  }, true);
}

/**
 * Open the LMS course page `query` in `p` ({page, errors}) and record what the tool frame did:
 * requests to the worker (with their headers and form bodies), responses, CSP console messages.
 */
async function openCoursePage({ page }, query, { tamper = false } = {}) {
  const rec = { requests: [], responses: [], csp: [], console: [] };
  page.on('console', (m) => {
    rec.console.push(m.text());
    if (/Content.Security.Policy|Refused to/i.test(m.text())) rec.csp.push(m.text());
  });
  page.on('request', (r) => {
    if (r.url().startsWith(worker.url)) rec.requests.push({ url: r.url(), method: r.method(), post: r.postData(), headers: r.allHeaders().catch(() => ({})) });
  });
  page.on('response', (r) => {
    if (r.url().startsWith(worker.url)) {
      rec.responses.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] || '', csp: r.headers()['content-security-policy'] || '',
        setCookie: r.headerValue('set-cookie').catch(() => null) });
    }
  });
  await page.addInitScript(hostObserver, { tamper });
  await page.goto(`${lms.url}/embed-host?${new URLSearchParams(query)}`);
  await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
  return rec;
}

const pathOf = (u) => new URL(u).pathname;
const find = (list, path, method) => list.find((r) => pathOf(r.url) === path && (!method || r.method === method));

/** The module page frame once its content is there; the session token from its URL. */
async function modulePage(page) {
  const frame = await waitFor(() => page.frames().find((f) => f.url().startsWith(`${worker.url}${MODULE_PATH}/ks/`)),
    { timeout: 30_000, what: 'the module page in the tool iframe' });
  await frame.waitForSelector('#who', { timeout: 10_000 });
  const token = decodeURIComponent(new URL(frame.url()).pathname.split('/ks/')[1]);
  return { frame, token };
}

/** The claims the worker verifies for `token` (GET /lti/session). */
async function sessionClaims(token) {
  const r = await fetch(`${worker.direct}/lti/session`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).data;
}

const storageMessages = (page) => page.evaluate(() => window.lms.events.filter((e) => e.event === 'message' && /^lti\.(put|get)_data$/.test(e.detail.subject))
  .map((e) => ({ subject: e.detail.subject, origin: e.detail.origin })));
const seenAtTop = (page) => page.evaluate(() => window.__storageSeen.filter((m) => m.subject !== 'lti.capabilities'));

/** Both storage pages were served with a nonce CSP and exactly one nonce'd inline script ran. */
function assertStoragePages(rec) {
  const login = find(rec.responses, '/lti/login');
  assert.ok(login, 'the login answered');
  assert.equal(login.status, 200, 'login with lti_storage_target answers the storage page, not a redirect');
  assert.match(login.csp, /script-src 'nonce-[A-Za-z0-9_-]+'/);
  const launch = find(rec.responses, '/lti/launch');
  assert.ok(launch, 'the launch answered');
  assert.equal(launch.status, 200, 'a launch without the cookie answers the storage launch page');
  assert.match(launch.csp, /script-src 'nonce-[A-Za-z0-9_-]+'/);
}

describe('LTI Platform Storage in Chromium (worker + LMS + embed kit)', { timeout: 150_000 }, () => {
  it('control: default Chromium sends the partitioned state cookie, the launch binds by cookie', async () => {
    const p = await newPage(browser, { viewport: { width: 1280, height: 1000 } });
    try {
      const rec = await openCoursePage(p, { course: 'bio101', user: 'alan', role: 'Learner', placement: 'mymedia', lti_storage_target: '_parent' });
      const { frame, token } = await modulePage(p.page);
      assert.match(await frame.textContent('main'), /bound by cookie/);
      assert.equal((await sessionClaims(token)).binding, 'cookie');
      const launch = find(rec.requests, '/lti/launch', 'POST');
      assert.match((await launch.headers).cookie || '', COOKIE, 'the launch POST carried the worker\'s state cookie');
      assert.equal(find(rec.requests, '/lti/launch/storage'), undefined, 'no storage round trip when the cookie came back');
      // The login page still stored the secret with the host (lti.put_data) before going on.
      assert.deepEqual(await storageMessages(p.page), [{ subject: 'lti.put_data', origin: worker.url }]);
      assert.deepEqual(p.errors, []);
      assert.deepEqual(rec.csp, []);
    } finally {
      await p.close();
    }
  });

  it('cookies blocked, host answers through _parent: the launch binds by platform-storage', async () => {
    const p = await blocking.newPage();
    try {
      const rec = await openCoursePage(p, { course: 'bio101', user: 'alan', role: 'Learner', placement: 'mymedia', lti_storage_target: '_parent' });
      const { frame, token } = await modulePage(p.page);
      assertStoragePages(rec);
      for (const path of ['/lti/launch', '/lti/launch/storage']) {
        const r = find(rec.requests, path, 'POST');
        assert.ok(r, `${path} was posted`);
        assert.doesNotMatch((await r.headers).cookie || '', COOKIE, `${path} carried no state cookie`);
      }
      // The login offered the state cookie (the browser dropped it) and stored the same secret
      // with the host; the launch page read it back and posted it (no storage error).
      const [name, value] = ((await find(rec.responses, '/lti/login').setCookie) || '').split(';')[0].split('=');
      assert.match(name, /^lti_edge_s_/, 'the login still sets the state cookie');
      const posted = new URLSearchParams(find(rec.requests, '/lti/launch/storage', 'POST').post);
      assert.ok(posted.get('continuation'));
      assert.ok(value.length >= 16);
      assert.equal(posted.get('value'), value, 'the value read back from platform storage is the cookie\'s');
      assert.equal(posted.get('storage_error'), '');
      const storage = find(rec.responses, '/lti/launch/storage');
      assert.equal(storage.status, 303);

      // The module page and the verified session both say how the launch was bound.
      assert.match(await frame.textContent('main'), /bound by platform-storage/);
      assert.equal(await frame.textContent('#who'), 'Alan Turing');
      assert.equal(await frame.textContent('#role'), 'viewer');
      const claims = await sessionClaims(token);
      assert.equal(claims.binding, 'platform-storage');
      assert.equal(claims.sub, 'user-1002');
      assert.equal(claims.module, 'mymedia');

      // The kit answered both storage requests of the worker's pages, posted to this window.
      assert.deepEqual(await storageMessages(p.page), [
        { subject: 'lti.put_data', origin: worker.url },
        { subject: 'lti.get_data', origin: worker.url },
      ]);
      const top = await seenAtTop(p.page);
      assert.deepEqual(top.map((m) => m.subject), ['lti.put_data', 'lti.get_data']);
      assert.equal(top[0].key, top[1].key, 'get_data asks for the key put_data stored');
      assert.equal(top[0].key, name, 'stored under the cookie\'s name');
      // The module page's tool client reports its height to the kit.
      await waitFor(() => p.page.evaluate(() => window.lms.embed.stats().accepted > 2), { what: 'the module page talking to the kit' });

      await p.page.screenshot({ path: screenshotPath('storage-launch.png') });
      assert.deepEqual(p.errors, []);
      assert.deepEqual(rec.csp, []);
    } finally {
      await p.close();
    }
  });

  it('cookies blocked, host answers through a named storage frame (post_message_forwarding)', async () => {
    const p = await blocking.newPage();
    try {
      const target = 'post_message_forwarding';
      const rec = await openCoursePage(p, { course: 'his200', user: 'ada', role: 'Instructor', placement: 'mymedia', lti_storage_target: target });
      assert.equal(await p.page.evaluate((n) => document.querySelectorAll(`iframe[name="${n}"]`).length, target), 1, 'the kit made the storage frame');
      const { frame, token } = await modulePage(p.page);
      assertStoragePages(rec);
      assert.match(await frame.textContent('main'), /bound by platform-storage/);
      assert.equal((await sessionClaims(token)).binding, 'platform-storage');
      assert.deepEqual(await storageMessages(p.page), [
        { subject: 'lti.put_data', origin: worker.url },
        { subject: 'lti.get_data', origin: worker.url },
      ]);
      assert.deepEqual(await seenAtTop(p.page), [], 'the storage requests went to the named frame, not to the parent window');
      assert.deepEqual(p.errors, []);
      assert.deepEqual(rec.csp, []);
    } finally {
      await p.close();
    }
  });

  it('cookies blocked, the host answers get_data with another value: refused, state_cookie_mismatch, no session', async () => {
    const p = await blocking.newPage();
    try {
      const rec = await openCoursePage(p, { course: 'bio101', user: 'alan', role: 'Learner', placement: 'mymedia', lti_storage_target: '_parent' }, { tamper: true });
      const refused = await waitFor(() => find(rec.responses, '/lti/launch/storage'), { timeout: 30_000, what: 'the answer to the storage launch post' });
      assertStoragePages(rec);
      assert.equal(refused.status, 401);
      assert.match(refused.type, /^text\/html/);
      const posted = new URLSearchParams(find(rec.requests, '/lti/launch/storage', 'POST').post);
      assert.equal(posted.get('value'), 'forged-by-the-host-page');
      const errorFrame = await waitFor(() => p.page.frames().find((f) => pathOf(f.url()) === '/lti/launch/storage'), { what: 'the error page frame' });
      await errorFrame.waitForSelector('main.err', { timeout: 10_000 });
      const text = await errorFrame.textContent('main');
      assert.match(text, /This launch could not be completed/);
      assert.match(text, /state_cookie_mismatch/);
      assert.equal(rec.requests.filter((r) => r.url.includes('/ks/')).length, 0, 'no module page, no session');
      assert.deepEqual(p.errors, []);
      assert.deepEqual(rec.csp, []);
    } finally {
      await p.close();
    }
  });

  it('cookies blocked, a host that offers no storage: the launch completes on the signed single-use state', async () => {
    const p = await blocking.newPage();
    try {
      const rec = await openCoursePage(p, { course: 'cs150', user: 'grace', role: 'TeachingAssistant', placement: 'mymedia', lti_storage_target: '_parent', kit: '0' });
      const { frame, token } = await modulePage(p.page);
      assertStoragePages(rec);
      // Nobody answered: both pages gave up after their bounded wait and went on.
      const posted = new URLSearchParams(find(rec.requests, '/lti/launch/storage', 'POST').post);
      assert.equal(posted.get('value'), '');
      assert.equal(posted.get('storage_error'), 'timeout');
      assert.match(await frame.textContent('main'), /bound by state-only/);
      const claims = await sessionClaims(token);
      assert.equal(claims.binding, 'state-only');
      assert.equal(claims.role, 'moderator');
      assert.deepEqual(p.errors, []);
      assert.deepEqual(rec.csp, []);
    } finally {
      await p.close();
    }
  });
});
