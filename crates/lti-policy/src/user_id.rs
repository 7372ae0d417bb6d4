//! Which claim becomes the user id — the order of operations of the KAF user-id guide:
//!
//! 1. `ltiUserIdAttribute`, when set and present in the launch. It names an LTI 1.1 parameter
//!    (mapped to its LTI 1.3 home: `user_id` → `sub`, `lis_person_sourcedid` →
//!    `lis.person_sourcedid`, `lis_person_contact_email_primary` → `email`, `custom_x` →
//!    `custom.x`, `ext_x` → `ext.x`) or a top-level claim by name;
//! 2. else `lti13UserIdClaim`, when set and present: a string claim, or, with
//!    `lti13UserIdClaimProperty`, that property of an object claim (`…/claim/custom` →
//!    `custom_username`, `…/claim/lti1p1` → `user_id`);
//! 3. else `sub` — but only when neither rule is configured. A configured rule whose claim is
//!    absent is refused (`user_id_missing`) rather than silently falling back to `sub`, which
//!    would create a second user for the same person.
//!
//! [`suggestions`] reads one real launch and lists every attribute that could be the user id,
//! with the exact configuration that selects it, decided by the same code as launches.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::authorize::{decide_user_id, LegacyIdentity};
use crate::error::AccessError;
use crate::registration::Registration;
use lti_core::claims as claim;

/// Which rule produced the user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UserIdSource {
    /// `ltiUserIdAttribute`
    LtiUserIdAttribute,
    /// `lti13UserIdClaim` (+ property)
    Lti13UserIdClaim,
    /// `sub`
    Sub,
    /// The verified `lti1p1` migration claim's `user_id` (the LTI 1.1 identity kept after an
    /// upgrade).
    Lti1p1,
    /// No user: an anonymous launch admitted as a guest.
    Anonymous,
}

impl UserIdSource {
    /// camelCase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LtiUserIdAttribute => "ltiUserIdAttribute",
            Self::Lti13UserIdClaim => "lti13UserIdClaim",
            Self::Sub => "sub",
            Self::Lti1p1 => "lti1p1",
            Self::Anonymous => "anonymous",
        }
    }
}

const MAX_USER_ID: usize = 255;

fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= MAX_USER_ID).then_some(s)
}

fn lti11_attribute(claims: &Map<String, Value>, attr: &str) -> Option<String> {
    let nested = |c: &str, p: &str| claims.get(c).and_then(|o| o.get(p)).and_then(scalar);
    let mapped = match attr {
        "user_id" => claims.get("sub").and_then(scalar),
        "lis_person_sourcedid" => nested("https://purl.imsglobal.org/spec/lti/claim/lis", "person_sourcedid"),
        "lis_person_contact_email_primary" => claims.get("email").and_then(scalar),
        "lis_person_name_full" => claims.get("name").and_then(scalar),
        "lis_person_name_given" => claims.get("given_name").and_then(scalar),
        "lis_person_name_family" => claims.get("family_name").and_then(scalar),
        a => {
            if let Some(k) = a.strip_prefix("custom_") {
                nested(claim::CUSTOM, a).or_else(|| nested(claim::CUSTOM, k))
            } else if let Some(k) = a.strip_prefix("ext_") {
                nested("https://purl.imsglobal.org/spec/lti/claim/ext", a)
                    .or_else(|| nested("https://purl.imsglobal.org/spec/lti/claim/ext", k))
            } else {
                None
            }
        }
    };
    mapped.or_else(|| claims.get(attr).and_then(scalar))
}

/// Apply the order of operations.
pub fn resolve_user_id(claims: &Map<String, Value>, reg: &Registration) -> Result<(String, UserIdSource), AccessError> {
    let attr = reg.lti_user_id_attribute.trim();
    if !attr.is_empty() {
        if let Some(v) = lti11_attribute(claims, attr) {
            return Ok((v, UserIdSource::LtiUserIdAttribute));
        }
    }
    let claim_name = reg.lti13_user_id_claim.trim();
    if !claim_name.is_empty() {
        let prop = reg.lti13_user_id_claim_property.trim();
        let found = match claims.get(claim_name) {
            Some(Value::Object(o)) if !prop.is_empty() => o.get(prop).and_then(scalar),
            Some(v) if prop.is_empty() => scalar(v),
            _ => None,
        };
        return match found {
            Some(v) => Ok((v, UserIdSource::Lti13UserIdClaim)),
            None if prop.is_empty() => Err(AccessError::UserIdMissing(claim_name.chars().take(200).collect())),
            None => Err(AccessError::UserIdMissing(format!(
                "{} → {}",
                claim_name.chars().take(200).collect::<String>(),
                prop.chars().take(100).collect::<String>()
            ))),
        };
    }
    if !attr.is_empty() {
        return Err(AccessError::UserIdMissing(attr.chars().take(200).collect()));
    }
    claims
        .get("sub")
        .and_then(scalar)
        .map(|s| (s, UserIdSource::Sub))
        .ok_or_else(|| AccessError::UserIdMissing("sub".into()))
}

/// The three user-id fields of a registration (`ltiUserIdAttribute`, `lti13UserIdClaim`,
/// `lti13UserIdClaimProperty`); all empty is the default rule (`sub`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdRule {
    /// `ltiUserIdAttribute`.
    pub lti_user_id_attribute: String,
    /// `lti13UserIdClaim`.
    pub lti13_user_id_claim: String,
    /// `lti13UserIdClaimProperty`.
    pub lti13_user_id_claim_property: String,
}

impl UserIdRule {
    fn attribute(a: &str) -> Self {
        Self { lti_user_id_attribute: a.to_string(), ..Self::default() }
    }

    fn claim(c: &str, p: &str) -> Self {
        Self { lti13_user_id_claim: c.to_string(), lti13_user_id_claim_property: p.to_string(), ..Self::default() }
    }

    /// The rule a registration has.
    pub fn of(reg: &Registration) -> Self {
        Self {
            lti_user_id_attribute: reg.lti_user_id_attribute.trim().to_string(),
            lti13_user_id_claim: reg.lti13_user_id_claim.trim().to_string(),
            lti13_user_id_claim_property: reg.lti13_user_id_claim_property.trim().to_string(),
        }
    }

    /// `reg` with this rule instead of its own.
    fn applied(&self, reg: &Registration) -> Registration {
        let mut r = reg.clone();
        r.lti_user_id_attribute = self.lti_user_id_attribute.clone();
        r.lti13_user_id_claim = self.lti13_user_id_claim.clone();
        r.lti13_user_id_claim_property = self.lti13_user_id_claim_property.clone();
        r
    }
}

/// One way to choose the user id, read off a real launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// Where the value is in the launch (`sub`, `custom: username`, a claim and property, …).
    pub attribute: String,
    /// The user id this rule gives for that launch — decided by the launch's own code.
    pub value: String,
    /// The registration fields that select it (set all three: empty ones clear a rule).
    pub configuration: UserIdRule,
    /// Which rule produced it.
    pub source: UserIdSource,
    /// The value equals the LTI 1.1 `user_id` the launch's `lti1p1` claim (or its verified
    /// upgrade) names: the choice that keeps upgraded users the same people.
    pub matches_lti11_user_id: bool,
    /// The registration's own rule.
    pub current: bool,
}

/// Claims that are the protocol's own, never a user id (the LTI ones this crate reads are
/// offered through their own rules: custom, ext, lis, lti1p1).
const NOT_USER_IDS: &[&str] = &[
    "iss",
    "aud",
    "azp",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "sub",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "picture",
    "locale",
    "email",
    claim::MESSAGE_TYPE,
    claim::VERSION,
    claim::DEPLOYMENT_ID,
    claim::TARGET_LINK_URI,
    claim::RESOURCE_LINK,
    claim::ROLES,
    claim::CONTEXT,
    claim::CUSTOM,
    claim::LTI1P1,
    claim::FOR_USER,
    claim::DEEP_LINKING_SETTINGS,
    claim::LAUNCH_PRESENTATION,
    claim::TOOL_PLATFORM,
    "https://purl.imsglobal.org/spec/lti/claim/lis",
    "https://purl.imsglobal.org/spec/lti/claim/ext",
    "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor",
    "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
    "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",
    "https://purl.imsglobal.org/spec/lti-dl/claim/data",
];

/// Most suggestions listed.
const MAX_SUGGESTIONS: usize = 60;

/// Every attribute of a launch that could be the user id, each with the exact configuration
/// that selects it. Candidates come from the claims (`sub`; the `lis` sourced id; the email;
/// each custom and `ext` property; the `lti1p1` claim's `user_id`; any other string claim or
/// property of an object claim, such as an LMS's extensions); each is then run through
/// [`decide_user_id`] — the function launches use — with `legacy` (an upgraded link's verified
/// 1.1 identity), and kept only if that gives a user id, so a suggestion cannot disagree with
/// what the next launch does.
pub fn suggestions(
    claims: &Map<String, Value>,
    reg: &Registration,
    legacy: Option<&LegacyIdentity>,
) -> Vec<Suggestion> {
    suggestions_knowing(claims, reg, legacy, &[])
}

/// [`suggestions`] when LTI 1.1 user ids are known from elsewhere (the person's own LTI 1.1
/// launch, whose claims are its parameters read as 1.3 claims; or the same registration's kept
/// LTI 1.1 launches): a suggestion giving one of them is marked `matchesLti11UserId` too.
pub fn suggestions_knowing(
    claims: &Map<String, Value>,
    reg: &Registration,
    legacy: Option<&LegacyIdentity>,
    known_lti11_user_ids: &[&str],
) -> Vec<Suggestion> {
    let mut candidates: Vec<(String, UserIdRule)> = vec![
        ("sub".into(), UserIdRule::default()),
        ("lis: person_sourcedid".into(), UserIdRule::attribute("lis_person_sourcedid")),
        ("email".into(), UserIdRule::attribute("lis_person_contact_email_primary")),
    ];
    let props = |c: &str| -> Vec<String> {
        claims.get(c).and_then(Value::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    for k in props(claim::CUSTOM) {
        let attr = if k.starts_with("custom_") { k.clone() } else { format!("custom_{k}") };
        candidates.push((format!("custom: {k}"), UserIdRule::attribute(&attr)));
    }
    for k in props("https://purl.imsglobal.org/spec/lti/claim/ext") {
        let attr = if k.starts_with("ext_") { k.clone() } else { format!("ext_{k}") };
        candidates.push((format!("ext: {k}"), UserIdRule::attribute(&attr)));
    }
    candidates.push(("lti1p1: user_id".into(), UserIdRule::claim(claim::LTI1P1, "user_id")));
    for (name, v) in claims.iter().filter(|(k, _)| !NOT_USER_IDS.contains(&k.as_str())) {
        match v {
            Value::Object(o) => {
                for p in o.keys() {
                    candidates.push((format!("{name} → {p}"), UserIdRule::claim(name, p)));
                }
            }
            _ => candidates.push((name.clone(), UserIdRule::claim(name, ""))),
        }
    }
    let lti11_user_id = legacy
        .map(|l| l.user_id.clone())
        .or_else(|| claims.get(claim::LTI1P1).and_then(|c| c.get("user_id")).and_then(scalar));
    let is_lti11 = |v: &str| lti11_user_id.as_deref() == Some(v) || known_lti11_user_ids.contains(&v);
    let current = UserIdRule::of(reg);
    let mut out: Vec<Suggestion> = Vec::new();
    for (attribute, rule) in candidates {
        if out.len() >= MAX_SUGGESTIONS || out.iter().any(|s| s.configuration == rule) {
            continue;
        }
        // The launch's own decision, under this rule.
        if let Ok((value, source)) = decide_user_id(claims, &rule.applied(reg), legacy) {
            out.push(Suggestion {
                attribute: attribute.chars().take(300).collect(),
                matches_lti11_user_id: is_lti11(&value),
                current: rule == current,
                value,
                configuration: rule,
                source,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
