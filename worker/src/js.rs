//! The few JavaScript functions the hot paths call directly: each does in one call (and, where
//! it waits, in one promise the Rust side awaits once) what the workers-rs and web-sys wrappers
//! do in several calls across the wasm boundary and several hops of the Rust executor. They
//! decide nothing: every check stays in Rust.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(inline_js = r#"
export function kvClaim(ns, ctx, key, ttl) {
  return ns.get(key).then((seen) => {
    if (seen !== null) return false;
    try {
      ctx.waitUntil(ns.put(key, "used", { expirationTtl: ttl }).then(() => {}, () => {}));
    } catch (_) {}
    return true;
  });
}

export async function readCapped(stream, cap, cancel) {
  const reader = stream.getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done !== false) break;
    const value = chunk.value;
    if (!(value instanceof Uint8Array)) return false;
    if (n + value.byteLength > cap) {
      if (cancel) reader.cancel();
      else reader.releaseLock();
      return n + value.byteLength;
    }
    chunks.push(value);
    n += value.byteLength;
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function headersFill(h, flat) {
  const p = flat.split("\0");
  for (let i = 0; i + 1 < p.length; i += 2) {
    try {
      h.set(p[i], p[i + 1]);
    } catch (_) {}
  }
}

export function respond(status, body, headers, cid) {
  if (cid !== undefined) headers.set("x-correlation-id", cid);
  return new Response(body, { status, headers });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = kvClaim)]
    fn kv_claim_js(ns: &JsValue, ctx: &JsValue, key: &str, ttl: f64) -> Promise;
    #[wasm_bindgen(js_name = readCapped)]
    fn read_capped_js(stream: &web_sys::ReadableStream, cap: f64, cancel: bool) -> Promise;
    #[wasm_bindgen(js_name = headersFill)]
    fn headers_fill_js(h: &web_sys::Headers, flat: &str);
    #[wasm_bindgen(js_name = respond)]
    fn respond_js(status: u16, body: &JsValue, headers: &web_sys::Headers, cid: Option<&str>) -> web_sys::Response;
}

/// KV's single-use mark in one promise: read `key` in the namespace `ns`; when it is absent,
/// write `used` with `ttl` in the background of `ctx` (failures ignored, as the mark is best
/// effort) and answer `true`; `false` when the mark was there.
pub async fn kv_claim(ns: &JsValue, ctx: &worker::Context, key: &str, ttl: u64) -> Result<bool, JsValue> {
    let ctx: &worker::worker_sys::Context = ctx.as_ref();
    let first = wasm_bindgen_futures::JsFuture::from(kv_claim_js(ns, ctx, key, ttl as f64)).await?;
    Ok(first.as_bool().unwrap_or(false))
}

/// What [`read_capped`] read.
pub enum Read {
    /// The whole stream.
    Bytes(Vec<u8>),
    /// More than the cap: the bytes read so far (the chunk that crossed it included); the stream
    /// is cancelled or its reader released, as asked.
    TooLarge(usize),
    /// A chunk that is not bytes.
    NotBytes,
}

/// Read `stream` up to `cap` bytes in one promise (the chunks are gathered in JavaScript, then
/// copied into wasm once).
pub async fn read_capped(stream: &web_sys::ReadableStream, cap: usize, cancel: bool) -> Result<Read, JsValue> {
    let out = wasm_bindgen_futures::JsFuture::from(read_capped_js(stream, cap as f64, cancel)).await?;
    if let Some(n) = out.as_f64() {
        return Ok(Read::TooLarge(n as usize));
    }
    match out.dyn_into::<Uint8Array>() {
        Ok(bytes) => Ok(Read::Bytes(bytes.to_vec())),
        Err(_) => Ok(Read::NotBytes),
    }
}

/// Set (name, value) pairs on `h` in one call (a pair `Headers.set` refuses is skipped).
pub fn set_headers(h: &web_sys::Headers, pairs: &[(&str, &str)]) {
    if pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        // Cannot be passed in one string: one call per pair.
        for (k, v) in pairs {
            let _ = h.set(k, v);
        }
        return;
    }
    let mut flat = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (k, v) in pairs {
        flat.push_str(k);
        flat.push('\0');
        flat.push_str(v);
        flat.push('\0');
    }
    headers_fill_js(h, &flat);
}

/// The answer workerd sends: `resp` as a JavaScript `Response` in one call, with the
/// correlation id header when `cid` is given.
pub fn respond(resp: &worker::Response, cid: Option<&str>) -> web_sys::Response {
    let body: JsValue = match resp.body() {
        worker::ResponseBody::Empty => JsValue::NULL,
        worker::ResponseBody::Body(bytes) => Uint8Array::from(bytes.as_slice()).into(),
        worker::ResponseBody::Stream(stream) => stream.clone().into(),
    };
    respond_js(resp.status_code(), &body, &resp.headers().0, cid)
}
