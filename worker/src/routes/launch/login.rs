//! `GET|POST /lti/login`: OIDC login initiation. Nothing is stored: the signed state carries
//! the login (and names the store its launch will mark it used in). Only a login from a
//! platform nobody registered is kept, among the inspector's newest few, for admins.

use lti_core::encoding::form_decode;
use lti_core::state::{begin_login, LoginParams, LOGIN_RANDOM_BYTES};
use lti_policy::ErrorCode;
use lti_webcrypto::random_bytes;
use worker::{Method, Request, Response};

use super::storage_target;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::http::body::read_form;
use crate::http::response::{html_response_csp, redirect, script_csp};
use crate::routes::Ctx;
use crate::store::inspector::{self, Attempt};
use crate::store::registry::Registry;
use crate::{log, pages};

/// Answer a login initiation: a redirect to the platform's authorization endpoint, or (with
/// LTI Platform Storage) a page that stores the binding secret in the platform's frame first.
pub async fn login(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let mut pairs = form_decode(&ctx.query);
    if ctx.method == Method::Post {
        pairs.extend(read_form(req).await?);
    }
    let params = LoginParams::from_pairs(&pairs).map_err(|e| ApiError::coded(&e))?;
    let candidates = Registry::new(ctx.env).for_login(&params.iss, params.client_id.as_deref()).await?;
    let redirect_path = if ctx.path.starts_with("/hosted/") { "/hosted/index/oauth2-launch" } else { "/lti/launch" };
    let key = ctx.cfg.state_key().ok_or_else(|| ApiError::new(ErrorCode::NotConfigured, "no key"))?;
    let random = random_bytes::<LOGIN_RANDOM_BYTES>().map_err(|e| ApiError::internal(e.0))?;
    let begun =
        begin_login(&params, &candidates, &ctx.cfg.tool, redirect_path, &key, &random, ctx.cfg.store_name(), now());
    let (next, reg_id) = begun.map_err(|e| {
        let err = ApiError::coded(&e);
        if err.code == ErrorCode::PlatformUnregistered {
            // Shown to admins in the inspector, with what to create.
            let cut = |s: &str| serde_json::Value::String(s.chars().take(300).collect());
            let mut presented = serde_json::Map::new();
            presented.insert("issuer".into(), cut(&params.iss));
            if let Some(c) = params.client_id.as_deref() {
                presented.insert("clientId".into(), cut(c));
            }
            if let Some(d) = params.deployment_id.as_deref() {
                presented.insert("deploymentId".into(), cut(d));
            }
            let mut attempt = Attempt::new(&ctx.cid, "1.3", now());
            attempt.outcome = "refused".into();
            attempt.code = Some(err.code.as_str().to_string());
            attempt.presented = Some(presented);
            inspector::record(ctx.env, ctx.wctx, &ctx.cfg, "", attempt);
        }
        err
    })?;
    let target = storage_target(params.lti_storage_target.as_deref());
    log::info(
        &ctx.cid,
        "login",
        serde_json::json!({"registration": reg_id, "store": ctx.cfg.store_name(), "platform_storage": target.is_some()}),
    );
    let Some(target) = target else {
        return redirect(302, &next.location, &[("set-cookie", &next.set_cookie())]);
    };
    // LTI Platform Storage: keep the binding secret in the platform's storage too, so the
    // launch can be bound to this browser with no cookie at all.
    let platform_origin = candidates
        .iter()
        .find(|r| r.id() == reg_id)
        .and_then(|r| lti_core::url::HttpUrl::parse(r.lti().auth_login_url().as_str()).ok())
        .map(|u| u.origin())
        .ok_or_else(|| ApiError::internal("registration vanished during login"))?;
    let config = serde_json::json!({
        "target": target, "origin": platform_origin, "key": next.cookie_name,
        "value": next.cookie_value, "next": next.location,
    });
    let (nonce, csp) = script_csp("'self'")?;
    let mut resp = html_response_csp(pages::storage_login_page(&nonce, &config, &next.location), 200, &csp)?;
    let _ = resp.headers_mut().set("set-cookie", &next.set_cookie());
    Ok(resp)
}
