// Caliper from a tool page in Chromium, against the real worker (release build, workerd, its real
// queue) and the local LMS as the platform's event store: the browser does the whole LTI 1.3
// launch (login at the worker, the LMS's authorization, the launch form) with the LMS's
// custom_caliper_profile_url; the tool's player page on the tool's origin (served to the browser
// at a worker URL with page.route: a tool app behind the worker) loads the embed kit's tool module
// from the worker, plays a real (generated) media file, pauses, seeks, plays to the end, and
// leaves — the kit's Caliper client reports play/pause/seek/complete, and flushes the last event
// with navigator.sendBeacon on page hide. The store receives the MediaEvents with the launch's
// actor, course and federated session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { newPage, startStack, waitFor } from './harness.mjs';

let worker, lms, browser, stack;
before(async () => {
  stack = await startStack();
  ({ worker, lms, browser } = stack);
});
after(() => stack?.close());

const control = async (path, body) => {
  const r = await fetch(`${lms.url}/__control/${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
  assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
};

// The tool's player page: a <video> playing a 2-second WAV made in the page (no media file to
// ship), reported by the kit's Caliper client.
const PLAYER = `<!doctype html><meta charset=utf-8><title>Player</title>
<video id=v controls></video><button id=play>play</button><button id=pause>pause</button>
<script type=module>
import { Caliper } from '/embed/v0.1.0/caliper.js';
const session = new URLSearchParams(location.hash.slice(1)).get('session');
const rate = 8000, secs = 2, n = rate * secs;
const buf = new ArrayBuffer(44 + n * 2), d = new DataView(buf);
const w = (o, s) => [...s].forEach((c, i) => d.setUint8(o + i, c.charCodeAt(0)));
w(0, 'RIFF'); d.setUint32(4, 36 + n * 2, true); w(8, 'WAVEfmt '); d.setUint32(16, 16, true); d.setUint16(20, 1, true);
d.setUint16(22, 1, true); d.setUint32(24, rate, true); d.setUint32(28, rate * 2, true); d.setUint16(32, 2, true);
d.setUint16(34, 16, true); w(36, 'data'); d.setUint32(40, n * 2, true);
for (let i = 0; i < n; i++) d.setInt16(44 + i * 2, Math.sin(i / 8) * 3000, true);
const v = document.getElementById('v');
v.src = URL.createObjectURL(new Blob([buf], { type: 'audio/wav' }));
window.caliper = new Caliper({ session, flushInterval: 200 });
window.sent = []; window.refused = [];
caliper.on('sent', (d) => sent.push(d)); caliper.on('refused', (d) => refused.push(d));
caliper.trackMedia(v, { id: 'https://tool.example/videos/mitosis', name: 'Mitosis in 2 minutes', mediaType: 'audio/wav' });
document.getElementById('play').onclick = () => v.play();
document.getElementById('pause').onclick = () => v.pause();
window.ready = true;
</script>`;

describe('Caliper in Chromium', { timeout: 120_000 }, () => {
  it('a media session (play, pause, seek, complete) reaches the event store as MediaEvents', async () => {
    const store = await control('caliper/store', {});
    const fed = `session_user-1001_${Date.now()}`;
    const course = { id: `caliper-course-${Date.now()}`, label: 'CAL101', title: 'Caliper course' };
    const launch = await control('launch', {
      client_id: 'lti-edge-local', deployment_id: 'local-deployment-1', tool_url: worker.url, user: 'ada', role: 'Learner', course,
      custom: { caliper_profile_url: store.profileUrl, caliper_federated_session_id: fed },
    });
    const { page, errors, close } = await newPage(browser);
    // Every answer the browser gets from the worker, to check that no apiKey is among them.
    const bodies = [];
    page.on('response', async (r) => {
      if (r.url().startsWith(worker.url)) bodies.push(r.url() + JSON.stringify(await r.allHeaders()) + (await r.text().catch(() => '')));
    });
    try {
      // The launch, all in the browser: the worker's login, the LMS's authorization, the form.
      await page.goto(`${launch.login_endpoint}?${new URLSearchParams(launch.params)}`);
      await page.waitForURL(/\/ks\//, { timeout: 30_000 });
      const token = page.url().split('/ks/')[1];
      const loggedIn = await waitFor(async () => (await control(`caliper/received?store=${store.store}`)).events.find((e) => e.action === 'LoggedIn'),
        { timeout: 20_000, what: 'LoggedIn at the store' });
      assert.equal(loggedIn.federatedSession.messageParameters.custom_caliper_federated_session_id, fed);

      // The tool's player page, on the tool's origin.
      await page.route(`${worker.url}/tool-app/player`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PLAYER }));
      await page.goto(`${worker.url}/tool-app/player#session=${token}`);
      await page.waitForFunction(() => window.ready && document.getElementById('v').readyState >= 1, null, { timeout: 10_000 });
      const v = '#v';
      await page.click('#play');
      await page.waitForFunction((s) => document.querySelector(s).currentTime > 0.3, v, { timeout: 10_000 });
      await page.click('#pause');
      await page.evaluate((s) => { document.querySelector(s).currentTime = 1.5; }, v);
      await page.waitForFunction(() => window.caliper.stats().queued >= 3, null, { timeout: 10_000 });
      await page.click('#play');
      await page.waitForFunction((s) => document.querySelector(s).ended, v, { timeout: 10_000 });
      await page.waitForFunction(() => window.caliper.stats().sent >= 5, null, { timeout: 10_000 });
      // One more event, left in the queue, then the page goes away: the beacon carries it.
      await page.evaluate(() => window.caliper.view({ id: 'https://tool.example/videos/mitosis/transcript', type: 'Document' }));
      assert.deepEqual(await page.evaluate(() => window.refused), []);
      await page.goto('about:blank');

      const got = await waitFor(async () => {
        const r = await control(`caliper/received?store=${store.store}`);
        return r.events.some((e) => e.type === 'ViewEvent') && r.events.filter((e) => e.type === 'MediaEvent').length >= 5 ? r : null;
      }, { timeout: 30_000, what: 'the media session and the beaconed view at the store' });
      const media = got.events.filter((e) => e.type === 'MediaEvent').sort((a, b) => a.eventTime.localeCompare(b.eventTime));
      assert.deepEqual(media.map((e) => e.action), ['Started', 'Paused', 'JumpedTo', 'Resumed', 'Ended']);
      for (const e of media) {
        assert.equal(e.actor.id, `${lms.url}/users/user-1001`);
        assert.equal(e.group.id, `${lms.url}/courses/${course.id}`);
        assert.deepEqual(e.membership.roles, ['Learner']);
        assert.equal(e.federatedSession.messageParameters.custom_caliper_federated_session_id, fed);
        assert.equal(e.session.id, loggedIn.session.id, 'the same Caliper session as the launch');
        assert.equal(e.object.id, 'https://tool.example/videos/mitosis');
        assert.equal(e.object.duration, 'PT2S');
        assert.equal(e.target.type, 'MediaLocation');
      }
      assert.equal(media[2].target.currentTime, 'PT1.5S', 'the seek position');
      assert.equal(media[4].target.currentTime, 'PT2S', 'complete at the end');
      assert.ok(got.requests.every((r) => r.status === 200), JSON.stringify(got.requests));
      assert.ok(bodies.length >= 3, 'the browser saw the launch, the module page and the events answers');
      assert.ok(!bodies.some((b) => b.includes(store.apiKey)), 'the apiKey is in a browser-visible answer of the worker');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});
