//! Small RAII wrappers over browser callbacks (gloo style) and the few JS calls the kit makes.

use js_sys::{Function, JsString};
use lti_core::json::{self, Value};
use lti_core::messages::MAX_MESSAGE_BYTES;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{EventTarget, Window};

/// An event listener, removed from its target when dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// `target.addEventListener(kind, f)`.
    pub fn new(target: &EventTarget, kind: &'static str, f: impl FnMut(web_sys::Event) + 'static) -> Result<Self, JsValue> {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())?;
        Ok(Self { target: target.clone(), kind, callback })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Cannot fail for a listener this value added; nothing to do if the target is gone.
        let _ = self.target.remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}

/// A requested animation frame, cancelled when dropped unless it already ran ([`FrameRequest::ran`]).
pub struct FrameRequest(Option<i32>);

impl FrameRequest {
    /// `requestAnimationFrame(cb)`; the closure stays owned by the caller.
    pub fn new(window: &Window, cb: &Closure<dyn FnMut()>) -> Option<Self> {
        window.request_animation_frame(cb.as_ref().unchecked_ref()).ok().map(|id| Self(Some(id)))
    }

    /// The frame callback is running: nothing left to cancel.
    pub fn ran(mut self) {
        self.0 = None;
    }
}

impl Drop for FrameRequest {
    fn drop(&mut self) {
        if let (Some(id), Some(w)) = (self.0, web_sys::window()) {
            let _ = w.cancel_animation_frame(id);
        }
    }
}

/// A `setTimeout`, cleared when dropped.
pub struct Timeout {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// `setTimeout(f, ms)`.
    pub fn new(window: &Window, ms: u32, f: impl FnMut() + 'static) -> Result<Self, JsValue> {
        let callback = Closure::<dyn FnMut()>::new(f);
        let id = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), i32::try_from(ms).unwrap_or(i32::MAX))?;
        Ok(Self { id, _callback: callback })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_timeout_with_handle(self.id);
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// Any window, possibly cross-origin: only `postMessage` is called on it, looked up on the
    /// object itself (a cross-origin WindowProxy exposes it; the prototype's may refuse).
    pub type PostTarget;

    #[wasm_bindgen(method, structural, js_name = postMessage, catch)]
    fn post_message(this: &PostTarget, message: &JsValue, target_origin: &str) -> Result<(), JsValue>;
}

/// Post `msg` to `win` for exactly `origin`. Callers only pass origins that passed an exact
/// allow-list check or were configured (never `"*"`, never `"null"`).
pub fn post(win: &JsValue, msg: &Value, origin: &str) -> Result<(), JsValue> {
    if origin == "*" || origin == "null" || origin.is_empty() {
        return Err(JsValue::from_str("refusing to post to a wildcard or null origin"));
    }
    win.unchecked_ref::<PostTarget>().post_message(&to_js(msg), origin)
}

/// Post through a relay function from another realm (`relay(win, msg, origin)`), so the
/// message's `source` is that realm's window.
pub fn post_via(relay: &Function, win: &JsValue, msg: &Value, origin: &str) -> Result<(), JsValue> {
    if origin == "*" || origin == "null" || origin.is_empty() {
        return Err(JsValue::from_str("refusing to post to a wildcard or null origin"));
    }
    relay.call3(&JsValue::UNDEFINED, win, &to_js(msg), &JsValue::from_str(origin)).map(|_| ())
}

/// A JSON value as a fresh JS value: one `JSON.parse` of its text (own data properties only,
/// so a `__proto__` key stays a plain key).
pub fn to_js(v: &Value) -> JsValue {
    js_sys::JSON::parse(&json::to_string(v)).unwrap_or(JsValue::NULL)
}

/// A JS value (options, an entry) as JSON text; `undefined` becomes `null`.
pub fn to_json_text(v: &JsValue) -> Result<String, JsValue> {
    if v.is_undefined() {
        return Ok("null".into());
    }
    js_sys::JSON::stringify(v)?.as_string().ok_or_else(|| JsValue::from_str("not serialisable"))
}

/// `MessageEvent.data` as JSON text: a string as is, an object serialised. Too-large strings
/// are refused by their UTF-16 length before being copied into wasm memory (UTF-8 is never
/// shorter).
pub fn message_text(data: &JsValue) -> Result<String, &'static str> {
    let s: JsString = if data.is_string() {
        data.clone().unchecked_into()
    } else if data.is_object() {
        js_sys::JSON::stringify(data).map_err(|_| "not serialisable")?
    } else {
        return Err("not an object");
    };
    if s.length() as usize > MAX_MESSAGE_BYTES {
        return Err("too large");
    }
    s.as_string().ok_or("not text")
}

/// Report an exception thrown by host code without letting it escape into the kit.
pub fn report(context: &str, err: &JsValue) {
    web_sys::console::error_2(&JsValue::from_str(context), err);
}
