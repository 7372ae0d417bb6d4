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

describe('demo page', { timeout: 90_000 }, () => {
  /** A screenshot of the whole page: the viewport grown to the page (a fullPage capture re-lays out
   *  the frames mid-capture and leaves cross-origin frames unpainted), once the frames settled. */
  async function shoot(page, width, file) {
    const heights = () => page.evaluate(() => demo.embeds.map(({ embed }) => embed.height).join());
    const before = await heights();
    const full = await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight));
    await page.setViewportSize({ width, height: Math.min(full, 3000) });
    await waitFor(async () => (await heights()) === before && (await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight))) <= Math.min(full, 3000) + 1,
      { what: 'layout settled at the full size' });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: screenshotPath(file) });
  }

  /** Both embeds report, each frame is as tall as its tool page, the layout fits the width. */
  async function check(page, width) {
    const heights = () => page.evaluate(() => demo.embeds.map(({ embed }) => embed.height));
    await waitFor(async () => (await page.evaluate(() => demo.embeds.every(({ embed }) => embed.stats().layouts > 0))), { timeout: 30_000, what: 'both embeds resized' });
    const frames = await page.evaluate(() => demo.embeds.map(({ embed }) => embed.name));
    // Each frame settles at its page's own height (min 160 in the demo).
    await waitFor(async () => {
      const hs = await heights();
      const docs = await Promise.all(frames.map((n) => page.frame({ name: n }).evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height))));
      return hs.every((h, k) => h === Math.max(160, docs[k]));
    }, { timeout: 15_000, what: `frames at their content height (${width} px)` });
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      frames: [...document.querySelectorAll('.frame iframe')].map((f) => Math.round(f.getBoundingClientRect().width)),
      badges: [...document.querySelectorAll('.size')].map((b) => b.textContent),
      devOpen: document.getElementById('dev').open,
    }));
    const hs = await heights();
    assert.ok(layout.scrollWidth <= width, `no horizontal scrolling at ${width} px (${layout.scrollWidth})`);
    assert.ok(layout.frames.every((w) => w >= Math.min(300, width - 60)), `frames wide enough at ${width} px: ${layout.frames}`);
    assert.ok(hs.every((h) => h < 2000), `tool pages laid out normally at ${width} px: ${hs}`);
    assert.deepEqual(layout.badges, hs.map((h) => `${h} px`), 'the size badges show the heights');
    assert.equal(layout.devOpen, false, 'the developer panel starts collapsed');
    return hs;
  }

  it('embeds two modules, resizes them, shows a selection and logs events (1440 and 390 px wide)', async () => {
    for (const width of [1440, 390]) {
      const { page, errors, close } = await newPage(browser, { viewport: { width, height: 1000 } });
      try {
        await page.goto(`${origins.H}/demo/?mode=local&tool=${encodeURIComponent(origins.T)}`);
        await page.waitForFunction(() => window.demo && window.demo.embeds.length === 2, null, { timeout: 10_000, polling: 50 });
        await check(page, width);
        const name = await page.evaluate(() => demo.embeds[1].embed.name);
        const picker = await waitFor(() => page.frame({ name }), { what: 'picker frame' });
        await picker.waitForSelector('button[data-entry-id="1_meiosis"]', { timeout: 10_000, polling: 50 });
        await picker.click('button[data-entry-id="1_meiosis"]');
        await page.waitForSelector('#selection .entry', { timeout: 10_000, polling: 50 });
        const selection = await page.textContent('#selection');
        assert.match(selection, /Meiosis explained/);
        assert.match(selection, /1_meiosis/);
        const log = await page.textContent('#log');
        assert.match(log, /My Media resize/);
        assert.match(log, /Content Picker contentSelected/);
        await shoot(page, width, `demo-${width}.png`);
        assert.deepEqual(errors, []);
      } finally {
        await close();
      }
    }
  });

  // Against the real thing: the release worker in workerd and the local LMS, started here (or
  // the ones `npm start` runs: LTI_EDGE_DEMO_LMS=http://127.0.0.1:9001
  // LTI_EDGE_DEMO_TOOL=http://127.0.0.1:8787). Both launches land on the worker's module pages
  // inside the embeds, the embeds take the module pages' heights, and a picked entry reaches the host.
  it('launches both modules from the local LMS into the worker (1440 and 390 px wide)', async () => {
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
    try {
      for (const width of [1440, 390]) {
        const { page, errors, close } = await newPage(browser, { viewport: { width, height: 1100 } });
        try {
          await page.goto(`${origins.H}/demo/?lms=${encodeURIComponent(lms)}&tool=${encodeURIComponent(tool)}`);
          await page.waitForFunction(() => window.demo && window.demo.embeds.length === 2, null, { timeout: 10_000, polling: 50 });
          const modules = await waitFor(() => {
            const f = page.frames().filter((x) => x.url().startsWith(tool) && x.url().includes('/ks/'));
            return f.length === 2 && f;
          }, { timeout: 30_000, what: 'both module pages' });
          const hs = await check(page, width);
          assert.ok(hs.every((h) => h !== 160), `the worker's module pages resized their frames: ${hs}`);
          const picker = modules.find((f) => f.url().includes('/browseandembed/'));
          await picker.click('button[data-entry-id="1_cellwall"]');
          await page.waitForSelector('#selection .entry', { timeout: 10_000, polling: 50 });
          assert.match(await page.textContent('#selection'), /The plant cell wall/);
          await shoot(page, width, `demo-worker-${width}.png`);
          assert.deepEqual(errors, []);
        } finally {
          await close();
        }
      }
    } finally {
      for (const s of started.reverse()) await s.close();
    }
  });
});
