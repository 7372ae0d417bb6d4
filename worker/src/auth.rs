//! Who is calling, from the `Authorization` header alone, before any body is read: the admin
//! token, the services credential (the tool app's server), or a session token.

use lti_policy::session::{verify_session, SessionClaims};
use lti_policy::ErrorCode;
use lti_webcrypto::WebCryptoVerifier;
use worker::{Env, Request};

use crate::clock::now;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::store::keyring;

/// The `Authorization: Bearer` token, if any.
pub fn bearer(req: &Request) -> Option<String> {
    let auth = req.headers().get("authorization").ok().flatten()?;
    let t = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer "))?.trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// The admin token, or `admin_unauthorized` (also when no admin token is configured).
pub fn admin(cfg: &Config, req: &Request) -> ApiResult<()> {
    if cfg.admin_token.is_none() {
        return Err(ApiError::new(ErrorCode::AdminUnauthorized, "LTI_ADMIN_TOKEN not configured"));
    }
    if !bearer(req).is_some_and(|t| cfg.is_admin(&t)) {
        return Err(ApiError::new(ErrorCode::AdminUnauthorized, "bad or missing admin bearer token"));
    }
    Ok(())
}

/// Verify a session token against the tool's published keys.
pub async fn verify_session_token(env: &Env, cfg: &Config, token: &str) -> ApiResult<SessionClaims> {
    let keys = keyring::public_keys(env).await?;
    verify_session(token, &keys, &WebCryptoVerifier, &cfg.base(), now()).await.map_err(|e| ApiError::coded(&e))
}

/// The session behind a Bearer token (no admin, no services credential).
pub async fn session_of(env: &Env, cfg: &Config, req: &Request) -> ApiResult<SessionClaims> {
    let token = bearer(req).ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token"))?;
    verify_session_token(env, cfg, &token).await
}

/// Who is calling a service route, established from the `Authorization` header alone, before
/// any body is read.
pub enum Credential {
    /// `LTI_ADMIN_TOKEN`: any context, named by `platformId` + `contextId`.
    Admin,
    /// `LTI_SERVICES_TOKEN` (the tool app's server): any context, named by `platformId` +
    /// `contextId`.
    Services,
    /// `LTI_SERVICES_TOKEN` with a user's session in `LTI-Session`: that session's context and
    /// user, with the trust of the tool's server (it may post that user's score).
    ServicesForSession(SessionClaims),
    /// A session token (a user's browser): its own context, its own role.
    Session(SessionClaims),
}

/// Check the bearer credential of a service route. No body has been read yet; a request
/// without a valid one is answered `session_invalid` whatever it carries.
pub async fn service_credential(env: &Env, cfg: &Config, req: &Request) -> ApiResult<Credential> {
    let token = bearer(req).ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token"))?;
    if cfg.is_admin(&token) {
        return Ok(Credential::Admin);
    }
    if cfg.is_services(&token) {
        let on_behalf =
            req.headers().get("lti-session").ok().flatten().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        return Ok(match on_behalf {
            Some(s) => Credential::ServicesForSession(verify_session_token(env, cfg, &s).await?),
            None => Credential::Services,
        });
    }
    Ok(Credential::Session(verify_session_token(env, cfg, &token).await?))
}
