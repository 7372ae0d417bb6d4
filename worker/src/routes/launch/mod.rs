//! Browser and LMS routes: OIDC login ([`login`]), the launch itself, 1.3 and 1.1
//! ([`accept`]), a launch bound through LTI Platform Storage ([`storage`]), the public
//! pieces: the module page, the tool's key set and configuration, session introspection
//! ([`public`]), what an LMS admin pastes ([`setup`]), and LTI Dynamic Registration
//! ([`register`]).

pub mod accept;
pub mod login;
pub mod public;
pub mod register;
pub mod setup;
pub mod storage;

/// `lti_storage_target` is `_parent` or a frame name; anything else is ignored (no storage).
fn storage_target(t: Option<&str>) -> Option<&str> {
    t.filter(|t| {
        !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    })
}

use lti_policy::modules;
use lti_policy::session::SessionClaims;
use worker::Response;

use crate::error::{ApiError, ApiResult};
use crate::http::response::redirect;
use crate::routes::Ctx;
use crate::store::keyring;

/// Sign a session and send the browser to its module page (303, no referrer, no cache),
/// clearing the login's binding cookie when there was one.
async fn session_redirect(ctx: &Ctx<'_>, claims: &SessionClaims, clear_cookie: Option<&str>) -> ApiResult<Response> {
    let signer = keyring::session_signer(ctx.env, &ctx.cfg).await?;
    let token = claims.sign(&signer).await.map_err(|e| ApiError::internal(e.0))?;
    let module = modules::by_code(&claims.module).ok_or_else(|| ApiError::internal("session module"))?;
    let location = format!("{}{}/ks/{}", ctx.cfg.base(), module.path, token);
    match clear_cookie {
        Some(name) => {
            let cookie = format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=None; Partitioned");
            redirect(303, &location, &[("set-cookie", &cookie)])
        }
        None => redirect(303, &location, &[]),
    }
}
