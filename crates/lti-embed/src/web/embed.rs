//! An embed's state and decisions (`Embed` in `js/kit.js`).

use std::cell::RefCell;

use lti_messages::json::{self, Object, Value};
use lti_messages::messages::{Height, PlatformStorage};

use super::{effects, error, fx, Slots};
use crate::host::{
    self, dropped_detail, obj, Channel, Effect, Env, Event, HostCore, Listening, RateLimit, Verdict, WindowSize,
};
use crate::options::{EmbedConfig, Launch};
use crate::protocol::{arg, bad_data, effect, frame, op, result};
use crate::text;

thread_local! {
    /// LTI Platform Storage of this page, shared by its embeds, partitioned by tool origin.
    static STORAGE: RefCell<PlatformStorage> = RefCell::new(PlatformStorage::default());
    static EMBEDS: RefCell<Slots<State>> = const { RefCell::new(Slots::new()) };
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
    /// Messages dropped by the message or reply rate limit (not in `dropped`).
    rate_limited: u32,
    /// `lti.scrollToTop` honoured / refused (policy, no user gesture, or too soon).
    scrolls: u32,
    scrolls_refused: u32,
}

struct State {
    core: HostCore,
    listening: Listening,
    /// Messages read, and replies sent, per second (token buckets on the JS side's clock).
    messages: RateLimit,
    replies: RateLimit,
    /// When a `dropped` event last reported rate-limited messages (ms): at most one a second.
    limited_reported: Option<f64>,
    /// When the last `lti.scrollToTop` was honoured (ms).
    last_scroll: Option<f64>,
    /// The first accepted message arrived (`ready`).
    ready: bool,
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
    let mut m = Object::new()
        .with("id", id)
        .with("title", cfg.title.as_str())
        .with("allow", cfg.allow.as_str())
        .with("minHeight", min);
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
            m.insert(
                "form",
                obj([
                    ("action", action.as_str().into()),
                    ("method", Value::from(&**method)),
                    ("fields", Value::Array(fields)),
                ]),
            );
        }
        Launch::Adopted => {}
    }
    json::to_string(&Value::Object(m))
}

/// One embed operation.
pub(super) fn run(op: u32, id: u32, x: f64, a: &str, b: &str) -> String {
    if op == op::OPEN {
        // `Embed.attach`: the iframe exists; no launch required.
        let cfg = if x == f64::from(arg::ADOPT) { EmbedConfig::adopting(a) } else { EmbedConfig::from_json(a) };
        return match cfg {
            Ok(cfg) => {
                let core = HostCore::new(&cfg);
                let min = core.min_height();
                let st = State {
                    core,
                    listening: Listening::default(),
                    messages: RateLimit::new(host::MESSAGE_BURST, host::MESSAGES_PER_SECOND),
                    replies: RateLimit::new(host::REPLY_BURST, host::REPLIES_PER_SECOND),
                    limited_reported: None,
                    last_scroll: None,
                    ready: false,
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
    EMBEDS.with(|e| {
        let mut e = e.borrow_mut();
        match op {
            // Destroy frees the embed's state (the JS side keeps the last counters).
            op::CLOSE => {
                e.remove(id);
                String::new()
            }
            op::LIVE => {
                let mut s = String::new();
                text::push_uint(&mut s, e.len() as u64);
                s
            }
            _ => match e.get(id) {
                Some(st) => st.run(op, x, a, b),
                None => error("unknown embed"),
            },
        }
    })
}

impl State {
    fn run(&mut self, op: u32, x: f64, a: &str, b: &str) -> String {
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
                    ("rateLimited", s.rate_limited.into()),
                    ("scrolls", s.scrolls.into()),
                    ("scrollsRefused", s.scrolls_refused.into()),
                    ("height", self.height.into()),
                    ("maxHeight", self.core.max_height().into()),
                ]));
            }
            op::POST => return self.post(a),
            _ => {}
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
            // 2. At most MESSAGES_PER_SECOND are read (x: the JS side's clock, ms); beyond
            //    that the message is counted and dropped unread, so a flood costs one call each.
            op::ORIGIN if !self.messages.take(x) => self.rate_limited(a, x, &mut out),
            // 3. The origin must be on the exact allow-list ("null" never is); only then does
            //    the JS side read `data`.
            op::ORIGIN => match self.core.origins().check(a) {
                Ok(allowed) => {
                    let channel = if b == result::YES { Channel::StorageFrame } else { Channel::Parent };
                    self.from = Some((allowed.as_str().to_string(), channel));
                    return result::YES.into();
                }
                Err(reason) => self.drop_message(reason, a, &mut out),
            },
            // 4. Data: a JSON string or an object (serialised by the JS side), size-limited,
            //    parsed by the core. x: the clock; b: `result::YES` when the user is interacting
            //    with the tool (focus in its iframe and transient user activation).
            op::DATA => self.receive(a, x, b == result::YES, &mut out),
            op::BAD_DATA => {
                if let Some((origin, _)) = self.from.take() {
                    let reason = match x as u32 {
                        bad_data::NOT_SERIALISABLE => "not serialisable",
                        bad_data::TOO_LARGE => "too large",
                        _ => "not an object",
                    };
                    self.drop_message(reason, &origin, &mut out);
                }
            }
            op::LAYOUT => self.layout(x, &mut out),
            // One `lti.scroll` per animation frame at most.
            op::SCROLLED if self.scroll.is_some() && !self.scroll_requested => {
                self.scroll_requested = true;
                out.push(fx(effect::FRAME, [frame::SCROLL.into()]));
            }
            op::SCROLL_FRAME => {
                self.scroll_requested = false;
                if let Some(origin) = &self.scroll {
                    out.push(fx(effect::POST, [host::scroll_message(x), origin.as_str().into()]));
                }
            }
            op::SIZE => {
                if let (Some((subject, id, origin)), Ok(Value::Array(g))) =
                    (self.size_request.take(), json::parse(a, 1024))
                {
                    let n = |i: usize| g.get(i).and_then(Value::as_f64).unwrap_or(0.0);
                    let size =
                        WindowSize { height: n(0), width: n(1), top: n(2), left: n(3), footer: 0.0, scroll_y: n(4) };
                    self.reply(host::window_size_reply(&subject, id.as_ref(), &size), &origin, &mut out);
                }
            }
            op::UNSENT => self.stats.replies = self.stats.replies.saturating_sub(1),
            _ => {}
        }
        effects(out)
    }

    /// Whether a `dropped` event may report rate-limited messages now (at most one a second, so
    /// the report itself cannot become a flood of host callbacks).
    fn report_limited(&mut self, now: f64) -> bool {
        let due = self.limited_reported.is_none_or(|t| now - t >= 1000.0 || now < t);
        if due {
            self.limited_reported = Some(now);
        }
        due && self.listening.has(Event::Dropped)
    }

    /// Over the message rate: counted, not read.
    fn rate_limited(&mut self, origin: &str, now: f64, out: &mut Vec<Value>) {
        self.stats.rate_limited += 1;
        if self.report_limited(now) {
            out.push(emit(Event::Dropped, dropped_detail(host::RATE_LIMITED, Some(origin), None)));
        }
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
        out.push(fx(effect::REPLY, [msg, origin.into()]));
    }

    fn receive(&mut self, text: &str, now: f64, gesture: bool, out: &mut Vec<Value>) {
        let Some((origin, channel)) = self.from.take() else { return };
        let Ok(allowed) = self.core.origins().check(&origin) else { return };
        let env = Env { listening: self.listening, replies_limited: !self.replies.available(now) };
        let outcome = STORAGE.with(|s| self.core.receive(allowed, text, channel, &env, &mut s.borrow_mut()));
        match outcome.verdict {
            Verdict::Accepted => {
                self.stats.accepted += 1;
                if self.last_origin.as_deref() != Some(origin.as_str()) {
                    self.last_origin = Some(origin.clone());
                }
                if !self.ready {
                    // The tool's first accepted message: `ready`.
                    self.ready = true;
                    out.push(fx(effect::READY, [origin.as_str().into()]));
                }
            }
            Verdict::Dropped(host::RATE_LIMITED) => {
                // Counted as rate-limited, with at most one `dropped` event a second.
                self.stats.rate_limited += 1;
                if self.report_limited(now) {
                    out.extend(outcome.effects.into_iter().filter_map(|e| match e {
                        Effect::Emit(ev, d) if self.listening.has(ev) => Some(emit(ev, d)),
                        _ => None,
                    }));
                }
                return;
            }
            Verdict::Dropped(_) => self.stats.dropped += 1,
            Verdict::BadRequest(_) => self.stats.bad_requests += 1,
        }
        for effect in outcome.effects {
            if matches!(effect, Effect::Reply(_) | Effect::SendWindowSize { .. }) {
                self.replies.take(now);
            }
            match effect {
                Effect::Resize { height, requested } => {
                    self.pending_resize = Some((height, requested));
                    // Coalesced: one layout per animation frame, for the last request.
                    if !self.layout_requested {
                        self.layout_requested = true;
                        out.push(fx(effect::FRAME, [frame::LAYOUT.into()]));
                    }
                }
                // Details are copied to JavaScript only when host code listens.
                Effect::Emit(event, detail) if self.listening.has(event) => out.push(emit(event, detail)),
                Effect::Emit(..) => {}
                Effect::Reply(msg) => self.reply(msg, &origin, out),
                Effect::ScrollToTop => {
                    if host::scroll_allowed(self.core.scroll_policy(), gesture, now, self.last_scroll) {
                        self.last_scroll = Some(now);
                        self.stats.scrolls += 1;
                        out.push(fx(effect::SCROLL_TO, []));
                    } else {
                        self.stats.scrolls_refused += 1;
                    }
                }
                Effect::SendWindowSize { subject, message_id } => {
                    self.size_request = Some((subject, message_id, origin.clone()));
                    out.push(fx(effect::WINDOW_SIZE, []));
                }
                Effect::EnableScrollEvents => {
                    if self.scroll.is_none() {
                        self.scroll = Some(origin.clone());
                        out.push(fx(effect::SCROLL_EVENTS, []));
                    }
                }
                Effect::SetUnloadMessage(text) => {
                    out.push(fx(effect::UNLOAD, [text.map_or(Value::Null, Value::String)]))
                }
                Effect::Announce(text) => out.push(fx(effect::ANNOUNCE, [text.into()])),
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
        out.push(fx(effect::HEIGHT, [px("", height).into(), height.into()]));
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
            Some(origin) => effects(vec![fx(effect::POST, [msg, origin.as_str().into()])]),
            None => error("the tool has not sent an accepted message yet"),
        }
    }
}

/// Call host listeners of an event (only built when some listen).
fn emit(event: Event, detail: Value) -> Value {
    fx(effect::EMIT, [event.name().into(), detail])
}
