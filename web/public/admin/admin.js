// LTI Edge admin console: a hash-routed page over the worker's JSON admin API, signed in with a
// first-party session cookie (HttpOnly, set by POST /lti/admin/session). No framework: every
// element is built with `h()` from text (never HTML strings), so nothing the API returns is
// parsed as markup. The admin token is read from its field once, sent once, and never kept.

const SESSION = '/lti/admin/session';
/** 401 codes that mean "no (more) console session": back to the sign-in view. */
const SIGNED_OUT_CODES = new Set(['console_session_required', 'console_session_expired', 'admin_unauthorized', 'access_token_invalid']);

/** LMS presets, as the worker applies them (GET /lti/presets, read at start-up): what each asks
 * for and what it fills. The console keeps no copy of its own, so it cannot drift. */
let PRESETS = [];

/** Read the presets from the worker (each: code, name, asks (field names), fills). */
async function loadPresets() {
  const list = await api('GET', '/lti/presets');
  PRESETS = list.map((p) => ({ code: p.preset, name: p.name, asks: p.asks.map((a) => a.field), fills: p.fills }));
}
const ENDPOINTS = ['issuer', 'lti13PlatformOidcAuthUrl', 'lti13AuthTokenUrl', 'lti13KeysUrl'];

/** Every form field: label, help, whether the API requires it. */
const FIELDS = {
  name: { label: 'Name', help: 'How this LMS is listed here. Left empty, the preset makes one.' },
  siteUrl: { label: 'LMS address', help: 'The address people open the LMS at, e.g. https://lms.example.edu', required: true, type: 'url' },
  lti13ClientId: { label: 'Client ID', help: 'The client id the LMS issued to the tool when it was added.', required: true },
  applicationId: { label: 'Application ID', help: 'From Anthology\'s developer portal; it is also the client id.', required: true },
  toolId: { label: 'Sakai tool ID', help: 'The number Sakai gave the tool (External Tools, the tool\'s id).', required: true },
  deploymentIds: { label: 'Deployment IDs', help: 'The deployment id the LMS shows for the installed tool; several separated by spaces or commas. Left empty, the first launch\'s deployment is recorded.' },
  canvasEnvironment: { label: 'Canvas environment', help: 'Which Instructure-hosted Canvas: production, beta or test.', choices: ['production', 'beta', 'test'] },
  issuer: { label: 'Issuer (Platform ID)', help: 'The LMS\'s issuer, exactly as it sends it.', required: true, type: 'url' },
  lti13PlatformOidcAuthUrl: { label: 'OIDC authorization URL', help: 'Where the tool sends the browser to log in.', required: true, type: 'url' },
  lti13AuthTokenUrl: { label: 'OAuth2 token URL', help: 'Where the tool gets service tokens (grades, rosters).', required: true, type: 'url' },
  lti13KeysUrl: { label: 'Key set (JWKS) URL', help: 'The LMS\'s public keys, which sign its launches.', required: true, type: 'url' },
};
/** API field names that stand for a form field. */
const FIELD_ALIASES = { clientId: 'lti13ClientId', client_id: 'lti13ClientId', deploymentId: 'deploymentIds', deployment_id: 'deploymentIds', platformId: 'issuer', iss: 'issuer' };

// ------------------------------------------------------------------ small DOM helpers

/** Build an element: `props` are attributes, `on…` functions are listeners, `text` sets text. */
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

const $ = (sel, root = document) => root.querySelector(sel);
/** Replace an element's children, skipping null/false (conditional parts). */
const put = (el, ...nodes) => el.replaceChildren(...nodes.flat(Infinity).filter((n) => n instanceof Node || typeof n === 'string'));
let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

/** A date from unix seconds or an ISO string, in the user's locale. */
function when(v) {
  if (v === undefined || v === null || v === '') return '';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}
function timeEl(v) {
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return h('time', { datetime: Number.isNaN(d.getTime()) ? null : d.toISOString(), text: when(v) });
}

/** Say something to screen readers (and show it) in the status line. `carry`: the message
 * reports an action that now moves to another view ("Created …"), so that view keeps it; any
 * other message goes with the view it was said on. */
let carried = false;
function say(text, { carry = false } = {}) {
  carried = carry;
  const s = $('#status');
  s.textContent = '';
  // A fresh text node after a tick, so the same sentence twice is announced twice.
  setTimeout(() => { s.textContent = text; }, 30);
}

/** Ask before doing something that cannot be undone: the native modal dialog (focus trapped). */
function confirmDialog(title, text, ok = 'Confirm') {
  const d = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = ok;
  const back = document.activeElement;
  return new Promise((resolve) => {
    d.returnValue = 'cancel';
    d.addEventListener('close', () => {
      if (back instanceof HTMLElement) back.focus();
      resolve(d.returnValue === 'ok');
    }, { once: true });
    d.showModal();
    $('#confirm-cancel').focus();
  });
}

/** A read-only value with a copy button (URLs scroll inside the field instead of the page). */
function copyField(label, value, { id, multiline } = {}) {
  const fid = id || nextId('copy');
  const input = multiline
    ? h('textarea', { id: fid, readonly: true, rows: '3', spellcheck: 'false', class: 'mono', text: value })
    : h('input', { id: fid, type: 'text', readonly: true, value, spellcheck: 'false', class: 'mono' });
  const btn = h('button', { type: 'button', class: 'copy-btn', 'aria-label': `Copy ${label}`, text: 'Copy', onclick: () => copy(value, label, input) });
  return h('div', { class: 'copy' }, h('label', { for: fid, text: label }), h('div', { class: 'copy-row' }, input, btn));
}

async function copy(value, label, input) {
  try {
    await navigator.clipboard.writeText(value);
  } catch {
    input?.select();
    document.execCommand?.('copy');
  }
  say(`Copied ${label}.`);
}

/** The API's error: its sentence, code and correlation id (what support asks for). */
function errorBox(err, intro) {
  const e = err instanceof ApiFailure ? err.error : { message: String(err?.message || err), code: 'network_error' };
  return h('div', { class: 'error', role: 'alert' },
    intro ? h('p', { class: 'strong', text: intro }) : null,
    h('p', { text: e.message || 'The request failed.' }),
    h('p', { class: 'meta' }, 'Code ', h('code', { text: e.code || 'unknown' }), e.correlationId ? [' · correlation id ', h('code', { text: e.correlationId })] : null),
    e.fields ? h('ul', {}, Object.entries(e.fields).map(([k, v]) => h('li', {}, h('code', { text: k }), `: ${v}`))) : null);
}

// ------------------------------------------------------------------ the API

class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.error = error || {};
  }
}

const session = { info: null, lastCall: 0, idleTimer: 0 };

/** Same-origin JSON call (the browser sends the cookie and Origin). Unwraps `{success, data}`. */
async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let json = null;
  try { json = await r.json(); } catch { /* an empty or non-JSON answer */ }
  if (r.ok) {
    if (path !== SESSION || method !== 'DELETE') touch();
    return json && typeof json === 'object' && 'data' in json && 'success' in json ? json.data : json;
  }
  const error = (json && json.error && typeof json.error === 'object') ? json.error
    : { code: `http_${r.status}`, message: `The tool answered ${r.status} ${r.statusText}.` };
  const failure = new ApiFailure(r.status, error);
  // The session endpoint's own 401s are answered where it is called (sign-in form, start-up).
  if (r.status === 401 && SIGNED_OUT_CODES.has(error.code) && path !== SESSION) {
    signedOut(error);
    failure.handled = true;
  }
  throw failure;
}

/** A call answered: the server's idle clock restarted; restart ours to match. */
function touch() {
  session.lastCall = Date.now();
  clearTimeout(session.idleTimer);
  const idle = session.info?.idleTimeoutSecs;
  if (idle) session.idleTimer = setTimeout(checkSession, idle * 1000 + 1500);
}

/** When our idle clock ran out: ask the server (a 401 signs the page out with the reason). */
async function checkSession() {
  if (!session.info) return;
  try {
    const r = await fetch(SESSION, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
    if (r.status === 401) {
      const j = await r.json().catch(() => null);
      signedOut(j?.error || { code: 'console_session_expired' });
    }
  } catch { /* offline: the next call tells */ }
}

function minutes(secs) {
  const m = Math.round(secs / 60);
  return m >= 1 ? `${m} minute${m === 1 ? '' : 's'}` : `${secs} seconds`;
}

/** Back to the sign-in view, saying why. */
function signedOut(error) {
  const info = session.info;
  session.info = null;
  clearTimeout(session.idleTimer);
  let why = '';
  if (info) {
    const idle = info.idleTimeoutSecs;
    const idleFor = (Date.now() - session.lastCall) / 1000;
    if (idle && idleFor >= idle - 1) why = `Signed out after ${minutes(idle)} idle. Sign in again to continue.`;
    else if (info.expiresAt && Date.now() / 1000 >= info.expiresAt - 1) why = 'Your session reached its time limit. Sign in again to continue.';
    else why = `${error?.message || 'Your session has ended.'}`;
  }
  showChrome(false);
  const back = location.hash && !location.hash.startsWith('#/sign-in') ? location.hash : '#/registrations';
  pending.notice = why;
  pending.after = back;
  if (location.hash !== '#/sign-in') location.hash = '#/sign-in';
  else route();
}

const pending = { notice: '', after: '#/registrations' };

function showChrome(signedIn) {
  $('#nav').hidden = !signedIn;
  $('#who').hidden = !signedIn;
  const i = session.info;
  $('#who-text').textContent = !i ? '' : i.via === 'access' ? `Signed in through Cloudflare Access${i.email ? ` as ${i.email}` : ''}` : 'Signed in with the admin token';
  // Under Cloudflare Access the console session follows Access: sign out there.
  $('#sign-out').hidden = !signedIn || i?.via === 'access';
  $('#access-sign-out').hidden = !signedIn || i?.via !== 'access';
}

async function loadSession() {
  try {
    session.info = await api('GET', SESSION);
    touch();
  } catch (e) {
    session.info = null;
    if (!(e instanceof ApiFailure) || e.status !== 401) throw e;
  }
  return session.info;
}

// ------------------------------------------------------------------ routing

const main = () => $('#main');

/** Render a view: replace main's content, mark the nav, move focus to the new heading. */
function mount(title, ...nodes) {
  const m = main();
  // A message from the action that led here ("Created …") stays; others go with their view.
  if (!carried) $('#status').textContent = '';
  carried = false; // survives one view change at most
  put(m, h('h1', { tabindex: '-1', text: title }), ...nodes.flat(Infinity).filter((n) => n instanceof Node));
  document.title = `${title} · LTI Edge admin`;
  const section = (location.hash.split('/')[1] || '').split('?')[0];
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  $('h1', m).focus();
  return m;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query || '') };
}

let routing = 0;
async function route() {
  const ticket = ++routing;
  const { parts, query } = parseHash();
  if (!session.info && parts[0] !== 'sign-in') {
    pending.after = location.hash || '#/registrations';
    location.hash = '#/sign-in';
    return;
  }
  if (session.info && parts[0] === 'sign-in') {
    location.hash = '#/registrations';
    return;
  }
  try {
    const [a, b, c] = parts;
    if (a === 'sign-in') return viewSignIn();
    if (a === 'registrations' && !b) return await viewRegistrations(ticket);
    if (a === 'registrations' && b === 'new') return viewForm(null, query);
    if (a === 'registrations' && c === 'edit') return await viewEdit(b, ticket);
    if (a === 'registrations' && (c === 'setup' || !c)) return await viewSetup(b, ticket);
    if (a === 'registrations' && c === 'inspector') return await viewInspector(b, ticket);
    if (a === 'registrations' && c === 'upgrade') return await viewUpgrade(b, ticket);
    if (a === 'invitations') return await viewInvitations(ticket);
    if (a === 'launches') return await viewUnknownLaunches(ticket);
    if (a === 'keys') return await viewKeys(ticket);
    if (a === 'backup') return viewBackup();
    mount('Not found', h('p', {}, 'No such page. ', h('a', { href: '#/registrations', text: 'Back to the registrations' })));
  } catch (e) {
    if (e?.handled || ticket !== routing) return;
    mount('Something went wrong', errorBox(e));
  }
}

/** Whether a view that awaited is still the one to show. */
const stale = (ticket) => ticket !== routing;

// ------------------------------------------------------------------ sign in / out

function viewSignIn() {
  showChrome(false);
  const err = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-help token-error', 'aria-required': 'true' });
  const button = h('button', { type: 'submit', text: 'Sign in' });
  const form = h('form', { id: 'sign-in-form', class: 'card narrow', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'token', text: 'Admin token' }),
      h('p', { id: 'token-help', class: 'help', text: 'The LTI_ADMIN_TOKEN secret of this deployment. It is sent once and exchanged for a session cookie; this page keeps no copy.' }),
      input, err),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value;
    input.value = '';
    err.hidden = true;
    input.removeAttribute('aria-invalid');
    if (!token.trim()) {
      showFieldError(input, err, 'Enter the admin token.');
      return;
    }
    button.disabled = true;
    say('Signing in…');
    try {
      await api('POST', SESSION, { token });
      await loadSession();
      if (!session.info) throw new ApiFailure(401, { code: 'console_session_required', message: 'The tool did not keep the session: is the page served from the tool\'s own address?' });
      showChrome(true);
      say('Signed in.', { carry: true });
      const to = pending.after && !pending.after.startsWith('#/sign-in') ? pending.after : '#/registrations';
      pending.notice = '';
      location.hash = to;
    } catch (e) {
      const x = e instanceof ApiFailure ? e.error : { message: String(e.message || e), code: 'network_error' };
      showFieldError(input, err, `${x.message || 'Sign-in failed.'} (${x.code})`);
      say('Sign-in failed.');
    } finally {
      button.disabled = false;
    }
  });
  const notice = pending.notice ? h('p', { class: 'notice', role: 'alert', id: 'signed-out-notice', text: pending.notice }) : null;
  mount('Sign in', notice, form,
    h('p', { class: 'meta narrow', text: 'When the console sits behind Cloudflare Access, you are signed in by Access and never see this form.' }));
  input.focus();
}

function showFieldError(input, err, text) {
  err.textContent = text;
  err.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

async function signOut() {
  try {
    await api('DELETE', SESSION);
  } catch (e) {
    if (!e?.handled) say(`Sign-out failed: ${e.message}`);
    if (e?.handled) return;
  }
  session.info = null;
  clearTimeout(session.idleTimer);
  pending.notice = 'Signed out.';
  pending.after = '#/registrations';
  showChrome(false);
  say('Signed out.', { carry: true });
  if (location.hash !== '#/sign-in') location.hash = '#/sign-in';
  else route();
}

// ------------------------------------------------------------------ registrations

function presetOf(code) {
  return PRESETS.find((p) => p.code === code) || PRESETS[PRESETS.length - 1];
}

async function viewRegistrations(ticket) {
  const list = await api('GET', '/lti/platforms');
  if (stale(ticket)) return;
  const regs = Array.isArray(list) ? list : [];
  const count = h('p', { id: 'reg-count', class: 'meta', 'aria-live': 'polite' });
  const rows = regs.map((r) => {
    const tr = h('tr', {},
      h('th', { scope: 'row', 'data-label': 'Name' }, h('a', { href: `#/registrations/${encodeURIComponent(r.id)}/setup`, text: r.name || r.issuer })),
      h('td', { 'data-label': 'LMS', text: presetOf(r.platformFamily || 'other').name }),
      h('td', { 'data-label': 'Issuer', class: 'mono wrap', text: r.issuer }),
      h('td', { 'data-label': 'Client ID', class: 'mono wrap', text: r.lti13ClientId }),
      h('td', { 'data-label': 'Deployments', class: 'mono wrap', text: (r.deploymentIds || []).join(', ') || '(first launch records it)' }),
      h('td', { 'data-label': 'Open', class: 'row-links' },
        h('a', { href: `#/registrations/${encodeURIComponent(r.id)}/inspector`, text: 'Launches' }), ' ',
        h('a', { href: `#/registrations/${encodeURIComponent(r.id)}/edit`, text: 'Edit' })));
    tr.dataset.search = [r.name, r.issuer, r.lti13ClientId].join(' ').toLowerCase();
    return tr;
  });
  const tbody = h('tbody', {}, rows);
  const search = h('input', { id: 'reg-search', type: 'search', autocomplete: 'off', 'aria-controls': 'reg-table', 'aria-describedby': 'reg-count' });
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of rows) {
      const hit = !q || tr.dataset.search.includes(q);
      tr.hidden = !hit;
      if (hit) shown++;
    }
    count.textContent = q ? `${shown} of ${regs.length} registrations match.` : `${regs.length} registration${regs.length === 1 ? '' : 's'}.`;
  };
  search.addEventListener('input', filter);
  filter();
  mount('Registrations',
    h('p', { class: 'lead', text: 'Each LMS the tool accepts launches from. Open one for what to paste in that LMS, its launches and its user-id rule.' }),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field inline' }, h('label', { for: 'reg-search', text: 'Search by name, issuer or client ID' }), search),
      h('a', { class: 'button', href: '#/registrations/new', text: 'Add a registration' })),
    count,
    regs.length
      ? h('table', { id: 'reg-table', class: 'cards' },
        h('caption', { class: 'sr-only', text: 'Registrations' }),
        h('thead', {}, h('tr', {}, ['Name', 'LMS', 'Issuer', 'Client ID', 'Deployments', 'Open'].map((t) => h('th', { scope: 'col', text: t })))),
        tbody)
      : h('p', { class: 'empty' }, 'No registrations yet. ', h('a', { href: '#/registrations/new', text: 'Add the first one' }), ', or send an LMS a ', h('a', { href: '#/invitations', text: 'Dynamic Registration invitation' }), '.'));
}

/** The registration's header and its sub-pages. */
function regHeader(reg, current) {
  const base = `#/registrations/${encodeURIComponent(reg.id)}`;
  const tabs = [['setup', 'What to paste'], ['inspector', 'Launch inspector'], ['upgrade', 'LTI 1.1 upgrade'], ['edit', 'Edit']];
  const del = h('button', { type: 'button', class: 'danger small', text: 'Delete…', onclick: () => deleteReg(reg) });
  return [
    h('p', { class: 'meta' }, h('a', { href: '#/registrations', text: 'Registrations' }), ' › ', presetOf(reg.platformFamily || 'other').name),
    h('nav', { class: 'tabs', 'aria-label': 'This registration' },
      h('ul', {}, tabs.map(([k, t]) => h('li', {}, h('a', { href: `${base}/${k}`, 'aria-current': k === current ? 'page' : null, text: t }))), h('li', {}, del))),
  ];
}

async function deleteReg(reg) {
  const ok = await confirmDialog(`Delete ${reg.name || reg.issuer}?`, `Launches from ${reg.issuer} with client ID ${reg.lti13ClientId} will be refused. Its course content stays; registering it again with the same issuer and client ID gets a new id.`, 'Delete');
  if (!ok) return;
  try {
    await api('DELETE', `/lti/platforms/${encodeURIComponent(reg.id)}`);
    say(`Deleted ${reg.name || reg.issuer}.`, { carry: true });
    location.hash = '#/registrations';
  } catch (e) {
    if (!e?.handled) main().append(errorBox(e, 'Not deleted.'));
  }
}

/** Fill a preset's templates from the form's inputs (null while an input is missing). */
function presetFills(preset, values) {
  const site = (values.siteUrl || '').trim().replace(/\/+$/, '');
  const env = values.canvasEnvironment && values.canvasEnvironment !== 'production' ? `${values.canvasEnvironment}.` : '';
  const input = { siteUrl: site, toolId: (values.toolId || '').trim(), applicationId: (values.applicationId || '').trim(), env };
  const out = {};
  for (const [field, t] of Object.entries(preset.fills)) {
    let missing = false;
    out[field] = t.replace(/\{(\w+)\}/g, (_, k) => {
      if (k === 'env') return input.env;
      if (!input[k]) missing = true;
      return input[k];
    });
    if (missing) out[field] = null;
  }
  return out;
}

function fieldControl(name, value) {
  const f = FIELDS[name];
  const id = `f-${name}`;
  const help = h('p', { id: `${id}-help`, class: 'help', text: f.help });
  const err = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
  let control;
  if (f.choices) {
    control = h('select', { id, name, 'aria-describedby': `${id}-help` }, f.choices.map((c) => h('option', { value: c, text: c, selected: c === (value || f.choices[0]) })));
  } else {
    control = h('input', { id, name, type: 'text', inputmode: f.type === 'url' ? 'url' : null, autocomplete: 'off', spellcheck: 'false', value: value ?? '', 'aria-describedby': `${id}-help`, 'aria-required': f.required ? 'true' : null });
  }
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, f.label, f.required ? h('span', { class: 'req', text: ' (required)' }) : null),
    help, control, err);
}

/** A registration's form values as the preset inputs (for editing). */
function inputsFromRegistration(reg, preset) {
  const v = { name: reg.name || '', lti13ClientId: reg.lti13ClientId || '', deploymentIds: (reg.deploymentIds || []).join(' ') };
  if (preset.asks.includes('siteUrl')) v.siteUrl = reg.issuer || '';
  if (preset.code === 'sakai') v.toolId = (reg.lti13AuthTokenUrl || '').split('/').pop() || '';
  if (preset.code === 'blackboard') v.applicationId = reg.lti13ClientId || '';
  if (preset.code === 'canvas') v.canvasEnvironment = /canvas\.beta\./.test(reg.issuer) ? 'beta' : /canvas\.test\./.test(reg.issuer) ? 'test' : 'production';
  for (const e of ENDPOINTS) v[e] = reg[e] || '';
  return v;
}

async function viewEdit(id, ticket) {
  const reg = await api('GET', `/lti/platforms/${encodeURIComponent(id)}`);
  if (stale(ticket)) return;
  viewForm(reg, new URLSearchParams());
}

/** Create (from a preset) or edit a registration; the API's field errors beside each field. */
function viewForm(reg, query) {
  const editing = !!reg;
  let preset = presetOf(editing ? (reg.platformFamily || 'other') : (query.get('preset') || 'canvas'));
  const form = h('form', { id: 'reg-form', class: 'card', novalidate: true });
  const summary = h('div', { id: 'form-summary', class: 'error', role: 'alert', tabindex: '-1', hidden: true });
  const fieldsBox = h('div', { id: 'preset-fields' });

  const choice = editing ? h('p', { class: 'lms-fixed' }, 'LMS: ', h('strong', { text: preset.name })) : h('fieldset', { class: 'presets' },
    h('legend', { text: editing ? 'LMS' : 'Which LMS?' }),
    h('div', { class: 'preset-grid' }, PRESETS.map((p) => h('label', { class: 'preset' },
      h('input', { type: 'radio', name: 'preset', value: p.code, checked: p.code === preset.code, disabled: editing && p.code !== preset.code,
        onchange: () => { preset = p; renderFields(collect()); say(`${p.name}: ${describeAsks(p)}`); } }),
      h('span', { text: p.name })))));

  function describeAsks(p) {
    return `asks for: ${p.asks.map((a) => FIELDS[a].label).join(', ')}.`;
  }

  /** What the form holds now (to keep typed values across preset changes). */
  function collect() {
    const v = {};
    for (const el of form.querySelectorAll('input[name], select[name]')) if (el.name !== 'preset') v[el.name] = el.value;
    for (const el of form.querySelectorAll('[data-touched]')) v[`touched:${el.name}`] = el.dataset.touched === '1';
    return v;
  }

  function renderFields(values) {
    const own = ['name', ...preset.asks];
    const box = [h('p', { class: 'help', id: 'preset-says', text: preset.code === 'other' ? 'Every endpoint is asked: copy them from the LMS\'s tool registration page.' : `The ${preset.name} preset fills the issuer and endpoint URLs; it ${describeAsks(preset)}` })];
    for (const name of own) box.push(fieldControl(name, values[name]));
    if (preset.code !== 'other') {
      const fills = presetFills(preset, values);
      const details = h('details', { class: 'endpoints', id: 'endpoints' },
        h('summary', { text: 'Issuer and endpoint URLs (filled by the preset)' }),
        h('p', { class: 'help', text: 'Change these only for a self-hosted LMS whose issuer or URLs differ from the preset\'s, e.g. a self-hosted Canvas. A changed value is sent as typed; the others follow the preset.' }),
        ENDPOINTS.map((e) => {
          const box = fieldControl(e, values[`touched:${e}`] ? values[e] : (fills[e] ?? ''));
          const input = $('input', box);
          input.removeAttribute('aria-required');
          $('.req', box)?.remove();
          input.dataset.touched = values[`touched:${e}`] ? '1' : '0';
          input.placeholder = fills[e] ?? 'filled once the fields above are given';
          input.addEventListener('input', () => { input.dataset.touched = '1'; });
          return box;
        }));
      if (ENDPOINTS.some((e) => values[`touched:${e}`])) details.open = true;
      box.push(details);
    }
    put(fieldsBox, ...box);
  }

  // Live preset fills as the inputs change (untouched endpoint fields follow them).
  form.addEventListener('input', (ev) => {
    if (preset.code === 'other' || ENDPOINTS.includes(ev.target.name)) return;
    const fills = presetFills(preset, collect());
    for (const e of ENDPOINTS) {
      const el = form.elements[e];
      if (el && el.dataset.touched !== '1') {
        el.value = fills[e] ?? '';
        el.placeholder = fills[e] ?? 'filled once the fields above are given';
      }
    }
  });

  let initial = {};
  if (editing) {
    initial = inputsFromRegistration(reg, preset);
    const fills = presetFills(preset, initial);
    for (const e of ENDPOINTS) initial[`touched:${e}`] = preset.code !== 'other' && fills[e] !== initial[e];
  } else {
    for (const k of Object.keys(FIELDS)) if (query.get(k)) initial[k] = query.get(k);
  }
  renderFields(initial);

  const submit = h('button', { type: 'submit', text: editing ? 'Save changes' : 'Create registration' });
  form.append(choice, fieldsBox, h('div', { class: 'actions' }, submit, h('a', { href: editing ? `#/registrations/${encodeURIComponent(reg.id)}/setup` : '#/registrations', class: 'button quiet', text: 'Cancel' })));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const v = collect();
    const body = editing ? { ...reg } : {};
    for (const k of ['id', 'createdAt', 'updatedAt', 'lti11SecretSet']) delete body[k];
    if (editing) for (const e of ENDPOINTS) delete body[e];
    body.preset = preset.code;
    for (const name of ['name', ...preset.asks]) {
      const val = (v[name] ?? '').trim();
      if (name === 'deploymentIds') {
        const ids = val.split(/[\s,]+/).filter(Boolean);
        if (ids.length) body.deploymentIds = ids;
        else delete body.deploymentIds;
      } else if (val) body[name] = val;
      else delete body[name];
    }
    if (preset.code !== 'other') {
      for (const e of ENDPOINTS) {
        const el = form.elements[e];
        if (el && el.dataset.touched === '1' && el.value.trim()) body[e] = el.value.trim();
      }
    }
    if (preset.code === 'blackboard' && body.applicationId) body.lti13ClientId = body.applicationId;
    if (editing && body.deploymentIds && reg.deploymentPolicy === 'acceptAndRecord') body.deploymentPolicy = 'acceptAndRecord';
    submit.disabled = true;
    say(editing ? 'Saving…' : 'Creating…');
    try {
      // Editing replaces this registration by its id (issuer and client ID may change too).
      const saved = editing
        ? await api('PUT', `/lti/platforms/${encodeURIComponent(reg.id)}`, body)
        : await api('POST', '/lti/platforms', body);
      say(`${editing ? 'Saved' : 'Created'} ${saved.name}.`, { carry: true });
      location.hash = `#/registrations/${encodeURIComponent(saved.id)}/setup`;
    } catch (e) {
      if (e?.handled) return;
      showErrors(e);
      say('Not saved: see the fields to fix.');
    } finally {
      submit.disabled = false;
    }
  });

  function clearErrors() {
    summary.hidden = true;
    put(summary, );
    for (const el of form.querySelectorAll('[aria-invalid]')) {
      el.removeAttribute('aria-invalid');
      el.setAttribute('aria-describedby', `${el.id}-help`);
    }
    for (const el of form.querySelectorAll('.field-error')) { el.hidden = true; el.textContent = ''; }
  }

  function showErrors(e) {
    const err = e instanceof ApiFailure ? e.error : { message: String(e.message || e), code: 'network_error' };
    const items = [];
    for (const [apiField, why] of Object.entries(err.fields || {})) {
      const base = apiField.replace(/\[.*$/, '').replace(/\..*$/, '');
      const name = FIELD_ALIASES[base] || base;
      const el = form.elements[name];
      if (el && el.id) {
        const box = $(`#${el.id}-error`);
        box.textContent = box.textContent ? `${box.textContent} ${why}` : `${FIELDS[name]?.label || name} ${why}`;
        box.hidden = false;
        el.setAttribute('aria-invalid', 'true');
        el.setAttribute('aria-describedby', `${el.id}-help ${el.id}-error`);
        if (ENDPOINTS.includes(name)) $('#endpoints')?.setAttribute('open', '');
        items.push(h('li', {}, h('a', { href: `#${el.id}`, onclick: (ev) => { ev.preventDefault(); el.focus(); }, text: `${FIELDS[name]?.label || name}: ${why}` })));
      } else {
        items.push(h('li', {}, h('code', { text: apiField }), `: ${why}`));
      }
    }
    const n = Object.keys(err.fields || {}).length;
    put(summary, 
      h('p', { class: 'strong', text: n ? `${n} field${n === 1 ? '' : 's'} to fix before the registration can be saved:` : 'Not saved.' }),
      items.length ? h('ul', {}, items) : h('p', { text: err.message }),
      h('p', { class: 'meta' }, err.message && n ? `${err.message} ` : '', 'Code ', h('code', { text: err.code || 'unknown' }), err.correlationId ? [' · correlation id ', h('code', { text: err.correlationId })] : null));
    summary.hidden = false;
    summary.focus();
  }

  const title = editing ? `Edit ${reg.name || reg.issuer}` : 'Add a registration';
  mount(title, editing ? regHeader(reg, 'edit') : h('p', { class: 'meta' }, h('a', { href: '#/registrations', text: 'Registrations' }), ' › new'),
    summary, form);
}

// ------------------------------------------------------------------ what to paste

async function viewSetup(id, ticket) {
  const [reg, sheet] = await Promise.all([api('GET', `/lti/platforms/${encodeURIComponent(id)}`), api('GET', `/lti/platforms/${encodeURIComponent(id)}/setup`)]);
  if (stale(ticket)) return;
  const u = sheet.toolUrls || {};
  const r = sheet.registration || {};
  const customLines = Object.entries({ ...(sheet.customParameters || {}), ...(r.customParametersForUserIdRule || {}) }).map(([k, v]) => `${k}=${v}`).join('\n');
  const urls = [
    ['Login URL (OIDC initiation)', u.loginUrl],
    ...((u.redirectUris || []).map((x, i) => [`Redirect URI ${i + 1}`, x])),
    ['Key set (JWKS) URL', u.jwksUrl],
    ['Target link URI', u.targetLinkUri],
    ['Deep linking URL', u.deepLinkUrl],
    ['Domain', u.domain],
  ].filter(([, v]) => v);
  mount(reg.name || reg.issuer, regHeader(reg, 'setup'),
    h('h2', { text: `What to paste in ${sheet.name || 'the LMS'}` }),
    sheet.start ? h('p', {}, 'Where: ', h('strong', { text: sheet.start })) : null,
    Array.isArray(sheet.steps) && sheet.steps.length ? h('ol', { class: 'steps' }, sheet.steps.map((s) => h('li', { text: s }))) : null,
    sheet.canvasConfigUrl ? h('section', { class: 'card' }, h('h3', { text: 'Canvas: developer key by URL' }),
      h('p', { class: 'help', text: 'In Canvas, Developer Keys › + LTI Key › Method: Enter URL, paste this:' }),
      copyField('Canvas JSON configuration URL', sheet.canvasConfigUrl)) : null,
    h('section', { class: 'card' }, h('h3', { text: 'Tool URLs' }), urls.map(([k, v]) => copyField(k, v))),
    customLines ? h('section', { class: 'card' }, h('h3', { text: 'Custom parameters' }),
      h('p', { class: 'help', text: 'Paste into the tool\'s custom parameters (one per line). The user-id rules read them.' }),
      h('div', { class: 'copy' }, h('label', { for: 'custom-lines', text: 'Custom parameters' }),
        h('div', { class: 'copy-row' }, h('textarea', { id: 'custom-lines', readonly: true, rows: String(Math.max(2, customLines.split('\n').length)), class: 'mono', text: customLines }),
          h('button', { type: 'button', class: 'copy-btn', 'aria-label': 'Copy custom parameters', text: 'Copy', onclick: () => copy(customLines, 'custom parameters') })))) : null,
    Array.isArray(sheet.placements) && sheet.placements.length ? h('section', { class: 'card' }, h('h3', { text: 'Placements and the module each opens' }),
      h('table', { class: 'cards' }, h('thead', {}, h('tr', {}, ['Placement', 'Module', 'Message type', 'Target link URI'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, sheet.placements.map((p) => h('tr', {},
          h('th', { scope: 'row', 'data-label': 'Placement', text: p.placement }),
          h('td', { 'data-label': 'Module', text: p.title || p.module }),
          h('td', { 'data-label': 'Message type', text: messageName(p.messageType) }),
          h('td', { 'data-label': 'Target link URI', class: 'mono wrap', text: p.targetLinkUri })))))) : null,
    h('section', { class: 'card' }, h('h3', { text: 'This registration' }),
      copyField('Issuer', r.issuer || reg.issuer), copyField('Client ID', r.clientId || reg.lti13ClientId),
      (r.deploymentIds || reg.deploymentIds || []).map((d, i) => copyField(`Deployment ID ${i + 1}`, d)),
      h('p', { class: 'help' }, 'User id: ', h('strong', { text: ruleText(r.userIdRule || reg) }), '. ', h('a', { href: `#/registrations/${encodeURIComponent(reg.id)}/inspector`, text: 'Choose it from a real launch' }), '.')),
    Array.isArray(sheet.scopes) && sheet.scopes.length ? h('details', { class: 'card' }, h('summary', { text: 'Service scopes the tool asks for' }), h('ul', { class: 'mono small' }, sheet.scopes.map((s) => h('li', { text: s })))) : null,
    sheet.kaf ? h('details', { class: 'card' }, h('summary', { text: 'Kaltura KAF URLs (for an LMS configured for KAF)' }),
      copyField('KAF OIDC initiation URL', sheet.kaf.oidcInitUrl), copyField('KAF launch URL', sheet.kaf.launchUrl), copyField('KAF key set URL', sheet.kaf.jwksUrl)) : null,
    h('p', {}, 'The same sheet as a page to share: ', h('a', { href: `/lti/setup/${encodeURIComponent(sheet.lms || 'other')}`, text: `/lti/setup/${sheet.lms || 'other'}` }), ' (without this registration\'s ids).'));
}

/** A user-id rule in words. */
function ruleText(rule) {
  const a = rule.ltiUserIdAttribute, c = rule.lti13UserIdClaim, p = rule.lti13UserIdClaimProperty;
  if (a) return `attribute ${a}`;
  if (c) return p ? `claim ${c} → ${p}` : `claim ${c}`;
  return 'sub (the LMS\'s own user id, the default)';
}

// ------------------------------------------------------------------ launch inspector

async function viewInspector(id, ticket) {
  const enc = encodeURIComponent(id);
  const [reg, launches] = await Promise.all([api('GET', `/lti/platforms/${enc}`), api('GET', `/lti/platforms/${enc}/launches`)]);
  if (stale(ticket)) return;
  const attempts = launches?.attempts || [];
  const suggestBox = h('section', { id: 'suggestions', class: 'card', 'aria-labelledby': 'sugg-title', hidden: true });
  const rows = [];
  attempts.forEach((a, i) => {
    const detailId = `attempt-${i}`;
    const toggle = h('button', { type: 'button', class: 'small quiet', 'aria-expanded': 'false', 'aria-controls': detailId, text: 'Details' });
    const ok = a.outcome === 'admitted';
    const row = h('tr', { class: 'attempt', 'data-attempt': a.id },
      h('td', { 'data-label': 'Time' }, timeEl(a.at)),
      h('td', { 'data-label': 'Outcome' }, h('span', { class: `badge ${ok ? 'ok' : 'bad'}`, text: ok ? 'admitted' : 'refused' }), a.code ? [' ', h('code', { text: a.code })] : null),
      h('td', { 'data-label': 'Message', text: shortType(a.messageType) }),
      h('td', { 'data-label': 'Deployment', class: 'mono wrap', text: a.deploymentId || '' }),
      h('td', { 'data-label': 'User id', class: 'mono wrap', text: a.decided?.userId ?? '' }),
      h('td', { class: 'row-links' }, toggle, ' ',
        h('button', { type: 'button', class: 'small', text: 'Suggest user ids', onclick: () => loadSuggestions(reg, a, suggestBox) })));
    const detail = h('tr', { id: detailId, class: 'detail', hidden: true },
      h('td', { colspan: '6' }, attemptDetail(a)));
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? 'Hide' : 'Details';
      detail.hidden = !open;
    });
    rows.push(row, detail);
  });
  const hours = launches?.retentionHours;
  mount(`Launches: ${reg.name || reg.issuer}`, regHeader(reg, 'inspector'),
    h('p', { class: 'lead' }, `The last ${launches?.max ?? 50} launch attempts from this LMS${hours ? `, kept ${hours} hours` : ''}, newest first: what was received and how the user, role, module and course category were decided. `,
      'The current user-id rule: ', h('strong', { id: 'current-rule', text: ruleText(reg) }), '.'),
    h('div', { class: 'toolbar' }, h('button', { type: 'button', text: 'Refresh', onclick: () => route() })),
    attempts.length
      ? h('table', { id: 'attempts', class: 'cards' }, h('caption', { class: 'sr-only', text: 'Launch attempts' }),
        h('thead', {}, h('tr', {}, ['Time', 'Outcome', 'Message', 'Deployment', 'User id', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows))
      : h('p', { class: 'empty', id: 'no-attempts', text: `No launches from this LMS${hours ? ` in the last ${hours} hours` : ''}. Launch the tool once from the LMS, then refresh.` }),
    suggestBox);
}

function messageName(t) {
  return { LtiResourceLinkRequest: 'Resource link launch', LtiDeepLinkingRequest: 'Deep linking (content picker)', LtiSubmissionReviewRequest: 'Submission review' }[t] || t || '';
}

function shortType(t) {
  return { LtiResourceLinkRequest: 'Resource link', LtiDeepLinkingRequest: 'Deep linking', LtiSubmissionReviewRequest: 'Submission review' }[t] || t || '—';
}

function attemptDetail(a) {
  const d = a.decided;
  return h('div', { class: 'attempt-detail' },
    h('dl', { class: 'pairs' },
      h('dt', { text: 'Correlation id' }), h('dd', { class: 'mono', text: a.correlationId || a.id || '' }),
      h('dt', { text: 'LTI version' }), h('dd', { text: a.ltiVersion || '' }),
      h('dt', { text: 'Message type' }), h('dd', { class: 'mono', text: a.messageType || '' }),
      d ? [
        h('dt', { text: 'User id' }), h('dd', { class: 'mono', text: `${d.userId ?? '(none)'}${d.userIdSource ? ` — from ${d.userIdSource}` : ''}` }),
        h('dt', { text: 'Tool role' }), h('dd', { text: d.role ?? '' }),
        h('dt', { text: 'Module' }), h('dd', { text: d.module ?? '' }),
        h('dt', { text: 'Course category' }), h('dd', { class: 'mono wrap', text: d.category ?? '' }),
      ] : [h('dt', { text: 'Decisions' }), h('dd', { text: 'none: the launch was refused before they were made' })]),
    h('h4', { text: 'Claims received (values shortened; never the token)' }),
    h('pre', { class: 'claims', tabindex: '0', text: JSON.stringify(a.claims || {}, null, 2) }));
}

async function loadSuggestions(reg, attempt, box) {
  box.hidden = false;
  put(box, h('h2', { id: 'sugg-title', tabindex: '-1', text: 'User-id suggestions' }), h('p', { text: 'Loading…' }));
  $('#sugg-title').focus();
  let s;
  try {
    s = await api('GET', `/lti/platforms/${encodeURIComponent(reg.id)}/user-id-suggestions?attempt=${encodeURIComponent(attempt.id)}`);
  } catch (e) {
    if (!e?.handled) put(box, h('h2', { id: 'sugg-title', text: 'User-id suggestions' }), errorBox(e));
    return;
  }
  renderSuggestions(reg, attempt, box, s);
}

function renderSuggestions(reg, attempt, box, s, applied) {
  const cur = s.current || {};
  const list = s.suggestions || [];
  const rows = list.map((x) => h('tr', { class: x.current ? 'current' : null, 'data-attribute': x.attribute },
    h('th', { scope: 'row', 'data-label': 'Attribute' }, x.attribute, x.matchesLti11UserId ? [' ', h('span', { class: 'badge ok', text: 'matches the LTI 1.1 user id' })] : null),
    h('td', { 'data-label': 'Value', class: 'mono wrap', text: x.value }),
    h('td', { 'data-label': 'Configuration', class: 'mono wrap small', text: configText(x.configuration) }),
    h('td', { 'data-label': 'Apply' }, x.current
      ? h('span', { class: 'badge', text: 'in use' })
      : h('button', { type: 'button', class: 'small', 'aria-label': `Apply ${x.attribute} as the user id`, text: 'Apply', onclick: (ev) => applyRule(reg, attempt, box, x, ev.currentTarget) }))));
  put(box, 
    h('h2', { id: 'sugg-title', tabindex: '-1', text: 'User-id suggestions' }),
    h('p', { class: 'help' }, `From the launch at ${when(attempt.at)}: every attribute that could be the user id, the value it gives for this person, and the exact setting that selects it. `,
      'Apply one and the next launch uses it (the same code decides both). Pick the one that matches the user ids your tool already has, so people stay the same people.'),
    applied ? h('p', { class: 'notice', role: 'status', id: 'applied', text: applied }) : null,
    h('p', {}, 'Now: ', h('strong', { id: 'rule-now', text: ruleText(cur.configuration || reg) }),
      cur.userId ? [' gives ', h('code', { text: cur.userId })] : null, cur.error ? [' fails: ', h('code', { text: cur.error })] : null),
    list.length
      ? h('table', { id: 'suggestion-table', class: 'cards' }, h('caption', { class: 'sr-only', text: 'User-id suggestions' }),
        h('thead', {}, h('tr', {}, ['Attribute', 'Value', 'Configuration', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows))
      : h('p', { class: 'empty', text: s.hint || 'No attribute of this launch can be a user id.' }));
}

function configText(c) {
  return Object.entries(c || {}).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join('\n') || '(default: sub)';
}

async function applyRule(reg, attempt, box, sugg, btn) {
  btn.disabled = true;
  say('Applying…');
  try {
    const answer = await api('PUT', `/lti/platforms/${encodeURIComponent(reg.id)}/user-id-rule`, sugg.configuration);
    const rule = answer?.userIdRule || answer?.configuration || answer || sugg.configuration;
    const updated = { ...reg, ...(rule.ltiUserIdAttribute !== undefined ? rule : sugg.configuration) };
    Object.assign(reg, { ltiUserIdAttribute: updated.ltiUserIdAttribute || '', lti13UserIdClaim: updated.lti13UserIdClaim || '', lti13UserIdClaimProperty: updated.lti13UserIdClaimProperty || '' });
    const cr = $('#current-rule');
    if (cr) cr.textContent = ruleText(reg);
    const s = await api('GET', `/lti/platforms/${encodeURIComponent(reg.id)}/user-id-suggestions?attempt=${encodeURIComponent(attempt.id)}`);
    const msg = `Applied: the user id is now ${ruleText(reg)} (${sugg.value} for this person). The next launch uses it.`;
    renderSuggestions(reg, attempt, box, s, msg);
    say(msg);
    $('#sugg-title')?.focus();
  } catch (e) {
    btn.disabled = false;
    if (!e?.handled) box.append(errorBox(e, 'Not applied.'));
  }
}

async function viewUnknownLaunches(ticket) {
  const data = await api('GET', '/lti/launches/unknown');
  if (stale(ticket)) return;
  const attempts = data?.attempts || [];
  mount('Failed launches from unknown LMSs',
    h('p', { class: 'lead', text: `Launches refused because no registration matches their issuer or client ID (admins only see these), kept ${data?.retentionHours ?? 24} hours. Each says what to create.` }),
    h('div', { class: 'toolbar' }, h('button', { type: 'button', id: 'unknown-refresh', text: 'Refresh', onclick: () => route() })),
    attempts.length
      ? h('table', { id: 'unknown', class: 'cards' }, h('caption', { class: 'sr-only', text: 'Unknown-platform launches' }),
        h('thead', {}, h('tr', {}, ['Time', 'Code', 'Issuer', 'Client ID', 'What to create'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, attempts.map((a) => h('tr', {},
          h('td', { 'data-label': 'Time' }, timeEl(a.at)),
          h('td', { 'data-label': 'Code' }, h('code', { text: a.code || '' }), h('div', { class: 'meta mono wrap', text: a.correlationId || a.id || '' })),
          h('td', { 'data-label': 'Issuer', class: 'mono wrap', text: presented(a, 'issuer') || presented(a, 'consumerKey') }),
          h('td', { 'data-label': 'Client ID', class: 'mono wrap', text: presented(a, 'clientId') }),
          h('td', { 'data-label': 'What to create' }, whatToCreate(a))))))
      : h('p', { class: 'empty', text: 'No refused launches from unknown LMSs.' }));
}

/** What an unknown platform presented (`presented`; top-level fields in older answers). */
function presented(a, k) {
  const v = a.presented?.[k] ?? a[k];
  return typeof v === 'string' ? v : '';
}

function whatToCreate(a) {
  const w = a.whatToCreate;
  const text = typeof w === 'string' ? w : w ? JSON.stringify(w) : '';
  if (presented(a, 'consumerKey') && !presented(a, 'issuer')) return h('span', { class: 'wrap', text });
  const q = new URLSearchParams({ preset: 'other' });
  if (presented(a, 'issuer')) q.set('issuer', presented(a, 'issuer'));
  if (presented(a, 'clientId')) q.set('lti13ClientId', presented(a, 'clientId'));
  if (presented(a, 'deploymentId')) q.set('deploymentIds', presented(a, 'deploymentId'));
  return [h('span', { class: 'wrap', text }), ' ', h('a', { href: `#/registrations/new?${q}`, text: 'Create this registration' })];
}

// ------------------------------------------------------------------ upgrade report

async function viewUpgrade(id, ticket) {
  const enc = encodeURIComponent(id);
  const [reg, rep] = await Promise.all([api('GET', `/lti/platforms/${enc}`), api('GET', `/lti/platforms/${enc}/upgrade-report`)]);
  if (stale(ticket)) return;
  const last = rep.lastMismatch;
  const known = new Set(['verified', 'mismatched', 'absent', 'lastMismatch']);
  mount(`LTI 1.1 upgrade: ${reg.name || reg.issuer}`, regHeader(reg, 'upgrade'),
    h('p', { class: 'lead', text: 'When an LMS moves a course from LTI 1.1 to 1.3, its 1.3 launches carry the 1.1 identity in a signed migration claim. This counts how those checks went, so you know whether people keep their 1.1 accounts.' }),
    h('dl', { class: 'stats', id: 'upgrade-stats' },
      h('div', {}, h('dt', { text: 'Verified' }), h('dd', { text: String(rep.verified ?? 0) }), h('dd', { class: 'help', text: 'the migration claim checked out with the 1.1 secret: same user as in 1.1' })),
      h('div', {}, h('dt', { text: 'Mismatched' }), h('dd', { text: String(rep.mismatched ?? 0) }), h('dd', { class: 'help', text: 'the claim did not verify: handled by the registration\'s mismatch policy' })),
      h('div', {}, h('dt', { text: 'Absent' }), h('dd', { text: String(rep.absent ?? 0) }), h('dd', { class: 'help', text: '1.3 launches without a migration claim' }))),
    h('h2', { text: 'Last mismatch' }),
    last ? h('dl', { class: 'pairs' }, Object.entries(last).map(([k, v]) => [h('dt', { text: k }), h('dd', { class: 'mono wrap', text: k === 'at' ? when(v) : typeof v === 'string' ? v : JSON.stringify(v) })]))
      : h('p', { class: 'empty', text: 'None recorded.' }),
    Object.keys(rep).some((k) => !known.has(k)) ? h('details', { class: 'card' }, h('summary', { text: 'The whole report' }), h('pre', { class: 'claims', tabindex: '0', text: JSON.stringify(rep, null, 2) })) : null,
    reg.lti11ConsumerKey ? null : h('p', { class: 'help', text: 'This registration has no LTI 1.1 consumer key, so no migration claim can be verified. Add the 1.1 key and secret through the admin API (lti11ConsumerKey, lti11Secret) to check upgrades.' }));
}

// ------------------------------------------------------------------ invitations

async function viewInvitations(ticket, created) {
  const list = await api('GET', '/lti/invitations');
  if (stale(ticket)) return;
  const invs = Array.isArray(list) ? list : list?.invitations || [];
  const form = h('form', { id: 'invite-form', class: 'card', novalidate: true },
    h('h2', { text: 'New invitation' }),
    h('div', { class: 'field' }, h('label', { for: 'inv-name', text: 'Name for the registration (optional)' }), h('input', { id: 'inv-name', name: 'name', type: 'text', autocomplete: 'off' })),
    h('div', { class: 'field' }, h('label', { for: 'inv-ttl', text: 'Valid for' }),
      h('select', { id: 'inv-ttl', name: 'ttl' }, [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days']].map(([v, t]) => h('option', { value: v, text: t, selected: v === '86400' })))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Create invitation' })));
  const out = h('div', { id: 'invite-result' });
  if (created) {
    out.append(h('div', { class: 'card notice-card' },
      h('h2', { text: 'Paste this URL into the LMS' }),
      h('p', { class: 'help', text: `It works once, until ${when(created.expiresAt)}. It is shown only now: copy it before leaving this page.` }),
      copyField('Dynamic Registration URL', created.url, { id: 'invite-url', multiline: true })));
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.elements.name.value.trim();
    try {
      const inv = await api('POST', '/lti/invitations', { ...(name ? { name } : {}), expiresInSeconds: Number(form.elements.ttl.value) });
      say('Invitation created: copy its URL into the LMS.');
      await viewInvitations(routing, inv);
      $('#invite-url')?.focus();
    } catch (e) {
      if (!e?.handled) form.append(errorBox(e, 'No invitation created.'));
    }
  });
  mount('Dynamic Registration invitations',
    h('p', { class: 'lead', text: 'An LMS with LTI Dynamic Registration (Moodle, Canvas, Brightspace, Sakai) registers the tool itself from a one-time URL: create an invitation, paste its URL into the LMS, and the registration appears here.' }),
    out, form,
    h('h2', { text: 'Invitations' }),
    invs.length
      ? h('table', { id: 'invitations', class: 'cards' }, h('caption', { class: 'sr-only', text: 'Invitations' }),
        h('thead', {}, h('tr', {}, ['Name', 'State', 'Created', 'Expires', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, invs.map((i) => h('tr', {},
          h('th', { scope: 'row', 'data-label': 'Name', text: i.name || '(unnamed)' }),
          h('td', { 'data-label': 'State' }, h('span', { class: `badge ${i.state === 'open' ? 'ok' : ''}`, text: i.state || '' }),
            i.registrationId ? [' ', h('a', { href: `#/registrations/${encodeURIComponent(i.registrationId)}/setup`, text: 'registration' })] : null),
          h('td', { 'data-label': 'Created' }, timeEl(i.createdAt)),
          h('td', { 'data-label': 'Expires' }, timeEl(i.expiresAt)),
          h('td', {}, i.state === 'used' ? null : h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke invitation ${i.name || i.id}`, text: 'Revoke', onclick: () => revokeInvitation(i) }))))))
      : h('p', { class: 'empty', text: 'No invitations.' }));
}

async function revokeInvitation(inv) {
  if (!await confirmDialog('Revoke this invitation?', 'An LMS that opens its URL will register nothing.', 'Revoke')) return;
  try {
    await api('DELETE', `/lti/invitations/${encodeURIComponent(inv.id)}`);
    say('Invitation revoked.');
    await viewInvitations(++routing);
  } catch (e) {
    if (!e?.handled) main().append(errorBox(e, 'Not revoked.'));
  }
}

// ------------------------------------------------------------------ tool keys

async function viewKeys(ticket, result) {
  const data = await api('GET', '/lti/keys');
  if (stale(ticket)) return;
  const keys = data?.keys || [];
  const maxAge = data?.jwksMaxAge ?? 300;
  const has = (s) => keys.some((k) => k.status === s);
  const step = async (name, body, what) => {
    try {
      const r = await api('POST', `/lti/keys/${name}`, body || {});
      say(what);
      await viewKeys(++routing, { ok: what, detail: r });
    } catch (e) {
      if (e?.handled) return;
      await viewKeys(++routing, { error: e, step: name });
    }
  };
  const promote = async (force) => {
    const text = force
      ? `Promote now, before every LMS may have fetched the next key (they cache the key set for ${minutes(maxAge)})? Launch answers and grade calls signed with it may fail at LMSs that have not.`
      : 'The next key starts signing now. The current key is retired but stays published, so what it signed keeps verifying.';
    if (await confirmDialog('Promote the next key?', text, force ? 'Promote anyway' : 'Promote')) step('promote', force ? { force: true } : {}, 'The next key now signs; the previous key is retired and still published for the overlap.');
  };
  mount('Tool keys',
    h('p', { class: 'lead', text: 'The tool signs what it sends to LMSs (deep linking answers, service token requests) with its current key; LMSs check the signature against the key set it publishes at /lti/jwks.' }),
    h('section', { class: 'card' }, h('h2', { text: 'Changing keys without breaking launches' }),
      h('ol', { class: 'steps' },
        h('li', {}, h('strong', { text: 'Publish a next key. ' }), `It appears in the key set but signs nothing yet. LMSs cache the key set for up to ${minutes(maxAge)} (its Cache-Control max-age), so wait at least that long: by then every LMS has seen the new key.`),
        h('li', {}, h('strong', { text: 'Promote it. ' }), 'The next key signs from now on. The old key is retired but stays in the key set for an overlap (the longest session plus twice the cache time), so everything it signed just before still verifies.'),
        h('li', {}, h('strong', { text: 'Retire. ' }), 'Drops retired keys whose overlap has passed from the key set.'))),
    result?.ok ? h('p', { class: 'notice', role: 'status', text: result.ok }) : null,
    result?.error ? errorBox(result.error, `The ${result.step} step was refused.`) : null,
    result?.error?.error?.code === 'key_next_too_new' ? h('p', {}, h('button', { type: 'button', class: 'danger', text: 'Promote anyway…', onclick: () => promote(true) })) : null,
    h('p', { id: 'key-state' }, 'Now: ', h('strong', { text: has('next')
      ? 'a next key is published and waits to be promoted.'
      : has('retired') ? 'one current key; retired keys are still published for their overlap.' : 'one current key, nothing in rotation.' })),
    h('div', { class: 'toolbar' },
      h('button', { type: 'button', id: 'key-next', disabled: has('next'), onclick: () => step('next', {}, 'A next key is published. Promote it once LMSs have fetched it.'), text: 'Publish a next key' }),
      h('button', { type: 'button', id: 'key-promote', disabled: !has('next'), onclick: () => promote(false), text: 'Promote the next key…' }),
      h('button', { type: 'button', id: 'key-retire', disabled: !has('retired'), onclick: () => step('retire', {}, 'Retired keys past their overlap were dropped.'), text: 'Drop retired keys' })),
    h('table', { id: 'keys', class: 'cards' }, h('caption', { class: 'sr-only', text: 'Tool keys' }),
      h('thead', {}, h('tr', {}, ['Key id', 'Status', 'Created', 'Leaves the key set'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, keys.map((k) => h('tr', {},
        h('th', { scope: 'row', 'data-label': 'Key id', class: 'mono wrap', text: k.kid }),
        h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${k.status === 'current' ? 'ok' : ''}`, text: k.status })),
        h('td', { 'data-label': 'Created' }, timeEl(k.createdAt)),
        h('td', { 'data-label': 'Leaves the key set' }, k.retireAt ? timeEl(k.retireAt) : '—'))))));
}

// ------------------------------------------------------------------ backup and restore

function viewBackup() {
  const out = h('div', { id: 'backup-result', 'aria-live': 'polite' });
  const download = h('button', { type: 'button', id: 'backup-download', text: 'Download backup' });
  download.addEventListener('click', async () => {
    download.disabled = true;
    try {
      const snap = await api('GET', '/lti/backup');
      const blob = new Blob([JSON.stringify(snap, null, 2)], { type: 'application/json' });
      const a = h('a', { href: URL.createObjectURL(blob), download: `lti-edge-backup-${new Date().toISOString().slice(0, 10)}.json`, class: 'sr-only', text: 'download' });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      const n = (snap.registrations || []).length;
      put(out, h('p', { class: 'notice', text: `Downloaded: ${n} registration${n === 1 ? '' : 's'}${snap.toolKeys ? ' and the tool keys (encrypted)' : ''}, ${when(snap.exportedAt)}.` }));
      say('Backup downloaded.');
    } catch (e) {
      if (!e?.handled) put(out, errorBox(e, 'No backup.'));
    } finally {
      download.disabled = false;
    }
  });
  const file = h('input', { id: 'restore-file', type: 'file', accept: 'application/json,.json', 'aria-describedby': 'restore-help' });
  const keys = h('input', { id: 'restore-keys', type: 'checkbox' });
  const restoreOut = h('div', { id: 'restore-result' });
  const form = h('form', { id: 'restore-form', class: 'card', novalidate: true },
    h('h2', { text: 'Restore' }),
    h('p', { id: 'restore-help', class: 'help', text: 'A file from "Download backup". Every registration in it is checked first; if one is wrong, nothing is written. Registrations keep their ids, so course content stays where it was; ones with the same id are replaced.' }),
    h('div', { class: 'field' }, h('label', { for: 'restore-file', text: 'Backup file' }), file),
    h('div', { class: 'field check' }, keys, h('label', { for: 'restore-keys', text: 'Also restore the tool keys (they decrypt only under this deployment\'s LTI_ENCRYPTION_KEY)' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Restore…' })),
    restoreOut);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    put(restoreOut, );
    const f = file.files?.[0];
    if (!f) {
      restoreOut.append(h('p', { class: 'field-error', role: 'alert', text: 'Choose a backup file first.' }));
      file.focus();
      return;
    }
    let snap;
    try {
      snap = JSON.parse(await f.text());
    } catch {
      restoreOut.append(h('p', { class: 'field-error', role: 'alert', text: `${f.name} is not JSON: choose a file from "Download backup".` }));
      return;
    }
    const n = (snap?.registrations || snap?.data?.registrations || []).length;
    if (!await confirmDialog('Restore this backup?', `${n} registration${n === 1 ? '' : 's'} from ${f.name} replace the ones with the same ids${keys.checked ? ', and the tool keys are replaced' : ''}.`, 'Restore')) return;
    try {
      const r = await api('POST', '/lti/restore', { ...snap, restoreKeys: keys.checked });
      restoreOut.append(h('p', { class: 'notice', role: 'status', text: `Restored ${r.registrations} registration${r.registrations === 1 ? '' : 's'}${r.keysRestored ? ' and the tool keys' : ''}.` }));
      say('Backup restored.');
    } catch (e) {
      if (!e?.handled) restoreOut.append(errorBox(e, 'Nothing was restored.'));
    }
  });
  mount('Backup and restore',
    h('p', { class: 'lead', text: 'One JSON file with every registration and the deployment\'s settings; the tool keys only in encrypted form. Keep one before every change you might want to undo.' }),
    h('section', { class: 'card' }, h('h2', { text: 'Backup' }), h('div', { class: 'actions' }, download), out),
    form);
}

// ------------------------------------------------------------------ start

async function start() {
  $('#sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  try {
    await Promise.all([loadSession(), loadPresets()]);
  } catch (e) {
    mount('The console cannot reach the tool', errorBox(e));
    return;
  }
  showChrome(!!session.info);
  if (!location.hash) history.replaceState(null, '', session.info ? '#/registrations' : '#/sign-in');
  route();
}

start();
