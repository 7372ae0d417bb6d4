//! LTI Advantage services, sans-IO: what a launch granted (AGS, NRPS), the client-credentials
//! assertion and token cache policy, `Link` headers and page walks, line-item scoping, scores
//! and roster members.
//!
//! Services are negotiated per deployment (`004_…`): a malformed or absent service claim means
//! "not granted", never a failed launch. The worker asks [`ServiceGrants`] before each call and
//! answers `ags_not_enabled` / `nrps_not_enabled` when the platform did not grant it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::error::ServiceError;
use crate::url::HttpUrl;

/// AGS endpoint claim.
pub const AGS_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint";
/// NRPS claim.
pub const NRPS_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice";
/// Line items read/write.
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
/// Line items read.
pub const SCOPE_LINEITEM_READONLY: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
/// Results read.
pub const SCOPE_RESULT_READONLY: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
/// Scores write.
pub const SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
/// Roster read.
pub const SCOPE_NRPS: &str = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";
/// Lifetime of a client assertion.
pub const ASSERTION_TTL_SECS: i64 = 300;
/// Most pages followed in one call.
pub const DEFAULT_PAGE_CAP: usize = 50;
/// Largest platform response body we parse (bytes).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Longest score comment.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// AGS as granted by a launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgsGrant {
    /// Scopes the platform offered.
    pub scope: Vec<String>,
    /// The context's line-items container URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineitems: Option<String>,
    /// The resource link's own line item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineitem: Option<String>,
}

/// NRPS as granted by a launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NrpsGrant {
    /// `context_memberships_url`.
    pub url: String,
}

/// The services a launch granted (session claim `svc`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceGrants {
    /// Assignment and Grade Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ags: Option<AgsGrant>,
    /// Names and Role Provisioning Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nrps: Option<NrpsGrant>,
}

/// A service URL counts as granted only when the worker could call it: https (or http on a
/// loopback host, for local platforms) and in a form that normalises.
fn url_ok(s: &str) -> bool {
    s.len() <= 2048 && ServiceUrl::parse(s).is_ok()
}

impl ServiceGrants {
    /// From launch claims. Anything malformed counts as not granted.
    pub fn from_claims(claims: &Map<String, Value>) -> Self {
        let ags = claims.get(AGS_CLAIM).and_then(Value::as_object).and_then(|o| {
            let scope: Vec<String> = o
                .get("scope")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| s.starts_with("https://purl.imsglobal.org/spec/lti-ags/scope/"))
                .take(10)
                .map(str::to_string)
                .collect();
            let s = |k: &str| o.get(k).and_then(Value::as_str).filter(|u| url_ok(u)).map(str::to_string);
            let grant = AgsGrant { scope, lineitems: s("lineitems"), lineitem: s("lineitem") };
            (!grant.scope.is_empty() && (grant.lineitems.is_some() || grant.lineitem.is_some())).then_some(grant)
        });
        let nrps = claims.get(NRPS_CLAIM).and_then(Value::as_object).and_then(|o| {
            let url = o.get("context_memberships_url").and_then(Value::as_str).filter(|u| url_ok(u))?;
            Some(NrpsGrant { url: url.to_string() })
        });
        Self { ags, nrps }
    }

    /// Whether anything was granted.
    pub fn is_empty(&self) -> bool {
        self.ags.is_none() && self.nrps.is_none()
    }
}

impl AgsGrant {
    /// Check one scope was granted.
    pub fn require(&self, scope: &str) -> Result<(), ServiceError> {
        if self.scope.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ServiceError::AgsScopeMissing(scope.rsplit('/').next().unwrap_or(scope).to_string()))
        }
    }

    /// The container URL (required for list/create), normalised.
    pub fn container(&self) -> Result<ServiceUrl, ServiceError> {
        self.lineitems
            .as_deref()
            .and_then(|c| ServiceUrl::parse(c).ok())
            .ok_or(ServiceError::AgsScopeMissing("lineitems URL".into()))
    }

    /// `url` as a line item of this context, checked and normalised: the launch's own line
    /// item, or a URL on the container's origin whose normalised path lies below the
    /// container's. Comparison is on [`HttpUrl::normalized`] forms (the form `fetch` sends), so
    /// `%2e%2e`, `.%2E` or a trailing `/..` cannot climb out of the container; the returned
    /// [`ServiceUrl`] is exactly what was checked, and the only thing the worker may send.
    pub fn lineitem_url(&self, url: &str) -> Result<ServiceUrl, ServiceError> {
        let u = ServiceUrl::parse(url).map_err(|_| ServiceError::LineItemOutOfScope)?;
        if let Some(own) = self.lineitem.as_deref().and_then(|l| ServiceUrl::parse(l).ok()) {
            if own == u {
                return Ok(u);
            }
        }
        let container = self
            .lineitems
            .as_deref()
            .and_then(|c| ServiceUrl::parse(c).ok())
            .ok_or(ServiceError::LineItemOutOfScope)?;
        if u.0.is_within(&container.0) && u.0.path().trim_end_matches('/') != container.0.path().trim_end_matches('/') {
            Ok(u)
        } else {
            Err(ServiceError::LineItemOutOfScope)
        }
    }

    /// Whether `url` is a line item of this context (see [`AgsGrant::lineitem_url`]).
    pub fn owns_lineitem(&self, url: &str) -> bool {
        self.lineitem_url(url).is_ok()
    }

    /// The launch's own line item, normalised.
    pub fn own_lineitem(&self) -> Option<ServiceUrl> {
        self.lineitem.as_deref().and_then(|l| ServiceUrl::parse(l).ok())
    }

    /// Whether `url` (normalised) is the launch's own line item.
    pub fn is_own_lineitem(&self, url: &ServiceUrl) -> bool {
        self.own_lineitem().is_some_and(|o| &o == url)
    }
}

/// A URL the worker may call with a platform credential: absolute, https (or http on a
/// loopback host), and in normal form ([`HttpUrl::normalized`]). Made only by a scope check
/// (line items, rosters, page links) or from a registered URL; `as_str` is exactly what was
/// checked, so what is sent is what was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl(HttpUrl, String);

impl ServiceUrl {
    fn from_http(u: HttpUrl) -> Result<Self, crate::url::UrlError> {
        if u.scheme() != "https" && !u.is_loopback() {
            return Err(crate::url::UrlError::Insecure);
        }
        let s = u.to_string();
        Ok(Self(u, s))
    }

    /// Parse and normalise; plain http only on loopback. Used for URLs that come from a
    /// signed launch or a registration (the scope checks build on it).
    pub fn parse(url: &str) -> Result<Self, crate::url::UrlError> {
        Self::from_http(HttpUrl::parse(url)?.normalized()?)
    }

    /// The URL to send.
    pub fn as_str(&self) -> &str {
        &self.1
    }

    /// A sub-resource (`/scores`, `/results`): a fixed suffix keeps the scope.
    pub fn join(&self, suffix: &'static str) -> Self {
        let u = self.0.join_path(suffix);
        let s = u.to_string();
        Self(u, s)
    }

    /// With query parameters added.
    pub fn with_query(&self, pairs: &[(&str, &str)]) -> Self {
        let u = self.0.with_query_pairs(pairs);
        let s = u.to_string();
        Self(u, s)
    }

    /// `other` if it is the same resource as `self` (same origin and normalised path; any
    /// query): a `next` page or a roster's `differences` link.
    pub fn same_resource(&self, other: &str) -> Option<Self> {
        let o = Self::parse(other).ok()?;
        (o.0.same_origin(&self.0) && o.0.path() == self.0.path()).then_some(o)
    }
}

impl std::fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

/// Same origin and same normalised path (ignoring query): a `differences`/`next` URL of a roster.
pub fn same_resource(a: &str, b: &str) -> bool {
    ServiceUrl::parse(b).ok().and_then(|b| b.same_resource(a)).is_some()
}

/// Claims of the client-credentials assertion (LTI Security §4.1): `iss` = `sub` = client id,
/// `aud` the exact token URL, integer `iat`/`exp`, unique `jti`.
pub fn client_assertion_claims(client_id: &str, token_url: &str, now: i64, jti: &str) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + ASSERTION_TTL_SECS,
        "jti": jti,
    })
}

/// Sorted, de-duplicated, space-separated scope set.
pub fn scope_string(scopes: &[&str]) -> String {
    let mut v: Vec<&str> = scopes.to_vec();
    v.sort_unstable();
    v.dedup();
    v.join(" ")
}

/// Token cache key: issuer, client id, token URL and scope set.
pub fn token_cache_key(issuer: &str, client_id: &str, token_url: &str, scope: &str) -> String {
    let mut h = Sha256::new();
    for part in ["lti-edge/svc-token/v1", issuer, client_id, token_url, scope] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

/// A platform access token with its absolute expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessToken {
    /// Bearer value.
    pub token: String,
    /// When to stop using it (already shortened by the margin).
    pub use_until: i64,
}

impl AccessToken {
    /// Parse a token endpoint's JSON answer. Cached until `expires_in` minus a margin (60 s, or a
    /// tenth of short lifetimes); no `expires_in` → 5 minutes.
    pub fn from_response(body: &[u8], now: i64) -> Result<Self, ServiceError> {
        if body.len() > 64 * 1024 {
            return Err(ServiceError::ResponseInvalid("token response too large".into()));
        }
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| ServiceError::ResponseInvalid("token response is not JSON".into()))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= 8192)
            .ok_or_else(|| ServiceError::ResponseInvalid("token response without access_token".into()))?;
        if let Some(tt) = v.get("token_type").and_then(Value::as_str) {
            if !tt.eq_ignore_ascii_case("bearer") {
                return Err(ServiceError::ResponseInvalid(format!("token_type {tt}")));
            }
        }
        let expires_in = v
            .get("expires_in")
            .and_then(Value::as_f64)
            .filter(|e| e.is_finite() && *e > 0.0)
            .map_or(300, |e| e.min(86_400.0) as i64);
        let margin = (expires_in / 10).min(60);
        Ok(Self { token: token.to_string(), use_until: now + expires_in - margin })
    }

    /// Still usable at `now`.
    pub fn fresh(&self, now: i64) -> bool {
        now < self.use_until
    }
}

/// `Link` header targets by relation (RFC 8288), e.g. `next`, `differences`.
pub fn parse_link_header(header: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else { break };
        let url = rest[start + 1..start + end].trim().to_string();
        rest = &rest[start + end + 1..];
        let params_end = rest.find('<').unwrap_or(rest.len());
        let params = &rest[..params_end];
        for p in params.split(';') {
            let p = p.trim().trim_end_matches(',').trim();
            if let Some(v) = p.strip_prefix("rel=") {
                for rel in v.trim_matches('"').split_whitespace() {
                    out.entry(rel.to_ascii_lowercase()).or_insert_with(|| url.clone());
                }
            }
        }
        rest = &rest[params_end..];
    }
    out
}

/// A bounded walk over `next` links: stops at the page cap or when a link repeats.
#[derive(Debug)]
pub struct PageWalk {
    seen: Vec<String>,
    cap: usize,
    truncated: bool,
}

impl PageWalk {
    /// Start at `first`.
    pub fn new(first: &str, cap: usize) -> Self {
        let first = ServiceUrl::parse(first).map_or_else(|_| first.to_string(), |u| u.as_str().to_string());
        Self { seen: vec![first], cap: cap.max(1), truncated: false }
    }

    /// Pages fetched so far.
    pub fn pages(&self) -> usize {
        self.seen.len()
    }

    /// Whether the walk stopped early (cap reached or a loop).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Given the `next` link of the page just read, the next URL to fetch — the same resource
    /// as the first page (same origin and normalised path; only the query may differ) — or
    /// `None` to stop.
    pub fn next(&mut self, next: Option<&str>) -> Option<ServiceUrl> {
        let next = next?;
        let first = self.seen.first().and_then(|f| ServiceUrl::parse(f).ok());
        let checked = first.and_then(|f| f.same_resource(next));
        let Some(url) = checked else {
            self.truncated = true;
            return None;
        };
        if self.seen.iter().any(|s| s == url.as_str()) || self.seen.len() >= self.cap {
            self.truncated = true;
            return None;
        }
        self.seen.push(url.as_str().to_string());
        Some(url)
    }
}

/// Parse a JSON body from a platform, bounded.
pub fn parse_json(body: &[u8]) -> Result<Value, ServiceError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(ServiceError::ResponseInvalid(format!("platform response of {} bytes", body.len())));
    }
    serde_json::from_slice(body).map_err(|_| ServiceError::ResponseInvalid("platform response is not JSON".into()))
}

/// Activity progress values (AGS §3.4.7).
pub const ACTIVITY_PROGRESS: &[&str] = &["Initialized", "Started", "InProgress", "Submitted", "Completed"];
/// Grading progress values (AGS §3.4.8).
pub const GRADING_PROGRESS: &[&str] = &["FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"];

/// A score a tool app posts (camelCase JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreInput {
    /// Line item URL (default: the launch's line item).
    #[serde(default, alias = "lineitem", alias = "lineItem")]
    pub line_item_url: Option<String>,
    /// Platform user id (default: the session's user).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Score earned.
    #[serde(default)]
    pub score_given: Option<f64>,
    /// Maximum score.
    #[serde(default)]
    pub score_maximum: Option<f64>,
    /// Comment (≤ 1000).
    #[serde(default)]
    pub comment: Option<String>,
    /// Default `Completed`.
    #[serde(default)]
    pub activity_progress: Option<String>,
    /// Default `FullyGraded`.
    #[serde(default)]
    pub grading_progress: Option<String>,
    /// ISO 8601; default now.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// `{startedAt, submittedAt}`.
    #[serde(default)]
    pub submission: Option<SubmissionInput>,
}

/// Submission times.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionInput {
    /// ISO 8601.
    #[serde(default)]
    pub started_at: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub submitted_at: Option<String>,
}

/// A loose ISO 8601 date-time check (`YYYY-MM-DDTHH:MM:SS…` with zone).
pub fn is_iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    s.len() <= 40
        && digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && (s.ends_with('Z')
            || s.ends_with('z')
            || s.get(s.len().saturating_sub(6)..).is_some_and(|z| z.starts_with('+') || z.starts_with('-')))
}

impl ScoreInput {
    /// The AGS score body (`application/vnd.ims.lis.v1.score+json`) for `user_id` at `now_iso`.
    pub fn to_score(&self, user_id: &str, now_iso: &str) -> Result<Value, ServiceError> {
        let bad = |f: &str, why: &str| ServiceError::ScoreInvalid(f.to_string(), why.to_string());
        if user_id.is_empty() || user_id.len() > 255 {
            return Err(bad("userId", "1 to 255 characters"));
        }
        let mut o = Map::new();
        o.insert("userId".into(), json!(user_id));
        match (self.score_given, self.score_maximum) {
            (Some(g), Some(m)) => {
                if !g.is_finite() || g < 0.0 {
                    return Err(bad("scoreGiven", "a number, 0 or more"));
                }
                if !m.is_finite() || m <= 0.0 {
                    return Err(bad("scoreMaximum", "a number greater than 0"));
                }
                o.insert("scoreGiven".into(), json!(g));
                o.insert("scoreMaximum".into(), json!(m));
            }
            (Some(_), None) => return Err(bad("scoreMaximum", "required with scoreGiven")),
            (None, Some(m)) => {
                if !m.is_finite() || m <= 0.0 {
                    return Err(bad("scoreMaximum", "a number greater than 0"));
                }
            }
            (None, None) => {}
        }
        if let Some(c) = &self.comment {
            if c.chars().count() > MAX_COMMENT_CHARS {
                return Err(bad("comment", "at most 1000 characters"));
            }
            o.insert("comment".into(), json!(c));
        }
        let ap = self.activity_progress.as_deref().unwrap_or("Completed");
        if !ACTIVITY_PROGRESS.contains(&ap) {
            return Err(bad("activityProgress", "Initialized, Started, InProgress, Submitted or Completed"));
        }
        let gp = self.grading_progress.as_deref().unwrap_or("FullyGraded");
        if !GRADING_PROGRESS.contains(&gp) {
            return Err(bad("gradingProgress", "FullyGraded, Pending, PendingManual, Failed or NotReady"));
        }
        o.insert("activityProgress".into(), json!(ap));
        o.insert("gradingProgress".into(), json!(gp));
        let ts = self.timestamp.as_deref().unwrap_or(now_iso);
        if !is_iso8601(ts) {
            return Err(bad("timestamp", "an ISO 8601 date-time with zone"));
        }
        o.insert("timestamp".into(), json!(ts));
        if let Some(s) = &self.submission {
            let mut sub = Map::new();
            for (k, v) in [("startedAt", &s.started_at), ("submittedAt", &s.submitted_at)] {
                if let Some(v) = v {
                    if !is_iso8601(v) {
                        return Err(bad(&format!("submission.{k}"), "an ISO 8601 date-time with zone"));
                    }
                    sub.insert(k.into(), json!(v));
                }
            }
            if !sub.is_empty() {
                o.insert("submission".into(), Value::Object(sub));
            }
        }
        Ok(Value::Object(o))
    }
}

/// Check and normalise a line item body for create (`partial = false`) or update.
pub fn line_item_body(input: &Value, partial: bool) -> Result<Value, ServiceError> {
    let bad = |f: &str, why: &str| ServiceError::LineItemInvalid(f.to_string(), why.to_string());
    let o = input.as_object().ok_or_else(|| bad("body", "a JSON object"))?;
    let mut out = Map::new();
    match o.get("label") {
        Some(Value::String(l)) if !l.trim().is_empty() && l.chars().count() <= 500 => {
            out.insert("label".into(), json!(l.trim()));
        }
        None if partial => {}
        _ => return Err(bad("label", "1 to 500 characters")),
    }
    match o.get("scoreMaximum") {
        Some(v) if v.as_f64().is_some_and(|m| m.is_finite() && m > 0.0) => {
            out.insert("scoreMaximum".into(), v.clone());
        }
        None if partial => {}
        _ => return Err(bad("scoreMaximum", "a number greater than 0")),
    }
    for k in ["resourceId", "tag", "resourceLinkId"] {
        match o.get(k) {
            Some(Value::String(s)) if s.len() <= 255 => {
                out.insert(k.into(), json!(s));
            }
            None | Some(Value::Null) => {}
            _ => return Err(bad(k, "a string of at most 255 characters")),
        }
    }
    for k in ["startDateTime", "endDateTime"] {
        match o.get(k) {
            Some(Value::String(s)) if is_iso8601(s) => {
                out.insert(k.into(), json!(s));
            }
            None | Some(Value::Null) => {}
            _ => return Err(bad(k, "an ISO 8601 date-time with zone")),
        }
    }
    if let Some(g) = o.get("gradesReleased") {
        if !g.is_boolean() {
            return Err(bad("gradesReleased", "true or false"));
        }
        out.insert("gradesReleased".into(), g.clone());
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_from_claims() {
        let claims: Map<String, Value> = serde_json::from_value(json!({
            AGS_CLAIM: {"scope": [SCOPE_LINEITEM, SCOPE_SCORE, "bogus"], "lineitems": "https://lms.example/c/1/lineitems", "lineitem": "https://lms.example/c/1/lineitems/7"},
            NRPS_CLAIM: {"context_memberships_url": "https://lms.example/c/1/members", "service_versions": ["2.0"]}
        }))
        .unwrap();
        let g = ServiceGrants::from_claims(&claims);
        let ags = g.ags.unwrap();
        assert_eq!(ags.scope.len(), 2);
        assert!(ags.require(SCOPE_SCORE).is_ok());
        assert!(ags.require(SCOPE_RESULT_READONLY).is_err());
        assert!(ags.owns_lineitem("https://lms.example/c/1/lineitems/9"));
        assert!(ags.owns_lineitem("https://lms.example/c/1/lineitems/7"));
        assert!(!ags.owns_lineitem("https://lms.example/c/2/lineitems/9"));
        assert!(!ags.owns_lineitem("https://evil.example/c/1/lineitems/9"));
        assert!(!ags.owns_lineitem("https://lms.example/c/1/lineitems"));
        assert!(!ags.owns_lineitem("https://lms.example/c/1/lineitemsX/1"));
        assert!(!ags.owns_lineitem("https://lms.example/c/1/lineitems/../../2/lineitems/1"));
        for escape in [
            "https://lms.example/c/1/lineitems/%2e%2e/%2e%2e/%2e%2e/other/secret",
            "https://lms.example/c/1/lineitems/.%2E/.%2E/2/lineitems/1",
            "https://lms.example/c/1/lineitems/%2E%2e",
            "https://lms.example/c/1/lineitems/9/..",
            "https://lms.example/c/1/lineitems/9/../..",
            "https://lms.example/c/1/lineitems/./..",
            "https://lms.example/c/1/lineitems/..%2F..%2Fother",
            "https://lms.example/c/1/lineitems/..;/..;/other",
            "http://lms.example/c/1/lineitems/9",
        ] {
            assert!(!ags.owns_lineitem(escape), "{escape}");
        }
        let checked = ags.lineitem_url("https://LMS.example:443/c/1/lineitems/./%39").unwrap();
        assert_eq!(checked.as_str(), "https://lms.example/c/1/lineitems/9");
        assert_eq!(checked.join("/scores").as_str(), "https://lms.example/c/1/lineitems/9/scores");
        // plain http on a public host is not granted; on loopback it is (local platforms)
        let http: Map<String, Value> = serde_json::from_value(json!({
            AGS_CLAIM: {"scope": [SCOPE_SCORE], "lineitems": "http://lms.example/c/1/lineitems"},
            NRPS_CLAIM: {"context_memberships_url": "http://lms.example/c/1/members"}
        }))
        .unwrap();
        assert!(ServiceGrants::from_claims(&http).is_empty());
        let local: Map<String, Value> = serde_json::from_value(json!({
            AGS_CLAIM: {"scope": [SCOPE_SCORE], "lineitems": "http://127.0.0.1:9/c/1/lineitems"}
        }))
        .unwrap();
        assert!(ServiceGrants::from_claims(&local).ags.is_some());
        assert_eq!(g.nrps.unwrap().url, "https://lms.example/c/1/members");
        // malformed → not granted
        let bad: Map<String, Value> =
            serde_json::from_value(json!({AGS_CLAIM: "x", NRPS_CLAIM: {"context_memberships_url": 5}})).unwrap();
        assert!(ServiceGrants::from_claims(&bad).is_empty());
    }

    #[test]
    fn links_and_walks() {
        let l = parse_link_header(
            r#"<https://a.example/m?p=2>; rel="next", <https://a.example/m?since=1>; rel="differences""#,
        );
        assert_eq!(l["next"], "https://a.example/m?p=2");
        assert_eq!(l["differences"], "https://a.example/m?since=1");
        assert!(parse_link_header("garbage <unterminated").is_empty());
        let mut w = PageWalk::new("https://a.example/m", 3);
        assert_eq!(
            w.next(Some("https://a.example/m?p=2")).map(|u| u.to_string()).as_deref(),
            Some("https://a.example/m?p=2")
        );
        assert_eq!(w.next(Some("https://a.example/m")), None, "loop back stops");
        assert!(w.truncated());
        let mut w = PageWalk::new("https://a.example/m", 2);
        assert!(w.next(Some("https://a.example/m?p=2")).is_some());
        assert!(w.next(Some("https://a.example/m?p=3")).is_none());
        assert!(w.truncated());
        let mut w = PageWalk::new("https://a.example/m", 5);
        assert!(w.next(Some("https://evil.example/m?p=2")).is_none(), "other origin refused");
        let mut w = PageWalk::new("https://a.example/c/1/members", 5);
        assert!(
            w.next(Some("https://a.example/c/1/members/%2e%2e/%2e%2e/2/members?p=2")).is_none(),
            "other path refused"
        );
        let mut w = PageWalk::new("https://a.example/c/1/members", 5);
        assert!(w.next(Some("https://a.example/c/1/other?p=2")).is_none(), "other path refused");
    }

    #[test]
    fn tokens() {
        let t = AccessToken::from_response(br#"{"access_token":"abc","token_type":"Bearer","expires_in":3600}"#, 1000)
            .unwrap();
        assert_eq!(t.use_until, 1000 + 3600 - 60);
        assert!(t.fresh(4000) && !t.fresh(4540));
        assert!(AccessToken::from_response(b"<html>", 0).is_err());
        assert!(AccessToken::from_response(br#"{"token_type":"Bearer"}"#, 0).is_err());
        assert!(AccessToken::from_response(br#"{"access_token":"a","token_type":"mac"}"#, 0).is_err());
        let a = token_cache_key("i", "c", "u", &scope_string(&[SCOPE_SCORE, SCOPE_LINEITEM]));
        let b = token_cache_key("i", "c", "u", &scope_string(&[SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_SCORE]));
        assert_eq!(a, b);
        assert_ne!(a, token_cache_key("i", "c2", "u", &scope_string(&[SCOPE_SCORE, SCOPE_LINEITEM])));
    }

    #[test]
    fn scores() {
        let now = "2026-11-22T10:00:00Z";
        let s: ScoreInput = serde_json::from_value(json!({"scoreGiven": 8, "scoreMaximum": 10, "comment": "ok",
            "submission": {"startedAt": "2026-11-22T09:00:00Z"}}))
        .unwrap();
        let v = s.to_score("u1", now).unwrap();
        assert_eq!(v["activityProgress"], "Completed");
        assert_eq!(v["gradingProgress"], "FullyGraded");
        assert_eq!(v["timestamp"], now);
        assert_eq!(v["submission"]["startedAt"], "2026-11-22T09:00:00Z");
        for bad in [
            json!({"scoreGiven": -1, "scoreMaximum": 10}),
            json!({"scoreGiven": 1}),
            json!({"scoreGiven": 1, "scoreMaximum": 0}),
            json!({"comment": "x".repeat(1001)}),
            json!({"activityProgress": "Done"}),
            json!({"gradingProgress": "Graded"}),
            json!({"timestamp": "yesterday"}),
        ] {
            let s: ScoreInput = serde_json::from_value(bad.clone()).unwrap();
            assert!(matches!(s.to_score("u1", now), Err(ServiceError::ScoreInvalid(..))), "{bad}");
        }
    }

    #[test]
    fn line_items() {
        assert!(line_item_body(&json!({"label": "Quiz", "scoreMaximum": 10}), false).is_ok());
        assert!(line_item_body(&json!({"label": "", "scoreMaximum": 10}), false).is_err());
        assert!(line_item_body(&json!({"label": "Q"}), false).is_err());
        assert!(line_item_body(&json!({"label": "Q"}), true).is_ok());
        assert!(line_item_body(&json!({"label": "Q", "scoreMaximum": 5, "startDateTime": "soon"}), false).is_err());
    }
}
