//! `POST /lti/launch` (and the KAF paths, and a module's own URL for LTI 1.1): the launch.
//! LTI 1.3: the state (signature, expiry, used once, cookie binding), the id_token (header,
//! platform key, signature), every claim, then who, which role, which module; LTI 1.1: OAuth
//! 1.0a (see [`crate::legacy`]). Either way the browser leaves with a signed session.

use lti_core::encoding::{form_decode, hex};
use lti_core::launch::{LaunchClaims, UnverifiedLaunch, ValidatedLaunch, VerifiedLaunch};
use lti_core::registration::DeploymentPolicy;
use lti_core::state::{cookie_value, Binding, ConsumedState, StateHandle};
use lti_core::url::HttpUrl;
use lti_policy::session::SessionClaims;
use lti_policy::{AccessError, Authorize, Coded, ErrorCode, Launch, Registration};
use lti_webcrypto::{random_bytes, WebCryptoVerifier};
use serde::Serialize;
use worker::{Request, Response};

use super::{session_redirect, storage, storage_target};
use crate::clock::{iso_now, now};
use crate::error::{ApiError, ApiResult};
use crate::http::body::read_text;
use crate::routes::services::caller::remember_context;
use crate::routes::Ctx;
use crate::store::inspector::{self, Attempt, Decided};
use crate::store::jwks;
use crate::store::registry::Registry;
use crate::store::state::StateStore;
use crate::{caliper, legacy, log};

/// The `launch` log line's fields, in name order (as the line has always listed them).
#[derive(Serialize)]
struct LaunchLine<'a> {
    binding: &'a str,
    clock_skew_s: i64,
    message_type: &'a str,
    module: &'a str,
    registration: &'a str,
    role: &'a str,
    store: &'a str,
    user_id_source: &'a str,
}

/// Accept a launch (1.3 id_token, or a 1.1 form).
pub async fn launch(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_text(req).await?;
    let form = form_decode(&body);
    if legacy::is_lti11(&form) {
        // LTI 1.1 on the same endpoint (KAF auto-detects the version the same way).
        return lti11(ctx, req, &body).await;
    }
    let field = |n: &str| form.iter().find(|(k, v)| k == n && !v.is_empty()).map(|(_, v)| v.as_str());
    let state = field("state").ok_or_else(|| ApiError::new(ErrorCode::LaunchParamMissing, "state missing"))?;
    let id_token = field("id_token").ok_or_else(|| ApiError::new(ErrorCode::LaunchParamMissing, "id_token missing"))?;
    let t = now();
    // 1. The state: signed, alive, used once, bound to this browser.
    let bound = claim_state(ctx, req, state, t).await?;
    // From here the registration is known: the attempt is kept for its inspector, admitted or
    // refused.
    let registration_id = bound.consumed.record().registration_id.clone();
    let mut attempt = Attempt::new(&ctx.cid, "1.3", t);
    let answer = accept(ctx, bound, id_token, t, &mut attempt).await;
    match &answer {
        Ok(_) => attempt.outcome = "admitted".into(),
        Err(e) => {
            attempt.outcome = "refused".into();
            attempt.code = Some(e.code.as_str().to_string());
        }
    }
    inspector::record(ctx.env, ctx.wctx, &ctx.cfg, &registration_id, attempt);
    answer
}

/// Steps 2–16 of a 1.3 launch whose state checked out; `attempt` gathers what the inspector
/// shows.
async fn accept(ctx: &Ctx<'_>, bound: Bound<'_>, id_token: &str, t: i64, attempt: &mut Attempt) -> ApiResult<Response> {
    let registry = Registry::new(ctx.env);
    let mut reg = registry.get(&bound.consumed.record().registration_id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::PlatformUnregistered, "registration deleted between login and launch")
    })?;
    // 2–4. Header (RS256, kid), platform key, signature.
    let verified = verify_token(ctx, &reg, id_token, t).await?;
    // The claims as signed (the token's payload segment, which the signature covers; validation
    // does not change them): shown whatever it decides. Read when the inspector is opened.
    attempt.claims_payload = id_token.split('.').nth(1).map(str::to_string);
    // 5–12. Every claim.
    let validated = verified.validate(&bound.consumed, &reg, t).map_err(|e| ApiError::coded(&e))?;
    attempt.message_type = validated.typed().message_type.as_str().to_string();
    attempt.deployment_id = validated.deployment_id().to_string();
    if validated.is_new_deployment()
        && reg.lti().deployment_policy() == DeploymentPolicy::AcceptAndRecord
        && registry.record_deployment(&reg, validated.deployment_id(), &iso_now()).await?
    {
        reg.record_deployment(validated.deployment_id());
        let fields = serde_json::json!({"registration": reg.id(), "deployment": validated.deployment_id()});
        log::info(&ctx.cid, "deployment_recorded", fields);
    }
    // 13–16. Who, role, module, category; then the tool session.
    let skew = validated.observed_skew();
    let origin = presentation_origin(validated.typed());
    let caliper_params = caliper::discovery::LaunchParams::from_claims(validated.claims());
    let launch = authorize(ctx, &reg, validated, &bound.consumed, attempt).await?;
    attempt.decided = Some(Decided::of(&launch));
    let jti = hex(&random_bytes::<12>().map_err(|e| ApiError::internal(e.0))?);
    let mut claims =
        SessionClaims::for_launch(&launch, &ctx.cfg.base(), bound.binding.as_str(), t, ctx.cfg.session_ttl, jti);
    claims.platform_origin = origin;
    caliper::discovery::at_launch(ctx, &reg, &mut claims, &caliper_params).await;
    remember_context(ctx.env, ctx.wctx, &claims);
    if bound.binding == Binding::StateOnly {
        if let Some(target) = storage_target(bound.consumed.record().storage_target.as_deref()) {
            // No cookie came back, but the login stored the binding secret in platform
            // storage: park the session and let the launch page read the secret back.
            let platform_origin =
                HttpUrl::parse(reg.lti().auth_login_url().as_str()).map(|u| u.origin()).unwrap_or_default();
            let hash = bound.consumed.record().cookie_hash.clone();
            return storage::park(ctx, &bound.store, claims, hash, target, &platform_origin, &bound.cookie_name, t)
                .await;
        }
    }
    let line = LaunchLine {
        binding: bound.binding.as_str(),
        clock_skew_s: skew,
        message_type: launch.message_type.as_str(),
        module: launch.module.code,
        registration: reg.id(),
        role: launch.role.as_str(),
        store: bound.store.kind(),
        user_id_source: launch.user_id_source.as_str(),
    };
    log::info_fields(&ctx.cid, "launch", &line);
    session_redirect(ctx, &claims, Some(&bound.cookie_name)).await
}

/// An LTI 1.1 launch: OAuth 1.0a, then the same session as 1.3.
async fn lti11(ctx: &Ctx<'_>, req: &Request, body: &str) -> ApiResult<Response> {
    let t = now();
    let mut attempt = Attempt::new(&ctx.cid, "1.1", t);
    let answer = legacy::launch(ctx, &req.inner().url(), body, t, &mut attempt).await;
    match &answer {
        Ok(_) => attempt.outcome = "admitted".into(),
        Err(e) => {
            attempt.outcome = "refused".into();
            attempt.code = Some(e.code.as_str().to_string());
        }
    }
    // An unknown consumer key is kept with the unknown platforms; a form without one, nowhere.
    if attempt.registration.is_some() || attempt.presented.is_some() {
        let registration = attempt.registration.clone().unwrap_or_default();
        inspector::record(ctx.env, ctx.wctx, &ctx.cfg, &registration, attempt);
    }
    let mut claims = answer?;
    let caliper_params = caliper::discovery::LaunchParams::from_form(&form_decode(body));
    if caliper_params.profile_url.is_some() {
        if let Some(reg) = Registry::new(ctx.env).get(&claims.platform_id).await? {
            caliper::discovery::at_launch(ctx, &reg, &mut claims, &caliper_params).await;
        }
    }
    let fields = serde_json::json!({
        "registration": claims.platform_id, "lti_version": "1.1", "module": claims.module, "role": claims.role,
        "user_id_source": claims.user_id_source,
    });
    log::info(&ctx.cid, "launch", fields);
    session_redirect(ctx, &claims, None).await
}

/// A state consumed for this launch, and how it was bound to the browser.
struct Bound<'a> {
    consumed: ConsumedState,
    binding: Binding,
    store: StateStore<'a>,
    cookie_name: String,
}

/// The state: signature and expiry, then marked used exactly once, in the store the login
/// named (a restart that switched `NONCE_STORE` neither refuses in-flight logins nor lets a
/// used state through), then the binding cookie.
async fn claim_state<'a>(ctx: &Ctx<'a>, req: &Request, state: &str, t: i64) -> ApiResult<Bound<'a>> {
    let key = ctx.cfg.state_key().ok_or_else(|| ApiError::new(ErrorCode::NotConfigured, "no key"))?;
    let handle = StateHandle::verify(state, &key, t).map_err(|e| ApiError::coded(&e))?;
    let cookie_name = handle.cookie_name();
    let store = StateStore::named(ctx.env, ctx.wctx, handle.store())
        .unwrap_or_else(|| StateStore::new(ctx.env, ctx.wctx, &ctx.cfg));
    let first_use = store.claim(&handle.store_key(), handle.exp(), t).await?;
    let consumed = handle.consumed(first_use).map_err(|e| ApiError::coded(&e))?;
    let cookie_header = req.headers().get("cookie").ok().flatten().unwrap_or_default();
    let binding = consumed.check_cookie(cookie_value(&cookie_header, &cookie_name)).map_err(|e| ApiError::coded(&e))?;
    Ok(Bound { consumed, binding, store, cookie_name })
}

/// The id_token's header, the platform key it names, its signature. A platform may have
/// re-used its kid for a new key: after a bad signature, one refetch of the key set (when the
/// cached one is old enough), then the verdict stands.
async fn verify_token(ctx: &Ctx<'_>, reg: &Registration, id_token: &str, t: i64) -> ApiResult<VerifiedLaunch> {
    let unverified = UnverifiedLaunch::parse(id_token).map_err(|e| ApiError::coded(&e))?;
    let url = reg.lti().keyset_url().as_str();
    let keys = jwks::key_set(ctx.env, ctx.wctx, url, unverified.kid(), t, &ctx.cid).await?;
    match unverified.clone().verify(&keys, &WebCryptoVerifier).await {
        Ok(v) => Ok(v),
        Err(e) if e.code() == ErrorCode::SignatureInvalid => {
            match jwks::after_bad_signature(ctx.env, ctx.wctx, url, unverified.kid(), &keys, &ctx.cid).await? {
                Some(newer) => unverified.verify(&newer, &WebCryptoVerifier).await.map_err(|e| ApiError::coded(&e)),
                None => Err(ApiError::coded(&e)),
            }
        }
        Err(e) => Err(ApiError::coded(&e)),
    }
}

/// Who, role, module, category (an upgraded 1.1 link keeps its 1.1 identity).
async fn authorize(
    ctx: &Ctx<'_>,
    reg: &Registration,
    validated: ValidatedLaunch,
    consumed: &ConsumedState,
    attempt: &mut Attempt,
) -> ApiResult<Launch> {
    let legacy_identity =
        legacy::migration(ctx.env, ctx.wctx, &ctx.cfg, reg, validated.claims(), &ctx.cid, iso_now).await?;
    // With the claims (kept since the signature verified), what the user-id suggestions read,
    // whether or not the launch is admitted below.
    attempt.lti11_user_id = legacy_identity.as_ref().map(|l| l.user_id.clone());
    attempt.legacy_identity = legacy_identity.is_some();
    let target = &consumed.record().target_link_uri;
    let authorized = match &legacy_identity {
        Some(identity) => validated.authorize_migrated(reg, &ctx.cfg.tool, target, identity),
        None => validated.authorize(reg, &ctx.cfg.tool, target),
    };
    authorized.map_err(|e| {
        let mut err = ApiError::coded(&e);
        if let AccessError::RoleUnmapped(roles) = &e {
            err.roles = Some(roles.clone());
        }
        err
    })
}

/// The origin the module page may talk to: the launch's return URL, else the platform URL.
fn presentation_origin(c: &LaunchClaims) -> Option<String> {
    let parse = |u: &Option<String>| u.as_deref().and_then(|u| HttpUrl::parse(u).ok());
    parse(&c.return_url).or_else(|| parse(&c.platform_url)).map(|u| u.origin())
}
