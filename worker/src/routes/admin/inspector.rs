//! The launch inspector (admin): a registration's newest launch attempts, the failed logins of
//! platforms nobody registered, the user-id suggestions read off one attempt, and applying one.

use lti_core::encoding::form_decode;
use lti_policy::user_id::{suggestions_knowing, UserIdRule};
use lti_policy::{ErrorCode, Registration};
use serde_json::{json, Value};
use worker::{Request, Response};

use crate::clock::{iso_now, now};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_API};
use crate::http::response::ok_json;
use crate::log;
use crate::routes::Ctx;
use crate::store::inspector::{self, Attempt};
use crate::store::registry::Registry;

async fn registration(ctx: &Ctx<'_>) -> ApiResult<Registration> {
    Registry::new(ctx.env)
        .get(&ctx.params.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "registration not found"))
}

/// `GET /lti/platforms/{id}/launches`: the newest attempts, newest first.
pub async fn launches(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let reg = registration(ctx).await?;
    let attempts = inspector::list(ctx.env, &ctx.cfg, reg.id(), now()).await?;
    ok_json(
        json!({
            "registration": {"id": reg.id(), "name": reg.name, "userIdRule": UserIdRule::of(&reg)},
            "attempts": attempts.iter().map(Attempt::public_json).collect::<Vec<_>>(),
            "max": ctx.cfg.inspector.max_attempts,
            "retentionHours": ctx.cfg.inspector.retention_secs / 3600,
        }),
        200,
    )
}

/// What to create for an unknown platform's failed attempt.
fn what_to_create(a: &Attempt) -> String {
    let get =
        |k: &str| a.presented.as_ref().and_then(|p| p.get(k)).and_then(Value::as_str).unwrap_or_default().to_string();
    if !get("consumerKey").is_empty() {
        return format!(
            "An LTI 1.1 registration with lti11ConsumerKey \"{}\" and that LMS's shared secret (lti11Secret).",
            get("consumerKey")
        );
    }
    let client = get("clientId");
    let client = if client.is_empty() {
        "the client id the LMS shows for this tool (the LMS sent none at login)".to_string()
    } else {
        format!("client id \"{client}\"")
    };
    let deployment = get("deploymentId");
    let deployment = if deployment.is_empty() { String::new() } else { format!(", deployment id \"{deployment}\"") };
    format!(
        "An LTI 1.3 registration with issuer \"{}\", {client}{deployment}: start from the LMS's preset.",
        get("issuer")
    )
}

/// `GET /lti/launches/unknown`: failed logins and LTI 1.1 launches of platforms no registration
/// names, newest first, each with what to create.
pub async fn unknown(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let attempts = inspector::list(ctx.env, &ctx.cfg, "", now()).await?;
    let shown: Vec<Value> = attempts
        .iter()
        .map(|a| {
            let mut v = a.public_json();
            if let Some(o) = v.as_object_mut() {
                o.insert("whatToCreate".into(), Value::String(what_to_create(a)));
            }
            v
        })
        .collect();
    ok_json(
        json!({"attempts": shown, "max": ctx.cfg.inspector.max_attempts,
               "retentionHours": ctx.cfg.inspector.retention_secs / 3600}),
        200,
    )
}

/// `GET /lti/platforms/{id}/user-id-suggestions[?attempt=<id>]`: from one attempt (default: the
/// newest that carried claims), every attribute that could be the user id, its value and the
/// exact configuration that selects it — decided by the code launches use — and what the
/// registration's own rule gives for it.
pub async fn user_id_suggestions(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let reg = registration(ctx).await?;
    let wanted = form_decode(&ctx.query).into_iter().find(|(k, _)| k == "attempt").map(|(_, v)| v);
    let attempts = inspector::list(ctx.env, &ctx.cfg, reg.id(), now()).await?;
    let found = match &wanted {
        Some(id) => attempts.iter().find(|a| &a.id == id && a.claims.is_some()),
        None => attempts.iter().find(|a| a.claims.is_some()),
    };
    let Some((attempt, claims)) = found.and_then(|a| a.claims.as_ref().map(|c| (a, c))) else {
        let hint = match wanted {
            Some(_) => "That attempt is not kept (or carried no verified claims): pick one from GET /lti/platforms/{id}/launches.",
            None => "No launch from this LMS in the kept window: launch the tool once, then ask again.",
        };
        return ok_json(
            json!({"launch": null, "current": {"configuration": UserIdRule::of(&reg)}, "suggestions": [], "hint": hint}),
            200,
        );
    };
    let legacy = attempt.legacy();
    let current = match lti_policy::authorize::decide_user_id(claims, &reg, legacy.as_ref()) {
        Ok((user_id, source)) => json!({"configuration": UserIdRule::of(&reg), "userId": user_id, "source": source}),
        Err(e) => json!({"configuration": UserIdRule::of(&reg), "error": lti_policy::Coded::code(&e).as_str()}),
    };
    // LTI 1.1 user ids this registration's people are known by: the attempt's own (a 1.1 launch,
    // or an accepted lti1p1 claim) and those of the kept 1.1 launches.
    let known_lti11: Vec<&str> = std::iter::once(attempt)
        .chain(attempts.iter().filter(|a| a.lti_version == "1.1"))
        .filter_map(|a| a.lti11_user_id.as_deref())
        .collect();
    ok_json(
        json!({
            "launch": {"attempt": attempt.id, "at": attempt.at, "ltiVersion": attempt.lti_version,
                       "deploymentId": attempt.deployment_id, "messageType": attempt.message_type,
                       "outcome": attempt.outcome, "code": attempt.code,
                       "lti11UserIdAccepted": attempt.legacy_identity, "lti11UserIdKnown": attempt.lti11_user_id.is_some(),
                       "lti11UserIdsFromOtherLaunches": known_lti11.len().saturating_sub(usize::from(attempt.lti11_user_id.is_some()))},
            "current": current,
            "suggestions": suggestions_knowing(claims, &reg, legacy.as_ref(), &known_lti11),
        }),
        200,
    )
}

/// `PUT /lti/platforms/{id}/user-id-rule`: set the registration's user-id rule (the three fields;
/// absent ones are cleared) — what "apply" on a suggestion sends. Nothing else changes.
pub async fn set_user_id_rule(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_API).await?;
    let reg = Registry::new(ctx.env)
        .set_user_id_rule(&ctx.params.id, &body, &iso_now())
        .await
        .map_err(|mut e| {
            if e.code == ErrorCode::RegistrationInvalid {
                e.code = ErrorCode::RequestInvalid;
            }
            e
        })?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "registration not found"))?;
    log::info(&ctx.cid, "user_id_rule_set", json!({"registration": reg.id()}));
    ok_json(json!({"id": reg.id(), "userIdRule": UserIdRule::of(&reg)}), 200)
}
