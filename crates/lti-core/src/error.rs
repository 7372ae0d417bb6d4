//! Errors, split by cause, each mapping to one stable [`ErrorCode`].
//!
//! The code is what a user, an LMS admin and a support engineer share: it is printed on the
//! error page, returned in JSON, written to the log next to the correlation id and listed in
//! the README's troubleshooting table. The `Display` text of the cause enums is for logs only
//! (it may name claims or values); clients only ever see [`ErrorCode::message`].

use std::collections::BTreeMap;

/// Every rejection a user or API client can meet. The string form (`as_str`) is stable.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// OIDC login request lacks `iss`, `login_hint` or `target_link_uri`.
    LoginParamMissing,
    /// No registration for this issuer (and client id).
    PlatformUnregistered,
    /// Issuer has several registrations and the login named no `client_id`.
    PlatformAmbiguous,
    /// `target_link_uri` does not point at this tool.
    TargetLinkUriInvalid,
    /// Launch POST lacks `id_token` or `state`.
    LaunchParamMissing,
    /// `state` is malformed or its signature does not verify.
    StateInvalid,
    /// `state` is older than its 10-minute lifetime.
    StateExpired,
    /// `state` was already consumed by an earlier launch.
    StateReused,
    /// A state cookie was sent but does not belong to this state.
    StateCookieMismatch,
    /// `id_token` is not a well-formed compact JWS with JSON header and claims.
    TokenMalformed,
    /// Header `alg` is not RS256.
    TokenAlgNotAllowed,
    /// Header has no `kid`.
    TokenKidMissing,
    /// No key with the token's `kid` in the platform's key set, or the key is unusable.
    KeyNotFound,
    /// The platform's key set could not be fetched and nothing is cached.
    PlatformJwksUnavailable,
    /// The RS256 signature does not verify.
    SignatureInvalid,
    /// `iss` differs from the registration's issuer.
    IssuerMismatch,
    /// `aud` does not contain our client id.
    AudienceMismatch,
    /// Several audiences and `azp` is not our client id.
    AzpMismatch,
    /// `exp` is in the past (beyond leeway).
    TokenExpired,
    /// `iat` or `nbf` is in the future (beyond leeway).
    TokenNotYetValid,
    /// `nonce` is missing or differs from the one issued with this state.
    NonceMismatch,
    /// `deployment_id` not allowed by the registration's policy.
    DeploymentNotAllowed,
    /// Message type other than ResourceLink, DeepLinking, SubmissionReview.
    MessageTypeUnsupported,
    /// `version` is not `1.3.0`.
    VersionUnsupported,
    /// A claim required for this message type is absent.
    ClaimMissing,
    /// A claim is present with the wrong shape.
    ClaimInvalid,
    /// The configured user-id claim is absent from the launch.
    UserIdMissing,
    /// None of the user's roles is mapped to a tool role.
    RoleUnmapped,
    /// The requested module is switched off for this registration.
    ModuleDisabled,
    /// `target_link_uri` names no known module.
    ModuleUnknown,
    /// `LTI_ENCRYPTION_KEY` is not set: LTI is disabled.
    NotConfigured,
    /// Admin API called without the right bearer secret.
    AdminUnauthorized,
    /// Registration body failed validation.
    RegistrationInvalid,
    /// No such route or object.
    NotFound,
    /// Route exists, method does not.
    MethodNotAllowed,
    /// Request body over the size limit.
    PayloadTooLarge,
    /// Session token missing, forged or expired.
    SessionInvalid,
    /// Deep linking responses need the session of a deep-linking launch.
    DeepLinkSessionRequired,
    /// Content items failed validation.
    DeepLinkInvalid,
    /// A content item type the platform did not ask for.
    DeepLinkTypeNotAccepted,
    /// Several items, platform accepts one.
    DeepLinkMultipleNotAccepted,
    /// A line item the platform will not create.
    DeepLinkLineitemNotAccepted,
    /// A presentation target the platform did not accept.
    DeepLinkTargetNotAccepted,
    /// AGS not granted.
    AgsNotEnabled,
    /// NRPS not granted.
    NrpsNotEnabled,
    /// Line item outside the session's context.
    LineitemOutOfScope,
    /// Line item body failed validation.
    LineitemInvalid,
    /// Score failed validation.
    ScoreInvalid,
    /// The session's role may not do this.
    RoleForbidden,
    /// No launch recorded for this context.
    ContextUnknown,
    /// Malformed request.
    RequestInvalid,
    /// Token endpoint refused or failed.
    PlatformTokenFailed,
    /// Service call failed.
    PlatformServiceFailed,
    /// Unreadable platform response.
    PlatformResponseInvalid,
    /// A next key already exists.
    KeyNextExists,
    /// No next key to promote.
    KeyNoNext,
    /// Next key published too recently.
    KeyNextTooNew,
    /// Only retired keys can be removed.
    KeyNotRetired,
    /// An LTI 1.1 launch without a required oauth_* parameter.
    OauthParamMissing,
    /// Malformed OAuth parameters or an unsupported signature method.
    OauthInvalid,
    /// The OAuth 1.0a signature does not verify.
    OauthSignatureInvalid,
    /// oauth_timestamp more than 5 minutes off.
    OauthTimestampInvalid,
    /// The OAuth nonce was used before.
    OauthNonceReused,
    /// A required LTI 1.1 parameter is absent.
    Lti11ParamMissing,
    /// An LTI 1.1 parameter is unusable.
    Lti11ParamInvalid,
    /// The platform refused a Basic Outcomes request.
    OutcomeFailed,
    /// The lti1p1 claim does not verify and the policy refuses.
    Lti11MigrationMismatch,
    /// A launch without `sub` (an anonymous user) and the registration admits none.
    AnonymousLaunchRefused,
    /// A learner's browser session tried to post a score and the registration does not allow it.
    LearnerScoresDisabled,
    /// Anything we did not anticipate; details only in the log.
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: &'static [ErrorCode] = &[
        Self::LoginParamMissing,
        Self::PlatformUnregistered,
        Self::PlatformAmbiguous,
        Self::TargetLinkUriInvalid,
        Self::LaunchParamMissing,
        Self::StateInvalid,
        Self::StateExpired,
        Self::StateReused,
        Self::StateCookieMismatch,
        Self::TokenMalformed,
        Self::TokenAlgNotAllowed,
        Self::TokenKidMissing,
        Self::KeyNotFound,
        Self::PlatformJwksUnavailable,
        Self::SignatureInvalid,
        Self::IssuerMismatch,
        Self::AudienceMismatch,
        Self::AzpMismatch,
        Self::TokenExpired,
        Self::TokenNotYetValid,
        Self::NonceMismatch,
        Self::DeploymentNotAllowed,
        Self::MessageTypeUnsupported,
        Self::VersionUnsupported,
        Self::ClaimMissing,
        Self::ClaimInvalid,
        Self::UserIdMissing,
        Self::RoleUnmapped,
        Self::ModuleDisabled,
        Self::ModuleUnknown,
        Self::NotConfigured,
        Self::AdminUnauthorized,
        Self::RegistrationInvalid,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::PayloadTooLarge,
        Self::SessionInvalid,
        Self::DeepLinkSessionRequired,
        Self::DeepLinkInvalid,
        Self::DeepLinkTypeNotAccepted,
        Self::DeepLinkMultipleNotAccepted,
        Self::DeepLinkLineitemNotAccepted,
        Self::DeepLinkTargetNotAccepted,
        Self::AgsNotEnabled,
        Self::NrpsNotEnabled,
        Self::LineitemOutOfScope,
        Self::LineitemInvalid,
        Self::ScoreInvalid,
        Self::RoleForbidden,
        Self::ContextUnknown,
        Self::RequestInvalid,
        Self::PlatformTokenFailed,
        Self::PlatformServiceFailed,
        Self::PlatformResponseInvalid,
        Self::KeyNextExists,
        Self::KeyNoNext,
        Self::KeyNextTooNew,
        Self::KeyNotRetired,
        Self::OauthParamMissing,
        Self::OauthInvalid,
        Self::OauthSignatureInvalid,
        Self::OauthTimestampInvalid,
        Self::OauthNonceReused,
        Self::Lti11ParamMissing,
        Self::Lti11ParamInvalid,
        Self::OutcomeFailed,
        Self::Lti11MigrationMismatch,
        Self::AnonymousLaunchRefused,
        Self::LearnerScoresDisabled,
        Self::Internal,
    ];

    /// Stable machine-readable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginParamMissing => "login_param_missing",
            Self::PlatformUnregistered => "platform_unregistered",
            Self::PlatformAmbiguous => "platform_ambiguous",
            Self::TargetLinkUriInvalid => "target_link_uri_invalid",
            Self::LaunchParamMissing => "launch_param_missing",
            Self::StateInvalid => "state_invalid",
            Self::StateExpired => "state_expired",
            Self::StateReused => "state_reused",
            Self::StateCookieMismatch => "state_cookie_mismatch",
            Self::TokenMalformed => "token_malformed",
            Self::TokenAlgNotAllowed => "token_alg_not_allowed",
            Self::TokenKidMissing => "token_kid_missing",
            Self::KeyNotFound => "key_not_found",
            Self::PlatformJwksUnavailable => "platform_jwks_unavailable",
            Self::SignatureInvalid => "signature_invalid",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::AudienceMismatch => "audience_mismatch",
            Self::AzpMismatch => "azp_mismatch",
            Self::TokenExpired => "token_expired",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::NonceMismatch => "nonce_mismatch",
            Self::DeploymentNotAllowed => "deployment_not_allowed",
            Self::MessageTypeUnsupported => "message_type_unsupported",
            Self::VersionUnsupported => "version_unsupported",
            Self::ClaimMissing => "claim_missing",
            Self::ClaimInvalid => "claim_invalid",
            Self::UserIdMissing => "user_id_missing",
            Self::RoleUnmapped => "role_unmapped",
            Self::ModuleDisabled => "module_disabled",
            Self::ModuleUnknown => "module_unknown",
            Self::NotConfigured => "not_configured",
            Self::AdminUnauthorized => "admin_unauthorized",
            Self::RegistrationInvalid => "registration_invalid",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::SessionInvalid => "session_invalid",
            Self::DeepLinkSessionRequired => "deep_link_session_required",
            Self::DeepLinkInvalid => "deep_link_invalid",
            Self::DeepLinkTypeNotAccepted => "deep_link_type_not_accepted",
            Self::DeepLinkMultipleNotAccepted => "deep_link_multiple_not_accepted",
            Self::DeepLinkLineitemNotAccepted => "deep_link_lineitem_not_accepted",
            Self::DeepLinkTargetNotAccepted => "deep_link_target_not_accepted",
            Self::AgsNotEnabled => "ags_not_enabled",
            Self::NrpsNotEnabled => "nrps_not_enabled",
            Self::LineitemOutOfScope => "lineitem_out_of_scope",
            Self::LineitemInvalid => "lineitem_invalid",
            Self::ScoreInvalid => "score_invalid",
            Self::RoleForbidden => "role_forbidden",
            Self::ContextUnknown => "context_unknown",
            Self::RequestInvalid => "request_invalid",
            Self::PlatformTokenFailed => "platform_token_failed",
            Self::PlatformServiceFailed => "platform_service_failed",
            Self::PlatformResponseInvalid => "platform_response_invalid",
            Self::KeyNextExists => "key_next_exists",
            Self::KeyNoNext => "key_no_next",
            Self::KeyNextTooNew => "key_next_too_new",
            Self::KeyNotRetired => "key_not_retired",
            Self::OauthParamMissing => "oauth_param_missing",
            Self::OauthInvalid => "oauth_invalid",
            Self::OauthSignatureInvalid => "oauth_signature_invalid",
            Self::OauthTimestampInvalid => "oauth_timestamp_invalid",
            Self::OauthNonceReused => "oauth_nonce_reused",
            Self::Lti11ParamMissing => "lti11_param_missing",
            Self::Lti11ParamInvalid => "lti11_param_invalid",
            Self::OutcomeFailed => "outcome_failed",
            Self::Lti11MigrationMismatch => "lti11_migration_mismatch",
            Self::AnonymousLaunchRefused => "anonymous_launch_refused",
            Self::LearnerScoresDisabled => "learner_scores_disabled",
            Self::Internal => "internal_error",
        }
    }

    /// HTTP status: 400 malformed, 401 unverifiable or unregistered, 403 denied,
    /// 502 upstream (platform) failure, 503 not configured.
    pub fn status(self) -> u16 {
        match self {
            Self::LoginParamMissing
            | Self::PlatformAmbiguous
            | Self::TargetLinkUriInvalid
            | Self::LaunchParamMissing
            | Self::TokenMalformed
            | Self::MessageTypeUnsupported
            | Self::VersionUnsupported
            | Self::ClaimMissing
            | Self::ClaimInvalid
            | Self::UserIdMissing
            | Self::ModuleUnknown
            | Self::RegistrationInvalid => 400,
            Self::PlatformUnregistered
            | Self::StateInvalid
            | Self::StateExpired
            | Self::StateReused
            | Self::StateCookieMismatch
            | Self::TokenAlgNotAllowed
            | Self::TokenKidMissing
            | Self::KeyNotFound
            | Self::SignatureInvalid
            | Self::IssuerMismatch
            | Self::AudienceMismatch
            | Self::AzpMismatch
            | Self::TokenExpired
            | Self::TokenNotYetValid
            | Self::NonceMismatch
            | Self::AdminUnauthorized
            | Self::SessionInvalid => 401,
            Self::DeploymentNotAllowed | Self::RoleUnmapped | Self::ModuleDisabled => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::DeepLinkSessionRequired
            | Self::AgsNotEnabled
            | Self::NrpsNotEnabled
            | Self::LineitemOutOfScope
            | Self::RoleForbidden => 403,
            Self::DeepLinkInvalid
            | Self::DeepLinkTypeNotAccepted
            | Self::DeepLinkMultipleNotAccepted
            | Self::DeepLinkLineitemNotAccepted
            | Self::DeepLinkTargetNotAccepted
            | Self::LineitemInvalid
            | Self::ScoreInvalid => 422,
            Self::ContextUnknown => 404,
            Self::RequestInvalid => 400,
            Self::PlatformTokenFailed | Self::PlatformServiceFailed | Self::PlatformResponseInvalid => 502,
            Self::KeyNextExists | Self::KeyNoNext | Self::KeyNextTooNew | Self::KeyNotRetired => 409,
            Self::OauthParamMissing | Self::OauthInvalid | Self::Lti11ParamMissing | Self::Lti11ParamInvalid => 400,
            Self::OauthSignatureInvalid | Self::OauthTimestampInvalid | Self::OauthNonceReused => 401,
            Self::OutcomeFailed => 502,
            Self::Lti11MigrationMismatch | Self::AnonymousLaunchRefused | Self::LearnerScoresDisabled => 403,
            Self::Internal => 500,
            Self::PlatformJwksUnavailable => 502,
            Self::NotConfigured => 503,
        }
    }

    /// A sentence for the person who meets the error: what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            Self::LoginParamMissing => "The LMS started the login without iss, login_hint or target_link_uri. Check the tool's Login URL in the LMS and launch again.",
            Self::PlatformUnregistered => "This LMS (issuer and client id) is not registered with the tool. Ask your administrator to register it with POST /lti/platforms using the exact issuer and client id the LMS shows.",
            Self::PlatformAmbiguous => "Several registrations share this issuer and the LMS sent no client_id. Ask your administrator to configure the LMS to send client_id at login.",
            Self::TargetLinkUriInvalid => "The link the LMS asked to open does not belong to this tool. Check the tool's launch URL in the LMS.",
            Self::LaunchParamMissing => "The launch arrived without id_token or state. Go back to your course and open the tool again.",
            Self::StateInvalid => "This launch was not started by this tool. Go back to your course and open the tool again.",
            Self::StateExpired => "This launch took longer than 10 minutes to complete. Go back to your course and open the tool again.",
            Self::StateReused => "This launch was already used. Go back to your course and open the tool again (refreshing the page cannot reuse a launch).",
            Self::StateCookieMismatch => "This launch belongs to another browser window. Close the other windows of the tool and open it again from your course.",
            Self::TokenMalformed => "The LMS sent a launch token that could not be read. Ask your LMS administrator to check the tool's LTI 1.3 configuration.",
            Self::TokenAlgNotAllowed => "The LMS signed the launch with an algorithm other than RS256, which this tool refuses. Ask your LMS administrator to use RS256.",
            Self::TokenKidMissing => "The LMS signed the launch without naming its key (kid). Ask your LMS administrator to check its key set.",
            Self::KeyNotFound => "The key the LMS signed the launch with is not in the LMS's published key set. Ask your administrator to check the registration's key set URL (lti13KeysUrl).",
            Self::PlatformJwksUnavailable => "The LMS's public key set could not be fetched. Try again in a minute; if it persists, ask your administrator to check lti13KeysUrl.",
            Self::SignatureInvalid => "The launch token's signature does not match the LMS's key. Ask your administrator to check the registration's key set URL.",
            Self::IssuerMismatch => "The launch token comes from a different LMS than the login. Ask your administrator to check the registration's issuer.",
            Self::AudienceMismatch => "The launch token was issued for another tool (audience). Ask your administrator to check the registration's client id.",
            Self::AzpMismatch => "The launch token names several audiences but not this tool as the authorized party. Ask your administrator to check the client id.",
            Self::TokenExpired => "The launch token has expired. Check that the LMS server's clock is correct, then open the tool again.",
            Self::TokenNotYetValid => "The launch token is dated in the future. Check the LMS server's clock, or raise the registration's leeway.",
            Self::NonceMismatch => "The launch token does not answer this login (nonce). Go back to your course and open the tool again.",
            Self::DeploymentNotAllowed => "This deployment of the tool is not allowed for this LMS registration. Ask your administrator to add the deployment id to the registration.",
            Self::MessageTypeUnsupported => "The LMS sent a kind of launch this tool does not handle. Supported: resource link, deep linking, submission review.",
            Self::VersionUnsupported => "The LMS sent an LTI version other than 1.3.0. Ask your LMS administrator to configure the tool as LTI 1.3.",
            Self::ClaimMissing => "The launch lacks information this kind of launch requires. Ask your LMS administrator to check the tool's placement settings.",
            Self::ClaimInvalid => "The launch contains information in an unexpected form. Ask your LMS administrator to check the tool's settings.",
            Self::UserIdMissing => "The launch lacks the attribute configured as the user id. Ask your administrator to check ltiUserIdAttribute / lti13UserIdClaim.",
            Self::RoleUnmapped => "Access denied: none of your roles in this course is mapped to a role in the tool. Ask your administrator to map your role.",
            Self::ModuleDisabled => "This part of the tool is switched off for your institution. Ask your administrator to enable the module.",
            Self::ModuleUnknown => "The link the LMS opened names no part of this tool. Ask your LMS administrator to check the placement URL.",
            Self::NotConfigured => "LTI is disabled because LTI_ENCRYPTION_KEY is not set. Set it with `wrangler secret put LTI_ENCRYPTION_KEY` (32 or more random characters) and redeploy.",
            Self::AdminUnauthorized => "This admin API needs the header Authorization: Bearer <LTI_ADMIN_TOKEN>.",
            Self::RegistrationInvalid => "The registration has invalid fields; see `fields` for each one and send it again.",
            Self::NotFound => "Nothing here. See GET /lti/config for the tool's URLs.",
            Self::MethodNotAllowed => "This URL does not accept that HTTP method.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::SessionInvalid => "Your tool session is missing, invalid or expired. Open the tool again from your course.",
            Self::DeepLinkSessionRequired => "Content can only be returned to the LMS from a content-selection launch. Open the tool from the LMS editor's \"add content\" button and choose again.",
            Self::DeepLinkInvalid => "The selected content could not be sent: see `fields` for what to fix (1–50 items, titles of 1–500 characters, https URLs).",
            Self::DeepLinkTypeNotAccepted => "The LMS does not accept this kind of content here. Choose content of a type the LMS accepts (see `fields`).",
            Self::DeepLinkMultipleNotAccepted => "The LMS accepts only one item here. Select a single item and try again.",
            Self::DeepLinkLineitemNotAccepted => "The LMS does not create gradebook columns from this placement. Send the item without lineItem, or add the column with the grade API after the launch.",
            Self::DeepLinkTargetNotAccepted => "The LMS cannot show this item the way it asks (iframe, window or embed). Use a presentation the LMS accepts (see `fields`).",
            Self::AgsNotEnabled => "Grade passback is not enabled for this deployment: the LMS did not grant the Assignment and Grade Services (or this scope) to the tool. Ask your LMS administrator to enable grade passback for the tool, then launch again.",
            Self::NrpsNotEnabled => "Course rosters are not enabled for this deployment: the LMS did not grant Names and Role Provisioning to the tool. Ask your LMS administrator to enable it, then launch again.",
            Self::LineitemOutOfScope => "That gradebook column belongs to another course or link. Use a line item of this course's resource link.",
            Self::LineitemInvalid => "The gradebook column has invalid fields; see `fields` (label 1–500 characters, scoreMaximum greater than 0).",
            Self::ScoreInvalid => "The score has invalid fields; see `fields` (scoreGiven ≥ 0 with scoreMaximum > 0, comment ≤ 1000 characters, known progress values).",
            Self::RoleForbidden => "Your role in this course does not allow this action. Ask an instructor.",
            Self::ContextUnknown => "The tool has not been launched in this course yet, so it does not know the course's service URLs. Launch the tool from the course once, then try again.",
            Self::RequestInvalid => "The request is malformed; see `fields` for what is missing or wrong.",
            Self::PlatformTokenFailed => "The LMS did not issue a service token to the tool. Ask your administrator to check the registration's token URL (authTokenUrl) and the tool's key in the LMS; try again later.",
            Self::PlatformServiceFailed => "The LMS's service answered with an error. Try again later; if it persists, give the correlation id to your LMS administrator.",
            Self::PlatformResponseInvalid => "The LMS answered with something the tool cannot read (malformed or too large). Give the correlation id to your LMS administrator.",
            Self::KeyNextExists => "A next key is already published. Promote it (POST /lti/keys/promote) before creating another.",
            Self::KeyNoNext => "There is no next key. Create one with POST /lti/keys/next, wait for platforms to refresh the key set, then promote it.",
            Self::KeyNextTooNew => "The next key was published less than the key set cache time ago, so some LMSs may not know it yet. Wait, or send {\"force\": true}.",
            Self::KeyNotRetired => "Only a retired key can be removed. Promote a next key first; the current key is never removed.",
            Self::OauthParamMissing => "The LTI 1.1 launch lacks an OAuth parameter (oauth_consumer_key, oauth_signature, oauth_timestamp, oauth_nonce or oauth_signature_method). Check the tool's LTI 1.1 configuration in the LMS.",
            Self::OauthInvalid => "The LTI 1.1 launch's OAuth parameters are malformed or use a signature method other than HMAC-SHA1. Configure the LMS to sign with HMAC-SHA1.",
            Self::OauthSignatureInvalid => "The LTI 1.1 launch signature does not match. Check that the LMS uses this tool's consumer key and shared secret, and that the launch URL in the LMS is the tool's public URL.",
            Self::OauthTimestampInvalid => "The LTI 1.1 launch is older than 5 minutes or dated in the future. Check the LMS server's clock, then open the tool again.",
            Self::OauthNonceReused => "This LTI 1.1 launch was already used. Go back to your course and open the tool again (refreshing cannot reuse a launch).",
            Self::Lti11ParamMissing => "The LTI 1.1 launch lacks a parameter this kind of launch needs (user_id, resource_link_id, content_item_return_url…). Check the tool's placement in the LMS.",
            Self::Lti11ParamInvalid => "The LTI 1.1 launch carries a parameter in an unusable form (conflicting duplicates or a bad URL). Check the tool's placement in the LMS.",
            Self::OutcomeFailed => "The LMS refused the grade (Basic Outcomes answered failure). Check that the activity still accepts grades; give the correlation id to your LMS administrator.",
            Self::Lti11MigrationMismatch => "This upgraded link could not be matched to your earlier (LTI 1.1) account, so the tool refused it rather than create a second account. Ask your administrator to check the registration's LTI 1.1 consumer key and secret, or its lti11MismatchPolicy.",
            Self::AnonymousLaunchRefused => "The LMS launched the tool without saying who you are (an anonymous launch), and this tool is not set up to admit anonymous users. Sign in to the LMS and launch again, or ask your administrator to set anonymousLaunches to \"guest\" on the registration.",
            Self::LearnerScoresDisabled => "A learner's browser session may not post scores for this registration. Post scores from the tool's server with the services credential (LTI_SERVICES_TOKEN), or ask your administrator to set learnerScores: true on the registration.",
            Self::Internal => "Something went wrong on our side. Try again; if it persists, give the correlation id to support.",
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

/// The launch is valid but the user may not enter.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Configured user-id source absent.
    #[error("user id source `{0}` absent from launch")]
    UserIdMissing(String),
    /// No `sub`: an anonymous launch, refused by the registration's policy.
    #[error("anonymous launch (no sub) and anonymousLaunches is refuse")]
    AnonymousRefused,
    /// No role mapped.
    #[error("no mapped role among {0:?}")]
    RoleUnmapped(Vec<String>),
    /// Module switched off.
    #[error("module `{0}` disabled")]
    ModuleDisabled(&'static str),
    /// Path names no module.
    #[error("target_link_uri path names no module")]
    ModuleUnknown,
    /// target_link_uri claim not on our origin.
    #[error("target_link_uri claim not on this tool's origin")]
    TargetLinkUriInvalid,
}

impl Coded for AccessError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::UserIdMissing(_) => ErrorCode::UserIdMissing,
            Self::AnonymousRefused => ErrorCode::AnonymousLaunchRefused,
            Self::RoleUnmapped(_) => ErrorCode::RoleUnmapped,
            Self::ModuleDisabled(_) => ErrorCode::ModuleDisabled,
            Self::ModuleUnknown => ErrorCode::ModuleUnknown,
            Self::TargetLinkUriInvalid => ErrorCode::TargetLinkUriInvalid,
        }
    }
}

/// Any launch failure, by stage.
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
    /// Access stage.
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl Coded for LaunchError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::State(e) => e.code(),
            Self::Token(e) => e.code(),
            Self::Signature(e) => e.code(),
            Self::Claims(e) => e.code(),
            Self::Access(e) => e.code(),
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

/// Session token verification failure (detail for logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session invalid: {0}")]
pub struct SessionError(pub String);

impl Coded for SessionError {
    fn code(&self) -> ErrorCode {
        ErrorCode::SessionInvalid
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
