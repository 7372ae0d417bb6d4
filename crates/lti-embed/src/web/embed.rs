//! An embed's state and decisions (`Embed` in `js/kit.js`).

use std::cell::RefCell;

use lti_core::json::{self, Object, Value};
use lti_core::messages::{Height, PlatformStorage};

use super::{effects, error, fx, op, Slots};
use crate::host::{self, dropped_detail, obj, Channel, Effect, Env, Event, HostCore, Listening, Verdict, WindowSize};
use crate::options::{EmbedConfig, Launch};
use crate::text;

thread_local! {
    /// LTI Platform Storage of this page, shared by its embeds, partitioned by tool origin.
    static STORAGE: RefCell<PlatformStorage> = RefCell::new(PlatformStorage::default());
    static EMBEDS: RefCell<Slots<State>> = const { RefCell::new(Slots::new()) };
}

/// Animation frame kinds the JS side requests (`["f", kind]`).
const LAYOUT_FRAME: u32 = 3;
const SCROLL_FRAME: u32 = 4;

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

struct State {
    core: HostCore,
    destroyed: bool,
    listening: Listening,
    stats: Stats,
    height: f64,
    /// The sender's origin and channel between `ORIGIN` (accepted) and `DATA`.
    from: Option<(String, Channel)>,
    pending_resize: Option<(Height, Value)>,
    layout_requested: bool,
    /// The origin `lti.scroll` goes to, once the tool enabled scroll events.
    scroll: Option<String>,
    scroll_requested: bool,
    /// A `lti.fetchWindowSize` waiting for the JS side's geometry (`SIZE`).
    size_request: Option<(String, Option<Value>, String)>,
    last_origin: Option<String>,
}

/// `<prefix><whole pixels>px`.
fn px(prefix: &str, height: f64) -> String {
    let mut s = String::with_capacity(prefix.len() + 8);
    s.push_str(prefix);
    text::push_uint(&mut s, u64::from(height as u32));
    s.push_str("px");
    s
}

/// What the JS side builds: the iframe's attributes and the launch.
fn spec(id: u32, cfg: &EmbedConfig, min: f64) -> String {
    let mut m = Object::new().with("id", id).with("title", cfg.title.as_str()).with("allow", cfg.allow.as_str()).with("minHeight", min);
    if let Some(n) = &cfg.name {
        m.insert("name", n.as_str().into());
    }
    if let Some(s) = &cfg.sandbox {
        m.insert("sandbox", s.as_str().into());
    }
    if let Some(f) = &cfg.storage_frame {
        m.insert("frame", f.as_str().into());
    }
    m.insert("style", px("display:block;width:100%;border:0;height:", cfg.min_height).into());
    match &cfg.launch {
        Launch::Url(url) => m.insert("url", url.as_str().into()),
        Launch::Form { action, method, fields } => {
            let fields = fields.iter().map(|(k, v)| Value::Array(vec![k.as_str().into(), v.as_str().into()])).collect();
            m.insert("form", obj([("action", action.as_str().into()), ("method", Value::from(&**method)), ("fields", Value::Array(fields))]));
        }
    }
    json::to_string(&Value::Object(m))
}

/// One embed operation.
pub(super) fn run(op: u32, id: u32, x: f64, a: &str) -> String {
    if op == op::OPEN {
        return match EmbedConfig::from_json(a) {
            Ok(cfg) => {
                let core = HostCore::new(&cfg);
                let min = core.min_height();
                let st = State {
                    core,
                    destroyed: false,
                    listening: Listening::default(),
                    stats: Stats::default(),
                    height: min,
                    from: None,
                    pending_resize: None,
                    layout_requested: false,
                    scroll: None,
                    scroll_requested: false,
                    size_request: None,
                    last_origin: None,
                };
                let id = EMBEDS.with(|e| e.borrow_mut().insert(st));
                spec(id, &cfg, min)
            }
            Err(e) => error(&e.message()),
        };
    }
    EMBEDS.with(|e| match e.borrow_mut().get(id) {
        Some(st) => st.run(op, x, a),
        None => error("unknown embed"),
    })
}

impl State {
    fn run(&mut self, op: u32, x: f64, a: &str) -> String {
        match op {
            op::STATS => {
                let s = self.stats;
                return json::to_string(&obj([
                    ("accepted", s.accepted.into()),
                    ("dropped", s.dropped.into()),
                    ("badRequests", s.bad_requests.into()),
                    ("ignored", s.ignored.into()),
                    ("replies", s.replies.into()),
                    ("layouts", s.layouts.into()),
                ]));
            }
            op::POST => return self.post(a),
            _ => {}
        }
        if self.destroyed {
            return String::new();
        }
        let mut out = Vec::new();
        match op {
            op::LISTEN => {
                let bits = x as u32;
                for (i, e) in Event::ALL.into_iter().enumerate() {
                    self.listening.set(e, bits & (1 << i) != 0);
                }
            }
            op::IGNORED => self.stats.ignored += 1,
            // 2. The origin must be on the exact allow-list ("null" never is); only then does
            //    the JS side read `data`.
            op::ORIGIN => match self.core.origins().check(a) {
                Ok(allowed) => {
                    let channel = if x == 1.0 { Channel::StorageFrame } else { Channel::Parent };
                    self.from = Some((allowed.as_str().to_string(), channel));
                    return "1".into();
                }
                Err(reason) => self.drop_message(reason, a, &mut out),
            },
            // 3. Data: a JSON string or an object (serialised by the JS side), size-limited,
            //    parsed by the core.
            op::DATA => self.receive(a, &mut out),
            op::BAD_DATA => {
                if let Some((origin, _)) = self.from.take() {
                    let reason = match x as u32 {
                        1 => "not serialisable",
                        3 => "too large",
                        _ => "not an object",
                    };
                    self.drop_message(reason, &origin, &mut out);
                }
            }
            op::LAYOUT => self.layout(x, &mut out),
            // One `lti.scroll` per animation frame at most.
            op::SCROLLED if self.scroll.is_some() && !self.scroll_requested => {
                self.scroll_requested = true;
                out.push(fx("f", [SCROLL_FRAME.into()]));
            }
            op::SCROLL_FRAME => {
                self.scroll_requested = false;
                if let Some(origin) = &self.scroll {
                    out.push(fx("q", [host::scroll_message(x), origin.as_str().into()]));
                }
            }
            op::SIZE => {
                if let (Some((subject, id, origin)), Ok(Value::Array(g))) = (self.size_request.take(), json::parse(a, 1024)) {
                    let n = |i: usize| g.get(i).and_then(Value::as_f64).unwrap_or(0.0);
                    let size = WindowSize { height: n(0), width: n(1), top: n(2), left: n(3), footer: 0.0, scroll_y: n(4) };
                    self.reply(host::window_size_reply(&subject, id.as_ref(), &size), &origin, &mut out);
                }
            }
            op::UNSENT => self.stats.replies = self.stats.replies.saturating_sub(1),
            op::CLOSE => {
                self.destroyed = true;
                self.listening = Listening::default();
                self.pending_resize = None;
                self.scroll = None;
                self.size_request = None;
            }
            _ => {}
        }
        effects(out)
    }

    fn drop_message(&mut self, reason: &'static str, origin: &str, out: &mut Vec<Value>) {
        self.stats.dropped += 1;
        if self.listening.has(Event::Dropped) {
            out.push(emit(Event::Dropped, dropped_detail(reason, Some(origin), None)));
        }
    }

    /// Replies go to the sender: the embed's iframe window, at the exact origin it spoke from
    /// (counted as sent; the JS side reports `UNSENT` if posting failed).
    fn reply(&mut self, msg: Value, origin: &str, out: &mut Vec<Value>) {
        self.stats.replies += 1;
        out.push(fx("p", [msg, origin.into()]));
    }

    fn receive(&mut self, text: &str, out: &mut Vec<Value>) {
        let Some((origin, channel)) = self.from.take() else { return };
        let Ok(allowed) = self.core.origins().check(&origin) else { return };
        let env = Env { listening: self.listening };
        let outcome = STORAGE.with(|s| self.core.receive(allowed, text, channel, &env, &mut s.borrow_mut()));
        match outcome.verdict {
            Verdict::Accepted => {
                self.stats.accepted += 1;
                if self.last_origin.as_deref() != Some(origin.as_str()) {
                    self.last_origin = Some(origin.clone());
                }
            }
            Verdict::Dropped(_) => self.stats.dropped += 1,
            Verdict::BadRequest(_) => self.stats.bad_requests += 1,
        }
        for effect in outcome.effects {
            match effect {
                Effect::Resize { height, requested } => {
                    self.pending_resize = Some((height, requested));
                    // Coalesced: one layout per animation frame, for the last request.
                    if !self.layout_requested {
                        self.layout_requested = true;
                        out.push(fx("f", [LAYOUT_FRAME.into()]));
                    }
                }
                // Details are copied to JavaScript only when host code listens.
                Effect::Emit(event, detail) if self.listening.has(event) => out.push(emit(event, detail)),
                Effect::Emit(..) => {}
                Effect::Reply(msg) => self.reply(msg, &origin, out),
                Effect::ScrollToTop => out.push(fx("t", [])),
                Effect::SendWindowSize { subject, message_id } => {
                    self.size_request = Some((subject, message_id, origin.clone()));
                    out.push(fx("w", []));
                }
                Effect::EnableScrollEvents => {
                    if self.scroll.is_none() {
                        self.scroll = Some(origin.clone());
                        out.push(fx("s", []));
                    }
                }
                Effect::SetUnloadMessage(text) => out.push(fx("u", [text.map_or(Value::Null, Value::String)])),
                Effect::Announce(text) => out.push(fx("a", [text.into()])),
            }
        }
    }

    /// The animation frame after one or more resize requests: one layout for the last of them,
    /// clamped against the viewport of that frame.
    fn layout(&mut self, viewport: f64, out: &mut Vec<Value>) {
        self.layout_requested = false;
        let Some((height, requested)) = self.pending_resize.take() else { return };
        let height = self.core.clamp(height, viewport);
        if height == self.height {
            return;
        }
        self.height = height;
        self.stats.layouts += 1;
        out.push(fx("h", [px("", height).into(), height.into()]));
        if self.listening.has(Event::Resize) {
            out.push(emit(Event::Resize, obj([("height", height.into()), ("requested", requested)])));
        }
    }

    /// `Embed.post`: to the tool at the origin it last spoke from (never `*`).
    fn post(&self, text: &str) -> String {
        let Ok(msg) = json::parse(text, usize::MAX) else { return error("message must be serialisable") };
        if !msg.is_object() {
            return error("message must be an object");
        }
        match &self.last_origin {
            Some(origin) => effects(vec![fx("q", [msg, origin.as_str().into()])]),
            None => error("the tool has not sent an accepted message yet"),
        }
    }
}

/// Call host listeners of an event (only built when some listen).
fn emit(event: Event, detail: Value) -> Value {
    fx("e", [event.name().into(), detail])
}
