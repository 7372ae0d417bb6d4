//! Deep Linking 2.0: what the platform asked for (from the launch's `deep_linking_settings`),
//! the tool app's content items checked against it, and the claims of the signed
//! `LtiDeepLinkingResponse`.
//!
//! ```text
//! DeepLinkSettings::from_claim(launch) ─► session `dl` claim
//! ContentItemInput (tool app JSON) ─validate(settings, tool launch URL)─► ContentItems
//! ContentItems::response_claims(settings, client id, issuer, deployment, nonce, now) ─► sign RS256
//! ```
//!
//! Limits follow the Creatiq guide (`003_…` §5): 1–50 items, titles 1–500 characters, valid
//! URLs. Item fields follow the KAF picker (`000_…` §6): launch URL, entry id, title,
//! thumbnail, duration, player width/height.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::DeepLinkError;
use crate::url::HttpUrl;

/// `https://purl.imsglobal.org/spec/lti-dl/claim/content_items`
pub const CONTENT_ITEMS_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items";
/// `https://purl.imsglobal.org/spec/lti-dl/claim/data`
pub const DATA_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/data";
/// `https://purl.imsglobal.org/spec/lti-dl/claim/msg`
pub const MSG_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/msg";
/// Lifetime of a response JWT.
pub const RESPONSE_TTL_SECS: i64 = 300;
/// Most items in one response.
pub const MAX_ITEMS: usize = 50;
/// Longest title.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest text / html.
const MAX_TEXT_CHARS: usize = 10_000;
/// Longest opaque `data` we carry in a session (bytes of JSON).
pub const MAX_DATA_BYTES: usize = 4096;

/// The platform's deep-linking request, as kept in the session (`dl` claim).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepLinkSettings {
    /// Where the response form posts.
    pub return_url: String,
    /// Content item types the platform accepts.
    pub accept_types: Vec<String>,
    /// Presentation targets the platform accepts (`iframe`, `window`, `embed`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Several items allowed (absent in the claim counts as `false`).
    #[serde(default)]
    pub accept_multiple: bool,
    /// `Some(false)`: the platform ignores line items, so we refuse them; `None`: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_lineitem: Option<bool>,
    /// Opaque value to echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl DeepLinkSettings {
    /// From a validated launch's `deep_linking_settings` claim (already shape-checked by
    /// [`crate::launch::VerifiedLaunch::validate`]). `None` when absent or malformed.
    pub fn from_claim(claim: &Value) -> Option<Self> {
        let o = claim.as_object()?;
        let strings = |k: &str| -> Vec<String> {
            o.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).take(20).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let data = o.get("data").filter(|d| !d.is_null()).cloned();
        // A huge opaque value would bloat every session URL: keep it only when small.
        let data = data.filter(|d| d.to_string().len() <= MAX_DATA_BYTES);
        Some(Self {
            return_url: o.get("deep_link_return_url")?.as_str()?.to_string(),
            accept_types: strings("accept_types"),
            targets: strings("accept_presentation_document_targets"),
            accept_multiple: o.get("accept_multiple").and_then(Value::as_bool).unwrap_or(false),
            accept_lineitem: o.get("accept_lineitem").and_then(Value::as_bool),
            data,
        })
    }
}

/// A `link` item's `embed` object as Deep Linking spells it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmbedInput {
    /// The markup.
    #[serde(default)]
    pub html: Option<String>,
}

/// One content item as a tool app sends it (camelCase JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentItemInput {
    /// `ltiResourceLink`, `link`, `html`, `image` or `file`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// 1–500 characters.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub text: Option<String>,
    /// Target URL (launch URL for resource links).
    #[serde(default)]
    pub url: Option<String>,
    /// Media entry id (alias `contentId`).
    #[serde(default, alias = "contentId", alias = "entry_id")]
    pub entry_id: Option<String>,
    /// Thumbnail URL (alternative to `thumbnail`).
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// Thumbnail `{url, width, height}`.
    #[serde(default)]
    pub thumbnail: Option<ImageInput>,
    /// Duration in seconds.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Player width in pixels.
    #[serde(default)]
    pub width: Option<u32>,
    /// Player height in pixels.
    #[serde(default)]
    pub height: Option<u32>,
    /// Presentation: `iframe` (default when width/height given), `window` or `embed`.
    #[serde(default)]
    pub presentation: Option<String>,
    /// Custom parameters for resource links.
    #[serde(default)]
    pub custom: Option<BTreeMap<String, String>>,
    /// Gradebook column for resource links.
    #[serde(default)]
    pub line_item: Option<LineItemInput>,
    /// Markup for `html` items, and for a `link` presented as `embed`.
    #[serde(default)]
    pub html: Option<String>,
    /// `{"html": …}`: the Deep Linking spelling of a `link`'s embed markup (same as `html`).
    #[serde(default)]
    pub embed: Option<EmbedInput>,
    /// MIME type for `file` items.
    #[serde(default)]
    pub media_type: Option<String>,
}

/// `{url, width, height}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageInput {
    /// Image URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Width in pixels.
    #[serde(default)]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default)]
    pub height: Option<u32>,
}

/// A line item to create with a resource link.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemInput {
    /// Maximum score (> 0).
    #[serde(default)]
    pub score_maximum: Option<f64>,
    /// Column label (defaults to the item title).
    #[serde(default)]
    pub label: Option<String>,
    /// Tool resource id (defaults to the entry id).
    #[serde(default)]
    pub resource_id: Option<String>,
    /// Tag.
    #[serde(default)]
    pub tag: Option<String>,
}

/// Items checked against the platform's request, ready for the response JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentItems(Vec<Value>);

impl ContentItems {
    /// The items as JSON (the `content_items` claim).
    pub fn as_slice(&self) -> &[Value] {
        &self.0
    }

    /// Check `inputs` (1–50) against `settings` and map them to LTI content items. `tool_launch_url`
    /// is the default URL of resource links; `allow_http_loopback` lets local development use
    /// `http://127.0.0.1` URLs.
    pub fn validate(
        inputs: &[ContentItemInput],
        settings: &DeepLinkSettings,
        tool_launch_url: &str,
        allow_http_loopback: bool,
    ) -> Result<Self, DeepLinkError> {
        if inputs.is_empty() || inputs.len() > MAX_ITEMS {
            return Err(DeepLinkError::Invalid("contents".into(), format!("send 1 to {MAX_ITEMS} items")));
        }
        if inputs.len() > 1 && !settings.accept_multiple {
            return Err(DeepLinkError::MultipleNotAccepted(inputs.len()));
        }
        let mut out = Vec::with_capacity(inputs.len());
        for (i, item) in inputs.iter().enumerate() {
            out.push(map_item(i, item, settings, tool_launch_url, allow_http_loopback)?);
        }
        Ok(Self(out))
    }

    /// Claims of the `LtiDeepLinkingResponse` (Deep Linking 2.0 §4.5): `iss` our client id,
    /// `aud` the platform issuer (a string), deployment, fresh nonce, `data` echoed, 5-minute
    /// expiry.
    pub fn response_claims(
        &self,
        settings: &DeepLinkSettings,
        client_id: &str,
        platform_issuer: &str,
        deployment_id: &str,
        nonce: &str,
        now: i64,
    ) -> Value {
        let mut c = Map::new();
        c.insert("iss".into(), json!(client_id));
        c.insert("aud".into(), json!(platform_issuer));
        c.insert("iat".into(), json!(now));
        c.insert("exp".into(), json!(now + RESPONSE_TTL_SECS));
        c.insert("nonce".into(), json!(nonce));
        c.insert(crate::claims::DEPLOYMENT_ID.into(), json!(deployment_id));
        c.insert(crate::claims::MESSAGE_TYPE.into(), json!("LtiDeepLinkingResponse"));
        c.insert(crate::claims::VERSION.into(), json!("1.3.0"));
        c.insert(CONTENT_ITEMS_CLAIM.into(), Value::Array(self.0.clone()));
        if let Some(d) = &settings.data {
            c.insert(DATA_CLAIM.into(), d.clone());
        }
        let n = self.0.len();
        c.insert(MSG_CLAIM.into(), json!(format!("{n} item{} selected", if n == 1 { "" } else { "s" })));
        Value::Object(c)
    }
}

fn field(i: usize, name: &str) -> String {
    format!("contents[{i}].{name}")
}

fn check_url(i: usize, name: &str, url: &str, allow_http_loopback: bool) -> Result<String, DeepLinkError> {
    let parsed = HttpUrl::parse(url)
        .map_err(|_| DeepLinkError::Invalid(field(i, name), "must be an absolute http(s) URL".into()))?;
    parsed
        .require_secure(allow_http_loopback)
        .map_err(|_| DeepLinkError::Invalid(field(i, name), "must be an https URL".into()))?;
    Ok(url.to_string())
}

fn map_item(
    i: usize,
    item: &ContentItemInput,
    settings: &DeepLinkSettings,
    tool_launch_url: &str,
    loopback: bool,
) -> Result<Value, DeepLinkError> {
    const TYPES: &[&str] = &["ltiResourceLink", "link", "html", "image", "file"];
    if !TYPES.contains(&item.kind.as_str()) {
        return Err(DeepLinkError::Invalid(field(i, "type"), format!("must be one of {}", TYPES.join(", "))));
    }
    if !settings.accept_types.iter().any(|t| t == &item.kind) {
        return Err(DeepLinkError::TypeNotAccepted(item.kind.clone(), settings.accept_types.join(", ")));
    }
    let title = item.title.as_deref().map(str::trim).unwrap_or_default();
    let title_len = title.chars().count();
    if title_len == 0 || title_len > MAX_TITLE_CHARS {
        return Err(DeepLinkError::Invalid(field(i, "title"), format!("1 to {MAX_TITLE_CHARS} characters")));
    }
    let mut it = Item { i, item, target: None, loopback };
    let mut o = it.common(title)?;
    it.target = presentation(i, item, settings)?;
    match item.kind.as_str() {
        "ltiResourceLink" => it.resource_link(&mut o, settings, title, tool_launch_url)?,
        "link" | "image" | "file" => it.linked(&mut o)?,
        _ => {
            let html = it.markup(item.html.as_deref(), "required for html items")?;
            o.insert("html".into(), json!(html));
        }
    }
    if item.line_item.is_some() && item.kind != "ltiResourceLink" {
        return Err(DeepLinkError::Invalid(field(i, "lineItem"), "only resource links carry a line item".into()));
    }
    Ok(Value::Object(o))
}

/// The presentation target (`iframe`, `window`, `embed`; `iframe` when only a size is given),
/// checked against what the platform accepts, and the size bounds.
fn presentation(
    i: usize,
    item: &ContentItemInput,
    settings: &DeepLinkSettings,
) -> Result<Option<&'static str>, DeepLinkError> {
    let target = match item.presentation.as_deref() {
        Some("iframe") => Some("iframe"),
        Some("window") => Some("window"),
        Some("embed") => Some("embed"),
        Some(_) => return Err(DeepLinkError::Invalid(field(i, "presentation"), "iframe, window or embed".into())),
        None if item.width.is_some() || item.height.is_some() => Some("iframe"),
        None => None,
    };
    for (name, v) in [("width", item.width), ("height", item.height)] {
        if v.is_some_and(|v| v == 0 || v > 10_000) {
            return Err(DeepLinkError::Invalid(field(i, name), "1 to 10000 pixels".into()));
        }
    }
    if let Some(t) = target {
        if !settings.targets.is_empty() && !settings.targets.iter().any(|x| x == t) {
            return Err(DeepLinkError::TargetNotAccepted(t.to_string(), settings.targets.join(", ")));
        }
    }
    Ok(target)
}

/// One item being mapped: its index (for field names), the input, its presentation target.
struct Item<'a> {
    i: usize,
    item: &'a ContentItemInput,
    target: Option<&'static str>,
    loopback: bool,
}

impl Item<'_> {
    fn invalid(&self, name: &str, why: impl Into<String>) -> DeepLinkError {
        DeepLinkError::Invalid(field(self.i, name), why.into())
    }

    fn url(&self, name: &str, url: &str) -> Result<String, DeepLinkError> {
        check_url(self.i, name, url, self.loopback)
    }

    /// `{width, height}` as given.
    fn size(&self) -> Value {
        let mut s = Map::new();
        if let Some(w) = self.item.width {
            s.insert("width".into(), json!(w));
        }
        if let Some(h) = self.item.height {
            s.insert("height".into(), json!(h));
        }
        Value::Object(s)
    }

    /// Markup (`html`, or `embed.html`): present and at most [`MAX_TEXT_CHARS`].
    fn markup<'h>(&self, html: Option<&'h str>, missing: &str) -> Result<&'h str, DeepLinkError> {
        let html = html.filter(|h| !h.trim().is_empty()).ok_or_else(|| self.invalid("html", missing))?;
        if html.chars().count() > MAX_TEXT_CHARS {
            return Err(self.invalid("html", format!("at most {MAX_TEXT_CHARS} characters")));
        }
        Ok(html)
    }

    /// What every type carries: type, title, text, thumbnail; entry id and duration checked.
    fn common(&self, title: &str) -> Result<Map<String, Value>, DeepLinkError> {
        let item = self.item;
        let mut o = Map::new();
        o.insert("type".into(), json!(item.kind));
        o.insert("title".into(), json!(title));
        if let Some(text) = item.text.as_deref().filter(|t| !t.is_empty()) {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(self.invalid("text", format!("at most {MAX_TEXT_CHARS} characters")));
            }
            o.insert("text".into(), json!(text));
        }
        if item.entry_id.as_ref().is_some_and(|id| id.trim().is_empty() || id.len() > 255) {
            return Err(self.invalid("entryId", "1 to 255 characters"));
        }
        if item.duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
            return Err(self.invalid("duration", "seconds, 0 or more"));
        }
        let thumb_url = item.thumbnail.as_ref().and_then(|t| t.url.clone()).or_else(|| item.thumbnail_url.clone());
        if let Some(u) = thumb_url {
            let mut t = Map::new();
            t.insert("url".into(), json!(self.url("thumbnail.url", &u)?));
            if let Some(th) = &item.thumbnail {
                if let Some(w) = th.width {
                    t.insert("width".into(), json!(w));
                }
                if let Some(h) = th.height {
                    t.insert("height".into(), json!(h));
                }
            }
            o.insert("thumbnail".into(), Value::Object(t));
        }
        Ok(o)
    }

    /// `ltiResourceLink`: the launch URL, custom parameters (entry id, duration), the
    /// presentation (iframe or window), the line item.
    fn resource_link(
        &self,
        o: &mut Map<String, Value>,
        settings: &DeepLinkSettings,
        title: &str,
        tool_launch_url: &str,
    ) -> Result<(), DeepLinkError> {
        let item = self.item;
        o.insert("url".into(), json!(self.url("url", item.url.as_deref().unwrap_or(tool_launch_url))?));
        let mut custom: Map<String, Value> = Map::new();
        if let Some(c) = &item.custom {
            if c.len() > 50 {
                return Err(self.invalid("custom", "at most 50 parameters"));
            }
            for (k, v) in c {
                if k.is_empty() || k.len() > 100 || v.len() > 1000 {
                    return Err(self.invalid("custom", "names 1–100, values ≤ 1000 characters"));
                }
                custom.insert(k.clone(), json!(v));
            }
        }
        if let Some(id) = &item.entry_id {
            custom.insert("entry_id".into(), json!(id));
        }
        if let Some(d) = item.duration {
            custom.insert("duration".into(), json!(format_seconds(d)));
        }
        if !custom.is_empty() {
            o.insert("custom".into(), Value::Object(custom));
        }
        // Deep Linking 2.0 §3.4.1: a resource link opens in an iframe or a window; `embed`
        // is a `link` presentation (it carries markup, which a resource link has none of).
        match self.target {
            Some("embed") => {
                return Err(self
                    .invalid("presentation", "iframe or window for ltiResourceLink items (embed is for link items)"));
            }
            Some(t) => {
                o.insert(t.into(), self.size());
            }
            None => {}
        }
        if let Some(li) = &item.line_item {
            if settings.accept_lineitem == Some(false) {
                return Err(DeepLinkError::LineItemNotAccepted);
            }
            let max = li.score_maximum.unwrap_or(0.0);
            if !max.is_finite() || max <= 0.0 {
                return Err(self.invalid("lineItem.scoreMaximum", "a number greater than 0"));
            }
            let mut l = Map::new();
            l.insert("scoreMaximum".into(), json!(max));
            l.insert("label".into(), json!(li.label.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or(title)));
            if let Some(r) = li.resource_id.as_ref().or(item.entry_id.as_ref()) {
                l.insert("resourceId".into(), json!(r));
            }
            if let Some(tag) = &li.tag {
                l.insert("tag".into(), json!(tag));
            }
            o.insert("lineItem".into(), Value::Object(l));
        }
        Ok(())
    }

    /// `link`, `image`, `file`: a required URL; an image's size, a file's media type, a link's
    /// presentation (Deep Linking 2.0 §3.3: `embed.html` and `iframe.src` are required members).
    fn linked(&self, o: &mut Map<String, Value>) -> Result<(), DeepLinkError> {
        let item = self.item;
        let url = item.url.as_deref().ok_or_else(|| self.invalid("url", "required for this type"))?;
        o.insert("url".into(), json!(self.url("url", url)?));
        match item.kind.as_str() {
            "image" => {
                if let Some(s) = self.size().as_object() {
                    o.extend(s.clone());
                }
            }
            "link" => match self.target {
                Some("embed") => {
                    let html = item.html.as_deref().or_else(|| item.embed.as_ref().and_then(|e| e.html.as_deref()));
                    let missing = "required for a link presented as embed (the markup the platform embeds)";
                    o.insert("embed".into(), json!({"html": self.markup(html, missing)?}));
                }
                Some("iframe") => {
                    let mut frame = self.size();
                    if let Some(f) = frame.as_object_mut() {
                        f.insert("src".into(), json!(self.url("url", url)?));
                    }
                    o.insert("iframe".into(), frame);
                }
                Some(t) => {
                    o.insert(t.into(), self.size());
                }
                None => {}
            },
            _ => {
                if let Some(m) = &item.media_type {
                    o.insert("mediaType".into(), json!(m));
                }
            }
        }
        Ok(())
    }
}

fn format_seconds(d: f64) -> String {
    if d.fract() == 0.0 && d < 1e15 {
        (d as u64).to_string()
    } else {
        // serde_json's float printer (already linked) rather than core's `Display` for f64.
        serde_json::Number::from_f64(d).map(|n| n.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DeepLinkSettings {
        DeepLinkSettings::from_claim(&json!({
            "deep_link_return_url": "https://lms.example/dl",
            "accept_types": ["ltiResourceLink", "link"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": true,
            "data": {"k": 1}
        }))
        .unwrap()
    }

    fn item(v: Value) -> ContentItemInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn resource_link_carries_kaf_fields() {
        let items = ContentItems::validate(
            &[item(json!({"type": "ltiResourceLink", "title": "Cells", "entryId": "1_abc", "thumbnailUrl": "https://cdn.example/t.jpg",
                "duration": 125, "width": 640, "height": 360, "lineItem": {"scoreMaximum": 10}}))],
            &settings(),
            "https://tool.example/lti/launch",
            false,
        )
        .unwrap();
        let i = &items.as_slice()[0];
        assert_eq!(i["url"], "https://tool.example/lti/launch");
        assert_eq!(i["custom"]["entry_id"], "1_abc");
        assert_eq!(i["custom"]["duration"], "125");
        assert_eq!(i["thumbnail"]["url"], "https://cdn.example/t.jpg");
        assert_eq!(i["iframe"]["width"], 640);
        assert_eq!(i["lineItem"]["resourceId"], "1_abc");
        assert_eq!(i["lineItem"]["label"], "Cells");
        let claims = items.response_claims(&settings(), "client", "https://lms.example", "dep", "n1", 1000);
        assert_eq!(claims["aud"], "https://lms.example");
        assert_eq!(claims["exp"], 1300);
        assert_eq!(claims[DATA_CLAIM]["k"], 1);
    }

    #[test]
    fn refusals() {
        let s = settings();
        let u = "https://tool.example/lti/launch";
        let one = |v: Value| ContentItems::validate(&[item(v)], &s, u, false);
        assert!(matches!(ContentItems::validate(&[], &s, u, false), Err(DeepLinkError::Invalid(..))));
        assert!(matches!(
            one(json!({"type": "image", "title": "x", "url": "https://a.example/i.png"})),
            Err(DeepLinkError::TypeNotAccepted(..))
        ));
        assert!(matches!(
            one(json!({"type": "link", "title": "", "url": "https://a.example"})),
            Err(DeepLinkError::Invalid(..))
        ));
        assert!(matches!(
            one(json!({"type": "link", "title": "x".repeat(501), "url": "https://a.example"})),
            Err(DeepLinkError::Invalid(..))
        ));
        assert!(matches!(
            one(json!({"type": "link", "title": "t", "url": "javascript:alert(1)"})),
            Err(DeepLinkError::Invalid(..))
        ));
        assert!(matches!(
            one(json!({"type": "link", "title": "t", "url": "http://a.example"})),
            Err(DeepLinkError::Invalid(..))
        ));
        assert!(matches!(one(json!({"type": "link", "title": "t"})), Err(DeepLinkError::Invalid(..))));
        assert!(matches!(
            one(json!({"type": "link", "title": "t", "url": "https://a.example", "presentation": "embed"})),
            Err(DeepLinkError::TargetNotAccepted(..))
        ));
        // Deep Linking 2.0 shapes: embed.html and iframe.src required; no embed on resource links.
        let mut open = settings();
        open.targets = vec!["iframe".into(), "window".into(), "embed".into()];
        let with = |v: Value| {
            ContentItems::validate(
                &[serde_json::from_value(v).unwrap()],
                &open,
                "https://tool.example/lti/launch",
                false,
            )
        };
        assert!(
            matches!(with(json!({"type": "link", "title": "t", "url": "https://a.example", "presentation": "embed"})), Err(DeepLinkError::Invalid(f, _)) if f.ends_with("html"))
        );
        let e = with(json!({"type": "link", "title": "t", "url": "https://a.example", "presentation": "embed", "html": "<b>x</b>"})).unwrap();
        assert_eq!(e.as_slice()[0]["embed"], json!({"html": "<b>x</b>"}));
        let e = with(json!({"type": "link", "title": "t", "url": "https://a.example", "presentation": "embed", "embed": {"html": "<i>y</i>"}})).unwrap();
        assert_eq!(e.as_slice()[0]["embed"], json!({"html": "<i>y</i>"}));
        let f = with(
            json!({"type": "link", "title": "t", "url": "https://a.example/v", "presentation": "iframe", "width": 300}),
        )
        .unwrap();
        assert_eq!(f.as_slice()[0]["iframe"], json!({"src": "https://a.example/v", "width": 300}));
        assert!(
            matches!(with(json!({"type": "ltiResourceLink", "title": "t", "presentation": "embed"})), Err(DeepLinkError::Invalid(f, _)) if f.ends_with("presentation"))
        );
        let r =
            with(json!({"type": "ltiResourceLink", "title": "t", "presentation": "iframe", "height": 200})).unwrap();
        assert!(r.as_slice()[0].get("embed").is_none());
        assert!(matches!(one(json!({"type": "weird", "title": "t"})), Err(DeepLinkError::Invalid(..))));
        assert!(matches!(
            one(json!({"type": "ltiResourceLink", "title": "t", "lineItem": {"scoreMaximum": 0}})),
            Err(DeepLinkError::Invalid(..))
        ));
        let many: Vec<_> =
            (0..51).map(|_| item(json!({"type": "link", "title": "t", "url": "https://a.example"}))).collect();
        assert!(matches!(ContentItems::validate(&many, &s, u, false), Err(DeepLinkError::Invalid(..))));
        let mut single = s.clone();
        single.accept_multiple = false;
        let two: Vec<_> =
            (0..2).map(|_| item(json!({"type": "link", "title": "t", "url": "https://a.example"}))).collect();
        assert!(matches!(ContentItems::validate(&two, &single, u, false), Err(DeepLinkError::MultipleNotAccepted(2))));
        let mut no_li = s.clone();
        no_li.accept_lineitem = Some(false);
        assert!(matches!(
            ContentItems::validate(
                &[item(json!({"type": "ltiResourceLink", "title": "t", "lineItem": {"scoreMaximum": 5}}))],
                &no_li,
                u,
                false
            ),
            Err(DeepLinkError::LineItemNotAccepted)
        ));
    }

    #[test]
    fn absent_accept_multiple_means_single() {
        let s = DeepLinkSettings::from_claim(&json!({"deep_link_return_url": "https://l/r", "accept_types": ["link"]}))
            .unwrap();
        assert!(!s.accept_multiple);
        assert_eq!(s.accept_lineitem, None);
        let big = DeepLinkSettings::from_claim(
            &json!({"deep_link_return_url": "https://l/r", "accept_types": ["link"], "data": "x".repeat(5000)}),
        )
        .unwrap();
        assert!(big.data.is_none());
    }
}
