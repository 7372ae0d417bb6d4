//! At launch: the platform's Caliper profile (KAF guide §9: `custom_caliper_profile_url`,
//! `custom_caliper_federated_session_id`), fetched server-to-server (https only, loopback http
//! in development, 16 KB, 5 s, no redirects), cached five minutes per registration and URL,
//! kept sealed with the session's who/where, linked to the session token by an id, and the
//! launch's `SessionEvent` `LoggedIn` queued. Nothing here fails a launch: a profile that cannot
//! be used is logged with its code and recorded for admins.

use lti_core::caliper::{urn_uuid, CaliperSession, EventStore, LaunchFacts, MAX_PROFILE_BYTES};
use lti_core::encoding::hex;
use lti_core::url::HttpUrl;
use lti_policy::session::SessionClaims;
use lti_policy::{ErrorCode, Registration};
use lti_webcrypto::random_bytes;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{enqueue, save_record, stats, QueuedEvent, Record, SEALED_LABEL};
use crate::clock::iso_now;
use crate::config::KV_BINDING;
use crate::http::outbound::{fetch, Outbound};
use crate::routes::Ctx;
use crate::{log, sealed};

/// Profile fetch timeout.
pub const PROFILE_TIMEOUT_MS: u32 = 5_000;
/// How long a fetched profile is reused.
pub const PROFILE_CACHE_SECS: u64 = 300;

/// The Caliper parameters of a launch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LaunchParams {
    /// `custom_caliper_profile_url`.
    pub profile_url: Option<String>,
    /// `custom_caliper_federated_session_id`.
    pub federated_session_id: Option<String>,
}

fn nonempty(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty() && s.len() <= 2048).map(str::to_string)
}

impl LaunchParams {
    /// From an LTI 1.3 launch's custom claim (keys with or without the `custom_` prefix).
    pub fn from_claims(claims: &Map<String, Value>) -> Self {
        let custom = claims.get("https://purl.imsglobal.org/spec/lti/claim/custom").and_then(Value::as_object);
        let get = |name: &str| {
            custom.and_then(|c| {
                nonempty(c.get(name).or_else(|| c.get(&format!("custom_{name}"))).and_then(Value::as_str))
            })
        };
        Self { profile_url: get("caliper_profile_url"), federated_session_id: get("caliper_federated_session_id") }
    }

    /// From an LTI 1.1 launch's form.
    pub fn from_form(form: &[(String, String)]) -> Self {
        let get = |name: &str| nonempty(form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()));
        Self {
            profile_url: get("custom_caliper_profile_url"),
            federated_session_id: get("custom_caliper_federated_session_id"),
        }
    }
}

/// Why a profile could not be used: (code, detail for the log and the admin view).
type Problem = (ErrorCode, String);

/// Discover the event store for a launch and link it to the session (`claims.caliper`); queue
/// the `LoggedIn` event. Does nothing without a profile URL or with Caliper switched off.
pub async fn at_launch(ctx: &Ctx<'_>, reg: &Registration, claims: &mut SessionClaims, params: &LaunchParams) {
    let Some(url) = params.profile_url.as_deref() else { return };
    if !reg.caliper {
        log::info(&ctx.cid, "caliper_off", json!({"registration": reg.id()}));
        return;
    }
    let store = match profile(ctx, reg, url).await {
        Ok(store) => store,
        Err((code, detail)) => {
            // The profile URL may carry a platform token in its query: log the origin only.
            let origin = HttpUrl::parse(url).map(|u| u.origin()).unwrap_or_default();
            let line = json!({"registration": reg.id(), "code": code.as_str(), "profile": origin, "why": detail});
            log::warn_fields(&ctx.cid, "caliper_profile_failed", &line);
            let (at, detail) = (iso_now(), format!("{origin}: {detail}"));
            stats::update_later(ctx.env, ctx.wctx, reg.id(), move |s| {
                s.profiles_failed += 1;
                s.error(&at, code.as_str(), detail.clone());
            });
            return;
        }
    };
    if !store.send_events {
        log::info(&ctx.cid, "caliper_send_events_false", json!({"registration": reg.id()}));
        return;
    }
    if let Err(e) = link(ctx, reg, claims, params, store).await {
        log::warn(&ctx.cid, "caliper_link_failed", &e.detail);
    }
}

/// Keep the session's record, put its id in the session, queue `LoggedIn`.
async fn link(
    ctx: &Ctx<'_>,
    reg: &Registration,
    claims: &mut SessionClaims,
    params: &LaunchParams,
    store: EventStore,
) -> crate::error::ApiResult<()> {
    let rand = |e: lti_core::crypto::CryptoError| crate::error::ApiError::internal(e.0);
    let session_id = hex(&random_bytes::<16>().map_err(rand)?);
    let started = iso_now();
    let base = ctx.cfg.base();
    let platform_user = Some(claims.lti_sub.as_str()).filter(|s| !s.is_empty());
    let facts = LaunchFacts {
        tool_base: &base,
        issuer: reg.lti().issuer().as_str(),
        platform_user_id: platform_user,
        name: claims.name.as_deref(),
        context_id: claims.context_id.as_deref(),
        context_title: claims.context_title.as_deref(),
        lti_roles: &claims.lti_roles,
        deployment_id: &claims.deployment_id,
        message_type: &claims.message_type,
        resource_link_id: claims.resource_link_id.as_deref(),
        federated_session_id: params.federated_session_id.as_deref(),
        session_id: &session_id,
        started: &started,
    };
    let session = CaliperSession::new(&facts, &store);
    let logged_in = session.logged_in(&urn_uuid(random_bytes::<16>().map_err(rand)?));
    let record = Record { registration: reg.id().to_string(), store, session };
    save_record(ctx.env, &ctx.cfg, &session_id, &record).await?;
    claims.caliper = Some(session_id.clone());
    let event = QueuedEvent { r: reg.id().to_string(), s: session_id, e: logged_in };
    enqueue(ctx.env, vec![event]).await?;
    log::info(&ctx.cid, "caliper_session", json!({"registration": reg.id()}));
    stats::update_later(ctx.env, ctx.wctx, reg.id(), |s| {
        s.profiles_ok += 1;
        s.accepted += 1;
    });
    Ok(())
}

/// The event store of `url` for this registration: cached (sealed, five minutes), else fetched.
async fn profile(ctx: &Ctx<'_>, reg: &Registration, url: &str) -> Result<EventStore, Problem> {
    let unreachable = |why: String| (ErrorCode::CaliperProfileUnreachable, why);
    let parsed = HttpUrl::parse(url)
        .and_then(|u| u.normalized())
        .map_err(|_| unreachable("custom_caliper_profile_url is not a URL".into()))?;
    parsed
        .require_secure(ctx.cfg.allow_http_loopback)
        .map_err(|_| unreachable("custom_caliper_profile_url is not https".into()))?;
    let target = parsed.to_string();
    let cache_key = format!("caliper:p:{}:{}", reg.id(), hex(&Sha256::digest(target.as_bytes())));
    let kv = ctx.env.kv(KV_BINDING).map_err(|e| unreachable(e.to_string()))?;
    if let Ok(Some(text)) = kv.get(&cache_key).text().await {
        if let Ok(plain) = sealed::open(&ctx.cfg, SEALED_LABEL, &text).await {
            if let Ok(store) = serde_json::from_slice::<EventStore>(&plain) {
                return Ok(store);
            }
        }
    }
    let answer = fetch(&Outbound {
        method: "GET",
        url: &target,
        headers: &[("accept", "application/json")],
        body: None,
        cap: MAX_PROFILE_BYTES,
        timeout_ms: PROFILE_TIMEOUT_MS,
        follow_redirects: false,
    })
    .await
    .map_err(unreachable)?;
    if answer.status != 200 {
        return Err(unreachable(format!("profile answered HTTP {}", answer.status)));
    }
    if answer.oversized {
        return Err(unreachable(format!("profile larger than {MAX_PROFILE_BYTES} bytes")));
    }
    let store = EventStore::parse(&answer.body, ctx.cfg.allow_http_loopback)
        .map_err(|e| (ErrorCode::CaliperProfileInvalid, e.to_string()))?;
    if let Ok(plain) = serde_json::to_vec(&store) {
        if let Ok(text) = sealed::seal(&ctx.cfg, SEALED_LABEL, &plain).await {
            if let Ok(put) = kv.put(&cache_key, text) {
                let _ = put.expiration_ttl(PROFILE_CACHE_SECS).execute().await;
            }
        }
    }
    Ok(store)
}
