//! Every failure becomes one response here: a stable code, the right status, a sentence for
//! the user, a correlation id (also in the log) — never internal detail.

use std::collections::BTreeMap;

use lti_core::encoding::html_escape;
use lti_policy::{Coded, ErrorCode};
use worker::Response;

use crate::pages;

/// A rejection on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    /// Stable code.
    pub code: ErrorCode,
    /// Log-only detail.
    pub detail: String,
    /// Per-field problems (registration validation).
    pub fields: Option<BTreeMap<String, String>>,
    /// The user's own LMS roles, shown when none is mapped (so the admin knows what to map).
    pub roles: Option<Vec<String>>,
    /// The route's methods (the `Allow` header of a 405).
    pub allow: Option<String>,
    /// The unread rest of a request body over its cap, discarded behind the answer.
    pub leftover: Option<web_sys::ReadableStream>,
}

impl ApiError {
    /// A code with a log detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into(), fields: None, roles: None, allow: None, leftover: None }
    }

    /// From any coded core error.
    pub fn coded<E: Coded>(e: &E) -> Self {
        Self::new(e.code(), e.to_string())
    }

    /// The same error naming what to fix in one field (`fields` of the answer).
    pub fn with_field(mut self, field: impl Into<String>, why: impl Into<String>) -> Self {
        self.fields.get_or_insert_with(Default::default).insert(field.into(), why.into());
        self
    }

    /// Internal failure (detail logged, never shown).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, detail)
    }

    /// Render as JSON or HTML.
    pub fn into_response(self, cid: &str, html: bool) -> Response {
        let status = self.code.status();
        let (body, ctype) = if html {
            (pages::error_page(self.code, cid, &self.html_details()), "text/html; charset=utf-8")
        } else {
            (self.json_body(cid), "application/json")
        };
        let mut pairs = vec![
            ("content-type", ctype),
            ("cache-control", "no-store"),
            ("x-correlation-id", cid),
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
        ];
        if html {
            // Everything on an error page is escaped; the policy is a second wall.
            pairs.push(("content-security-policy", pages::PAGE_CSP));
        }
        if let Some(allow) = self.allow.as_deref().filter(|_| status == 405) {
            pairs.push(("allow", allow));
        }
        match Response::from_bytes(body.into_bytes()) {
            Ok(r) => {
                let r = r.with_status(status);
                crate::js::set_headers(&r.headers().0, &pairs);
                r
            }
            Err(_) => Response::empty().map(|r| r.with_status(500)).unwrap_or_else(|_| unreachable_response()),
        }
    }

    /// `{"success": false, "error": {code, message, correlationId, fields?, roles?}}`.
    fn json_body(&self, cid: &str) -> String {
        let mut err = serde_json::json!({
            "code": self.code.as_str(),
            "message": self.code.message(),
            "correlationId": cid,
        });
        if let (Some(f), Some(obj)) = (&self.fields, err.as_object_mut()) {
            obj.insert("fields".into(), serde_json::json!(f));
        }
        if let (Some(r), Some(obj)) = (&self.roles, err.as_object_mut()) {
            obj.insert("roles".into(), serde_json::json!(r));
        }
        serde_json::json!({ "success": false, "error": err }).to_string()
    }

    /// The error page's extra lines: each bad field, and the roles the LMS sent (so the admin
    /// knows what to map). Everything escaped.
    fn html_details(&self) -> String {
        let mut extra = String::new();
        if let Some(f) = &self.fields {
            extra.push_str("<ul>");
            for (k, v) in f {
                extra.push_str(&format!("<li><code>{}</code>: {}</li>", html_escape(k), html_escape(v)));
            }
            extra.push_str("</ul>");
        }
        if let Some(roles) = &self.roles {
            extra.push_str("<p>Roles your LMS sent for this course (your administrator maps these in the tool's role map):</p><ul>");
            if roles.is_empty() {
                extra.push_str("<li>(none)</li>");
            }
            for r in roles {
                let short = r.rsplit(['#', '/', ':']).next().filter(|s| !s.is_empty()).unwrap_or(r);
                if short == r {
                    extra.push_str(&format!("<li><strong>{}</strong></li>", html_escape(r)));
                } else {
                    let (short, full) = (html_escape(short), html_escape(r));
                    extra.push_str(&format!("<li><strong>{short}</strong> <code>{full}</code></li>"));
                }
            }
            extra.push_str("</ul>");
        }
        extra
    }
}

fn unreachable_response() -> Response {
    // Response::empty() only fails if the JS Response constructor throws, which it does not for
    // an empty body; build the simplest possible value without panicking anyway.
    Response::builder().with_status(500).empty()
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::internal(format!("worker: {e}"))
    }
}

impl From<worker::kv::KvError> for ApiError {
    fn from(e: worker::kv::KvError) -> Self {
        Self::internal(format!("kv: {e}"))
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
