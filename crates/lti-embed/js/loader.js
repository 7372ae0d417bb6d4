// Loading the kit's wasm core: one `init()` per entry point (host.js, tool.js, element.js,
// lti_embed.js), over wasm-bindgen's loader.
//
// - The wasm sits next to the module (`new URL(<file>, import.meta.url)`, the pattern bundlers
//   recognise and copy) and is fetched with the Subresource Integrity hash the build wrote into
//   the module, so a page that pins the module with `integrity=` pins the wasm too.
// - A call before `init()` finished throws "call `await init()` first", not wasm-bindgen's
//   "Cannot read properties of undefined".
// - When the page's Content-Security-Policy blocks the wasm (no 'wasm-unsafe-eval' in
//   script-src, or the kit's origin missing from connect-src), init() rejects with an error that
//   says which directive to change, instead of the browser's raw one.

const fail = (text, cause) => {
  throw new Error(text, cause ? { cause } : undefined);
};

/** `{init, initSync, k}`: `k` is the core entry point guarded against use before init. */
export function loader(wbgInit, wbgInitSync, core, wasmUrl, integrity) {
  let ok = false;
  let pending = null;
  const k = (op, id, x, a, b) => (ok ? core(op, id, x, a, b) : fail('lti-embed: call `await init()` first: the module is not initialised yet'));

  async function load(arg) {
    let src = arg !== null && typeof arg === 'object' && 'module_or_path' in arg ? arg.module_or_path : arg;
    let url = null;
    if (src == null) {
      url = wasmUrl();
      src = fetch(url, integrity ? { integrity, credentials: 'same-origin' } : undefined);
    } else if (typeof src === 'string' || src instanceof URL) {
      url = new URL(src, location.href);
      src = fetch(url);
    }
    // CSP violations are reported as events (a task after the failure at the latest).
    const seen = [];
    const watch = (e) => seen.push(e);
    const doc = typeof document === 'object' ? document : null;
    if (doc) doc.addEventListener('securitypolicyviolation', watch);
    try {
      await wbgInit({ module_or_path: src });
    } catch (e) {
      await new Promise((r) => setTimeout(r, 0));
      throw explain(e, url, seen);
    } finally {
      if (doc) doc.removeEventListener('securitypolicyviolation', watch);
    }
  }

  function explain(e, url, seen) {
    const m = String((e && e.message) || e);
    const v = (d) => seen.find((x) => (x.effectiveDirective || x.violatedDirective || '').startsWith(d));
    if (v('script-src') || /wasm-unsafe-eval|unsafe-eval|Content.Security.Policy/i.test(m)) {
      return new Error("lti-embed: this page's Content-Security-Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src (the kit's core is WebAssembly)", { cause: e });
    }
    const where = url ? String(url) : 'its wasm';
    if (v('connect-src')) {
      return new Error("lti-embed: this page's Content-Security-Policy blocks fetching " + where + ': add ' + (url ? url.origin : "the kit's origin") + ' to connect-src', { cause: e });
    }
    if (e instanceof TypeError && url) {
      return new Error('lti-embed: could not fetch ' + where + ' (offline, no CORS header, or its content does not match the integrity hash this module expects: serve the module and the wasm of one version together)', { cause: e });
    }
    return new Error('lti-embed: could not load the wasm core: ' + m, { cause: e });
  }

  /** Load the wasm core (idempotent; concurrent calls share one load). */
  function init(arg) {
    if (ok) return Promise.resolve();
    return (pending ||= load(arg).then(
      () => {
        ok = true;
      },
      (e) => {
        pending = null;
        throw e;
      },
    ));
  }

  /** Instantiate from bytes or a compiled module, synchronously. */
  function initSync(arg) {
    if (!ok) {
      wbgInitSync(arg);
      ok = true;
    }
  }

  return { init, initSync, k };
}
