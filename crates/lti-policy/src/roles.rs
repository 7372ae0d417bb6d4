//! LTI roles → tool roles (KAF guide §10), overridable per registration.
//!
//! Roles arrive as LIS v2 URIs (`http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor`,
//! `…/membership/Instructor#TeachingAssistant`, `…/institution/person#Administrator`), LTI 1.1
//! URNs (`urn:lti:role:ims/lis/Learner`) or short names (`Instructor`). Context roles decide;
//! institution and system roles count only when no context role is mapped (so a faculty member
//! enrolled as a student stays a student in that course). The most privileged mapped role wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::AccessError;

/// The tool's own roles, least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolRole {
    /// View-only, limited.
    Guest,
    /// View content, submit, take quizzes.
    Viewer,
    /// Upload, manage own content, moderate.
    Moderator,
    /// Course-level administration.
    Admin,
}

impl ToolRole {
    /// Parse a tool role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "moderator" => Some(Self::Moderator),
            "viewer" => Some(Self::Viewer),
            "guest" => Some(Self::Guest),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Moderator => "moderator",
            Self::Viewer => "viewer",
            Self::Guest => "guest",
        }
    }
}

/// Where a role applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleScope {
    /// Course membership role (or a short name, which LTI treats as a context role).
    Context,
    /// Institution or system role.
    Institution,
}

/// Split a role string into its scope and short name.
pub fn parse_role(raw: &str) -> (RoleScope, &str) {
    const INSTITUTION: [&str; 4] = [
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#",
        "urn:lti:instrole:ims/lis/",
        "urn:lti:sysrole:ims/lis/",
    ];
    let raw = raw.trim();
    for p in INSTITUTION {
        if let Some(short) = raw.strip_prefix(p) {
            return (RoleScope::Institution, short.rsplit(['#', '/']).next().unwrap_or(short));
        }
    }
    let short = raw.rsplit(['#', '/']).next().unwrap_or(raw);
    (RoleScope::Context, short)
}

/// The default table (KAF §10), by short name.
pub fn default_mapping(short: &str) -> Option<ToolRole> {
    match short {
        "Instructor" | "Administrator" | "ContentDeveloper" => Some(ToolRole::Admin),
        "TeachingAssistant" => Some(ToolRole::Moderator),
        "Learner" | "Student" => Some(ToolRole::Viewer),
        "Guest" => Some(ToolRole::Guest),
        _ => None,
    }
}

/// Map one role: registration override by exact string, then by short name, then the default.
pub fn map_role(raw: &str, overrides: &BTreeMap<String, Option<ToolRole>>) -> Option<ToolRole> {
    let (_, short) = parse_role(raw);
    if let Some(o) = overrides.get(raw.trim()) {
        return *o;
    }
    if let Some(o) = overrides.get(short) {
        return *o;
    }
    default_mapping(short)
}

/// Resolve the tool role for a launch's roles.
/// [`resolve_role`], falling back to the registration's `defaultRole` when no role is mapped
/// (including a launch with `roles: []`, which LTI allows).
pub fn resolve_role_or(
    roles: &[String],
    overrides: &BTreeMap<String, Option<ToolRole>>,
    default: Option<ToolRole>,
) -> Result<ToolRole, AccessError> {
    match (resolve_role(roles, overrides), default) {
        (Err(AccessError::RoleUnmapped(_)), Some(d)) => Ok(d),
        (r, _) => r,
    }
}

/// The most privileged tool role mapped from `roles` (context roles first).
pub fn resolve_role(roles: &[String], overrides: &BTreeMap<String, Option<ToolRole>>) -> Result<ToolRole, AccessError> {
    let best = |scope: RoleScope| {
        roles.iter().filter(|r| parse_role(r).0 == scope).filter_map(|r| map_role(r, overrides)).max()
    };
    best(RoleScope::Context)
        .or_else(|| best(RoleScope::Institution))
        .ok_or_else(|| AccessError::RoleUnmapped(roles.iter().take(20).cloned().collect()))
}

/// A roster member as the tool app sees it: platform fields plus the tool role.
pub fn map_member(m: &Value, overrides: &BTreeMap<String, Option<ToolRole>>) -> Option<Value> {
    let o = m.as_object()?;
    let user_id = o.get("user_id").and_then(Value::as_str).filter(|u| !u.is_empty())?;
    let roles: Vec<String> = o
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).take(50).map(str::to_string).collect())
        .unwrap_or_default();
    let tool_role = resolve_role(&roles, overrides).ok().map(ToolRole::as_str);
    let mut out = Map::new();
    out.insert("userId".into(), json!(user_id));
    out.insert("roles".into(), json!(roles));
    out.insert("toolRole".into(), json!(tool_role));
    for (from, to) in [
        ("name", "name"),
        ("given_name", "givenName"),
        ("family_name", "familyName"),
        ("email", "email"),
        ("picture", "picture"),
        ("lis_person_sourcedid", "sourcedId"),
    ] {
        if let Some(v) = o.get(from).and_then(Value::as_str) {
            out.insert(to.into(), json!(v));
        }
    }
    out.insert("status".into(), json!(o.get("status").and_then(Value::as_str).unwrap_or("Active")));
    Some(Value::Object(out))
}

/// Whether a role filter (`Learner`, or a full URI) matches a member's roles.
pub fn role_matches(filter: &str, roles: &[String]) -> bool {
    roles.iter().any(|r| r == filter || parse_role(r).1 == filter)
}

/// Whether the tool role may use course-wide services (rosters, line-item admin, others' scores).
pub fn is_staff(role: &str) -> bool {
    matches!(ToolRole::parse(role), Some(ToolRole::Moderator | ToolRole::Admin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members() {
        let m = map_member(&json!({"user_id": "u", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], "name": "N"}), &BTreeMap::new()).unwrap();
        assert_eq!(m["toolRole"], "viewer");
        assert_eq!(m["status"], "Active");
        assert!(map_member(&json!({"roles": []}), &BTreeMap::new()).is_none());
        assert!(role_matches("Learner", &["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner".into()]));
        assert!(is_staff("moderator") && !is_staff("viewer"));
    }
}
