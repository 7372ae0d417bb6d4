//! The upgrade path: the `https://purl.imsglobal.org/spec/lti/claim/lti1p1` claim of an LTI 1.3
//! launch, and its `oauth_consumer_key_sign`.
//!
//! Source: 1EdTech, *Learning Tools Interoperability 1.3 Migration Guide*, Final Release,
//! 7 May 2019, section "LTI 1.1 migration claim"
//! (<https://www.imsglobal.org/spec/lti/v1p3/migr#lti-1-1-migration-claim>). The platform
//! proves it holds the tool's LTI 1.1 secret by signing the consumer key together with values
//! of this very launch:
//!
//! ```text
//! base = oauth_consumer_key & deployment_id & iss & client_id & exp & nonce   (joined with '&')
//! oauth_consumer_key_sign = base64( HMAC-SHA256( key = utf8(LTI 1.1 shared secret), utf8(base) ) )
//! ```
//!
//! The guide's worked example (consumer key `179248902`, deployment `689302`, issuer
//! `https://lmsvendor.com`, client id `PM48OJSfGDTAzAo`, exp `1551290856`, nonce
//! `172we8671fd8z`, secret `my-lti11-secret` → `lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps=`)
//! is a unit test here; independent implementations (Sakai/Tsugi, Canvas) check the same
//! vector. Unlike OAuth 1.0a, the secret is the HMAC key as is (not percent-encoded, no `&`).
//!
//! [`check`] answers Verified, Mismatch (with why) or Absent; it never decides: the
//! registration's policy does. Support among platforms is uneven: canvas-lms issue #2287
//! reports Canvas computing the value with a nonce that is not the token's (so it never
//! verifies), Blackboard not sending it, D2L sending it only on migrated links. A mismatch or
//! an absent signature must therefore never silently create a second user.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use lti_core::claims as claim;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::oauth1::ConsumerSecret;

type HmacSha256 = Hmac<Sha256>;

const MAX_FIELD: usize = 1024;

/// The claim's LTI 1.1 identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lti1p1Claim {
    /// The user's LTI 1.1 `user_id`.
    pub user_id: Option<String>,
    /// The LTI 1.1 `context_id`, when it differs from the 1.3 one.
    pub context_id: Option<String>,
    /// The LTI 1.1 `resource_link_id`, when it differs from the 1.3 one.
    pub resource_link_id: Option<String>,
    /// The LTI 1.1 consumer key the platform used for this tool.
    pub oauth_consumer_key: Option<String>,
    oauth_consumer_key_sign: Option<String>,
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    let s = match o.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= MAX_FIELD).then_some(s)
}

impl Lti1p1Claim {
    /// The claim from verified id_token claims; `None` when absent or not an object.
    pub fn from_claims(claims: &Map<String, Value>) -> Option<Self> {
        let o = claims.get(claim::LTI1P1)?.as_object()?;
        Some(Self {
            user_id: text(o, "user_id"),
            context_id: text(o, "context_id"),
            resource_link_id: text(o, "resource_link_id"),
            oauth_consumer_key: text(o, "oauth_consumer_key"),
            oauth_consumer_key_sign: text(o, "oauth_consumer_key_sign"),
        })
    }
}

/// Why a present `oauth_consumer_key_sign` was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchReason {
    /// The claim has no `oauth_consumer_key`, or none of ours (the caller had no secret for it).
    UnknownConsumerKey,
    /// `deployment_id`, `iss`, `exp` or `nonce` is missing or not usable in the base string.
    ClaimsIncomplete,
    /// The signature differs from the one computed with our secret.
    SignatureDiffers,
}

impl MismatchReason {
    /// Stable name for logs and the admin report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownConsumerKey => "unknown_consumer_key",
            Self::ClaimsIncomplete => "claims_incomplete",
            Self::SignatureDiffers => "signature_differs",
        }
    }
}

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lti1p1Check {
    /// The platform signed the consumer key with our LTI 1.1 secret: the claim's 1.1
    /// identifiers may be trusted to continue the 1.1 user and course.
    Verified(Lti1p1Claim),
    /// A signature is present and does not verify: follow the registration's policy and
    /// report it; never silently treat the launch as a new person.
    Mismatch(Lti1p1Claim, MismatchReason),
    /// No claim, or no `oauth_consumer_key_sign` in it (the claim's values, if any, are
    /// unproven).
    Absent(Option<Lti1p1Claim>),
}

impl Lti1p1Check {
    /// The claim, only when verified.
    pub fn verified(&self) -> Option<&Lti1p1Claim> {
        match self {
            Self::Verified(c) => Some(c),
            _ => None,
        }
    }

    /// `verified`, `mismatch` or `absent`, for logs and the admin report.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Verified(_) => "verified",
            Self::Mismatch(..) => "mismatch",
            Self::Absent(_) => "absent",
        }
    }
}

/// The migration guide's base string: `oauth_consumer_key&deployment_id&iss&client_id&exp&nonce`.
pub fn key_sign_base_string(
    consumer_key: &str,
    deployment_id: &str,
    iss: &str,
    client_id: &str,
    exp: i64,
    nonce: &str,
) -> String {
    format!("{consumer_key}&{deployment_id}&{iss}&{client_id}&{exp}&{nonce}")
}

fn mac(secret: &ConsumerSecret, base: &str) -> HmacSha256 {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret.expose().as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(base.as_bytes());
    m
}

/// `oauth_consumer_key_sign` for a base string (what a platform sends; for tests and tools).
pub fn oauth_consumer_key_sign(secret: &ConsumerSecret, base: &str) -> String {
    STANDARD.encode(mac(secret, base).finalize().into_bytes())
}

const SIGN_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn str_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn exp_claim(claims: &Map<String, Value>) -> Option<i64> {
    let n = claims.get("exp")?.as_number()?;
    n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15).map(|f| f as i64))
}

/// Check the `lti1p1` claim of a *verified and validated* 1.3 launch (`claims` are the
/// id_token's claims; `client_id` is the registration's, which validation found in `aud`).
/// `secret` is the LTI 1.1 shared secret the caller holds for the claim's
/// `oauth_consumer_key` (`None` if it holds none):
///
/// 1. no claim, or no `oauth_consumer_key_sign` → Absent;
/// 2. no consumer key or no secret for it → Mismatch(UnknownConsumerKey);
/// 3. `deployment_id`, `iss`, `exp`, `nonce` present → else Mismatch(ClaimsIncomplete);
/// 4. HMAC-SHA256 over the base string compared in constant time → Verified or
///    Mismatch(SignatureDiffers).
pub fn check(claims: &Map<String, Value>, client_id: &str, secret: Option<&ConsumerSecret>) -> Lti1p1Check {
    // 1.
    let Some(c) = Lti1p1Claim::from_claims(claims) else {
        return Lti1p1Check::Absent(None);
    };
    let Some(sign) = c.oauth_consumer_key_sign.clone() else {
        return Lti1p1Check::Absent(Some(c));
    };
    // 2.
    let (Some(key), Some(secret)) = (c.oauth_consumer_key.as_deref(), secret) else {
        return Lti1p1Check::Mismatch(c, MismatchReason::UnknownConsumerKey);
    };
    // 3.
    let parts = (
        str_claim(claims, claim::DEPLOYMENT_ID),
        str_claim(claims, "iss"),
        exp_claim(claims),
        str_claim(claims, "nonce"),
    );
    let (Some(deployment_id), Some(iss), Some(exp), Some(nonce)) = parts else {
        return Lti1p1Check::Mismatch(c, MismatchReason::ClaimsIncomplete);
    };
    // 4.
    let base = key_sign_base_string(key, deployment_id, iss, client_id, exp, nonce);
    let ok = SIGN_B64.decode(sign.as_bytes()).is_ok_and(|provided| mac(secret, &base).verify_slice(&provided).is_ok());
    if ok {
        Lti1p1Check::Verified(c)
    } else {
        Lti1p1Check::Mismatch(c, MismatchReason::SignatureDiffers)
    }
}

#[cfg(test)]
mod tests;
