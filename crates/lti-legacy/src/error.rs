//! Errors, split by cause, each mapping to one stable [`ErrorCode`].
//!
//! Same shape as `lti_core::error`: the code is what a user, an LMS admin and a support engineer
//! share (error page, JSON, log line next to the correlation id). The `Display` text of the cause
//! enums is for logs only; clients only ever see [`ErrorCode::message`]. The codes live here
//! rather than in `lti_core::error::ErrorCode` so this crate can be reviewed and merged on its
//! own; folding them into the core's enum later keeps every string.

/// Every LTI 1.1 rejection a user or API client can meet. The string form (`as_str`) is stable.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A required `oauth_*` parameter is absent or empty.
    OauthParamMissing,
    /// An `oauth_*` parameter is repeated or malformed (timestamp not a number, nonce too long).
    OauthParamInvalid,
    /// `oauth_signature_method` is not HMAC-SHA1.
    OauthSignatureMethodUnsupported,
    /// `oauth_version` is present and not `1.0`.
    OauthVersionUnsupported,
    /// No registration has this `oauth_consumer_key`.
    OauthConsumerUnknown,
    /// The HMAC-SHA1 signature does not verify.
    OauthSignatureInvalid,
    /// `oauth_timestamp` is more than 5 minutes old.
    OauthTimestampExpired,
    /// `oauth_timestamp` is more than 5 minutes in the future.
    OauthTimestampInFuture,
    /// The nonce was already used with this consumer key and timestamp.
    OauthNonceReused,
    /// The form body is over the size or parameter-count limit.
    PayloadTooLarge,
    /// `lti_message_type` is not a launch or content-item request.
    Lti11MessageTypeUnsupported,
    /// `lti_version` is not LTI-1p0 (or 1p1/1p2).
    Lti11VersionUnsupported,
    /// A parameter this message type requires is absent.
    Lti11ParamMissing,
    /// A parameter is present in an unusable form (conflicting duplicates, bad URL).
    Lti11ParamInvalid,
    /// A score is not a finite number within 0 and the maximum.
    OutcomeScoreInvalid,
    /// The platform's Basic Outcomes reply could not be read.
    OutcomeReplyInvalid,
    /// The platform answered Basic Outcomes with failure or unsupported.
    OutcomeFailed,
    /// A content item or the selection cannot be returned to this platform.
    ContentItemInvalid,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: &'static [ErrorCode] = &[
        Self::OauthParamMissing,
        Self::OauthParamInvalid,
        Self::OauthSignatureMethodUnsupported,
        Self::OauthVersionUnsupported,
        Self::OauthConsumerUnknown,
        Self::OauthSignatureInvalid,
        Self::OauthTimestampExpired,
        Self::OauthTimestampInFuture,
        Self::OauthNonceReused,
        Self::PayloadTooLarge,
        Self::Lti11MessageTypeUnsupported,
        Self::Lti11VersionUnsupported,
        Self::Lti11ParamMissing,
        Self::Lti11ParamInvalid,
        Self::OutcomeScoreInvalid,
        Self::OutcomeReplyInvalid,
        Self::OutcomeFailed,
        Self::ContentItemInvalid,
    ];

    /// Stable machine-readable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OauthParamMissing => "oauth_param_missing",
            Self::OauthParamInvalid => "oauth_param_invalid",
            Self::OauthSignatureMethodUnsupported => "oauth_signature_method_unsupported",
            Self::OauthVersionUnsupported => "oauth_version_unsupported",
            Self::OauthConsumerUnknown => "oauth_consumer_unknown",
            Self::OauthSignatureInvalid => "oauth_signature_invalid",
            Self::OauthTimestampExpired => "oauth_timestamp_expired",
            Self::OauthTimestampInFuture => "oauth_timestamp_in_future",
            Self::OauthNonceReused => "oauth_nonce_reused",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Lti11MessageTypeUnsupported => "lti11_message_type_unsupported",
            Self::Lti11VersionUnsupported => "lti11_version_unsupported",
            Self::Lti11ParamMissing => "lti11_param_missing",
            Self::Lti11ParamInvalid => "lti11_param_invalid",
            Self::OutcomeScoreInvalid => "outcome_score_invalid",
            Self::OutcomeReplyInvalid => "outcome_reply_invalid",
            Self::OutcomeFailed => "outcome_failed",
            Self::ContentItemInvalid => "content_item_invalid",
        }
    }

    /// HTTP status: 400 malformed, 401 unverifiable or unregistered, 413 too large,
    /// 502 the platform answered badly.
    pub fn status(self) -> u16 {
        match self {
            Self::OauthParamMissing
            | Self::OauthParamInvalid
            | Self::OauthSignatureMethodUnsupported
            | Self::OauthVersionUnsupported
            | Self::Lti11MessageTypeUnsupported
            | Self::Lti11VersionUnsupported
            | Self::Lti11ParamMissing
            | Self::Lti11ParamInvalid
            | Self::OutcomeScoreInvalid
            | Self::ContentItemInvalid => 400,
            Self::OauthConsumerUnknown
            | Self::OauthSignatureInvalid
            | Self::OauthTimestampExpired
            | Self::OauthTimestampInFuture
            | Self::OauthNonceReused => 401,
            Self::PayloadTooLarge => 413,
            Self::OutcomeReplyInvalid | Self::OutcomeFailed => 502,
        }
    }

    /// A sentence for the person who meets the error: what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            Self::OauthParamMissing => "The LTI 1.1 launch lacks a required OAuth parameter (oauth_consumer_key, oauth_signature, oauth_signature_method, oauth_timestamp or oauth_nonce). Ask your LMS administrator to check that the tool is configured as LTI 1.1 with a consumer key and secret.",
            Self::OauthParamInvalid => "The LTI 1.1 launch has a repeated or malformed OAuth parameter. Go back to your course and open the tool again; if it persists, ask your LMS administrator to check the tool's LTI 1.1 configuration.",
            Self::OauthSignatureMethodUnsupported => "The LMS signed the LTI 1.1 launch with a method other than HMAC-SHA1, which this tool refuses. Ask your LMS administrator to use HMAC-SHA1.",
            Self::OauthVersionUnsupported => "The LMS sent an OAuth version other than 1.0. Ask your LMS administrator to check the tool's LTI 1.1 configuration.",
            Self::OauthConsumerUnknown => "The consumer key this LMS sent is not registered with the tool. Ask your administrator to register the LMS's LTI 1.1 consumer key and shared secret.",
            Self::OauthSignatureInvalid => "The LTI 1.1 launch signature does not match. Ask your administrator to check that the LMS and the tool use the same shared secret and that the LMS launches the tool's public URL exactly.",
            Self::OauthTimestampExpired => "This launch is more than 5 minutes old. Go back to your course and open the tool again; if it persists, check the LMS server's clock.",
            Self::OauthTimestampInFuture => "This launch is dated more than 5 minutes in the future. Ask your LMS administrator to check the LMS server's clock.",
            Self::OauthNonceReused => "This launch was already used. Go back to your course and open the tool again (refreshing the page cannot reuse a launch).",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::Lti11MessageTypeUnsupported => "The LMS sent a kind of LTI 1.1 message this tool does not handle. Supported: basic-lti-launch-request, ContentItemSelectionRequest.",
            Self::Lti11VersionUnsupported => "The LMS sent an LTI version this tool does not handle. Ask your LMS administrator to configure the tool as LTI 1.1 (LTI-1p0) or LTI 1.3.",
            Self::Lti11ParamMissing => "The launch lacks information this kind of launch requires. Ask your LMS administrator to check the tool's placement settings.",
            Self::Lti11ParamInvalid => "The launch contains information in an unexpected form. Ask your LMS administrator to check the tool's settings.",
            Self::OutcomeScoreInvalid => "The score must be a number between 0 and the maximum score, and the maximum must be above 0.",
            Self::OutcomeReplyInvalid => "The LMS gave an unreadable answer to the grade. Try again later; if it persists, ask your LMS administrator whether grade passback (Basic Outcomes) is enabled for the tool.",
            Self::OutcomeFailed => "The LMS refused the grade. Check that the activity still accepts grades; if it persists, give the correlation id to support.",
            Self::ContentItemInvalid => "The selected content cannot be returned to this LMS placement. Choose one item of a kind the placement accepts and try again.",
        }
    }
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
            Self::ParamRepeated(_) | Self::ParamMalformed(_) => ErrorCode::OauthParamInvalid,
            Self::SignatureMethodUnsupported(_) => ErrorCode::OauthSignatureMethodUnsupported,
            Self::VersionUnsupported(_) => ErrorCode::OauthVersionUnsupported,
            Self::ConsumerUnknown(_) => ErrorCode::OauthConsumerUnknown,
            Self::SignatureInvalid => ErrorCode::OauthSignatureInvalid,
            Self::TimestampExpired(_) => ErrorCode::OauthTimestampExpired,
            Self::TimestampInFuture(_) => ErrorCode::OauthTimestampInFuture,
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
            Self::MessageTypeUnsupported(_) => ErrorCode::Lti11MessageTypeUnsupported,
            Self::VersionUnsupported(_) => ErrorCode::Lti11VersionUnsupported,
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
            Self::ScoreInvalid(_) | Self::FieldInvalid(_) => ErrorCode::OutcomeScoreInvalid,
            Self::ReplyTooLarge(_) | Self::ReplyDoctype | Self::ReplyMalformed(_) => ErrorCode::OutcomeReplyInvalid,
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
        ErrorCode::ContentItemInvalid
    }
}
