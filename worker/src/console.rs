//! The admin console's sign-in: the admin token (or Cloudflare Access) exchanged for a
//! first-party session in an `HttpOnly; Secure; SameSite=Strict` cookie, sealed under
//! `LTI_ENCRYPTION_KEY` (the browser holds no token a script could read), with an idle timeout
//! and a lifetime; sign-out is recorded server-side so a copied cookie dies with it. A console
//! call that changes something must also carry the tool's own `Origin`.
//!
//! With `CF_ACCESS_TEAM_DOMAIN` and `CF_ACCESS_AUD` set, every console request must also carry
//! a `Cf-Access-Jwt-Assertion` that verifies against the team's key set (RS256, issuer the team
//! domain, audience pinned, alive) and names the same person as the session.

use lti_core::jws::CompactJws;
use lti_core::url::HttpUrl;
use lti_policy::ErrorCode;
use lti_webcrypto::{random_bytes, WebCryptoVerifier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{Method, Request};

use crate::config::{Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::routes::Ctx;
use crate::sealed;
use crate::store::jwks;

/// The cookie's name.
pub const COOKIE: &str = "lti_edge_console";
/// Where the browser sends it: the JSON API only (never a launch, never a module page).
const COOKIE_PATH: &str = "/lti";

/// A signed-in console.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// Random id (sign-out records it).
    pub sid: String,
    /// Sign-in time (Unix seconds).
    pub iat: i64,
    /// Last use.
    pub seen: i64,
    /// `token` or `access`.
    pub via: String,
    /// Who Cloudflare Access says signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl ConsoleSession {
    /// A new session at `now`.
    pub fn new(via: &str, email: Option<String>, now: i64) -> ApiResult<Self> {
        let sid = lti_core::encoding::hex(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
        Ok(Self { sid, iat: now, seen: now, via: via.to_string(), email })
    }

    /// When it ends at the latest (lifetime).
    pub fn ends_at(&self, cfg: &Config) -> i64 {
        self.iat + cfg.console.lifetime_secs
    }

    /// What `GET /lti/admin/session` shows.
    pub fn public_json(&self, cfg: &Config) -> Value {
        serde_json::json!({
            "signedIn": true, "via": self.via, "email": self.email, "signedInAt": self.iat,
            "expiresAt": self.ends_at(cfg), "idleTimeoutSecs": cfg.console.idle_secs,
        })
    }
}

/// The `Set-Cookie` value carrying `s` (used now), sealed.
pub async fn cookie(cfg: &Config, s: &ConsoleSession, now: i64) -> ApiResult<String> {
    let mut s = s.clone();
    s.seen = now;
    let plain = serde_json::to_vec(&s).map_err(|e| ApiError::internal(e.to_string()))?;
    let value = sealed::seal(cfg, sealed::CONSOLE_SESSION, &plain).await?;
    let max_age = (s.ends_at(cfg) - now).max(0);
    Ok(format!("{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"))
}

/// The `Set-Cookie` value that removes it.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

fn expired(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::ConsoleSessionExpired, detail.to_string())
}

/// The console session the request's cookie carries: `None` without the cookie; refused when
/// it is forged, idle too long, past its lifetime or signed out.
pub async fn from_request(ctx: &Ctx<'_>, req: &Request, now: i64) -> ApiResult<Option<ConsoleSession>> {
    let header = req.headers().get("cookie").ok().flatten().unwrap_or_default();
    let Some(value) = lti_core::state::cookie_value(&header, COOKIE).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.len() > 2048 {
        return Err(expired("console cookie too long"));
    }
    let plain = sealed::open(&ctx.cfg, sealed::CONSOLE_SESSION, value)
        .await
        .map_err(|_| expired("console cookie does not open"))?;
    let s: ConsoleSession = serde_json::from_slice(&plain).map_err(|_| expired("console cookie unreadable"))?;
    if now >= s.ends_at(&ctx.cfg) {
        return Err(expired("console session past its lifetime"));
    }
    if now - s.seen > ctx.cfg.console.idle_secs {
        return Err(expired("console session idle too long"));
    }
    if now < s.iat - 60 {
        return Err(expired("console session from the future"));
    }
    Ok(Some(s))
}

/// Whether `s` was signed out (read last: one KV read per console call).
async fn signed_out(ctx: &Ctx<'_>, s: &ConsoleSession) -> ApiResult<bool> {
    Ok(ctx.env.kv(KV_BINDING)?.get(&format!("console-signout:{}", s.sid)).text().await?.is_some())
}

/// Record the sign-out of `s` until its lifetime would have ended anyway.
pub async fn sign_out(ctx: &Ctx<'_>, s: &ConsoleSession, now: i64) -> ApiResult<()> {
    let ttl = (s.ends_at(&ctx.cfg) - now).max(60) as u64;
    ctx.env.kv(KV_BINDING)?.put(&format!("console-signout:{}", s.sid), "1")?.expiration_ttl(ttl).execute().await?;
    Ok(())
}

/// A request that changes something must come from the tool's own pages: its `Origin` is the
/// tool's public origin (a missing `Origin` is refused too).
pub fn check_origin(ctx: &Ctx<'_>, req: &Request) -> ApiResult<()> {
    if matches!(ctx.method, Method::Get | Method::Head) {
        return Ok(());
    }
    let origin = req.headers().get("origin").ok().flatten().unwrap_or_default();
    if origin.is_empty() || origin != ctx.cfg.base() {
        let shown: String = origin.chars().take(100).collect();
        return Err(ApiError::new(ErrorCode::ConsoleOriginRefused, format!("origin {shown:?}")));
    }
    Ok(())
}

/// With Cloudflare Access configured: who the request's Access token names (its `email`, else
/// its `sub`), after verifying it; refused when it is missing or does not verify. `None` when
/// Access is not configured.
pub async fn access_identity(ctx: &Ctx<'_>, req: &Request, now: i64) -> ApiResult<Option<String>> {
    let Some((team, aud)) = &ctx.cfg.console.access else { return Ok(None) };
    let refuse = |why: &str| ApiError::new(ErrorCode::AccessTokenInvalid, why.to_string());
    if team.scheme() != "https" && !(ctx.cfg.allow_http_loopback && team.is_loopback()) {
        return Err(refuse("CF_ACCESS_TEAM_DOMAIN is not https"));
    }
    let token = req.headers().get("cf-access-jwt-assertion").ok().flatten().unwrap_or_default();
    if token.is_empty() {
        return Err(refuse("no Cf-Access-Jwt-Assertion"));
    }
    let jws = CompactJws::parse(token.trim()).map_err(|e| refuse(&format!("access token: {e}")))?;
    let certs = format!("{}/cdn-cgi/access/certs", team.origin());
    let keys = jwks::key_set(ctx.env, ctx.wctx, &certs, jws.kid(), now, &ctx.cid)
        .await
        .map_err(|e| refuse(&format!("access certs: {}", e.detail)))?;
    let claims = jws.verify_into_claims(&keys, &WebCryptoVerifier).await.map_err(|e| refuse(&e.to_string()))?;
    verify_access_claims(&claims, team, aud, now).map_err(refuse).map(Some)
}

/// The claims of a verified Access token: issuer the team domain, audience pinned, alive.
fn verify_access_claims(
    claims: &serde_json::Map<String, Value>,
    team: &HttpUrl,
    aud: &str,
    now: i64,
) -> Result<String, &'static str> {
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    if iss.trim_end_matches('/') != team.origin() {
        return Err("access token issuer is not the team domain");
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == aud,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(aud)),
        _ => false,
    };
    if !aud_ok {
        return Err("access token is for another application (aud)");
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or("access token without exp")?;
    if now >= exp + 30 {
        return Err("access token expired");
    }
    if claims.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now + 30) {
        return Err("access token not yet valid");
    }
    let who = claims
        .get("email")
        .and_then(Value::as_str)
        .or_else(|| claims.get("sub").and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .ok_or("access token names nobody")?;
    Ok(who.chars().take(320).collect())
}

/// The admin guard: the bearer token (scripts; no cookie, no `Origin` needed), else a console
/// session (cookie; `Origin` checked on changes; Access re-verified when configured; not signed
/// out). Returns the console session, whose refreshed cookie goes back with the answer.
pub async fn admin_or_console(ctx: &Ctx<'_>, req: &Request) -> ApiResult<Option<ConsoleSession>> {
    if crate::auth::bearer(req).is_some() {
        crate::auth::admin(&ctx.cfg, req)?;
        return Ok(None);
    }
    let now = crate::clock::now();
    let Some(s) = from_request(ctx, req, now).await? else {
        return Err(ApiError::new(ErrorCode::AdminUnauthorized, "no bearer token and no console session"));
    };
    check_origin(ctx, req)?;
    still_valid(ctx, req, &s, now).await?;
    Ok(Some(s))
}

/// A session read from its cookie is still good: with Access configured, the request's Access
/// token verifies and names the session's person; and it was not signed out.
pub async fn still_valid(ctx: &Ctx<'_>, req: &Request, s: &ConsoleSession, now: i64) -> ApiResult<()> {
    if let Some(who) = access_identity(ctx, req, now).await? {
        if s.email.as_deref().is_some_and(|e| e != who) {
            return Err(expired("Access now names another person than the session"));
        }
    }
    if signed_out(ctx, s).await? {
        return Err(expired("console session signed out"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn access_claims_pin_issuer_audience_and_time() {
        let team = HttpUrl::parse("https://acme.cloudflareaccess.com").unwrap();
        let good = claims(serde_json::json!({
            "iss": "https://acme.cloudflareaccess.com", "aud": ["aud-1"], "exp": 2000, "nbf": 900,
            "email": "ada@example.edu", "sub": "u1"}));
        assert_eq!(verify_access_claims(&good, &team, "aud-1", 1000).as_deref(), Ok("ada@example.edu"));
        assert!(verify_access_claims(&good, &team, "aud-2", 1000).is_err(), "another application");
        assert!(verify_access_claims(&good, &team, "aud-1", 2100).is_err(), "expired");
        assert!(verify_access_claims(&good, &team, "aud-1", 800).is_err(), "not yet valid");
        let other_iss = HttpUrl::parse("https://evil.cloudflareaccess.com").unwrap();
        assert!(verify_access_claims(&good, &other_iss, "aud-1", 1000).is_err(), "another team");
        let mut nobody = good.clone();
        nobody.remove("email");
        nobody.insert("sub".into(), Value::String(" ".into()));
        assert!(verify_access_claims(&nobody, &team, "aud-1", 1000).is_err());
        let mut no_exp = good.clone();
        no_exp.remove("exp");
        assert!(verify_access_claims(&no_exp, &team, "aud-1", 1000).is_err());
        let mut string_aud = good;
        string_aud.insert("aud".into(), Value::String("aud-1".into()));
        assert!(verify_access_claims(&string_aud, &team, "aud-1", 1000).is_ok());
    }

    #[test]
    fn the_cookie_is_first_party_only_and_never_readable_by_scripts() {
        let c = clear_cookie();
        for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/lti", "Max-Age=0"] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
    }
}
