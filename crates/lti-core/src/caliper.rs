//! Caliper Analytics 1.2: what a platform's event store expects from a tool.
//!
//! - [`EventStore`]: the profile a platform publishes at `custom_caliper_profile_url` (`apiUrl`,
//!   `apiKey`, `sendEvents`, `includeActors`, `includeGeneratedValues`), parsed into a value
//!   whose key is a secret type.
//! - [`ToolEvent`]: the compact account of what happened that a tool app reports (type,
//!   action, object, media position, score…), checked against the actions the specification
//!   allows per event type (Caliper 1.2 §3, the profiles' "supported actions" tables) with one
//!   sentence per bad field ([`parse_tool_events`]).
//! - [`CaliperSession`]: who, where and in which LTI session, fixed at launch; it turns tool
//!   events into Caliper events (`@context`, `id`, `actor`, `object`, `edApp`, `group`,
//!   `membership`, `session`, `federatedSession`) and makes the `SessionEvent` `LoggedIn` of a
//!   launch.
//! - [`envelope`]: the envelope an event store receives (Caliper 1.2 §5.2: `sensor`,
//!   `sendTime`, `dataVersion`, `data`), and [`validate_event`], which checks an event the way a
//!   store does (required properties, types, actions per event type, ISO 8601 times).
//!
//! Sans-IO like the rest of the crate: ids (random UUID bytes) and times are passed in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::encoding::percent_encode;
use crate::error::{Coded, ErrorCode};
use crate::url::HttpUrl;

/// The JSON-LD context of Caliper 1.2 events, also the envelope's `dataVersion`.
pub const CONTEXT: &str = "http://purl.imsglobal.org/ctx/caliper/v1p2";
/// Most events one request may carry.
pub const MAX_EVENTS: usize = 100;
/// Longest id or IRI accepted from a tool.
pub const MAX_IRI: usize = 2048;
/// Longest name or media type accepted from a tool.
pub const MAX_NAME: usize = 500;
/// Largest profile document read (bytes).
pub const MAX_PROFILE_BYTES: usize = 16 * 1024;
/// How far in the future a tool's `eventTime` may lie (clock skew), seconds.
pub const FUTURE_LEEWAY_S: i64 = 300;
/// How old a tool's `eventTime` may be, seconds (a page that flushes late still counts).
pub const MAX_AGE_S: i64 = 7 * 24 * 3600;

/// Why Caliper input was refused. `Display` is for logs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaliperError {
    /// Events from a tool: field path → what is wrong.
    #[error("caliper events invalid: {0:?}")]
    EventInvalid(BTreeMap<String, String>),
    /// The platform's profile: why.
    #[error("caliper profile invalid: {0}")]
    ProfileInvalid(String),
}

impl CaliperError {
    /// Field → sentence, for validation errors.
    pub fn fields(&self) -> Option<BTreeMap<String, String>> {
        match self {
            Self::EventInvalid(f) => Some(f.clone()),
            Self::ProfileInvalid(_) => None,
        }
    }
}

impl Coded for CaliperError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::EventInvalid(_) => ErrorCode::CaliperEventInvalid,
            Self::ProfileInvalid(_) => ErrorCode::CaliperProfileInvalid,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Event types and their actions

/// The event types a tool may report, with the profile, actions and object types the
/// specification allows for each (Caliper 1.2 §3.x "Supported actions"; §4 entity types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// SessionProfile: `LoggedIn`, `LoggedOut` (the object is the tool itself).
    Session,
    /// ReadingProfile: `Viewed`.
    View,
    /// ReadingProfile: `NavigatedTo`.
    Navigation,
    /// MediaProfile.
    Media,
    /// AssessmentProfile.
    Assessment,
    /// AssessmentProfile: items.
    AssessmentItem,
}

const DIGITAL_RESOURCES: &[&str] = &[
    "DigitalResource",
    "DigitalResourceCollection",
    "Document",
    "Chapter",
    "Page",
    "WebPage",
    "Frame",
    "MediaObject",
    "VideoObject",
    "AudioObject",
    "ImageObject",
    "Assessment",
    "AssessmentItem",
    "AssignableDigitalResource",
];
const MEDIA_OBJECTS: &[&str] = &["MediaObject", "VideoObject", "AudioObject", "ImageObject"];

impl EventKind {
    /// Every kind.
    pub const ALL: &'static [EventKind] =
        &[Self::Session, Self::View, Self::Navigation, Self::Media, Self::Assessment, Self::AssessmentItem];

    /// The Caliper `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "SessionEvent",
            Self::View => "ViewEvent",
            Self::Navigation => "NavigationEvent",
            Self::Media => "MediaEvent",
            Self::Assessment => "AssessmentEvent",
            Self::AssessmentItem => "AssessmentItemEvent",
        }
    }

    /// From the Caliper `type`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The Caliper 1.2 profile the event belongs to.
    pub fn profile(self) -> &'static str {
        match self {
            Self::Session => "SessionProfile",
            Self::View | Self::Navigation => "ReadingProfile",
            Self::Media => "MediaProfile",
            Self::Assessment | Self::AssessmentItem => "AssessmentProfile",
        }
    }

    /// Actions the specification allows for this event type.
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            Self::Session => &["LoggedIn", "LoggedOut"],
            Self::View => &["Viewed"],
            Self::Navigation => &["NavigatedTo"],
            Self::Media => &[
                "Started",
                "Ended",
                "Paused",
                "Resumed",
                "Restarted",
                "ForwardedTo",
                "JumpedTo",
                "ChangedResolution",
                "ChangedSize",
                "ChangedSpeed",
                "ChangedVolume",
                "EnabledClosedCaptioning",
                "DisabledClosedCaptioning",
                "EnteredFullScreen",
                "ExitedFullScreen",
                "Muted",
                "Unmuted",
                "OpenedPopout",
                "ClosedPopout",
            ],
            Self::Assessment => &["Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"],
            Self::AssessmentItem => &["Started", "Skipped", "Completed"],
        }
    }

    /// Object types allowed (the first is the default when a tool names none).
    pub fn object_types(self) -> &'static [&'static str] {
        match self {
            Self::Session => &["SoftwareApplication"],
            Self::View | Self::Navigation => DIGITAL_RESOURCES,
            Self::Media => MEDIA_OBJECTS,
            Self::Assessment => &["Assessment"],
            Self::AssessmentItem => &["AssessmentItem"],
        }
    }

    /// The default object type.
    fn default_object_type(self) -> &'static str {
        match self {
            Self::Media => "VideoObject",
            Self::View | Self::Navigation => "DigitalResource",
            other => other.object_types().first().copied().unwrap_or("DigitalResource"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The platform's profile

/// The event store's key: sent as `Authorization: <apiKey>`, never shown (`Debug` is redacted,
/// no `Display`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The platform's event store, as its profile describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventStore {
    /// Where envelopes are POSTed.
    pub api_url: String,
    /// The `Authorization` value.
    pub api_key: ApiKey,
    /// Whether the platform wants events at all.
    pub send_events: bool,
    /// Whether events carry the actor (false: no `actor`, no user in sessions or memberships).
    pub include_actors: bool,
    /// Whether events carry `generated` values (attempts, responses).
    pub include_generated_values: bool,
}

impl EventStore {
    /// Parse a profile document. `apiUrl` must be https (http only on loopback when
    /// `allow_http_loopback`); `apiKey` a non-empty header-safe string; the flags booleans
    /// (`sendEvents`, `includeActors` and `includeGeneratedValues` default to true).
    pub fn parse(body: &[u8], allow_http_loopback: bool) -> Result<Self, CaliperError> {
        let bad = |why: &str| CaliperError::ProfileInvalid(why.to_string());
        if body.len() > MAX_PROFILE_BYTES {
            return Err(bad("larger than 16 KB"));
        }
        let v: Value = serde_json::from_slice(body).map_err(|_| bad("not JSON"))?;
        let o = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let api_url = o.get("apiUrl").and_then(Value::as_str).ok_or_else(|| bad("apiUrl missing"))?;
        let url = HttpUrl::parse(api_url).map_err(|_| bad("apiUrl is not a URL"))?;
        url.require_secure(allow_http_loopback).map_err(|_| bad("apiUrl is not https"))?;
        let key = o.get("apiKey").and_then(Value::as_str).ok_or_else(|| bad("apiKey missing"))?;
        if key.trim().is_empty() || key.len() > 4096 || key.chars().any(|c| c.is_control()) {
            return Err(bad("apiKey empty, too long or not header-safe"));
        }
        let flag = |name: &str| -> Result<bool, CaliperError> {
            match o.get(name) {
                None | Some(Value::Null) => Ok(true),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(CaliperError::ProfileInvalid(format!("{name} is not a boolean"))),
            }
        };
        Ok(Self {
            api_url: url.to_string(),
            api_key: ApiKey(key.to_string()),
            send_events: flag("sendEvents")?,
            include_actors: flag("includeActors")?,
            include_generated_values: flag("includeGeneratedValues")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// What a tool reports

/// The object of a tool's event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolObject {
    /// IRI.
    pub id: String,
    /// Caliper type (one of [`EventKind::object_types`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IANA media type.
    #[serde(default, rename = "mediaType", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Length of a media object, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

/// One event as a tool reports it (validated: its action is allowed for its type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolEvent {
    /// The tool's own `urn:uuid:` for the event, so that a tool resending after an answer it
    /// never saw (a page unloading mid-request) sends the same id and the store can drop the
    /// copy; absent: the worker draws one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Caliper event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Caliper action.
    pub action: String,
    /// The object (absent for session events: the tool itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ToolObject>,
    /// ISO 8601 time it happened (absent: when the worker accepted it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    /// Media position, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<f64>,
    /// Score given (assessment events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Maximum score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_maximum: Option<f64>,
    /// Attempt number (assessment events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Time spent, seconds (assessment and item events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

impl ToolEvent {
    /// The type (valid by construction).
    pub fn event_kind(&self) -> EventKind {
        EventKind::parse(&self.kind).unwrap_or(EventKind::View)
    }
}

/// Read a tool's request: `{"events": [ … ]}` or one event object. Each event is checked; the
/// error lists every bad field as `events[i].field` → what to send instead. `now` (Unix
/// seconds) bounds `eventTime`.
pub fn parse_tool_events(body: &Value, now: i64) -> Result<Vec<ToolEvent>, CaliperError> {
    let mut fields = BTreeMap::new();
    let list: Vec<&Value> = match body.get("events") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => {
            fields.insert("events".to_string(), "must be an array of events".to_string());
            return Err(CaliperError::EventInvalid(fields));
        }
        None if body.get("type").is_some() => vec![body],
        None => {
            fields.insert("events".to_string(), "required: an array of 1–100 events".to_string());
            return Err(CaliperError::EventInvalid(fields));
        }
    };
    if list.is_empty() || list.len() > MAX_EVENTS {
        fields.insert("events".to_string(), format!("must hold 1–{MAX_EVENTS} events (got {})", list.len()));
        return Err(CaliperError::EventInvalid(fields));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        if let Some(e) = parse_one(v, now, &format!("events[{i}]"), &mut fields) {
            out.push(e);
        }
    }
    if fields.is_empty() {
        Ok(out)
    } else {
        Err(CaliperError::EventInvalid(fields))
    }
}

fn parse_one(v: &Value, now: i64, at: &str, fields: &mut BTreeMap<String, String>) -> Option<ToolEvent> {
    let before = fields.len();
    let mut bad = |f: &str, why: String| {
        fields.insert(format!("{at}.{f}"), why);
    };
    let Some(o) = v.as_object() else {
        bad("", "must be an object".into());
        return None;
    };
    const KNOWN: &[&str] =
        &["id", "type", "action", "object", "eventTime", "position", "score", "scoreMaximum", "count", "duration"];
    for k in o.keys() {
        if !KNOWN.contains(&k.as_str()) {
            bad(k, format!("unknown field (known: {})", KNOWN.join(", ")));
        }
    }
    let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind = match o.get("type").and_then(Value::as_str) {
        Some(t) => match EventKind::parse(t) {
            Some(k) => Some(k),
            None => {
                bad("type", format!("unknown event type; one of {}", names.join(", ")));
                None
            }
        },
        None => {
            bad("type", format!("required; one of {}", names.join(", ")));
            None
        }
    };
    let id = match o.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_urn_uuid(s) => Some(s.to_ascii_lowercase()),
        Some(_) => {
            bad("id", "must be a urn:uuid (urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), or absent".into());
            None
        }
    };
    let action = o.get("action").and_then(Value::as_str);
    if let Some(k) = kind {
        match action {
            Some(a) if k.actions().contains(&a) => {}
            Some(_) | None => bad("action", format!("{} allows {}", k.as_str(), k.actions().join(", "))),
        }
    }
    let object = match (kind, o.get("object")) {
        (Some(EventKind::Session), None) => None,
        (Some(EventKind::Session), Some(_)) => {
            bad("object", "a SessionEvent's object is the tool itself: send none".into());
            None
        }
        (_, Some(Value::Object(obj))) => parse_object(obj, kind, &mut bad),
        (_, Some(_)) => {
            bad("object", "must be an object {id, type, name, mediaType, duration}".into());
            None
        }
        (_, None) => {
            bad("object", "required: {id, type?, name?}".into());
            None
        }
    };
    let event_time = match o.get("eventTime") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match parse_datetime(s) {
            Some(t) if t > now + FUTURE_LEEWAY_S => {
                bad("eventTime", "is in the future".into());
                None
            }
            Some(t) if t < now - MAX_AGE_S => {
                bad("eventTime", "is older than 7 days".into());
                None
            }
            Some(_) => Some(s.clone()),
            None => {
                bad("eventTime", "must be an ISO 8601 UTC date-time, e.g. 2026-01-31T10:15:00.000Z".into());
                None
            }
        },
        Some(_) => {
            bad("eventTime", "must be a string".into());
            None
        }
    };
    let mut number = |f: &str, min: f64, max: f64| -> Option<f64> {
        match o.get(f) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(n) if n.is_finite() && n >= min && n <= max => Some(n),
                _ => {
                    bad(f, format!("must be a number from {min} to {max}"));
                    None
                }
            },
        }
    };
    const TEN_DAYS: f64 = 864_000.0;
    let position = number("position", 0.0, TEN_DAYS);
    let score = number("score", 0.0, 1e9);
    let score_maximum = number("scoreMaximum", 0.0, 1e9);
    let duration = number("duration", 0.0, TEN_DAYS);
    let count = number("count", 1.0, 10_000.0).map(|c| c as u32);
    let is_assessment = matches!(kind, Some(EventKind::Assessment | EventKind::AssessmentItem));
    if (score.is_some() || score_maximum.is_some() || count.is_some()) && !is_assessment && kind.is_some() {
        let f = if score.is_some() {
            "score"
        } else if count.is_some() {
            "count"
        } else {
            "scoreMaximum"
        };
        fields.insert(format!("{at}.{f}"), "only for AssessmentEvent and AssessmentItemEvent".into());
    }
    if position.is_some() && kind.is_some() && kind != Some(EventKind::Media) {
        fields.insert(format!("{at}.position"), "only for MediaEvent".into());
    }
    if let (Some(s), Some(m)) = (score, score_maximum) {
        if s > m {
            fields.insert(format!("{at}.score"), "must not exceed scoreMaximum".into());
        }
    }
    if fields.len() != before {
        return None;
    }
    Some(ToolEvent {
        id,
        kind: kind?.as_str().to_string(),
        action: action?.to_string(),
        object,
        event_time,
        position,
        score,
        score_maximum,
        count,
        duration,
    })
}

fn parse_object(
    obj: &Map<String, Value>,
    kind: Option<EventKind>,
    bad: &mut impl FnMut(&str, String),
) -> Option<ToolObject> {
    let before_ok = true;
    let mut ok = before_ok;
    for k in obj.keys() {
        if !["id", "type", "name", "mediaType", "duration"].contains(&k.as_str()) {
            bad(&format!("object.{k}"), "unknown field (known: id, type, name, mediaType, duration)".into());
            ok = false;
        }
    }
    let id = match obj.get("id").and_then(Value::as_str) {
        Some(id) if is_iri(id) => Some(id.to_string()),
        _ => {
            bad("object.id", "required: an absolute IRI of at most 2048 characters (https://… or urn:…)".into());
            None
        }
    };
    let kind_name = match (kind, obj.get("type")) {
        (Some(k), None) => Some(k.default_object_type().to_string()),
        (Some(k), Some(Value::String(t))) if k.object_types().contains(&t.as_str()) => Some(t.clone()),
        (Some(k), Some(_)) => {
            bad("object.type", format!("{} takes {}", k.as_str(), k.object_types().join(", ")));
            None
        }
        (None, _) => None,
    };
    let mut text = |f: &str, max: usize| -> Option<String> {
        match obj.get(f) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => Some(s.clone()),
            Some(_) => {
                bad(&format!("object.{f}"), format!("must be a string of 1–{max} characters"));
                ok = false;
                None
            }
        }
    };
    let name = text("name", MAX_NAME);
    let media_type = text("mediaType", 255);
    let duration = match obj.get("duration") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(d) if d.is_finite() && (0.0..=864_000.0).contains(&d) => Some(d),
            _ => {
                bad("object.duration", "must be a number of seconds from 0 to 864000".into());
                ok = false;
                None
            }
        },
    };
    if !ok {
        return None;
    }
    Some(ToolObject { id: id?, kind: kind_name?, name, media_type, duration })
}

/// An absolute IRI: a scheme (`letter *(letter / digit / + - .)`), `:`, then no whitespace
/// or control characters, at most [`MAX_IRI`] characters.
pub fn is_iri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else { return false };
    let mut sc = scheme.chars();
    s.len() <= MAX_IRI
        && sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sc.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"{}|\\^`".contains(c))
}

// ---------------------------------------------------------------------------------------------
// Times

/// Parse an ISO 8601 date-time with a UTC designator or offset
/// (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`) into Unix seconds.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let at = |i: usize| b.get(i).copied();
    if at(4) != Some(b'-')
        || at(7) != Some(b'-')
        || !matches!(at(10), Some(b'T'))
        || at(13) != Some(b':')
        || at(16) != Some(b':')
    {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (num(0, 4)?, num(5, 2)?, num(8, 2)?, num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if at(i) == Some(b'.') {
        i += 1;
        let start = i;
        while at(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        if i == start || i - start > 9 {
            return None;
        }
    }
    let offset = match at(i) {
        Some(b'Z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && at(i + 3) == Some(b':') => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (H. Hinnant's civil-from-days inverse).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An ISO 8601 duration of whole milliseconds: `PT1H2M3.5S`, `PT0S`.
pub fn format_duration(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, frac) = (rest / 1000, rest % 1000);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || frac > 0 || (h == 0 && m == 0) {
        if frac > 0 {
            let f = format!("{frac:03}");
            out.push_str(&format!("{s}.{}S", f.trim_end_matches('0')));
        } else {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// Whether `s` is an ISO 8601 duration as Caliper uses them (`P[nY][nM][nD][T[nH][nM][n[.n]S]]`).
pub fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else { return false };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let units = |part: &str, allowed: &str, frac_last: bool| -> Option<usize> {
        let mut n = 0;
        let mut digits = String::new();
        let mut order = allowed.chars();
        for c in part.chars() {
            if c.is_ascii_digit() || (frac_last && c == '.') {
                digits.push(c);
            } else {
                if digits.is_empty() || digits.starts_with('.') || digits.ends_with('.') {
                    return None;
                }
                if digits.contains('.') && c != 'S' {
                    return None;
                }
                order.by_ref().find(|u| *u == c)?;
                digits.clear();
                n += 1;
            }
        }
        digits.is_empty().then_some(n)
    };
    let Some(d) = units(date, "YMWD", false) else { return false };
    match time {
        Some(t) => units(t, "HMS", true).is_some_and(|n| n > 0),
        None => d > 0,
    }
}

/// A `urn:uuid:` of 16 random bytes (version 4, RFC 4122 variant).
pub fn urn_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::encoding::hex(&b);
    // hex of 16 bytes is 32 ASCII characters: the slices below are in range.
    let part = |a: usize, z: usize| h.get(a..z).unwrap_or_default().to_string();
    format!("urn:uuid:{}-{}-{}-{}-{}", part(0, 8), part(8, 12), part(12, 16), part(16, 20), part(20, 32))
}

// ---------------------------------------------------------------------------------------------
// The session: who, where, which LTI session

/// What a launch tells about the person, the course and the LTI session (inputs of
/// [`CaliperSession::new`]).
#[derive(Debug, Clone)]
pub struct LaunchFacts<'a> {
    /// The tool's public base URL (the `edApp` and the sensor).
    pub tool_base: &'a str,
    /// The platform's issuer (1.3) or its 1.1 consumer URL namespace.
    pub issuer: &'a str,
    /// The platform's user id (`sub`, or 1.1 `user_id`); None for an anonymous launch.
    pub platform_user_id: Option<&'a str>,
    /// Display name (sent only when the store includes actors).
    pub name: Option<&'a str>,
    /// LTI context id.
    pub context_id: Option<&'a str>,
    /// Course title.
    pub context_title: Option<&'a str>,
    /// LTI roles as sent.
    pub lti_roles: &'a [String],
    /// Deployment id.
    pub deployment_id: &'a str,
    /// Message type.
    pub message_type: &'a str,
    /// Resource link id.
    pub resource_link_id: Option<&'a str>,
    /// `custom_caliper_federated_session_id`.
    pub federated_session_id: Option<&'a str>,
    /// This tool session's id (random, hex).
    pub session_id: &'a str,
    /// ISO 8601 time of the launch.
    pub started: &'a str,
}

/// Who, where and in which LTI session events happen: fixed at launch, kept sealed by the
/// worker with the store's configuration, and used for every event of the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaliperSession {
    /// `edApp` id (the tool).
    pub ed_app: String,
    /// The person's IRI (None: anonymous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The person's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The course's IRI and title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<(String, Option<String>)>,
    /// Caliper roles of the membership.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The tool session IRI.
    pub session: String,
    /// When the session started.
    pub started: String,
    /// The LTI session (`federatedSession`).
    pub federated: Value,
    /// Whether events carry the actor.
    pub include_actors: bool,
    /// Whether events carry generated values.
    pub include_generated: bool,
}

/// Caliper roles (LIS v2 membership roles, `Role#SubRole` for sub-roles) from LTI roles; roles
/// outside the membership vocabulary (institution, system) are left out.
pub fn caliper_roles(lti_roles: &[String]) -> Vec<String> {
    const MEMBERSHIP: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership";
    const PRINCIPAL: &[&str] =
        &["Administrator", "ContentDeveloper", "Instructor", "Learner", "Manager", "Member", "Mentor", "Officer"];
    let mut out: Vec<String> = Vec::new();
    for r in lti_roles {
        let short = if let Some(rest) = r.strip_prefix(MEMBERSHIP) {
            // `…/membership#Learner` or `…/membership/Instructor#TeachingAssistant`
            rest.strip_prefix('#').or_else(|| rest.strip_prefix('/')).map(str::to_string)
        } else if !r.contains(':') {
            // LTI 1.1 short names (`Learner`, `Instructor`, `urn:…` excluded).
            Some(r.trim().to_string())
        } else {
            r.strip_prefix("urn:lti:role:ims/lis/").map(|s| s.replace('/', "#"))
        };
        let Some(short) = short else { continue };
        let principal = short.split('#').next().unwrap_or_default();
        let principal = if principal == "TeachingAssistant" { "Instructor" } else { principal };
        if PRINCIPAL.contains(&principal) {
            let role = if short == "TeachingAssistant" { "Instructor#TeachingAssistant".to_string() } else { short };
            if !out.contains(&role) {
                out.push(role);
            }
        }
    }
    out
}

fn iri_of(base: &str, kind: &str, id: &str) -> String {
    if is_iri(id) && (id.starts_with("https://") || id.starts_with("http://") || id.starts_with("urn:")) {
        id.to_string()
    } else {
        format!("{}/{kind}/{}", base.trim_end_matches('/'), percent_encode(id))
    }
}

impl CaliperSession {
    /// The session of a launch, as the store's profile asks (actors or not, generated values
    /// or not).
    pub fn new(f: &LaunchFacts<'_>, store: &EventStore) -> Self {
        let base = f.tool_base.trim_end_matches('/');
        let issuer = f.issuer.trim_end_matches('/');
        let actor = f.platform_user_id.map(|u| iri_of(issuer, "users", u));
        let group = f.context_id.map(|c| (iri_of(issuer, "courses", c), f.context_title.map(str::to_string)));
        let session = format!("{base}/caliper/sessions/{}", f.session_id);
        let mut params = Map::new();
        params.insert("iss".into(), json!(f.issuer));
        if store.include_actors {
            if let Some(u) = f.platform_user_id {
                params.insert("sub".into(), json!(u));
            }
        }
        params.insert("https://purl.imsglobal.org/spec/lti/claim/deployment_id".into(), json!(f.deployment_id));
        params.insert("https://purl.imsglobal.org/spec/lti/claim/message_type".into(), json!(f.message_type));
        if let Some(c) = f.context_id {
            params.insert("https://purl.imsglobal.org/spec/lti/claim/context".into(), json!({"id": c}));
        }
        if let Some(r) = f.resource_link_id {
            params.insert("https://purl.imsglobal.org/spec/lti/claim/resource_link".into(), json!({"id": r}));
        }
        if let Some(fed) = f.federated_session_id {
            params.insert("custom_caliper_federated_session_id".into(), json!(fed));
        }
        let fed_id = match f.federated_session_id {
            Some(fed) => iri_of(issuer, "lti/sessions", fed),
            None => format!("{base}/caliper/lti-sessions/{}", f.session_id),
        };
        let mut federated = json!({
            "id": fed_id,
            "type": "LtiSession",
            "dateCreated": f.started,
            "startedAtTime": f.started,
            "messageParameters": Value::Object(params),
        });
        if let (true, Some(a), Some(o)) = (store.include_actors, &actor, federated.as_object_mut()) {
            o.insert("user".into(), json!({"id": a, "type": "Person"}));
        }
        Self {
            ed_app: base.to_string(),
            actor,
            name: f.name.map(str::to_string),
            group,
            roles: caliper_roles(f.lti_roles),
            session,
            started: f.started.to_string(),
            federated,
            include_actors: store.include_actors,
            include_generated: store.include_generated_values,
        }
    }

    /// The common part of every event: context, id, type, profile, action, actor, time,
    /// edApp, group, membership, session, federatedSession.
    fn base_event(&self, kind: EventKind, action: &str, id: &str, time: &str) -> Map<String, Value> {
        let mut e = Map::new();
        e.insert("@context".into(), json!(CONTEXT));
        e.insert("id".into(), json!(id));
        e.insert("type".into(), json!(kind.as_str()));
        e.insert("profile".into(), json!(kind.profile()));
        let actor = self.actor.as_ref().filter(|_| self.include_actors);
        if let Some(a) = actor {
            let mut p = json!({"id": a, "type": "Person"});
            if let (Some(n), Some(o)) = (&self.name, p.as_object_mut()) {
                o.insert("name".into(), json!(n));
            }
            e.insert("actor".into(), p);
        }
        e.insert("action".into(), json!(action));
        e.insert("eventTime".into(), json!(time));
        e.insert("edApp".into(), json!({"id": self.ed_app, "type": "SoftwareApplication"}));
        if let Some((gid, title)) = &self.group {
            let mut g = json!({"id": gid, "type": "CourseSection"});
            if let (Some(t), Some(o)) = (title, g.as_object_mut()) {
                o.insert("name".into(), json!(t));
            }
            e.insert("group".into(), g);
            if let Some(a) = actor {
                let mut m = json!({
                    "id": format!("{gid}/members/{}", percent_encode(a)),
                    "type": "Membership",
                    "member": {"id": a, "type": "Person"},
                    "organization": {"id": gid, "type": "CourseSection"},
                    "status": "Active",
                });
                if let (false, Some(o)) = (self.roles.is_empty(), m.as_object_mut()) {
                    o.insert("roles".into(), json!(self.roles));
                }
                e.insert("membership".into(), m);
            }
        }
        let mut s = json!({"id": self.session, "type": "Session", "startedAtTime": self.started});
        if let (Some(a), Some(o)) = (actor, s.as_object_mut()) {
            o.insert("user".into(), json!({"id": a, "type": "Person"}));
        }
        e.insert("session".into(), s);
        e.insert("federatedSession".into(), self.federated.clone());
        e
    }

    /// The `SessionEvent` `LoggedIn` of the launch (Caliper 1.2 Session Profile).
    pub fn logged_in(&self, id: &str) -> Value {
        let mut e = self.base_event(EventKind::Session, "LoggedIn", id, &self.started);
        e.insert("object".into(), json!({"id": self.ed_app, "type": "SoftwareApplication"}));
        Value::Object(e)
    }

    /// A tool's event as a Caliper event: `id` a `urn:uuid:`, `now` the ISO time it was
    /// accepted (its `eventTime` unless the tool gave one).
    pub fn event(&self, ev: &ToolEvent, id: &str, now: &str) -> Value {
        let kind = ev.event_kind();
        let time = ev.event_time.as_deref().unwrap_or(now);
        let mut e = self.base_event(kind, &ev.action, id, time);
        let object = match &ev.object {
            None => json!({"id": self.ed_app, "type": "SoftwareApplication"}),
            Some(o) => {
                let mut v = json!({"id": o.id, "type": o.kind});
                if let Some(m) = v.as_object_mut() {
                    if let Some(n) = &o.name {
                        m.insert("name".into(), json!(n));
                    }
                    if let Some(t) = &o.media_type {
                        m.insert("mediaType".into(), json!(t));
                    }
                    if let Some(d) = o.duration {
                        m.insert("duration".into(), json!(format_duration(d)));
                    }
                }
                v
            }
        };
        if let (EventKind::Media, Some(pos), Some(o)) = (kind, ev.position, &ev.object) {
            // MediaLocation: the object's IRI with the position as a media fragment (W3C Media
            // Fragments `#t=`), so each location has an id of its own.
            let base = o.id.split('#').next().unwrap_or(&o.id);
            e.insert(
                "target".into(),
                json!({"id": format!("{base}#t={}", trim_float(pos)), "type": "MediaLocation",
                       "currentTime": format_duration(pos)}),
            );
        }
        if self.include_generated {
            if let Some(g) = self.generated(kind, ev, &object, id, time) {
                e.insert("generated".into(), g);
            }
        }
        e.insert("object".into(), object);
        Value::Object(e)
    }

    /// `generated`: an `Attempt` of an assessment, a `Response` of a completed item
    /// (Assessment Profile), with the tool's score, count and duration.
    fn generated(&self, kind: EventKind, ev: &ToolEvent, object: &Value, id: &str, time: &str) -> Option<Value> {
        let oid = object.get("id").and_then(Value::as_str)?;
        let attempt_id = format!("{oid}/attempts/{}", ev.count.unwrap_or(1));
        let mut g = match (kind, ev.action.as_str()) {
            (EventKind::Assessment, "Started" | "Submitted" | "Restarted" | "Reset") => json!({
                "id": attempt_id, "type": "Attempt", "assignable": {"id": oid, "type": "Assessment"},
                "count": ev.count.unwrap_or(1),
            }),
            (EventKind::AssessmentItem, "Completed") => json!({
                "id": format!("{oid}/responses/{}", id.trim_start_matches("urn:uuid:")), "type": "Response",
                "attempt": {"id": attempt_id, "type": "Attempt", "count": ev.count.unwrap_or(1)},
                "endedAtTime": time,
            }),
            _ => return None,
        };
        let o = g.as_object_mut()?;
        if let Some(a) = self.actor.as_ref().filter(|_| self.include_actors) {
            o.insert("assignee".into(), json!({"id": a, "type": "Person"}));
        }
        if let Some(d) = ev.duration {
            o.insert("duration".into(), json!(format_duration(d)));
        }
        if ev.score.is_some() || ev.score_maximum.is_some() {
            let mut x = Map::new();
            if let Some(s) = ev.score {
                x.insert("scoreGiven".into(), json!(s));
            }
            if let Some(m) = ev.score_maximum {
                x.insert("maxScore".into(), json!(m));
            }
            o.insert("extensions".into(), Value::Object(x));
        }
        Some(g)
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The envelope of a batch (Caliper 1.2 §5.2): `sensor` (the tool), `sendTime`, `dataVersion`,
/// `data`.
pub fn envelope(sensor: &str, send_time: &str, data: Vec<Value>) -> Value {
    json!({"sensor": sensor, "sendTime": send_time, "dataVersion": CONTEXT, "data": data})
}

// ---------------------------------------------------------------------------------------------
// Validation, the store's way

/// Check an event as an event store does: `@context`, `id` (a `urn:uuid:`), `type` and
/// `action` (allowed for the type), `actor` (Person, when present), `object` (of an allowed
/// type), `eventTime` (ISO 8601), and the entities' `id`/`type`. Returns every problem.
pub fn validate_event(e: &Value) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let s = |k: &str| e.get(k).and_then(Value::as_str);
    if s("@context") != Some(CONTEXT) {
        errs.push(format!("@context must be {CONTEXT}"));
    }
    match s("id") {
        Some(id) if is_urn_uuid(id) => {}
        _ => errs.push("id must be a urn:uuid".into()),
    }
    let kind = s("type").and_then(EventKind::parse);
    match (kind, s("action")) {
        (None, _) => errs.push(format!("type {:?} is not a supported event type", s("type"))),
        (Some(k), Some(a)) if k.actions().contains(&a) => {}
        (Some(k), a) => errs.push(format!("action {a:?} is not allowed for {}", k.as_str())),
    }
    if let Some(a) = e.get("actor") {
        entity(a, "actor", &["Person", "SoftwareApplication"], &mut errs);
    }
    match (kind, e.get("object")) {
        (_, None) => errs.push("object is required".into()),
        (Some(k), Some(o)) => entity(o, "object", k.object_types(), &mut errs),
        (None, Some(_)) => {}
    }
    match s("eventTime") {
        Some(t) if parse_datetime(t).is_some() => {}
        _ => errs.push("eventTime must be an ISO 8601 date-time".into()),
    }
    for (k, types) in [
        ("edApp", &["SoftwareApplication"][..]),
        ("group", &["CourseSection", "CourseOffering", "Group", "Organization"][..]),
        ("membership", &["Membership"][..]),
        ("session", &["Session"][..]),
        ("federatedSession", &["LtiSession"][..]),
        ("target", &["MediaLocation", "Frame", "DigitalResource"][..]),
    ] {
        if let Some(v) = e.get(k) {
            entity(v, k, types, &mut errs);
        }
    }
    if let Some(c) = e.get("target").and_then(|t| t.get("currentTime")) {
        if !c.as_str().is_some_and(is_duration) {
            errs.push("target.currentTime must be an ISO 8601 duration".into());
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// An entity: an IRI string, or an object with an IRI `id` and one of `types`.
fn entity(v: &Value, at: &str, types: &[&str], errs: &mut Vec<String>) {
    match v {
        Value::String(iri) if is_iri(iri) => {}
        Value::Object(o) => {
            if !o.get("id").and_then(Value::as_str).is_some_and(is_iri) {
                errs.push(format!("{at}.id must be an IRI"));
            }
            match o.get("type").and_then(Value::as_str) {
                Some(t) if types.contains(&t) => {}
                t => errs.push(format!("{at}.type {t:?} is not one of {}", types.join(", "))),
            }
        }
        _ => errs.push(format!("{at} must be an IRI or an object")),
    }
}

fn is_urn_uuid(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else { return false };
    let groups: Vec<&str> = u.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
