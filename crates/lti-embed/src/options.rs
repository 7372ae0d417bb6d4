//! Options of an embed (host side) and of a tool client, parsed into validated configurations.
//!
//! Both arrive from JavaScript as plain objects; the browser module serialises them to JSON and
//! hands them here, so every rule is checked natively. Unknown fields are refused (a typo such as
//! `allowedOrigin` must not silently leave an embed without an allow-list).

use lti_messages::json::{self, Object, Value};

use crate::origin::{self, AllowList, OriginError};
use crate::text;

/// Default minimum iframe height, CSS pixels (KAF guide: tool pages need 800 px).
pub const DEFAULT_MIN_HEIGHT: f64 = 800.0;
/// Default maximum iframe height, CSS pixels: a tool asking for more (by mistake, in a resize
/// feedback loop, or on purpose) stops here. About 20 screens; raise it with `maxHeight` (up to
/// [`MAX_CONFIG_HEIGHT`]) for very long tool pages.
pub const DEFAULT_MAX_HEIGHT: f64 = 20_000.0;
/// Largest height accepted in options.
pub const MAX_CONFIG_HEIGHT: f64 = 100_000.0;
/// Default `allow` attribute: what video players need.
pub const DEFAULT_ALLOW: &str = "autoplay; fullscreen; encrypted-media; picture-in-picture";
/// Default sandbox: scripts and forms run, the origin stays verifiable (`allow-same-origin`),
/// popups (e.g. a player's full-window launch) escape the sandbox.
pub const DEFAULT_SANDBOX: &str =
    "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox";
/// Default iframe title (screen readers announce it).
pub const DEFAULT_TITLE: &str = "Learning tool";
/// Default timeout of a tool's storage request, milliseconds (hosts answer within 1–2 s).
pub const DEFAULT_TIMEOUT_MS: u32 = 2000;

const SANDBOX_TOKENS: &[&str] = &[
    "allow-downloads",
    "allow-forms",
    "allow-modals",
    "allow-orientation-lock",
    "allow-pointer-lock",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-presentation",
    "allow-same-origin",
    "allow-scripts",
    "allow-storage-access-by-user-activation",
    "allow-top-navigation",
    "allow-top-navigation-by-user-activation",
    "allow-top-navigation-to-custom-protocols",
];

/// Why options were refused. The message names the option and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// Not a JSON object.
    NotObject,
    /// A field this version does not know (a typo would otherwise go unnoticed).
    Unknown(String),
    /// A field breaks a rule (or has the wrong type).
    Invalid {
        /// Option name.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A single-origin option cannot be used.
    OriginField {
        /// Option name.
        field: &'static str,
        /// Why.
        error: OriginError,
    },
    /// An origin in a list cannot be used.
    Origin {
        /// Option name.
        field: &'static str,
        /// Position in the list.
        index: usize,
        /// Why.
        error: OriginError,
    },
}

impl OptionsError {
    /// What is wrong, as a sentence naming the option (also the `Display` text):
    /// `options must be an object`, `options.<name> is not an option`,
    /// `options.<field>: <reason>` (also for a single origin), `options.<field>[<index>]: <why>`.
    pub fn message(&self) -> String {
        match self {
            OptionsError::NotObject => "options must be an object".to_string(),
            OptionsError::Unknown(name) => text::concat(&["options.", name, " is not an option"]),
            OptionsError::Invalid { field, reason } => text::concat(&["options.", field, ": ", reason]),
            OptionsError::OriginField { field, error } => text::concat(&["options.", field, ": ", error.message()]),
            OptionsError::Origin { field, index, error } => {
                let mut s = text::concat(&["options.", field, "["]);
                text::push_uint(&mut s, *index as u64);
                s.push_str("]: ");
                s.push_str(error.message());
                s
            }
        }
    }
}

impl std::fmt::Display for OptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for OptionsError {}

fn invalid(field: &'static str, reason: &'static str) -> OptionsError {
    OptionsError::Invalid { field, reason }
}

/// The options object, with unknown fields refused (the first in key order is named);
/// `null` values count as absent.
fn object<'a>(v: &'a Value, known: &[&str]) -> Result<&'a Object, OptionsError> {
    let m = v.as_object().ok_or(OptionsError::NotObject)?;
    if let Some(k) = m.iter().map(|(k, _)| k).filter(|k| !known.contains(k)).min() {
        return Err(OptionsError::Unknown(k.chars().take(64).collect()));
    }
    Ok(m)
}

fn field<'a>(m: &'a Object, name: &str) -> Option<&'a Value> {
    m.get(name).filter(|v| !v.is_null())
}

fn string(m: &Object, name: &'static str) -> Result<Option<String>, OptionsError> {
    match field(m, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(name, "must be a string")),
    }
}

fn number(m: &Object, name: &'static str) -> Result<Option<f64>, OptionsError> {
    match field(m, name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(invalid(name, "must be a number")),
    }
}

/// How the iframe is launched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `GET` the URL in the iframe (an LMS launch or OIDC login-initiation URL).
    Url(String),
    /// Submit a form into the iframe (its `target` is the embed's frame name).
    Form {
        /// Form action.
        action: String,
        /// `post` or `get`.
        method: &'static str,
        /// Hidden fields, in order.
        fields: Vec<(String, String)>,
    },
    /// Nothing to launch: the embed adopted an iframe the page already rendered
    /// (`Embed.attach`).
    Adopted,
}

/// A validated embed configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedConfig {
    /// How to launch.
    pub launch: Launch,
    /// Exact tool origins messages are accepted from.
    pub origins: AllowList,
    /// Frame name (form target); generated when `None`.
    pub name: Option<String>,
    /// iframe `title`.
    pub title: String,
    /// Minimum height, px.
    pub min_height: f64,
    /// Maximum height, px ([`DEFAULT_MAX_HEIGHT`] unless set).
    pub max_height: f64,
    /// When `lti.scrollToTop` is honoured.
    pub scroll_to_top: ScrollPolicy,
    /// iframe `allow`.
    pub allow: String,
    /// iframe `sandbox` (`None`: no sandbox attribute).
    pub sandbox: Option<String>,
    /// Name of the storage frame announced in `lti.capabilities` (created by the host).
    pub storage_frame: Option<String>,
}

/// When an embed honours `lti.scrollToTop` (option `scrollToTop`). Whatever the policy, at most
/// one per [`crate::host`]`::SCROLL_INTERVAL_MS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScrollPolicy {
    /// `"gesture"` (default): only while the user is interacting with the tool — the focus is in
    /// its iframe and the page has transient user activation (a click or key press in the frame
    /// activates its ancestors too).
    #[default]
    Gesture,
    /// `"always"`: whenever asked (still rate-limited).
    Always,
    /// `"never"`.
    Never,
}

/// A frame name usable as a form target: `[A-Za-z0-9_-]{1,64}`, not starting with `_`
/// (`_blank`, `_self`, `_parent`, `_top` are keywords).
pub fn valid_frame_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An absolute http(s) URL (https, or http on loopback), or a path on the page's own origin.
fn launch_url(field: &'static str, url: &str) -> Result<String, OptionsError> {
    let url = url.trim();
    if url.starts_with('/') && !url.starts_with("//") && !url.contains('\\') && !url.chars().any(char::is_control) {
        return Ok(url.to_string());
    }
    let parsed = lti_core::url::HttpUrl::parse(url)
        .map_err(|_| invalid(field, "must be an absolute http(s) URL or a path starting with /"))?;
    parsed.require_secure(true).map_err(|_| invalid(field, "must use https:// (http:// only on loopback)"))?;
    Ok(url.to_string())
}

/// A height option in whole pixels (rounded up), between 0 and 100000.
fn height(m: &Object, name: &'static str) -> Result<Option<f64>, OptionsError> {
    match number(m, name)? {
        Some(h) if !h.is_finite() || !(0.0..=MAX_CONFIG_HEIGHT).contains(&h) => {
            Err(invalid(name, "must be a number of pixels between 0 and 100000"))
        }
        h => Ok(h.map(f64::ceil)),
    }
}

fn sandbox(v: Option<&Value>) -> Result<Option<String>, OptionsError> {
    let tokens = match v {
        None | Some(Value::Bool(true)) => return Ok(Some(DEFAULT_SANDBOX.to_string())),
        Some(Value::Bool(false)) => return Ok(None),
        Some(Value::String(t)) => t,
        Some(_) => return Err(invalid("sandbox", "must be a string of sandbox tokens, or false")),
    };
    let list: Vec<&str> = tokens.split_ascii_whitespace().collect();
    if list.iter().any(|t| !SANDBOX_TOKENS.contains(t)) {
        return Err(invalid("sandbox", "unknown sandbox token"));
    }
    // Without allow-same-origin the tool's origin is "null", which is always refused; without
    // allow-scripts the tool cannot send messages at all.
    if !list.contains(&"allow-same-origin") || !list.contains(&"allow-scripts") {
        return Err(invalid(
            "sandbox",
            "must include allow-scripts and allow-same-origin (a \"null\" origin is always refused)",
        ));
    }
    let mut joined = String::with_capacity(tokens.len());
    for t in list {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(t);
    }
    Ok(Some(joined))
}

fn text_attr(m: &Object, name: &'static str, default: &str) -> Result<String, OptionsError> {
    match string(m, name)? {
        None => Ok(default.to_string()),
        Some(s) if s.len() <= 500 && !s.chars().any(char::is_control) => Ok(s),
        Some(_) => Err(invalid(name, "must be at most 500 characters without control characters")),
    }
}

fn frame_name(m: &Object, name: &'static str) -> Result<Option<String>, OptionsError> {
    match string(m, name)? {
        Some(n) if !valid_frame_name(&n) => {
            Err(invalid(name, "must be 1-64 letters, digits, - or _, not starting with _"))
        }
        n => Ok(n),
    }
}

fn form(v: &Value) -> Result<Launch, OptionsError> {
    let m = object(v, &["action", "method", "fields"]).map_err(|e| match e {
        OptionsError::NotObject => invalid("form", "must be {action, method?, fields?}"),
        e => e,
    })?;
    let method = match string(m, "method")?.map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("post") => "post",
        Some("get") => "get",
        Some(_) => return Err(invalid("form.method", "must be \"post\" or \"get\"")),
    };
    let action = string(m, "action")?.ok_or_else(|| invalid("form.action", "is required"))?;
    let mut fields = Vec::new();
    match field(m, "fields") {
        None => {}
        Some(Value::Object(f)) => {
            // By name, each once (a repeated name in JSON text: its last value), so the hidden
            // inputs come in a stable order whatever order the object had.
            let mut by_name: Vec<(&str, &Value)> = Vec::new();
            for (k, v) in f.iter() {
                match by_name.binary_search_by(|(n, _)| (*n).cmp(k)) {
                    Ok(i) => {
                        if let Some(slot) = by_name.get_mut(i) {
                            slot.1 = v;
                        }
                    }
                    Err(i) => by_name.insert(i, (k, v)),
                }
                if by_name.len() > 200 {
                    return Err(invalid("form.fields", "must be an object of at most 200 string fields"));
                }
            }
            for (k, v) in by_name {
                match v {
                    Value::String(s) if !k.is_empty() && k.len() <= 200 => fields.push((k.to_string(), s.clone())),
                    _ => return Err(invalid("form.fields", "field names must be non-empty and values strings")),
                }
            }
        }
        Some(_) => return Err(invalid("form.fields", "must be an object of at most 200 string fields")),
    }
    Ok(Launch::Form { action: launch_url("form.action", &action)?, method, fields })
}

fn parse_json(text: &str) -> Result<Value, OptionsError> {
    json::parse(text, usize::MAX).map_err(|_| OptionsError::NotObject)
}

impl EmbedConfig {
    /// Parse and validate embed options given as JSON.
    pub fn from_json(json: &str) -> Result<Self, OptionsError> {
        Self::parse(json, false)
    }

    /// Options of `Embed.attach(iframe, options)`: the iframe exists, so `url` and `form` are
    /// optional (given, the iframe is launched again).
    pub fn adopting(json: &str) -> Result<Self, OptionsError> {
        Self::parse(json, true)
    }

    fn parse(json: &str, adopt: bool) -> Result<Self, OptionsError> {
        let v = parse_json(json)?;
        let m = object(
            &v,
            &[
                "url",
                "form",
                "allowedOrigins",
                "name",
                "title",
                "minHeight",
                "maxHeight",
                "allow",
                "sandbox",
                "storageFrame",
                "scrollToTop",
            ],
        )?;
        let launch = match (string(m, "url")?, field(m, "form")) {
            (Some(url), None) => Launch::Url(launch_url("url", &url)?),
            (None, Some(f)) => form(f)?,
            (Some(_), Some(_)) => return Err(invalid("url", "give either url or form, not both")),
            (None, None) if adopt => Launch::Adopted,
            (None, None) => return Err(invalid("url", "give the launch url, or a form to post")),
        };
        let origins = match field(m, "allowedOrigins") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 20 => a,
            None => {
                return Err(invalid(
                    "allowedOrigins",
                    "list the tool's exact origins, e.g. [\"https://tool.example.com\"]",
                ))
            }
            Some(_) => return Err(invalid("allowedOrigins", "must be a list of 1 to 20 exact origins")),
        };
        let origins: Vec<&str> = origins
            .iter()
            .map(|o| o.as_str().ok_or(invalid("allowedOrigins", "origins must be strings")))
            .collect::<Result<_, _>>()?;
        let origins = AllowList::new(origins).map_err(|(index, error)| OptionsError::Origin {
            field: "allowedOrigins",
            index,
            error,
        })?;
        let name = frame_name(m, "name")?;
        let storage_frame = frame_name(m, "storageFrame")?;
        if storage_frame.is_some() && storage_frame == name {
            return Err(invalid("storageFrame", "must differ from name"));
        }
        let min_height = height(m, "minHeight")?.unwrap_or(DEFAULT_MIN_HEIGHT);
        let max_height = match height(m, "maxHeight")? {
            Some(x) if x < min_height => return Err(invalid("maxHeight", "must not be below minHeight")),
            Some(x) => x,
            // The default never undercuts a configured minimum.
            None => DEFAULT_MAX_HEIGHT.max(min_height),
        };
        let scroll_to_top = match string(m, "scrollToTop")?.as_deref() {
            None | Some("gesture") => ScrollPolicy::Gesture,
            Some("always") => ScrollPolicy::Always,
            Some("never") => ScrollPolicy::Never,
            Some(_) => return Err(invalid("scrollToTop", "must be \"gesture\", \"always\" or \"never\"")),
        };
        Ok(Self {
            launch,
            origins,
            name,
            title: text_attr(m, "title", DEFAULT_TITLE)?,
            min_height,
            max_height,
            scroll_to_top,
            allow: text_attr(m, "allow", DEFAULT_ALLOW)?,
            sandbox: sandbox(field(m, "sandbox"))?,
            storage_frame,
        })
    }
}

/// Where a tool sends its storage requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageTarget {
    /// The parent window (`lti_storage_target=_parent`).
    Parent,
    /// A named frame in the parent (`lti_storage_target=<name>`).
    Frame(String),
}

/// A validated tool-client configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolConfig {
    /// The host page's origin (`None`: taken from the browser's ancestor origins).
    pub host_origin: Option<String>,
    /// The origin to fall back to when the browser does not report the embedding page's origin
    /// (Firefox has no `location.ancestorOrigins`): the LMS's origin, as the launch knows it.
    pub platform_origin: Option<String>,
    /// Where storage requests go.
    pub storage_target: StorageTarget,
    /// The storage frame's origin (defaults to the host origin).
    pub storage_origin: Option<String>,
    /// Storage request timeout, ms.
    pub timeout_ms: u32,
}

fn one_origin(m: &Object, name: &'static str) -> Result<Option<String>, OptionsError> {
    string(m, name)?
        .map(|o| origin::normalize(&o).map_err(|error| OptionsError::OriginField { field: name, error }))
        .transpose()
}

impl ToolConfig {
    /// Parse and validate tool-client options given as JSON (`null` or `{}` for defaults).
    pub fn from_json(json: &str) -> Result<Self, OptionsError> {
        let v = parse_json(json)?;
        let empty = Object::new();
        let m = if v.is_null() {
            &empty
        } else {
            object(&v, &["hostOrigin", "platformOrigin", "storageTarget", "storageOrigin", "timeoutMs"])?
        };
        let storage_target = match string(m, "storageTarget")?.as_deref() {
            None | Some("_parent") => StorageTarget::Parent,
            Some(n) if valid_frame_name(n) => StorageTarget::Frame(n.to_string()),
            Some(_) => return Err(invalid("storageTarget", "must be \"_parent\" or a frame name")),
        };
        let timeout_ms = match number(m, "timeoutMs")? {
            None => DEFAULT_TIMEOUT_MS,
            Some(t) if t.is_finite() && (10.0..=60_000.0).contains(&t) => t as u32,
            Some(_) => return Err(invalid("timeoutMs", "must be between 10 and 60000")),
        };
        Ok(Self {
            host_origin: one_origin(m, "hostOrigin")?,
            platform_origin: one_origin(m, "platformOrigin")?,
            storage_target,
            storage_origin: one_origin(m, "storageOrigin")?,
            timeout_ms,
        })
    }
}

#[cfg(test)]
mod tests;
