// Caliper learning analytics from a tool page (the `caliper.js` entry of the embed kit: plain
// JavaScript, no wasm, so a page that only reports analytics loads ~2 KB). What happens — media
// played, paused, sought, completed; pages viewed; assessments — goes as compact events, batched in
// the page, to the worker (`POST /lti/caliper/events` with the session token), which checks them,
// builds the Caliper 1.2 events and delivers them to the LMS's event store through its queue. When
// the page is hidden (`pagehide`, `visibilitychange`) what is queued goes with
// `navigator.sendBeacon` (the token in the body: a beacon cannot set headers).

const fail = (text) => {
  throw new Error(text);
};
const plain = (o, name) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? o : fail(name + ' must be an object'));
const warn = (m) => console.warn.call(console, m);

/** `new Caliper({session, endpoint?, flushInterval?, maxBatch?})`: one page's reporter. */
export class Caliper {
  constructor(options) {
    const o = plain(options, 'options');
    if (typeof o.session !== 'string' || !o.session) fail('options.session must be the session token');
    const n = (v, d, lo, hi, name) => {
      if (v == null) return d;
      if (typeof v !== 'number' || !(v >= lo && v <= hi)) fail(name + ' must be a number from ' + lo + ' to ' + hi);
      return v;
    };
    this._s = o.session;
    this._url = o.endpoint == null ? '/lti/caliper/events' : String(o.endpoint);
    this._ms = n(o.flushInterval, 5000, 100, 600000, 'flushInterval');
    this._max = n(o.maxBatch, 20, 1, 100, 'maxBatch');
    this._q = [];
    this._t = null;
    this._d = false;
    this._n = { queued: 0, sent: 0, refused: 0, failed: 0, beacons: 0 };
    this._e = { sent: [], refused: [] };
    this._off = [];
    const hide = () => this.flush({ beacon: true });
    const vis = () => document.visibilityState === 'hidden' && hide();
    addEventListener('pagehide', hide);
    document.addEventListener('visibilitychange', vis);
    this._off.push(() => removeEventListener('pagehide', hide), () => document.removeEventListener('visibilitychange', vis));
  }

  /** `on('sent', ({events, ids}) => …)`, `on('refused', ({status, code, fields}) => …)`. */
  on(event, f) {
    const a = this._e[event] || fail('unknown event "' + event + '" (events: sent, refused)');
    if (typeof f !== 'function') fail('listener must be a function');
    a.push(f);
    return () => a.includes(f) && a.splice(a.indexOf(f), 1);
  }

  _emit(event, detail) {
    for (const f of this._e[event].slice()) {
      try {
        f(detail);
      } catch (e) {
        console.error('lti-embed caliper: a listener threw', e);
      }
    }
  }

  /** Queue one event as the worker takes it: `{type, action, object, eventTime?, position?,
   *  score?, scoreMaximum?, count?, duration?}` (the worker checks it and answers per field). */
  send(event) {
    if (this._d) fail('this caliper client was destroyed');
    const e = plain(event, 'event');
    if (typeof e.type !== 'string' || typeof e.action !== 'string') fail('event needs a type and an action');
    // An id of the page's own: a batch resent after an answer the page never saw (it was
    // leaving) carries the same ids, and the store drops the copies.
    const id = e.id || (crypto.randomUUID ? 'urn:uuid:' + crypto.randomUUID() : undefined);
    this._q.push({ ...e, ...(id ? { id } : {}), eventTime: e.eventTime || new Date().toISOString() });
    this._n.queued++;
    if (this._q.length >= this._max) this.flush();
    else if (!this._t) this._t = setTimeout(() => this.flush(), this._ms);
  }

  /** A MediaEvent: `action` one of Started, Paused, Resumed, JumpedTo, Ended, … ; `media`
   *  `{id, name?, mediaType?, duration?}` (id an absolute URL or URN; seconds); `position` in
   *  seconds. */
  media(action, media, position) {
    const m = plain(media, 'media');
    this.send({ type: 'MediaEvent', action, object: obj({ type: 'VideoObject', ...m }), ...(position == null ? {} : { position: round(position) }) });
  }

  /** A ViewEvent (Viewed) of `object` `{id, type?, name?}`. */
  view(object) {
    this.send({ type: 'ViewEvent', action: 'Viewed', object: obj(object) });
  }

  /** A NavigationEvent (NavigatedTo) to `object`. */
  navigation(object) {
    this.send({ type: 'NavigationEvent', action: 'NavigatedTo', object: obj(object) });
  }

  /** An AssessmentEvent (Started, Submitted, …), `extra` `{score, scoreMaximum, count, duration}`. */
  assessment(action, object, extra) {
    this.send({ type: 'AssessmentEvent', action, object: obj(object), ...(extra || {}) });
  }

  /** An AssessmentItemEvent (Started, Skipped, Completed). */
  assessmentItem(action, object, extra) {
    this.send({ type: 'AssessmentItemEvent', action, object: obj(object), ...(extra || {}) });
  }

  /** A SessionEvent LoggedOut (the worker sent LoggedIn at launch). */
  loggedOut() {
    this.send({ type: 'SessionEvent', action: 'LoggedOut' });
  }

  /** Report a `<video>` or `<audio>` element's play (Started, then Resumed; Restarted after
   *  the end), pause (Paused), seek (JumpedTo) and end (Ended) as MediaEvents of `media`
   *  (`{id, name?, mediaType?}`; the duration is read from the element). Returns a function
   *  that stops reporting. */
  trackMedia(el, media) {
    if (!el || typeof el.addEventListener !== 'function') fail('trackMedia needs a media element');
    const m = plain(media, 'media');
    let started = false;
    let ended = false;
    const report = (action) => {
      const d = el.duration;
      const type = m.type || (el.tagName === 'AUDIO' ? 'AudioObject' : 'VideoObject');
      this.media(action, { ...m, type, ...(isFinite(d) ? { duration: round(d) } : {}) }, el.currentTime);
    };
    const on = {
      play: () => {
        report(!started ? 'Started' : ended ? 'Restarted' : 'Resumed');
        started = true;
        ended = false;
      },
      pause: () => el.ended || report('Paused'),
      seeked: () => report('JumpedTo'),
      ended: () => {
        ended = true;
        report('Ended');
      },
    };
    for (const k in on) el.addEventListener(k, on[k]);
    const off = () => { for (const k in on) el.removeEventListener(k, on[k]); };
    this._off.push(off);
    return off;
  }

  /** Send what is queued now (up to 100 events a request). `{beacon: true}`: with
   *  `navigator.sendBeacon` (the token in the body), for a page going away. Resolves when the
   *  worker answered (a beacon: when it was handed to the browser). */
  async flush(opts) {
    clearTimeout(this._t);
    this._t = null;
    while (this._q.length) {
      const events = this._q.splice(0, 100);
      if (opts && opts.beacon && navigator.sendBeacon) {
        const body = new Blob([JSON.stringify({ session: this._s, events })], { type: 'text/plain;charset=UTF-8' });
        if (navigator.sendBeacon(this._url, body)) {
          this._n.beacons++;
          this._n.sent += events.length;
          continue;
        }
      }
      let r;
      try {
        r = await fetch(this._url, { method: 'POST', keepalive: true, headers: { authorization: 'Bearer ' + this._s, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      } catch {
        this._n.failed += events.length; // offline: kept for the next flush
        this._q.unshift(...events);
        return;
      }
      const a = await r.json().catch(() => ({}));
      if (r.ok) {
        this._n.sent += events.length;
        this._emit('sent', { events: events.length, ids: (a.data && a.data.ids) || [] });
      } else {
        const e = a.error || {};
        this._n.refused += events.length;
        warn('lti-embed: caliper events refused: ' + (e.code || r.status) + (e.fields ? ' ' + JSON.stringify(e.fields) : ''));
        this._emit('refused', { status: r.status, code: e.code, fields: e.fields, events: events.length });
      }
    }
  }

  /** `{queued, sent, refused, failed, beacons, pending}`. */
  stats() {
    return { ...this._n, pending: this._q.length };
  }

  /** Stop listening (page and media elements) and send what is queued with a beacon. */
  destroy() {
    if (this._d) return;
    this.flush({ beacon: true });
    this._d = true;
    this._off.forEach((f) => f());
    this._e = { sent: [], refused: [] };
  }
}
const round = (x) => Math.round(Number(x) * 1000) / 1000;
// The object fields the worker takes (anything else would be refused as an unknown field).
const obj = (o) => {
  const m = plain(o, 'object');
  const out = {};
  for (const k of ['id', 'type', 'name', 'mediaType', 'duration']) if (m[k] != null) out[k] = m[k];
  return out;
};
