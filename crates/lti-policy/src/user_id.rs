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

use serde::Serialize;
use serde_json::{Map, Value};

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
