// The embed kit's JavaScript API (Embed, ToolClient, liveEmbeds) over its wasm core.
//
// The core (Rust, src/web/) decides; this file performs. Every message passes the core before
// anything happens: the sender window's identity is compared here (`event.source` against the
// embed's own iframe window, nothing read), then the core applies the embed's message rate and
// checks the origin against the exact allow-list, and only then is `event.data` read (a string,
// or an object serialised), to be size-limited, parsed and schema-checked by the core, which
// returns the effects to perform: emit an event, post a reply (to the iframe's window, at the
// exact origin the core names), request an animation frame, set the height, announce, warn
// before unload, scroll. Clamping, coalescing, rate limits, counters, platform storage and
// replies are the core's.
//
// `hostKit(k)` builds the host side (Embed, liveEmbeds), `toolKit(k)` the tool side
// (ToolClient), `kit(k)` both, over the core's one entry point `k(op, id, x, a, b) → string`
// (src/protocol.rs lists the operations; js/protocol.js is generated from it): "" nothing,
// "!text" an error to throw, "1" go on, otherwise JSON (a list of effects, or a result object).
// Each entry point of the package (host.js, tool.js, element.js, lti_embed.js) bundles only the
// side it exports.

// The core's codes: operations, effect kinds, results, its events (bit i of LISTEN's mask) and
// the largest message. Generated from src/protocol.rs (a unit test fails when this is stale).
import {
  OPEN, LISTEN, IGNORED, ORIGIN, DATA, BAD_DATA, LAYOUT, SCROLLED, SCROLL_FRAME, SIZE, POST, STATS, UNSENT, CLOSE, LIVE,
  T_OPEN, T_ORIGIN, T_DATA, T_HEIGHT, T_SELECTED, T_SEND, T_CAPS, T_GET, T_PUT, T_CLEAR, T_FORGET, T_CLOSE,
  FX_EMIT, FX_REPLY, FX_POST, FX_FRAME, FX_HEIGHT, FX_READY, FX_WINDOW_SIZE, FX_SCROLL_TO, FX_SCROLL_EVENTS, FX_UNLOAD, FX_ANNOUNCE,
  FRAME_LAYOUT, FRAME_SCROLL, DATA_NOT_SERIALISABLE, DATA_NOT_OBJECT, DATA_TOO_LARGE, ARG_ADOPT, R_YES, R_ERROR, R_LOOP,
  EVENTS, MAX_MESSAGE,
} from './protocol.js';

// `ready` is the JS side's own event.
const READY = 'ready';
const LIVE_STYLE = 'position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0';
// Marks the internal constructor call of Embed.attach.
const ADOPT = {};

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
/** What a value is, for error messages: `null`, `undefined`, `a string`, `HTMLDivElement`… */
const what = (v) => (v === null ? 'null' : typeof v !== 'object' ? (typeof v === 'string' ? 'a string' : typeof v) : Object.prototype.toString.call(v).slice(8, -1));
const plain = (o, name) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? o : fail(name + ' must be an object (got ' + what(o) + ')'));
const attrs = (el, a) => {
  for (const n in a) el.setAttribute(n, a[n]);
  return el;
};
const report = (context, e) => console.error(context, e);
// Not `console.warn(…)`: the build drops those calls (wasm-bindgen's loader warnings).
const warn = (m) => console.warn.call(console, m);
// Defence in depth: the core only names exact origins from an allow-list; never post to '*' or
// to a "null" origin even if it did not.
const exact = (o) => (o && o !== '*' && o !== 'null' ? o : fail('refused target origin'));
const taken = (name) => !!document.querySelector('iframe[name="' + name + '"]');
const err = (code, message) => Object.assign(new Error(code + ': ' + message), { code });

// A message's data as text, read only now (after the origin passed), or a reason code:
// not serialisable, not an object, or too large (UTF-16 length: UTF-8 is never shorter).
function text(e) {
  const d = e.data;
  let s = d;
  if (d !== null && typeof d === 'object') {
    try {
      s = JSON.stringify(d);
    } catch {
      return DATA_NOT_SERIALISABLE;
    }
  } else if (typeof d !== 'string') return DATA_NOT_OBJECT;
  return s.length > MAX_MESSAGE ? DATA_TOO_LARGE : s;
}

/** Listener bookkeeping shared by Embed and ToolClient: `on` returns an unsubscribe function;
 *  `{once, signal}` options; `once(event)` without a listener returns a promise. */
function listeners(self, known, changed) {
  const map = (self._c = {});
  const off = (event, f) => {
    const a = map[event];
    const at = a ? a.findIndex((x) => x.f === f) : -1;
    if (at < 0) return;
    a.splice(at, 1);
    if (!a.length) delete map[event];
    changed(event);
  };
  const on = (event, f, opts) => {
    if (!known.includes(event)) fail('unknown event "' + event + '" (events: ' + known.join(', ') + ')');
    if (typeof f !== 'function') fail('listener must be a function (got ' + what(f) + ')');
    if (self._d) fail('this ' + self._kind + ' was destroyed');
    const signal = opts && opts.signal;
    const unsubscribe = () => off(event, f);
    if (signal && signal.aborted) return unsubscribe;
    const a = (map[event] ||= []);
    if (!a.some((x) => x.f === f)) {
      a.push({ f, once: !!(opts && opts.once) });
      changed(event);
    }
    if (signal) signal.addEventListener('abort', unsubscribe, { once: true });
    return unsubscribe;
  };
  const emit = (event, detail) => {
    const a = map[event];
    if (!a) return;
    for (const x of a.slice()) {
      if (x.once) off(event, x.f);
      try {
        x.f(detail);
      } catch (e) {
        report('lti-embed: an event listener threw', e);
      }
    }
  };
  return { on, off, emit, has: (event) => !!map[event], clear: () => Object.keys(map).forEach((k) => delete map[k]) };
}

/** `once(event, listener?, options?)`: with a listener, `on` with `{once: true}`; without one, a
 *  promise of the next detail (rejected if `signal` aborts first). */
function once(l, event, f, opts) {
  if (typeof f === 'function') return l.on(event, f, { ...opts, once: true });
  opts = f;
  return new Promise((ok, no) => {
    const signal = opts && opts.signal;
    const un = l.on(event, ok, { once: true, signal });
    if (signal) {
      const abort = () => (un(), no(signal.reason));
      signal.aborted ? abort() : signal.addEventListener('abort', abort, { once: true });
    }
  });
}

/** The host side: `{Embed, liveEmbeds}` over the core entry point `k`. */
export function hostKit(k) {
  const call = (op, id, x, a, b) => {
    const r = k(op, id, x || 0, a == null ? '' : a, b == null ? '' : b);
    return r[0] === R_ERROR ? fail(r.slice(1)) : r;
  };
  const live = new Set();
  // Storage frames by name: { f: iframe, w: its window, r: relay or null, n: embeds using it }.
  const frames = new Map();
  let counter = 0;
  let observer = null;
  let warned = false;

  // An embed whose iframe left the document (its container was removed, a framework unmounted
  // it) is destroyed, with one console warning per page: its listeners would otherwise stay.
  // Only after it was in the document once, so a container attached later is fine.
  function watch() {
    if (observer || typeof MutationObserver !== 'function') return;
    observer = new MutationObserver(() => {
      for (const e of [...live]) {
        if (e._i.isConnected) e._seen = true;
        else if (e._seen) {
          if (!warned) {
            warned = true;
            warn('lti-embed: an embed\'s iframe left the document without destroy(); the kit destroyed it (call destroy() when you remove an embed)');
          }
          e.destroy();
        }
      }
      if (!live.size) unwatch();
    });
    observer.observe(document, { childList: true, subtree: true });
  }
  function unwatch() {
    if (observer) observer.disconnect();
    observer = null;
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
    attrs(f, { title: 'LTI platform storage', 'aria-hidden': 'true', tabindex: '-1' });
    f.style.display = 'none';
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
    constructor(container, options, adopt) {
      const adopted = adopt === ADOPT;
      if (!container || container.nodeType !== 1) fail((adopted ? 'iframe' : 'container') + ' must be an Element (got ' + what(container) + ')');
      if (adopted && container.localName !== 'iframe') fail('Embed.attach needs an <iframe> element (got <' + container.localName + '>)');
      if (adopted && [...live].some((e) => e._i === container)) fail('Embed.attach: this iframe already has an embed (destroy() it first)');
      const o = str(plain(options, 'options'));
      if (o === undefined) fail('options must be serialisable');
      // Adopt an existing iframe (no launch required).
      const spec = JSON.parse(call(OPEN, 0, adopted ? ARG_ADOPT : 0, o));
      const id = spec.id;
      this._kind = 'embed';
      this._id = id;
      this._L = []; // [target, type, listener]
      this._F = {}; // animation frame requests by kind
      this._u = null; // beforeunload listener
      this._h = spec.minHeight;
      this._d = false;
      this._a = adopted;
      this._stats = null;
      this._e = listeners(this, EVENTS.concat(READY), (event) => {
        if (!this._d && event !== READY) call(LISTEN, id, EVENTS.reduce((m, e, b) => (this._e.has(e) ? m | (1 << b) : m), 0));
      });
      this._r = null;
      this.ready = new Promise((ok, no) => (this._r = [ok, no]));
      // Awaiting `ready` of an embed destroyed first rejects; nobody awaiting is not an error.
      this.ready.catch(() => {});
      try {
        const doc = document;
        let name = adopted ? container.name || spec.name : spec.name;
        if (name != null && name !== '') {
          if ((!adopted && taken(name)) || [...live].some((e) => e._n === name)) fail('options.name: another iframe on this page already has that name');
        } else {
          do {
            name = 'lti-embed-' + ++counter + '-' + ((Math.random() * 16777216) | 0).toString(16).padStart(6, '0');
          } while (taken(name) || [...live].some((e) => e._n === name));
        }
        this._n = name;
        const i = (this._i = adopted ? container : doc.createElement('iframe'));
        if (!adopted) {
          i.name = name;
          attrs(i, { title: spec.title, allow: spec.allow, class: 'lti-embed-frame' });
          if (spec.sandbox != null) i.setAttribute('sandbox', spec.sandbox);
          // CSSOM, not a style attribute: allowed under a style-src without 'unsafe-inline'.
          i.style.cssText = spec.style;
        } else {
          if (!i.name) i.name = name;
          i.style.height = spec.minHeight + 'px';
        }
        // A polite live region for tool alerts (text only, never HTML).
        this._l = attrs(doc.createElement('div'), { class: 'lti-embed-live', role: 'status', 'aria-live': 'polite' });
        this._l.style.cssText = LIVE_STYLE;
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
        if (adopted) i.after(this._l);
        else {
          container.appendChild(i);
          container.appendChild(this._l);
        }
        this._seen = i.isConnected;
        watch();
        const form = spec.form;
        if (spec.url != null) i.src = spec.url;
        else if (form) {
          const f = (this._f = doc.createElement('form'));
          f.method = form.method;
          f.action = form.action;
          f.target = name;
          f.className = 'lti-embed-launch';
          f.style.display = 'none';
          for (const [n, v] of form.fields) {
            const input = doc.createElement('input');
            input.type = 'hidden';
            input.name = n;
            input.value = v;
            f.appendChild(input);
          }
          (adopted ? i.parentNode : container).appendChild(f);
          // The form stays (hidden) until destroy: removing it right after submit() is
          // allowed to cancel the submission in some browsers.
          f.submit();
        }
      } catch (e) {
        this.destroy();
        // The kit's own errors as they are; a failed browser call as the kit reports one.
        throw e && e.constructor === Error ? e : new Error('browser call failed: ' + (e && e.message));
      }
    }

    /** Adopt an iframe the page already rendered (an LMS theme's): listen to it, resize it.
     *  `options` as for the constructor; `url`/`form` optional (given: launched into it).
     *  `destroy()` leaves the iframe in place. */
    static attach(iframe, options) {
      return new Embed(iframe, options, ADOPT);
    }

    _on(target, type, f) {
      target.addEventListener(type, f);
      this._L.push([target, type, f]);
    }

    _msg(ch, e) {
      const id = this._id;
      // The message rate and the origin first: data is read only if the core accepts both.
      const r = call(ORIGIN, id, performance.now(), e.origin, ch ? R_YES : '');
      if (r !== R_YES) return this._do(r, ch);
      const t = text(e);
      if (typeof t !== 'string') return this._do(call(BAD_DATA, id, t), ch);
      // The user is interacting with the tool: focus in its iframe and transient activation (a
      // click or key press in the frame activates its ancestors too). Gates lti.scrollToTop.
      const u = navigator.userActivation;
      const gesture = document.activeElement === this._i && (!u || u.isActive);
      this._do(call(DATA, id, performance.now(), t, gesture ? R_YES : ''), ch);
    }

    // Perform the core's effects, in order; stop if a listener destroyed the embed.
    _do(r, ch) {
      if (!r) return;
      for (const f of JSON.parse(r)) {
        if (this._d) return;
        const [kind, a, b] = f;
        if (kind === FX_EMIT) this._e.emit(a, b);
        else if (kind === FX_REPLY) {
          if (this._post(a, b, ch)) call(UNSENT, this._id);
        } else if (kind === FX_POST) this._post(a, b, ch);
        else if (kind === FX_FRAME) this._frame(a);
        else if (kind === FX_HEIGHT) {
          this._i.style.setProperty('height', a);
          this._h = b;
        } else if (kind === FX_READY) {
          this._r[0]({ origin: a });
          this._e.emit(READY, { origin: a });
        } else if (kind === FX_WINDOW_SIZE) {
          const g = this._i.getBoundingClientRect();
          this._do(call(SIZE, this._id, 0, JSON.stringify([innerHeight, innerWidth, g.top + scrollY, g.left + scrollX, scrollY])), ch);
        } else if (kind === FX_SCROLL_TO) this._i.scrollIntoView();
        else if (kind === FX_SCROLL_EVENTS) this._on(window, 'scroll', () => this._do(call(SCROLLED, this._id)));
        else if (kind === FX_UNLOAD) {
          if (this._u) window.removeEventListener('beforeunload', this._u);
          this._u = null;
          if (a != null) {
            this._u = (e) => {
              e.preventDefault();
              e.returnValue = a;
            };
            window.addEventListener('beforeunload', this._u);
          }
        } else if (kind === FX_ANNOUNCE) {
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
        if (this._d) return;
        if (kind === FRAME_LAYOUT) this._do(call(LAYOUT, this._id, innerHeight));
        else if (kind === FRAME_SCROLL) this._do(call(SCROLL_FRAME, this._id, scrollY));
      });
    }

    /** Listen to an event; returns a function that stops listening. `options`: `{once, signal}`. */
    on(event, listener, options) {
      return this._e.on(event, listener, options);
    }

    /** Listen once; without a listener, a promise of the event's next detail. */
    once(event, listener, options) {
      return once(this._e, event, listener, options);
    }

    /** Stop listening (the same function that was passed to `on`). */
    off(event, listener) {
      this._e.off(event, listener);
    }

    /** Send a message to the tool, at the origin it last spoke from (never `*`). */
    post(message) {
      if (this._d) fail('this embed was destroyed');
      const t = str(message);
      if (t === undefined) fail('message must be serialisable');
      const [[, msg, origin]] = JSON.parse(call(POST, this._id, 0, t));
      const r = this._post(msg, origin, 0);
      if (r) fail(r === 1 ? 'the iframe has no window' : 'browser call failed');
    }

    /** Counters: `{accepted, dropped, badRequests, ignored, replies, layouts, rateLimited,
     *  scrolls, scrollsRefused, height, maxHeight}` (the last values after destroy). */
    stats() {
      return this._stats ? { ...this._stats } : JSON.parse(call(STATS, this._id));
    }

    /** Remove the iframe (an adopted one stays) and every listener, timer and frame request of
     *  this embed, and free its state in the core. */
    destroy() {
      if (this._d) return;
      if (this._id) {
        try {
          this._stats = JSON.parse(call(STATS, this._id));
        } catch {}
      }
      this._d = true;
      for (const [t, type, f] of this._L) t.removeEventListener(type, f);
      this._L = [];
      if (this._u) window.removeEventListener('beforeunload', this._u);
      for (const n in this._F) cancelAnimationFrame(this._F[n]);
      this._F = {};
      if (this._e) this._e.clear();
      if (this._r) this._r[1](new Error('the embed was destroyed before the tool spoke'));
      if (this._s) releaseFrame(this._s);
      if (this._f) this._f.remove();
      if (this._i && !this._a) this._i.remove();
      if (this._l) this._l.remove();
      live.delete(this);
      if (!live.size) unwatch();
      if (this._id) call(CLOSE, this._id);
    }

    /** The frame name (the launch form's target). */
    get name() {
      return this._n;
    }

    /** The iframe element. */
    get iframe() {
      return this._i;
    }

    /** Current height, px (the iframe's style height, and the last `resize` event's). */
    get height() {
      return this._h;
    }

    /** Whether `destroy()` was called. */
    get destroyed() {
      return this._d;
    }

    /** Same as `destroy()`. */
    free() {
      this.destroy();
    }

    /** Same as `destroy()` (`using embed = new Embed(…)`). */
    [Symbol.dispose]() {
      this.destroy();
    }
  }

  return { Embed, liveEmbeds: () => +call(LIVE, 0) };
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
const measure = (el) => Math.ceil(el.getBoundingClientRect().height);

/** The tool side: `{ToolClient}` over the core entry point `k`. */
export function toolKit(k) {
  const call = (op, id, x, a, b) => {
    const r = k(op, id, x || 0, a == null ? '' : a, b == null ? '' : b);
    return r[0] === R_ERROR ? fail(r.slice(1)) : r;
  };

  class ToolClient {
    /** A client for this page. The host origin is `hostOrigin` if given, else
     *  `location.ancestorOrigins[0]` where the browser provides it, else `platformOrigin` (the
     *  LMS's origin as the launch knows it; Firefox has no ancestorOrigins); else it throws. */
    constructor(options) {
      const o = options == null ? 'null' : str(plain(options, 'options'));
      if (o === undefined) fail('options must be serialisable');
      let a;
      try {
        a = location.ancestorOrigins;
        a = a && a.length ? a[0] : '';
      } catch {
        a = '';
      }
      const spec = JSON.parse(call(T_OPEN, 0, 0, o, a));
      const id = (this._id = spec.id);
      this._kind = 'client';
      this._host = spec.host;
      this._src = spec.source;
      this._ms = spec.timeout;
      this._t = spec.target;
      this._p = new Map(); // outstanding requests: id → [resolve, reject, timer]
      this._o = null;
      this._d = false;
      this._loop = null;
      this._e = listeners(this, ['resizeLoop'], () => {});
      // Replies come from the storage target or (when the host could not relay through its
      // storage frame) the host window itself; the core checks the origin before data is read.
      this._m = (e) => {
        const s = e.source;
        if (!this._p.size || !s || (s !== target(this) && s !== window.parent)) return;
        if (call(T_ORIGIN, id, 0, e.origin) !== R_YES) return;
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
      if (r[0] === R_ERROR) {
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

    /** Where the host origin came from: "hostOrigin", "ancestorOrigins" or "platformOrigin". */
    get hostOriginSource() {
      return this._src;
    }

    /** Report the page's height now (measured from `<html>` when no height is given). */
    reportHeight(h) {
      if (this._d) fail('this client was destroyed');
      this._up(call(T_HEIGHT, this._id, h == null ? measure(document.documentElement) : +h, R_YES));
    }

    /** Keep reporting the height of `element` (default `<html>`) whenever it changes (at most
     *  once per frame, only on a change of at least 1 px), at once and on `load`. Stops by
     *  itself, with a console warning and a `resizeLoop` event, when the page's height follows
     *  its frame's height (a resize feedback loop: `body{min-height:100vh;margin:8px}`). */
    autoResize(element) {
      if (this._d) fail('this client was destroyed');
      const el = element || document.documentElement;
      const send = () => {
        if (this._o !== o) return;
        try {
          const r = call(T_HEIGHT, this._id, measure(el), '', String(innerHeight));
          if (r[0] !== R_LOOP) return this._up(r);
          this.stopAutoResize();
          this._loop = r.slice(1);
          warn(this._loop);
          this._e.emit('resizeLoop', { message: this._loop });
        } catch (e) {
          report('lti-embed: could not report the height', e);
        }
      };
      this.stopAutoResize();
      const load = document.readyState === 'complete' ? null : send;
      const o = { o: new ResizeObserver(send), el, load };
      this._o = o;
      o.o.observe(el);
      if (load) window.addEventListener('load', load);
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

    /** Why auto-resize stopped by itself (a resize feedback loop), or null. */
    get resizeLoop() {
      return this._loop;
    }

    /** Listen to `resizeLoop`; returns a function that stops listening. */
    on(event, listener, options) {
      return this._e.on(event, listener, options);
    }

    /** Listen once; without a listener, a promise of the event's next detail. */
    once(event, listener, options) {
      return once(this._e, event, listener, options);
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

    /** Stop: remove the listener and the observer; outstanding requests reject; the core's
     *  state is freed. */
    destroy() {
      if (this._d) return;
      this._d = true;
      window.removeEventListener('message', this._m);
      this.stopAutoResize();
      this._e.clear();
      for (const id of [...this._p.keys()]) {
        call(T_FORGET, this._id, 0, id);
        this._settle({ id, code: 'error', message: 'the client was destroyed' });
      }
      call(T_CLOSE, this._id);
    }

    /** Same as `destroy()`. */
    free() {
      this.destroy();
    }

    /** Same as `destroy()`. */
    [Symbol.dispose]() {
      this.destroy();
    }
  }

  return { ToolClient };
}

/** Both sides: `{Embed, ToolClient, liveEmbeds}`. */
export function kit(k) {
  return { ...hostKit(k), ...toolKit(k) };
}
