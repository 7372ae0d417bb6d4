//! An authenticated LTI 1.1 launch → the same [`lti_policy::Launch`] a 1.3 launch becomes:
//! the registration's user-id rules (over [`Lti11Launch::to_lti13_claims`]), the role map, the
//! module, and the category of `(registration, lti11DeploymentId, context_id)` — the category a
//! 1.3 launch of the same deployment and course gets, so content stays put across the upgrade.

use lti_core::launch::MessageType as Lti13MessageType;
use lti_core::services::ServiceGrants;
use lti_policy::authorize::{category_id, Launch};
use lti_policy::error::AccessError;
use lti_policy::modules::{self, PICKER_MODULE};
use lti_policy::registration::Registration;
use lti_policy::roles::resolve_role_or;
use lti_policy::user_id::resolve_user_id;

use crate::params::{Lti11Launch, MessageType};

impl Lti11Launch {
    /// Decide who, in which role, module and category. `launch_path` is the path the launch was
    /// posted to (the launch endpoint → the default module; a module path → that module).
    pub fn authorize(&self, reg: &Registration, launch_path: &str) -> Result<Launch, AccessError> {
        let claims = self.to_lti13_claims();
        let (user_id, user_id_source) = resolve_user_id(&claims, reg)?;
        let role = resolve_role_or(&self.roles, &reg.role_map, reg.default_role)?;
        let module = match self.message_type {
            MessageType::ContentItemSelectionRequest => {
                modules::by_code(PICKER_MODULE).ok_or(AccessError::ModuleUnknown)?
            }
            MessageType::BasicLaunch => modules::for_path(launch_path).ok_or(AccessError::ModuleUnknown)?,
        };
        if reg.disabled_modules.iter().any(|m| m == module.code) {
            return Err(AccessError::ModuleDisabled(module.code));
        }
        let deployment = reg.lti11_deployment().to_string();
        let context_id = self.context.as_ref().map(|c| c.id.clone());
        let category = category_id(reg.id(), &deployment, context_id.as_deref().unwrap_or(""));
        let context_title = self
            .context
            .as_ref()
            .and_then(|c| c.title.clone().or_else(|| c.label.clone()))
            .map(|t| t.chars().take(200).collect());
        Ok(Launch {
            lti_version: "1.1",
            platform_user_id: self.user_id.clone().unwrap_or_default(),
            services: ServiceGrants::default(),
            deep_linking: None,
            user_id,
            user_id_source,
            role,
            lti_roles: self.roles.clone(),
            category,
            context_id,
            context_title,
            resource_link_id: self.resource_link_id.clone(),
            module,
            registration_id: reg.id().to_string(),
            deployment_id: deployment,
            message_type: match self.message_type {
                MessageType::BasicLaunch => Lti13MessageType::ResourceLink,
                MessageType::ContentItemSelectionRequest => Lti13MessageType::DeepLinking,
            },
            name: self.person.name_full.clone().map(|n| n.chars().take(200).collect()),
        })
    }
}
