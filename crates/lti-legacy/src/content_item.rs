//! The LTI 1.1 content-item answer (LTI Content-Item Message 1.0): after the picker, the tool
//! posts a signed `ContentItemSelection` form to the platform's `content_item_return_url`.
//!
//! [`selection_params`] checks the selection against what the request accepts and builds the
//! form parameters (`lti_message_type`, `lti_version`, `content_items` as JSON-LD, `data`
//! echoed); [`signed_selection`] also signs them with [`crate::oauth1::Signer`], giving the form
//! action and fields to render as an auto-submitting form.

use std::collections::BTreeMap;

use lti_core::url::HttpUrl;
use serde_json::{json, Map, Value};

use crate::error::ContentItemError;
use crate::oauth1::{RequestUrl, Signer};
use crate::params::ContentItemSettings;

/// JSON-LD context of `content_items`.
pub const JSON_LD_CONTEXT: &str = "http://purl.imsglobal.org/ctx/lti/v1/ContentItem";
/// Media type of an LTI link.
pub const LTI_LINK_MEDIA_TYPE: &str = "application/vnd.ims.lti.v1.ltilink";

/// What kind of item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// `LtiLinkItem`: the platform launches `url` with LTI (an entry's player page).
    LtiLink,
    /// `ContentItem` of the given media type (`text/html` for a plain link, `image/png` for a
    /// thumbnail, …).
    Content {
        /// e.g. `text/html`
        media_type: String,
    },
}

/// A thumbnail image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Absolute http(s) URL.
    pub url: String,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
}

/// How the platform should present the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementAdvice {
    /// `iframe`, `window`, `embed`, `frame`, `popup`, `overlay`, `none`.
    pub presentation_document_target: String,
    /// Pixels.
    pub display_width: Option<u32>,
    /// Pixels.
    pub display_height: Option<u32>,
}

/// One selected item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentItem {
    /// Link or content.
    pub kind: ItemKind,
    /// Absolute http(s) URL: the launch URL of an LTI link, or the content's URL.
    pub url: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub text: Option<String>,
    /// Thumbnail.
    pub thumbnail: Option<Thumbnail>,
    /// Presentation advice (player width and height).
    pub placement: Option<PlacementAdvice>,
    /// Custom parameters the platform sends back on launch (`entry_id`, …).
    pub custom: BTreeMap<String, String>,
}

impl ContentItem {
    /// An LTI link to `url` carrying `custom_entry_id` on launch.
    pub fn lti_link(url: impl Into<String>, title: impl Into<String>, entry_id: impl Into<String>) -> Self {
        Self {
            kind: ItemKind::LtiLink,
            url: url.into(),
            title: Some(title.into()),
            text: None,
            thumbnail: None,
            placement: None,
            custom: BTreeMap::from([("entry_id".to_string(), entry_id.into())]),
        }
    }

    /// The item's media type.
    pub fn media_type(&self) -> &str {
        match &self.kind {
            ItemKind::LtiLink => LTI_LINK_MEDIA_TYPE,
            ItemKind::Content { media_type } => media_type,
        }
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        let kind = if self.kind == ItemKind::LtiLink { "LtiLinkItem" } else { "ContentItem" };
        o.insert("@type".into(), json!(kind));
        o.insert("mediaType".into(), json!(self.media_type()));
        o.insert("url".into(), json!(self.url));
        if let Some(t) = &self.title {
            o.insert("title".into(), json!(t));
        }
        if let Some(t) = &self.text {
            o.insert("text".into(), json!(t));
        }
        if let Some(t) = &self.thumbnail {
            let mut th = Map::new();
            th.insert("@id".into(), json!(t.url));
            if let Some(w) = t.width {
                th.insert("width".into(), json!(w));
            }
            if let Some(h) = t.height {
                th.insert("height".into(), json!(h));
            }
            o.insert("thumbnail".into(), Value::Object(th));
        }
        if let Some(p) = &self.placement {
            let mut pa = Map::new();
            pa.insert("presentationDocumentTarget".into(), json!(p.presentation_document_target));
            if let Some(w) = p.display_width {
                pa.insert("displayWidth".into(), json!(w));
            }
            if let Some(h) = p.display_height {
                pa.insert("displayHeight".into(), json!(h));
            }
            o.insert("placementAdvice".into(), Value::Object(pa));
        }
        if !self.custom.is_empty() {
            o.insert("custom".into(), json!(self.custom));
        }
        Value::Object(o)
    }
}

/// Whether `media_type` matches one of the accepted patterns (`*/*`, `image/*`, exact;
/// case-insensitive).
fn accepted(media_type: &str, patterns: &[String]) -> bool {
    let mt = media_type.to_ascii_lowercase();
    patterns.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        p == "*/*" || p == mt || p.strip_suffix("/*").is_some_and(|major| mt.split('/').next() == Some(major))
    })
}

/// The `ContentItemSelection` form parameters for `items`, checked against the request:
///
/// 1. at most one item unless the request set `accept_multiple` (none means nothing was
///    selected: the platform gets an empty `@graph`);
/// 2. each item's media type is among `accept_media_types`;
/// 3. each item's presentation target, if any, is among
///    `accept_presentation_document_targets`;
/// 4. item and thumbnail URLs are absolute http(s) URLs.
pub fn selection_params(
    settings: &ContentItemSettings,
    items: &[ContentItem],
) -> Result<Vec<(String, String)>, ContentItemError> {
    // 1.
    if items.len() > 1 && !settings.accept_multiple {
        return Err(ContentItemError::TooMany(items.len()));
    }
    for item in items {
        // 2.
        if !accepted(item.media_type(), &settings.accept_media_types) {
            return Err(ContentItemError::MediaTypeNotAccepted(item.media_type().chars().take(100).collect()));
        }
        // 3.
        if let Some(p) = &item.placement {
            let target = &p.presentation_document_target;
            if !settings.accept_presentation_document_targets.iter().any(|t| t.eq_ignore_ascii_case(target)) {
                return Err(ContentItemError::TargetNotAccepted(target.chars().take(40).collect()));
            }
        }
        // 4.
        HttpUrl::parse(&item.url).map_err(|_| ContentItemError::UrlInvalid("url"))?;
        if let Some(t) = &item.thumbnail {
            HttpUrl::parse(&t.url).map_err(|_| ContentItemError::UrlInvalid("thumbnail"))?;
        }
    }
    let graph: Vec<Value> = items.iter().map(ContentItem::to_json).collect();
    let content_items = json!({ "@context": JSON_LD_CONTEXT, "@graph": graph });
    let mut params = vec![
        ("lti_message_type".to_string(), "ContentItemSelection".to_string()),
        ("lti_version".to_string(), "LTI-1p0".to_string()),
        ("content_items".to_string(), content_items.to_string()),
    ];
    if let Some(d) = &settings.data {
        params.push(("data".to_string(), d.clone()));
    }
    Ok(params)
}

/// A form to post: `action` and the fields, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedForm {
    /// The platform's `content_item_return_url` (the form's `action`, method POST).
    pub action: String,
    /// Fields in order, `oauth_signature` last.
    pub fields: Vec<(String, String)>,
}

/// [`selection_params`], signed for the request's `content_item_return_url` (its query
/// parameters are signed with the form's, as the platform will verify them).
pub fn signed_selection(
    settings: &ContentItemSettings,
    items: &[ContentItem],
    signer: &Signer<'_>,
    timestamp: i64,
    nonce: &str,
) -> Result<SignedForm, ContentItemError> {
    let params = selection_params(settings, items)?;
    let url = RequestUrl::parse(&settings.return_url).map_err(ContentItemError::ReturnUrl)?;
    Ok(SignedForm {
        action: settings.return_url.clone(),
        fields: signer.sign_form("POST", &url, params, timestamp, nonce),
    })
}

#[cfg(test)]
mod tests;
