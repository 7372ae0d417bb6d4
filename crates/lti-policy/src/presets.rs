//! LMS presets: what is fixed for each LMS (issuer, endpoint URL patterns, `platformFamily`),
//! so that a registration asks only for what is not (the site's address, the client id, the
//! deployment id, Blackboard's application id, Sakai's tool id).
//!
//! A registration body with `"preset": "<code>"` is expanded before it is validated
//! ([`expand`]): every field the preset knows is filled in *unless the body gives it*, so an
//! explicit field always wins (a self-hosted Canvas sets its own `issuer`). A missing or bad
//! preset input is a field error like any other (`registration_invalid`, `fields.siteUrl`, …),
//! and the fields it would have filled are not reported a second time.
//!
//! Where each pattern comes from (checked against the LMS's own documentation or source):
//! - Moodle: `mod/lti/locallib.php` (tool configuration details: platform id `$CFG->wwwroot`,
//!   `/mod/lti/auth.php`, `/mod/lti/token.php`, `/mod/lti/certs.php`) and
//!   `mod/lti/openid-configuration.php` (the same URLs, issuer `$CFG->wwwroot`).
//! - Canvas: Instructure's "Configuring LTI Advantage Tools" (`doc/api/lti_dev_key_config.md`):
//!   issuers `https://canvas[.beta|.test].instructure.com`, OIDC auth
//!   `https://sso[.beta|.test].canvaslms.com/api/lti/authorize_redirect`, key set
//!   `…/api/lti/security/jwks`; the token endpoint is Canvas's `login/oauth2/token` on the same
//!   host.
//! - Blackboard: Anthology's developer documentation (issuer `https://blackboard.com`, the
//!   developer portal's `/api/v1/gateway/oidcauth`, `/api/v1/gateway/oauth2/jwttoken`,
//!   `/api/v1/management/applications/<application id>/jwks.json`; the application id is the
//!   client id).
//! - Brightspace: `{site}/d2l/lti/authenticate`, `https://auth.brightspace.com/core/connect/token`,
//!   `{site}/d2l/.well-known/jwks`, issuer `{site}` (D2L shows these values after the tool is
//!   registered; check them there).
//! - Sakai: Sakai's LTI admin tool and `LTI13Servlet` (`{site}/imsoidc/lti13/oidc_auth`,
//!   `{site}/imsblis/lti13/token/{tool id}`, `{site}/imsblis/lti13/keyset/{tool id}`, issuer the
//!   server URL unless `lti13.issuer` is configured).
//! - Schoology: developers.schoology.com "LTI 1.3 Support and Documentation" (issuer
//!   `https://schoology.schoology.com`, `lti-service.svc.schoology.com/lti-service/…`).
//!
//! The reference documents give no per-LMS user-id or role defaults, so presets set none: the
//! user id stays `sub` until the admin chooses a rule.

use std::collections::BTreeMap;

use lti_core::url::HttpUrl;
use serde_json::{Map, Value};

/// One thing a preset asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// The body field.
    pub field: &'static str,
    /// Whether the registration is refused without it.
    pub required: bool,
    /// What it is, for the admin (where to find it in the LMS).
    pub what: &'static str,
}

/// An LMS preset.
#[derive(Debug, PartialEq, Eq)]
pub struct Preset {
    /// `preset` value and `platformFamily`.
    pub code: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What the admin supplies.
    pub asks: &'static [Ask],
    /// (registration field, template). Placeholders: `{siteUrl}`, `{toolId}`,
    /// `{applicationId}`, `{env.}` (Canvas: empty, `beta.` or `test.`).
    fills: &'static [(&'static str, &'static str)],
}

const CLIENT_ID: Ask =
    Ask { field: "lti13ClientId", required: true, what: "the client id the LMS issued to the tool when it was added" };
const DEPLOYMENT_ID: Ask = Ask {
    field: "deploymentIds",
    required: false,
    what:
        "the deployment id the LMS shows for the installed tool (without it, the first launch's deployment is recorded)",
};
const SITE: Ask = Ask { field: "siteUrl", required: true, what: "the LMS's address, e.g. https://lms.example.edu" };

/// Every preset (`other` fills nothing: every field is asked).
pub const PRESETS: &[Preset] = &[
    Preset {
        code: "moodle",
        name: "Moodle",
        asks: &[SITE, CLIENT_ID, DEPLOYMENT_ID],
        fills: &[
            ("issuer", "{siteUrl}"),
            ("lti13PlatformOidcAuthUrl", "{siteUrl}/mod/lti/auth.php"),
            ("lti13AuthTokenUrl", "{siteUrl}/mod/lti/token.php"),
            ("lti13KeysUrl", "{siteUrl}/mod/lti/certs.php"),
        ],
    },
    Preset {
        code: "canvas",
        name: "Canvas",
        asks: &[
            CLIENT_ID,
            DEPLOYMENT_ID,
            Ask {
                field: "canvasEnvironment",
                required: false,
                what: "production (default), beta or test: which Instructure-hosted Canvas",
            },
        ],
        fills: &[
            ("issuer", "https://canvas.{env.}instructure.com"),
            ("lti13PlatformOidcAuthUrl", "https://sso.{env.}canvaslms.com/api/lti/authorize_redirect"),
            ("lti13AuthTokenUrl", "https://sso.{env.}canvaslms.com/login/oauth2/token"),
            ("lti13KeysUrl", "https://sso.{env.}canvaslms.com/api/lti/security/jwks"),
        ],
    },
    Preset {
        code: "blackboard",
        name: "Blackboard",
        asks: &[
            Ask {
                field: "applicationId",
                required: true,
                what: "the application id from Anthology's developer portal (it is also the client id)",
            },
            DEPLOYMENT_ID,
        ],
        fills: &[
            ("issuer", "https://blackboard.com"),
            ("lti13ClientId", "{applicationId}"),
            ("lti13PlatformOidcAuthUrl", "https://developer.blackboard.com/api/v1/gateway/oidcauth"),
            ("lti13AuthTokenUrl", "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken"),
            (
                "lti13KeysUrl",
                "https://developer.blackboard.com/api/v1/management/applications/{applicationId}/jwks.json",
            ),
        ],
    },
    Preset {
        code: "brightspace",
        name: "Brightspace (D2L)",
        asks: &[SITE, CLIENT_ID, DEPLOYMENT_ID],
        fills: &[
            ("issuer", "{siteUrl}"),
            ("lti13PlatformOidcAuthUrl", "{siteUrl}/d2l/lti/authenticate"),
            ("lti13AuthTokenUrl", "https://auth.brightspace.com/core/connect/token"),
            ("lti13KeysUrl", "{siteUrl}/d2l/.well-known/jwks"),
        ],
    },
    Preset {
        code: "sakai",
        name: "Sakai",
        asks: &[
            SITE,
            Ask {
                field: "toolId",
                required: true,
                what: "the number Sakai gave the tool (External Tools, the tool's id)",
            },
            CLIENT_ID,
            DEPLOYMENT_ID,
        ],
        fills: &[
            ("issuer", "{siteUrl}"),
            ("lti13PlatformOidcAuthUrl", "{siteUrl}/imsoidc/lti13/oidc_auth"),
            ("lti13AuthTokenUrl", "{siteUrl}/imsblis/lti13/token/{toolId}"),
            ("lti13KeysUrl", "{siteUrl}/imsblis/lti13/keyset/{toolId}"),
        ],
    },
    Preset {
        code: "schoology",
        name: "Schoology",
        asks: &[CLIENT_ID, DEPLOYMENT_ID],
        fills: &[
            ("issuer", "https://schoology.schoology.com"),
            ("lti13PlatformOidcAuthUrl", "https://lti-service.svc.schoology.com/lti-service/authorize-redirect"),
            ("lti13AuthTokenUrl", "https://lti-service.svc.schoology.com/lti-service/access-token"),
            ("lti13KeysUrl", "https://lti-service.svc.schoology.com/lti-service/.well-known/jwks"),
        ],
    },
    Preset {
        code: "other",
        name: "Other LMS",
        asks: &[
            Ask { field: "issuer", required: true, what: "the LMS's issuer (Platform ID)" },
            CLIENT_ID,
            DEPLOYMENT_ID,
            Ask { field: "lti13PlatformOidcAuthUrl", required: true, what: "the LMS's OIDC authorization URL" },
            Ask { field: "lti13AuthTokenUrl", required: true, what: "the LMS's OAuth2 token URL" },
            Ask { field: "lti13KeysUrl", required: true, what: "the LMS's public key set (JWKS) URL" },
        ],
        fills: &[],
    },
];

/// The preset with this code.
pub fn by_code(code: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.code == code)
}

impl Preset {
    /// The fields this preset fills, as (field, template) pairs.
    pub fn fills(&self) -> &'static [(&'static str, &'static str)] {
        self.fills
    }

    /// What this preset fills in for these inputs (placeholders left as written when an input
    /// is missing): for documentation pages and the admin API's preset listing.
    pub fn describe(&self) -> Value {
        let fills: Map<String, Value> =
            self.fills.iter().map(|(f, t)| (f.to_string(), Value::String(t.replace("{env.}", "")))).collect();
        let asks: Vec<Value> = self
            .asks
            .iter()
            .map(|a| serde_json::json!({"field": a.field, "required": a.required, "what": a.what}))
            .collect();
        serde_json::json!({"preset": self.code, "name": self.name, "platformFamily": self.code, "asks": asks, "fills": fills})
    }
}

/// A registration body after its preset was applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expansion {
    /// The body with the preset's fields filled in (the body itself without a preset).
    pub body: Map<String, Value>,
    /// Preset inputs that are missing or malformed.
    pub errors: BTreeMap<String, String>,
    /// Fields the preset filled, with the input each came from (an error on such a field is
    /// reported on that input).
    pub derived: Vec<(&'static str, &'static str)>,
    /// Fields the preset would have filled but could not (an input is missing or bad): their
    /// own "is required" is not reported.
    pub unfilled: Vec<&'static str>,
}

/// Input values after their own checks.
struct Inputs {
    values: BTreeMap<&'static str, String>,
    errors: BTreeMap<String, String>,
}

fn text_input(body: &Map<String, Value>, field: &'static str, max: usize, inputs: &mut Inputs) {
    match body.get(field) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().chars().count() <= max => {
            inputs.values.insert(field, s.trim().to_string());
        }
        Some(_) => {
            inputs.errors.insert(field.to_string(), format!("must be a string of 1-{max} characters"));
        }
    }
}

/// The site's address as the LMS writes its issuer: an absolute http(s) URL, no query, no
/// fragment, no trailing slash (`https://lms.example.edu/moodle`). Whether `http` is allowed is
/// checked on the URLs built from it.
fn site_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.contains('#') {
        return Err("must be the LMS's address without a fragment".into());
    }
    let url = HttpUrl::parse(s).map_err(|e| format!("must be the LMS's address (https://…): {e}"))?;
    if url.query().is_some() {
        return Err("must be the LMS's address without a query".into());
    }
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}{}", url.origin(), path))
}

/// A Sakai tool id or Blackboard application id is a path segment of the URLs it fills:
/// letters, digits, `-`, `_` and `.` only (never `..`, `/`, `%`).
fn path_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn inputs(preset: &Preset, body: &Map<String, Value>) -> Inputs {
    let mut inputs = Inputs { values: BTreeMap::new(), errors: BTreeMap::new() };
    for ask in preset.asks {
        match ask.field {
            "siteUrl" => match body.get("siteUrl") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.len() <= 400 => match site_url(s) {
                    Ok(site) => {
                        inputs.values.insert("siteUrl", site);
                    }
                    Err(e) => {
                        inputs.errors.insert("siteUrl".into(), e);
                    }
                },
                Some(_) => {
                    inputs.errors.insert(
                        "siteUrl".into(),
                        "must be the LMS's address (a string of at most 400 characters)".into(),
                    );
                }
            },
            "applicationId" | "toolId" => {
                text_input(body, ask.field, 64, &mut inputs);
                if inputs.values.get(ask.field).is_some_and(|v| !path_segment(v)) {
                    inputs.values.remove(ask.field);
                    inputs.errors.insert(ask.field.into(), "may contain only letters, digits, '-', '_' and '.'".into());
                }
            }
            "canvasEnvironment" => match body.get("canvasEnvironment") {
                None | Some(Value::Null) => {
                    inputs.values.insert("env.", String::new());
                }
                Some(Value::String(s)) if matches!(s.as_str(), "production" | "beta" | "test") => {
                    let prefix = if s == "production" { String::new() } else { format!("{s}.") };
                    inputs.values.insert("env.", prefix);
                }
                Some(_) => {
                    inputs
                        .errors
                        .insert("canvasEnvironment".into(), "must be \"production\", \"beta\" or \"test\"".into());
                }
            },
            // lti13ClientId, deploymentIds and the `other` preset's fields are ordinary
            // registration fields: the registration's own validation checks them.
            _ => {}
        }
    }
    // Blackboard: the client id *is* the application id, so either one is enough.
    if preset.asks.iter().any(|a| a.field == "applicationId") && !inputs.values.contains_key("applicationId") {
        let cid = body.get("lti13ClientId").or_else(|| body.get("clientId")).and_then(Value::as_str).map(str::trim);
        if let Some(cid) = cid.filter(|c| path_segment(c) && !inputs.errors.contains_key("applicationId")) {
            inputs.values.insert("applicationId", cid.to_string());
        }
    }
    inputs
}

/// `template` with its placeholders replaced; `Err(input)` names the first missing input.
fn fill(template: &str, values: &BTreeMap<&'static str, String>) -> Result<String, &'static str> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (head, tail) = rest.split_at(open);
        out.push_str(head);
        let close = tail.find('}').unwrap_or(tail.len());
        let name = tail.get(1..close).unwrap_or_default();
        let key = ["siteUrl", "toolId", "applicationId", "env."].into_iter().find(|k| *k == name).unwrap_or("siteUrl");
        match values.get(key) {
            Some(v) => out.push_str(v),
            None => return Err(if key == "env." { "canvasEnvironment" } else { key }),
        }
        rest = tail.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// The first input a template reads (where an error on the field it fills is reported).
fn source_of(template: &str) -> &'static str {
    ["siteUrl", "toolId", "applicationId"]
        .into_iter()
        .find(|k| template.contains(&format!("{{{k}}}")))
        .unwrap_or("preset")
}

/// A short label for a registration made from a preset: the site's host, else the client id.
fn default_name(preset: &Preset, body: &Map<String, Value>, values: &BTreeMap<&'static str, String>) -> String {
    let site = values.get("siteUrl").and_then(|s| HttpUrl::parse(s).ok()).map(|u| u.host().to_string());
    let client = body.get("lti13ClientId").or_else(|| body.get("clientId")).and_then(Value::as_str).map(str::trim);
    let client = client.or_else(|| values.get("applicationId").map(String::as_str));
    let what = site.or_else(|| client.map(|c| format!("client {}", c.chars().take(64).collect::<String>())));
    match what {
        Some(w) => format!("{} ({w})", preset.name),
        None => preset.name.to_string(),
    }
}

/// Apply the body's `preset` (if any). Without `preset` the body comes back unchanged.
pub fn expand(body: &Map<String, Value>) -> Expansion {
    let mut out = Expansion { body: body.clone(), ..Expansion::default() };
    let code = match body.get("preset") {
        None | Some(Value::Null) => return out,
        Some(Value::String(s)) => s.trim().to_ascii_lowercase(),
        Some(_) => String::new(),
    };
    let Some(preset) = by_code(&code) else {
        let known: Vec<&str> = PRESETS.iter().map(|p| p.code).collect();
        out.errors.insert("preset".into(), format!("must be one of {}", known.join(", ")));
        // What a preset would have filled is not reported again.
        out.unfilled = vec!["issuer", "lti13PlatformOidcAuthUrl", "lti13AuthTokenUrl", "lti13KeysUrl", "name"];
        return out;
    };
    let Inputs { values, mut errors } = inputs(preset, body);
    for ask in preset.asks.iter().filter(|a| a.required && a.field != "lti13ClientId") {
        let given = body.get(ask.field).is_some_and(|v| !v.is_null());
        if !given && !errors.contains_key(ask.field) && !values.contains_key(ask.field) {
            errors.insert(ask.field.into(), format!("is required by the {} preset: {}", preset.code, ask.what));
        }
    }
    for (field, template) in preset.fills {
        if body.get(*field).is_some_and(|v| !v.is_null()) {
            continue; // an explicit field wins over the preset
        }
        match fill(template, &values) {
            Ok(v) => {
                out.body.insert(field.to_string(), Value::String(v));
                out.derived.push((field, source_of(template)));
            }
            Err(_) => out.unfilled.push(field),
        }
    }
    // Blackboard: the application id is the client id; both given must agree.
    if let (Some(app), Some(Value::String(cid))) = (values.get("applicationId"), body.get("lti13ClientId")) {
        if app != cid.trim() {
            errors.insert(
                "applicationId".into(),
                "must equal lti13ClientId (Blackboard's client id is the application id)".into(),
            );
        }
    }
    if body.get("platformFamily").is_none_or(Value::is_null) && preset.code != "other" {
        out.body.insert("platformFamily".into(), Value::String(preset.code.into()));
    }
    if body.get("name").is_none_or(Value::is_null) {
        out.body.insert("name".into(), Value::String(default_name(preset, body, &values)));
    }
    let required_client = preset.asks.iter().any(|a| a.field == "lti13ClientId" && a.required);
    if required_client && body.get("lti13ClientId").or_else(|| body.get("clientId")).is_none_or(Value::is_null) {
        errors.insert("lti13ClientId".into(), format!("is required by the {} preset: {}", preset.code, CLIENT_ID.what));
    }
    out.errors = errors;
    out
}

#[cfg(test)]
mod tests;
