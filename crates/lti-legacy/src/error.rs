//! Errors, split by cause. Each cause answers with a code of the one vocabulary every LTI Edge
//! answer uses ([`lti_policy::ErrorCode`]: code, HTTP status, sentence), chosen here, once:
//! causes a client must not be able to tell apart share a code (an unknown consumer key is
//! answered exactly like a wrong signature, so which keys are registered cannot be probed;
//! a timestamp too old or too new is one `oauth_timestamp_invalid`). The `Display` text of a
//! cause is for logs only.

pub use lti_policy::{Coded, ErrorCode};

/// OAuth 1.0a request verification failures (RFC 5849 §3.2).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// A required protocol parameter is absent or empty.
    #[error("oauth parameter `{0}` missing")]
    ParamMissing(&'static str),
    /// A protocol parameter appears more than once (RFC 5849 §3.1 allows each once).
    #[error("oauth parameter `{0}` repeated")]
    ParamRepeated(String),
    /// A protocol parameter has an unusable form.
    #[error("oauth parameter `{0}` malformed")]
    ParamMalformed(&'static str),
    /// Signature method other than HMAC-SHA1.
    #[error("oauth_signature_method `{0}` refused (HMAC-SHA1 only)")]
    SignatureMethodUnsupported(String),
    /// `oauth_version` other than 1.0.
    #[error("oauth_version `{0}` unsupported")]
    VersionUnsupported(String),
    /// The caller found no secret for the consumer key.
    #[error("consumer key `{0}` unknown")]
    ConsumerUnknown(String),
    /// The signature does not verify.
    #[error("oauth signature does not verify")]
    SignatureInvalid,
    /// Timestamp older than the window (seconds old).
    #[error("oauth_timestamp {0} s old (window 300 s)")]
    TimestampExpired(i64),
    /// Timestamp in the future beyond the window (seconds ahead).
    #[error("oauth_timestamp {0} s in the future (window 300 s)")]
    TimestampInFuture(i64),
    /// The caller's nonce store had seen this nonce.
    #[error("oauth nonce already used")]
    NonceReused,
    /// Body over the size limit or too many parameters.
    #[error("form too large: {0}")]
    TooLarge(&'static str),
    /// The configured launch URL is not an absolute http(s) URL.
    #[error("launch URL invalid: {0}")]
    UrlInvalid(lti_core::url::UrlError),
}

impl Coded for OAuthError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::ParamMissing(_) => ErrorCode::OauthParamMissing,
            Self::ParamRepeated(_)
            | Self::ParamMalformed(_)
            | Self::SignatureMethodUnsupported(_)
            | Self::VersionUnsupported(_) => ErrorCode::OauthInvalid,
            // Answered exactly like a wrong signature (the log keeps the cause): which consumer
            // keys are registered is not something a caller can probe for.
            Self::ConsumerUnknown(_) => ErrorCode::OauthSignatureInvalid,
            Self::SignatureInvalid => ErrorCode::OauthSignatureInvalid,
            Self::TimestampExpired(_) | Self::TimestampInFuture(_) => ErrorCode::OauthTimestampInvalid,
            Self::NonceReused => ErrorCode::OauthNonceReused,
            Self::TooLarge(_) => ErrorCode::PayloadTooLarge,
            // Our own configuration, not the user's request: the signature cannot match.
            Self::UrlInvalid(_) => ErrorCode::OauthSignatureInvalid,
        }
    }
}

/// LTI 1.1 launch parameter failures (after the signature verified).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// `lti_message_type` other than the two we serve.
    #[error("lti_message_type `{0}` unsupported")]
    MessageTypeUnsupported(String),
    /// `lti_version` other than LTI-1p0/1p1/1p2.
    #[error("lti_version `{0}` unsupported")]
    VersionUnsupported(String),
    /// A required parameter is absent or empty.
    #[error("launch parameter `{0}` missing")]
    Missing(&'static str),
    /// A parameter is repeated with different values (parameter pollution) or malformed.
    #[error("launch parameter `{0}` invalid: {1}")]
    Invalid(String, &'static str),
}

impl Coded for ParamsError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::MessageTypeUnsupported(_) => ErrorCode::MessageTypeUnsupported,
            Self::VersionUnsupported(_) => ErrorCode::VersionUnsupported,
            Self::Missing(_) => ErrorCode::Lti11ParamMissing,
            Self::Invalid(..) => ErrorCode::Lti11ParamInvalid,
        }
    }
}

/// Basic Outcomes failures: building the request or reading the platform's reply.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    /// Score not finite, negative, above the maximum, or maximum not above 0.
    #[error("score invalid: {0}")]
    ScoreInvalid(&'static str),
    /// A request field is empty or too long.
    #[error("outcome request field `{0}` invalid")]
    FieldInvalid(&'static str),
    /// Reply over the size limit.
    #[error("reply over {0} bytes")]
    ReplyTooLarge(usize),
    /// Reply contains a DOCTYPE or entity declaration.
    #[error("reply declares a DOCTYPE or entity: refused")]
    ReplyDoctype,
    /// Reply is not well-formed, or lacks `imsx_codeMajor`.
    #[error("reply malformed: {0}")]
    ReplyMalformed(&'static str),
    /// The platform answered `failure` or `unsupported` (description for the log).
    #[error("platform answered {code_major}: {description}")]
    PlatformFailure {
        /// `imsx_codeMajor` as sent.
        code_major: String,
        /// `imsx_description`, possibly empty.
        description: String,
    },
}

impl Coded for OutcomeError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::ScoreInvalid(_) | Self::FieldInvalid(_) => ErrorCode::ScoreInvalid,
            Self::ReplyTooLarge(_) | Self::ReplyDoctype | Self::ReplyMalformed(_) => ErrorCode::PlatformResponseInvalid,
            Self::PlatformFailure { .. } => ErrorCode::OutcomeFailed,
        }
    }
}

/// Content-item selection failures.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentItemError {
    /// Several items and the platform did not set `accept_multiple`.
    #[error("{0} items but the platform accepts one")]
    TooMany(usize),
    /// The item's media type is not in `accept_media_types`.
    #[error("media type `{0}` not accepted by the platform")]
    MediaTypeNotAccepted(String),
    /// The item's presentation target is not in `accept_presentation_document_targets`.
    #[error("presentation target `{0}` not accepted by the platform")]
    TargetNotAccepted(String),
    /// A URL field is not an absolute http(s) URL.
    #[error("content item `{0}` is not an absolute http(s) URL")]
    UrlInvalid(&'static str),
    /// The platform's `content_item_return_url` cannot be signed over.
    #[error("content_item_return_url unusable: {0}")]
    ReturnUrl(OAuthError),
}

impl Coded for ContentItemError {
    fn code(&self) -> ErrorCode {
        ErrorCode::DeepLinkInvalid
    }
}
