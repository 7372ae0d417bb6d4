//! `Embed`: one tool iframe in a host page, its messages and its events.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Reflect};
use lti_core::json::{self, Value};
use lti_core::messages::{Height, PlatformStorage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlFormElement, HtmlIFrameElement, HtmlInputElement, MessageEvent, Window};

use super::dom::{self, FrameRequest, Listener};
use crate::host::{self, dropped_detail, obj, Channel, Effect, Env, Event, HostCore, Listening, Verdict, WindowSize};
use crate::options::{EmbedConfig, Launch};
use crate::text;

thread_local! {
    /// LTI Platform Storage of this page, shared by its embeds, partitioned by tool origin.
    static STORAGE: RefCell<PlatformStorage> = RefCell::new(PlatformStorage::default());
    /// Embeds alive on this page: an embed lives until `destroy()`, whether or not JavaScript
    /// keeps a reference to it (a garbage-collected wrapper must not silently stop resizing).
    static LIVE: RefCell<Vec<Rc<Inner>>> = const { RefCell::new(Vec::new()) };
    /// Named storage frames, shared by the embeds that name them.
    static STORAGE_FRAMES: RefCell<Vec<Rc<StorageFrame>>> = const { RefCell::new(Vec::new()) };
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// Counters of one embed.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    accepted: u32,
    dropped: u32,
    bad_requests: u32,
    ignored: u32,
    replies: u32,
    layouts: u32,
}

/// A hidden, same-origin `about:blank` frame a tool can post storage requests into
/// (`lti_storage_target=<name>`).
struct StorageFrame {
    name: String,
    iframe: HtmlIFrameElement,
    window: Window,
    /// `(w, m, o) => w.postMessage(m, o)` created in the frame's realm, so replies come from the
    /// frame the tool wrote to. `None` when the page's CSP forbids it: replies then come from
    /// the host window (same origin).
    relay: Option<Function>,
    refs: Cell<usize>,
}

struct Inner {
    core: HostCore,
    name: String,
    window: Window,
    iframe: HtmlIFrameElement,
    live: HtmlElement,
    layout_cb: Closure<dyn FnMut()>,
    scroll_cb: Closure<dyn FnMut()>,
    st: RefCell<State>,
}

#[derive(Default)]
struct State {
    destroyed: bool,
    callbacks: Vec<(Event, Function)>,
    listening: Listening,
    stats: Stats,
    listeners: Vec<Listener>,
    storage_frame: Option<Rc<StorageFrame>>,
    form: Option<HtmlFormElement>,
    height: f64,
    pending_resize: Option<(Height, Value)>,
    layout_frame: Option<FrameRequest>,
    scroll: Option<(Listener, String)>,
    scroll_frame: Option<FrameRequest>,
    unload: Option<Listener>,
    last_origin: Option<String>,
}

fn js_err(e: JsValue) -> JsError {
    JsError::new(&e.as_string().unwrap_or_else(|| "browser call failed".into()))
}

/// `<prefix><whole pixels>px`.
fn px(prefix: &str, height: f64) -> String {
    let mut s = String::with_capacity(prefix.len() + 8);
    s.push_str(prefix);
    text::push_uint(&mut s, u64::from(height as u32));
    s.push_str("px");
    s
}

fn event_named(name: &str) -> Result<Event, JsError> {
    Event::from_name(name).ok_or_else(|| JsError::new(&text::concat(&["unknown event \"", name, "\""])))
}

fn unique_name(document: &Document) -> String {
    loop {
        let n = COUNTER.with(|c| {
            c.set(c.get().wrapping_add(1));
            c.get()
        });
        let mut name = String::with_capacity(24);
        name.push_str("lti-embed-");
        text::push_uint(&mut name, u64::from(n));
        name.push('-');
        text::push_hex(&mut name, (js_sys::Math::random() * 16_777_216.0) as u32, 6);
        if !name_taken(document, &name) {
            return name;
        }
    }
}

fn name_taken(document: &Document, name: &str) -> bool {
    // Names are [A-Za-z0-9_-] (validated), so they are safe inside the selector.
    document.query_selector(&text::concat(&["iframe[name=\"", name, "\"]"])).ok().flatten().is_some()
        || LIVE.with(|l| l.borrow().iter().any(|e| e.name == name))
}

fn acquire_storage_frame(document: &Document, name: &str) -> Result<Rc<StorageFrame>, JsError> {
    if let Some(f) = STORAGE_FRAMES.with(|s| s.borrow().iter().find(|f| f.name == name).cloned()) {
        f.refs.set(f.refs.get() + 1);
        return Ok(f);
    }
    if name_taken(document, name) {
        return Err(JsError::new("options.storageFrame: another frame on this page already has that name"));
    }
    let iframe: HtmlIFrameElement = document.create_element("iframe").map_err(js_err)?.unchecked_into();
    iframe.set_name(name);
    for (k, v) in [("title", "LTI platform storage"), ("aria-hidden", "true"), ("tabindex", "-1"), ("style", "display:none")] {
        iframe.set_attribute(k, v).map_err(js_err)?;
    }
    let body = document.body().ok_or_else(|| JsError::new("the page has no body"))?;
    body.append_child(&iframe).map_err(js_err)?;
    let window = iframe.content_window().ok_or_else(|| JsError::new("storage frame has no window"))?;
    let relay = Reflect::get(&window, &"Function".into())
        .ok()
        .and_then(|ctor| ctor.dyn_into::<Function>().ok())
        .and_then(|ctor| {
            let args = js_sys::Array::of4(&"w".into(), &"m".into(), &"o".into(), &"w.postMessage(m, o)".into());
            Reflect::construct(&ctor, &args).ok()
        })
        .and_then(|f| f.dyn_into::<Function>().ok());
    let frame = Rc::new(StorageFrame { name: name.to_string(), iframe, window, relay, refs: Cell::new(1) });
    STORAGE_FRAMES.with(|s| s.borrow_mut().push(frame.clone()));
    Ok(frame)
}

fn release_storage_frame(frame: &Rc<StorageFrame>) {
    let left = frame.refs.get().saturating_sub(1);
    frame.refs.set(left);
    if left == 0 {
        frame.iframe.remove();
        STORAGE_FRAMES.with(|s| s.borrow_mut().retain(|f| !Rc::ptr_eq(f, frame)));
    }
}

impl Inner {
    fn create(container: &Element, cfg: EmbedConfig) -> Result<Rc<Self>, JsError> {
        let window = web_sys::window().ok_or_else(|| JsError::new("no window"))?;
        let document = window.document().ok_or_else(|| JsError::new("no document"))?;
        let name = match &cfg.name {
            Some(n) if name_taken(&document, n) => return Err(JsError::new("options.name: another iframe on this page already has that name")),
            Some(n) => n.clone(),
            None => unique_name(&document),
        };

        let iframe: HtmlIFrameElement = document.create_element("iframe").map_err(js_err)?.unchecked_into();
        iframe.set_name(&name);
        iframe.set_attribute("title", &cfg.title).map_err(js_err)?;
        iframe.set_attribute("allow", &cfg.allow).map_err(js_err)?;
        if let Some(s) = &cfg.sandbox {
            iframe.set_attribute("sandbox", s).map_err(js_err)?;
        }
        iframe.set_attribute("class", "lti-embed-frame").map_err(js_err)?;
        iframe
            .set_attribute("style", &px("display:block;width:100%;border:0;height:", cfg.min_height))
            .map_err(js_err)?;

        // A polite live region for tool alerts (text only, never HTML).
        let live: HtmlElement = document.create_element("div").map_err(js_err)?.unchecked_into();
        for (k, v) in [
            ("class", "lti-embed-live"),
            ("role", "status"),
            ("aria-live", "polite"),
            ("style", "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0"),
        ] {
            live.set_attribute(k, v).map_err(js_err)?;
        }

        let storage_frame = cfg.storage_frame.as_deref().map(|n| acquire_storage_frame(&document, n)).transpose()?;
        let core = HostCore::new(&cfg);
        let min = core.min_height();
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let (w1, w2) = (weak.clone(), weak.clone());
            Inner {
                core,
                name: name.clone(),
                window: window.clone(),
                iframe: iframe.clone(),
                live: live.clone(),
                layout_cb: Closure::new(move || {
                    if let Some(i) = w1.upgrade() {
                        i.layout();
                    }
                }),
                scroll_cb: Closure::new(move || {
                    if let Some(i) = w2.upgrade() {
                        i.send_scroll();
                    }
                }),
                st: RefCell::new(State { height: min, storage_frame: storage_frame.clone(), ..State::default() }),
            }
        });

        // Listen before the iframe exists in the page, so no early message is missed.
        let weak = Rc::downgrade(&inner);
        let on_parent = Listener::new(&window, "message", move |e| {
            if let (Some(i), Ok(e)) = (weak.upgrade(), e.dyn_into::<MessageEvent>()) {
                i.on_message(&e, Channel::Parent);
            }
        });
        let on_frame = storage_frame.as_ref().map(|f| {
            let weak = Rc::downgrade(&inner);
            Listener::new(&f.window, "message", move |e| {
                // The event comes from the frame's realm: `instanceof MessageEvent` (dyn_into)
                // would be false there, but a "message" listener only ever gets MessageEvents.
                if let Some(i) = weak.upgrade() {
                    i.on_message(e.unchecked_ref::<MessageEvent>(), Channel::StorageFrame);
                }
            })
        });
        let fail = |inner: &Rc<Inner>, e: JsValue| {
            inner.destroy();
            js_err(e)
        };
        match on_parent {
            Ok(l) => inner.st.borrow_mut().listeners.push(l),
            Err(e) => return Err(fail(&inner, e)),
        }
        match on_frame.transpose() {
            Ok(Some(l)) => inner.st.borrow_mut().listeners.push(l),
            Ok(None) => {}
            Err(e) => return Err(fail(&inner, e)),
        }
        LIVE.with(|l| l.borrow_mut().push(inner.clone()));

        if let Err(e) = container.append_child(&iframe).and_then(|_| container.append_child(&live)) {
            return Err(fail(&inner, e));
        }
        match &cfg.launch {
            Launch::Url(url) => iframe.set_src(url),
            Launch::Form { action, method, fields } => {
                if let Err(e) = inner.submit_form(&document, container, action, method, fields) {
                    return Err(fail(&inner, e));
                }
            }
        }
        Ok(inner)
    }

    fn submit_form(&self, document: &Document, container: &Element, action: &str, method: &str, fields: &[(String, String)]) -> Result<(), JsValue> {
        let form: HtmlFormElement = document.create_element("form")?.unchecked_into();
        form.set_method(method);
        form.set_action(action);
        form.set_target(&self.name);
        form.set_attribute("style", "display:none")?;
        form.set_attribute("class", "lti-embed-launch")?;
        for (k, v) in fields {
            let input: HtmlInputElement = document.create_element("input")?.unchecked_into();
            input.set_type("hidden");
            input.set_name(k);
            input.set_value(v);
            form.append_child(&input)?;
        }
        container.append_child(&form)?;
        form.submit()?;
        // The form stays (hidden) until destroy: removing it right after submit() is allowed to
        // cancel the submission in some browsers.
        self.st.borrow_mut().form = Some(form);
        Ok(())
    }

    fn viewport(&self) -> f64 {
        self.window.inner_height().ok().and_then(|v| v.as_f64()).unwrap_or(0.0)
    }

    fn drop_message(&self, reason: &'static str, origin: &str) {
        let listening = {
            let mut st = self.st.borrow_mut();
            st.stats.dropped += 1;
            st.listening.has(Event::Dropped)
        };
        if listening {
            self.emit(Event::Dropped, &dropped_detail(reason, Some(origin), None));
        }
    }

    /// Every message posted to the page (or to this embed's storage frame) comes here first.
    fn on_message(self: &Rc<Self>, ev: &MessageEvent, channel: Channel) {
        if self.st.borrow().destroyed {
            return;
        }
        // 1. The sender must be this embed's own iframe window (identity, never a tool-supplied
        //    id): another tool cannot resize or read replies meant for this one.
        let Some(own) = self.iframe.content_window() else { return };
        let own: JsValue = own.into();
        let from_own = ev.source().is_some_and(|s| JsValue::from(s) == own);
        if !from_own {
            self.st.borrow_mut().stats.ignored += 1;
            return;
        }
        // 2. Its origin must be on the exact allow-list ("null" never is); only then is
        //    `data` read.
        let origin = ev.origin();
        let allowed = match self.core.origins().check(&origin) {
            Ok(a) => a,
            Err(reason) => return self.drop_message(reason, &origin),
        };
        // 3. Data: a JSON string or an object, size-limited, parsed by the core.
        let text = match dom::message_text(&ev.data()) {
            Ok(t) => t,
            Err(reason) => return self.drop_message(reason, &origin),
        };
        let env = Env { listening: self.st.borrow().listening };
        let outcome = STORAGE.with(|s| self.core.receive(allowed, &text, channel, &env, &mut s.borrow_mut()));
        {
            let mut st = self.st.borrow_mut();
            match outcome.verdict {
                Verdict::Accepted => {
                    st.stats.accepted += 1;
                    if st.last_origin.as_deref() != Some(allowed.as_str()) {
                        st.last_origin = Some(allowed.as_str().to_string());
                    }
                }
                Verdict::Dropped(_) => st.stats.dropped += 1,
                Verdict::BadRequest(_) => st.stats.bad_requests += 1,
            }
        }
        for effect in outcome.effects {
            // A listener may have destroyed the embed.
            if self.st.borrow().destroyed {
                return;
            }
            self.perform(effect, &own, allowed.as_str(), channel);
        }
    }

    fn reply(&self, to: &JsValue, msg: &Value, origin: &str, channel: Channel) {
        let relay = match channel {
            Channel::StorageFrame => self.st.borrow().storage_frame.as_ref().and_then(|f| f.relay.clone()),
            Channel::Parent => None,
        };
        let sent = match relay {
            Some(r) => dom::post_via(&r, to, msg, origin),
            None => dom::post(to, msg, origin),
        };
        if sent.is_ok() {
            self.st.borrow_mut().stats.replies += 1;
        }
    }

    fn perform(self: &Rc<Self>, effect: Effect, own: &JsValue, origin: &str, channel: Channel) {
        match effect {
            Effect::Resize { height, requested } => {
                let mut st = self.st.borrow_mut();
                st.pending_resize = Some((height, requested));
                if st.layout_frame.is_none() {
                    st.layout_frame = FrameRequest::new(&self.window, &self.layout_cb);
                }
            }
            Effect::Emit(event, detail) => self.emit(event, &detail),
            Effect::Reply(msg) => self.reply(own, &msg, origin, channel),
            Effect::ScrollToTop => self.iframe.scroll_into_view(),
            Effect::SendWindowSize { subject, message_id } => {
                let rect = self.iframe.get_bounding_client_rect();
                let num = |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
                let scroll_y = self.window.scroll_y().unwrap_or(0.0);
                let size = WindowSize {
                    height: num(self.window.inner_height()),
                    width: num(self.window.inner_width()),
                    top: rect.top() + scroll_y,
                    left: rect.left() + self.window.scroll_x().unwrap_or(0.0),
                    footer: 0.0,
                    scroll_y,
                };
                self.reply(own, &host::window_size_reply(&subject, message_id.as_ref(), &size), origin, channel);
            }
            Effect::EnableScrollEvents => {
                if self.st.borrow().scroll.is_some() {
                    return;
                }
                let weak = Rc::downgrade(self);
                let listener = Listener::new(&self.window, "scroll", move |_| {
                    if let Some(i) = weak.upgrade() {
                        let mut st = i.st.borrow_mut();
                        if st.scroll_frame.is_none() {
                            st.scroll_frame = FrameRequest::new(&i.window, &i.scroll_cb);
                        }
                    }
                });
                if let Ok(l) = listener {
                    self.st.borrow_mut().scroll = Some((l, origin.to_string()));
                }
            }
            Effect::SetUnloadMessage(Some(text)) => {
                let listener = Listener::new(&self.window, "beforeunload", move |e| {
                    e.prevent_default();
                    let _ = Reflect::set(&e, &"returnValue".into(), &JsValue::from_str(&text));
                });
                self.st.borrow_mut().unload = listener.ok();
            }
            Effect::SetUnloadMessage(None) => {
                let old = self.st.borrow_mut().unload.take();
                drop(old);
            }
            Effect::Announce(text) => {
                // Clear first so the same text is announced again.
                self.live.set_text_content(None);
                self.live.set_text_content(Some(&text));
            }
        }
    }

    /// The animation frame after one or more resize requests: one layout for the last of them,
    /// clamped against the viewport of that frame.
    fn layout(&self) {
        let (height, requested) = {
            let mut st = self.st.borrow_mut();
            if let Some(f) = st.layout_frame.take() {
                f.ran();
            }
            match st.pending_resize.take() {
                Some(p) if !st.destroyed => p,
                _ => return,
            }
        };
        let height = self.core.clamp(height, self.viewport());
        if height == self.st.borrow().height || self.iframe.style().set_property("height", &px("", height)).is_err() {
            return;
        }
        {
            let mut st = self.st.borrow_mut();
            st.height = height;
            st.stats.layouts += 1;
        }
        self.emit(Event::Resize, &obj([("height", height.into()), ("requested", requested)]));
    }

    fn send_scroll(&self) {
        let origin = {
            let mut st = self.st.borrow_mut();
            if let Some(f) = st.scroll_frame.take() {
                f.ran();
            }
            match &st.scroll {
                Some((_, o)) if !st.destroyed => o.clone(),
                _ => return,
            }
        };
        if let Some(w) = self.iframe.content_window() {
            let msg = host::scroll_message(self.window.scroll_y().unwrap_or(0.0));
            let _ = dom::post(&w.into(), &msg, &origin);
        }
    }

    /// Call host listeners; no borrow is held while they run (they may call on/off/destroy).
    fn emit(&self, event: Event, detail: &Value) {
        let fns: Vec<Function> = self.st.borrow().callbacks.iter().filter(|(e, _)| *e == event).map(|(_, f)| f.clone()).collect();
        if fns.is_empty() {
            return;
        }
        let d = dom::to_js(detail);
        for f in fns {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, &d) {
                dom::report("lti-embed: an event listener threw", &e);
            }
        }
    }

    fn destroy(self: &Rc<Self>) {
        let taken = {
            let mut st = self.st.borrow_mut();
            if st.destroyed {
                return;
            }
            st.destroyed = true;
            st.callbacks.clear();
            st.listening = Listening::default();
            st.pending_resize = None;
            (
                std::mem::take(&mut st.listeners),
                st.layout_frame.take(),
                st.scroll.take(),
                st.scroll_frame.take(),
                st.unload.take(),
                st.storage_frame.take(),
                st.form.take(),
            )
        };
        let (listeners, layout_frame, scroll, scroll_frame, unload, storage_frame, form) = taken;
        // Dropping removes each listener and cancels each frame request.
        drop((listeners, layout_frame, scroll, scroll_frame, unload));
        if let Some(f) = storage_frame {
            release_storage_frame(&f);
        }
        if let Some(f) = form {
            f.remove();
        }
        self.iframe.remove();
        self.live.remove();
        LIVE.with(|l| l.borrow_mut().retain(|e| !Rc::ptr_eq(e, self)));
    }
}

#[wasm_bindgen]
extern "C" {
    /// Embed options (see the TypeScript `EmbedOptions`).
    #[wasm_bindgen(typescript_type = "EmbedOptions")]
    pub type EmbedOptionsJs;
}

/// A tool iframe in the host page: launched by URL or form, resized to what the tool reports,
/// with its messages checked and turned into events.
#[wasm_bindgen]
pub struct Embed {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Embed {
    /// Create the iframe in `container` and launch it.
    #[wasm_bindgen(constructor)]
    pub fn new(container: &Element, options: &EmbedOptionsJs) -> Result<Embed, JsError> {
        let json = dom::to_json_text(options).map_err(|_| JsError::new("options must be a plain object"))?;
        let cfg = EmbedConfig::from_json(&json).map_err(|e| JsError::new(&e.message()))?;
        Ok(Embed { inner: Inner::create(container, cfg)? })
    }

    /// Listen to an event.
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, event: &str, listener: Function) -> Result<(), JsError> {
        let e = event_named(event)?;
        let mut st = self.inner.st.borrow_mut();
        if st.destroyed {
            return Err(JsError::new("this embed was destroyed"));
        }
        if !st.callbacks.iter().any(|(k, f)| *k == e && Object::is(f, &listener)) {
            st.callbacks.push((e, listener));
        }
        st.listening.set(e, true);
        Ok(())
    }

    /// Stop listening (the same function that was passed to `on`).
    #[wasm_bindgen(skip_typescript)]
    pub fn off(&self, event: &str, listener: Function) -> Result<(), JsError> {
        let e = event_named(event)?;
        let mut st = self.inner.st.borrow_mut();
        st.callbacks.retain(|(k, f)| !(*k == e && Object::is(f, &listener)));
        let still = st.callbacks.iter().any(|(k, _)| *k == e);
        st.listening.set(e, still);
        Ok(())
    }

    /// Send a message to the tool, at the origin it last spoke from (never `*`).
    #[wasm_bindgen(skip_typescript)]
    pub fn post(&self, message: JsValue) -> Result<(), JsError> {
        let text = dom::to_json_text(&message).map_err(|_| JsError::new("message must be serialisable"))?;
        let msg = json::parse(&text, usize::MAX).map_err(|_| JsError::new("message must be serialisable"))?;
        if !msg.is_object() {
            return Err(JsError::new("message must be an object"));
        }
        let origin = self.inner.st.borrow().last_origin.clone().ok_or_else(|| JsError::new("the tool has not sent an accepted message yet"))?;
        let win = self.inner.iframe.content_window().ok_or_else(|| JsError::new("the iframe has no window"))?;
        dom::post(&win.into(), &msg, &origin).map_err(js_err)
    }

    /// Remove the iframe and every listener, timer and frame request of this embed.
    pub fn destroy(&self) {
        self.inner.destroy();
    }

    /// Counters: `{accepted, dropped, badRequests, ignored, replies, layouts}`.
    #[wasm_bindgen(skip_typescript)]
    pub fn stats(&self) -> JsValue {
        let s = self.inner.st.borrow().stats;
        dom::to_js(&obj([
            ("accepted", s.accepted.into()),
            ("dropped", s.dropped.into()),
            ("badRequests", s.bad_requests.into()),
            ("ignored", s.ignored.into()),
            ("replies", s.replies.into()),
            ("layouts", s.layouts.into()),
        ]))
    }

    /// The frame name (the launch form's target).
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The iframe element.
    #[wasm_bindgen(getter)]
    pub fn iframe(&self) -> HtmlIFrameElement {
        self.inner.iframe.clone()
    }

    /// Current height, px.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> f64 {
        self.inner.st.borrow().height
    }

    /// Whether `destroy()` was called.
    #[wasm_bindgen(getter)]
    pub fn destroyed(&self) -> bool {
        self.inner.st.borrow().destroyed
    }
}

/// Embeds alive on the page (not yet destroyed).
#[wasm_bindgen(js_name = liveEmbeds)]
pub fn live_embeds() -> usize {
    LIVE.with(|l| l.borrow().len())
}
