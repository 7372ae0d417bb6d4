//! Window messages between a host page and a tool iframe (`postMessage`), parsed into types
//! before anything reads them, plus LTI Platform Storage on the host side.
//!
//! Receiving follows the most complete host (Canvas), tightened:
//! 1. data is a JSON string or an object (strings are size-limited, then parsed);
//! 2. `subject`, or the legacy `messageType`;
//! 3. no subject, or a subject ending in `.response` → dropped (no reply loops);
//! 4. a known subject with a bad payload → a `bad_request` reply; an unknown subject → an
//!    `unsupported_subject` reply; both only when the sender expects replies.
//!
//! Which window sent a message and whether its origin is allowed is the browser module's
//! job (it checks before calling [`parse`]); this module never sees an unchecked sender.
//!
//! Messages are read and written with [`crate::json`] (size- and depth-limited, no serde), so
//! the browser module that embeds this parser stays small.

use lti_core::url::HttpUrl;

use crate::json::{self, Object, Value};

/// Largest message accepted (serialised JSON).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Platform storage: largest value (characters), as Canvas and D2L.
pub const MAX_VALUE_CHARS: usize = 4096;
/// Platform storage: most keys per origin, as Canvas and D2L.
pub const MAX_KEYS_PER_ORIGIN: usize = 500;
/// Longest key.
pub const MAX_KEY_CHARS: usize = 1024;
/// Longest alert text.
pub const MAX_ALERT_CHARS: usize = 2000;

/// A requested iframe height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Height {
    /// CSS pixels.
    Px(f64),
    /// Percent of the viewport height.
    Percent(f64),
    /// As tall as the viewport.
    Max,
}

impl Height {
    /// Parse a number, `"NNpx"`, `"NN"`, `"NN%"` or `"max"`.
    pub fn parse(v: &Value) -> Option<Self> {
        let h = match v {
            Value::Number(n) => Height::Px(*n),
            Value::String(s) => {
                let s = s.trim();
                if s.eq_ignore_ascii_case("max") {
                    return Some(Height::Max);
                }
                if let Some(p) = s.strip_suffix('%') {
                    Height::Percent(number(p)?)
                } else {
                    Height::Px(number(s.strip_suffix("px").unwrap_or(s))?)
                }
            }
            _ => return None,
        };
        match h {
            Height::Px(x) | Height::Percent(x) if !x.is_finite() || x < 0.0 => None,
            h => Some(h),
        }
    }

    /// Pixels for a viewport, clamped to `[min, max]` (max optional), rounded up.
    pub fn clamp(self, viewport: f64, min: f64, max: Option<f64>) -> f64 {
        let px = match self {
            Height::Px(x) => x,
            Height::Percent(p) => viewport * p / 100.0,
            Height::Max => viewport,
        };
        let upper = max.unwrap_or(f64::MAX).max(min);
        // max/min rather than f64::clamp: no assertion, so no float formatting in the wasm.
        px.ceil().max(min).min(upper)
    }
}

/// A JSON number written as text (`"640"`, `" 12.5 "`). Uses the JSON reader's number parser
/// instead of `f64::from_str` (≈ 14 KB gzipped less in the browser module); JSON syntax, so
/// `"+5"`, `".5"` and `"5."` are refused.
fn number(s: &str) -> Option<f64> {
    json::parse_number(s.trim())
}

/// Where a tool wants to navigate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Navigation {
    /// De-facto form: `{location: "next" | "previous" | "home"}`.
    Location(String),
    /// KAF form: a module path inside the tool.
    Path(String),
}

/// An entry selected in the content picker (KAF guide §6 fields).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContentEntry {
    /// Launch URL for the entry.
    pub url: Option<String>,
    /// Entry id.
    pub entry_id: String,
    /// Title.
    pub title: Option<String>,
    /// Thumbnail URL.
    pub thumbnail_url: Option<String>,
    /// Seconds.
    pub duration: Option<f64>,
    /// Player width.
    pub width: Option<f64>,
    /// Player height.
    pub height: Option<f64>,
}

impl ContentEntry {
    /// As the JSON object handed to host code (camelCase).
    pub fn to_json(&self) -> Value {
        let mut m = Object::new().with("entryId", self.entry_id.as_str());
        for (k, v) in [("url", &self.url), ("title", &self.title), ("thumbnailUrl", &self.thumbnail_url)] {
            if let Some(v) = v {
                m.insert(k, v.as_str().into());
            }
        }
        for (k, v) in [("duration", self.duration), ("width", self.width), ("height", self.height)] {
            if let Some(v) = v {
                m.insert(k, v.into());
            }
        }
        Value::Object(m)
    }
}

/// How a full-window launch should open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchType {
    /// Replace the host page.
    SameWindow,
    /// New tab/window.
    NewWindow,
    /// Popup with size.
    Popup,
}

/// A message from a tool to its host, by subject.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ToolMessage {
    /// `lti.frameResize`
    FrameResize(Height),
    /// `lti.navigation`
    Navigation(Navigation),
    /// `lti.contentSelected` (one or several entries)
    ContentSelected(Vec<ContentEntry>),
    /// `lti.hideModuleHeader`
    HideModuleHeader,
    /// `lti.scrollToTop`
    ScrollToTop,
    /// `lti.fetchWindowSize`
    FetchWindowSize,
    /// `lti.enableScrollEvents`
    EnableScrollEvents,
    /// `lti.showModuleNavigation`
    ShowModuleNavigation(bool),
    /// `lti.showAlert` / `lti.screenReaderAlert` (text only)
    Alert {
        /// Screen-reader only.
        screen_reader: bool,
        /// Text.
        body: String,
        /// success, warning, error, info.
        alert_type: Option<String>,
        /// Title.
        title: Option<String>,
    },
    /// `lti.setUnloadMessage`
    SetUnloadMessage(Option<String>),
    /// `lti.removeUnloadMessage`
    RemoveUnloadMessage,
    /// `lti.close`
    Close,
    /// `requestFullWindowLaunch`
    RequestFullWindowLaunch {
        /// Absolute URL (the host checks it is on the tool's origin).
        url: String,
        /// How to open it.
        launch_type: LaunchType,
        /// Popup width.
        width: Option<f64>,
        /// Popup height.
        height: Option<f64>,
    },
    /// `lti.capabilities`
    Capabilities,
    /// `lti.put_data` (value `None` clears)
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
    /// Any other subject (surfaced as a generic message).
    Other,
}

/// A parsed message with its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The subject as sent.
    pub subject: String,
    /// `message_id`, echoed in replies.
    pub message_id: Option<Value>,
    /// Typed content.
    pub message: ToolMessage,
    /// The raw object (for generic handlers).
    pub raw: Object,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    /// Silently dropped (counted): not JSON, not an object, too large, no subject, a reply.
    Dropped(&'static str),
    /// Known subject, bad payload: reply `bad_request`.
    BadRequest {
        /// Subject.
        subject: String,
        /// Echoed id.
        message_id: Option<Value>,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Characters (Unicode scalar values) in `s`, as the length limits here count them (what
/// `s.chars().count()` returns, without its large vectorised loop in the browser module).
pub fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

fn opt_str(m: &Object, keys: &[&str], max: usize) -> Result<Option<String>, &'static str> {
    for k in keys {
        match m.get(k) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) if char_count(s) <= max => return Ok(Some(s.clone())),
            Some(Value::String(_)) => return Err("text too long"),
            Some(_) => return Err("expected a string"),
        }
    }
    Ok(None)
}

fn opt_num(m: &Object, keys: &[&str]) -> Result<Option<f64>, &'static str> {
    for k in keys {
        let n = match m.get(k) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => Some(*n),
            Some(Value::String(s)) => number(s),
            Some(_) => return Err("expected a number"),
        };
        return Ok(n.filter(|f| f.is_finite() && *f >= 0.0));
    }
    Ok(None)
}

fn entry(v: &Value) -> Result<ContentEntry, &'static str> {
    entry_fields(v.as_object().ok_or("entry must be an object")?)
}

fn entry_fields(m: &Object) -> Result<ContentEntry, &'static str> {
    let entry_id = match m.get("entryId").or_else(|| m.get("entry_id")).or_else(|| m.get("id")) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
        Some(n @ Value::Number(_)) => json::to_string(n),
        _ => return Err("entry needs an entryId"),
    };
    let url = opt_str(m, &["url"], 2048)?;
    let thumbnail_url = opt_str(m, &["thumbnailUrl", "thumbnail_url"], 2048)?;
    for u in [&url, &thumbnail_url].into_iter().flatten() {
        HttpUrl::parse(u).map_err(|_| "entry URLs must be absolute http(s) URLs")?;
    }
    Ok(ContentEntry {
        url,
        entry_id,
        title: opt_str(m, &["title", "name"], 500)?,
        thumbnail_url,
        duration: opt_num(m, &["duration"])?,
        width: opt_num(m, &["width"])?,
        height: opt_num(m, &["height"])?,
    })
}

/// Parse `data` that arrived as a string (JSON text, at most [`MAX_MESSAGE_BYTES`]).
pub fn parse_str(data: &str) -> Result<Envelope, Rejected> {
    let v = json::parse(data, MAX_MESSAGE_BYTES).map_err(|e| match e {
        json::ParseError::TooLarge => Rejected::Dropped("too large"),
        json::ParseError::TooDeep | json::ParseError::Invalid => Rejected::Dropped("not JSON"),
    })?;
    parse(v)
}

/// Parse a message value (already JSON).
pub fn parse(v: Value) -> Result<Envelope, Rejected> {
    let Value::Object(raw) = v else { return Err(Rejected::Dropped("not an object")) };
    let subject = match raw.get("subject").or_else(|| raw.get("messageType")) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 200 => s.clone(),
        _ => return Err(Rejected::Dropped("no subject")),
    };
    if subject.ends_with(".response") {
        return Err(Rejected::Dropped("a reply"));
    }
    let message_id = raw.get("message_id").filter(|v| matches!(v, Value::String(_) | Value::Number(_))).cloned();
    match message(&subject, message_id.is_some(), &raw) {
        Ok(message) => Ok(Envelope { subject, message_id, message, raw }),
        Err(reason) => Err(Rejected::BadRequest { subject, message_id, reason }),
    }
}

/// Text of at most `max` characters that is not blank.
fn text(v: Option<&Value>, max: usize) -> Option<&String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() && char_count(s) <= max => Some(s),
        _ => None,
    }
}

/// The typed content of a message with a (non-reply) subject, or why its payload is bad.
fn message(subject: &str, has_id: bool, raw: &Object) -> Result<ToolMessage, &'static str> {
    static NO_FIELDS: Object = Object::new();
    Ok(match subject {
        "lti.frameResize" => ToolMessage::FrameResize(
            raw.get("height").and_then(Height::parse).ok_or("height must be a number, NNpx, NN% or max")?,
        ),
        "lti.navigation" => ToolMessage::Navigation(match raw.get("location") {
            Some(Value::String(loc)) => Navigation::Location(loc.chars().take(200).collect()),
            _ => match raw.get("path").or_else(|| raw.get("url")).or_else(|| raw.get("data")) {
                Some(Value::String(p)) if p.len() <= 2048 => Navigation::Path(p.clone()),
                _ => return Err("navigation needs location or path"),
            },
        }),
        "lti.contentSelected" => ToolMessage::ContentSelected(
            match raw.get("entries").or_else(|| raw.get("entry")).or_else(|| raw.get("data")) {
                Some(Value::Array(a)) if !a.is_empty() && a.len() <= 50 => {
                    a.iter().map(entry).collect::<Result<Vec<_>, _>>()?
                }
                Some(Value::Object(o)) => vec![entry_fields(o)?],
                // The message itself carries the entry's fields.
                None => vec![entry_fields(raw)?],
                Some(_) => return Err("contentSelected needs one entry or 1-50 entries"),
            },
        ),
        "lti.hideModuleHeader" => ToolMessage::HideModuleHeader,
        "lti.scrollToTop" => ToolMessage::ScrollToTop,
        "lti.fetchWindowSize" => ToolMessage::FetchWindowSize,
        "lti.enableScrollEvents" => ToolMessage::EnableScrollEvents,
        "lti.showModuleNavigation" => match raw.get("show") {
            Some(Value::Bool(b)) => ToolMessage::ShowModuleNavigation(*b),
            _ => return Err("show must be true or false"),
        },
        "lti.showAlert" | "lti.screenReaderAlert" => {
            let body = match raw.get("body") {
                Some(Value::Object(o)) => text(o.get("text"), MAX_ALERT_CHARS).ok_or("alert body must be text")?,
                b => text(b, MAX_ALERT_CHARS).ok_or("alert body must be non-empty text")?,
            };
            let alert_type = opt_str(raw, &["alertType"], 20)?;
            if let Some(t) = &alert_type {
                if !matches!(t.as_str(), "success" | "warning" | "error" | "info") {
                    return Err("alertType must be success, warning, error or info");
                }
            }
            ToolMessage::Alert {
                screen_reader: subject == "lti.screenReaderAlert",
                body: body.clone(),
                alert_type,
                title: opt_str(raw, &["title"], 200)?,
            }
        }
        "lti.setUnloadMessage" => ToolMessage::SetUnloadMessage(opt_str(raw, &["message"], MAX_ALERT_CHARS)?),
        "lti.removeUnloadMessage" => ToolMessage::RemoveUnloadMessage,
        "lti.close" => ToolMessage::Close,
        "requestFullWindowLaunch" | "lti.requestFullWindowLaunch" => {
            let (url, opts) = match raw.get("data") {
                Some(Value::String(u)) => (u, &NO_FIELDS),
                Some(Value::Object(o)) => match o.get("url") {
                    Some(Value::String(u)) => (u, o),
                    _ => return Err("data.url is required"),
                },
                _ => return Err("data must be a URL or {url, launchType}"),
            };
            HttpUrl::parse(url).map_err(|_| "url must be an absolute http(s) URL")?;
            let launch_type = match opts.get("launchType").and_then(Value::as_str) {
                None | Some("same_window") => LaunchType::SameWindow,
                Some("new_window") => LaunchType::NewWindow,
                Some("popup") => LaunchType::Popup,
                Some(_) => return Err("launchType must be same_window, new_window or popup"),
            };
            let lo = opts.get("launchOptions").and_then(Value::as_object).unwrap_or(&NO_FIELDS);
            ToolMessage::RequestFullWindowLaunch {
                url: url.clone(),
                launch_type,
                width: opt_num(lo, &["width"])?,
                height: opt_num(lo, &["height"])?,
            }
        }
        "lti.capabilities" => ToolMessage::Capabilities,
        "lti.put_data" | "lti.get_data" => {
            if !has_id {
                return Err("message_id is required");
            }
            let key = match raw.get("key") {
                Some(Value::String(k)) if !k.is_empty() && char_count(k) <= MAX_KEY_CHARS => k.clone(),
                _ => return Err("key must be a non-empty string"),
            };
            if subject == "lti.get_data" {
                ToolMessage::GetData { key }
            } else {
                let value = match raw.get("value") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if s.is_empty() => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err("value must be a string"),
                };
                ToolMessage::PutData { key, value }
            }
        }
        _ => ToolMessage::Other,
    })
}

/// A reply: `{subject: "<subject>.response", message_id, ...fields}`.
pub fn reply(subject: &str, message_id: Option<&Value>, fields: Value) -> Value {
    let mut m = match fields {
        Value::Object(m) => m,
        _ => Object::new(),
    };
    let mut reply_subject = String::with_capacity(subject.len() + 9);
    reply_subject.push_str(subject);
    reply_subject.push_str(".response");
    m.insert("subject", Value::String(reply_subject));
    if let Some(id) = message_id {
        m.insert("message_id", id.clone());
    }
    Value::Object(m)
}

/// An error reply: `{subject: "<subject>.response", message_id, error: {code, message}}`.
pub fn reply_error(subject: &str, message_id: Option<&Value>, code: &str, message: &str) -> Value {
    let error = Object::new().with("code", code).with("message", message);
    reply(subject, message_id, Object::new().with("error", error).into())
}

/// Why a storage request failed (LTI Client Side postMessages error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageError {
    /// Value too long.
    ValueTooLarge,
    /// Origin over its key quota.
    Exhausted,
}

impl StorageError {
    /// Error code for the reply.
    pub fn code(self) -> &'static str {
        match self {
            Self::ValueTooLarge | Self::Exhausted => "storage_exhaustion",
        }
    }

    /// Message for the reply.
    pub fn message(self) -> &'static str {
        match self {
            Self::ValueTooLarge => "value longer than 4096 characters",
            Self::Exhausted => "this origin already stores 500 keys",
        }
    }
}

/// Host-side LTI Platform Storage: values partitioned by the sender's origin, with quotas.
///
/// Kept in vectors searched linearly: a page has a few origins of at most
/// [`MAX_KEYS_PER_ORIGIN`] keys each, and a tree map would add ~6 KB to the browser module.
#[derive(Debug, Clone, Default)]
pub struct PlatformStorage {
    by_origin: Vec<(String, Vec<(String, String)>)>,
}

impl PlatformStorage {
    fn origin(&self, origin: &str) -> Option<&Vec<(String, String)>> {
        self.by_origin.iter().find(|(o, _)| o == origin).map(|(_, m)| m)
    }

    /// Put (or clear with `None`) a value for `origin`.
    pub fn put(&mut self, origin: &str, key: &str, value: Option<&str>) -> Result<(), StorageError> {
        let Some(value) = value else {
            if let Some((_, m)) = self.by_origin.iter_mut().find(|(o, _)| o == origin) {
                m.retain(|(k, _)| k != key);
            }
            return Ok(());
        };
        if char_count(value) > MAX_VALUE_CHARS {
            return Err(StorageError::ValueTooLarge);
        }
        let i = match self.by_origin.iter().position(|(o, _)| o == origin) {
            Some(i) => i,
            None => {
                self.by_origin.push((origin.to_string(), Vec::new()));
                self.by_origin.len() - 1
            }
        };
        let Some((_, m)) = self.by_origin.get_mut(i) else { return Ok(()) }; // i is in range
        let full = m.len() >= MAX_KEYS_PER_ORIGIN;
        match m.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_string(),
            None if full => return Err(StorageError::Exhausted),
            None => m.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// Get a value stored by `origin`.
    pub fn get(&self, origin: &str, key: &str) -> Option<&str> {
        self.origin(origin)?.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Keys stored by `origin`.
    pub fn len(&self, origin: &str) -> usize {
        self.origin(origin).map_or(0, Vec::len)
    }

    /// Whether `origin` stores nothing.
    pub fn is_empty(&self, origin: &str) -> bool {
        self.len(origin) == 0
    }
}

/// Subjects a host answers (for `lti.capabilities`).
pub const SUPPORTED_SUBJECTS: &[&str] = &[
    "lti.frameResize",
    "lti.navigation",
    "lti.contentSelected",
    "lti.hideModuleHeader",
    "lti.scrollToTop",
    "lti.fetchWindowSize",
    "lti.enableScrollEvents",
    "lti.showModuleNavigation",
    "lti.showAlert",
    "lti.screenReaderAlert",
    "lti.setUnloadMessage",
    "lti.removeUnloadMessage",
    "lti.close",
    "requestFullWindowLaunch",
    "lti.capabilities",
    "lti.put_data",
    "lti.get_data",
];

/// The `lti.capabilities` reply body; storage subjects name the storage frame when one is set.
pub fn capabilities(storage_frame: Option<&str>) -> Value {
    let list: Vec<Value> = SUPPORTED_SUBJECTS
        .iter()
        .map(|s| match (storage_frame, *s) {
            (Some(f), "lti.put_data" | "lti.get_data") => Object::new().with("subject", *s).with("frame", f).into(),
            _ => Object::new().with("subject", *s).into(),
        })
        .collect();
    Object::new().with("supported_messages", list).into()
}

#[cfg(test)]
mod tests;
