//! Platform registrations: one per issuer + client id, with the per-registration settings an
//! admin controls (KAF names: `lti13PlatformOidcAuthUrl`, `lti13AuthTokenUrl`, `lti13KeysUrl`,
//! `lti13ClientId`, `ltiUserIdAttribute`, `lti13UserIdClaim`, `lti13UserIdClaimProperty`).
//!
//! [`RegistrationInput::validate`] applies the validation table of the Creatiq guide and
//! accepts its field names as aliases, so either style of client works.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::RegistrationError;
use crate::modules::MODULES;
use crate::roles::ToolRole;
use crate::url::HttpUrl;

/// Default clock leeway on `exp`/`iat`/`nbf`.
pub const DEFAULT_LEEWAY_SECS: u32 = 60;
/// Largest leeway an admin may set.
pub const MAX_LEEWAY_SECS: u32 = 300;

/// What to do with a `deployment_id` the registration does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeploymentPolicy {
    /// Refuse it.
    AllowList,
    /// Accept it and record it in the registration.
    AcceptAndRecord,
}

/// A stored registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// Opaque id (UUID form).
    pub id: String,
    /// Platform issuer (`iss`).
    pub issuer: String,
    /// Client id the platform issued to us.
    #[serde(rename = "lti13ClientId")]
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Platform OIDC authorization endpoint.
    #[serde(rename = "lti13PlatformOidcAuthUrl")]
    pub auth_login_url: String,
    /// Platform OAuth2 token endpoint (AGS/NRPS).
    #[serde(rename = "lti13AuthTokenUrl")]
    pub auth_token_url: String,
    /// Platform JWKS URL.
    #[serde(rename = "lti13KeysUrl")]
    pub keyset_url: String,
    /// Known deployment ids.
    pub deployment_ids: Vec<String>,
    /// Policy for unknown deployment ids.
    pub deployment_policy: DeploymentPolicy,
    /// Clock leeway in seconds.
    pub leeway_seconds: u32,
    /// Attribute (LTI 1.1 parameter or top-level claim name) used as the user id.
    pub lti_user_id_attribute: String,
    /// Claim used as the user id when `ltiUserIdAttribute` is blank or absent.
    pub lti13_user_id_claim: String,
    /// Property of `lti13UserIdClaim` when that claim is an object.
    pub lti13_user_id_claim_property: String,
    /// Role overrides: LTI role (full URI or short name) → tool role, `null` to unmap.
    pub role_map: BTreeMap<String, Option<ToolRole>>,
    /// Module code names switched off for this registration.
    pub disabled_modules: Vec<String>,
    /// LTI 1.1 consumer key (empty: no 1.1 launches).
    #[serde(default)]
    pub lti11_consumer_key: String,
    /// The LTI 1.1 shared secret, encrypted at rest by the worker; never in API answers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lti11_secret_enc: String,
    /// A new plain secret from a request body, to be encrypted before saving (never serialized).
    #[serde(skip)]
    pub lti11_secret_new: Option<String>,
    /// `moodle`, `canvas`, `blackboard` (base64-decoded 1.1 parameters), `brightspace`, `sakai`,
    /// `other` or empty.
    #[serde(default)]
    pub platform_family: String,
    /// The 1.3 deployment id that stands for the 1.1 consumer key in category ids.
    #[serde(default)]
    pub lti11_deployment_id: String,
    /// What a 1.3 launch does when its `lti1p1` claim does not verify.
    #[serde(default)]
    pub lti11_mismatch_policy: MismatchPolicy,
    /// Whether a learner's own browser session may post scores (default: no — a learner holds
    /// the session token, so this would let them grade themselves; tool servers post with the
    /// services credential instead).
    #[serde(default)]
    pub learner_scores: bool,
    /// What a launch without `sub` (an anonymous user, LTI 1.3 Core §5.3.6) gets.
    #[serde(default)]
    pub anonymous_launches: AnonymousPolicy,
    /// The tool role of a launch none of whose roles is mapped (including `roles: []`);
    /// `None` refuses it (`role_unmapped`).
    #[serde(default)]
    pub default_role: Option<ToolRole>,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601.
    pub updated_at: String,
}

/// What to do when a 1.3 launch's `lti1p1` claim does not verify with the 1.1 secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MismatchPolicy {
    /// Refuse the launch (no second user is ever created silently).
    #[default]
    Refuse,
    /// Trust the platform's signed id_token: use the claim's 1.1 identity anyway (Canvas, whose
    /// `oauth_consumer_key_sign` never verifies: canvas-lms #2287).
    TrustPlatform,
    /// Use the 1.3 identity (new users), knowingly.
    NewIdentity,
}

impl MismatchPolicy {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refuse => "refuse",
            Self::TrustPlatform => "trustPlatform",
            Self::NewIdentity => "newIdentity",
        }
    }
}

/// What to do with an anonymous launch (no `sub` claim).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnonymousPolicy {
    /// Refuse with `anonymous_launch_refused`.
    #[default]
    Refuse,
    /// Admit as a guest: no user id, tool role `guest`.
    Guest,
}

/// Known platform families.
pub const PLATFORM_FAMILIES: &[&str] =
    &["", "moodle", "canvas", "blackboard", "brightspace", "sakai", "schoology", "other"];

impl Registration {
    /// The registration as the admin API shows it: no secret material, only whether a 1.1
    /// secret is set.
    pub fn public_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("lti11SecretEnc");
            o.insert("lti11SecretSet".into(), Value::Bool(!self.lti11_secret_enc.is_empty()));
        }
        v
    }

    /// The deployment id 1.1 launches count as (for category ids).
    pub fn lti11_deployment(&self) -> &str {
        if !self.lti11_deployment_id.is_empty() {
            &self.lti11_deployment_id
        } else {
            self.deployment_ids.first().map_or("lti11", String::as_str)
        }
    }

    /// Record a new deployment id (accept-and-record policy). Returns whether it changed.
    pub fn record_deployment(&mut self, deployment_id: &str) -> bool {
        if self.deployment_ids.iter().any(|d| d == deployment_id) || self.deployment_ids.len() >= 1000 {
            return false;
        }
        self.deployment_ids.push(deployment_id.to_string());
        true
    }
}

/// A registration request body, validated into a [`Registration`].
pub struct RegistrationInput<'a> {
    body: &'a Map<String, Value>,
}

/// The first non-null value among a field's canonical name and its aliases.
fn first<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| body.get(*n).filter(|v| !v.is_null()))
}

impl<'a> RegistrationInput<'a> {
    /// Wrap a JSON body (must be an object).
    pub fn new(body: &'a Value) -> Result<Self, RegistrationError> {
        match body.as_object() {
            Some(body) => Ok(Self { body }),
            None => Err(RegistrationError {
                fields: BTreeMap::from([("body".to_string(), "must be a JSON object".to_string())]),
            }),
        }
    }

    /// Issuer and client id, for the upsert lookup (unvalidated).
    pub fn key(&self) -> (Option<&str>, Option<&str>) {
        let s = |names: &[&str]| first(self.body, names).and_then(Value::as_str);
        (s(&["issuer"]), s(&["lti13ClientId", "clientId"]))
    }

    /// Validate every field and build the registration. `existing` keeps id and creation time
    /// on upsert.
    pub fn validate(
        &self,
        new_id: &str,
        existing: Option<&Registration>,
        now_iso: &str,
        allow_http_loopback: bool,
    ) -> Result<Registration, RegistrationError> {
        let mut errs = BTreeMap::new();
        let mut text = |field: &str, aliases: &[&str], min: usize, max: usize, required: bool| -> String {
            let mut names = vec![field];
            names.extend_from_slice(aliases);
            match first(self.body, &names) {
                None if required => {
                    errs.insert(field.to_string(), "is required".to_string());
                    String::new()
                }
                None => String::new(),
                Some(Value::String(s)) => {
                    let n = s.chars().count();
                    if n < min || n > max {
                        errs.insert(field.to_string(), format!("must be {min}-{max} characters"));
                    }
                    s.trim().to_string()
                }
                Some(_) => {
                    errs.insert(field.to_string(), "must be a string".to_string());
                    String::new()
                }
            }
        };
        let issuer = text("issuer", &[], 1, 500, true);
        let client_id = text("lti13ClientId", &["clientId"], 1, 255, true);
        let name = text("name", &[], 1, 255, true);
        let auth_login_url = text("lti13PlatformOidcAuthUrl", &["authLoginUrl"], 1, 500, true);
        let auth_token_url = text("lti13AuthTokenUrl", &["authTokenUrl"], 1, 500, true);
        let keyset_url = text("lti13KeysUrl", &["keysetUrl"], 1, 500, true);
        let lti_user_id_attribute = text("ltiUserIdAttribute", &[], 0, 255, false);
        let lti13_user_id_claim = text("lti13UserIdClaim", &[], 0, 500, false);
        let lti13_user_id_claim_property = text("lti13UserIdClaimProperty", &[], 0, 255, false);
        let lti11_consumer_key = text("lti11ConsumerKey", &[], 0, 255, false);
        let platform_family = text("platformFamily", &[], 0, 40, false).to_ascii_lowercase();
        let lti11_deployment_id = text("lti11DeploymentId", &[], 0, 255, false);
        for (field, value) in [
            ("issuer", &issuer),
            ("lti13PlatformOidcAuthUrl", &auth_login_url),
            ("lti13AuthTokenUrl", &auth_token_url),
            ("lti13KeysUrl", &keyset_url),
        ] {
            if value.is_empty() || errs.contains_key(field) {
                continue;
            }
            if let Err(e) = HttpUrl::parse(value).and_then(|u| u.require_secure(allow_http_loopback)) {
                errs.insert(field.to_string(), format!("must be a valid URL: {e}"));
            }
        }
        if !lti13_user_id_claim_property.is_empty() && lti13_user_id_claim.is_empty() {
            errs.insert(
                "lti13UserIdClaimProperty".into(),
                "needs lti13UserIdClaim to be set (the claim that holds this property)".into(),
            );
        }

        let mut deployment_ids = Vec::new();
        match (self.body.get("deploymentIds"), self.body.get("deploymentId")) {
            (Some(Value::Array(a)), _) => {
                for d in a {
                    match d.as_str() {
                        Some(s) if !s.is_empty() && s.len() <= 255 => deployment_ids.push(s.to_string()),
                        _ => {
                            errs.insert("deploymentIds".into(), "must be strings of 1-255 characters".into());
                        }
                    }
                }
            }
            (Some(Value::Null) | None, Some(Value::String(s))) if s.len() <= 255 => {
                if !s.is_empty() {
                    deployment_ids.push(s.clone());
                }
            }
            (Some(Value::Null) | None, None | Some(Value::Null)) => {}
            (Some(_), _) => {
                errs.insert("deploymentIds".into(), "must be an array of strings".into());
            }
            (_, Some(_)) => {
                errs.insert("deploymentId".into(), "must be a string of at most 255 characters".into());
            }
        }
        deployment_ids.dedup();

        let deployment_policy = match self.body.get("deploymentPolicy") {
            None | Some(Value::Null) => {
                if deployment_ids.is_empty() {
                    DeploymentPolicy::AcceptAndRecord
                } else {
                    DeploymentPolicy::AllowList
                }
            }
            Some(v) => serde_json::from_value(v.clone()).unwrap_or_else(|_| {
                errs.insert("deploymentPolicy".into(), "must be \"allowList\" or \"acceptAndRecord\"".into());
                DeploymentPolicy::AllowList
            }),
        };
        if deployment_policy == DeploymentPolicy::AllowList
            && deployment_ids.is_empty()
            && !errs.contains_key("deploymentPolicy")
        {
            errs.insert("deploymentIds".into(), "allowList policy needs at least one deployment id".into());
        }

        let leeway_seconds = match self.body.get("leewaySeconds") {
            None | Some(Value::Null) => DEFAULT_LEEWAY_SECS,
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n <= MAX_LEEWAY_SECS => n,
                _ => {
                    errs.insert("leewaySeconds".into(), format!("must be an integer 0-{MAX_LEEWAY_SECS}"));
                    DEFAULT_LEEWAY_SECS
                }
            },
        };

        let mut role_map = BTreeMap::new();
        match self.body.get("roleMap") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if k.is_empty() || k.len() > 500 || role_map.len() >= 200 {
                        errs.insert("roleMap".into(), "keys must be 1-500 characters, at most 200 entries".into());
                        continue;
                    }
                    match v {
                        Value::Null => {
                            role_map.insert(k.clone(), None);
                        }
                        Value::String(s) => match ToolRole::parse(s) {
                            Some(r) => {
                                role_map.insert(k.clone(), Some(r));
                            }
                            None => {
                                errs.insert(
                                    "roleMap".into(),
                                    format!(
                                        "role `{}` must map to admin, moderator, viewer, guest or null",
                                        k.chars().take(80).collect::<String>()
                                    ),
                                );
                            }
                        },
                        _ => {
                            errs.insert("roleMap".into(), "values must be a tool role name or null".into());
                        }
                    }
                }
            }
            Some(_) => {
                errs.insert("roleMap".into(), "must be an object".into());
            }
        }

        let mut disabled_modules = Vec::new();
        match self.body.get("disabledModules") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for m in a {
                    match m.as_str() {
                        Some(code) if MODULES.iter().any(|x| x.code == code) => disabled_modules.push(code.to_string()),
                        _ => {
                            let known: Vec<&str> = MODULES.iter().map(|m| m.code).collect();
                            errs.insert(
                                "disabledModules".into(),
                                format!("must list module codes among {}", known.join(", ")),
                            );
                        }
                    }
                }
            }
            Some(_) => {
                errs.insert("disabledModules".into(), "must be an array of module codes".into());
            }
        }

        // LTI 1.1.
        let lti11_secret_new = match self.body.get("lti11Secret") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if (8..=255).contains(&s.chars().count()) => Some(s.clone()),
            Some(_) => {
                errs.insert("lti11Secret".into(), "must be 8-255 characters".into());
                None
            }
        };
        let lti11_secret_enc = match self.body.get("lti11SecretEnc") {
            Some(Value::String(s)) if s.len() <= 4096 => s.clone(),
            Some(Value::Null) | None => existing.map(|e| e.lti11_secret_enc.clone()).unwrap_or_default(),
            Some(_) => {
                errs.insert("lti11SecretEnc".into(), "must be the encrypted secret from a backup".into());
                String::new()
            }
        };
        if !lti11_consumer_key.is_empty() && lti11_secret_new.is_none() && lti11_secret_enc.is_empty() {
            errs.insert("lti11Secret".into(), "is required with lti11ConsumerKey".into());
        }
        if lti11_consumer_key.is_empty() && lti11_secret_new.is_some() {
            errs.insert("lti11ConsumerKey".into(), "is required with lti11Secret".into());
        }
        if !PLATFORM_FAMILIES.contains(&platform_family.as_str()) {
            errs.insert(
                "platformFamily".into(),
                format!("must be one of {}", PLATFORM_FAMILIES.get(1..).unwrap_or_default().join(", ")),
            );
        }
        let lti11_mismatch_policy = match self.body.get("lti11MismatchPolicy") {
            None | Some(Value::Null) => MismatchPolicy::default(),
            Some(v) => serde_json::from_value(v.clone()).unwrap_or_else(|_| {
                errs.insert(
                    "lti11MismatchPolicy".into(),
                    "must be \"refuse\", \"trustPlatform\" or \"newIdentity\"".into(),
                );
                MismatchPolicy::default()
            }),
        };

        let learner_scores = match self.body.get("learnerScores") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errs.insert("learnerScores".into(), "must be true or false".into());
                false
            }
        };
        let anonymous_launches = match self.body.get("anonymousLaunches") {
            None | Some(Value::Null) => AnonymousPolicy::default(),
            Some(v) => serde_json::from_value(v.clone()).unwrap_or_else(|_| {
                errs.insert("anonymousLaunches".into(), "must be \"refuse\" or \"guest\"".into());
                AnonymousPolicy::default()
            }),
        };
        let default_role = match self.body.get("defaultRole") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if ToolRole::parse(s).is_some() => ToolRole::parse(s),
            Some(_) => {
                errs.insert("defaultRole".into(), "must be admin, moderator, viewer, guest or null".into());
                None
            }
        };

        if !errs.is_empty() {
            return Err(RegistrationError { fields: errs });
        }
        Ok(Registration {
            learner_scores,
            anonymous_launches,
            default_role,
            lti11_consumer_key,
            lti11_secret_enc,
            lti11_secret_new,
            platform_family,
            lti11_deployment_id,
            lti11_mismatch_policy,
            id: existing.map(|e| e.id.clone()).unwrap_or_else(|| new_id.to_string()),
            issuer,
            client_id,
            name,
            auth_login_url,
            auth_token_url,
            keyset_url,
            deployment_ids,
            deployment_policy,
            leeway_seconds,
            lti_user_id_attribute,
            lti13_user_id_claim,
            lti13_user_id_claim_property,
            role_map,
            disabled_modules,
            created_at: existing.map(|e| e.created_at.clone()).unwrap_or_else(|| now_iso.to_string()),
            updated_at: now_iso.to_string(),
        })
    }
}

/// Format 16 random bytes as a UUID v4 string.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::encoding::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}
