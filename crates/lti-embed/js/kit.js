// The embed kit's JavaScript API (Embed, ToolClient, liveEmbeds) over its wasm core.
//
// The core (Rust, src/web/) decides; this file performs. Every message passes the core before
// anything happens: the sender window's identity is compared here (`event.source` against the
// embed's own iframe window, nothing read), then the core checks the origin against the exact
// allow-list, and only then is `event.data` read (a string, or an object serialised), to be
// size-limited, parsed and schema-checked by the core, which returns the effects to perform:
// emit an event, post a reply (to the iframe's window, at the exact origin the core names),
// request an animation frame, set the height, announce, warn before unload. Clamping,
// coalescing, counters, platform storage and replies are the core's.
//
// `kit(k)` builds the API over the core's one entry point `k(op, id, x, a, b) → string`
// (src/web/mod.rs lists the operations): "" nothing, "!text" an error to throw, "1" go on,
// otherwise JSON (a list of effects, or a result object).

// Operations of the core (src/web/mod.rs).
const OPEN = 1, LISTEN = 2, IGNORED = 3, ORIGIN = 4, DATA = 5, BAD_DATA = 6, LAYOUT = 7,
  SCROLLED = 8, SCROLL_FRAME = 9, SIZE = 10, POST = 11, STATS = 12, UNSENT = 13, CLOSE = 14,
  T_OPEN = 20, T_ORIGIN = 21, T_DATA = 22, T_HEIGHT = 23, T_SELECTED = 24, T_SEND = 25,
  T_CAPS = 26, T_GET = 27, T_PUT = 28, T_CLEAR = 29, T_FORGET = 30, T_CLOSE = 31;
// Events, in the core's order (bit i of LISTEN's mask).
const EVENTS = ['resize', 'contentSelected', 'navigation', 'hideModuleHeader', 'moduleNavigation', 'alert', 'close', 'fullWindowLaunch', 'message', 'dropped'];
const MAX_MESSAGE = 65536;
const LIVE_STYLE = 'position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0';

/** JSON text of a JS value (`undefined`: "null"); undefined when it cannot be serialised. */
function str(v) {
  if (v === undefined) return 'null';
  try {
    const s = JSON.stringify(v);
    return typeof s === 'string' ? s : undefined;
  } catch {}
}
const fail = (text) => {
  throw new Error(text);
};
const attrs = (el, a) => {
  for (const n in a) el.setAttribute(n, a[n]);
  return el;
};
const report = (context, e) => console.error(context, e);
// Defence in depth: the core only names exact origins from an allow-list; never post to '*' or
// to a "null" origin even if it did not.
const exact = (o) => (o && o !== '*' && o !== 'null' ? o : fail('refused target origin'));
const taken = (name) => !!document.querySelector('iframe[name="' + name + '"]');
const err = (code, message) => Object.assign(new Error(code + ': ' + message), { code });

export function kit(k) {
  const call = (op, id, x, a, b) => {
    const r = k(op, id, x || 0, a == null ? '' : a, b == null ? '' : b);
    return r[0] === '!' ? fail(r.slice(1)) : r;
  };
  const live = new Set();
  // Storage frames by name: { f: iframe, w: its window, r: relay or null, n: embeds using it }.
  const frames = new Map();
  let counter = 0;

  // A message's data as text, read only now (after the origin passed), or a reason code:
  // 1 not serialisable, 2 not an object, 3 too large (UTF-16 length: UTF-8 is never shorter).
  function text(e) {
    const d = e.data;
    let s = d;
    if (d !== null && typeof d === 'object') {
      try {
        s = JSON.stringify(d);
      } catch {
        return 1;
      }
    } else if (typeof d !== 'string') return 2;
    return s.length > MAX_MESSAGE ? 3 : s;
  }

  function acquireFrame(name) {
    let s = frames.get(name);
    if (s) {
      s.n++;
      return s;
    }
    if (taken(name) || [...live].some((e) => e._n === name)) fail('options.storageFrame: another frame on this page already has that name');
    const body = document.body || fail('the page has no body');
    const f = document.createElement('iframe');
    f.name = name;
    attrs(f, { title: 'LTI platform storage', 'aria-hidden': 'true', tabindex: '-1', style: 'display:none' });
    body.appendChild(f);
    const w = f.contentWindow;
    // A relay created in the frame's realm, so replies come from the frame the tool wrote to;
    // null when the page's CSP forbids it (replies then come from the host window).
    let r = null;
    try {
      r = new w.Function('w', 'm', 'o', 'w.postMessage(m, o)');
    } catch {}
    frames.set(name, (s = { name, f, w, r, n: 1 }));
    return s;
  }
  function releaseFrame(s) {
    if (--s.n > 0) return;
    s.f.remove();
    frames.delete(s.name);
  }

  class Embed {
    /** Create the iframe in `container` and launch it. */
    constructor(container, options) {
      const o = str(options);
      if (o === undefined) fail('options must be a plain object');
      const spec = JSON.parse(call(OPEN, 0, 0, o));
      const id = spec.id;
      this._id = id;
      this._c = {}; // host listeners by event
      this._L = []; // [target, type, listener]
      this._F = {}; // animation frame requests by kind
      this._u = null; // beforeunload listener
      this._h = spec.minHeight;
      this._d = false;
      try {
        let name = spec.name;
        if (name != null) {
          if (taken(name) || [...live].some((e) => e._n === name)) fail('options.name: another iframe on this page already has that name');
        } else {
          do {
            name = 'lti-embed-' + ++counter + '-' + ((Math.random() * 16777216) | 0).toString(16).padStart(6, '0');
          } while (taken(name) || [...live].some((e) => e._n === name));
        }
        this._n = name;
        const doc = document;
        const i = (this._i = doc.createElement('iframe'));
        i.name = name;
        attrs(i, { title: spec.title, allow: spec.allow });
        if (spec.sandbox != null) i.setAttribute('sandbox', spec.sandbox);
        attrs(i, { class: 'lti-embed-frame', style: spec.style });
        // A polite live region for tool alerts (text only, never HTML).
        this._l = attrs(doc.createElement('div'), { class: 'lti-embed-live', role: 'status', 'aria-live': 'polite', style: LIVE_STYLE });
        const s = (this._s = spec.frame != null ? acquireFrame(spec.frame) : null);
        // Listen before the iframe is in the page, so no early message is missed. Only this
        // embed's own iframe window is passed on (identity, never a tool-supplied id).
        const on = (ch) => (e) => {
          const w = i.contentWindow;
          if (!w || this._d) return;
          if (e.source !== w) return void call(IGNORED, id);
          this._msg(ch, e);
        };
        this._on(window, 'message', on(0));
        if (s) this._on(s.w, 'message', on(1));
        live.add(this);
        container.appendChild(i);
        container.appendChild(this._l);
        const form = spec.form;
        if (!form) i.src = spec.url;
        else {
          const f = (this._f = doc.createElement('form'));
          f.method = form.method;
          f.action = form.action;
          f.target = name;
          attrs(f, { style: 'display:none', class: 'lti-embed-launch' });
          for (const [n, v] of form.fields) {
            const input = doc.createElement('input');
            input.type = 'hidden';
            input.name = n;
            input.value = v;
            f.appendChild(input);
          }
          container.appendChild(f);
          // The form stays (hidden) until destroy: removing it right after submit() is
          // allowed to cancel the submission in some browsers.
          f.submit();
        }
      } catch (e) {
        this.destroy();
        // The kit's own errors as they are; a failed browser call as the kit reports one.
        throw e && e.constructor === Error ? e : new Error('browser call failed');
      }
    }

    _on(target, type, f) {
      target.addEventListener(type, f);
      this._L.push([target, type, f]);
    }

    _msg(ch, e) {
      const id = this._id;
      // The origin first: data is read only if the core accepts it.
      const r = call(ORIGIN, id, ch, e.origin);
      if (r !== '1') return this._do(r, ch);
      const t = text(e);
      this._do(typeof t === 'string' ? call(DATA, id, 0, t) : call(BAD_DATA, id, t), ch);
    }

    // Perform the core's effects, in order; stop if a listener destroyed the embed.
    _do(r, ch) {
      if (!r) return;
      for (const f of JSON.parse(r)) {
        if (this._d) return;
        const [kind, a, b] = f;
        if (kind === 'e') this._emit(a, b);
        else if (kind === 'p') {
          if (this._post(a, b, ch)) call(UNSENT, this._id);
        } else if (kind === 'q') this._post(a, b, ch);
        else if (kind === 'f') this._frame(a);
        else if (kind === 'h') {
          this._i.style.setProperty('height', a);
          this._h = b;
        } else if (kind === 'w') {
          const g = this._i.getBoundingClientRect();
          this._do(call(SIZE, this._id, 0, JSON.stringify([innerHeight, innerWidth, g.top + scrollY, g.left + scrollX, scrollY])), ch);
        } else if (kind === 't') this._i.scrollIntoView();
        else if (kind === 's') this._on(window, 'scroll', () => this._do(call(SCROLLED, this._id)));
        else if (kind === 'u') {
          if (this._u) window.removeEventListener('beforeunload', this._u);
          this._u = null;
          if (a != null) {
            this._u = (e) => {
              e.preventDefault();
              e.returnValue = a;
            };
            window.addEventListener('beforeunload', this._u);
          }
        } else if (kind === 'a') {
          // Cleared first so the same text is announced again.
          this._l.textContent = '';
          this._l.textContent = a;
        }
      }
    }

    // Post to this embed's iframe window for exactly `origin` (named by the core), through the
    // storage frame's relay on its channel: 0 sent, 1 no window, 2 refused.
    _post(msg, origin, ch) {
      const w = this._i.contentWindow;
      if (!w) return 1;
      const r = ch && this._s && this._s.r;
      try {
        r ? r(w, msg, exact(origin)) : w.postMessage(msg, exact(origin));
        return 0;
      } catch {
        return 2;
      }
    }

    _frame(kind) {
      this._F[kind] = requestAnimationFrame(() => {
        delete this._F[kind];
        if (!this._d) this._do(call(kind === 3 ? LAYOUT : SCROLL_FRAME, this._id, kind === 3 ? innerHeight : scrollY));
      });
    }

    _emit(name, detail) {
      const fs = this._c[name];
      if (!fs) return;
      for (const f of fs.slice()) {
        try {
          f(detail);
        } catch (e) {
          report('lti-embed: an event listener threw', e);
        }
      }
    }

    _listen(event, f, add) {
      const n = EVENTS.indexOf(event);
      if (n < 0) fail('unknown event "' + event + '"');
      if (add && this._d) fail('this embed was destroyed');
      const a = (this._c[event] ||= []);
      const at = a.indexOf(f);
      if (add) {
        if (at < 0) a.push(f);
      } else if (at >= 0) a.splice(at, 1);
      if (!a.length) delete this._c[event];
      if (!this._d) call(LISTEN, this._id, EVENTS.reduce((m, e, b) => (this._c[e] ? m | (1 << b) : m), 0));
    }

    /** Listen to an event. */
    on(event, listener) {
      this._listen(event, listener, true);
    }

    /** Stop listening (the same function that was passed to `on`). */
    off(event, listener) {
      this._listen(event, listener, false);
    }

    /** Send a message to the tool, at the origin it last spoke from (never `*`). */
    post(message) {
      const t = str(message);
      if (t === undefined) fail('message must be serialisable');
      const [[, msg, origin]] = JSON.parse(call(POST, this._id, 0, t));
      const r = this._post(msg, origin, 0);
      if (r) fail(r === 1 ? 'the iframe has no window' : 'browser call failed');
    }

    /** Counters: `{accepted, dropped, badRequests, ignored, replies, layouts}`. */
    stats() {
      return JSON.parse(call(STATS, this._id));
    }

    /** Remove the iframe and every listener, timer and frame request of this embed. */
    destroy() {
      if (this._d) return;
      this._d = true;
      for (const [t, type, f] of this._L) t.removeEventListener(type, f);
      this._L = [];
      if (this._u) window.removeEventListener('beforeunload', this._u);
      for (const n in this._F) cancelAnimationFrame(this._F[n]);
      this._F = {};
      this._c = {};
      if (this._s) releaseFrame(this._s);
      if (this._f) this._f.remove();
      if (this._i) this._i.remove();
      if (this._l) this._l.remove();
      live.delete(this);
      // The core keeps the counters (stats() still answers) and drops everything else.
      call(CLOSE, this._id);
    }

    /** The frame name (the launch form's target). */
    get name() {
      return this._n;
    }

    /** The iframe element. */
    get iframe() {
      return this._i;
    }

    /** Current height, px. */
    get height() {
      return this._h;
    }

    /** Whether `destroy()` was called. */
    get destroyed() {
      return this._d;
    }

    free() {}

    [Symbol.dispose]() {}
  }

  // The storage target of a tool client: the parent, or a named child frame of it
  // (reachable by name even across origins); null if there is none.
  function target(c) {
    const p = window.parent;
    if (!p || c._t == null) return p || null;
    try {
      const w = p[c._t];
      return w && typeof w === 'object' ? w : null;
    } catch {
      return null;
    }
  }
  const height = (el) => Math.ceil(el.getBoundingClientRect().height);

  class ToolClient {
    /** A client for this page. `hostOrigin` defaults to `location.ancestorOrigins[0]` where
     *  the browser provides it; elsewhere it is required. */
    constructor(options) {
      const o = options == null ? 'null' : str(options);
      if (o === undefined) fail('options must be a plain object');
      let a;
      try {
        a = location.ancestorOrigins;
        a = a && a.length ? a[0] : '';
      } catch {
        a = '';
      }
      const spec = JSON.parse(call(T_OPEN, 0, 0, o, a));
      const id = (this._id = spec.id);
      this._host = spec.host;
      this._ms = spec.timeout;
      this._t = spec.target;
      this._p = new Map(); // outstanding requests: id → [resolve, reject, timer]
      this._o = null;
      this._d = false;
      // Replies come from the storage target or (when the host could not relay through its
      // storage frame) the host window itself; the core checks the origin before data is read.
      this._m = (e) => {
        const s = e.source;
        if (!this._p.size || !s || (s !== target(this) && s !== window.parent)) return;
        if (call(T_ORIGIN, id, 0, e.origin) !== '1') return;
        const t = text(e);
        if (typeof t !== 'string') return;
        const r = call(T_DATA, id, 0, t);
        if (r) this._settle(JSON.parse(r));
      };
      window.addEventListener('message', this._m);
    }

    _settle(r) {
      const p = this._p.get(r.id);
      if (!p) return;
      this._p.delete(r.id);
      clearTimeout(p[2]);
      r.code == null ? p[0](r.value) : p[1](err(r.code, r.message));
    }

    // Post the core's message to the host window at its exact origin.
    _up(r) {
      if (!r) return;
      const [msg, origin] = JSON.parse(r);
      const p = window.parent || fail('this page has no parent window');
      try {
        p.postMessage(msg, exact(origin));
      } catch {
        fail('browser call failed');
      }
    }

    _request(op, key, value) {
      if (this._d) return Promise.reject(err('error', 'this client was destroyed'));
      const w = target(this);
      if (!w) return Promise.reject(err('unsupported_subject', 'no storage target frame in the host page'));
      const r = k(op, this._id, Math.random() * 4294967295, key == null ? '' : String(key), value == null ? '' : String(value));
      if (r[0] === '!') {
        const [code, message] = r.slice(1).split('\n');
        return Promise.reject(err(code, message));
      }
      const { id, msg, origin } = JSON.parse(r);
      try {
        w.postMessage(msg, exact(origin));
      } catch {
        call(T_FORGET, this._id, 0, id);
        return Promise.reject(err('error', 'could not post to the storage target'));
      }
      return new Promise((ok, no) =>
        this._p.set(id, [
          ok,
          no,
          setTimeout(() => {
            call(T_FORGET, this._id, 0, id);
            this._settle({ id, code: 'timeout', message: 'the host did not answer in time' });
          }, this._ms),
        ]),
      );
    }

    /** The host origin messages are sent to. */
    get hostOrigin() {
      return this._host;
    }

    /** Report the page's height now (measured from `<html>` when no height is given). */
    reportHeight(h) {
      this._up(call(T_HEIGHT, this._id, h == null ? height(document.documentElement) : +h, '1'));
    }

    /** Keep reporting the height of `element` (default `<html>`) whenever it changes (at most
     *  once per frame, only on a change of at least 1 px), at once and on `load`. */
    autoResize(element) {
      const el = element || document.documentElement;
      const send = () => {
        try {
          this._up(call(T_HEIGHT, this._id, height(el)));
        } catch (e) {
          report('lti-embed: could not report the height', e);
        }
      };
      const o = new ResizeObserver(send);
      o.observe(el);
      const load = document.readyState === 'complete' ? null : send;
      if (load) window.addEventListener('load', load);
      this.stopAutoResize();
      this._o = { o, el, load };
      send();
    }

    /** Stop reporting height changes. */
    stopAutoResize() {
      const o = this._o;
      if (!o) return;
      o.o.disconnect();
      if (o.load) window.removeEventListener('load', o.load);
      this._o = null;
    }

    /** The element whose height is reported, while auto-resizing. */
    get observedElement() {
      return this._o ? this._o.el : undefined;
    }

    /** Send `lti.contentSelected` with one entry or an array of entries. */
    contentSelected(entries) {
      const t = str(entries);
      if (t === undefined) fail('entries must be serialisable');
      this._up(call(T_SELECTED, this._id, 0, t));
    }

    /** Send any other message, `{subject, ...fields}` (checked like the host would). */
    send(subject, fields) {
      const t = str(fields);
      if (t === undefined) fail('fields must be serialisable');
      this._up(call(T_SEND, this._id, 0, subject, t));
    }

    /** `lti.put_data` (a `null` or empty value clears the key). */
    putData(key, value) {
      return this._request(value == null ? T_CLEAR : T_PUT, key, value);
    }

    /** `lti.get_data`: the value, or `null`. */
    getData(key) {
      return this._request(T_GET, key);
    }

    /** `lti.capabilities`: the subjects the host supports. */
    capabilities() {
      return this._request(T_CAPS);
    }

    /** Stop: remove the listener and the observer; outstanding requests reject. */
    destroy() {
      if (this._d) return;
      this._d = true;
      window.removeEventListener('message', this._m);
      this.stopAutoResize();
      for (const id of [...this._p.keys()]) {
        call(T_FORGET, this._id, 0, id);
        this._settle({ id, code: 'error', message: 'the client was destroyed' });
      }
      call(T_CLOSE, this._id);
    }

    free() {}

    [Symbol.dispose]() {}
  }

  return { Embed, ToolClient, liveEmbeds: () => live.size };
}
