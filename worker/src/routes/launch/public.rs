//! What anyone may read: the index page, readiness, the tool's key set and configuration,
//! session introspection and the module page a session opens.

use lti_policy::modules;
use lti_policy::ErrorCode;
use serde_json::json;
use worker::{Request, Response};

use crate::auth::{bearer, verify_session_token};
use crate::error::{ApiError, ApiResult};
use crate::http::response::{html_response, html_response_csp, json_response, ok_json, with_headers};
use crate::pages;
use crate::routes::Ctx;
use crate::store::keyring;

/// The worker's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /`.
pub async fn index(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    html_response(pages::index(&ctx.cfg.base(), ctx.cfg.encryption_key.is_some()), 200)
}

/// `GET /version`: readiness.
pub async fn version(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    json_response(&json!({"name": "lti-edge", "version": VERSION, "configured": ctx.cfg.encryption_key.is_some()}), 200)
}

/// `GET /lti/jwks`: current, next and not yet expired retired keys.
pub async fn jwks(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let set = keyring::public_keys(ctx.env).await?;
    Ok(with_headers(
        Response::from_bytes(set.to_json().to_string().into_bytes())?,
        &[
            ("content-type", "application/json"),
            // Short enough that a rotation's next key is seen before it is promoted
            // (promotion waits this long) and retired keys outlive every cache.
            ("cache-control", &format!("public, max-age={}", ctx.cfg.jwks_max_age)),
            ("access-control-allow-origin", "*"),
        ],
    ))
}

/// `GET /lti/config`: the URLs an LMS admin pastes.
pub async fn config(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let b = ctx.cfg.base();
    json_response(
        &json!({
            "success": true,
            "data": {
                "enabled": true,
                "loginUrl": format!("{b}/lti/login"),
                "launchUrl": format!("{b}/lti/launch"),
                "jwksUrl": format!("{b}/lti/jwks"),
                "redirectUris": [format!("{b}/lti/launch"), format!("{b}/hosted/index/oauth2-launch")],
                "deepLinkUrl": format!("{b}{}", modules::by_code(modules::PICKER_MODULE).map_or("", |m| m.path)),
                "kaf": {
                    "oidcInitUrl": format!("{b}/hosted/index/oidc-init"),
                    "launchUrl": format!("{b}/hosted/index/oauth2-launch"),
                    "jwksUrl": format!("{b}/hosted/index/lti-advantage-key-set"),
                },
                "modules": modules::MODULES.iter().map(|m| json!({"code": m.code, "title": m.title, "targetLinkUri": format!("{b}{}", m.path)})).collect::<Vec<_>>(),
            }
        }),
        200,
    )
}

/// `GET /lti/session`: the claims of a valid session token (Bearer).
pub async fn session(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let token = bearer(req).ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token"))?;
    let claims = verify_session_token(ctx.env, &ctx.cfg, &token).await?;
    ok_json(serde_json::to_value(claims).map_err(|e| ApiError::internal(e.to_string()))?, 200)
}

/// `GET <module path>/ks/<token>`: the (demo) tool module page of a session.
pub async fn module_page(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let module = ctx.params.module.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no module"))?;
    let claims = verify_session_token(ctx.env, &ctx.cfg, &ctx.params.token).await?;
    if claims.module != module.code {
        return Err(ApiError::new(ErrorCode::SessionInvalid, "session is for another module"));
    }
    html_response_csp(pages::module_page(module, &claims, &ctx.params.token), 200, &pages::module_csp())
}
