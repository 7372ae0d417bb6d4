//! The tool session: a short-lived JWT, signed with the tool's current session key (ES256; RS256
//! when the operator supplies a single RSA key), scoped to user, role, category, resource link,
//! module and platform — the edge's equivalent of KAF's KS. The tool app verifies it against
//! the tool JWKS (`/lti/jwks`); it travels in the module URL path (`<module>/ks/<token>`), so
//! no third-party cookie is needed.

use serde::{Deserialize, Serialize};

use lti_core::crypto::{CryptoError, Es256Verifier, JwsAlg, JwsSigner, Rs256Verifier};
use lti_core::deep_linking::DeepLinkSettings;
use lti_core::jwk::JwkSet;
use lti_core::jws::{sign_jws, CompactJws};
use lti_core::services::ServiceGrants;

use crate::authorize::Launch;
use crate::error::SessionError;

/// Audience of session tokens.
pub const SESSION_AUDIENCE: &str = "lti-edge-tool";
/// `typ` header of session tokens (distinguishes them from any other JWT we sign).
pub const SESSION_TYP: &str = "lti-edge-session+jwt";
/// Longest lifetime allowed.
pub const MAX_SESSION_TTL_SECS: i64 = 3600;

/// Claims of a session token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Tool base URL.
    pub iss: String,
    /// [`SESSION_AUDIENCE`].
    pub aud: String,
    /// Resolved user id.
    pub sub: String,
    /// Tool role.
    pub role: String,
    /// Roles as sent by the platform.
    pub lti_roles: Vec<String>,
    /// Course category.
    pub category: String,
    /// LTI context id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// Course title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_title: Option<String>,
    /// Resource link id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_link_id: Option<String>,
    /// Module code.
    pub module: String,
    /// Registration id.
    pub platform_id: String,
    /// Deployment id.
    pub deployment_id: String,
    /// LTI message type.
    pub message_type: String,
    /// Which user-id rule applied.
    pub user_id_source: String,
    /// How the launch was bound to the browser (`cookie` or `state-only`).
    pub binding: String,
    /// Display name when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `1.3.0` or `1.1`.
    #[serde(default = "default_version")]
    pub lti_version: String,
    /// LTI 1.1 services (Basic Outcomes, content-item return), for 1.1 sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lti11: Option<serde_json::Value>,
    /// The platform's user id (`sub`): the id AGS scores and NRPS rosters use.
    #[serde(default)]
    pub lti_sub: String,
    /// Services the platform granted with this launch.
    #[serde(default, skip_serializing_if = "ServiceGrants::is_empty")]
    pub svc: ServiceGrants,
    /// Origin of the LMS page that launched the tool (from the launch's
    /// `launch_presentation.return_url`, else `tool_platform.url`), when the launch named one:
    /// the host origin a tool page's embed client can fall back on where the browser cannot
    /// tell it (Firefox has no `location.ancestorOrigins`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_origin: Option<String>,
    /// The deep-linking request (deep-linking sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dl: Option<DeepLinkSettings>,
    /// The Caliper session of this launch (the key of its sealed record in the worker's store;
    /// never the event store's configuration), when the platform named an event store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caliper: Option<String>,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Unique id.
    pub jti: String,
}

impl SessionClaims {
    /// Session claims for a launch.
    pub fn for_launch(launch: &Launch, issuer: &str, binding: &str, now: i64, ttl: i64, jti: String) -> Self {
        Self {
            iss: issuer.to_string(),
            aud: SESSION_AUDIENCE.to_string(),
            sub: launch.user_id.clone(),
            role: launch.role.as_str().to_string(),
            lti_roles: launch.lti_roles.clone(),
            category: launch.category.clone(),
            context_id: launch.context_id.clone(),
            context_title: launch.context_title.clone(),
            resource_link_id: launch.resource_link_id.clone(),
            module: launch.module.code.to_string(),
            platform_id: launch.registration_id.clone(),
            deployment_id: launch.deployment_id.clone(),
            message_type: launch.message_type.as_str().to_string(),
            user_id_source: launch.user_id_source.as_str().to_string(),
            binding: binding.to_string(),
            name: launch.name.clone(),
            lti_version: launch.lti_version.to_string(),
            lti11: None,
            lti_sub: launch.platform_user_id.clone(),
            svc: launch.services.clone(),
            platform_origin: None,
            dl: launch.deep_linking.clone(),
            caliper: None,
            iat: now,
            exp: now + ttl.clamp(1, MAX_SESSION_TTL_SECS),
            jti,
        }
    }

    /// Sign into a compact JWS with the signer's algorithm.
    pub async fn sign<S: JwsSigner + ?Sized>(&self, signer: &S) -> Result<String, CryptoError> {
        let v = serde_json::to_value(self).map_err(|e| CryptoError(e.to_string()))?;
        sign_jws(signer, SESSION_TYP, &v).await
    }
}

fn default_version() -> String {
    "1.3.0".into()
}

/// Verify a session token: `alg` ES256 or RS256, the signature under the tool key of that type
/// named by `kid` (an ES256 header never reaches an RSA key or the other way round), `iss`,
/// `aud`, expiry (no leeway: we issued it with our own clock), lifetime bound.
pub async fn verify_session<V: Rs256Verifier + Es256Verifier>(
    token: &str,
    tool_keys: &JwkSet,
    crypto: &V,
    issuer: &str,
    now: i64,
) -> Result<SessionClaims, SessionError> {
    let jws =
        CompactJws::parse_allowing(token, &[JwsAlg::Es256, JwsAlg::Rs256]).map_err(|e| SessionError(e.to_string()))?;
    if jws.typ() != Some(SESSION_TYP) {
        return Err(SessionError("typ is not a session".into()));
    }
    let payload = jws.verify_into_claims(tool_keys, crypto).await.map_err(|e| SessionError(e.to_string()))?;
    let claims: SessionClaims =
        serde_json::from_value(serde_json::Value::Object(payload)).map_err(|_| SessionError("claims shape".into()))?;
    if claims.iss != issuer || claims.aud != SESSION_AUDIENCE {
        return Err(SessionError("iss/aud".into()));
    }
    if now >= claims.exp || claims.iat > now + 60 || claims.exp - claims.iat > MAX_SESSION_TTL_SECS {
        return Err(SessionError("expired or lifetime invalid".into()));
    }
    Ok(claims)
}
