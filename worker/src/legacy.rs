//! LTI 1.1 beside 1.3: OAuth 1.0a launches on the same endpoints, Basic Outcomes behind the
//! AGS-shaped API, ContentItemSelection, the `lti1p1` migration check of 1.3 launches and its
//! admin report. Protocol decisions are in `lti-legacy`; this module does the I/O.

use lti_legacy::content_item::{signed_selection, ContentItem, ItemKind, PlacementAdvice, Thumbnail};
use lti_legacy::migration::{self, Lti1p1Check};
use lti_legacy::oauth1::{ConsumerSecret, NonceCheck, RequestUrl, Signer, UnverifiedRequest};
use lti_legacy::outcomes::{self, Score};
use lti_legacy::params::{ContentItemSettings, Lti11Launch, ParseOptions};
use lti_policy::session::SessionClaims;
use lti_policy::ErrorCode;
use lti_policy::{MismatchPolicy, Registration};
use serde_json::{json, Value};
use worker::{Env, Response};

use crate::clock::now;
use crate::config::{Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::http::outbound as http;
use crate::http::response::ok_json;
use crate::store::inspector::{Attempt, Decided};
use crate::store::registry::Registry;
use crate::store::state::StateStore;
use crate::{log, sealed};
use lti_core::deep_linking::ContentItemInput;
use lti_core::encoding::{b64url_encode, hex};
use lti_webcrypto::random_bytes;

// ------------------------------------------------------------------ the 1.1 secret at rest

/// Encrypt a new 1.1 secret (`iv.ciphertext`, base64url).
pub async fn encrypt_secret(cfg: &Config, plain: &str) -> ApiResult<String> {
    sealed::seal(cfg, sealed::LTI11_SECRETS, plain.as_bytes()).await
}

/// The registration's 1.1 secret, decrypted.
pub async fn secret(cfg: &Config, reg: &Registration) -> ApiResult<Option<ConsumerSecret>> {
    if reg.lti11_secret_enc.is_empty() {
        return Ok(None);
    }
    let plain = sealed::open(cfg, sealed::LTI11_SECRETS, &reg.lti11_secret_enc).await?;
    Ok(Some(ConsumerSecret::new(String::from_utf8(plain).map_err(|_| ApiError::internal("secret utf-8"))?)))
}

/// Whether a form is an LTI 1.1 launch.
pub fn is_lti11(form: &[(String, String)]) -> bool {
    form.iter().any(|(k, _)| k == "oauth_consumer_key") && form.iter().any(|(k, _)| k == "lti_message_type")
}

// ------------------------------------------------------------------ launch

/// An OAuth 1.0a launch: verified over the configured public URL, nonce used once, then the
/// same session as 1.3. Returns the session claims for the caller to sign and redirect;
/// `attempt` gathers what the launch inspector shows.
pub async fn launch(
    ctx: &crate::routes::Ctx<'_>,
    raw_url: &str,
    body: &str,
    now: i64,
    attempt: &mut Attempt,
) -> ApiResult<SessionClaims> {
    let (env, wctx, cfg, path) = (ctx.env, ctx.wctx, &ctx.cfg, ctx.path.as_str());
    let url = RequestUrl::public(&cfg.base(), raw_url).map_err(|e| ApiError::coded(&e))?;
    let unverified = UnverifiedRequest::from_form("POST", &url, body).map_err(|e| ApiError::coded(&e))?;
    let registry = Registry::new(env);
    let reg = registry.by_consumer_key(unverified.consumer_key()).await?;
    attempt.registration = reg.as_ref().map(|r| r.id().to_string());
    if reg.is_none() {
        let key: String = unverified.consumer_key().chars().take(300).collect();
        attempt.presented = Some(serde_json::Map::from_iter([("consumerKey".to_string(), Value::String(key))]));
    }
    let secret = match &reg {
        Some(r) => secret(cfg, r).await?,
        None => None,
    };
    let verified = unverified.verify(secret.as_ref(), now).map_err(|e| ApiError::coded(&e))?;
    let reg = reg.ok_or_else(|| ApiError::new(ErrorCode::OauthSignatureInvalid, "unknown consumer key"))?;
    let store = StateStore::new(env, wctx, cfg);
    let first = store.claim(&format!("oauthnonce:{}", verified.nonce_key()), verified.nonce_expires_at(), now).await?;
    let request = verified
        .confirm_nonce(if first { NonceCheck::FirstUse } else { NonceCheck::SeenBefore })
        .map_err(|e| ApiError::coded(&e))?;
    let opts = ParseOptions { blackboard_base64: reg.platform_family == "blackboard" };
    let params = Lti11Launch::from_request(request, opts).map_err(|e| ApiError::coded(&e))?;
    // What the inspector shows and the user-id suggestions read: the parameters as the 1.3
    // claims the user-id rules run over.
    attempt.claims = Some(params.to_lti13_claims());
    attempt.lti11_user_id = params.user_id.clone().filter(|u| !u.is_empty());
    attempt.message_type = params.message_type.as_str().to_string();
    attempt.deployment_id = reg.lti11_deployment().to_string();
    let launch = params.authorize(&reg, path).map_err(|e| {
        let mut a = ApiError::coded(&e);
        if let lti_policy::AccessError::RoleUnmapped(roles) = &e {
            a.roles = Some(roles.clone());
        }
        a
    })?;
    attempt.decided = Some(Decided::of(&launch));
    let jti = hex(&random_bytes::<12>().map_err(|e| ApiError::internal(e.0))?);
    let mut claims = SessionClaims::for_launch(&launch, &cfg.base(), "oauth1", now, cfg.session_ttl, jti);
    let mut extra = serde_json::Map::new();
    if let Some(o) = &params.outcome_service {
        extra.insert("outcome".into(), json!({"url": o.service_url, "sourcedid": o.result_sourcedid}));
    }
    if let Some(ci) = &params.content_item {
        extra.insert(
            "contentItem".into(),
            json!({
                "return_url": ci.return_url, "accept_media_types": ci.accept_media_types,
                "accept_presentation_document_targets": ci.accept_presentation_document_targets, "accept_multiple": ci.accept_multiple,
                "accept_unsigned": ci.accept_unsigned, "auto_create": ci.auto_create, "data": ci.data,
            }),
        );
    }
    if !extra.is_empty() {
        claims.lti11 = Some(Value::Object(extra));
    }
    Ok(claims)
}

// ------------------------------------------------------------------ 1.3 launches: lti1p1

/// The migration check of a validated 1.3 launch: `Some(identity)` when the 1.1 identity is to
/// be kept (verified, or trusted by policy), `None` for the plain 1.3 identity; refused by
/// policy → `lti11_migration_mismatch`. Claims and mismatches are recorded for the report.
pub async fn migration(
    env: &Env,
    wctx: &worker::Context,
    cfg: &Config,
    reg: &Registration,
    claims: &serde_json::Map<String, Value>,
    cid: &str,
    now_iso: fn() -> String,
) -> ApiResult<Option<lti_policy::LegacyIdentity>> {
    // Only registrations that carry a 1.1 consumer key are upgrades; others are plain 1.3
    // (their user-id rules may still read the claim, e.g. lti13UserIdClaim = …/lti1p1).
    if !claims.contains_key(lti_core::claims::LTI1P1) || reg.lti11_consumer_key.is_empty() {
        return Ok(None);
    }
    let now_iso = &now_iso(); // the clock is read only for a launch that has the claim
                              // The claim must name this registration's consumer key to be checked with its secret.
    let claim = migration::Lti1p1Claim::from_claims(claims);
    let ours = claim.as_ref().and_then(|c| c.oauth_consumer_key.as_deref()) == Some(reg.lti11_consumer_key.as_str())
        && !reg.lti11_consumer_key.is_empty();
    let secret = if ours { secret(cfg, reg).await? } else { None };
    let check = migration::check(claims, reg.lti().client_id().as_str(), secret.as_ref());
    let identity = |c: &migration::Lti1p1Claim| {
        c.user_id.clone().map(|u| lti_policy::LegacyIdentity { user_id: u, context_id: c.context_id.clone() })
    };
    // An unsigned claim that names a 1.1 user is unproven: it goes through the same policy as
    // a signature that does not verify (Blackboard sends no signature; a silent plain-1.3
    // identity would be a second user).
    let unproven = match &check {
        Lti1p1Check::Verified(_) => None,
        Lti1p1Check::Absent(Some(c)) if c.user_id.is_some() => Some((c, "unsigned")),
        Lti1p1Check::Absent(_) => None,
        Lti1p1Check::Mismatch(c, reason) => Some((c, reason.as_str())),
    };
    let (result, mismatch) = match (&check, unproven) {
        (Lti1p1Check::Verified(c), _) => (Ok(identity(c)), None),
        (_, None) => (Ok(None), None),
        (_, Some((c, reason))) => {
            let r = match reg.lti11_mismatch_policy {
                MismatchPolicy::Refuse => {
                    Err(ApiError::new(ErrorCode::Lti11MigrationMismatch, format!("lti1p1 claim: {reason}")))
                }
                MismatchPolicy::TrustPlatform => Ok(identity(c)),
                MismatchPolicy::NewIdentity => Ok(None),
            };
            (r, Some((reason, c.oauth_consumer_key.clone().unwrap_or_default())))
        }
    };
    let check_name = if mismatch.is_some() { "mismatch" } else { check.as_str() };
    log::info(
        cid,
        "lti1p1_claim",
        json!({"registration": reg.id(), "check": check_name, "policy": reg.lti11_mismatch_policy.as_str()}),
    );
    record(env, wctx, reg.id(), check_name, mismatch, reg.lti11_mismatch_policy.as_str(), now_iso);
    result
}

fn report_key(reg_id: &str) -> String {
    format!("upgrade:{reg_id}")
}

/// Count the check in the registration's upgrade report (in the background).
fn record(
    env: &Env,
    wctx: &worker::Context,
    reg_id: &str,
    check: &str,
    mismatch: Option<(&str, String)>,
    policy: &str,
    now_iso: &str,
) {
    let Ok(kv) = env.kv(KV_BINDING) else { return };
    let key = report_key(reg_id);
    let check = check.to_string();
    let mismatch = mismatch.map(|(r, k)| json!({"at": now_iso, "reason": r, "policy": policy, "consumerKey": k}));
    wctx.wait_until(async move {
        let mut report: Value = match kv.get(&key).text().await {
            Ok(Some(t)) => serde_json::from_str(&t).unwrap_or_else(|_| json!({})),
            _ => json!({}),
        };
        if let Some(o) = report.as_object_mut() {
            let field = match check.as_str() {
                "verified" => "verified",
                "mismatch" => "mismatched",
                _ => "absent",
            };
            let n = o.get(field).and_then(Value::as_u64).unwrap_or(0) + 1;
            o.insert(field.into(), json!(n));
            if let Some(m) = mismatch {
                o.insert("lastMismatch".into(), m);
            }
        }
        if let Ok(put) = kv.put(&key, report.to_string()) {
            let _ = put.execute().await;
        }
    });
}

/// The upgrade report of a registration (`GET /lti/platforms/{id}/upgrade-report`).
pub async fn report(env: &Env, reg_id: &str) -> ApiResult<Value> {
    if Registry::new(env).get(reg_id).await?.is_none() {
        return Err(ApiError::new(ErrorCode::NotFound, "registration not found"));
    }
    let text = env.kv(KV_BINDING)?.get(&report_key(reg_id)).text().await?;
    let mut report: Value = text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| json!({}));
    if let Some(o) = report.as_object_mut() {
        for f in ["verified", "mismatched", "absent"] {
            o.entry(f).or_insert(json!(0));
        }
        o.entry("lastMismatch").or_insert(Value::Null);
    }
    Ok(report)
}

// ------------------------------------------------------------------ Basic Outcomes

/// The launch's outcome service, when it is one we may call with the 1.1 secret: https (or
/// http on loopback), in normal form — the URL that is signed and sent.
fn outcome_of(s: &SessionClaims) -> Option<(String, String)> {
    let o = s.lti11.as_ref()?.get("outcome")?;
    let url = lti_core::services::ServiceUrl::parse(o.get("url")?.as_str()?).ok()?;
    Some((url.as_str().to_string(), o.get("sourcedid")?.as_str()?.to_string()))
}

/// One POX request to the outcome service, signed with the OAuth body hash; the parsed reply.
async fn outcome_call(
    cfg: &Config,
    reg: &Registration,
    url: &str,
    xml: &str,
    cid: &str,
) -> ApiResult<outcomes::OutcomeReply> {
    let secret = secret(cfg, reg).await?.ok_or_else(|| ApiError::new(ErrorCode::AgsNotEnabled, "no 1.1 secret"))?;
    let signer = Signer::new(&reg.lti11_consumer_key, &secret);
    let target = RequestUrl::parse(url).map_err(|e| ApiError::coded(&e))?;
    let nonce = b64url_encode(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let auth = signer.sign_body("POST", &target, xml.as_bytes(), now(), &nonce);
    let answer = http::send(
        "POST",
        url,
        &[("authorization", &auth), ("content-type", outcomes::CONTENT_TYPE), ("accept", "application/xml")],
        Some(xml),
        256 * 1024,
    )
    .await
    .map_err(|e| ApiError::new(ErrorCode::PlatformServiceFailed, e))?;
    if answer.oversized {
        return Err(ApiError::new(ErrorCode::PlatformResponseInvalid, "outcome reply too large"));
    }
    if answer.status >= 400 && answer.body.is_empty() {
        log::warn(cid, "outcome_call_failed", &format!("status {}", answer.status));
        return Err(ApiError::new(ErrorCode::PlatformServiceFailed, format!("status {}", answer.status)));
    }
    let text = String::from_utf8(answer.body)
        .map_err(|_| ApiError::new(ErrorCode::PlatformResponseInvalid, "reply not utf-8"))?;
    outcomes::parse_reply(&text).map_err(|e| {
        log::warn(cid, "outcome_refused", &e.to_string());
        ApiError::coded(&e)
    })
}

fn message_id() -> ApiResult<String> {
    Ok(hex(&random_bytes::<12>().map_err(|e| ApiError::internal(e.0))?))
}

/// `POST /lti/ags/scores` for a 1.1 session: replaceResult.
pub async fn post_score(env: &Env, cfg: &Config, cid: &str, s: &SessionClaims, body: &Value) -> ApiResult<Response> {
    let reg = registration(env, s).await?;
    let (url, sourcedid) =
        outcome_of(s).ok_or_else(|| ApiError::new(ErrorCode::AgsNotEnabled, "1.1 launch without outcome service"))?;
    if let Some(u) = body.get("userId").and_then(Value::as_str) {
        if u != s.lti_sub {
            // The sourcedid is this user's: a 1.1 session can only grade itself.
            return Err(ApiError::new(ErrorCode::RoleForbidden, "1.1 outcome for another user"));
        }
    }
    let num = |k: &str| body.get(k).and_then(Value::as_f64);
    let score = match (num("scoreGiven"), num("scoreMaximum")) {
        (Some(g), Some(m)) => Score::normalise(g, m),
        (Some(g), None) => Score::fraction(g),
        _ => {
            return Err(ApiError::new(ErrorCode::ScoreInvalid, "no score")
                .with_field("scoreGiven", "required (with scoreMaximum) for LTI 1.1 outcomes"));
        }
    }
    .map_err(|e| ApiError::coded(&e).with_field("scoreGiven", "between 0 and scoreMaximum (> 0)"))?;
    let comment = body.get("comment").and_then(Value::as_str);
    let xml = outcomes::replace_result(&message_id()?, &sourcedid, score, comment).map_err(|e| ApiError::coded(&e))?;
    outcome_call(cfg, &reg, &url, &xml, cid).await?;
    log::info(cid, "outcome_posted", json!({"registration": reg.id(), "operation": "replaceResult"}));
    ok_json(json!({"posted": true, "userId": s.lti_sub, "outcome": "replaceResult", "score": score.value()}), 200)
}

/// `GET /lti/ags/results` for a 1.1 session: readResult.
pub async fn read_score(env: &Env, cfg: &Config, cid: &str, s: &SessionClaims) -> ApiResult<Response> {
    let reg = registration(env, s).await?;
    let (url, sourcedid) =
        outcome_of(s).ok_or_else(|| ApiError::new(ErrorCode::AgsNotEnabled, "1.1 launch without outcome service"))?;
    let xml = outcomes::read_result(&message_id()?, &sourcedid).map_err(|e| ApiError::coded(&e))?;
    let reply = outcome_call(cfg, &reg, &url, &xml, cid).await?;
    let results: Vec<Value> =
        reply.score.map(|v| json!({"userId": s.lti_sub, "resultScore": v, "resultMaximum": 1})).into_iter().collect();
    ok_json(json!({"results": results}), 200)
}

/// `DELETE /lti/ags/scores` for a 1.1 session: deleteResult.
pub async fn delete_score(env: &Env, cfg: &Config, cid: &str, s: &SessionClaims) -> ApiResult<Response> {
    let reg = registration(env, s).await?;
    let (url, sourcedid) =
        outcome_of(s).ok_or_else(|| ApiError::new(ErrorCode::AgsNotEnabled, "1.1 launch without outcome service"))?;
    let xml = outcomes::delete_result(&message_id()?, &sourcedid).map_err(|e| ApiError::coded(&e))?;
    outcome_call(cfg, &reg, &url, &xml, cid).await?;
    ok_json(json!({"deleted": true, "userId": s.lti_sub}), 200)
}

async fn registration(env: &Env, s: &SessionClaims) -> ApiResult<Registration> {
    Registry::new(env)
        .get(&s.platform_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::PlatformUnregistered, "registration deleted since the launch"))
}

// ------------------------------------------------------------------ ContentItemSelection

/// The signed ContentItemSelection form for a 1.1 content-item session: (action, fields).
pub async fn content_items(
    env: &Env,
    cfg: &Config,
    s: &SessionClaims,
    inputs: &[ContentItemInput],
) -> ApiResult<(String, Vec<(String, String)>)> {
    let ci = s
        .lti11
        .as_ref()
        .and_then(|l| l.get("contentItem"))
        .ok_or_else(|| ApiError::new(ErrorCode::DeepLinkSessionRequired, "not a content-item session"))?;
    let strings = |k: &str| -> Vec<String> {
        ci.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let flag = |k: &str| ci.get(k).and_then(Value::as_bool).unwrap_or(false);
    let settings = ContentItemSettings {
        return_url: ci.get("return_url").and_then(Value::as_str).unwrap_or_default().to_string(),
        accept_media_types: strings("accept_media_types"),
        accept_presentation_document_targets: strings("accept_presentation_document_targets"),
        accept_multiple: flag("accept_multiple"),
        accept_unsigned: flag("accept_unsigned"),
        auto_create: flag("auto_create"),
        title: None,
        text: None,
        data: ci.get("data").and_then(Value::as_str).map(str::to_string),
    };
    if inputs.is_empty() || inputs.len() > lti_core::deep_linking::MAX_ITEMS {
        let e = ApiError::new(ErrorCode::DeepLinkInvalid, "item count");
        return Err(e.with_field("contents", "send 1 to 50 items"));
    }
    let launch_url = format!("{}/lti/launch", cfg.base());
    let items =
        inputs.iter().enumerate().map(|(i, it)| content_item(i, it, &launch_url)).collect::<ApiResult<Vec<_>>>()?;
    let reg = registration(env, s).await?;
    let secret =
        secret(cfg, &reg).await?.ok_or_else(|| ApiError::new(ErrorCode::DeepLinkSessionRequired, "no 1.1 secret"))?;
    let signer = Signer::new(&reg.lti11_consumer_key, &secret);
    let nonce = b64url_encode(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let form = signed_selection(&settings, &items, &signer, now(), &nonce)
        .map_err(|e| ApiError::coded(&e).with_field("contents", e.to_string()))?;
    Ok((form.action, form.fields))
}

/// One item of the tool's selection as an LTI 1.1 content item (`LtiLinkItem` or
/// `ContentItem`), with entry id and duration as custom parameters.
fn content_item(i: usize, it: &ContentItemInput, launch_url: &str) -> ApiResult<ContentItem> {
    let invalid = |field: &str, why: &str| {
        ApiError::new(ErrorCode::DeepLinkInvalid, field.to_string()).with_field(format!("contents[{i}].{field}"), why)
    };
    let title = it.title.as_deref().map(str::trim).unwrap_or_default();
    if title.is_empty() || title.chars().count() > lti_core::deep_linking::MAX_TITLE_CHARS {
        return Err(invalid("title", "1 to 500 characters"));
    }
    let kind = match it.kind.as_str() {
        "ltiResourceLink" => ItemKind::LtiLink,
        "link" | "file" | "image" => {
            let default = if it.kind == "image" { "image/*" } else { "text/html" };
            ItemKind::Content { media_type: it.media_type.clone().unwrap_or_else(|| default.into()) }
        }
        _ => return Err(invalid("type", "ltiResourceLink, link, image or file for LTI 1.1")),
    };
    let url = match (&kind, &it.url) {
        (_, Some(u)) => u.clone(),
        (ItemKind::LtiLink, None) => launch_url.to_string(),
        _ => return Err(invalid("url", "required for this type")),
    };
    let mut custom = it.custom.clone().unwrap_or_default();
    if let Some(id) = &it.entry_id {
        custom.insert("entry_id".into(), id.clone());
    }
    if let Some(d) = it.duration {
        let text = if d.fract() == 0.0 && (0.0..1e15).contains(&d) {
            (d as u64).to_string()
        } else {
            serde_json::Number::from_f64(d).map(|n| n.to_string()).unwrap_or_default()
        };
        custom.insert("duration".into(), text);
    }
    let thumb = it.thumbnail.as_ref().and_then(|t| t.url.clone()).or_else(|| it.thumbnail_url.clone());
    Ok(ContentItem {
        kind,
        url,
        title: Some(title.to_string()),
        text: it.text.clone(),
        thumbnail: thumb.map(|u| Thumbnail {
            url: u,
            width: it.thumbnail.as_ref().and_then(|t| t.width),
            height: it.thumbnail.as_ref().and_then(|t| t.height),
        }),
        placement: (it.width.is_some() || it.height.is_some()).then(|| PlacementAdvice {
            presentation_document_target: "iframe".into(),
            display_width: it.width,
            display_height: it.height,
        }),
        custom,
    })
}
