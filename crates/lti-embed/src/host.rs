//! The host side's decisions, without a browser: what to do with one message from a tool.
//!
//! The browser module checks the sender's window, then the origin ([`AllowList::check`]), then
//! reads the data as text and calls [`HostCore::receive`], which parses it with
//! [`lti_messages::messages`] and returns [`Effect`]s for the browser module to perform: resize,
//! emit an event to host code, reply to the tool, scroll, announce. Nothing here touches the DOM,
//! so every rule is tested natively.

use lti_core::url::HttpUrl;
use lti_messages::json::{Object, Value};
use lti_messages::messages::{self, Envelope, Height, LaunchType, Navigation, PlatformStorage, Rejected, ToolMessage};

use crate::options::{EmbedConfig, ScrollPolicy};
use crate::origin::{AllowList, AllowedOrigin};

/// Events an embed emits to host code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The iframe took a new height (`{height, requested}`), at most once per frame.
    Resize,
    /// `lti.contentSelected` (`{entries, entry}`).
    ContentSelected,
    /// `lti.navigation` (`{location}` or `{path}`).
    Navigation,
    /// `lti.hideModuleHeader` (`{}`).
    HideModuleHeader,
    /// `lti.showModuleNavigation` (`{show}`).
    ModuleNavigation,
    /// `lti.showAlert` / `lti.screenReaderAlert` (`{body, alertType?, title?, screenReader}`), text only.
    Alert,
    /// `lti.close` (`{}`); without a listener the tool is told `unsupported_subject`.
    Close,
    /// `requestFullWindowLaunch` on the tool's own origin (`{url, launchType, width?, height?}`);
    /// without a listener the tool is told `unsupported_subject`.
    FullWindowLaunch,
    /// Every accepted message (`{subject, messageId?, origin, data}`).
    Message,
    /// A message from this embed's iframe that was not accepted (`{reason, origin?, subject?}`).
    Dropped,
}

impl Event {
    /// All events, in documentation order.
    pub const ALL: [Event; 10] = [
        Event::Resize,
        Event::ContentSelected,
        Event::Navigation,
        Event::HideModuleHeader,
        Event::ModuleNavigation,
        Event::Alert,
        Event::Close,
        Event::FullWindowLaunch,
        Event::Message,
        Event::Dropped,
    ];

    /// The event's name in the JavaScript API.
    pub fn name(self) -> &'static str {
        match self {
            Event::Resize => "resize",
            Event::ContentSelected => "contentSelected",
            Event::Navigation => "navigation",
            Event::HideModuleHeader => "hideModuleHeader",
            Event::ModuleNavigation => "moduleNavigation",
            Event::Alert => "alert",
            Event::Close => "close",
            Event::FullWindowLaunch => "fullWindowLaunch",
            Event::Message => "message",
            Event::Dropped => "dropped",
        }
    }

    /// Look an event up by its JavaScript name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Which events host code listens to (some messages have a default when nobody listens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listening(u16);

impl Listening {
    /// Mark an event as listened to (or not).
    pub fn set(&mut self, e: Event, on: bool) {
        if on {
            self.0 |= e.bit();
        } else {
            self.0 &= !e.bit();
        }
    }

    /// Whether an event has a listener.
    pub fn has(self, e: Event) -> bool {
        self.0 & e.bit() != 0
    }
}

/// What the browser module tells the core about the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env {
    /// Events with listeners.
    pub listening: Listening,
    /// The embed's reply budget is spent ([`REPLIES_PER_SECOND`]): a message that would be
    /// answered is dropped (`rate limited`) before it is acted on (no storage write either).
    pub replies_limited: bool,
}

/// Where a message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Posted to the host page (the iframe's parent).
    Parent,
    /// Posted to the embed's named storage frame: only storage subjects are answered there.
    StorageFrame,
}

/// Something for the browser module to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Set the iframe to `height` at the next animation frame, clamped then
    /// ([`HostCore::clamp`]: `NN%` and `max` are of the viewport at that moment).
    Resize {
        /// The requested height.
        height: Height,
        /// What the tool asked for, as sent.
        requested: Value,
    },
    /// Call host listeners of an event with this detail.
    Emit(Event, Value),
    /// Post this reply to the sender (its iframe window, its exact origin).
    Reply(Value),
    /// Scroll the page so the iframe's top is visible.
    ScrollToTop,
    /// Reply with the window size ([`window_size_reply`]).
    SendWindowSize {
        /// Subject to answer.
        subject: String,
        /// Echoed id.
        message_id: Option<Value>,
    },
    /// Start sending `lti.scroll` ([`scroll_message`]) to the sender, once per frame at most.
    EnableScrollEvents,
    /// Warn before the page unloads (`Some(text)`) or stop warning (`None`).
    SetUnloadMessage(Option<String>),
    /// Put text (never HTML) in the embed's live region for screen readers.
    Announce(String),
}

/// How one message was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Parsed and acted on.
    Accepted,
    /// Ignored without a reply.
    Dropped(&'static str),
    /// A known subject with a bad payload: answered `bad_request`.
    BadRequest(&'static str),
}

/// The verdict and the effects of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Verdict (for the embed's counters).
    pub verdict: Verdict,
    /// Effects, in order.
    pub effects: Vec<Effect>,
}

/// Default text of the leave-page warning when a tool sets none.
pub const DEFAULT_UNLOAD_MESSAGE: &str = "Changes you made in the tool may not be saved.";

/// One embed's message policy.
#[derive(Debug, Clone)]
pub struct HostCore {
    origins: AllowList,
    min_height: f64,
    max_height: f64,
    storage_frame: Option<String>,
    scroll_to_top: ScrollPolicy,
}

pub(crate) use crate::obj;

/// The `details` of a `dropped` event.
pub fn dropped_detail(reason: &str, origin: Option<&str>, subject: Option<&str>) -> Value {
    let mut m = Object::new().with("reason", reason);
    if let Some(o) = origin {
        m.insert("origin", o.into());
    }
    if let Some(s) = subject {
        m.insert("subject", s.into());
    }
    Value::Object(m)
}

/// The `dropped` reason of a message over the embed's message or reply rate.
pub const RATE_LIMITED: &str = "rate limited";

/// Whether the host answers this message whatever host code listens to (the storage subjects,
/// the window size, an unknown subject with a `message_id`).
fn answered(env: &Envelope) -> bool {
    match env.message {
        ToolMessage::Capabilities
        | ToolMessage::PutData { .. }
        | ToolMessage::GetData { .. }
        | ToolMessage::FetchWindowSize => true,
        ToolMessage::Other => env.message_id.is_some(),
        _ => false,
    }
}

fn unsupported(env: &Envelope) -> Effect {
    Effect::Reply(messages::reply_error(
        &env.subject,
        env.message_id.as_ref(),
        "unsupported_subject",
        "this host does not handle this subject",
    ))
}

impl HostCore {
    /// The policy of an embed configuration.
    pub fn new(cfg: &EmbedConfig) -> Self {
        Self {
            origins: cfg.origins.clone(),
            min_height: cfg.min_height,
            max_height: cfg.max_height,
            storage_frame: cfg.storage_frame.clone(),
            scroll_to_top: cfg.scroll_to_top,
        }
    }

    /// The exact origins messages are accepted from.
    pub fn origins(&self) -> &AllowList {
        &self.origins
    }

    /// The minimum height, px.
    pub fn min_height(&self) -> f64 {
        self.min_height
    }

    /// The maximum height, px.
    pub fn max_height(&self) -> f64 {
        self.max_height
    }

    /// When `lti.scrollToTop` is honoured.
    pub fn scroll_policy(&self) -> ScrollPolicy {
        self.scroll_to_top
    }

    /// A requested height in whole pixels, clamped to this embed's bounds (so the iframe's style,
    /// `Embed.height` and the `resize` event always carry the same number: never more than
    /// `maxHeight`, whose default is [`crate::options::DEFAULT_MAX_HEIGHT`]). Same result as
    /// [`Height::clamp`], written with `max`/`min` because `f64::clamp`'s NaN assertion pulls
    /// float formatting (~20 KB) into the wasm module.
    pub fn clamp(&self, h: Height, viewport: f64) -> f64 {
        let px = match h {
            Height::Px(x) => x,
            Height::Percent(p) => viewport * p / 100.0,
            Height::Max => viewport,
        };
        let upper = self.max_height.max(self.min_height);
        px.ceil().max(self.min_height).min(upper)
    }

    fn dropped(&self, reason: &'static str, from: AllowedOrigin<'_>, subject: Option<&str>, env: &Env) -> Outcome {
        let mut effects = Vec::new();
        if env.listening.has(Event::Dropped) {
            effects.push(Effect::Emit(Event::Dropped, dropped_detail(reason, Some(from.as_str()), subject)));
        }
        Outcome { verdict: Verdict::Dropped(reason), effects }
    }

    fn bad_request(
        &self,
        reason: &'static str,
        from: AllowedOrigin<'_>,
        subject: &str,
        id: Option<&Value>,
        env: &Env,
    ) -> Outcome {
        if env.replies_limited {
            return self.dropped(RATE_LIMITED, from, Some(subject), env);
        }
        let mut effects = vec![Effect::Reply(messages::reply_error(subject, id, "bad_request", reason))];
        if env.listening.has(Event::Dropped) {
            effects.push(Effect::Emit(Event::Dropped, dropped_detail(reason, Some(from.as_str()), Some(subject))));
        }
        Outcome { verdict: Verdict::BadRequest(reason), effects }
    }

    /// Judge one message whose sender window and origin were already checked. `Dropped` and
    /// `Message` details are built only when `env` says host code listens to them.
    pub fn receive(
        &self,
        from: AllowedOrigin<'_>,
        text: &str,
        channel: Channel,
        env: &Env,
        storage: &mut PlatformStorage,
    ) -> Outcome {
        let envelope = match messages::parse_str(text) {
            Ok(e) => e,
            Err(Rejected::Dropped(reason)) => return self.dropped(reason, from, None, env),
            Err(Rejected::BadRequest { subject, message_id, reason }) => {
                return self.bad_request(reason, from, &subject, message_id.as_ref(), env)
            }
        };
        if channel == Channel::StorageFrame
            && !matches!(
                envelope.message,
                ToolMessage::Capabilities | ToolMessage::PutData { .. } | ToolMessage::GetData { .. }
            )
        {
            return self.dropped("not a storage message", from, Some(&envelope.subject), env);
        }
        if env.replies_limited && answered(&envelope) {
            return self.dropped(RATE_LIMITED, from, Some(&envelope.subject), env);
        }
        let mut effects = Vec::with_capacity(3);
        let id = envelope.message_id.as_ref();
        let subject = envelope.subject.as_str();
        match &envelope.message {
            ToolMessage::FrameResize(h) => effects.push(Effect::Resize {
                height: *h,
                requested: envelope.raw.get("height").cloned().unwrap_or(Value::Null),
            }),
            ToolMessage::Navigation(nav) => {
                let (key, target) = match nav {
                    Navigation::Location(l) => ("location", l),
                    Navigation::Path(p) => ("path", p),
                };
                // The same rule as content-selection URLs, plus relative references: host code
                // that assigns `location.href = path` must never run `javascript:`.
                if !navigation_target_ok(target) {
                    return self.dropped(
                        "navigation target must be an http(s) URL or a relative path",
                        from,
                        Some(subject),
                        env,
                    );
                }
                effects.push(Effect::Emit(Event::Navigation, obj([(key, target.as_str().into())])));
            }
            ToolMessage::ContentSelected(entries) => {
                let list: Vec<Value> = entries.iter().map(|e| e.to_json()).collect();
                let first = list.first().cloned().unwrap_or(Value::Null);
                effects.push(Effect::Emit(
                    Event::ContentSelected,
                    obj([("entries", Value::Array(list)), ("entry", first)]),
                ));
            }
            ToolMessage::HideModuleHeader => {
                effects.push(Effect::Emit(Event::HideModuleHeader, Value::Object(Object::new())))
            }
            ToolMessage::ScrollToTop => effects.push(Effect::ScrollToTop),
            ToolMessage::FetchWindowSize => effects.push(Effect::SendWindowSize {
                subject: envelope.subject.clone(),
                message_id: envelope.message_id.clone(),
            }),
            ToolMessage::EnableScrollEvents => effects.push(Effect::EnableScrollEvents),
            ToolMessage::ShowModuleNavigation(show) => {
                effects.push(Effect::Emit(Event::ModuleNavigation, obj([("show", Value::Bool(*show))])))
            }
            ToolMessage::Alert { screen_reader, body, alert_type, title } => {
                alert(*screen_reader, body, alert_type.as_deref(), title.as_deref(), env, &mut effects)
            }
            ToolMessage::SetUnloadMessage(m) => effects
                .push(Effect::SetUnloadMessage(Some(m.clone().unwrap_or_else(|| DEFAULT_UNLOAD_MESSAGE.to_string())))),
            ToolMessage::RemoveUnloadMessage => effects.push(Effect::SetUnloadMessage(None)),
            ToolMessage::Close => {
                if env.listening.has(Event::Close) {
                    effects.push(Effect::Emit(Event::Close, Value::Object(Object::new())));
                } else {
                    effects.push(unsupported(&envelope));
                }
            }
            ToolMessage::RequestFullWindowLaunch { url, launch_type, width, height } => {
                let on_tool_origin =
                    HttpUrl::parse(url).map(|u| crate::origin::serialize(&u) == from.as_str()).unwrap_or(false);
                if !on_tool_origin {
                    return self.bad_request("url must be on the tool's own origin", from, subject, id, env);
                }
                effects.push(match env.listening.has(Event::FullWindowLaunch) {
                    true => Effect::Emit(Event::FullWindowLaunch, full_window(url, *launch_type, *width, *height)),
                    false => unsupported(&envelope),
                });
            }
            ToolMessage::Capabilities => {
                effects.push(Effect::Reply(messages::reply(
                    subject,
                    id,
                    messages::capabilities(self.storage_frame.as_deref()),
                )));
            }
            ToolMessage::PutData { key, value } => {
                effects.push(Effect::Reply(match storage.put(from.as_str(), key, value.as_deref()) {
                    Ok(()) => messages::reply(
                        subject,
                        id,
                        obj([
                            ("key", key.as_str().into()),
                            ("value", value.as_deref().map_or(Value::Null, Value::from)),
                        ]),
                    ),
                    Err(e) => messages::reply_error(subject, id, e.code(), e.message()),
                }))
            }
            ToolMessage::GetData { key } => {
                let value = storage.get(from.as_str(), key).map_or(Value::Null, Value::from);
                effects.push(Effect::Reply(messages::reply(
                    subject,
                    id,
                    obj([("key", key.as_str().into()), ("value", value)]),
                )));
            }
            // A subject this host does not know: surfaced to host code as a generic message; a
            // tool that set a message_id expects an answer, so it is told it is unsupported.
            _ => {
                if id.is_some() {
                    effects.push(unsupported(&envelope));
                }
            }
        }
        // The generic event carries the whole message: built only when host code listens.
        if !env.listening.has(Event::Message) {
            return Outcome { verdict: Verdict::Accepted, effects };
        }
        let mut detail = Object::new().with("subject", subject).with("origin", from.as_str());
        if let Some(id) = envelope.message_id {
            detail.insert("messageId", id);
        }
        detail.insert("data", Value::Object(envelope.raw));
        effects.push(Effect::Emit(Event::Message, Value::Object(detail)));
        Outcome { verdict: Verdict::Accepted, effects }
    }
}

/// `lti.showAlert`: screen-reader alerts are always announced; visible alerts are the host's
/// to show, and announced when no host code listens.
fn alert(
    screen_reader: bool,
    body: &str,
    alert_type: Option<&str>,
    title: Option<&str>,
    env: &Env,
    effects: &mut Vec<Effect>,
) {
    let mut d = Object::new().with("body", body).with("screenReader", screen_reader);
    if let Some(t) = alert_type {
        d.insert("alertType", t.into());
    }
    if let Some(t) = title {
        d.insert("title", t.into());
    }
    if screen_reader || !env.listening.has(Event::Alert) {
        effects.push(Effect::Announce(body.to_string()));
    }
    effects.push(Effect::Emit(Event::Alert, Value::Object(d)));
}

/// The `fullWindowLaunch` event's detail.
fn full_window(url: &str, launch_type: LaunchType, width: Option<f64>, height: Option<f64>) -> Value {
    let lt = match launch_type {
        LaunchType::SameWindow => "same_window",
        LaunchType::NewWindow => "new_window",
        LaunchType::Popup => "popup",
    };
    let mut d = Object::new().with("url", url).with("launchType", lt);
    for (k, v) in [("width", width), ("height", height)] {
        if let Some(v) = v {
            d.insert(k, v.into());
        }
    }
    Value::Object(d)
}

/// Whether a navigation target may reach host code: an absolute http(s) URL (the rule for
/// `lti.contentSelected` URLs), or a reference without a scheme — a path such as
/// `/media/1_abc`, `media/1_abc?x=1`, or a keyword such as `next`. Refused: every other scheme
/// (`javascript:`, `data:`, `vbscript:`, `blob:`, …), scheme-relative `//host/…`, backslashes,
/// whitespace and control characters anywhere (browsers strip or skip some of them while parsing,
/// so `java\tscript:` or ` javascript:` would become `javascript:`), and the empty string.
pub fn navigation_target_ok(target: &str) -> bool {
    if target.is_empty() || target.starts_with("//") || target.bytes().any(|b| b <= b' ' || b == b'\\' || b == 0x7f) {
        return false;
    }
    // A scheme is whatever precedes a ':' before the first '/', '?' or '#' (bytes, not char
    // patterns: the pattern machinery costs the wasm module ~1 KB).
    let head = target.bytes().take_while(|b| !matches!(b, b'/' | b'?' | b'#'));
    if head.into_iter().any(|b| b == b':') {
        return HttpUrl::parse(target).is_ok();
    }
    true
}

/// A token bucket: `capacity` at once, refilled at `per_second`; time comes from the caller
/// (milliseconds, monotonic: `performance.now()` in the browser).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    capacity: f64,
    per_ms: f64,
    tokens: f64,
    last: f64,
}

impl RateLimit {
    /// A full bucket.
    pub const fn new(capacity: f64, per_second: f64) -> Self {
        Self { capacity, per_ms: per_second / 1000.0, tokens: capacity, last: 0.0 }
    }

    /// Whether a token is available at time `now` (ms), without taking it.
    pub fn available(&mut self, now: f64) -> bool {
        // A clock that went backwards (or a NaN) refills nothing.
        let elapsed = now - self.last;
        if elapsed > 0.0 {
            self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
            self.last = now;
        }
        self.tokens >= 1.0
    }

    /// Take one token at time `now` (ms); false when the bucket is empty.
    pub fn take(&mut self, now: f64) -> bool {
        let ok = self.available(now);
        if ok {
            self.tokens -= 1.0;
        }
        ok
    }
}

/// Messages an embed reads per second, sustained (bursts up to [`MESSAGE_BURST`]); beyond it a
/// message is dropped before its data is read (`rateLimited`). A tool reports its height at most
/// once per frame; storage and window-size requests come a few at a time.
pub const MESSAGES_PER_SECOND: f64 = 500.0;
/// Messages an embed reads at once before [`MESSAGES_PER_SECOND`] applies.
pub const MESSAGE_BURST: f64 = 500.0;
/// Replies an embed sends per second, sustained (bursts up to [`REPLY_BURST`]): a message that
/// would be answered beyond it (`lti.fetchWindowSize`, storage, an unknown subject with a
/// `message_id`) is dropped unanswered (`rateLimited`), so a flood cannot make the host page
/// measure its layout and post thousands of replies.
pub const REPLIES_PER_SECOND: f64 = 100.0;
/// Replies an embed sends at once before [`REPLIES_PER_SECOND`] applies.
pub const REPLY_BURST: f64 = 100.0;
/// Least time between two `lti.scrollToTop` the host honours, ms.
pub const SCROLL_INTERVAL_MS: f64 = 2000.0;

/// Whether to honour an `lti.scrollToTop` at `now` (ms): the embed's policy, whether the user is
/// interacting with the tool (`gesture`: focus in its iframe and transient user activation), and
/// at most one per [`SCROLL_INTERVAL_MS`] after the last honoured one (`last`, `None`: never).
pub fn scroll_allowed(policy: ScrollPolicy, gesture: bool, now: f64, last: Option<f64>) -> bool {
    let due = last.is_none_or(|t| now - t >= SCROLL_INTERVAL_MS);
    due && match policy {
        ScrollPolicy::Always => true,
        ScrollPolicy::Gesture => gesture,
        ScrollPolicy::Never => false,
    }
}

/// The page geometry `lti.fetchWindowSize` answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowSize {
    /// `innerHeight`.
    pub height: f64,
    /// `innerWidth`.
    pub width: f64,
    /// iframe top, document coordinates.
    pub top: f64,
    /// iframe left, document coordinates.
    pub left: f64,
    /// Footer height (0: the kit does not know the page's footer).
    pub footer: f64,
    /// `scrollY`.
    pub scroll_y: f64,
}

/// The `lti.fetchWindowSize` reply.
pub fn window_size_reply(subject: &str, message_id: Option<&Value>, w: &WindowSize) -> Value {
    let offset = obj([("top", w.top.into()), ("left", w.left.into())]);
    messages::reply(
        subject,
        message_id,
        obj([
            ("height", w.height.into()),
            ("width", w.width.into()),
            ("offset", offset),
            ("footer", w.footer.into()),
            ("scrollY", w.scroll_y.into()),
        ]),
    )
}

/// The `lti.scroll` message sent after `lti.enableScrollEvents`.
pub fn scroll_message(scroll_y: f64) -> Value {
    obj([("subject", "lti.scroll".into()), ("scrollY", scroll_y.into())])
}

#[cfg(test)]
mod tests;
