//! `/lti/invitations`: one-time, expiring invitations to LTI Dynamic Registration. The answer to
//! a new invitation is the only place its secret appears (in `url`); the store keeps its digest.

use lti_core::encoding::b64url_encode;
use lti_core::registration::uuid_v4;
use lti_policy::invitations::{Invitation, InvitationRequest};
use lti_policy::ErrorCode;
use lti_webcrypto::random_bytes;
use serde_json::json;
use worker::{Request, Response};

use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_OPTIONAL};
use crate::http::response::ok_json;
use crate::log;
use crate::routes::Ctx;
use crate::store::invitations::Invitations;

/// `POST /lti/invitations` (`{"name"?, "expiresInSeconds"?}`): a registration URL for one LMS.
pub async fn create(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_OPTIONAL).await?;
    let ask = InvitationRequest::parse(&body).map_err(|fields| {
        let mut e = ApiError::new(ErrorCode::RequestInvalid, "invitation request");
        e.fields = Some(fields);
        e
    })?;
    let secret = b64url_encode(&random_bytes::<32>().map_err(|e| ApiError::internal(e.0))?);
    let id = uuid_v4(random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let t = now();
    let inv = Invitation { id, name: ask.name, created_at: t, expires_at: t + ask.ttl_secs };
    Invitations::new(ctx.env).create(&secret, &inv, t).await?;
    log::info(&ctx.cid, "invitation_created", json!({"id": inv.id, "expiresAt": inv.expires_at}));
    let url = format!("{}/lti/register/{secret}", ctx.cfg.base());
    ok_json(
        json!({"id": inv.id, "name": inv.name, "url": url, "createdAt": inv.created_at, "expiresAt": inv.expires_at}),
        201,
    )
}

/// `GET /lti/invitations`: every invitation still kept (never their secrets).
pub async fn list(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    ok_json(Invitations::new(ctx.env).list(now()).await?, 200)
}

/// `DELETE /lti/invitations/{id}`: the invitation registers nothing any more.
pub async fn revoke(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    if Invitations::new(ctx.env).revoke(&ctx.params.id).await? {
        log::info(&ctx.cid, "invitation_revoked", json!({"id": ctx.params.id}));
        return ok_json(json!({"id": ctx.params.id, "revoked": true}), 200);
    }
    Err(ApiError::new(ErrorCode::NotFound, "invitation not found"))
}
