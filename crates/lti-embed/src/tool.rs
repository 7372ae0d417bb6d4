//! The tool side's decisions, without a browser: messages a tool page sends to its host, and
//! matching the host's replies to outstanding platform-storage requests.
//!
//! The browser module checks a reply's window and exact origin before calling
//! [`ToolCore::settle`], which then requires the subject to be the request's subject +
//! `.response` and the `message_id` to be one this client issued and has not settled yet.

use lti_messages::json::{self, Object, Value};
use lti_messages::messages::{self, Rejected};

use crate::obj;

/// A platform-storage request (LTI Client Side postMessages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `lti.capabilities`
    Capabilities,
    /// `lti.put_data` (`None` clears the key).
    PutData {
        /// Key.
        key: String,
        /// Value.
        value: Option<String>,
    },
    /// `lti.get_data`
    GetData {
        /// Key.
        key: String,
    },
}

impl Request {
    /// The subject sent.
    pub fn subject(&self) -> &'static str {
        match self {
            Request::Capabilities => "lti.capabilities",
            Request::PutData { .. } => "lti.put_data",
            Request::GetData { .. } => "lti.get_data",
        }
    }
}

/// An error the host answered with (or a local one: `timeout`, `bad_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError {
    /// `unsupported_subject`, `bad_request`, `storage_exhaustion`, `timeout`, …
    pub code: String,
    /// Human-readable text.
    pub message: String,
}

impl ReplyError {
    /// A local error.
    pub fn new(code: &str, message: &str) -> Self {
        Self { code: code.to_string(), message: message.to_string() }
    }

    /// `<code>: <message>`, the text of the JavaScript `Error` it becomes.
    pub fn text(&self) -> String {
        crate::text::concat(&[&self.code, ": ", &self.message])
    }
}

/// A reply matched to its request.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The request's id.
    pub message_id: String,
    /// `get_data`: the value (string or null); `capabilities`: `supported_messages`;
    /// `put_data`: null. Or the host's error.
    pub result: Result<Value, ReplyError>,
}

#[derive(Debug, Clone)]
struct Pending {
    id: String,
    request: Request,
}

/// Outstanding requests of one tool client.
#[derive(Debug, Clone, Default)]
pub struct ToolCore {
    counter: u64,
    pending: Vec<Pending>,
}

/// Most requests outstanding at once (older ones time out anyway).
pub const MAX_PENDING: usize = 256;

impl ToolCore {
    /// Build a request message with a fresh `message_id` (`nonce` makes ids unguessable across
    /// page loads). Checked with the core's parser first, so a request the host would refuse
    /// as `bad_request` fails here instead.
    pub fn request(&mut self, request: Request, nonce: u32) -> Result<(String, Value), ReplyError> {
        if self.pending.len() >= MAX_PENDING {
            return Err(ReplyError::new("error", "too many storage requests outstanding"));
        }
        self.counter += 1;
        let id = message_id(self.counter, nonce);
        let mut m = Object::new().with("subject", request.subject()).with("message_id", id.as_str());
        match &request {
            Request::Capabilities => {}
            Request::PutData { key, value } => {
                m.insert("key", key.as_str().into());
                m.insert("value", value.as_deref().map_or(Value::Null, Value::from));
            }
            Request::GetData { key } => {
                m.insert("key", key.as_str().into());
            }
        }
        let msg = Value::Object(m);
        if let Err(Rejected::BadRequest { reason, .. }) = messages::parse(msg.clone()) {
            return Err(ReplyError::new("bad_request", reason));
        }
        if let Request::PutData { value: Some(v), .. } = &request {
            if v.chars().count() > messages::MAX_VALUE_CHARS {
                return Err(ReplyError::new("storage_exhaustion", "value longer than 4096 characters"));
            }
        }
        self.pending.push(Pending { id: id.clone(), request });
        Ok((id, msg))
    }

    /// Match a reply (already from the right window and origin). `None`: not a reply to an
    /// outstanding request of this client (ignored).
    pub fn settle(&mut self, text: &str) -> Option<Settled> {
        let v = json::parse(text, messages::MAX_MESSAGE_BYTES).ok()?;
        let m = v.as_object()?;
        let id = m.get("message_id")?.as_str()?;
        let subject = m.get("subject")?.as_str()?;
        let pos = self
            .pending
            .iter()
            .position(|p| p.id == id && subject.strip_suffix(".response") == Some(p.request.subject()))?;
        // A get/put reply that names another key is not this request's answer.
        if let Request::PutData { key, .. } | Request::GetData { key } = &self.pending.get(pos)?.request {
            if m.get("key").is_some_and(|k| k.as_str() != Some(key)) && m.get("error").is_none() {
                return None;
            }
        }
        let p = self.pending.remove(pos);
        let result = match m.get("error") {
            Some(e) => Err(ReplyError {
                code: e.get("code").and_then(Value::as_str).unwrap_or("error").chars().take(100).collect(),
                message: e.get("message").and_then(Value::as_str).unwrap_or("").chars().take(500).collect(),
            }),
            None => Ok(match p.request {
                Request::Capabilities => {
                    m.get("supported_messages").cloned().unwrap_or_else(|| Value::Array(Vec::new()))
                }
                Request::GetData { .. } => match m.get("value") {
                    Some(Value::String(s)) => Value::String(s.clone()),
                    _ => Value::Null,
                },
                Request::PutData { .. } => Value::Null,
            }),
        };
        Some(Settled { message_id: p.id, result })
    }

    /// Drop an outstanding request (timed out). Whether it was outstanding.
    pub fn forget(&mut self, message_id: &str) -> bool {
        let before = self.pending.len();
        self.pending.retain(|p| p.id != message_id);
        before != self.pending.len()
    }

    /// Outstanding requests.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Consecutive viewport-following steps after which auto-resize stops.
pub const LOOP_STEPS: u8 = 3;

/// Detects a resize feedback loop: a page whose height follows its own viewport (e.g.
/// `body{min-height:100vh;margin:8px}` is always 16 px taller than the frame), so each height it
/// reports makes the host grow the frame, which makes the page taller by the same amount again.
/// Fed with each auto-resize measurement and the viewport height at that moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoopGuard {
    last_height: f64,
    last_viewport: f64,
    steps: u8,
}

impl LoopGuard {
    /// Record a measurement; true once the page has followed its viewport [`LOOP_STEPS`] times
    /// in a row: the viewport grew (the host applied the last report) and the page grew by the
    /// same amount (±1 px), still taller than the viewport.
    pub fn observe(&mut self, height: f64, viewport: f64) -> bool {
        let dv = viewport - self.last_viewport;
        let dh = height - self.last_height;
        let following = self.last_viewport > 0.0 && dv >= 1.0 && (dh - dv).abs() <= 1.0 && height >= viewport + 1.0;
        self.steps = if following { self.steps.saturating_add(1) } else { 0 };
        self.last_height = height;
        self.last_viewport = viewport;
        self.steps >= LOOP_STEPS
    }
}

/// `lti-embed-<counter>-<nonce as 8 hex digits>`.
fn message_id(counter: u64, nonce: u32) -> String {
    let mut id = String::with_capacity(40);
    id.push_str("lti-embed-");
    crate::text::push_uint(&mut id, counter);
    id.push('-');
    crate::text::push_hex(&mut id, nonce, 8);
    id
}

/// `lti.frameResize` for a height in CSS pixels (rounded up).
pub fn frame_resize(height: f64) -> Option<Value> {
    (height.is_finite() && height >= 0.0)
        .then(|| obj([("subject", "lti.frameResize".into()), ("height", height.ceil().into())]))
}

/// `lti.contentSelected` for one entry object or an array of entries (KAF §6 fields:
/// `entryId`, `url`, `title`, `thumbnailUrl`, `duration`, `width`, `height`), checked with
/// the same parser the host uses.
pub fn content_selected(entries: Value) -> Result<Value, ReplyError> {
    let msg = match entries {
        v @ Value::Array(_) => obj([("subject", "lti.contentSelected".into()), ("entries", v)]),
        v => obj([("subject", "lti.contentSelected".into()), ("entry", v)]),
    };
    check(msg)
}

/// Any other message for the host, `{subject, ...fields}`, checked with the host's parser.
pub fn message(subject: &str, fields: Value) -> Result<Value, ReplyError> {
    let mut m = match fields {
        Value::Object(m) => m,
        Value::Null => Object::new(),
        _ => return Err(ReplyError::new("bad_request", "fields must be an object")),
    };
    m.insert("subject", subject.into());
    check(Value::Object(m))
}

fn check(msg: Value) -> Result<Value, ReplyError> {
    match messages::parse(msg.clone()) {
        Ok(_) => Ok(msg),
        Err(Rejected::BadRequest { reason, .. }) => Err(ReplyError::new("bad_request", reason)),
        Err(Rejected::Dropped(reason)) => Err(ReplyError::new("bad_request", reason)),
    }
}

#[cfg(test)]
mod tests;
