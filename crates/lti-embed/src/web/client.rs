//! `ToolClient`: what a tool page inside an embed uses to talk to its host.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use lti_core::json::{self, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, MessageEvent, ResizeObserver, Window};

use super::dom::{self, Listener, Timeout};
use crate::options::{StorageTarget, ToolConfig};
use crate::origin;
use crate::tool::{self, ReplyError, Request, ToolCore};

struct Pending {
    id: String,
    resolve: Function,
    reject: Function,
    _timeout: Timeout,
}

struct Observer {
    observer: ResizeObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
    _on_load: Option<Listener>,
    element: Element,
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

#[derive(Default)]
struct State {
    destroyed: bool,
    listener: Option<Listener>,
    pending: Vec<Pending>,
    observer: Option<Observer>,
    last_height: f64,
}

struct Inner {
    core: RefCell<ToolCore>,
    host_origin: String,
    storage_origin: String,
    storage_target: StorageTarget,
    timeout_ms: u32,
    window: Window,
    st: RefCell<State>,
}

thread_local! {
    static LIVE: RefCell<Vec<Rc<Inner>>> = const { RefCell::new(Vec::new()) };
}

fn error_value(e: &ReplyError) -> JsValue {
    let err = js_sys::Error::new(&e.text());
    let _ = Reflect::set(&err, &"code".into(), &JsValue::from_str(&e.code));
    err.into()
}

fn js_err(e: JsValue) -> JsError {
    JsError::new(&e.as_string().unwrap_or_else(|| "browser call failed".into()))
}

/// The host page's origin as the browser reports it (`location.ancestorOrigins[0]`).
fn ancestor_origin(window: &Window) -> Option<String> {
    let list = Reflect::get(&window.location(), &"ancestorOrigins".into()).ok()?;
    let first = Reflect::get_u32(&list, 0).ok()?.as_string()?;
    origin::normalize(&first).ok()
}

impl Inner {
    fn parent(&self) -> Option<Window> {
        self.window.parent().ok().flatten()
    }

    fn storage_window(&self) -> Option<JsValue> {
        let parent = self.parent()?;
        match &self.storage_target {
            StorageTarget::Parent => Some(parent.into()),
            // Named child frames of a cross-origin window are reachable by name.
            StorageTarget::Frame(name) => Reflect::get(&parent, &JsValue::from_str(name)).ok().filter(|w| w.is_object()),
        }
    }

    fn post_to_host(&self, msg: &Value) -> Result<(), JsError> {
        let parent = self.parent().ok_or_else(|| JsError::new("this page has no parent window"))?;
        dom::post(&parent.into(), msg, &self.host_origin).map_err(js_err)
    }

    fn on_message(&self, ev: &MessageEvent) {
        if self.st.borrow().pending.is_empty() {
            return;
        }
        // Replies come from the storage target (or, when the host could not relay through its
        // storage frame, from the host window itself), from exactly the storage origin.
        let Some(source) = ev.source().map(JsValue::from) else { return };
        let from_target = self.storage_window().is_some_and(|w| w == source) || self.parent().is_some_and(|p| JsValue::from(p) == source);
        if !from_target || ev.origin() != self.storage_origin {
            return;
        }
        let Ok(text) = dom::message_text(&ev.data()) else { return };
        let Some(settled) = self.core.borrow_mut().settle(&text) else { return };
        let pending = {
            let mut st = self.st.borrow_mut();
            let pos = st.pending.iter().position(|p| p.id == settled.message_id);
            pos.map(|p| st.pending.remove(p))
        };
        if let Some(p) = pending {
            let _ = match settled.result {
                Ok(v) => p.resolve.call1(&JsValue::UNDEFINED, &dom::to_js(&v)),
                Err(e) => p.reject.call1(&JsValue::UNDEFINED, &error_value(&e)),
            };
        }
    }

    fn expire(&self, id: &str) {
        self.core.borrow_mut().forget(id);
        let pending = {
            let mut st = self.st.borrow_mut();
            let pos = st.pending.iter().position(|p| p.id == id);
            pos.map(|p| st.pending.remove(p))
        };
        if let Some(p) = pending {
            let _ = p.reject.call1(&JsValue::UNDEFINED, &error_value(&ReplyError::new("timeout", "the host did not answer in time")));
        }
    }

    fn request(self: &Rc<Self>, request: Request) -> Promise {
        let mut executor = |resolve: Function, reject: Function| {
            let fail = |e: ReplyError| {
                let _ = reject.call1(&JsValue::UNDEFINED, &error_value(&e));
            };
            if self.st.borrow().destroyed {
                return fail(ReplyError::new("error", "this client was destroyed"));
            }
            let Some(target) = self.storage_window() else {
                return fail(ReplyError::new("unsupported_subject", "no storage target frame in the host page"));
            };
            let nonce = (js_sys::Math::random() * 4_294_967_295.0) as u32;
            let (id, msg) = match self.core.borrow_mut().request(request.clone(), nonce) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let weak = Rc::downgrade(self);
            let expire_id = id.clone();
            let timeout = Timeout::new(&self.window, self.timeout_ms, move || {
                if let Some(i) = weak.upgrade() {
                    i.expire(&expire_id);
                }
            });
            let timeout = match timeout {
                Ok(t) => t,
                Err(_) => {
                    self.core.borrow_mut().forget(&id);
                    return fail(ReplyError::new("error", "could not start the timeout"));
                }
            };
            if dom::post(&target, &msg, &self.storage_origin).is_err() {
                self.core.borrow_mut().forget(&id);
                return fail(ReplyError::new("error", "could not post to the storage target"));
            }
            self.st.borrow_mut().pending.push(Pending { id, resolve: resolve.clone(), reject: reject.clone(), _timeout: timeout });
        };
        Promise::new(&mut executor)
    }

    fn measure(&self, el: &Element) -> f64 {
        el.get_bounding_client_rect().height().ceil()
    }

    fn report_height(&self, height: f64, force: bool) -> Result<(), JsError> {
        {
            let mut st = self.st.borrow_mut();
            if !force && (height - st.last_height).abs() < 1.0 {
                return Ok(());
            }
            st.last_height = height;
        }
        let msg = tool::frame_resize(height).ok_or_else(|| JsError::new("height must be a non-negative number"))?;
        self.post_to_host(&msg)
    }

    fn destroy(self: &Rc<Self>) {
        let (listener, observer, pending) = {
            let mut st = self.st.borrow_mut();
            if st.destroyed {
                return;
            }
            st.destroyed = true;
            (st.listener.take(), st.observer.take(), std::mem::take(&mut st.pending))
        };
        drop((listener, observer));
        for p in pending {
            self.core.borrow_mut().forget(&p.id);
            let _ = p.reject.call1(&JsValue::UNDEFINED, &error_value(&ReplyError::new("error", "the client was destroyed")));
        }
        LIVE.with(|l| l.borrow_mut().retain(|c| !Rc::ptr_eq(c, self)));
    }
}

#[wasm_bindgen]
extern "C" {
    /// Tool client options (see the TypeScript `ToolClientOptions`).
    #[wasm_bindgen(typescript_type = "ToolClientOptions")]
    pub type ToolClientOptionsJs;
}

/// The tool page's side: reports its height, sends content selections, and uses the host's
/// platform storage. Messages go to the parent at the host's exact origin, never `*`.
#[wasm_bindgen]
pub struct ToolClient {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl ToolClient {
    /// A client for this page. `hostOrigin` defaults to `location.ancestorOrigins[0]` where the
    /// browser provides it; elsewhere it is required.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<ToolClientOptionsJs>) -> Result<ToolClient, JsError> {
        let window = web_sys::window().ok_or_else(|| JsError::new("no window"))?;
        let json = match &options {
            Some(o) => dom::to_json_text(o).map_err(|_| JsError::new("options must be a plain object"))?,
            None => "null".into(),
        };
        let cfg = ToolConfig::from_json(&json).map_err(|e| JsError::new(&e.message()))?;
        let host_origin = match cfg.host_origin {
            Some(o) => o,
            None => ancestor_origin(&window).ok_or_else(|| JsError::new("options.hostOrigin is required: this browser does not report the embedding page's origin"))?,
        };
        let storage_origin = cfg.storage_origin.unwrap_or_else(|| host_origin.clone());
        let inner = Rc::new(Inner {
            core: RefCell::new(ToolCore::default()),
            host_origin,
            storage_origin,
            storage_target: cfg.storage_target,
            timeout_ms: cfg.timeout_ms,
            window: window.clone(),
            st: RefCell::new(State::default()),
        });
        let weak = Rc::downgrade(&inner);
        let listener = Listener::new(&window, "message", move |e| {
            if let (Some(i), Ok(e)) = (weak.upgrade(), e.dyn_into::<MessageEvent>()) {
                i.on_message(&e);
            }
        })
        .map_err(js_err)?;
        inner.st.borrow_mut().listener = Some(listener);
        LIVE.with(|l| l.borrow_mut().push(inner.clone()));
        Ok(ToolClient { inner })
    }

    /// The host origin messages are sent to.
    #[wasm_bindgen(getter, js_name = hostOrigin)]
    pub fn host_origin(&self) -> String {
        self.inner.host_origin.clone()
    }

    /// Report the page's height now (measured from `<html>` when no height is given).
    #[wasm_bindgen(js_name = reportHeight)]
    pub fn report_height(&self, height: Option<f64>) -> Result<(), JsError> {
        let h = match height {
            Some(h) => h,
            None => {
                let doc = self.inner.window.document().and_then(|d| d.document_element()).ok_or_else(|| JsError::new("no document"))?;
                self.inner.measure(&doc)
            }
        };
        self.inner.report_height(h, true)
    }

    /// Keep reporting the height of `element` (default `<html>`) whenever it changes, through a
    /// ResizeObserver (at most once per frame, only on a change of at least 1 px). The height is
    /// also reported at once and on `load`: browsers do not render (so do not run observers in)
    /// cross-origin frames that are off screen, and a frame pushed below the fold before its first
    /// frame would otherwise keep the minimum height until scrolled into view.
    #[wasm_bindgen(js_name = autoResize)]
    pub fn auto_resize(&self, element: Option<Element>) -> Result<(), JsError> {
        let el = match element {
            Some(e) => e,
            None => self.inner.window.document().and_then(|d| d.document_element()).ok_or_else(|| JsError::new("no document"))?,
        };
        let report = {
            let weak = Rc::downgrade(&self.inner);
            let target = el.clone();
            move || {
                if let Some(i) = weak.upgrade() {
                    let h = i.measure(&target);
                    if let Err(e) = i.report_height(h, false) {
                        dom::report("lti-embed: could not report the height", &e.into());
                    }
                }
            }
        };
        let on_resize = report.clone();
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries| on_resize());
        let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).map_err(js_err)?;
        observer.observe(&el);
        let loaded = self.inner.window.document().is_some_and(|d| d.ready_state() == "complete");
        let on_load = if loaded {
            None
        } else {
            let on_load = report.clone();
            Some(Listener::new(&self.inner.window, "load", move |_| on_load()).map_err(js_err)?)
        };
        let old = self.inner.st.borrow_mut().observer.replace(Observer { observer, _callback: callback, _on_load: on_load, element: el });
        drop(old);
        report();
        Ok(())
    }

    /// Stop reporting height changes.
    #[wasm_bindgen(js_name = stopAutoResize)]
    pub fn stop_auto_resize(&self) {
        let old = self.inner.st.borrow_mut().observer.take();
        drop(old);
    }

    /// The element whose height is reported, while auto-resizing.
    #[wasm_bindgen(getter, js_name = observedElement)]
    pub fn observed_element(&self) -> Option<Element> {
        self.inner.st.borrow().observer.as_ref().map(|o| o.element.clone())
    }

    /// Send `lti.contentSelected` with one entry or an array of entries.
    #[wasm_bindgen(js_name = contentSelected, skip_typescript)]
    pub fn content_selected(&self, entries: JsValue) -> Result<(), JsError> {
        let text = dom::to_json_text(&entries).map_err(|_| JsError::new("entries must be serialisable"))?;
        let v = json::parse(&text, usize::MAX).map_err(|_| JsError::new("entries must be serialisable"))?;
        let msg = tool::content_selected(v).map_err(|e| JsError::new(&e.text()))?;
        self.inner.post_to_host(&msg)
    }

    /// Send any other message, `{subject, ...fields}` (checked like the host would).
    #[wasm_bindgen(skip_typescript)]
    pub fn send(&self, subject: &str, fields: JsValue) -> Result<(), JsError> {
        let text = dom::to_json_text(&fields).map_err(|_| JsError::new("fields must be serialisable"))?;
        let v = json::parse(&text, usize::MAX).map_err(|_| JsError::new("fields must be serialisable"))?;
        let msg = tool::message(subject, v).map_err(|e| JsError::new(&e.text()))?;
        self.inner.post_to_host(&msg)
    }

    /// `lti.put_data` (a `null` or empty value clears the key).
    #[wasm_bindgen(js_name = putData, skip_typescript)]
    pub fn put_data(&self, key: String, value: Option<String>) -> Promise {
        self.inner.request(Request::PutData { key, value })
    }

    /// `lti.get_data`: the value, or `null`.
    #[wasm_bindgen(js_name = getData, skip_typescript)]
    pub fn get_data(&self, key: String) -> Promise {
        self.inner.request(Request::GetData { key })
    }

    /// `lti.capabilities`: the subjects the host supports.
    #[wasm_bindgen(skip_typescript)]
    pub fn capabilities(&self) -> Promise {
        self.inner.request(Request::Capabilities)
    }

    /// Stop: remove the listener and the observer; outstanding requests reject.
    pub fn destroy(&self) {
        self.inner.destroy();
    }
}
