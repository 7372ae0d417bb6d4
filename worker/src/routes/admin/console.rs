//! `/lti/admin/session`: the admin console's sign-in, who is signed in, sign-out
//! ([`crate::console`] has the session itself).

use serde_json::{json, Value};
use worker::{Request, Response};

use lti_policy::ErrorCode;

use crate::clock::now;
use crate::console::{self, ConsoleSession};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_SIGN_IN};
use crate::http::response::ok_json;
use crate::routes::Ctx;
use crate::{auth, log};

fn with_cookie(mut resp: Response, cookie: &str) -> ApiResult<Response> {
    resp.headers_mut().append("set-cookie", cookie)?;
    Ok(resp)
}

/// `POST /lti/admin/session`: sign in with the admin token (`Authorization: Bearer`, or
/// `{"token": …}`), or — with Cloudflare Access configured — with the Access identity alone.
/// Only from the tool's own pages (`Origin`).
pub async fn sign_in(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    console::check_origin(ctx, req)?;
    let t = now();
    let access = console::access_identity(ctx, req, t).await?;
    let token = match auth::bearer(req) {
        Some(b) => Some(b),
        None => read_json(req, &JSON_SIGN_IN)
            .await?
            .get("token")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    };
    let via = match (&token, &access) {
        (Some(tok), _) if ctx.cfg.admin_token.is_some() && ctx.cfg.is_admin(tok) => "token",
        (Some(_), _) => {
            return Err(ApiError::new(ErrorCode::ConsoleTokenInvalid, "console sign-in: wrong admin token"))
        }
        (None, Some(_)) => "access",
        (None, None) => return Err(ApiError::new(ErrorCode::ConsoleTokenInvalid, "console sign-in without a token")),
    };
    let s = ConsoleSession::new(via, access, t)?;
    log::info(&ctx.cid, "console_signed_in", json!({"via": via, "session": s.sid.get(..8)}));
    let cookie = console::cookie(&ctx.cfg, &s, t).await?;
    with_cookie(ok_json(s.public_json(&ctx.cfg), 200)?, &cookie)
}

/// `GET /lti/admin/session`: the console session (its cookie renewed); with Cloudflare Access
/// configured and no session yet, the Access identity signs in.
pub async fn current(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let t = now();
    let s = match console::from_request(ctx, req, t).await? {
        Some(s) => {
            console::still_valid(ctx, req, &s, t).await?;
            s
        }
        None => match console::access_identity(ctx, req, t).await? {
            Some(who) => {
                let s = ConsoleSession::new("access", Some(who), t)?;
                log::info(&ctx.cid, "console_signed_in", json!({"via": "access", "session": s.sid.get(..8)}));
                s
            }
            None => return Err(ApiError::new(ErrorCode::AdminUnauthorized, "no console session")),
        },
    };
    let cookie = console::cookie(&ctx.cfg, &s, t).await?;
    with_cookie(ok_json(s.public_json(&ctx.cfg), 200)?, &cookie)
}

/// `DELETE /lti/admin/session`: sign out (the session is recorded as ended, so a copy of the
/// cookie is refused too) and drop the cookie.
pub async fn sign_out(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    console::check_origin(ctx, req)?;
    let t = now();
    // An ended session signs out as well (nothing to record).
    if let Ok(Some(s)) = console::from_request(ctx, req, t).await {
        console::sign_out(ctx, &s, t).await?;
        log::info(&ctx.cid, "console_signed_out", json!({"session": s.sid.get(..8)}));
    }
    with_cookie(ok_json(json!({"signedIn": false}), 200)?, &console::clear_cookie())
}
