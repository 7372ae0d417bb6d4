//! LTI 1.3 launch validation as a typestate:
//!
//! ```text
//! UnverifiedLaunch --verify(keys, crypto)--> VerifiedLaunch --validate(ConsumedState, registration, now)-->
//! ValidatedLaunch --authorize(registration, tool)--> Launch
//! ```
//!
//! Only [`Launch`] exposes who the user is; it can only be reached through a verified
//! signature, claims checked against the registration, and a state record consumed once
//! (whose nonce the token must carry).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::crypto::Rs256Verifier;
use crate::deep_linking::DeepLinkSettings;
use crate::encoding::hex;
use crate::error::{AccessError, ClaimsError, SignatureError, TokenError};
use crate::jwk::JwkSet;
use crate::jws::CompactJws;
use crate::modules::{self, Module};
use crate::registration::{DeploymentPolicy, Registration};
use crate::roles::{resolve_role_or, ToolRole};
use crate::services::ServiceGrants;
use crate::state::{ConsumedState, ToolConfig};
use crate::user_id::{resolve_user_id, UserIdSource};

/// Claim names (LTI 1.3 core §5).
pub mod claim {
    /// Message type.
    pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
    /// Version.
    pub const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
    /// Deployment id.
    pub const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
    /// Target link URI.
    pub const TARGET_LINK_URI: &str = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
    /// Resource link.
    pub const RESOURCE_LINK: &str = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
    /// Roles.
    pub const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
    /// Context.
    pub const CONTEXT: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
    /// Custom parameters.
    pub const CUSTOM: &str = "https://purl.imsglobal.org/spec/lti/claim/custom";
    /// LTI 1.1 migration claim.
    pub const LTI1P1: &str = "https://purl.imsglobal.org/spec/lti/claim/lti1p1";
    /// Submission review: the learner whose submission is reviewed.
    pub const FOR_USER: &str = "https://purl.imsglobal.org/spec/lti/claim/for_user";
    /// Deep linking settings.
    pub const DEEP_LINKING_SETTINGS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";
}

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
    pub fn validate(self, state: &ConsumedState, reg: &Registration, now: i64) -> Result<ValidatedLaunch, ClaimsError> {
        let c = &self.claims;
        let leeway = i64::from(reg.leeway_seconds);
        // 5.
        let iss = str_claim(c, "iss")?;
        if iss != reg.issuer {
            return Err(ClaimsError::IssuerMismatch(iss.chars().take(200).collect()));
        }
        // 6.
        let auds: Vec<&str> = match c.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) if !a.is_empty() => {
                a.iter().map(|v| v.as_str().ok_or(ClaimsError::Invalid("aud"))).collect::<Result<_, _>>()?
            }
            None | Some(Value::Null) => return Err(ClaimsError::Missing("aud")),
            Some(_) => return Err(ClaimsError::Invalid("aud")),
        };
        if !auds.contains(&reg.client_id.as_str()) {
            return Err(ClaimsError::AudienceMismatch);
        }
        match c.get("azp") {
            Some(Value::String(azp)) if azp == &reg.client_id => {}
            None | Some(Value::Null) if auds.len() == 1 => {}
            _ => return Err(ClaimsError::AzpMismatch),
        }
        // 7.
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
        let known = reg.deployment_ids.iter().any(|d| d == deployment_id);
        if !known && reg.deployment_policy == DeploymentPolicy::AllowList {
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
        let roles: Vec<String> = match c.get(claim::ROLES) {
            Some(Value::Array(a)) => a
                .iter()
                .take(100)
                .map(|v| v.as_str().map(str::to_string).ok_or(ClaimsError::Invalid(claim::ROLES)))
                .collect::<Result<_, _>>()?,
            None | Some(Value::Null) => return Err(ClaimsError::Missing(claim::ROLES)),
            Some(_) => return Err(ClaimsError::Invalid(claim::ROLES)),
        };
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
                match s.get("accept_types") {
                    Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {}
                    None => return Err(ClaimsError::Missing(claim::DEEP_LINKING_SETTINGS)),
                    _ => return Err(ClaimsError::Invalid(claim::DEEP_LINKING_SETTINGS)),
                }
                match s.get("accept_presentation_document_targets") {
                    Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
                    None => return Err(ClaimsError::Missing(claim::DEEP_LINKING_SETTINGS)),
                    _ => return Err(ClaimsError::Invalid(claim::DEEP_LINKING_SETTINGS)),
                }
            }
            MessageType::SubmissionReview => {
                member_str(obj_claim(c, claim::FOR_USER)?, "user_id", claim::FOR_USER)?;
            }
        }
        let context_id = match c.get(claim::CONTEXT) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(member_str(o, "id", claim::CONTEXT)?.to_string()),
            Some(_) => return Err(ClaimsError::Invalid(claim::CONTEXT)),
        };
        let deployment_id = deployment_id.to_string();
        Ok(ValidatedLaunch {
            message_type,
            new_deployment: !known,
            deployment_id,
            roles,
            resource_link_id,
            context_id,
            skew: now.saturating_sub(iat),
            claims: self.claims,
        })
    }
}

/// Every claim checked; not yet authorized (user id, role, module).
#[derive(Debug)]
pub struct ValidatedLaunch {
    claims: Map<String, Value>,
    message_type: MessageType,
    deployment_id: String,
    new_deployment: bool,
    roles: Vec<String>,
    resource_link_id: Option<String>,
    context_id: Option<String>,
    skew: i64,
}

impl ValidatedLaunch {
    /// Seconds between the token's `iat` and our clock (positive: token is older). For logs.
    pub fn observed_skew(&self) -> i64 {
        self.skew
    }

    /// The launch's deployment id.
    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }

    /// Whether the deployment id is new to an accept-and-record registration.
    pub fn is_new_deployment(&self) -> bool {
        self.new_deployment
    }

    /// Every (validated) claim of the launch, e.g. for the `lti1p1` migration check.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// [`Self::authorize`] for an upgraded LTI 1.1 link whose `lti1p1` claim was verified (or
    /// is trusted by the registration's policy): with the default user-id rule the 1.1 `user_id`
    /// stays the user id, and the 1.1 `context_id` (when the claim carries one) decides the
    /// category, so the same person lands as the same user in the same course.
    pub fn authorize_migrated(
        self,
        reg: &Registration,
        tool: &ToolConfig,
        fallback_target: &str,
        legacy: &LegacyIdentity,
    ) -> Result<Launch, AccessError> {
        let default_rule = reg.lti_user_id_attribute.trim().is_empty() && reg.lti13_user_id_claim.trim().is_empty();
        let context = legacy.context_id.clone().or_else(|| self.context_id.clone());
        let category = category_id(&reg.id, &self.deployment_id, context.as_deref().unwrap_or(""));
        let mut launch = self.authorize(reg, tool, fallback_target)?;
        if default_rule && !legacy.user_id.is_empty() {
            launch.user_id = legacy.user_id.chars().take(255).collect();
            launch.user_id_source = UserIdSource::Lti1p1;
        }
        launch.category = category;
        Ok(launch)
    }

    /// Decide who the user is, in which role, in which course category, in which module:
    ///
    /// 13. user id by `ltiUserIdAttribute`, then `lti13UserIdClaim`(+`…Property`), then `sub`;
    /// 14. role by the registration's map over the default table; no mapped role → denied;
    /// 15. module from the `target_link_uri` claim (on our origin), or the picker for deep
    ///     linking; disabled modules → denied;
    /// 16. category: a stable id per (registration, deployment, context).
    pub fn authorize(
        self,
        reg: &Registration,
        tool: &ToolConfig,
        fallback_target: &str,
    ) -> Result<Launch, AccessError> {
        // 13. No `sub` is an anonymous user (LTI 1.3 Core §5.3.6): the registration decides.
        let anonymous = self.claims.get("sub").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty());
        let (user_id, user_id_source) = if anonymous {
            match reg.anonymous_launches {
                crate::registration::AnonymousPolicy::Refuse => return Err(AccessError::AnonymousRefused),
                crate::registration::AnonymousPolicy::Guest => (String::new(), UserIdSource::Anonymous),
            }
        } else {
            resolve_user_id(&self.claims, reg)?
        };
        // 14. An anonymous guest is a guest whatever roles came with it.
        let role =
            if anonymous { ToolRole::Guest } else { resolve_role_or(&self.roles, &reg.role_map, reg.default_role)? };
        // 15.
        let module = match self.message_type {
            MessageType::DeepLinking => modules::by_code(modules::PICKER_MODULE).ok_or(AccessError::ModuleUnknown)?,
            _ => {
                let target = self.claims.get(claim::TARGET_LINK_URI).and_then(Value::as_str).unwrap_or(fallback_target);
                let url = tool.owns(target).ok_or(AccessError::TargetLinkUriInvalid)?;
                modules::for_path(url.path()).ok_or(AccessError::ModuleUnknown)?
            }
        };
        if reg.disabled_modules.iter().any(|m| m == module.code) {
            return Err(AccessError::ModuleDisabled(module.code));
        }
        // 16.
        let category = category_id(&reg.id, &self.deployment_id, self.context_id.as_deref().unwrap_or(""));
        let context_title = self
            .claims
            .get(claim::CONTEXT)
            .and_then(|c| c.get("title").or_else(|| c.get("label")))
            .and_then(Value::as_str)
            .map(|s| s.chars().take(200).collect());
        let name = self.claims.get("name").and_then(Value::as_str).map(|s| s.chars().take(200).collect());
        let platform_user_id =
            self.claims.get("sub").and_then(Value::as_str).unwrap_or_default().chars().take(255).collect();
        let services = ServiceGrants::from_claims(&self.claims);
        let deep_linking = match self.message_type {
            MessageType::DeepLinking => {
                self.claims.get(claim::DEEP_LINKING_SETTINGS).and_then(DeepLinkSettings::from_claim)
            }
            _ => None,
        };
        Ok(Launch {
            lti_version: "1.3.0",
            platform_user_id,
            services,
            deep_linking,
            user_id,
            user_id_source,
            role,
            lti_roles: self.roles,
            category,
            context_id: self.context_id,
            context_title,
            resource_link_id: self.resource_link_id,
            module,
            registration_id: reg.id.clone(),
            deployment_id: self.deployment_id,
            message_type: self.message_type,
            name,
        })
    }
}

/// The LTI 1.1 identity of an upgraded link (from a verified `lti1p1` claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyIdentity {
    /// The 1.1 `user_id`.
    pub user_id: String,
    /// The 1.1 `context_id`, when it differs from the 1.3 one.
    pub context_id: Option<String>,
}

/// Stable category id for (registration, deployment, context): content isolation per course.
pub fn category_id(registration_id: &str, deployment_id: &str, context_id: &str) -> String {
    let mut h = Sha256::new();
    for part in ["lti-edge/category/v1", registration_id, deployment_id, context_id] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let d = h.finalize();
    format!("cat_{}", hex(d.get(..16).unwrap_or_default()))
}

/// A fully validated and authorized launch: what the tool app may trust.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// `1.3.0`, or `1.1` for launches from `lti-legacy`.
    pub lti_version: &'static str,
    /// The platform's user id (`sub`), which AGS scores and NRPS rosters use.
    pub platform_user_id: String,
    /// Services the platform granted (AGS, NRPS); malformed claims count as not granted.
    pub services: ServiceGrants,
    /// The deep-linking request (deep-linking launches only).
    pub deep_linking: Option<DeepLinkSettings>,
    /// Resolved user id.
    pub user_id: String,
    /// Which rule produced it.
    pub user_id_source: UserIdSource,
    /// Mapped tool role.
    pub role: ToolRole,
    /// Roles as the platform sent them.
    pub lti_roles: Vec<String>,
    /// Course category (content isolation).
    pub category: String,
    /// LTI context id.
    pub context_id: Option<String>,
    /// Course title or label.
    pub context_title: Option<String>,
    /// Resource link id (absent for deep linking).
    pub resource_link_id: Option<String>,
    /// Module to open.
    pub module: &'static Module,
    /// Registration id.
    pub registration_id: String,
    /// Deployment id.
    pub deployment_id: String,
    /// Message type.
    pub message_type: MessageType,
    /// User's display name, if sent.
    pub name: Option<String>,
}
