//! Errors, split by cause, each with a stable [`ErrorCode`].
//!
//! The code names what went wrong in the protocol (a token, a claim, a state, a platform
//! answer); the `Display` text of a cause is for logs only (it may name claims or values).
//! HTTP statuses and the sentences people read are the product's: `lti-policy` gives every
//! code both, and adds the codes of its own decisions.

use std::collections::BTreeMap;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// Every rejection this crate can produce. The string form (`as_str`) is stable.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)*];

            /// Stable machine-readable code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    /// OIDC login request lacks `iss`, `login_hint` or `target_link_uri`.
    LoginParamMissing = "login_param_missing",
    /// No registration for this issuer (and client id).
    PlatformUnregistered = "platform_unregistered",
    /// Issuer has several registrations and the login named no `client_id`.
    PlatformAmbiguous = "platform_ambiguous",
    /// `target_link_uri` does not point at this tool.
    TargetLinkUriInvalid = "target_link_uri_invalid",
    /// Launch POST lacks `id_token` or `state`.
    LaunchParamMissing = "launch_param_missing",
    /// `state` is malformed or its signature does not verify.
    StateInvalid = "state_invalid",
    /// `state` is older than its 10-minute lifetime.
    StateExpired = "state_expired",
    /// `state` was already consumed by an earlier launch.
    StateReused = "state_reused",
    /// A state cookie was sent but does not belong to this state.
    StateCookieMismatch = "state_cookie_mismatch",
    /// `id_token` is not a well-formed compact JWS with JSON header and claims.
    TokenMalformed = "token_malformed",
    /// Header `alg` is not RS256.
    TokenAlgNotAllowed = "token_alg_not_allowed",
    /// Header has no `kid`.
    TokenKidMissing = "token_kid_missing",
    /// No key with the token's `kid` in the platform's key set, or the key is unusable.
    KeyNotFound = "key_not_found",
    /// The RS256 signature does not verify.
    SignatureInvalid = "signature_invalid",
    /// `iss` differs from the registration's issuer.
    IssuerMismatch = "issuer_mismatch",
    /// `aud` does not contain our client id.
    AudienceMismatch = "audience_mismatch",
    /// Several audiences and `azp` is not our client id.
    AzpMismatch = "azp_mismatch",
    /// `exp` is in the past (beyond leeway).
    TokenExpired = "token_expired",
    /// `iat` or `nbf` is in the future (beyond leeway).
    TokenNotYetValid = "token_not_yet_valid",
    /// `nonce` is missing or differs from the one issued with this state.
    NonceMismatch = "nonce_mismatch",
    /// `deployment_id` not allowed by the registration's policy.
    DeploymentNotAllowed = "deployment_not_allowed",
    /// Message type other than ResourceLink, DeepLinking, SubmissionReview.
    MessageTypeUnsupported = "message_type_unsupported",
    /// `version` is not `1.3.0`.
    VersionUnsupported = "version_unsupported",
    /// A claim required for this message type is absent.
    ClaimMissing = "claim_missing",
    /// A claim is present with the wrong shape.
    ClaimInvalid = "claim_invalid",
    /// Registration body failed validation.
    RegistrationInvalid = "registration_invalid",
    /// Content items failed validation.
    DeepLinkInvalid = "deep_link_invalid",
    /// A content item type the platform did not ask for.
    DeepLinkTypeNotAccepted = "deep_link_type_not_accepted",
    /// Several items, platform accepts one.
    DeepLinkMultipleNotAccepted = "deep_link_multiple_not_accepted",
    /// A line item the platform will not create.
    DeepLinkLineitemNotAccepted = "deep_link_lineitem_not_accepted",
    /// A presentation target the platform did not accept.
    DeepLinkTargetNotAccepted = "deep_link_target_not_accepted",
    /// AGS not granted.
    AgsNotEnabled = "ags_not_enabled",
    /// NRPS not granted.
    NrpsNotEnabled = "nrps_not_enabled",
    /// Line item outside the session's context.
    LineitemOutOfScope = "lineitem_out_of_scope",
    /// Line item body failed validation.
    LineitemInvalid = "lineitem_invalid",
    /// Score failed validation.
    ScoreInvalid = "score_invalid",
    /// Token endpoint refused or failed.
    PlatformTokenFailed = "platform_token_failed",
    /// Service call failed.
    PlatformServiceFailed = "platform_service_failed",
    /// Unreadable platform response.
    PlatformResponseInvalid = "platform_response_invalid",
    /// Dynamic Registration: the registration URL was opened without a usable
    /// `openid_configuration`.
    RegistrationUrlInvalid = "registration_url_invalid",
    /// Dynamic Registration: the platform's OpenID configuration could not be fetched.
    PlatformConfigUnreachable = "platform_config_unreachable",
    /// Dynamic Registration: the platform's OpenID configuration is not what the specification
    /// requires.
    PlatformConfigInvalid = "platform_config_invalid",
    /// Dynamic Registration: the configuration's issuer does not match the configuration URL.
    PlatformIssuerMismatch = "platform_issuer_mismatch",
    /// Dynamic Registration: the platform's registration endpoint could not be reached.
    PlatformRegistrationFailed = "platform_registration_failed",
    /// Dynamic Registration: the platform refused the tool's registration.
    PlatformRegistrationRefused = "platform_registration_refused",
    /// Dynamic Registration: the platform's answer to the registration is unusable.
    PlatformRegistrationInvalid = "platform_registration_invalid",
    /// Caliper: an event a tool sent is not acceptable (type, action, field).
    CaliperEventInvalid = "caliper_event_invalid",
    /// Caliper: the platform's profile (event store configuration) is unusable.
    CaliperProfileInvalid = "caliper_profile_invalid",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Anything that can be answered with a stable code. `Display` is the log detail.
pub trait Coded: std::fmt::Display {
    /// The stable code the client sees.
    fn code(&self) -> ErrorCode;
}

/// OIDC login initiation failures.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// A required parameter is absent or empty.
    #[error("login parameter `{0}` missing")]
    ParamMissing(&'static str),
    /// `target_link_uri` is not on the tool's origin.
    #[error("target_link_uri not on this tool's origin")]
    TargetLinkUriInvalid,
    /// No registration matches.
    #[error("no registration for issuer/client id")]
    PlatformUnregistered,
    /// Several registrations and no client id.
    #[error("issuer has several registrations and no client_id was sent")]
    PlatformAmbiguous,
    /// The login named a deployment the registration refuses.
    #[error("deployment `{0}` not allowed at login")]
    DeploymentNotAllowed(String),
}

impl Coded for LoginError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::ParamMissing(_) => ErrorCode::LoginParamMissing,
            Self::TargetLinkUriInvalid => ErrorCode::TargetLinkUriInvalid,
            Self::PlatformUnregistered => ErrorCode::PlatformUnregistered,
            Self::PlatformAmbiguous => ErrorCode::PlatformAmbiguous,
            Self::DeploymentNotAllowed(_) => ErrorCode::DeploymentNotAllowed,
        }
    }
}

/// Failures of the signed state that carries a launch between login and launch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// `state` or `id_token` absent from the launch POST.
    #[error("launch parameter `{0}` missing")]
    ParamMissing(&'static str),
    /// Malformed, or the HMAC does not verify.
    #[error("state malformed or signature invalid")]
    Invalid,
    /// Signed expiry passed.
    #[error("state expired")]
    Expired,
    /// Record already consumed.
    #[error("state already consumed")]
    Reused,
    /// Cookie present but bound to another state.
    #[error("state cookie does not match")]
    CookieMismatch,
}

impl Coded for StateError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::ParamMissing(_) => ErrorCode::LaunchParamMissing,
            Self::Invalid => ErrorCode::StateInvalid,
            Self::Expired => ErrorCode::StateExpired,
            Self::Reused => ErrorCode::StateReused,
            Self::CookieMismatch => ErrorCode::StateCookieMismatch,
        }
    }
}

/// The compact JWS could not be parsed, or its header is unacceptable.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url segments with JSON header and payload.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` other than RS256.
    #[error("alg `{0}` not allowed")]
    AlgNotAllowed(String),
    /// No `kid` in header.
    #[error("kid missing")]
    KidMissing,
}

impl Coded for TokenError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) => ErrorCode::TokenMalformed,
            Self::AlgNotAllowed(_) => ErrorCode::TokenAlgNotAllowed,
            Self::KidMissing => ErrorCode::TokenKidMissing,
        }
    }
}

/// Signature verification failures.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The platform JWKS has no key with this `kid`.
    #[error("no key with kid `{0}` in platform JWKS")]
    KeyNotFound(String),
    /// The key exists but is not an RSA signing key we accept.
    #[error("platform key unusable: {0}")]
    KeyUnusable(&'static str),
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
    /// The crypto provider failed (detail for logs).
    #[error("crypto provider error: {0}")]
    Crypto(String),
}

impl Coded for SignatureError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::KeyNotFound(_) | Self::KeyUnusable(_) => ErrorCode::KeyNotFound,
            Self::Invalid | Self::Crypto(_) => ErrorCode::SignatureInvalid,
        }
    }
}

/// Claim validation failures (after the signature verified).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// `iss` differs.
    #[error("iss `{0}` does not match the registration")]
    IssuerMismatch(String),
    /// `aud` lacks our client id.
    #[error("aud does not contain our client id")]
    AudienceMismatch,
    /// Several audiences and azp is absent or not us.
    #[error("azp absent or not our client id with several audiences")]
    AzpMismatch,
    /// `exp` passed.
    #[error("token expired {0} s ago (beyond leeway)")]
    Expired(i64),
    /// `iat`/`nbf` in the future.
    #[error("`{0}` is {1} s in the future (beyond leeway)")]
    NotYetValid(&'static str, i64),
    /// `nonce` absent or different.
    #[error("nonce absent or not the one issued with this state")]
    NonceMismatch,
    /// Deployment refused by policy.
    #[error("deployment `{0}` not allowed")]
    DeploymentNotAllowed(String),
    /// Unknown message type.
    #[error("message type `{0}` unsupported")]
    MessageTypeUnsupported(String),
    /// `version` not 1.3.0.
    #[error("version `{0}` unsupported")]
    VersionUnsupported(String),
    /// A required claim is absent.
    #[error("required claim `{0}` missing")]
    Missing(&'static str),
    /// A claim has the wrong type or form.
    #[error("claim `{0}` invalid")]
    Invalid(&'static str),
}

impl Coded for ClaimsError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::IssuerMismatch(_) => ErrorCode::IssuerMismatch,
            Self::AudienceMismatch => ErrorCode::AudienceMismatch,
            Self::AzpMismatch => ErrorCode::AzpMismatch,
            Self::Expired(_) => ErrorCode::TokenExpired,
            Self::NotYetValid(..) => ErrorCode::TokenNotYetValid,
            Self::NonceMismatch => ErrorCode::NonceMismatch,
            Self::DeploymentNotAllowed(_) => ErrorCode::DeploymentNotAllowed,
            Self::MessageTypeUnsupported(_) => ErrorCode::MessageTypeUnsupported,
            Self::VersionUnsupported(_) => ErrorCode::VersionUnsupported,
            Self::Missing(_) => ErrorCode::ClaimMissing,
            Self::Invalid(_) => ErrorCode::ClaimInvalid,
        }
    }
}

/// Any failure between the id_token and a validated launch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// State stage.
    #[error(transparent)]
    State(#[from] StateError),
    /// Parsing stage.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Signature stage.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Claims stage.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
}

impl Coded for LaunchError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::State(e) => e.code(),
            Self::Token(e) => e.code(),
            Self::Signature(e) => e.code(),
            Self::Claims(e) => e.code(),
        }
    }
}

/// Registration validation: every bad field with a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registration invalid: {fields:?}")]
pub struct RegistrationError {
    /// Field name → what is wrong with it.
    pub fields: BTreeMap<String, String>,
}

impl Coded for RegistrationError {
    fn code(&self) -> ErrorCode {
        ErrorCode::RegistrationInvalid
    }
}

/// Deep Linking response failures (the tool app's content items).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepLinkError {
    /// A field failed validation: (field, what is expected).
    #[error("deep link field `{0}`: {1}")]
    Invalid(String, String),
    /// Item type not in `accept_types`: (type, accepted list).
    #[error("type `{0}` not accepted (accepts {1})")]
    TypeNotAccepted(String, String),
    /// Several items while `accept_multiple` is false.
    #[error("{0} items but the platform accepts one")]
    MultipleNotAccepted(usize),
    /// A line item while `accept_lineitem` is false.
    #[error("line item not accepted")]
    LineItemNotAccepted,
    /// Presentation target not accepted: (target, accepted list).
    #[error("target `{0}` not accepted (accepts {1})")]
    TargetNotAccepted(String, String),
}

impl DeepLinkError {
    /// Field → sentence, for the `fields` member of the error answer.
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        match self {
            Self::Invalid(f, why) => {
                m.insert(f.clone(), why.clone());
            }
            Self::TypeNotAccepted(t, accepted) => {
                m.insert("type".into(), format!("`{t}` is not accepted; the LMS accepts: {accepted}"));
            }
            Self::MultipleNotAccepted(n) => {
                m.insert("contents".into(), format!("{n} items sent; the LMS accepts one"));
            }
            Self::LineItemNotAccepted => {
                m.insert("lineItem".into(), "the LMS ignores line items here".into());
            }
            Self::TargetNotAccepted(t, accepted) => {
                m.insert("presentation".into(), format!("`{t}` is not accepted; the LMS accepts: {accepted}"));
            }
        }
        m
    }
}

impl Coded for DeepLinkError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(..) => ErrorCode::DeepLinkInvalid,
            Self::TypeNotAccepted(..) => ErrorCode::DeepLinkTypeNotAccepted,
            Self::MultipleNotAccepted(_) => ErrorCode::DeepLinkMultipleNotAccepted,
            Self::LineItemNotAccepted => ErrorCode::DeepLinkLineitemNotAccepted,
            Self::TargetNotAccepted(..) => ErrorCode::DeepLinkTargetNotAccepted,
        }
    }
}

/// LTI Advantage service failures (AGS, NRPS, service tokens).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// AGS not granted, or this scope / URL missing.
    #[error("AGS not granted: {0}")]
    AgsScopeMissing(String),
    /// NRPS not granted.
    #[error("NRPS not granted")]
    NrpsNotGranted,
    /// Line item not in the session's context.
    #[error("line item outside the context")]
    LineItemOutOfScope,
    /// Line item body invalid: (field, expected).
    #[error("line item field `{0}`: {1}")]
    LineItemInvalid(String, String),
    /// Score invalid: (field, expected).
    #[error("score field `{0}`: {1}")]
    ScoreInvalid(String, String),
    /// The token endpoint failed: detail.
    #[error("token endpoint: {0}")]
    TokenFailed(String),
    /// The service answered an error status: detail.
    #[error("service: {0}")]
    ServiceFailed(String),
    /// Unreadable answer: detail.
    #[error("platform response invalid: {0}")]
    ResponseInvalid(String),
}

impl ServiceError {
    /// Field → sentence, for validation errors.
    pub fn fields(&self) -> Option<BTreeMap<String, String>> {
        match self {
            Self::LineItemInvalid(f, why) | Self::ScoreInvalid(f, why) => {
                Some(BTreeMap::from([(f.clone(), why.clone())]))
            }
            _ => None,
        }
    }
}

impl Coded for ServiceError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::AgsScopeMissing(_) => ErrorCode::AgsNotEnabled,
            Self::NrpsNotGranted => ErrorCode::NrpsNotEnabled,
            Self::LineItemOutOfScope => ErrorCode::LineitemOutOfScope,
            Self::LineItemInvalid(..) => ErrorCode::LineitemInvalid,
            Self::ScoreInvalid(..) => ErrorCode::ScoreInvalid,
            Self::TokenFailed(_) => ErrorCode::PlatformTokenFailed,
            Self::ServiceFailed(_) => ErrorCode::PlatformServiceFailed,
            Self::ResponseInvalid(_) => ErrorCode::PlatformResponseInvalid,
        }
    }
}

/// LTI Dynamic Registration failures, by step (the tool side of the flow).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DynRegError {
    /// The registration initiation request is unusable (`openid_configuration` missing, not a
    /// URL, not https, or `registration_token` malformed).
    #[error("registration initiation: {0}")]
    RequestInvalid(String),
    /// The configuration could not be fetched (network, timeout, status, size).
    #[error("platform configuration unreachable: {0}")]
    ConfigUnreachable(String),
    /// The configuration lacks or misstates something the specification requires.
    #[error("platform configuration invalid: {0}")]
    ConfigInvalid(String),
    /// The configuration's issuer is not the prefix of the URL it was fetched from.
    #[error("issuer `{issuer}` does not match the configuration URL `{config_url}`")]
    IssuerMismatch {
        /// The issuer the configuration claims.
        issuer: String,
        /// Where it was fetched.
        config_url: String,
    },
    /// The registration endpoint could not be reached.
    #[error("registration endpoint unreachable: {0}")]
    RegistrationFailed(String),
    /// The registration endpoint answered an error status.
    #[error("registration refused with status {0}: {1}")]
    RegistrationRefused(u16, String),
    /// The registration endpoint's answer is unusable (not JSON, no client id, too large).
    #[error("registration answer invalid: {0}")]
    RegistrationInvalid(String),
}

impl Coded for DynRegError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::RequestInvalid(_) => ErrorCode::RegistrationUrlInvalid,
            Self::ConfigUnreachable(_) => ErrorCode::PlatformConfigUnreachable,
            Self::ConfigInvalid(_) => ErrorCode::PlatformConfigInvalid,
            Self::IssuerMismatch { .. } => ErrorCode::PlatformIssuerMismatch,
            Self::RegistrationFailed(_) => ErrorCode::PlatformRegistrationFailed,
            Self::RegistrationRefused(..) => ErrorCode::PlatformRegistrationRefused,
            Self::RegistrationInvalid(_) => ErrorCode::PlatformRegistrationInvalid,
        }
    }
}
