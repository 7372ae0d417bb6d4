// The demo host page: two embeds of tool modules resizing to their content, a selection shown in
// the host page, events logged; a screenshot for people to look at.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { launchBrowser, newPage, screenshotPath, startLms, startOrigins, startWorker, waitFor } from './harness.mjs';

let origins, browser;
before(async () => {
  origins = await startOrigins();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await origins?.close();
});

describe('demo page', { timeout: 60_000 }, () => {
  it('embeds two modules, resizes them, shows a selection and logs events', async () => {
    const { page, errors, close } = await newPage(browser, { viewport: { width: 1440, height: 1000 } });
    try {
      await page.goto(`${origins.H}/demo/?mode=local&tool=${encodeURIComponent(origins.T)}`);
      await page.waitForFunction(() => window.demo && window.demo.embeds.length === 2, null, { timeout: 10_000, polling: 50 });
      const heights = () => page.evaluate(() => demo.embeds.map(({ embed }) => embed.height));
      // My Media is taller than 800 px; the picker is shorter and stays at the minimum.
      await waitFor(async () => { const [a] = await heights(); return a > 800; }, { what: 'My Media resized to its content' });
      const name = await page.evaluate(() => demo.embeds[1].embed.name);
      const picker = await waitFor(() => page.frame({ name }), { what: 'picker frame' });
      await picker.waitForSelector('button[data-entry-id="1_meiosis"]', { timeout: 10_000, polling: 50 });
      await waitFor(async () => (await page.evaluate(() => demo.embeds[1].embed.stats().accepted)) > 0, { what: 'picker reported its height' });
      await picker.click('button[data-entry-id="1_meiosis"]');
      await page.waitForSelector('#selection .entry', { timeout: 10_000, polling: 50 });
      const selection = await page.textContent('#selection');
      assert.match(selection, /Meiosis explained/);
      assert.match(selection, /1_meiosis/);
      const [a, b] = await heights();
      assert.ok(a > 800, `My Media ${a}px`);
      assert.equal(b, 800, 'picker content is shorter: the 800 px minimum');
      const mediaFrame = page.frame({ name: await page.evaluate(() => demo.embeds[0].embed.name) });
      assert.equal(a, await mediaFrame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height)));
      const log = await page.textContent('#log');
      assert.match(log, /My Media resize/);
      assert.match(log, /Content Picker contentSelected/);
      // Grow the viewport to the whole page instead of a fullPage capture (which re-lays out the
      // frames mid-capture), let the frames settle, then capture.
      const full = await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight));
      await page.setViewportSize({ width: 1440, height: Math.min(full, 2400) });
      await waitFor(async () => {
        const [x, y] = await heights();
        return x === a && y === b && (await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight))) <= Math.min(full, 2400) + 1;
      }, { what: 'layout settled at the full size' });
      await page.screenshot({ path: screenshotPath('demo.png') });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  // Against the real thing: the release worker in workerd and the local LMS, started here (or
  // the ones `npm start` runs: LTI_EDGE_DEMO_LMS=http://127.0.0.1:9001
  // LTI_EDGE_DEMO_TOOL=http://127.0.0.1:8787). Both launches land on the worker's module pages
  // inside the embeds, the embeds resize, and a picked entry reaches the host.
  it('launches both modules from the local LMS into the worker', async () => {
    let lms = process.env.LTI_EDGE_DEMO_LMS;
    let tool = process.env.LTI_EDGE_DEMO_TOOL;
    const started = [];
    if (!lms || !tool) {
      const w = await startWorker();
      assert.ok(w, 'worker/build is missing: npm test builds it before the browser tests');
      started.push(w);
      const l = await startLms(w.url);
      assert.ok(l, 'the local LMS needs .venv');
      started.push(l);
      await w.register(l.url);
      [lms, tool] = [l.url, w.url];
    }
    const { page, errors, close } = await newPage(browser, { viewport: { width: 1440, height: 1100 } });
    try {
      await page.goto(`${origins.H}/demo/?lms=${encodeURIComponent(lms)}&tool=${encodeURIComponent(tool)}`);
      await page.waitForFunction(() => window.demo && window.demo.embeds.length === 2, null, { timeout: 10_000, polling: 50 });
      const modules = await waitFor(() => {
        const f = page.frames().filter((x) => x.url().startsWith(tool) && x.url().includes('/ks/'));
        return f.length === 2 && f;
      }, { timeout: 30_000, what: 'both module pages' });
      await waitFor(async () => (await page.evaluate(() => demo.embeds.every(({ embed }) => embed.stats().accepted > 0))), { timeout: 15_000, what: 'both tools reporting' });
      const picker = modules.find((f) => f.url().includes('/browseandembed/'));
      await picker.click('button[data-entry-id="1_cellwall"]');
      await page.waitForSelector('#selection .entry', { timeout: 10_000, polling: 50 });
      assert.match(await page.textContent('#selection'), /The plant cell wall/);
      await page.screenshot({ path: screenshotPath('demo-worker.png') });
      assert.deepEqual(errors, []);
    } finally {
      await close();
      for (const s of started.reverse()) await s.close();
    }
  });
});
