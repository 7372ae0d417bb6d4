// <lti-embed>: the host side as a custom element, for pages that load one script tag, and for
// React, Vue, Angular and Svelte without wrappers (attributes in, DOM events out).
//
//   <script type="module" src="https://tool.example.com/embed/v0.1.0/element.js"
//           integrity="sha384-…" crossorigin="anonymous"></script>
//   <lti-embed src="https://lms.example.edu/launch?placement=mymedia"
//              allowed-origins="https://tool.example.com" min-height="800"></lti-embed>
//
// Attributes: src (launch URL) or a child <form action method> with hidden inputs (posted into
// the iframe), allowed-origins (space- or comma-separated, exact), min-height, max-height, name,
// frame-title, allow, sandbox, storage-frame, scroll-to-top. Changing one re-creates the embed.
// Events (CustomEvent, `detail` as in the JS API, not bubbling so a "resize" or "message" never
// reaches window listeners): resize, contentselected, navigation, hidemoduleheader,
// modulenavigation, alert, close, fullwindowlaunch, message, dropped, ready, and error (options
// refused or the wasm failed to load: `detail.message`). Lower-case names, so every framework
// binds them as written (React 19 `oncontentselected`, Vue `@contentselected`, Angular
// `(contentselected)`, Svelte `oncontentselected`). Properties: embed, ready, height, iframe,
// stats(), post(message). Removed from the document, it destroys its embed.

// The core's events (js/protocol.js, generated from src/protocol.rs); `ready` is the JS side's.
import { EVENTS } from './protocol.js';

const ATTRS = ['src', 'allowed-origins', 'min-height', 'max-height', 'name', 'frame-title', 'allow', 'sandbox', 'storage-frame', 'scroll-to-top'];

/** Define `<lti-embed>` over `Embed` (loaded by `loading`, a promise). */
export function defineElement(Embed, loading, tag = 'lti-embed') {
  if (typeof customElements !== 'object' || customElements.get(tag)) return customElements && customElements.get(tag);

  class LtiEmbedElement extends HTMLElement {
    static get observedAttributes() {
      return ATTRS;
    }

    constructor() {
      super();
      this.embed = null;
      this._gen = 0;
      this._ready = null;
      this.ready = new Promise((ok) => (this._ready = ok));
    }

    connectedCallback() {
      if (getComputedStyle(this).display === 'inline') this.style.display = 'block';
      this._restart();
    }

    disconnectedCallback() {
      this._gen++;
      this._stop();
    }

    attributeChangedCallback(_name, before, after) {
      if (before !== after && this.isConnected) this._restart();
    }

    _options() {
      const a = (n) => this.getAttribute(n);
      const o = { allowedOrigins: (a('allowed-origins') || '').split(/[\s,]+/).filter(Boolean) };
      const form = this.querySelector(':scope > form');
      if (a('src') != null) o.url = a('src');
      else if (form) {
        form.hidden = true;
        const fields = {};
        for (const i of form.querySelectorAll('input[name]')) fields[i.name] = i.value;
        o.form = { action: form.getAttribute('action') || '', method: (form.getAttribute('method') || 'post').toLowerCase(), fields };
      }
      for (const [attr, key, num] of [['min-height', 'minHeight', 1], ['max-height', 'maxHeight', 1], ['name', 'name'], ['frame-title', 'title'], ['allow', 'allow'], ['sandbox', 'sandbox'], ['storage-frame', 'storageFrame'], ['scroll-to-top', 'scrollToTop']]) {
        const v = a(attr);
        if (v != null) o[key] = num ? Number(v) : attr === 'sandbox' && v === 'false' ? false : v;
      }
      return o;
    }

    _forward(embed, ev) {
      embed.on(ev, (detail) => this.dispatchEvent(new CustomEvent(ev.toLowerCase(), { detail })));
    }

    _restart() {
      const gen = ++this._gen;
      this._stop();
      loading.then(
        () => {
          if (gen !== this._gen || !this.isConnected) return;
          try {
            const embed = new Embed(this, this._options());
            this.embed = embed;
            for (const ev of EVENTS.concat('ready')) this._forward(embed, ev);
            embed.ready.then(this._ready, () => {});
          } catch (e) {
            this._error(e);
          }
        },
        (e) => gen === this._gen && this._error(e),
      );
    }

    _stop() {
      if (this.embed) this.embed.destroy();
      this.embed = null;
    }

    _error(e) {
      console.error('<' + tag + '>:', e.message || e);
      this.dispatchEvent(new CustomEvent('error', { detail: { message: String(e.message || e) } }));
    }

    /** Current height, px (0 before the embed exists). */
    get height() {
      return this.embed ? this.embed.height : 0;
    }

    /** The iframe element (null before the embed exists). */
    get iframe() {
      return this.embed ? this.embed.iframe : null;
    }

    /** The embed's counters. */
    stats() {
      return this.embed ? this.embed.stats() : null;
    }

    /** Send a message to the tool (see Embed.post). */
    post(message) {
      if (!this.embed) throw new Error('<' + tag + '> has no embed yet');
      this.embed.post(message);
    }
  }

  customElements.define(tag, LtiEmbedElement);
  return LtiEmbedElement;
}
