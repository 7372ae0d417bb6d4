//! `/lti/platforms`: platform registrations.

use lti_core::registration::uuid_v4;
use lti_policy::ErrorCode;
use lti_policy::Registration;
use lti_webcrypto::random_bytes;
use serde_json::{json, Value};
use worker::{Request, Response};

use crate::clock::iso_now;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_REGISTRATION};
use crate::http::response::ok_json;
use crate::routes::Ctx;
use crate::store::registry::Registry;
use crate::{legacy, log};

/// `GET /lti/platforms`.
pub async fn list(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let regs = Registry::new(ctx.env).list().await?;
    ok_json(regs.iter().map(Registration::public_json).collect::<Vec<Value>>(), 200)
}

/// `POST /lti/platforms`: create, or update the registration with the same issuer and client
/// id (or `id`).
pub async fn upsert(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_REGISTRATION).await?;
    // Field errors come from the same validation the registry runs.
    let secret_enc = sealed_new_secret(ctx, &body).await?;
    let id = uuid_v4(random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let up = Registry::new(ctx.env).upsert(&body, &id, &iso_now(), ctx.cfg.allow_http_loopback, secret_enc).await?;
    let reg = up.registration;
    log::info(&ctx.cid, "registration_saved", json!({"id": reg.id(), "updated": !up.created}));
    ok_json(reg.public_json(), if up.created { 201 } else { 200 })
}

/// `PUT /lti/platforms/{id}`: replace that registration with the body (every field may change,
/// issuer and client id too; the 1.1 secret stays unless a new one is given).
pub async fn update(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_REGISTRATION).await?;
    let secret_enc = sealed_new_secret(ctx, &body).await?;
    let reg = Registry::new(ctx.env)
        .update(&ctx.params.id, &body, &iso_now(), ctx.cfg.allow_http_loopback, secret_enc)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "registration not found"))?;
    log::info(&ctx.cid, "registration_saved", json!({"id": reg.id(), "updated": true}));
    ok_json(reg.public_json(), 200)
}

/// A new LTI 1.1 secret in a registration body, sealed here (WebCrypto) so the registry object
/// stores only its sealed form; a bad one is left for the validator to name.
async fn sealed_new_secret(ctx: &Ctx<'_>, body: &Value) -> ApiResult<Option<String>> {
    match body.get("lti11Secret").and_then(Value::as_str) {
        Some(plain) if (8..=255).contains(&plain.chars().count()) => {
            Ok(Some(legacy::encrypt_secret(&ctx.cfg, plain).await?))
        }
        _ => Ok(None),
    }
}

/// `GET /lti/platforms/{id}`.
pub async fn get(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    match Registry::new(ctx.env).get(&ctx.params.id).await? {
        Some(reg) => ok_json(reg.public_json(), 200),
        None => Err(ApiError::new(ErrorCode::NotFound, "registration not found")),
    }
}

/// `DELETE /lti/platforms/{id}`.
pub async fn delete(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    if Registry::new(ctx.env).delete(&ctx.params.id).await? {
        crate::store::inspector::forget(ctx.env, &ctx.params.id).await?;
        return ok_json(json!({"id": ctx.params.id, "deleted": true}), 200);
    }
    Err(ApiError::new(ErrorCode::NotFound, "registration not found"))
}

/// `GET /lti/platforms/{id}/setup`: the paste sheet of the registration's LMS (its
/// `platformFamily`, `other` when none), with the registration's own ids and the custom
/// parameters its user-id rule needs the LMS to send.
pub async fn setup(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let reg = Registry::new(ctx.env)
        .get(&ctx.params.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "registration not found"))?;
    let family = if reg.platform_family.is_empty() { "other" } else { reg.platform_family.as_str() };
    let lms = lti_policy::setup::lms(family).ok_or_else(|| ApiError::internal("no sheet for a known family"))?;
    let mut sheet = lti_policy::setup::paste_sheet(&ctx.cfg.base(), lms);
    let rule_params = lti_policy::setup::custom_parameters_for(
        &reg.lti_user_id_attribute,
        &reg.lti13_user_id_claim,
        &reg.lti13_user_id_claim_property,
    );
    let lti = reg.lti();
    if let Some(o) = sheet.as_object_mut() {
        o.insert(
            "registration".into(),
            json!({
                "id": reg.id(), "name": reg.name, "issuer": lti.issuer().as_str(), "clientId": lti.client_id().as_str(),
                "deploymentIds": lti.deployment_ids().iter().map(|d| d.as_str()).collect::<Vec<_>>(),
                "userIdRule": {"ltiUserIdAttribute": reg.lti_user_id_attribute, "lti13UserIdClaim": reg.lti13_user_id_claim,
                               "lti13UserIdClaimProperty": reg.lti13_user_id_claim_property},
                "customParametersForUserIdRule": rule_params,
            }),
        );
    }
    ok_json(sheet, 200)
}
