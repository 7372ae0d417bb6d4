// The real worker (release build, workerd) and the local LMS (lti1p3platform) in Chromium: an
// instructor opens the content picker from the LMS, picks two videos and the signed Deep Linking
// response travels back to the LMS, which validates it — through the picker's form, the worker's
// auto-submitting page (CSP: one nonce'd script, form-action pinned to the LMS) and the LMS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { newPage, screenshotPath, startStack, waitFor } from './harness.mjs';

let worker, lms, browser, stack;
before(async () => {
  stack = await startStack();
  ({ worker, lms, browser } = stack);
});
after(() => stack?.close());

describe('worker in Chromium', { timeout: 120_000 }, () => {
  it('deep linking: pick two videos in the LMS iframe, the LMS receives and validates them', async () => {
    const { page, errors, close } = await newPage(browser, { viewport: { width: 1280, height: 1000 } });
    const csp = [];
    page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) csp.push(m.text()); });
    try {
      await page.goto(`${lms.url}/?course=bio101&user=ada&role=Instructor&placement=browseembed&launch=1`);
      const picker = await waitFor(() => page.frames().find((f) => f.url().startsWith(worker.url) && f.url().includes('/browseandembed/')),
        { timeout: 30_000, what: 'the picker module page in the LMS iframe' });
      await picker.waitForSelector('#deep-link-form', { timeout: 10_000 });
      await picker.check('input[name="entry"][value="1_mitosis"]');
      await picker.check('input[name="entry"][value="1_meiosis"]');
      await page.screenshot({ path: screenshotPath('deep-link-picker.png') });
      await picker.click('#embed');
      const back = await waitFor(() => page.frames().find((f) => f.url().startsWith(`${lms.url}/deep-link-return`)),
        { timeout: 20_000, what: 'the LMS deep-link return page' });
      await back.waitForSelector('ul.items', { timeout: 10_000 });
      const text = await back.textContent('body');
      assert.match(text, /Content added to the course/);
      assert.match(text, /Mitosis in 2 minutes/);
      assert.match(text, /Meiosis explained/);
      await page.screenshot({ path: screenshotPath('deep-link-returned.png') });
      // What the LMS library accepted: two resource links carrying the entry ids.
      const { returns } = await (await fetch(`${lms.url}/__control/deep-link-returns`)).json();
      const items = returns.at(-1).items;
      assert.deepEqual(items.map((i) => i.custom.entry_id).sort(), ['1_meiosis', '1_mitosis']);
      assert.ok(items.every((i) => i.type === 'ltiResourceLink' && i.iframe.width === 640));
      assert.deepEqual(errors, []);
      assert.deepEqual(csp, []);
    } finally {
      await close();
    }
  });
});
