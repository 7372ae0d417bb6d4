// The admin console (web/public/admin, served by the worker at /admin/) walked through in real
// headless Chromium against the real worker in workerd and the local LMS (issue 12, "What done
// looks like"): an admin signs in by keyboard (a wrong token first: a clear error), creates a
// Canvas registration from its preset, launches the tool from the local LMS, opens the launch
// inspector, applies a suggested user-id rule, and the next launch uses it; then invitations, tool
// keys, backup and restore, the upgrade report, failed launches of an unknown LMS, sign-out (an
// API call afterwards is refused). Every page is photographed at 1440 and 360 px
// (screenshots/console-<page>-<width>.png), fits without sideways scrolling, and runs under the
// console's CSP with no violation and no script error.
//
// The Canvas registration: the Canvas preset fills Instructure's issuer and sso.canvaslms.com
// URLs, which the local LMS is not; a self-hosted Canvas overrides them, and that is what the test
// does (the form's "Issuer and endpoint URLs" section, values = the local LMS's address and
// Canvas's own paths, which the local LMS also answers under). So the registration is a real
// Canvas-preset one (platformFamily canvas, what to paste for Canvas) that launches from the
// local LMS — no second "other" registration is needed.
//
// Console messages: Chromium logs every 4xx answer of a fetch as a console error ("Failed to load
// resource"). The console gets such answers on purpose (401 before sign-in and for the wrong
// token, 400 with the field errors, 401 after sign-out); those, for /lti/ API URLs on the worker,
// are the only console errors allowed. Anything else fails the test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { newPage, screenshotPath, startStack, startWorker, waitFor } from './harness.mjs';

let worker, lms, browser, stack;
before(async () => {
  stack = await startStack({ register: false });
  ({ worker, lms, browser } = stack);
});
after(() => stack?.close());

/** The admin API as a script would call it (bearer token), to check what the console did. */
async function admin(method, path, body) {
  const r = await fetch(`${worker.direct}${path}`, {
    method,
    headers: { authorization: `Bearer ${worker.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j.data;
}

/** A console page at `width` that records CSP violations and unexpected console errors. */
async function consolePage(width) {
  const p = await newPage(browser, {
    viewport: { width, height: 900 },
    init: () => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    },
  });
  await p.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: worker.url });
  const consoleErrors = [];
  const csp = [];
  p.page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) csp.push(text);
    if (m.type() !== 'error') return;
    const url = m.location()?.url || '';
    const expected = /^Failed to load resource: the server responded with a status of 40[01]/.test(text) && url.startsWith(`${worker.url}/lti/`);
    if (!expected) consoleErrors.push(`${text} (${url})`);
  });
  /** The page fits, nothing was blocked or thrown; a full-page screenshot. */
  const look = async (name) => {
    await p.page.waitForTimeout(50); // the status line's announcement lands after a tick
    const fit = await p.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth, csp: window.__csp }));
    assert.ok(fit.scroll <= fit.inner, `${name} at ${width} px scrolls sideways (${fit.scroll} > ${fit.inner})`);
    assert.deepEqual(fit.csp, [], `${name}: CSP violations`);
    assert.deepEqual(csp, [], `${name}: CSP console reports`);
    assert.deepEqual(p.errors, [], `${name}: page errors`);
    assert.deepEqual(consoleErrors, [], `${name}: console errors`);
    await p.page.screenshot({ path: screenshotPath(`console-${name}-${width}.png`), fullPage: true });
  };
  return { ...p, look };
}

const h1 = (page) => page.locator('main h1').textContent();
const focusedId = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

/** Keyboard only: from nowhere, Tab to the token field, type, Enter. */
async function signInByKeyboard(page, token) {
  await page.evaluate(() => document.activeElement?.blur());
  let tabs = 0;
  while ((await focusedId(page)) !== 'token') {
    assert.ok(++tabs <= 6, 'the token field is among the first tab stops');
    await page.keyboard.press('Tab');
  }
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
}

/** One launch from the local LMS, in its own browser context (the learner's browser). */
async function launchFromLms() {
  const { page, errors, close } = await newPage(browser);
  try {
    await page.goto(`${lms.url}/launch?user=ada&role=Instructor&placement=mymedia`);
    await page.waitForURL(/\/ks\//, { timeout: 15_000 });
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
}

/** Refresh the inspector until it lists `n` attempts (they are written a moment after a launch). */
async function attemptsShown(page, n) {
  await waitFor(async () => {
    if ((await page.locator('tr.attempt').count()) >= n) return true;
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.waitForSelector('#attempts, #no-attempts');
    return false;
  }, { timeout: 15_000, interval: 400, what: `${n} attempts in the inspector` });
}

const CANVAS_PATHS = { issuer: '', lti13PlatformOidcAuthUrl: '/api/lti/authorize_redirect', lti13AuthTokenUrl: '/login/oauth2/token', lti13KeysUrl: '/api/lti/security/jwks' };

describe('admin console in Chromium', { timeout: 150_000 }, () => {
  let regId;

  it('an admin signs in, creates a Canvas registration, launches, applies a suggested user id, and the next launch uses it', async () => {
    const { page, look, close } = await consolePage(1440);
    try {
      await page.goto(`${worker.url}/admin/`);
      await page.waitForSelector('#token');
      assert.equal(await h1(page), 'Sign in');

      // Wrong token first: a clear error beside the field, the field marked invalid and focused.
      await signInByKeyboard(page, 'not-the-admin-token');
      await page.waitForSelector('#token-error:not([hidden])');
      assert.match(await page.textContent('#token-error'), /console_token_invalid/);
      assert.match(await page.textContent('#token-error'), /not this deployment's admin token/);
      assert.equal(await page.getAttribute('#token', 'aria-invalid'), 'true');
      assert.equal(await focusedId(page), 'token');
      assert.equal(await page.inputValue('#token'), '', 'the field does not keep what was typed');
      await look('sign-in');

      await signInByKeyboard(page, worker.admin);
      await page.waitForSelector('#reg-count');
      assert.equal(await h1(page), 'Registrations');
      assert.equal(await focusedId(page), 'H1', 'focus moves to the new view\'s heading');
      // The token is nowhere the page keeps things; the session is an HttpOnly cookie.
      const kept = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
      assert.ok(!kept.includes(worker.admin), `the token is kept by the page: ${kept}`);
      const cookies = await page.context().cookies(`${worker.url}/lti/admin/session`);
      assert.ok(cookies.length >= 1 && cookies.every((c) => c.httpOnly && c.sameSite === 'Strict'), JSON.stringify(cookies));

      // Create from the Canvas preset: an empty client id first → the API's field error.
      await page.getByRole('link', { name: 'Add a registration' }).click();
      await page.waitForSelector('#reg-form');
      await page.getByLabel('Canvas', { exact: true }).check();
      assert.equal(await page.locator('#preset-fields input[name=siteUrl]').count(), 0, 'Canvas asks no site address');
      await page.getByRole('button', { name: 'Create registration' }).click();
      await page.waitForSelector('#form-summary:not([hidden])');
      assert.equal(await page.getAttribute('#f-lti13ClientId', 'aria-invalid'), 'true');
      assert.match(await page.getAttribute('#f-lti13ClientId', 'aria-describedby'), /f-lti13ClientId-error/);
      assert.match(await page.textContent('#f-lti13ClientId-error'), /required/);
      assert.match(await page.textContent('#form-summary'), /registration_invalid/);
      assert.equal(await focusedId(page), 'form-summary');
      await look('create-error');

      await page.fill('#f-lti13ClientId', 'lti-edge-local');
      await page.fill('#f-deploymentIds', 'local-deployment-1');
      assert.equal(await page.inputValue('#f-issuer'), 'https://canvas.instructure.com', 'the preset fills the issuer');
      await page.click('#endpoints > summary');
      for (const [field, path] of Object.entries(CANVAS_PATHS)) await page.fill(`#f-${field}`, `${lms.url}${path}`);
      await page.getByRole('button', { name: 'Create registration' }).click();
      await page.waitForSelector('text=What to paste in Canvas');

      const reg = (await admin('GET', '/lti/platforms')).find((r) => r.lti13ClientId === 'lti-edge-local');
      assert.ok(reg, 'registered');
      regId = reg.id;
      assert.equal(reg.platformFamily, 'canvas');
      assert.equal(reg.issuer, lms.url);
      assert.deepEqual(reg.deploymentIds, ['local-deployment-1']);

      // What to paste: the tool's URLs as copyable fields, Canvas's configuration URL, the page link.
      const jwks = page.getByLabel('Key set (JWKS) URL', { exact: true });
      assert.equal(await jwks.inputValue(), `${worker.url}/lti/jwks`);
      assert.equal(await page.getByLabel('Canvas JSON configuration URL', { exact: true }).inputValue(), `${worker.url}/lti/config/canvas.json`);
      await page.getByRole('button', { name: 'Copy Key set (JWKS) URL' }).click();
      await waitFor(() => page.evaluate(() => navigator.clipboard.readText()).then((t) => t === `${worker.url}/lti/jwks`), { what: 'the copied key-set URL' });
      await waitFor(async () => /Copied/.test(await page.textContent('#status')), { what: 'the copy announcement' });
      assert.equal(await page.getAttribute('a[href="/lti/setup/canvas"]', 'href'), '/lti/setup/canvas');
      await look('setup');

      // A launch from the local LMS, then the inspector shows it, decided by `sub`.
      await launchFromLms();
      await page.getByRole('link', { name: 'Launch inspector' }).click();
      await page.waitForSelector('#attempts, #no-attempts');
      await attemptsShown(page, 1);
      const first = page.locator('tr.attempt').first();
      assert.match(await first.textContent(), /admitted/);
      assert.match(await first.textContent(), /user-1001/);
      await first.getByRole('button', { name: 'Details' }).click();
      assert.match(await page.textContent('tr.detail:not([hidden])'), /user-1001 — from sub/);

      // Suggestions from that attempt; apply the email one.
      await first.getByRole('button', { name: 'Suggest user ids' }).click();
      await page.waitForSelector('#suggestion-table');
      const email = page.locator('#suggestion-table tr[data-attribute="email"]');
      assert.match(await email.textContent(), /ada\.lovelace@local-lms\.test/);
      await email.getByRole('button', { name: /^Apply/ }).click();
      await page.waitForSelector('#applied');
      assert.match(await page.textContent('#rule-now'), /lis_person_contact_email_primary/);
      assert.match(await page.textContent('#suggestion-table tr.current'), /email/);
      await look('inspector');

      // The next launch uses the applied rule.
      await launchFromLms();
      await attemptsShown(page, 2);
      const newest = page.locator('tr.attempt').first();
      assert.match(await newest.textContent(), /ada\.lovelace@local-lms\.test/);
      await newest.getByRole('button', { name: 'Details' }).click();
      assert.match(await page.textContent('tr.detail:not([hidden])'), /ada\.lovelace@local-lms\.test — from ltiUserIdAttribute/);
      const { attempts } = await admin('GET', `/lti/platforms/${regId}/launches`);
      assert.equal(attempts[0].decided.userId, 'ada.lovelace@local-lms.test');
      assert.equal(attempts[0].decided.userIdSource, 'ltiUserIdAttribute');
      assert.equal(attempts[1].decided.userIdSource, 'sub');

      // Edit keeps what the form does not show (the rule just applied, the overridden endpoints).
      await page.getByRole('link', { name: 'Edit' }).click();
      await page.waitForSelector('#reg-form');
      assert.equal(await page.inputValue('#f-lti13ClientId'), 'lti-edge-local');
      await page.fill('#f-name', 'Self-hosted Canvas (local LMS)');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.waitForSelector('text=What to paste in Canvas');
      const edited = await admin('GET', `/lti/platforms/${regId}`);
      assert.equal(edited.name, 'Self-hosted Canvas (local LMS)');
      assert.equal(edited.issuer, lms.url);
      assert.equal(edited.lti13KeysUrl, `${lms.url}/api/lti/security/jwks`);
      assert.equal(edited.ltiUserIdAttribute, 'lis_person_contact_email_primary');

      await page.getByRole('link', { name: 'LTI 1.1 upgrade' }).click();
      await page.waitForSelector('#upgrade-stats');
      await look('upgrade');

      // Registrations: the list and its search.
      await page.getByRole('link', { name: 'Registrations', exact: true }).first().click();
      await page.waitForSelector('#reg-table');
      await page.fill('#reg-search', 'no-such-lms');
      assert.match(await page.textContent('#reg-count'), /^0 of 1/);
      await page.fill('#reg-search', 'lti-edge-local');
      assert.match(await page.textContent('#reg-count'), /^1 of 1/);
      await page.fill('#reg-search', '');
      await look('registrations');

      // Invitations: create (the one-time URL, copyable), then revoke.
      await page.click('#nav >> text=Invitations');
      await page.waitForSelector('#invite-form');
      await page.fill('#inv-name', 'Moodle test site');
      await page.getByRole('button', { name: 'Create invitation' }).click();
      await page.waitForSelector('#invite-url');
      assert.ok((await page.inputValue('#invite-url')).startsWith(`${worker.url}/lti/register/`));
      assert.equal(await page.locator('#invitations tbody tr').count(), 1);
      await look('invitations');
      await page.getByRole('button', { name: 'Revoke invitation Moodle test site' }).click();
      await page.click('#confirm-ok');
      await page.waitForSelector('text=No invitations.');
      assert.deepEqual(await admin('GET', '/lti/invitations'), []);

      // Tool keys: publish a next key (promote becomes possible, explained).
      await page.click('#nav >> text=Tool keys');
      await page.waitForSelector('#keys');
      assert.match(await page.textContent('main'), /cache the key set for up to 5 minutes/);
      await page.click('#key-next');
      await page.waitForSelector('#key-promote:not([disabled])');
      assert.deepEqual((await admin('GET', '/lti/keys')).keys.map((k) => k.status).sort(), ['current', 'next']);
      await look('keys');

      // Backup: download the file, restore it (confirmed).
      await page.click('#nav >> text=Backup');
      await page.waitForSelector('#backup-download');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#backup-download')]);
      const file = join(tmpdir(), `console-backup-${process.pid}.json`);
      await download.saveAs(file);
      const snap = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(snap.format, 'lti-edge-backup/v1');
      assert.ok(snap.registrations.some((r) => r.id === regId));
      await page.setInputFiles('#restore-file', file);
      await page.getByRole('button', { name: 'Restore…' }).click();
      await page.click('#confirm-ok');
      await page.waitForSelector('#restore-result .notice');
      assert.match(await page.textContent('#restore-result'), /Restored 1 registration/);
      await look('backup');

      // An LMS nobody registered tries to log in: the console shows it with what to create.
      const r = await fetch(`${worker.direct}/lti/login?${new URLSearchParams({ iss: 'https://moodle.unknown.example', login_hint: 'u1', target_link_uri: `${worker.url}/hosted/index/my-media`, client_id: 'unknown-client' })}`, { redirect: 'manual' });
      assert.ok(r.status >= 400 && r.status < 500, `unknown platform login: ${r.status}`);
      await page.click('#nav >> text=Failed launches');
      await page.waitForSelector('#unknown-refresh');
      await waitFor(async () => {
        if (await page.locator('#unknown tbody tr').count()) return true;
        await page.click('#unknown-refresh');
        await page.waitForSelector('#unknown-refresh');
        return false;
      }, { timeout: 10_000, interval: 400, what: 'the unknown platform\'s attempt' });
      assert.match(await page.textContent('#unknown'), /moodle\.unknown\.example/);
      await look('launches');

      // Sign out: back to sign-in, and the API refuses the browser afterwards.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForSelector('#token');
      assert.equal(await h1(page), 'Sign in');
      assert.match(await page.textContent('#signed-out-notice'), /Signed out/);
      const after = await page.evaluate(async () => {
        const a = await fetch('/lti/platforms', { headers: { accept: 'application/json' } });
        const b = await fetch('/lti/admin/session', { headers: { accept: 'application/json' } });
        return [a.status, (await a.json()).error?.code, b.status];
      });
      assert.equal(after[0], 401);
      assert.match(after[1], /^(admin_unauthorized|console_session_expired)$/);
      assert.equal(after[2], 401);
    } finally {
      await close();
    }
  });

  it('every page at phone width: fits 360 px (the narrowest the console supports), photographed', async () => {
    assert.ok(regId, 'the walkthrough ran first');
    const { page, look, close } = await consolePage(360);
    try {
      await page.goto(`${worker.url}/admin/`);
      await page.waitForSelector('#token');
      await signInByKeyboard(page, 'wrong');
      await page.waitForSelector('#token-error:not([hidden])');
      await look('sign-in');
      await signInByKeyboard(page, worker.admin);
      await page.waitForSelector('#reg-table');
      await look('registrations');

      await page.goto(`${worker.url}/admin/#/registrations/new?preset=sakai`);
      await page.waitForSelector('#f-toolId');
      await page.fill('#f-siteUrl', 'ftp://sakai.example.edu');
      await page.getByRole('button', { name: 'Create registration' }).click();
      await page.waitForSelector('#form-summary:not([hidden])');
      for (const f of ['siteUrl', 'toolId', 'lti13ClientId']) assert.equal(await page.getAttribute(`#f-${f}`, 'aria-invalid'), 'true', f);
      await look('create-error');

      await page.goto(`${worker.url}/admin/#/registrations/${regId}/setup`);
      await page.waitForSelector('text=What to paste in Canvas');
      await look('setup');

      await page.goto(`${worker.url}/admin/#/registrations/${regId}/inspector`);
      await page.waitForSelector('#attempts');
      await page.locator('tr.attempt').first().getByRole('button', { name: 'Details' }).click();
      await page.locator('tr.attempt').first().getByRole('button', { name: 'Suggest user ids' }).click();
      await page.waitForSelector('#suggestion-table');
      await look('inspector');

      await page.goto(`${worker.url}/admin/#/registrations/${regId}/upgrade`);
      await page.waitForSelector('#upgrade-stats');
      await look('upgrade');

      await page.goto(`${worker.url}/admin/#/invitations`);
      await page.waitForSelector('#invite-form');
      await page.getByRole('button', { name: 'Create invitation' }).click();
      await page.waitForSelector('#invite-url');
      await look('invitations');

      await page.goto(`${worker.url}/admin/#/keys`);
      await page.waitForSelector('#keys');
      await look('keys');

      await page.goto(`${worker.url}/admin/#/backup`);
      await page.waitForSelector('#backup-download');
      await look('backup');

      await page.goto(`${worker.url}/admin/#/launches`);
      await page.waitForSelector('#unknown');
      await look('launches');
    } finally {
      await close();
    }
  });
});

describe('admin console: idle timeout', { timeout: 60_000 }, () => {
  it('a session left idle past CONSOLE_IDLE_SECONDS goes back to sign-in saying so, and the API refuses it', async () => {
    // A worker of its own with a 3 s idle timeout.
    const idleWorker = await startWorker({ vars: { CONSOLE_IDLE_SECONDS: '3' } });
    const { page, errors, close } = await newPage(browser, { viewport: { width: 1440, height: 900 } });
    try {
      await page.goto(`${idleWorker.url}/admin/`);
      await page.waitForSelector('#token');
      await signInByKeyboard(page, idleWorker.admin);
      await page.waitForSelector('#reg-count');
      const info = await page.evaluate(() => fetch('/lti/admin/session').then((r) => r.json()));
      assert.equal(info.data.idleTimeoutSecs, 3, 'the worker took CONSOLE_IDLE_SECONDS');
      // Left alone, the page asks the server once its idle time has passed and, refused, signs out.
      await page.waitForSelector('#signed-out-notice', { timeout: 15_000 });
      assert.equal(await h1(page), 'Sign in');
      assert.match(await page.textContent('#signed-out-notice'), /Signed out after 3 seconds idle/);
      const status = await page.evaluate(() => fetch('/lti/keys').then((r) => r.status));
      assert.equal(status, 401);
      // Signing in again returns to the page the admin was on.
      await signInByKeyboard(page, idleWorker.admin);
      await page.waitForSelector('#reg-count');
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await idleWorker.close();
    }
  });
});
