//! LTI 1.3 launch validation as a typestate:
//!
//! ```text
//! UnverifiedLaunch --verify(keys, crypto)--> VerifiedLaunch --validate(ConsumedState, registration, now)-->
//! ValidatedLaunch
//! ```
//!
//! A [`ValidatedLaunch`] can only be reached through a verified signature, claims checked
//! against the registration, and a state record consumed once (whose nonce the token must
//! carry). What the tool makes of it (user id, role, module) is the caller's policy, which
//! consumes it.

use serde_json::{Map, Value};

use crate::claims as claim;
use crate::crypto::Rs256Verifier;
use crate::deep_linking::DeepLinkSettings;
use crate::error::{ClaimsError, SignatureError, TokenError};
use crate::jwk::JwkSet;
use crate::jws::CompactJws;
use crate::registration::{DeploymentPolicy, Registration};
use crate::services::ServiceGrants;
use crate::state::ConsumedState;

/// The message types we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// `LtiResourceLinkRequest`
    ResourceLink,
    /// `LtiDeepLinkingRequest`
    DeepLinking,
    /// `LtiSubmissionReviewRequest`
    SubmissionReview,
}

impl MessageType {
    /// Parse the claim value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LtiResourceLinkRequest" => Some(Self::ResourceLink),
            "LtiDeepLinkingRequest" => Some(Self::DeepLinking),
            "LtiSubmissionReviewRequest" => Some(Self::SubmissionReview),
            _ => None,
        }
    }

    /// Claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResourceLink => "LtiResourceLinkRequest",
            Self::DeepLinking => "LtiDeepLinkingRequest",
            Self::SubmissionReview => "LtiSubmissionReviewRequest",
        }
    }
}

/// Step 1 (after state): a parsed id_token, header checked, signature not yet verified.
#[derive(Debug, Clone)]
pub struct UnverifiedLaunch {
    jws: CompactJws,
}

impl UnverifiedLaunch {
    /// Parse the compact JWS, pinning RS256 and requiring a `kid` (see [`CompactJws::parse`]).
    pub fn parse(id_token: &str) -> Result<Self, TokenError> {
        CompactJws::parse(id_token).map(|jws| Self { jws })
    }

    /// The `kid` to look up in the platform's key set.
    pub fn kid(&self) -> &str {
        self.jws.kid()
    }

    /// Verify the RS256 signature with the key named by `kid` in `keys`.
    pub async fn verify<V: Rs256Verifier>(self, keys: &JwkSet, crypto: &V) -> Result<VerifiedLaunch, SignatureError> {
        let key = keys
            .find(self.jws.kid())
            .ok_or_else(|| SignatureError::KeyNotFound(self.jws.kid().chars().take(64).collect()))?;
        match crypto.verify(key, self.jws.signing_input(), self.jws.signature()).await {
            Ok(true) => Ok(VerifiedLaunch { claims: self.jws.into_payload() }),
            Ok(false) => Err(SignatureError::Invalid),
            Err(e) => Err(SignatureError::Crypto(e.0)),
        }
    }
}

/// The signature verified; claims not yet checked.
#[derive(Debug)]
pub struct VerifiedLaunch {
    claims: Map<String, Value>,
}

fn str_claim<'a>(c: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, ClaimsError> {
    match c.get(name) {
        None | Some(Value::Null) => Err(ClaimsError::Missing(name)),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 4096 => Ok(s),
        Some(Value::String(s)) if s.is_empty() => Err(ClaimsError::Missing(name)),
        Some(_) => Err(ClaimsError::Invalid(name)),
    }
}

fn time_claim(c: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, ClaimsError> {
    match c.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let t = n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| f as i64));
            t.map(Some).ok_or(ClaimsError::Invalid(name))
        }
        Some(_) => Err(ClaimsError::Invalid(name)),
    }
}

fn obj_claim<'a>(c: &'a Map<String, Value>, name: &'static str) -> Result<&'a Map<String, Value>, ClaimsError> {
    match c.get(name) {
        None | Some(Value::Null) => Err(ClaimsError::Missing(name)),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(ClaimsError::Invalid(name)),
    }
}

fn member_str<'a>(o: &'a Map<String, Value>, key: &str, claim_name: &'static str) -> Result<&'a str, ClaimsError> {
    match o.get(key) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 1024 => Ok(s),
        None | Some(Value::Null) => Err(ClaimsError::Missing(claim_name)),
        Some(_) => Err(ClaimsError::Invalid(claim_name)),
    }
}

impl VerifiedLaunch {
    /// Validate every claim (LTI 1.3 core §5, security framework §5.1.3):
    ///
    /// 5. `iss` equals the registration's issuer;
    /// 6. `aud` (string or array) contains our client id; with several audiences `azp` is our
    ///    client id (and whenever `azp` is present it must be us);
    /// 7. `exp` in the future, `iat` and `nbf` not in the future, each with the registration's
    ///    leeway;
    /// 8. `nonce` equals the one issued with this (consumed, single-use) state;
    /// 9. `deployment_id` present and allowed by the deployment policy;
    /// 10. `message_type` is ResourceLink, DeepLinking or SubmissionReview;
    /// 11. `version` is `1.3.0`;
    /// 12. the claims each message type requires (`roles`; resource link id; deep-linking
    ///     settings with return URL and accepted types; submission review's `for_user`).
    pub fn validate<R: AsRef<Registration>>(
        self,
        state: &ConsumedState,
        reg: &R,
        now: i64,
    ) -> Result<ValidatedLaunch, ClaimsError> {
        let reg = reg.as_ref();
        let c = &self.claims;
        check_issuer_and_audience(c, reg)?; // 5, 6
        let iat = check_times(c, now, i64::from(reg.leeway_seconds()))?; // 7
                                                                         // 8.
        match c.get("nonce") {
            Some(Value::String(n)) if state.record().nonce.matches(n) => {}
            _ => return Err(ClaimsError::NonceMismatch),
        }
        // 9.
        let deployment_id = str_claim(c, claim::DEPLOYMENT_ID)?;
        if deployment_id.len() > 255 {
            return Err(ClaimsError::Invalid(claim::DEPLOYMENT_ID));
        }
        let known = reg.knows_deployment(deployment_id);
        if !known && reg.deployment_policy() == DeploymentPolicy::AllowList {
            return Err(ClaimsError::DeploymentNotAllowed(deployment_id.chars().take(100).collect()));
        }
        // 10.
        let mt = str_claim(c, claim::MESSAGE_TYPE)?;
        let message_type =
            MessageType::parse(mt).ok_or_else(|| ClaimsError::MessageTypeUnsupported(mt.chars().take(80).collect()))?;
        // 11.
        let version = str_claim(c, claim::VERSION)?;
        if version != "1.3.0" {
            return Err(ClaimsError::VersionUnsupported(version.chars().take(20).collect()));
        }
        // 12.
        let roles = roles(c)?;
        let resource_link_id = check_message_claims(c, message_type)?;
        let context_id = match c.get(claim::CONTEXT) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(member_str(o, "id", claim::CONTEXT)?.to_string()),
            Some(_) => return Err(ClaimsError::Invalid(claim::CONTEXT)),
        };
        let text = |o: Option<&Value>, max: usize| o.and_then(Value::as_str).map(|s| s.chars().take(max).collect());
        let member = |claim: &str, field: &str| c.get(claim).and_then(|o| o.get(field));
        let typed = LaunchClaims {
            message_type,
            new_deployment: !known,
            deployment_id: deployment_id.to_string(),
            subject: text(c.get("sub"), 255),
            name: text(c.get("name"), 200),
            roles,
            resource_link_id,
            context_id,
            context_title: text(member(claim::CONTEXT, "title").or_else(|| member(claim::CONTEXT, "label")), 200),
            target_link_uri: text(c.get(claim::TARGET_LINK_URI), 4096),
            deep_linking: match message_type {
                MessageType::DeepLinking => c.get(claim::DEEP_LINKING_SETTINGS).and_then(DeepLinkSettings::from_claim),
                _ => None,
            },
            services: ServiceGrants::from_claims(c),
            return_url: text(member(claim::LAUNCH_PRESENTATION, "return_url"), 4096),
            platform_url: text(member(claim::TOOL_PLATFORM, "url"), 4096),
            skew: now.saturating_sub(iat),
        };
        Ok(ValidatedLaunch { typed, claims: self.claims })
    }
}

/// Steps 5 and 6: `iss` is the registration's issuer; `aud` (string or array) contains our
/// client id, and `azp` is our client id whenever present (required with several audiences).
fn check_issuer_and_audience(c: &Map<String, Value>, reg: &Registration) -> Result<(), ClaimsError> {
    let iss = str_claim(c, "iss")?;
    if iss != reg.issuer().as_str() {
        return Err(ClaimsError::IssuerMismatch(iss.chars().take(200).collect()));
    }
    let auds: Vec<&str> = match c.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) if !a.is_empty() => {
            a.iter().map(|v| v.as_str().ok_or(ClaimsError::Invalid("aud"))).collect::<Result<_, _>>()?
        }
        None | Some(Value::Null) => return Err(ClaimsError::Missing("aud")),
        Some(_) => return Err(ClaimsError::Invalid("aud")),
    };
    if !auds.contains(&reg.client_id().as_str()) {
        return Err(ClaimsError::AudienceMismatch);
    }
    match c.get("azp") {
        Some(Value::String(azp)) if azp == reg.client_id().as_str() => Ok(()),
        None | Some(Value::Null) if auds.len() == 1 => Ok(()),
        _ => Err(ClaimsError::AzpMismatch),
    }
}

/// Step 7: `exp` in the future, `iat` and `nbf` not in the future, each with `leeway`. Returns
/// `iat`.
fn check_times(c: &Map<String, Value>, now: i64, leeway: i64) -> Result<i64, ClaimsError> {
    let exp = time_claim(c, "exp")?.ok_or(ClaimsError::Missing("exp"))?;
    let iat = time_claim(c, "iat")?.ok_or(ClaimsError::Missing("iat"))?;
    if now > exp.saturating_add(leeway) {
        return Err(ClaimsError::Expired(now.saturating_sub(exp)));
    }
    if iat > now.saturating_add(leeway) {
        return Err(ClaimsError::NotYetValid("iat", iat.saturating_sub(now)));
    }
    if let Some(nbf) = time_claim(c, "nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(ClaimsError::NotYetValid("nbf", nbf.saturating_sub(now)));
        }
    }
    Ok(iat)
}

/// The `roles` claim: an array of strings (at most 100 kept).
fn roles(c: &Map<String, Value>) -> Result<Vec<String>, ClaimsError> {
    match c.get(claim::ROLES) {
        Some(Value::Array(a)) => a
            .iter()
            .take(100)
            .map(|v| v.as_str().map(str::to_string).ok_or(ClaimsError::Invalid(claim::ROLES)))
            .collect(),
        None | Some(Value::Null) => Err(ClaimsError::Missing(claim::ROLES)),
        Some(_) => Err(ClaimsError::Invalid(claim::ROLES)),
    }
}

/// Step 12: what each message type requires: the resource link (returned), the target, the
/// deep-linking settings, submission review's `for_user`.
fn check_message_claims(c: &Map<String, Value>, message_type: MessageType) -> Result<Option<String>, ClaimsError> {
    let resource_link_id = match message_type {
        MessageType::ResourceLink | MessageType::SubmissionReview => {
            Some(member_str(obj_claim(c, claim::RESOURCE_LINK)?, "id", claim::RESOURCE_LINK)?.to_string())
        }
        MessageType::DeepLinking => None,
    };
    match message_type {
        MessageType::ResourceLink => {
            str_claim(c, claim::TARGET_LINK_URI)?;
        }
        MessageType::DeepLinking => {
            let s = obj_claim(c, claim::DEEP_LINKING_SETTINGS)?;
            member_str(s, "deep_link_return_url", claim::DEEP_LINKING_SETTINGS)?;
            for (field, non_empty) in [("accept_types", true), ("accept_presentation_document_targets", false)] {
                match s.get(field) {
                    Some(Value::Array(a)) if (!non_empty || !a.is_empty()) && a.iter().all(Value::is_string) => {}
                    None => return Err(ClaimsError::Missing(claim::DEEP_LINKING_SETTINGS)),
                    _ => return Err(ClaimsError::Invalid(claim::DEEP_LINKING_SETTINGS)),
                }
            }
        }
        MessageType::SubmissionReview => {
            member_str(obj_claim(c, claim::FOR_USER)?, "user_id", claim::FOR_USER)?;
        }
    }
    Ok(resource_link_id)
}

/// The standard claims of a validated launch, read once, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchClaims {
    /// Message type.
    pub message_type: MessageType,
    /// Deployment id (checked against the registration).
    pub deployment_id: String,
    /// The deployment id is new to an accept-and-record registration.
    pub new_deployment: bool,
    /// `sub` (at most 255 characters); absent or blank is an anonymous launch.
    pub subject: Option<String>,
    /// The user's display name, if sent (at most 200 characters).
    pub name: Option<String>,
    /// Roles as the platform sent them (at most 100).
    pub roles: Vec<String>,
    /// Resource link id (resource link and submission review launches).
    pub resource_link_id: Option<String>,
    /// Context id.
    pub context_id: Option<String>,
    /// Context title or label (at most 200 characters).
    pub context_title: Option<String>,
    /// The `target_link_uri` claim.
    pub target_link_uri: Option<String>,
    /// Deep-linking settings (deep-linking launches).
    pub deep_linking: Option<DeepLinkSettings>,
    /// AGS and NRPS grants (malformed claims count as not granted).
    pub services: ServiceGrants,
    /// `launch_presentation.return_url`.
    pub return_url: Option<String>,
    /// `tool_platform.url`.
    pub platform_url: Option<String>,
    /// Seconds between the token's `iat` and our clock (positive: token is older).
    pub skew: i64,
}

/// Every claim checked; not yet authorized (who, which role, which module: the tool's policy
/// decides, and only from here).
#[derive(Debug)]
pub struct ValidatedLaunch {
    typed: LaunchClaims,
    claims: Map<String, Value>,
}

impl ValidatedLaunch {
    /// Seconds between the token's `iat` and our clock (positive: token is older). For logs.
    pub fn observed_skew(&self) -> i64 {
        self.typed.skew
    }

    /// The launch's deployment id.
    pub fn deployment_id(&self) -> &str {
        &self.typed.deployment_id
    }

    /// Whether the deployment id is new to an accept-and-record registration.
    pub fn is_new_deployment(&self) -> bool {
        self.typed.new_deployment
    }

    /// The standard claims, typed.
    pub fn typed(&self) -> &LaunchClaims {
        &self.typed
    }

    /// Every (validated) claim of the launch by name, for rules that name arbitrary claims
    /// (user-id rules, the `lti1p1` migration check).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Take the launch apart (the policy step that consumes it).
    pub fn into_parts(self) -> (LaunchClaims, Map<String, Value>) {
        (self.typed, self.claims)
    }
}
