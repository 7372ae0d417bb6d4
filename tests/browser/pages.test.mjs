// The worker's own pages an LMS administrator and a user read — "what to paste" per LMS, a
// refused Dynamic Registration link, an error page — rendered by the real worker in Chromium at
// desktop and phone width: readable without horizontal scrolling, nothing blocked by their CSP,
// screenshots for people to look at.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { launchBrowser, newPage, screenshotPath, startWorker } from './harness.mjs';

let worker, browser;
before(async () => {
  worker = await startWorker();
  assert.ok(worker, 'worker/build is missing: npm test builds it before the browser tests');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await worker?.close();
});

const WIDTHS = [1440, 390];

/** Open `path` at `width`, check the page fits and its CSP blocked nothing, save a screenshot. */
async function look(path, width, name) {
  const { page, errors, close } = await newPage(browser, { viewport: { width, height: 900 } });
  const csp = [];
  page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) csp.push(m.text()); });
  try {
    const resp = await page.goto(`${worker.url}${path}`);
    const fit = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: innerWidth,
      h1: document.querySelector('h1')?.textContent ?? '',
      // A table wider than its box hides columns behind a sideways swipe.
      hidden: [...document.querySelectorAll('.scroll')].filter((s) => s.scrollWidth > s.clientWidth + 1).length,
    }));
    assert.ok(fit.scroll <= fit.inner, `${path} at ${width} px scrolls sideways (${fit.scroll} > ${fit.inner})`);
    assert.equal(fit.hidden, 0, `${path} at ${width} px: a table is wider than the page`);
    assert.deepEqual(csp, [], `${path}: CSP reports`);
    assert.deepEqual(errors, [], `${path}: page errors`);
    await page.screenshot({ path: screenshotPath(`${name}-${width}.png`), fullPage: true });
    return { status: resp.status(), h1: fit.h1, text: await page.evaluate(() => document.body.innerText) };
  } finally {
    await close();
  }
}

describe('worker pages in Chromium', { timeout: 120_000 }, () => {
  it('what to paste, per LMS', async () => {
    for (const width of WIDTHS) {
      const list = await look('/lti/setup', width, 'setup');
      assert.equal(list.status, 200);
      assert.match(list.text, /Canvas/);
      const canvas = await look('/lti/setup/canvas', width, 'setup-canvas');
      assert.equal(canvas.status, 200);
      assert.ok(canvas.text.includes(`${worker.url}/lti/jwks`) || canvas.text.includes('/lti/jwks'), 'the key-set URL to paste');
    }
  });

  it('a refused Dynamic Registration link and an error page say what to do', async () => {
    for (const width of WIDTHS) {
      const dr = await look('/lti/register/not-an-invitation', width, 'register-refused');
      assert.ok(dr.status >= 400 && dr.status < 500, `status ${dr.status}`);
      assert.match(dr.text, /invitation/i);
      const err = await look('/lti/launch', width, 'error-page');
      assert.equal(err.status, 405);
      assert.match(err.text, /method_not_allowed/);
    }
  });
});
