//! A registration as the tool keeps it: the platform's LTI registration
//! ([`lti_core::registration::Registration`], flattened into the same JSON object) plus what
//! the tool decides per platform — user-id rules, role map, disabled modules, LTI 1.1, and the
//! switches for anonymous launches and learner scores. KAF names are kept
//! (`lti13PlatformOidcAuthUrl`, `ltiUserIdAttribute`, `lti13UserIdClaim`, …).
//!
//! [`RegistrationInput::validate`] applies the validation table of the Creatiq guide and
//! accepts its field names as aliases, so either style of client works. Each field is checked
//! by its own function; every bad field is reported at once.

use std::collections::BTreeMap;

use lti_core::error::RegistrationError;
use lti_core::registration::Registration as LtiRegistration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::modules::MODULES;
use crate::presets;
use crate::roles::ToolRole;

/// A stored registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The LTI part: id, issuer, client id, endpoints, deployments, leeway.
    #[serde(flatten)]
    lti: LtiRegistration,
    /// Display name.
    pub name: String,
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
    /// `schoology`, `other` or empty.
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
    /// Whether launches that carry `custom_caliper_profile_url` send Caliper events to the
    /// platform's event store (default: yes; a registration stored before the switch existed
    /// reads as on).
    #[serde(default = "yes")]
    pub caliper: bool,
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

impl AsRef<LtiRegistration> for Registration {
    fn as_ref(&self) -> &LtiRegistration {
        &self.lti
    }
}

impl Registration {
    /// The LTI part (what login and launch validation check).
    pub fn lti(&self) -> &LtiRegistration {
        &self.lti
    }

    /// Opaque id (UUID form).
    pub fn id(&self) -> &str {
        self.lti.id()
    }

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
            self.lti.deployment_ids().first().map_or("lti11", |d| d.as_str())
        }
    }

    /// Record a new deployment id (accept-and-record policy). Returns whether it changed.
    pub fn record_deployment(&mut self, deployment_id: &str) -> bool {
        self.lti.record_deployment(deployment_id)
    }

    /// This registration with the user-id rule of `body` (`ltiUserIdAttribute`,
    /// `lti13UserIdClaim`, `lti13UserIdClaimProperty`; absent ones are cleared), validated as
    /// a whole registration's are: the inspector's "apply" changes nothing else.
    pub fn with_user_id_rule(&self, body: &Value, now_iso: &str) -> Result<Registration, RegistrationError> {
        let Some(b) = body.as_object() else {
            return Err(RegistrationError {
                fields: BTreeMap::from([("body".to_string(), "must be a JSON object".to_string())]),
            });
        };
        let mut errs = Errors::new();
        for k in b.keys() {
            if !["ltiUserIdAttribute", "lti13UserIdClaim", "lti13UserIdClaimProperty"].contains(&k.as_str()) {
                errs.insert(k.clone(), "not part of the user-id rule".into());
            }
        }
        let (attribute, claim, property) = user_id_rule(b, &mut errs);
        if !errs.is_empty() {
            return Err(RegistrationError { fields: errs });
        }
        let mut r = self.clone();
        r.lti_user_id_attribute = attribute;
        r.lti13_user_id_claim = claim;
        r.lti13_user_id_claim_property = property;
        r.updated_at = now_iso.to_string();
        Ok(r)
    }
}

/// A registration request body, validated into a [`Registration`].
pub struct RegistrationInput<'a> {
    body: &'a Map<String, Value>,
}

/// Field → what is wrong with it.
type Errors = BTreeMap<String, String>;

/// The first non-null value among a field's canonical name and its aliases.
fn first<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| body.get(*n).filter(|v| !v.is_null()))
}

/// An optional text field of at most `max` characters (trimmed).
fn text(body: &Map<String, Value>, field: &str, max: usize, errs: &mut Errors) -> String {
    match body.get(field).filter(|v| !v.is_null()) {
        None => String::new(),
        Some(Value::String(s)) if s.chars().count() <= max => s.trim().to_string(),
        Some(Value::String(_)) => {
            errs.insert(field.to_string(), format!("must be 0-{max} characters"));
            String::new()
        }
        Some(_) => {
            errs.insert(field.to_string(), "must be a string".to_string());
            String::new()
        }
    }
}

/// A field parsed as JSON into `T` (an enum by wire name), `default` when absent.
fn choice<T: serde::de::DeserializeOwned>(
    body: &Map<String, Value>,
    field: &str,
    default: T,
    why: &str,
    errs: &mut Errors,
) -> T {
    match body.get(field) {
        None | Some(Value::Null) => default,
        Some(v) => serde_json::from_value(v.clone()).unwrap_or_else(|_| {
            errs.insert(field.to_string(), why.to_string());
            default
        }),
    }
}

fn name(body: &Map<String, Value>, errs: &mut Errors) -> String {
    match first(body, &["name"]) {
        None => {
            errs.insert("name".into(), "is required".into());
            String::new()
        }
        Some(Value::String(s)) if (1..=255).contains(&s.chars().count()) => s.trim().to_string(),
        Some(Value::String(_)) => {
            errs.insert("name".into(), "must be 1-255 characters".into());
            String::new()
        }
        Some(_) => {
            errs.insert("name".into(), "must be a string".into());
            String::new()
        }
    }
}

fn role_map(body: &Map<String, Value>, errs: &mut Errors) -> BTreeMap<String, Option<ToolRole>> {
    let mut out = BTreeMap::new();
    let m = match body.get("roleMap") {
        None | Some(Value::Null) => return out,
        Some(Value::Object(m)) => m,
        Some(_) => {
            errs.insert("roleMap".into(), "must be an object".into());
            return out;
        }
    };
    for (k, v) in m {
        if k.is_empty() || k.len() > 500 || out.len() >= 200 {
            errs.insert("roleMap".into(), "keys must be 1-500 characters, at most 200 entries".into());
            continue;
        }
        match v {
            Value::Null => {
                out.insert(k.clone(), None);
            }
            Value::String(s) => match ToolRole::parse(s) {
                Some(r) => {
                    out.insert(k.clone(), Some(r));
                }
                None => {
                    let role: String = k.chars().take(80).collect();
                    errs.insert(
                        "roleMap".into(),
                        format!("role `{role}` must map to admin, moderator, viewer, guest or null"),
                    );
                }
            },
            _ => {
                errs.insert("roleMap".into(), "values must be a tool role name or null".into());
            }
        }
    }
    out
}

fn disabled_modules(body: &Map<String, Value>, errs: &mut Errors) -> Vec<String> {
    let mut out = Vec::new();
    match body.get("disabledModules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for m in a {
                match m.as_str() {
                    Some(code) if MODULES.iter().any(|x| x.code == code) => out.push(code.to_string()),
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
    out
}

/// The LTI 1.1 fields: consumer key, a new secret or the sealed one (from a backup, or kept on
/// update), and their pairing rules.
struct Lti11 {
    consumer_key: String,
    secret_new: Option<String>,
    secret_enc: String,
}

fn lti11(body: &Map<String, Value>, existing: Option<&Registration>, errs: &mut Errors) -> Lti11 {
    let consumer_key = text(body, "lti11ConsumerKey", 255, errs);
    let secret_new = match body.get("lti11Secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if (8..=255).contains(&s.chars().count()) => Some(s.clone()),
        Some(_) => {
            errs.insert("lti11Secret".into(), "must be 8-255 characters".into());
            None
        }
    };
    let secret_enc = match body.get("lti11SecretEnc") {
        Some(Value::String(s)) if s.len() <= 4096 => s.clone(),
        Some(Value::Null) | None => existing.map(|e| e.lti11_secret_enc.clone()).unwrap_or_default(),
        Some(_) => {
            errs.insert("lti11SecretEnc".into(), "must be the encrypted secret from a backup".into());
            String::new()
        }
    };
    if !consumer_key.is_empty() && secret_new.is_none() && secret_enc.is_empty() {
        errs.insert("lti11Secret".into(), "is required with lti11ConsumerKey".into());
    }
    if consumer_key.is_empty() && secret_new.is_some() {
        errs.insert("lti11ConsumerKey".into(), "is required with lti11Secret".into());
    }
    Lti11 { consumer_key, secret_new, secret_enc }
}

fn platform_family(body: &Map<String, Value>, errs: &mut Errors) -> String {
    let family = text(body, "platformFamily", 40, errs).to_ascii_lowercase();
    if !PLATFORM_FAMILIES.contains(&family.as_str()) {
        errs.insert(
            "platformFamily".into(),
            format!("must be one of {}", PLATFORM_FAMILIES.get(1..).unwrap_or_default().join(", ")),
        );
    }
    family
}

fn learner_scores(body: &Map<String, Value>, errs: &mut Errors) -> bool {
    match body.get("learnerScores") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.insert("learnerScores".into(), "must be true or false".into());
            false
        }
    }
}

fn yes() -> bool {
    true
}

/// `caliper`: true (default) or false.
fn caliper(body: &Map<String, Value>, errs: &mut Errors) -> bool {
    match body.get("caliper") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.insert("caliper".into(), "must be true (send Caliper events, the default) or false".into());
            true
        }
    }
}

fn default_role(body: &Map<String, Value>, errs: &mut Errors) -> Option<ToolRole> {
    match body.get("defaultRole") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if ToolRole::parse(s).is_some() => ToolRole::parse(s),
        Some(_) => {
            errs.insert("defaultRole".into(), "must be admin, moderator, viewer, guest or null".into());
            None
        }
    }
}

/// The user-id rule fields: `ltiUserIdAttribute`, `lti13UserIdClaim`, `…Property` (which needs
/// the claim).
fn user_id_rule(body: &Map<String, Value>, errs: &mut Errors) -> (String, String, String) {
    let attribute = text(body, "ltiUserIdAttribute", 255, errs);
    let claim = text(body, "lti13UserIdClaim", 500, errs);
    let property = text(body, "lti13UserIdClaimProperty", 255, errs);
    if !property.is_empty() && claim.is_empty() {
        errs.insert(
            "lti13UserIdClaimProperty".into(),
            "needs lti13UserIdClaim to be set (the claim that holds this property)".into(),
        );
    }
    (attribute, claim, property)
}

/// A preset's own errors join the others. A field the preset could not fill (an input is
/// missing) is not reported again as "is required"; an error on a field the preset filled is
/// reported on the input it came from (`siteUrl: must use https://`).
fn merge_preset_errors(expansion: &presets::Expansion, errs: &mut Errors) {
    for field in &expansion.unfilled {
        errs.remove(*field);
    }
    for (field, source) in &expansion.derived {
        if let Some(why) = errs.remove(*field) {
            errs.entry((*source).to_string()).or_insert_with(|| format!("{why} (it gives {field})"));
        }
    }
    for (k, v) in &expansion.errors {
        errs.insert(k.clone(), v.clone());
    }
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

    /// Issuer and client id, for the upsert lookup (unvalidated; after the body's preset, so a
    /// preset registration finds the one it updates).
    pub fn key(&self) -> (Option<String>, Option<String>) {
        let body = presets::expand(self.body).body;
        let s = |names: &[&str]| first(&body, names).and_then(Value::as_str).map(str::to_string);
        (s(&["issuer"]), s(&["lti13ClientId", "clientId"]))
    }

    /// Validate every field and build the registration. `existing` keeps id, creation time
    /// and the sealed 1.1 secret on upsert.
    pub fn validate(
        &self,
        new_id: &str,
        existing: Option<&Registration>,
        now_iso: &str,
        allow_http_loopback: bool,
    ) -> Result<Registration, RegistrationError> {
        let expansion = presets::expand(self.body);
        let b = &expansion.body;
        let mut errs = Errors::new();
        let id = existing.map_or(new_id, Registration::id);
        let lti = LtiRegistration::from_json(id, b, allow_http_loopback, &mut errs);
        let name = name(b, &mut errs);
        let (lti_user_id_attribute, lti13_user_id_claim, lti13_user_id_claim_property) = user_id_rule(b, &mut errs);
        let role_map = role_map(b, &mut errs);
        let disabled_modules = disabled_modules(b, &mut errs);
        let lti11 = lti11(b, existing, &mut errs);
        let platform_family = platform_family(b, &mut errs);
        let lti11_deployment_id = text(b, "lti11DeploymentId", 255, &mut errs);
        let mismatch_why = "must be \"refuse\", \"trustPlatform\" or \"newIdentity\"";
        let lti11_mismatch_policy =
            choice(b, "lti11MismatchPolicy", MismatchPolicy::default(), mismatch_why, &mut errs);
        let learner_scores = learner_scores(b, &mut errs);
        let caliper = caliper(b, &mut errs);
        let anonymous_why = "must be \"refuse\" or \"guest\"";
        let anonymous_launches = choice(b, "anonymousLaunches", AnonymousPolicy::default(), anonymous_why, &mut errs);
        let default_role = default_role(b, &mut errs);
        merge_preset_errors(&expansion, &mut errs);
        let lti = match lti {
            Some(lti) if errs.is_empty() => lti,
            _ => return Err(RegistrationError { fields: errs }),
        };
        Ok(Registration {
            lti,
            name,
            lti_user_id_attribute,
            lti13_user_id_claim,
            lti13_user_id_claim_property,
            role_map,
            disabled_modules,
            lti11_consumer_key: lti11.consumer_key,
            lti11_secret_enc: lti11.secret_enc,
            lti11_secret_new: lti11.secret_new,
            platform_family,
            lti11_deployment_id,
            lti11_mismatch_policy,
            learner_scores,
            caliper,
            anonymous_launches,
            default_role,
            created_at: existing.map(|e| e.created_at.clone()).unwrap_or_else(|| now_iso.to_string()),
            updated_at: now_iso.to_string(),
        })
    }
}
