//! LTI Advantage from the edge: Deep Linking responses, Assignment and Grade Services, Names
//! and Role Provisioning, and the service tokens they need. Decisions (what was granted, what
//! is valid, which URLs belong to a context) are in [`lti_core::services`] and
//! [`lti_core::deep_linking`]; this module does the I/O.
//!
//! Callers are tool apps: with a session token (scoped to its platform, context and resource
//! link) or with the admin token plus `platformId` and `contextId` (the context's service URLs
//! are remembered from launches, see [`remember_context`]).

use std::cell::RefCell;
use std::collections::HashMap;

use lti_core::deep_linking::{ContentItemInput, ContentItems};
use lti_core::encoding::{b64url_encode, form_encode, hex};
use lti_core::error::{ErrorCode, ServiceError};
use lti_core::jws::sign_rs256;
use lti_core::registration::Registration;
use lti_core::services::{
    self, client_assertion_claims, line_item_body, map_member, parse_json, parse_link_header, role_matches,
    scope_string, token_cache_key, AccessToken, PageWalk, ScoreInput, ServiceGrants, ServiceUrl, DEFAULT_PAGE_CAP,
    MAX_RESPONSE_BYTES,
};
use lti_core::session::SessionClaims;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::{Env, Request, Response};

use crate::config::{Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::registry::Registry;
use crate::{http, keys, log, sealed};
use lti_webcrypto::random_bytes;

const LINEITEM_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
const LINEITEMS_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";
const SCORE_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
const RESULTS_TYPE: &str = "application/vnd.ims.lis.v2.resultcontainer+json";
const NRPS_TYPE: &str = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json";

fn svc_err(e: &ServiceError) -> ApiError {
    let mut err = ApiError::coded(e);
    err.fields = e.fields();
    err
}

fn bad_request(field: &str, why: &str) -> ApiError {
    ApiError::new(ErrorCode::RequestInvalid, format!("{field}: {why}")).with_field(field, why)
}

// ------------------------------------------------------------------ who is calling

/// Who is calling a service route, established from the `Authorization` header alone, before
/// any body is read.
pub enum Credential {
    /// `LTI_ADMIN_TOKEN`: any context, named by `platformId` + `contextId`.
    Admin,
    /// `LTI_SERVICES_TOKEN` (the tool app's server): any context, named by `platformId` +
    /// `contextId`.
    Services,
    /// `LTI_SERVICES_TOKEN` with a user's session in `LTI-Session`: that session's context and
    /// user, with the trust of the tool's server (it may post that user's score).
    ServicesForSession(SessionClaims),
    /// A session token (a user's browser): its own context, its own role.
    Session(SessionClaims),
}

/// Check the bearer credential. No body has been read yet; a request without a valid one is
/// answered `session_invalid` whatever it carries.
pub async fn authenticate(env: &Env, cfg: &Config, req: &Request) -> ApiResult<Credential> {
    let token = crate::bearer(req).ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token"))?;
    if cfg.is_admin(&token) {
        return Ok(Credential::Admin);
    }
    if cfg.is_services(&token) {
        let on_behalf =
            req.headers().get("lti-session").ok().flatten().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        return Ok(match on_behalf {
            Some(s) => Credential::ServicesForSession(crate::verify_session_token(env, cfg, &s).await?),
            None => Credential::Services,
        });
    }
    Ok(Credential::Session(crate::verify_session_token(env, cfg, &token).await?))
}

/// A tool app's request, resolved to one context.
pub struct Caller {
    /// The session, when called with one (None: admin or the services credential alone).
    pub session: Option<SessionClaims>,
    /// Whether the call comes from a trusted server (admin or services credential) rather
    /// than a user's browser.
    pub server: bool,
    /// Registration.
    pub reg: Registration,
    /// What the platform granted for this context (or launch).
    pub svc: ServiceGrants,
}

impl Caller {
    fn staff(&self) -> bool {
        self.session.as_ref().is_none_or(|s| services::is_staff(&s.role))
    }

    fn require_staff(&self) -> ApiResult<()> {
        if self.staff() {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::RoleForbidden, "learner session"))
        }
    }

    /// A learner's own browser session may post (or delete) a score only when the
    /// registration opts in: the learner holds the token, so otherwise they could grade
    /// themselves. The tool's server (services credential) and staff always may.
    pub fn require_score_writer(&self) -> ApiResult<()> {
        if self.server || self.staff() || self.reg.learner_scores {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::LearnerScoresDisabled,
                "learner session posting a score; learnerScores is false",
            ))
        }
    }

    /// Every scope the platform granted for this context: one token serves all calls (fewer
    /// token requests, which platforms rate-limit).
    fn scopes(&self) -> Vec<&str> {
        let mut v: Vec<&str> =
            self.svc.ags.as_ref().map(|a| a.scope.iter().map(String::as_str).collect()).unwrap_or_default();
        if self.svc.nrps.is_some() {
            v.push(services::SCOPE_NRPS);
        }
        v
    }

    fn ags(&self) -> ApiResult<&services::AgsGrant> {
        self.svc.ags.as_ref().ok_or_else(|| svc_err(&ServiceError::AgsScopeMissing("no AGS claim".into())))
    }
}

/// Resolve an authenticated caller to one context: admin or services credential (then
/// `platformId` + `contextId` from `params`), or a session.
pub async fn caller(env: &Env, credential: Credential, params: &Value) -> ApiResult<Caller> {
    let registry = Registry::new(env);
    let (session, server) = match credential {
        Credential::Admin | Credential::Services => {
            let p = |k: &str| {
                params.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
            };
            let platform_id = p("platformId")
                .ok_or_else(|| bad_request("platformId", "required with the admin or services token"))?;
            let context_id =
                p("contextId").ok_or_else(|| bad_request("contextId", "required with the admin or services token"))?;
            let reg = registry
                .get(&platform_id)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such registration"))?;
            let record = context_record(env, &platform_id, &context_id)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::ContextUnknown, "no launch recorded"))?;
            return Ok(Caller { session: None, server: true, reg, svc: record.svc });
        }
        Credential::ServicesForSession(s) => (s, true),
        Credential::Session(s) => (s, false),
    };
    let reg = registry
        .get(&session.platform_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::PlatformUnregistered, "registration deleted since the launch"))?;
    Ok(Caller { svc: session.svc.clone(), session: Some(session), server, reg })
}

/// The session behind a Bearer token (no admin, no services credential): deep linking.
pub async fn session_of(env: &Env, cfg: &Config, req: &Request) -> ApiResult<SessionClaims> {
    let token = crate::bearer(req).ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token"))?;
    crate::verify_session_token(env, cfg, &token).await
}

// ------------------------------------------------------------------ context records

/// What a launch told us about a context's services (for admin calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRecord {
    /// Registration id.
    pub platform_id: String,
    /// Deployment id.
    pub deployment_id: String,
    /// Context id.
    pub context_id: String,
    /// Service grants (the per-link `lineitem` is dropped).
    pub svc: ServiceGrants,
}

fn context_key(platform_id: &str, context_id: &str) -> String {
    let mut h = Sha256::new();
    for p in ["lti-edge/context/v1", platform_id, context_id] {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    format!("ctx:{}", hex(&h.finalize()))
}

thread_local! {
    static SEEN_CONTEXTS: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    static TOKENS: RefCell<HashMap<String, AccessToken>> = RefCell::new(HashMap::new());
}

async fn context_record(env: &Env, platform_id: &str, context_id: &str) -> ApiResult<Option<ContextRecord>> {
    let text = env.kv(KV_BINDING)?.get(&context_key(platform_id, context_id)).text().await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// After a launch: remember the context's service URLs (in the background; skipped when this
/// isolate already wrote the same record).
pub fn remember_context(env: &Env, wctx: &worker::Context, claims: &SessionClaims) {
    let Some(context_id) = claims.context_id.clone() else { return };
    if claims.svc.is_empty() {
        return;
    }
    let mut svc = claims.svc.clone();
    if let Some(a) = svc.ags.as_mut() {
        a.lineitem = None;
    }
    let record = ContextRecord {
        platform_id: claims.platform_id.clone(),
        deployment_id: claims.deployment_id.clone(),
        context_id,
        svc,
    };
    let Ok(text) = serde_json::to_string(&record) else { return };
    let key = context_key(&record.platform_id, &record.context_id);
    let unchanged = SEEN_CONTEXTS.with(|s| s.borrow().get(&key) == Some(&text));
    if unchanged {
        return;
    }
    SEEN_CONTEXTS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() > 1000 {
            s.clear();
        }
        s.insert(key.clone(), text.clone());
    });
    let Ok(kv) = env.kv(KV_BINDING) else { return };
    wctx.wait_until(async move {
        if let Ok(put) = kv.put(&key, text) {
            let _ = put.execute().await;
        }
    });
}

// ------------------------------------------------------------------ service tokens

/// Token cache statistics of this isolate (for the benchmark and `GET /lti/services/stats`).
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct TokenStats {
    /// Served from isolate memory.
    pub memory_hits: u64,
    /// Served from KV.
    pub kv_hits: u64,
    /// Fetched from the platform.
    pub fetched: u64,
}

thread_local! {
    static STATS: RefCell<TokenStats> = RefCell::new(TokenStats::default());
}

/// This isolate's token statistics.
pub fn token_stats() -> TokenStats {
    STATS.with(|s| *s.borrow())
}

/// A platform access token for `scopes`: isolate memory, then KV (encrypted), then the token
/// endpoint. `fresh` skips both caches (after a 401).
async fn access_token(
    env: &Env,
    cfg: &Config,
    reg: &Registration,
    scopes: &[&str],
    fresh: bool,
    cid: &str,
) -> ApiResult<String> {
    let now = crate::now();
    let scope = scope_string(scopes);
    let key = token_cache_key(&reg.issuer, &reg.client_id, &reg.auth_token_url, &scope);
    let kv_key = format!("svctok:{key}");
    let kv = env.kv(KV_BINDING)?;
    if !fresh {
        if let Some(t) = TOKENS.with(|m| m.borrow().get(&key).filter(|t| t.fresh(now)).cloned()) {
            STATS.with(|s| s.borrow_mut().memory_hits += 1);
            return Ok(t.token);
        }
        if let Some(text) = kv.get(&kv_key).text().await? {
            if let Some(t) = decrypt_token(cfg, &text).await.filter(|t| t.fresh(now)) {
                STATS.with(|s| s.borrow_mut().kv_hits += 1);
                TOKENS.with(|m| m.borrow_mut().insert(key.clone(), t.clone()));
                return Ok(t.token);
            }
        }
    }
    // One token request per key at a time in this isolate. Waiters poll the cache on a timer:
    // a promise started by another request cannot be awaited here (Workers ties I/O to the
    // request that started it).
    let started = js_sys::Date::now();
    while let Some(since) = INFLIGHT.with(|m| m.borrow().get(&key).copied()) {
        if js_sys::Date::now() - since > 12_000.0 || js_sys::Date::now() - started > 12_000.0 {
            break; // the other request died or hangs: fetch our own
        }
        crate::http::sleep_ms(20).await;
        if let Some(t) = TOKENS.with(|m| m.borrow().get(&key).filter(|t| t.fresh(now)).cloned()) {
            STATS.with(|s| s.borrow_mut().memory_hits += 1);
            return Ok(t.token);
        }
    }
    let signer = keys::signer(env, cfg).await?;
    INFLIGHT.with(|m| m.borrow_mut().insert(key.clone(), js_sys::Date::now()));
    let result = fetch_token(signer, reg.client_id.clone(), reg.auth_token_url.clone(), scope.clone(), now).await;
    INFLIGHT.with(|m| m.borrow_mut().remove(&key));
    let token = result.map_err(|e| {
        if let ServiceError::TokenFailed(d) = &e {
            log::warn(cid, "service_token_failed", d);
        }
        svc_err(&e)
    })?;
    STATS.with(|s| s.borrow_mut().fetched += 1);
    TOKENS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 500 {
            m.retain(|_, t| t.fresh(now));
        }
        m.insert(key.clone(), token.clone());
    });
    let ttl = token.use_until - now;
    if ttl >= 60 {
        if let Ok(text) = encrypt_token(cfg, &token).await {
            kv.put(&kv_key, text)?.expiration_ttl(ttl as u64).execute().await?;
        }
    }
    Ok(token.token)
}

thread_local! {
    /// Token requests in flight in this isolate: key → start time (ms).
    static INFLIGHT: RefCell<HashMap<String, f64>> = RefCell::new(HashMap::new());
}

/// Client credentials with a signed assertion (LTI Security §4.1). A 401 from the token
/// endpoint (e.g. it had not yet fetched our rotated key) gets one more try with a new assertion.
async fn fetch_token(
    signer: lti_webcrypto::WebCryptoSigner,
    client_id: String,
    token_url: String,
    scope: String,
    now: i64,
) -> Result<AccessToken, ServiceError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let jti = random_bytes::<16>()
            .map(|b| b64url_encode(&b))
            .map_err(|e| ServiceError::TokenFailed(format!("random: {}", e.0)))?;
        let claims = client_assertion_claims(&client_id, &token_url, now, &jti);
        let assertion = sign_rs256(&signer, "JWT", &claims)
            .await
            .map_err(|e| ServiceError::TokenFailed(format!("signing: {}", e.0)))?;
        let body = form_encode([
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
            ("scope", scope.as_str()),
        ]);
        // The assertion's `aud` is the token URL as registered (what the platform compares);
        // the request goes to its normal form.
        let target = ServiceUrl::parse(&token_url).map_err(|e| ServiceError::TokenFailed(format!("token URL: {e}")))?;
        let answer = http::send(
            "POST",
            target.as_str(),
            &[("content-type", "application/x-www-form-urlencoded"), ("accept", "application/json")],
            Some(&body),
            64 * 1024,
        )
        .await
        .map_err(ServiceError::TokenFailed)?;
        if answer.status == 401 && attempt == 1 {
            continue;
        }
        if answer.status != 200 {
            return Err(ServiceError::TokenFailed(format!("token endpoint answered {}", answer.status)));
        }
        if answer.oversized {
            return Err(ServiceError::ResponseInvalid("token response too large".into()));
        }
        return AccessToken::from_response(&answer.body, now);
    }
}

async fn encrypt_token(cfg: &Config, t: &AccessToken) -> ApiResult<String> {
    let plain = serde_json::to_vec(t).map_err(|e| ApiError::internal(e.to_string()))?;
    sealed::seal(cfg, sealed::SERVICE_TOKENS, &plain).await
}

async fn decrypt_token(cfg: &Config, text: &str) -> Option<AccessToken> {
    serde_json::from_slice(&sealed::open(cfg, sealed::SERVICE_TOKENS, text).await.ok()?).ok()
}

fn forget_token(reg: &Registration, scopes: &[&str]) {
    let key = token_cache_key(&reg.issuer, &reg.client_id, &reg.auth_token_url, &scope_string(scopes));
    TOKENS.with(|m| m.borrow_mut().remove(&key));
}

/// One call to a platform service with a token for `scopes`; on 401 one fresh token and one
/// retry. Statuses ≥ 400 become `platform_service_failed`.
#[allow(clippy::too_many_arguments)]
async fn call(
    env: &Env,
    cfg: &Config,
    cid: &str,
    reg: &Registration,
    scopes: &[&str],
    method: &str,
    url: &ServiceUrl,
    accept: &str,
    body: Option<(&str, String)>,
) -> ApiResult<http::Answer> {
    let mut fresh = false;
    loop {
        let token = access_token(env, cfg, reg, scopes, fresh, cid).await?;
        let auth = format!("Bearer {token}");
        let mut h: Vec<(&str, &str)> = vec![("authorization", &auth), ("accept", accept)];
        if let Some((ct, _)) = &body {
            h.push(("content-type", ct));
        }
        let answer = http::send(method, url.as_str(), &h, body.as_ref().map(|(_, b)| b.as_str()), MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| svc_err(&ServiceError::ServiceFailed(e)))?;
        if answer.status == 401 && !fresh {
            forget_token(reg, scopes);
            fresh = true;
            continue;
        }
        if answer.status >= 400 || (300..400).contains(&answer.status) {
            log::warn(cid, "service_call_failed", &format!("{method} answered {}", answer.status));
            return Err(svc_err(&ServiceError::ServiceFailed(format!("status {}", answer.status))));
        }
        if answer.oversized {
            return Err(svc_err(&ServiceError::ResponseInvalid("response over the size limit".into())));
        }
        return Ok(answer);
    }
}

/// GET every page from `first` (following `Link: rel=next`), collecting `field` arrays (or
/// top-level arrays).
#[allow(clippy::too_many_arguments)]
async fn get_all(
    env: &Env,
    cfg: &Config,
    cid: &str,
    reg: &Registration,
    scopes: &[&str],
    first: &ServiceUrl,
    accept: &str,
    field: Option<&str>,
) -> ApiResult<(Vec<Value>, Value, PageWalk, Option<String>)> {
    let mut walk = PageWalk::new(first.as_str(), DEFAULT_PAGE_CAP);
    let mut url = first.clone();
    let mut items = Vec::new();
    let mut first_page = Value::Null;
    let mut differences = None;
    loop {
        let answer = call(env, cfg, cid, reg, scopes, "GET", &url, accept, None).await?;
        let v = parse_json(&answer.body).map_err(|e| svc_err(&e))?;
        let page_items = match field {
            Some(f) => v.get(f).and_then(Value::as_array).cloned(),
            None => v.as_array().cloned(),
        }
        .ok_or_else(|| svc_err(&ServiceError::ResponseInvalid("page without its item array".into())))?;
        if items.len() + page_items.len() > 100_000 {
            return Err(svc_err(&ServiceError::ResponseInvalid("more than 100000 items".into())));
        }
        items.extend(page_items);
        let links = answer.link.as_deref().map(parse_link_header).unwrap_or_default();
        if first_page.is_null() {
            first_page = v;
            differences = links.get("differences").cloned();
        }
        match walk.next(links.get("next").map(String::as_str)) {
            Some(next) => url = next,
            None => break,
        }
    }
    Ok((items, first_page, walk, differences))
}

use crate::ok_json as ok;

// ------------------------------------------------------------------ AGS

/// `GET|POST /lti/ags/lineitems`.
pub async fn lineitems(
    env: &Env,
    cfg: &Config,
    cid: &str,
    req: &mut Request,
    query: &Value,
    is_post: bool,
) -> ApiResult<Response> {
    let credential = authenticate(env, cfg, req).await?;
    let body = if is_post { crate::read_json(req, &crate::JSON_API).await? } else { Value::Null };
    let params = if is_post { &body } else { query };
    let c = caller(env, credential, params).await?;
    let ags = c.ags()?;
    let container = ags.container().map_err(|e| svc_err(&e))?;
    let link = c.session.as_ref().and_then(|s| s.resource_link_id.clone());
    if is_post {
        c.require_staff()?;
        ags.require(services::SCOPE_LINEITEM).map_err(|e| svc_err(&e))?;
        let mut item = line_item_body(&body, false).map_err(|e| svc_err(&e))?;
        if let (Some(l), Some(o)) = (&link, item.as_object_mut()) {
            o.insert("resourceLinkId".into(), json!(l));
        }
        let answer = call(
            env,
            cfg,
            cid,
            &c.reg,
            &c.scopes(),
            "POST",
            &container,
            LINEITEM_TYPE,
            Some((LINEITEM_TYPE, item.to_string())),
        )
        .await?;
        let created = parse_json(&answer.body).map_err(|e| svc_err(&e))?;
        if created.get("id").and_then(Value::as_str).is_none() {
            return Err(svc_err(&ServiceError::ResponseInvalid("created line item without id".into())));
        }
        return ok(created, 201);
    }
    read_scope(ags)?;
    let q = |k: &str| query.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let forced_link = link.as_deref();
    if let Some(l) = forced_link.or(q("resourceLinkId")) {
        pairs.push(("resource_link_id", l));
    }
    if let Some(r) = q("resourceId") {
        pairs.push(("resource_id", r));
    }
    if let Some(t) = q("tag") {
        pairs.push(("tag", t));
    }
    if let Some(l) = q("limit") {
        pairs.push(("limit", l));
    }
    let url = container.with_query(&pairs);
    let (mut items, _, walk, _) = get_all(env, cfg, cid, &c.reg, &c.scopes(), &url, LINEITEMS_TYPE, None).await?;
    if let Some(l) = forced_link {
        items.retain(|i| i.get("resourceLinkId").and_then(Value::as_str) == Some(l));
    }
    ok(json!({"lineItems": items, "pages": walk.pages(), "truncated": walk.truncated()}), 200)
}

fn read_scope(ags: &services::AgsGrant) -> ApiResult<&'static str> {
    if ags.require(services::SCOPE_LINEITEM).is_ok() {
        Ok(services::SCOPE_LINEITEM)
    } else {
        ags.require(services::SCOPE_LINEITEM_READONLY).map_err(|e| svc_err(&e))?;
        Ok(services::SCOPE_LINEITEM_READONLY)
    }
}

/// Check a line item URL is in the caller's scope: in the context's container (compared in
/// normal form, see [`services::AgsGrant::lineitem_url`]), and for a session, the launch's own
/// line item or one whose `resourceLinkId` is the session's link. Returns the checked URL —
/// the only form that is sent — and the line item when it had to be fetched.
async fn check_lineitem(
    env: &Env,
    cfg: &Config,
    cid: &str,
    c: &Caller,
    url: &str,
) -> ApiResult<(ServiceUrl, Option<Value>)> {
    let ags = c.ags()?;
    let checked = ags.lineitem_url(url).map_err(|e| svc_err(&e))?;
    let Some(s) = &c.session else { return Ok((checked, None)) };
    if ags.is_own_lineitem(&checked) {
        return Ok((checked, None));
    }
    read_scope(ags)?;
    let answer = call(env, cfg, cid, &c.reg, &c.scopes(), "GET", &checked, LINEITEM_TYPE, None).await?;
    let item = parse_json(&answer.body).map_err(|e| svc_err(&e))?;
    let link = item.get("resourceLinkId").and_then(Value::as_str);
    if link.is_none() || link != s.resource_link_id.as_deref() {
        return Err(svc_err(&ServiceError::LineItemOutOfScope));
    }
    Ok((checked, Some(item)))
}

fn lineitem_url(params: &Value) -> ApiResult<String> {
    let u = params
        .get("lineItemUrl")
        .or_else(|| params.get("lineitem"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("lineItemUrl", "required"))?;
    lti_core::url::HttpUrl::parse(u).map_err(|_| bad_request("lineItemUrl", "an absolute URL"))?;
    Ok(u.to_string())
}

/// `GET|PUT|DELETE /lti/ags/lineitem`.
pub async fn lineitem(
    env: &Env,
    cfg: &Config,
    cid: &str,
    req: &mut Request,
    query: &Value,
    method: &str,
) -> ApiResult<Response> {
    let credential = authenticate(env, cfg, req).await?;
    let body = if method == "PUT" { crate::read_json(req, &crate::JSON_API).await? } else { Value::Null };
    let params = if method == "PUT" { &body } else { query };
    let c = caller(env, credential, params).await?;
    let url = lineitem_url(params)?;
    let ags = c.ags()?;
    match method {
        "GET" => {
            read_scope(ags)?;
            let (checked, fetched) = check_lineitem(env, cfg, cid, &c, &url).await?;
            if let Some(item) = fetched {
                return ok(item, 200);
            }
            let answer = call(env, cfg, cid, &c.reg, &c.scopes(), "GET", &checked, LINEITEM_TYPE, None).await?;
            ok(parse_json(&answer.body).map_err(|e| svc_err(&e))?, 200)
        }
        "PUT" => {
            c.require_staff()?;
            ags.require(services::SCOPE_LINEITEM).map_err(|e| svc_err(&e))?;
            let (checked, fetched) = check_lineitem(env, cfg, cid, &c, &url).await?;
            let current = match fetched {
                Some(v) => v,
                None => {
                    let a = call(env, cfg, cid, &c.reg, &c.scopes(), "GET", &checked, LINEITEM_TYPE, None).await?;
                    parse_json(&a.body).map_err(|e| svc_err(&e))?
                }
            };
            let changes = line_item_body(&body, true).map_err(|e| svc_err(&e))?;
            // PUT replaces the line item: start from the current one, apply the changes, keep
            // the session's resource link.
            let mut merged = current.as_object().cloned().unwrap_or_default();
            if let Some(ch) = changes.as_object() {
                for (k, v) in ch {
                    merged.insert(k.clone(), v.clone());
                }
            }
            if let Some(l) = c.session.as_ref().and_then(|s| s.resource_link_id.clone()) {
                merged.insert("resourceLinkId".into(), json!(l));
            }
            let answer = call(
                env,
                cfg,
                cid,
                &c.reg,
                &c.scopes(),
                "PUT",
                &checked,
                LINEITEM_TYPE,
                Some((LINEITEM_TYPE, Value::Object(merged).to_string())),
            )
            .await?;
            let v =
                if answer.body.is_empty() { Value::Null } else { parse_json(&answer.body).map_err(|e| svc_err(&e))? };
            ok(v, 200)
        }
        _ => {
            c.require_staff()?;
            ags.require(services::SCOPE_LINEITEM).map_err(|e| svc_err(&e))?;
            let (checked, _) = check_lineitem(env, cfg, cid, &c, &url).await?;
            call(env, cfg, cid, &c.reg, &c.scopes(), "DELETE", &checked, LINEITEM_TYPE, None).await?;
            ok(json!({"deleted": true, "lineItemUrl": checked.as_str()}), 200)
        }
    }
}

/// `POST /lti/ags/scores`.
pub async fn scores(env: &Env, cfg: &Config, cid: &str, req: &mut Request) -> ApiResult<Response> {
    let credential = authenticate(env, cfg, req).await?;
    let body = crate::read_json(req, &crate::JSON_API).await?;
    let c = caller(env, credential, &body).await?;
    c.require_score_writer()?;
    if let Some(s) = c.session.as_ref().filter(|s| s.lti_version == "1.1") {
        return crate::legacy::post_score(env, cfg, cid, s, &body).await;
    }
    let ags = c.ags()?;
    ags.require(services::SCOPE_SCORE).map_err(|e| svc_err(&e))?;
    let input: ScoreInput = serde_json::from_value(body.clone()).map_err(|e| {
        ApiError::new(ErrorCode::ScoreInvalid, format!("score json: {e}"))
            .with_field("body", "a JSON object with the score fields")
    })?;
    let url = match (&input.line_item_url, &ags.lineitem, &c.session) {
        (Some(u), _, _) => u.clone(),
        (None, Some(l), Some(_)) => l.clone(),
        _ => return Err(bad_request("lineItemUrl", "required (this launch has no line item of its own)")),
    };
    let user_id = match (&input.user_id, &c.session) {
        (Some(u), Some(s)) if u != &s.lti_sub && !services::is_staff(&s.role) => {
            return Err(ApiError::new(ErrorCode::RoleForbidden, "learner posting another user's score"));
        }
        (Some(u), _) => u.clone(),
        (None, Some(s)) if !s.lti_sub.is_empty() => s.lti_sub.clone(),
        (None, Some(_)) => {
            return Err(bad_request("userId", "required (this session has no platform user: an anonymous launch)"))
        }
        (None, None) => return Err(bad_request("userId", "required with the admin or services token")),
    };
    let score = input.to_score(&user_id, &crate::iso_now()).map_err(|e| svc_err(&e))?;
    let (checked, _) = check_lineitem(env, cfg, cid, &c, &url).await?;
    call(
        env,
        cfg,
        cid,
        &c.reg,
        &c.scopes(),
        "POST",
        &checked.join("/scores"),
        "application/json",
        Some((SCORE_TYPE, score.to_string())),
    )
    .await?;
    let by = match (&c.session, c.server) {
        (_, true) if c.session.is_some() => "services-for-session",
        (None, _) => "server",
        _ => "session",
    };
    log::info(cid, "score_posted", json!({"registration": c.reg.id, "by": by}));
    ok(json!({"posted": true, "lineItemUrl": checked.as_str(), "userId": user_id}), 200)
}

/// `DELETE /lti/ags/scores`: LTI 1.1 deleteResult (AGS has no score deletion).
pub async fn delete_score(env: &Env, cfg: &Config, cid: &str, req: &Request) -> ApiResult<Response> {
    let credential = authenticate(env, cfg, req).await?;
    let c = caller(env, credential, &Value::Null).await;
    let c = match c {
        Ok(c) => c,
        Err(e) if e.code == ErrorCode::RequestInvalid => {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "AGS scores cannot be deleted; post a score without scoreGiven instead",
            ));
        }
        Err(e) => return Err(e),
    };
    let Some(s) = c.session.as_ref().filter(|s| s.lti_version == "1.1") else {
        return Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            "AGS scores cannot be deleted; post a score without scoreGiven instead",
        ));
    };
    c.require_score_writer()?;
    crate::legacy::delete_score(env, cfg, cid, s).await
}

/// `GET /lti/ags/results`.
pub async fn results(env: &Env, cfg: &Config, cid: &str, req: &Request, query: &Value) -> ApiResult<Response> {
    let credential = authenticate(env, cfg, req).await?;
    let c = caller(env, credential, query).await?;
    if let Some(s) = c.session.as_ref().filter(|s| s.lti_version == "1.1") {
        return crate::legacy::read_score(env, cfg, cid, s).await;
    }
    let ags = c.ags()?;
    ags.require(services::SCOPE_RESULT_READONLY).map_err(|e| svc_err(&e))?;
    let url = match query.get("lineItemUrl").and_then(Value::as_str) {
        Some(_) => lineitem_url(query)?,
        None => match (&ags.lineitem, &c.session) {
            (Some(l), Some(_)) => l.clone(),
            _ => return Err(bad_request("lineItemUrl", "required")),
        },
    };
    let (checked, _) = check_lineitem(env, cfg, cid, &c, &url).await?;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let own;
    match &c.session {
        Some(s) if !services::is_staff(&s.role) => {
            own = s.lti_sub.clone();
            pairs.push(("user_id", own.as_str()));
        }
        _ => {
            if let Some(u) = query.get("userId").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                pairs.push(("user_id", u));
            }
        }
    }
    if let Some(l) = query.get("limit").and_then(Value::as_str) {
        pairs.push(("limit", l));
    }
    let first = checked.join("/results").with_query(&pairs);
    let (items, _, walk, _) = get_all(env, cfg, cid, &c.reg, &c.scopes(), &first, RESULTS_TYPE, None).await?;
    ok(json!({"results": items, "pages": walk.pages(), "truncated": walk.truncated()}), 200)
}

// ------------------------------------------------------------------ NRPS

/// `GET /lti/nrps/members`.
pub async fn members(env: &Env, cfg: &Config, cid: &str, req: &Request, query: &Value) -> ApiResult<Response> {
    let credential = authenticate(env, cfg, req).await?;
    let c = caller(env, credential, query).await?;
    c.require_staff()?;
    let nrps = c.svc.nrps.as_ref().ok_or_else(|| svc_err(&ServiceError::NrpsNotGranted))?;
    let roster = ServiceUrl::parse(&nrps.url).map_err(|_| svc_err(&ServiceError::NrpsNotGranted))?;
    let q = |k: &str| query.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let first = match q("since") {
        Some(since) => roster
            .same_resource(since)
            .ok_or_else(|| bad_request("since", "a differences URL of this course's roster"))?,
        None => {
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            if let Some(r) = q("role") {
                pairs.push(("role", r));
            }
            if let Some(l) = q("limit") {
                pairs.push(("limit", l));
            }
            roster.with_query(&pairs)
        }
    };
    let (raw, first_page, walk, differences) =
        get_all(env, cfg, cid, &c.reg, &c.scopes(), &first, NRPS_TYPE, Some("members")).await?;
    let role = q("role");
    let members: Vec<Value> = raw
        .iter()
        .filter_map(|m| map_member(m, &c.reg.role_map))
        .filter(|m| {
            role.is_none_or(|r| {
                let roles: Vec<String> = m
                    .get("roles")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                role_matches(r, &roles)
            })
        })
        .collect();
    // Personal data: the log gets counts only.
    log::info(
        cid,
        "roster_read",
        json!({"registration": c.reg.id, "members": members.len(), "pages": walk.pages(), "truncated": walk.truncated()}),
    );
    let mut data = json!({
        "id": first_page.get("id").cloned().unwrap_or(Value::Null),
        "context": first_page.get("context").cloned().unwrap_or(Value::Null),
        "members": members,
        "pages": walk.pages(),
        "truncated": walk.truncated(),
    });
    if let (Some(d), Some(o)) = (differences.and_then(|d| roster.same_resource(&d)), data.as_object_mut()) {
        o.insert("differencesUrl".into(), json!(d.as_str()));
    }
    ok(data, 200)
}

// ------------------------------------------------------------------ Deep Linking

/// The picker's demo entries, by id (title, duration): what the form variant can return.
pub fn picker_entry(id: &str) -> Option<(&'static str, &'static str, u32)> {
    crate::pages::DEMO_ENTRIES.iter().find(|(i, _, _)| *i == id).copied()
}

/// `POST /lti/deep-link`: JSON from a tool app (answers the JWT), or the picker's form (answers
/// the auto-submitting page).
pub async fn deep_link(env: &Env, cfg: &Config, cid: &str, req: &mut Request) -> ApiResult<Response> {
    let ct = req.headers().get("content-type").ok().flatten().unwrap_or_default().to_ascii_lowercase();
    let form = ct.starts_with("application/x-www-form-urlencoded");
    let (session, inputs): (SessionClaims, Vec<ContentItemInput>) = if form {
        let fields = crate::read_form(req).await?;
        let token = fields.iter().find(|(k, _)| k == "session").map(|(_, v)| v.clone()).unwrap_or_default();
        if token.is_empty() {
            return Err(ApiError::new(ErrorCode::SessionInvalid, "form without session"));
        }
        let session = crate::verify_session_token(env, cfg, &token).await?;
        let base = cfg.base();
        let mut items = Vec::new();
        for (_, id) in fields.iter().filter(|(k, _)| k == "entry") {
            let (id, title, secs) =
                picker_entry(id).ok_or_else(|| bad_request("entry", "an entry offered by the picker"))?;
            items.push(ContentItemInput {
                kind: "ltiResourceLink".into(),
                title: Some(title.into()),
                entry_id: Some(id.into()),
                thumbnail_url: Some(format!("{base}/embed/thumb.svg")),
                duration: Some(f64::from(secs)),
                width: Some(640),
                height: Some(360),
                ..ContentItemInput::default()
            });
        }
        (session, items)
    } else {
        let session = session_of(env, cfg, req).await?;
        let body = crate::read_json(req, &crate::JSON_API).await?;
        let list = body.get("contents").or_else(|| body.get("items")).cloned().ok_or_else(|| {
            ApiError::new(ErrorCode::DeepLinkInvalid, "no contents").with_field("contents", "send 1 to 50 items")
        })?;
        let items: Vec<ContentItemInput> = serde_json::from_value(list).map_err(|e| {
            ApiError::new(ErrorCode::DeepLinkInvalid, format!("contents json: {e}"))
                .with_field("contents", "an array of content items (type, title, url, …)")
        })?;
        (session, items)
    };
    if session.lti11.as_ref().is_some_and(|l| l.get("contentItem").is_some()) {
        let (action, fields) = crate::legacy::content_items(env, cfg, &session, &inputs).await?;
        log::info(cid, "content_item_selection", json!({"registration": session.platform_id, "items": inputs.len()}));
        if form {
            let (nonce, _) = crate::script_csp()?;
            let origin = lti_core::url::HttpUrl::parse(&action).map(|u| u.origin()).unwrap_or_default();
            let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action {origin}");
            return crate::html_response_csp(
                crate::pages::auto_post_page(&nonce, &action, &fields, inputs.len()),
                200,
                &csp,
            );
        }
        let map: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        return ok(json!({"form": {"action": action, "fields": map}, "returnUrl": action}), 200);
    }
    let settings = session.dl.clone().ok_or_else(|| {
        ApiError::new(ErrorCode::DeepLinkSessionRequired, "session is not from a deep-linking launch")
    })?;
    let reg = Registry::new(env)
        .get(&session.platform_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::PlatformUnregistered, "registration deleted since the launch"))?;
    let launch_url = format!("{}/lti/launch", cfg.base());
    let items = ContentItems::validate(&inputs, &settings, &launch_url, cfg.allow_http_loopback).map_err(|e| {
        let mut err = ApiError::coded(&e);
        err.fields = Some(e.fields());
        err
    })?;
    let nonce = b64url_encode(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let claims =
        items.response_claims(&settings, &reg.client_id, &reg.issuer, &session.deployment_id, &nonce, crate::now());
    let signer = keys::signer(env, cfg).await?;
    let jwt = sign_rs256(&signer, "JWT", &claims).await.map_err(|e| ApiError::internal(e.0))?;
    log::info(
        cid,
        "deep_link_response",
        json!({"registration": reg.id, "items": items.as_slice().len(), "kid": lti_core::crypto::Rs256Signer::kid(&signer)}),
    );
    if form {
        let (nonce, _) = crate::script_csp()?;
        let origin = lti_core::url::HttpUrl::parse(&settings.return_url).map(|u| u.origin()).unwrap_or_default();
        let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action {origin}");
        return crate::html_response_csp(
            crate::pages::auto_post_page(
                &nonce,
                &settings.return_url,
                &[("JWT".to_string(), jwt)],
                items.as_slice().len(),
            ),
            200,
            &csp,
        );
    }
    ok(json!({"jwt": jwt, "returnUrl": settings.return_url, "items": items.as_slice()}), 200)
}

/// `GET /lti/services/stats` (admin): this isolate's token cache counters.
pub fn stats() -> ApiResult<Response> {
    ok(serde_json::to_value(token_stats()).unwrap_or(Value::Null), 200)
}

/// Map a query string to a JSON object of its first values.
pub fn query_object(query: &str) -> Value {
    let mut o = serde_json::Map::new();
    for (k, v) in lti_core::encoding::form_decode(query) {
        o.entry(k).or_insert(Value::String(v));
    }
    Value::Object(o)
}
