// The demo host page: two embeds of the tool's modules, each resizing to its content (a size badge
// and a highlight show every resize), a content selection shown here, and a developer panel
// (collapsed) with the counters and every event. Responsive: the embeds stack below 940 px.
//
// Default: launched from the local LMS (npm start: LMS on :9001, tool worker on :8787).
//   ?lms=<LMS origin>&tool=<tool origin>   other ports
//   ?mode=local                           stand-in tool pages served by web/serve.mjs on the
//                                         tool port (:8789), when the worker is not running
import init, { Embed } from '../pkg/host.js';

const q = new URLSearchParams(location.search);
const local = q.get('mode') === 'local';
const lms = q.get('lms') || 'http://127.0.0.1:9001';
const tool = q.get('tool') || (local ? `${location.protocol}//${location.hostname}:${Number(location.port) + 1}` : 'http://127.0.0.1:8787');
const launch = { course: q.get('course') || 'bio101', user: q.get('user') || 'ada', role: q.get('role') || 'Instructor' };

const $ = (id) => document.getElementById(id);
const text = (tag, t, cls) => { const n = document.createElement(tag); n.textContent = t; if (cls) n.className = cls; return n; };

function log(name, event, detail) {
  const li = document.createElement('li');
  li.append(text('span', new Date().toLocaleTimeString() + ' ', 't'), text('span', `${name} ${event} `, event === 'dropped' ? 'e dropped' : 'e'));
  li.append(document.createTextNode(JSON.stringify(detail).slice(0, 160)));
  $('log').prepend(li);
  while ($('log').children.length > 200) $('log').lastChild.remove();
}

function showSelection(name, { entry }) {
  const box = $('selection');
  box.className = '';
  box.replaceChildren();
  const wrap = document.createElement('div');
  wrap.className = 'entry';
  wrap.append(text('div', entry.duration ? `${Math.round(entry.duration / 60)} min` : 'media', 'thumb'));
  const dl = document.createElement('dl');
  for (const [k, v] of Object.entries({ title: entry.title, entryId: entry.entryId, url: entry.url, duration: entry.duration && `${entry.duration} s`, from: name })) {
    if (v) dl.append(text('dt', k), text('dd', String(v)));
  }
  wrap.append(dl);
  box.append(wrap);
}

const embeds = [];
function renderStats() {
  // One column per embed, one row per counter.
  const t = $('stats');
  const head = document.createElement('tr');
  head.append(text('th', ''), ...embeds.map(({ name }) => text('th', name)));
  t.tHead.replaceChildren(head);
  const rows = [['height', (e) => `${e.height}px`], ['accepted', (e, s) => s.accepted], ['dropped', (e, s) => s.dropped],
    ['bad requests', (e, s) => s.badRequests], ['ignored (other windows)', (e, s) => s.ignored], ['replies', (e, s) => s.replies], ['layouts', (e, s) => s.layouts],
    ['rate-limited', (e, s) => s.rateLimited], ['scrolls (refused)', (e, s) => `${s.scrolls} (${s.scrollsRefused})`]];
  const stats = embeds.map(({ embed }) => [embed, embed.stats()]);
  t.tBodies[0].replaceChildren(...rows.map(([label, f]) => {
    const tr = document.createElement('tr');
    tr.append(text('td', label), ...stats.map(([e, s]) => text('td', String(f(e, s)))));
    return tr;
  }));
}

// Resizing made visible: the size badge pulses and the frame is outlined for a moment.
function showSize(i, height, first) {
  const badge = $(`size-${i}`);
  badge.textContent = `${height} px`;
  if (first) return;
  badge.classList.remove('changed');
  void badge.offsetWidth; // restart the animation
  badge.classList.add('changed');
  const frame = $(`embed-${i}`);
  frame.classList.add('resized');
  clearTimeout(frame._t);
  frame._t = setTimeout(() => frame.classList.remove('resized'), 700);
}

function add(i, name, options) {
  // minHeight 160: the frames take their content's height (the worker's module pages are shorter
  // than the kit's 800 px default), so resizing shows.
  const embed = new Embed($(`embed-${i}`), { allowedOrigins: [tool], title: name, minHeight: 160, ...options });
  showSize(i, embed.height, true);
  embed.on('resize', ({ height }) => showSize(i, height));
  for (const ev of ['resize', 'contentSelected', 'navigation', 'hideModuleHeader', 'moduleNavigation', 'alert', 'close', 'dropped']) {
    embed.on(ev, (d) => { log(name, ev, d); renderStats(); });
  }
  embed.on('message', (d) => { if (!['lti.frameResize', 'lti.contentSelected'].includes(d.subject)) log(name, 'message', { subject: d.subject }); });
  embed.on('contentSelected', (d) => showSelection(name, d));
  embed.on('close', () => log(name, 'close', 'the tool asked to close'));
  $(`tag-${i}`).textContent = options.form ? `form ${(options.form.method || 'post').toUpperCase()} launch` : 'URL launch';
  $(`meta-${i}`).textContent = `frame ${embed.name} · ${options.url || `${options.form.method || 'post'} ${options.form.action}`}`;
  embeds.push({ name, embed });
  log(name, 'created', { name: embed.name, allowedOrigins: [tool] });
  return embed;
}

await init();
$('mode').textContent = local ? `stand-in tool ${tool}` : `LMS ${lms} → tool ${tool}`;
$('origins').textContent = `allowed tool origin: ${tool}`;
if (local) {
  add(0, 'My Media', { url: `${tool}/demo/tool/module.html?module=mymedia&course=${launch.course}` });
  add(1, 'Content Picker', { form: { action: `${tool}/demo/tool/module.html`, method: 'get', fields: { module: 'browseembed', course: launch.course } } });
} else {
  add(0, 'My Media', { url: `${lms}/launch?${new URLSearchParams({ ...launch, placement: 'mymedia' })}` });
  add(1, 'Content Picker', { form: { action: `${lms}/launch`, method: 'post', fields: { ...launch, placement: 'browseembed' } } });
}
renderStats();
setInterval(renderStats, 1000);
window.demo = { embeds, tool, lms, local };
