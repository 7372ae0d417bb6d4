//! The browser module in headless Chromium (wasm-bindgen-test): the JavaScript API
//! (`js/kit.js`) over the wasm core (`lti_embed::k`), as the package ships it: an `Embed` and a
//! same-origin iframe whose script posts messages from the iframe's own realm, and a
//! `ToolClient` against a scripted host. Cross-origin behaviour (other ports, other origins) is covered by the page
//! tests in tests/browser/.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use js_sys::{Array, Function, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlIFrameElement};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function post_from_frame(iframe, msg, origin) {
  // A function created in the iframe's realm: the message's source is the iframe's window.
  const f = new iframe.contentWindow.Function('m', 'o', 'parent.postMessage(m, o)');
  f(msg, origin);
}
export function post_from_here(msg) { window.postMessage(msg, location.origin); }
export function burst_from(iframe, heights, origin) {
  // Message events as the iframe's messages, all dispatched within this one task: no
  // animation frame can run in between, so the kit must lay out exactly once for them.
  for (const h of heights) {
    window.dispatchEvent(new MessageEvent('message', { data: { subject: 'lti.frameResize', height: h }, origin, source: iframe.contentWindow }));
  }
}
export function wait_load(iframe) {
  return new Promise((ok) => {
    const ready = () => { try { return iframe.contentWindow.location.href !== 'about:blank' && iframe.contentDocument.readyState === 'complete'; } catch { return false; } };
    if (ready()) return ok();
    iframe.addEventListener('load', () => ok(), { once: true });
  });
}
export function frames(n) {
  return new Promise((ok) => { const step = (k) => k <= 0 ? ok() : requestAnimationFrame(() => step(k - 1)); step(n); });
}
export function sleep(ms) { return new Promise((ok) => setTimeout(ok, ms)); }
export function collect_in_frame(iframe) {
  const got = [];
  iframe.contentWindow.addEventListener('message', (e) => got.push({ data: e.data, origin: e.origin, fromParent: e.source === window }));
  return got;
}
let counting = null;
export function count_listeners() {
  // Wrap add/removeEventListener on window to count live 'message' listeners (no DevTools API).
  if (!counting) {
    counting = new Set();
    const add = EventTarget.prototype.addEventListener, remove = EventTarget.prototype.removeEventListener;
    EventTarget.prototype.addEventListener = function (t, f, o) { if (this === window) counting.add(t + ':' + (f && (f.__id ||= Math.random()))); return add.call(this, t, f, o); };
    EventTarget.prototype.removeEventListener = function (t, f, o) { if (this === window) counting.delete(t + ':' + (f && f.__id)); return remove.call(this, t, f, o); };
  }
  return counting.size;
}
let host = null;
export function scripted_host(mode) {
  // A stand-in host for ToolClient tests: the test page is its own parent here.
  if (host) window.removeEventListener('message', host);
  const store = {};
  host = (e) => {
    const m = e.data;
    if (!m || typeof m !== 'object' || typeof m.subject !== 'string' || m.subject.endsWith('.response')) return;
    const reply = { subject: m.subject + '.response', message_id: mode === 'wrong-id' ? 'nope' : m.message_id };
    if (mode === 'silent') return;
    if (mode === 'full' && m.subject === 'lti.put_data') reply.error = { code: 'storage_exhaustion', message: 'full' };
    else if (m.subject === 'lti.put_data') { store[m.key] = m.value; reply.key = m.key; reply.value = m.value; }
    else if (m.subject === 'lti.get_data') { reply.key = m.key; reply.value = store[m.key] ?? null; }
    else if (m.subject === 'lti.capabilities') reply.supported_messages = [{ subject: 'lti.put_data' }];
    e.source.postMessage(reply, e.origin);
  };
  window.addEventListener('message', host);
}
export function stop_scripted_host() { if (host) window.removeEventListener('message', host); host = null; }
export function error_code(e) { return e && e.code; }
export function construct(api, cls, a) { return new api[cls](a); }
export function construct2(api, cls, a, b) { return new api[cls](a, b); }
export function invoke(o, m, a, b) { return o[m](a, b); }
"#)]
extern "C" {
    fn post_from_frame(iframe: &HtmlIFrameElement, msg: &JsValue, origin: &str);
    fn post_from_here(msg: &JsValue);
    fn burst_from(iframe: &HtmlIFrameElement, heights: &Array, origin: &str);
    fn wait_load(iframe: &HtmlIFrameElement) -> Promise;
    fn frames(n: u32) -> Promise;
    fn sleep(ms: u32) -> Promise;
    fn collect_in_frame(iframe: &HtmlIFrameElement) -> Array;
    fn count_listeners() -> u32;
    fn scripted_host(mode: &str);
    fn stop_scripted_host();
    fn error_code(e: &JsValue) -> JsValue;
    #[wasm_bindgen(catch)]
    fn construct(api: &JsValue, cls: &str, a: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn construct2(api: &JsValue, cls: &str, a: &JsValue, b: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn invoke(o: &JsValue, method: &str, a: &JsValue, b: &JsValue) -> Result<JsValue, JsValue>;
}

// `raw_module`, not `module`: wasm-bindgen copies a `module` file alone into its snippets, where
// kit.js's `import … from './protocol.js'` would not resolve. The test server serves the files
// of its working directory (cargo runs tests in the crate's folder) when its own output has no
// such path, so `/js/kit.js` and the `/js/protocol.js` it imports are the crate's own files.
#[wasm_bindgen(raw_module = "/js/kit.js")]
extern "C" {
    /// The package's API over a core entry point.
    fn kit(k: &JsValue) -> JsValue;
}

thread_local! {
    /// `{Embed, ToolClient, liveEmbeds}` over this test module's core, built once.
    static API: JsValue = {
        let k = Closure::<dyn FnMut(u32, u32, f64, String, String) -> String>::new(|op, id, x, a: String, b: String| lti_embed::k(op, id, x, &a, &b));
        let api = kit(k.as_ref());
        k.forget();
        api
    };
}

fn api() -> JsValue {
    API.with(JsValue::clone)
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &k.into()).expect("property")
}

/// The API's `Embed`, driven from Rust.
struct Embed(JsValue);

impl Embed {
    fn new(container: &Element, options: &JsValue) -> Result<Embed, JsValue> {
        construct2(&api(), "Embed", container, options).map(Embed)
    }
    fn iframe(&self) -> HtmlIFrameElement {
        get(&self.0, "iframe").unchecked_into()
    }
    fn height(&self) -> f64 {
        get(&self.0, "height").as_f64().expect("height")
    }
    fn destroyed(&self) -> bool {
        get(&self.0, "destroyed").as_bool().expect("destroyed")
    }
    fn stats(&self) -> JsValue {
        invoke(&self.0, "stats", &JsValue::UNDEFINED, &JsValue::UNDEFINED).expect("stats")
    }
    fn on(&self, event: &str, listener: Function) -> Result<(), JsValue> {
        invoke(&self.0, "on", &event.into(), &listener).map(|_| ())
    }
    fn destroy(&self) {
        invoke(&self.0, "destroy", &JsValue::UNDEFINED, &JsValue::UNDEFINED).expect("destroy");
    }
}

fn live_embeds() -> f64 {
    invoke(&api(), "liveEmbeds", &JsValue::UNDEFINED, &JsValue::UNDEFINED)
        .ok()
        .and_then(|v| v.as_f64())
        .expect("liveEmbeds")
}

/// The API's `ToolClient`, driven from Rust.
struct ToolClient(JsValue);

impl ToolClient {
    fn new(options: Option<JsValue>) -> Result<ToolClient, JsValue> {
        construct(&api(), "ToolClient", &options.unwrap_or(JsValue::UNDEFINED)).map(ToolClient)
    }
    fn promise(&self, method: &str, a: &JsValue, b: &JsValue) -> Promise {
        invoke(&self.0, method, a, b).expect("promise").unchecked_into()
    }
    fn put_data(&self, key: String, value: Option<String>) -> Promise {
        self.promise("putData", &key.into(), &value.map_or(JsValue::NULL, JsValue::from))
    }
    fn get_data(&self, key: String) -> Promise {
        self.promise("getData", &key.into(), &JsValue::UNDEFINED)
    }
    fn capabilities(&self) -> Promise {
        self.promise("capabilities", &JsValue::UNDEFINED, &JsValue::UNDEFINED)
    }
    fn destroy(&self) {
        invoke(&self.0, "destroy", &JsValue::UNDEFINED, &JsValue::UNDEFINED).expect("destroy");
    }
}

fn json(s: &str) -> JsValue {
    JSON::parse(s).expect("test JSON")
}

fn origin() -> String {
    web_sys::window().expect("window").location().origin().expect("origin")
}

fn container() -> Element {
    let doc = web_sys::window().and_then(|w| w.document()).expect("document");
    let div = doc.create_element("div").expect("div");
    doc.body().expect("body").append_child(&div).expect("append");
    div
}

/// An embed on a same-origin page (a 404 of the test server is enough: it has a window).
async fn embed(extra: &str) -> (Embed, HtmlIFrameElement) {
    let opts = json(&format!(r#"{{"url": "/lti-embed-test-frame", "allowedOrigins": ["{}"]{extra}}}"#, origin()));
    let e = Embed::new(&container(), opts.unchecked_ref()).expect("embed");
    let iframe = e.iframe();
    JsFuture::from(wait_load(&iframe)).await.expect("load");
    (e, iframe)
}

fn stat(e: &Embed, k: &str) -> f64 {
    Reflect::get(&e.stats(), &k.into()).ok().and_then(|v| v.as_f64()).unwrap_or(-1.0)
}

async fn settle() {
    JsFuture::from(sleep(30)).await.expect("sleep");
    JsFuture::from(frames(2)).await.expect("frames");
}

/// Wait (bounded: 5 s) until `cond` holds, then let the page settle; `false` on timeout.
async fn until(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            settle().await;
            return true;
        }
        JsFuture::from(sleep(10)).await.expect("sleep");
    }
    false
}

#[wasm_bindgen_test]
fn options_are_validated() {
    let c = container();
    for bad in [
        r#"{"url": "/x"}"#,
        r#"{"url": "/x", "allowedOrigins": ["*"]}"#,
        r#"{"url": "/x", "allowedOrigins": ["null"]}"#,
        r#"{"url": "javascript:alert(1)", "allowedOrigins": ["https://t.example"]}"#,
        r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "sandbox": "allow-scripts"}"#,
        r#"{"url": "/x", "allowedOrigin": ["https://t.example"]}"#,
    ] {
        assert!(Embed::new(&c, json(bad).unchecked_ref()).is_err(), "{bad}");
    }
    assert_eq!(c.child_element_count(), 0, "nothing created for refused options");
}

#[wasm_bindgen_test]
async fn iframe_attributes_and_minimum_height() {
    let (e, iframe) = embed(r#", "name": "tool-a", "title": "My Media""#).await;
    assert_eq!(iframe.name(), "tool-a");
    assert_eq!(iframe.get_attribute("title").as_deref(), Some("My Media"));
    assert_eq!(
        iframe.get_attribute("allow").as_deref(),
        Some("autoplay; fullscreen; encrypted-media; picture-in-picture")
    );
    let sandbox = iframe.get_attribute("sandbox").unwrap_or_default();
    assert!(sandbox.contains("allow-same-origin") && sandbox.contains("allow-scripts"), "{sandbox}");
    assert_eq!(iframe.style().get_property_value("height").ok().as_deref(), Some("800px"));
    let dup = Embed::new(
        &container(),
        json(&format!(r#"{{"url": "/x", "allowedOrigins": ["{}"], "name": "tool-a"}}"#, origin())).unchecked_ref(),
    );
    assert!(dup.is_err(), "frame names are unique on the page");
    e.destroy();
}

#[wasm_bindgen_test]
async fn resize_from_own_iframe_clamped_and_coalesced() {
    let (e, iframe) = embed(r#", "maxHeight": 2400"#).await;
    let o = origin();
    let resizes = Array::new();
    let log = resizes.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |d: JsValue| {
        log.push(&d);
    });
    e.on("resize", cb.as_ref().unchecked_ref::<Function>().clone()).expect("on");

    // A burst of 30 within one task: one layout, the last height.
    let heights: Array = (0..30).map(|h| JsValue::from_f64(1000.0 + f64::from(h))).collect();
    burst_from(&iframe, &heights, &o);
    settle().await;
    assert_eq!(e.height(), 1029.0);
    assert_eq!(stat(&e, "accepted"), 30.0);
    assert_eq!(stat(&e, "layouts"), 1.0, "one layout for the burst");
    assert_eq!(resizes.length(), 1);

    // Real posts from the iframe's realm: object form, JSON-string form with legacy messageType.
    post_from_frame(&iframe, &json(r#"{"subject": "lti.frameResize", "height": 1100}"#), &o);
    post_from_frame(&iframe, &JsValue::from_str(r#"{"messageType":"lti.frameResize","height":"1234px"}"#), &o);
    assert!(until(|| stat(&e, "accepted") == 32.0).await);
    assert_eq!(e.height(), 1234.0);
    assert_eq!(stat(&e, "accepted"), 32.0);
    assert!(stat(&e, "layouts") <= 3.0, "at most one layout per frame");
    assert_eq!(iframe.style().get_property_value("height").ok().as_deref(), Some("1234px"));

    post_from_frame(&iframe, &json(r#"{"subject": "lti.frameResize", "height": 120}"#), &o);
    assert!(until(|| stat(&e, "accepted") == 33.0).await);
    assert_eq!(e.height(), 800.0, "never below the minimum");
    post_from_frame(&iframe, &json(r#"{"subject": "lti.frameResize", "height": 99999}"#), &o);
    assert!(until(|| stat(&e, "accepted") == 34.0).await);
    assert_eq!(e.height(), 2400.0, "never above the maximum");
    e.destroy();
}

#[wasm_bindgen_test]
async fn other_windows_and_bad_messages_change_nothing() {
    let (e, iframe) = embed("").await;
    let o = origin();
    post_from_here(&json(r#"{"subject": "lti.frameResize", "height": 1500}"#));
    for bad in [
        JsValue::from_str("not json"),
        JsValue::from_f64(7.0),
        JsValue::NULL,
        json(r#"{"height": 5}"#),
        json(r#"{"subject": "lti.frameResize.response"}"#),
        JsValue::from_str(&"x".repeat(70_000)),
    ] {
        post_from_frame(&iframe, &bad, &o);
    }
    assert!(
        until(|| stat(&e, "dropped") == 6.0 && stat(&e, "ignored") >= 1.0).await,
        "the page's own window is not the tool"
    );
    assert_eq!(e.height(), 800.0);
    assert_eq!(stat(&e, "accepted"), 0.0);
    e.destroy();
}

#[wasm_bindgen_test]
async fn origin_must_be_on_the_allow_list() {
    let opts = json(r#"{"url": "/lti-embed-test-frame", "allowedOrigins": ["https://tool.example.com"]}"#);
    let e = Embed::new(&container(), opts.unchecked_ref()).expect("embed");
    let iframe = e.iframe();
    JsFuture::from(wait_load(&iframe)).await.expect("load");
    post_from_frame(&iframe, &json(r#"{"subject": "lti.frameResize", "height": 1500}"#), &origin());
    assert!(until(|| stat(&e, "dropped") == 1.0).await);
    assert_eq!(e.height(), 800.0);
    assert_eq!(stat(&e, "accepted"), 0.0);
    e.destroy();
}

#[wasm_bindgen_test]
async fn storage_replies_go_to_the_sender_with_ids_echoed() {
    let (e, iframe) = embed("").await;
    let o = origin();
    let got = collect_in_frame(&iframe);
    post_from_frame(
        &iframe,
        &json(r#"{"subject": "lti.put_data", "message_id": "p1", "key": "state", "value": "abc"}"#),
        &o,
    );
    post_from_frame(&iframe, &json(r#"{"subject": "lti.get_data", "message_id": "g1", "key": "state"}"#), &o);
    post_from_frame(
        &iframe,
        &JsValue::from_str(&format!(
            r#"{{"subject":"lti.put_data","message_id":"big","key":"k","value":"{}"}}"#,
            "x".repeat(4097)
        )),
        &o,
    );
    post_from_frame(&iframe, &json(r#"{"subject": "lti.get_data.response", "message_id": "loop"}"#), &o);
    assert!(until(|| got.length() >= 3 && stat(&e, "dropped") == 1.0).await, "replies and the dropped .response");
    let replies: Vec<JsValue> = got.iter().collect();
    let dump: Vec<String> =
        replies.iter().map(|r| JSON::stringify(r).ok().and_then(|s| s.as_string()).unwrap_or_default()).collect();
    assert_eq!(replies.len(), 3, "no answer to a .response: {dump:?}");
    let field = |v: &JsValue, path: &[&str]| {
        path.iter().try_fold(v.clone(), |v, k| Reflect::get(&v, &(*k).into()).ok()).and_then(|v| v.as_string())
    };
    assert_eq!(field(&replies[0], &["data", "subject"]).as_deref(), Some("lti.put_data.response"));
    assert_eq!(field(&replies[0], &["data", "message_id"]).as_deref(), Some("p1"));
    assert_eq!(field(&replies[1], &["data", "value"]).as_deref(), Some("abc"));
    assert_eq!(field(&replies[1], &["data", "message_id"]).as_deref(), Some("g1"));
    assert_eq!(field(&replies[2], &["data", "error", "code"]).as_deref(), Some("storage_exhaustion"));
    for r in &replies {
        assert_eq!(field(r, &["origin"]), Some(o.clone()));
        assert_eq!(Reflect::get(r, &"fromParent".into()).ok().and_then(|v| v.as_bool()), Some(true));
    }
    e.destroy();
}

#[wasm_bindgen_test]
async fn destroy_removes_every_listener() {
    let before = count_listeners();
    let live = live_embeds();
    let (e, iframe) = embed("").await;
    assert!(count_listeners() > before);
    let o = origin();
    post_from_frame(&iframe, &json(r#"{"subject": "lti.enableScrollEvents"}"#), &o);
    post_from_frame(&iframe, &json(r#"{"subject": "lti.setUnloadMessage"}"#), &o);
    assert!(until(|| stat(&e, "accepted") == 2.0).await);
    assert_eq!(live_embeds(), live + 1.0);
    e.destroy();
    assert_eq!(count_listeners(), before, "message, scroll and beforeunload listeners all removed");
    assert_eq!(live_embeds(), live);
    assert!(e.destroyed());
    assert!(iframe.parent_node().is_none(), "iframe removed");
    let stats = JSON::stringify(&e.stats()).ok().and_then(|s| s.as_string());
    // A message after destroy (the frame is gone; the page's own window posts): nothing moves.
    post_from_here(&json(r#"{"subject": "lti.frameResize", "height": 1500}"#));
    settle().await;
    assert_eq!(JSON::stringify(&e.stats()).ok().and_then(|s| s.as_string()), stats);
    assert!(e.on("resize", Function::new_no_args("")).is_err());
}

#[wasm_bindgen_test]
async fn tool_client_storage_round_trip() {
    scripted_host("ok");
    let client = ToolClient::new(Some(
        json(&format!(r#"{{"hostOrigin": "{}", "timeoutMs": 1000}}"#, origin())).unchecked_into(),
    ))
    .expect("client");
    JsFuture::from(client.put_data("state".into(), Some("s-123".into()))).await.expect("put");
    let v = JsFuture::from(client.get_data("state".into())).await.expect("get");
    assert_eq!(v.as_string().as_deref(), Some("s-123"));
    let none = JsFuture::from(client.get_data("missing".into())).await.expect("get");
    assert!(none.is_null());
    let caps = JsFuture::from(client.capabilities()).await.expect("caps");
    assert_eq!(Array::from(&caps).length(), 1);
    client.destroy();
    stop_scripted_host();
}

#[wasm_bindgen_test]
async fn tool_client_errors_and_timeouts() {
    let mk = || {
        ToolClient::new(Some(json(&format!(r#"{{"hostOrigin": "{}", "timeoutMs": 100}}"#, origin())).unchecked_into()))
            .expect("client")
    };
    scripted_host("full");
    let c = mk();
    let err = JsFuture::from(c.put_data("k".into(), Some("v".into()))).await.expect_err("quota");
    assert_eq!(error_code(&err).as_string().as_deref(), Some("storage_exhaustion"));
    c.destroy();

    scripted_host("wrong-id");
    let c = mk();
    let err = JsFuture::from(c.get_data("k".into())).await.expect_err("reply for another id ignored");
    assert_eq!(error_code(&err).as_string().as_deref(), Some("timeout"));
    c.destroy();

    scripted_host("silent");
    let c = mk();
    let err = JsFuture::from(c.get_data("k".into())).await.expect_err("no answer");
    assert_eq!(error_code(&err).as_string().as_deref(), Some("timeout"));
    let err = JsFuture::from(c.get_data(String::new())).await.expect_err("refused locally");
    assert_eq!(error_code(&err).as_string().as_deref(), Some("bad_request"));
    c.destroy();

    let wrong =
        ToolClient::new(Some(json(r#"{"hostOrigin": "https://lms.example.edu", "timeoutMs": 100}"#).unchecked_into()))
            .expect("client");
    scripted_host("ok");
    let err = JsFuture::from(wrong.get_data("k".into())).await.expect_err("a reply from another origin is ignored");
    assert_eq!(error_code(&err).as_string().as_deref(), Some("timeout"));
    wrong.destroy();
    stop_scripted_host();
    assert!(ToolClient::new(Some(json(r#"{"hostOrigin": "*"}"#).unchecked_into())).is_err());
}
