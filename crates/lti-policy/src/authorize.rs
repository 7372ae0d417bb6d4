//! From a validated launch to a [`Launch`]: who the user is, in which role, in which module,
//! in which course category — the tool's decisions, by the registration's rules.
//!
//! 13. user id by `ltiUserIdAttribute`, then `lti13UserIdClaim`(+`…Property`), then `sub`
//!     ([`crate::user_id`]); no `sub` at all is an anonymous launch, which the registration
//!     refuses or admits as a guest;
//! 14. role by the registration's map over the default table ([`crate::roles`]); no mapped
//!     role → denied (unless the registration names a default role);
//! 15. module from the `target_link_uri` claim (on the tool's origin), or the picker for deep
//!     linking; disabled modules → denied;
//! 16. category: a stable id per (registration, deployment, context).

use lti_core::encoding::hex;
use lti_core::launch::{MessageType, ValidatedLaunch};
use lti_core::state::ToolConfig;
use sha2::{Digest, Sha256};

use crate::error::AccessError;
use crate::modules::{self, Module};
use crate::registration::{AnonymousPolicy, Registration};
use crate::roles::{resolve_role_or, ToolRole};
use crate::user_id::{resolve_user_id, UserIdSource};

/// Authorize a validated launch (consumes it: a launch is decided once).
pub trait Authorize: Sized {
    /// Decide who, which role, which module and category (steps 13–16 above).
    fn authorize(self, reg: &Registration, tool: &ToolConfig, fallback_target: &str) -> Result<Launch, AccessError>;

    /// [`Authorize::authorize`] for an upgraded LTI 1.1 link whose `lti1p1` claim was verified
    /// (or is trusted by the registration's policy): with the default user-id rule the 1.1
    /// `user_id` stays the user id, and the 1.1 `context_id` (when the claim carries one)
    /// decides the category, so the same person lands as the same user in the same course.
    fn authorize_migrated(
        self,
        reg: &Registration,
        tool: &ToolConfig,
        fallback_target: &str,
        legacy: &LegacyIdentity,
    ) -> Result<Launch, AccessError>;
}

impl Authorize for ValidatedLaunch {
    fn authorize_migrated(
        self,
        reg: &Registration,
        tool: &ToolConfig,
        fallback_target: &str,
        legacy: &LegacyIdentity,
    ) -> Result<Launch, AccessError> {
        let context = legacy.context_id.clone().or_else(|| self.typed().context_id.clone());
        let category = category_id(reg.id(), self.deployment_id(), context.as_deref().unwrap_or(""));
        let mut launch = decide(self, reg, tool, fallback_target, Some(legacy))?;
        launch.category = category;
        Ok(launch)
    }

    fn authorize(self, reg: &Registration, tool: &ToolConfig, fallback_target: &str) -> Result<Launch, AccessError> {
        decide(self, reg, tool, fallback_target, None)
    }
}

/// The user id a (non-anonymous) launch gets: the registration's rules
/// ([`resolve_user_id`]), then, under the default rule, an upgraded link's LTI 1.1 `user_id`.
/// Launches and the user-id suggestions ([`crate::user_id::suggestions`]) both decide here.
pub fn decide_user_id(
    claims: &serde_json::Map<String, serde_json::Value>,
    reg: &Registration,
    legacy: Option<&LegacyIdentity>,
) -> Result<(String, UserIdSource), AccessError> {
    let decided = resolve_user_id(claims, reg)?;
    let default_rule = reg.lti_user_id_attribute.trim().is_empty() && reg.lti13_user_id_claim.trim().is_empty();
    match legacy {
        Some(l) if default_rule && !l.user_id.is_empty() => {
            Ok((l.user_id.chars().take(255).collect(), UserIdSource::Lti1p1))
        }
        _ => Ok(decided),
    }
}

/// Steps 13–16 (`legacy`: an upgraded 1.1 link's identity).
fn decide(
    launch: ValidatedLaunch,
    reg: &Registration,
    tool: &ToolConfig,
    fallback_target: &str,
    legacy: Option<&LegacyIdentity>,
) -> Result<Launch, AccessError> {
    let (c, claims) = launch.into_parts();
    // 13. No `sub` is an anonymous user (LTI 1.3 Core §5.3.6): the registration decides.
    let anonymous = c.subject.as_deref().is_none_or(|s| s.trim().is_empty());
    let (user_id, user_id_source) = if anonymous {
        match reg.anonymous_launches {
            AnonymousPolicy::Refuse => return Err(AccessError::AnonymousRefused),
            AnonymousPolicy::Guest => (String::new(), UserIdSource::Anonymous),
        }
    } else {
        decide_user_id(&claims, reg, legacy)?
    };
    // 14. An anonymous guest is a guest whatever roles came with it.
    let role = if anonymous { ToolRole::Guest } else { resolve_role_or(&c.roles, &reg.role_map, reg.default_role)? };
    // 15.
    let module = match c.message_type {
        MessageType::DeepLinking => modules::by_code(modules::PICKER_MODULE).ok_or(AccessError::ModuleUnknown)?,
        _ => {
            let target = c.target_link_uri.as_deref().unwrap_or(fallback_target);
            let url = tool.owns(target).ok_or(AccessError::TargetLinkUriInvalid)?;
            modules::for_path(url.path()).ok_or(AccessError::ModuleUnknown)?
        }
    };
    if reg.disabled_modules.iter().any(|m| m == module.code) {
        return Err(AccessError::ModuleDisabled(module.code));
    }
    // 16.
    let category = category_id(reg.id(), &c.deployment_id, c.context_id.as_deref().unwrap_or(""));
    Ok(Launch {
        lti_version: "1.3.0",
        platform_user_id: c.subject.unwrap_or_default(),
        services: c.services,
        deep_linking: c.deep_linking,
        user_id,
        user_id_source,
        role,
        lti_roles: c.roles,
        category,
        context_id: c.context_id,
        context_title: c.context_title,
        resource_link_id: c.resource_link_id,
        module,
        registration_id: reg.id().to_string(),
        deployment_id: c.deployment_id,
        message_type: c.message_type,
        name: c.name,
    })
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
    pub services: lti_core::services::ServiceGrants,
    /// The deep-linking request (deep-linking launches only).
    pub deep_linking: Option<lti_core::deep_linking::DeepLinkSettings>,
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
