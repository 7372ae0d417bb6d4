//! What every service route shares: the caller resolved to one context ([`Caller`]), the
//! context records launches leave (so the tool's server can call for a context), platform
//! access tokens (isolate memory, then KV sealed, then the token endpoint; one request in
//! flight per key), and the one call path to a platform service ([`call`], [`get_all`]).

use std::cell::RefCell;
use std::collections::HashMap;

use lti_core::encoding::{b64url_encode, form_encode, hex};
use lti_core::error::ServiceError;
use lti_core::jws::sign_rs256;
use lti_core::services::{
    self, client_assertion_claims, parse_json, parse_link_header, scope_string, token_cache_key, AccessToken, PageWalk,
    ServiceGrants, ServiceUrl, DEFAULT_PAGE_CAP, MAX_RESPONSE_BYTES,
};
use lti_policy::session::SessionClaims;
use lti_policy::ErrorCode;
use lti_policy::Registration;
use lti_webcrypto::random_bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use worker::Env;

use crate::auth::Credential;
use crate::clock::{now, now_ms, sleep_ms};
use crate::config::{Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::http::outbound as http;
use crate::routes::Ctx;
use crate::store::keyring;
use crate::store::registry::Registry;
use crate::{log, sealed};

pub fn svc_err(e: &ServiceError) -> ApiError {
    let mut err = ApiError::coded(e);
    err.fields = e.fields();
    err
}

pub fn bad_request(field: &str, why: &str) -> ApiError {
    ApiError::new(ErrorCode::RequestInvalid, format!("{field}: {why}")).with_field(field, why)
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
    pub fn staff(&self) -> bool {
        self.session.as_ref().is_none_or(|s| lti_policy::roles::is_staff(&s.role))
    }

    pub fn require_staff(&self) -> ApiResult<()> {
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
    pub fn scopes(&self) -> Vec<&str> {
        let mut v: Vec<&str> =
            self.svc.ags.as_ref().map(|a| a.scope.iter().map(String::as_str).collect()).unwrap_or_default();
        if self.svc.nrps.is_some() {
            v.push(services::SCOPE_NRPS);
        }
        v
    }

    pub fn ags(&self) -> ApiResult<&services::AgsGrant> {
        self.svc.ags.as_ref().ok_or_else(|| svc_err(&ServiceError::AgsScopeMissing("no AGS claim".into())))
    }

    /// One call to a platform service for this caller's context (see [`call`]).
    pub async fn call(
        &self,
        ctx: &Ctx<'_>,
        method: &str,
        url: &ServiceUrl,
        accept: &str,
        body: Option<(&str, String)>,
    ) -> ApiResult<http::Answer> {
        call(ctx.env, &ctx.cfg, &ctx.cid, &self.reg, &self.scopes(), method, url, accept, body).await
    }

    /// Every page from `first` (see [`get_all`]).
    pub async fn get_all(
        &self,
        ctx: &Ctx<'_>,
        first: &ServiceUrl,
        accept: &str,
        field: Option<&str>,
    ) -> ApiResult<(Vec<Value>, Value, PageWalk, Option<String>)> {
        get_all(ctx.env, &ctx.cfg, &ctx.cid, &self.reg, &self.scopes(), first, accept, field).await
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
    let now = now();
    let scope = scope_string(scopes);
    let lti = reg.lti();
    let key = token_cache_key(lti.issuer().as_str(), lti.client_id().as_str(), lti.auth_token_url().as_str(), &scope);
    let kv_key = format!("svctok:{key}");
    let kv = env.kv(KV_BINDING)?;
    if !fresh {
        if let Some(t) = remembered(&key, now) {
            return Ok(t);
        }
        if let Some(text) = kv.get(&kv_key).text().await? {
            if let Some(t) = decrypt_token(cfg, &text).await.filter(|t| t.fresh(now)) {
                STATS.with(|s| s.borrow_mut().kv_hits += 1);
                TOKENS.with(|m| m.borrow_mut().insert(key.clone(), t.clone()));
                return Ok(t.token);
            }
        }
    }
    if let Some(t) = wait_for_inflight(&key, now).await {
        return Ok(t);
    }
    let signer = keyring::signer(env, cfg).await?;
    INFLIGHT.with(|m| m.borrow_mut().insert(key.clone(), now_ms()));
    let result =
        fetch_token(signer, lti.client_id().to_string(), lti.auth_token_url().to_string(), scope.clone(), now).await;
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

/// A fresh token for `key` in this isolate's memory.
fn remembered(key: &str, now: i64) -> Option<String> {
    let t = TOKENS.with(|m| m.borrow().get(key).filter(|t| t.fresh(now)).map(|t| t.token.clone()))?;
    STATS.with(|s| s.borrow_mut().memory_hits += 1);
    Some(t)
}

/// One token request per key at a time in this isolate. Waiters poll the cache on a timer: a
/// promise started by another request cannot be awaited here (Workers ties I/O to the request
/// that started it). `None`: nothing in flight, or it died or hangs (fetch our own).
async fn wait_for_inflight(key: &str, now: i64) -> Option<String> {
    let started = now_ms();
    while let Some(since) = INFLIGHT.with(|m| m.borrow().get(key).copied()) {
        if now_ms() - since > 12_000.0 || now_ms() - started > 12_000.0 {
            return None;
        }
        sleep_ms(20).await;
        if let Some(t) = remembered(key, now) {
            return Some(t);
        }
    }
    None
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
    let key = token_cache_key(
        reg.lti().issuer().as_str(),
        reg.lti().client_id().as_str(),
        reg.lti().auth_token_url().as_str(),
        &scope_string(scopes),
    );
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

/// Map a query string to a JSON object of its first values.
pub fn query_object(query: &str) -> Value {
    let mut o = serde_json::Map::new();
    for (k, v) in lti_core::encoding::form_decode(query) {
        o.entry(k).or_insert(Value::String(v));
    }
    Value::Object(o)
}
