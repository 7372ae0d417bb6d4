//! Invitations to LTI Dynamic Registration. The registration URL an LMS opens is not open to the
//! internet: it carries a one-time, expiring invitation that an admin created. The URL holds the
//! invitation's secret; the store keeps only its SHA-256 ([`secret_digest`]), so a copy of the
//! store registers nothing.
//!
//! An invitation is `open` until a registration with it starts; then `busy` (a short lease, so
//! two windows cannot both register with it, and a flow that dies mid-way frees it again); then
//! `used` once a registration was saved. A flow that fails before anything was saved returns it
//! to `open`, so the admin can fix the LMS side and retry with the same link until it expires.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Coded, ErrorCode};

/// Default lifetime of an invitation.
pub const DEFAULT_TTL_SECS: i64 = 24 * 3600;
/// Shortest lifetime an admin may ask for (enough to paste the link into the LMS at once).
pub const MIN_TTL_SECS: i64 = 30;
/// Longest lifetime an admin may ask for.
pub const MAX_TTL_SECS: i64 = 7 * 24 * 3600;
/// How long a registration in progress holds its invitation (longer than the flow's two
/// outbound calls of at most 10 s each).
pub const LEASE_SECS: i64 = 60;
/// How long a used or expired invitation is still listed (and answers "used"/"expired").
pub const KEEP_SECS: i64 = 30 * 24 * 3600;

/// An admin's request for an invitation (`POST /lti/invitations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRequest {
    /// The name the registration will get (else one made from the LMS's answer).
    pub name: Option<String>,
    /// Lifetime in seconds.
    pub ttl_secs: i64,
}

impl InvitationRequest {
    /// Read the request body (`{"name"?, "expiresInSeconds"?}`); every bad field is reported.
    pub fn parse(body: &Value) -> Result<Self, BTreeMap<String, String>> {
        let mut errs = BTreeMap::new();
        let Some(o) = body.as_object() else {
            errs.insert("body".into(), "must be a JSON object".into());
            return Err(errs);
        };
        let name = match o.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if (1..=255).contains(&s.trim().chars().count()) => Some(s.trim().to_string()),
            Some(_) => {
                errs.insert("name".into(), "must be 1-255 characters".into());
                None
            }
        };
        let ttl_secs = match o.get("expiresInSeconds") {
            None | Some(Value::Null) => DEFAULT_TTL_SECS,
            Some(v) => match v.as_i64() {
                Some(n) if (MIN_TTL_SECS..=MAX_TTL_SECS).contains(&n) => n,
                _ => {
                    errs.insert(
                        "expiresInSeconds".into(),
                        format!("must be an integer {MIN_TTL_SECS}-{MAX_TTL_SECS} (default {DEFAULT_TTL_SECS})"),
                    );
                    DEFAULT_TTL_SECS
                }
            },
        };
        for k in o.keys() {
            if !matches!(k.as_str(), "name" | "expiresInSeconds") {
                errs.insert(k.clone(), "unknown field (name, expiresInSeconds)".into());
            }
        }
        if errs.is_empty() {
            Ok(Self { name, ttl_secs })
        } else {
            Err(errs)
        }
    }
}

/// The stored digest of an invitation secret (hex SHA-256).
pub fn secret_digest(secret: &str) -> String {
    lti_core::encoding::hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether a path segment could be an invitation secret (43 base64url characters: 32 bytes).
pub fn looks_like_secret(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An invitation as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// Public id (for the admin list and revoking).
    pub id: String,
    /// The registration's name, when the admin gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why an invitation cannot be used.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// No invitation in the URL, or none with this secret (never issued, or revoked).
    #[error("invitation unknown")]
    Invalid,
    /// Past its expiry.
    #[error("invitation expired")]
    Expired,
    /// Already used to register, or a registration with it is running.
    #[error("invitation used or in use")]
    Used,
}

impl Coded for InvitationError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid => ErrorCode::InvitationInvalid,
            Self::Expired => ErrorCode::InvitationExpired,
            Self::Used => ErrorCode::InvitationUsed,
        }
    }
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Usable.
    Open,
    /// A registration holds it until `lease_until`.
    Busy {
        /// Unix seconds.
        lease_until: i64,
    },
    /// A registration was saved with it.
    Used,
}

impl Status {
    /// The stored form (`open`, `busy`, `used`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Busy { .. } => "busy",
            Self::Used => "used",
        }
    }
}

/// Whether an invitation found in state `status` may start a registration at `now` (a busy
/// invitation whose lease ran out may: its flow died).
pub fn may_start(inv: Option<(&Invitation, Status)>, now: i64) -> Result<(), InvitationError> {
    let (inv, status) = inv.ok_or(InvitationError::Invalid)?;
    match status {
        Status::Used => Err(InvitationError::Used),
        _ if now >= inv.expires_at => Err(InvitationError::Expired),
        Status::Busy { lease_until } if now < lease_until => Err(InvitationError::Used),
        _ => Ok(()),
    }
}

/// What the admin list shows of an invitation at `now`.
pub fn listed(inv: &Invitation, status: Status, registration_id: Option<&str>, now: i64) -> Value {
    let state = match status {
        Status::Used => "used",
        _ if now >= inv.expires_at => "expired",
        Status::Busy { lease_until } if now < lease_until => "registering",
        _ => "open",
    };
    serde_json::json!({
        "id": inv.id, "name": inv.name, "createdAt": inv.created_at, "expiresAt": inv.expires_at,
        "state": state, "registrationId": registration_id,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn inv() -> Invitation {
        Invitation { id: "i-1".into(), name: None, created_at: 1_000, expires_at: 2_000 }
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        assert_eq!(
            InvitationRequest::parse(&json!({})).unwrap(),
            InvitationRequest { name: None, ttl_secs: DEFAULT_TTL_SECS }
        );
        let r = InvitationRequest::parse(&json!({"name": " Moodle prod ", "expiresInSeconds": 600})).unwrap();
        assert_eq!(r, InvitationRequest { name: Some("Moodle prod".into()), ttl_secs: 600 });
        let e = InvitationRequest::parse(&json!({"name": "", "expiresInSeconds": 10, "x": 1})).unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["expiresInSeconds", "name", "x"]);
        assert!(InvitationRequest::parse(&json!({"expiresInSeconds": MAX_TTL_SECS + 1})).is_err());
        assert!(InvitationRequest::parse(&json!({"expiresInSeconds": "600"})).is_err());
        assert_eq!(InvitationRequest::parse(&json!([])).unwrap_err().keys().collect::<Vec<_>>(), ["body"]);
    }

    #[test]
    fn each_state_decides_whether_a_registration_may_start() {
        let i = inv();
        assert_eq!(may_start(None, 1_500), Err(InvitationError::Invalid));
        assert_eq!(may_start(Some((&i, Status::Open)), 1_500), Ok(()));
        assert_eq!(may_start(Some((&i, Status::Open)), 2_000), Err(InvitationError::Expired));
        assert_eq!(may_start(Some((&i, Status::Used)), 1_500), Err(InvitationError::Used));
        assert_eq!(
            may_start(Some((&i, Status::Used)), 3_000),
            Err(InvitationError::Used),
            "used says used, even later"
        );
        assert_eq!(may_start(Some((&i, Status::Busy { lease_until: 1_560 })), 1_500), Err(InvitationError::Used));
        assert_eq!(
            may_start(Some((&i, Status::Busy { lease_until: 1_560 })), 1_560),
            Ok(()),
            "a dead flow's lease ran out"
        );
        assert_eq!(InvitationError::Expired.code(), ErrorCode::InvitationExpired);
        assert_eq!(InvitationError::Used.code().status(), 409);
    }

    #[test]
    fn the_list_shows_the_state_at_now() {
        let i = inv();
        assert_eq!(listed(&i, Status::Open, None, 1_500)["state"], "open");
        assert_eq!(listed(&i, Status::Open, None, 2_500)["state"], "expired");
        assert_eq!(listed(&i, Status::Busy { lease_until: 1_600 }, None, 1_500)["state"], "registering");
        assert_eq!(listed(&i, Status::Used, Some("reg-1"), 2_500)["registrationId"], "reg-1");
    }

    #[test]
    fn secrets_are_stored_as_digests() {
        let d = secret_digest("abc");
        assert_eq!(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(looks_like_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_"));
        assert!(!looks_like_secret("short"));
        assert!(!looks_like_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/"));
    }
}
