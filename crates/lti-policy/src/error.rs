//! The error vocabulary: every code a user, an LMS admin or an API client can meet — the
//! protocol's (from `lti-core`), LTI 1.1's, and the product's own — each with its HTTP status
//! and the sentence people read (what happened, what to do). Written once, as one table.
//!
//! The code is what a user, an LMS admin and a support engineer share: it is printed on the
//! error page, returned in JSON, written to the log next to the correlation id and listed in
//! the troubleshooting guide. The `Display` text of a cause is for logs only; clients only ever
//! see [`ErrorCode::message`].

macro_rules! vocabulary {
    (
        core { $($(#[$cdoc:meta])* $cvariant:ident = ($ccode:literal, $cstatus:literal, $cmessage:expr),)* }
        own { $($(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $message:expr),)* }
    ) => {
        /// Every rejection a user or API client can meet. The string form (`as_str`) is stable.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$cdoc])* $cvariant,)*
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$cvariant,)* $(Self::$variant,)*];

            /// Stable machine-readable code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$cvariant => $ccode,)*
                    $(Self::$variant => $code,)*
                }
            }

            /// HTTP status: 400 malformed, 401 unverifiable, 403 refused by policy, 404, 405,
            /// 409 conflicting state, 413 too large, 422 not acceptable to the platform, 502
            /// the platform failed, 503 not configured.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$cvariant => $cstatus,)*
                    $(Self::$variant => $status,)*
                }
            }

            /// A sentence for the person who meets the error: what happened and what to do.
            pub fn message(self) -> &'static str {
                match self {
                    $(Self::$cvariant => $cmessage,)*
                    $(Self::$variant => $message,)*
                }
            }
        }

        /// A protocol code is the same code here (same name, same string).
        impl From<lti_core::error::ErrorCode> for ErrorCode {
            fn from(c: lti_core::error::ErrorCode) -> Self {
                match c {
                    $(lti_core::error::ErrorCode::$cvariant => Self::$cvariant,)*
                    _ => Self::Internal,
                }
            }
        }
    };
}

vocabulary! {
    core {
        /// OIDC login request lacks `iss`, `login_hint` or `target_link_uri`.
        LoginParamMissing = ("login_param_missing", 400, "The LMS started the login without iss, login_hint or target_link_uri. Check the tool's Login URL in the LMS and launch again."),
        /// No registration for this issuer (and client id).
        PlatformUnregistered = ("platform_unregistered", 401, "This LMS (issuer and client id) is not registered with the tool. Ask your administrator to register it with POST /lti/platforms using the exact issuer and client id the LMS shows."),
        /// Issuer has several registrations and the login named no `client_id`.
        PlatformAmbiguous = ("platform_ambiguous", 400, "Several registrations share this issuer and the LMS sent no client_id. Ask your administrator to configure the LMS to send client_id at login."),
        /// `target_link_uri` does not point at this tool.
        TargetLinkUriInvalid = ("target_link_uri_invalid", 400, "The link the LMS asked to open does not belong to this tool. Check the tool's launch URL in the LMS."),
        /// Launch POST lacks `id_token` or `state`.
        LaunchParamMissing = ("launch_param_missing", 400, "The launch arrived without id_token or state. Go back to your course and open the tool again."),
        /// `state` is malformed or its signature does not verify.
        StateInvalid = ("state_invalid", 401, "This launch was not started by this tool. Go back to your course and open the tool again."),
        /// `state` is older than its 10-minute lifetime.
        StateExpired = ("state_expired", 401, "This launch took longer than 10 minutes to complete. Go back to your course and open the tool again."),
        /// `state` was already consumed by an earlier launch.
        StateReused = ("state_reused", 401, "This launch was already used. Go back to your course and open the tool again (refreshing the page cannot reuse a launch)."),
        /// A state cookie was sent but does not belong to this state.
        StateCookieMismatch = ("state_cookie_mismatch", 401, "This launch belongs to another browser window. Close the other windows of the tool and open it again from your course."),
        /// `id_token` is not a well-formed compact JWS with JSON header and claims.
        TokenMalformed = ("token_malformed", 400, "The LMS sent a launch token that could not be read. Ask your LMS administrator to check the tool's LTI 1.3 configuration."),
        /// Header `alg` is not RS256.
        TokenAlgNotAllowed = ("token_alg_not_allowed", 401, "The LMS signed the launch with an algorithm other than RS256, which this tool refuses. Ask your LMS administrator to use RS256."),
        /// Header has no `kid`.
        TokenKidMissing = ("token_kid_missing", 401, "The LMS signed the launch without naming its key (kid). Ask your LMS administrator to check its key set."),
        /// No key with the token's `kid` in the platform's key set, or the key is unusable.
        KeyNotFound = ("key_not_found", 401, "The key the LMS signed the launch with is not in the LMS's published key set. Ask your administrator to check the registration's key set URL (lti13KeysUrl)."),
        /// The RS256 signature does not verify.
        SignatureInvalid = ("signature_invalid", 401, "The launch token's signature does not match the LMS's key. Ask your administrator to check the registration's key set URL."),
        /// `iss` differs from the registration's issuer.
        IssuerMismatch = ("issuer_mismatch", 401, "The launch token comes from a different LMS than the login. Ask your administrator to check the registration's issuer."),
        /// `aud` does not contain our client id.
        AudienceMismatch = ("audience_mismatch", 401, "The launch token was issued for another tool (audience). Ask your administrator to check the registration's client id."),
        /// Several audiences and `azp` is not our client id.
        AzpMismatch = ("azp_mismatch", 401, "The launch token names several audiences but not this tool as the authorized party. Ask your administrator to check the client id."),
        /// `exp` is in the past (beyond leeway).
        TokenExpired = ("token_expired", 401, "The launch token has expired. Check that the LMS server's clock is correct, then open the tool again."),
        /// `iat` or `nbf` is in the future (beyond leeway).
        TokenNotYetValid = ("token_not_yet_valid", 401, "The launch token is dated in the future. Check the LMS server's clock, or raise the registration's leeway."),
        /// `nonce` is missing or differs from the one issued with this state.
        NonceMismatch = ("nonce_mismatch", 401, "The launch token does not answer this login (nonce). Go back to your course and open the tool again."),
        /// `deployment_id` not allowed by the registration's policy.
        DeploymentNotAllowed = ("deployment_not_allowed", 403, "This deployment of the tool is not allowed for this LMS registration. Ask your administrator to add the deployment id to the registration."),
        /// Message type other than ResourceLink, DeepLinking, SubmissionReview.
        MessageTypeUnsupported = ("message_type_unsupported", 400, "The LMS sent a kind of launch this tool does not handle. Supported: resource link, deep linking, submission review."),
        /// `version` is not `1.3.0`.
        VersionUnsupported = ("version_unsupported", 400, "The LMS sent an LTI version other than 1.3.0. Ask your LMS administrator to configure the tool as LTI 1.3."),
        /// A claim required for this message type is absent.
        ClaimMissing = ("claim_missing", 400, "The launch lacks information this kind of launch requires. Ask your LMS administrator to check the tool's placement settings."),
        /// A claim is present with the wrong shape.
        ClaimInvalid = ("claim_invalid", 400, "The launch contains information in an unexpected form. Ask your LMS administrator to check the tool's settings."),
        /// Registration body failed validation.
        RegistrationInvalid = ("registration_invalid", 400, "The registration has invalid fields; see `fields` for each one and send it again."),
        /// Content items failed validation.
        DeepLinkInvalid = ("deep_link_invalid", 422, "The selected content could not be sent: see `fields` for what to fix (1–50 items, titles of 1–500 characters, https URLs)."),
        /// A content item type the platform did not ask for.
        DeepLinkTypeNotAccepted = ("deep_link_type_not_accepted", 422, "The LMS does not accept this kind of content here. Choose content of a type the LMS accepts (see `fields`)."),
        /// Several items, platform accepts one.
        DeepLinkMultipleNotAccepted = ("deep_link_multiple_not_accepted", 422, "The LMS accepts only one item here. Select a single item and try again."),
        /// A line item the platform will not create.
        DeepLinkLineitemNotAccepted = ("deep_link_lineitem_not_accepted", 422, "The LMS does not create gradebook columns from this placement. Send the item without lineItem, or add the column with the grade API after the launch."),
        /// A presentation target the platform did not accept.
        DeepLinkTargetNotAccepted = ("deep_link_target_not_accepted", 422, "The LMS cannot show this item the way it asks (iframe, window or embed). Use a presentation the LMS accepts (see `fields`)."),
        /// AGS not granted.
        AgsNotEnabled = ("ags_not_enabled", 403, "Grade passback is not enabled for this deployment: the LMS did not grant the Assignment and Grade Services (or this scope) to the tool. Ask your LMS administrator to enable grade passback for the tool, then launch again."),
        /// NRPS not granted.
        NrpsNotEnabled = ("nrps_not_enabled", 403, "Course rosters are not enabled for this deployment: the LMS did not grant Names and Role Provisioning to the tool. Ask your LMS administrator to enable it, then launch again."),
        /// Line item outside the session's context.
        LineitemOutOfScope = ("lineitem_out_of_scope", 403, "That gradebook column belongs to another course or link. Use a line item of this course's resource link."),
        /// Line item body failed validation.
        LineitemInvalid = ("lineitem_invalid", 422, "The gradebook column has invalid fields; see `fields` (label 1–500 characters, scoreMaximum greater than 0)."),
        /// Score failed validation.
        ScoreInvalid = ("score_invalid", 422, "The score has invalid fields; see `fields` (scoreGiven ≥ 0 with scoreMaximum > 0, comment ≤ 1000 characters, known progress values)."),
        /// Token endpoint refused or failed.
        PlatformTokenFailed = ("platform_token_failed", 502, "The LMS did not issue a service token to the tool. Ask your administrator to check the registration's token URL (authTokenUrl) and the tool's key in the LMS; try again later."),
        /// Service call failed.
        PlatformServiceFailed = ("platform_service_failed", 502, "The LMS's service answered with an error. Try again later; if it persists, give the correlation id to your LMS administrator."),
        /// Unreadable platform response.
        PlatformResponseInvalid = ("platform_response_invalid", 502, "The LMS answered with something the tool cannot read (malformed or too large). Give the correlation id to your LMS administrator."),
        /// Dynamic Registration: no usable `openid_configuration` in the registration URL.
        RegistrationUrlInvalid = ("registration_url_invalid", 400, "The LMS opened the registration link without a usable openid_configuration address. Start the registration from the LMS's Dynamic Registration page (it adds this parameter), not by opening the link directly."),
        /// Dynamic Registration: the platform's OpenID configuration could not be fetched.
        PlatformConfigUnreachable = ("platform_config_unreachable", 502, "The tool could not fetch the LMS's configuration (openid_configuration): it did not answer in time, answered an error or too much. Check that the LMS is reachable from the internet, then start the registration again."),
        /// Dynamic Registration: the configuration lacks what the specification requires.
        PlatformConfigInvalid = ("platform_config_invalid", 502, "The LMS's configuration is missing something LTI Dynamic Registration requires (its endpoints, RS256 and private_key_jwt support, or the LTI platform configuration). Check the LMS's LTI settings or register the LMS with the admin API instead."),
        /// Dynamic Registration: issuer and configuration URL disagree.
        PlatformIssuerMismatch = ("platform_issuer_mismatch", 502, "The LMS's configuration names an issuer that does not match the address it was fetched from, so the tool cannot trust it. Check the LMS's issuer (platform id) setting, then start the registration again."),
        /// Dynamic Registration: the registration endpoint could not be reached.
        PlatformRegistrationFailed = ("platform_registration_failed", 502, "The tool could not reach the LMS's registration endpoint (no answer in time). Try again; if it persists, check that the LMS is reachable from the internet."),
        /// Dynamic Registration: the platform refused the tool's registration.
        PlatformRegistrationRefused = ("platform_registration_refused", 502, "The LMS refused the tool's registration (its registration token may have expired or been used). Start the registration again from the LMS; the log line with the correlation id has the LMS's reason."),
        /// Dynamic Registration: the platform's answer is unusable.
        PlatformRegistrationInvalid = ("platform_registration_invalid", 502, "The LMS accepted the registration but answered without a usable client id, so nothing was saved. Check the tool in the LMS, or register the LMS with the admin API instead."),
        /// Caliper: events from a tool failed validation.
        CaliperEventInvalid = ("caliper_event_invalid", 422, "The analytics events have invalid fields; see `fields` for each one (event types and the actions Caliper 1.2 allows for them, absolute IRIs as object ids, ISO 8601 times, 1–100 events a request). Nothing of this request was recorded."),
        /// Caliper: the platform's profile is unusable (logged and shown to admins; launches go on).
        CaliperProfileInvalid = ("caliper_profile_invalid", 502, "The LMS's Caliper profile (custom_caliper_profile_url) is not usable: it must be JSON with an https apiUrl and an apiKey. Launches still work; analytics stay off until the LMS's profile is fixed."),
    }
    own {
        /// The platform's key set could not be fetched and nothing is cached.
        PlatformJwksUnavailable = ("platform_jwks_unavailable", 502, "The LMS's public key set could not be fetched. Try again in a minute; if it persists, ask your administrator to check lti13KeysUrl."),
        /// The configured user-id claim is absent from the launch.
        UserIdMissing = ("user_id_missing", 400, "The launch lacks the attribute configured as the user id. Ask your administrator to check ltiUserIdAttribute / lti13UserIdClaim."),
        /// None of the user's roles is mapped to a tool role.
        RoleUnmapped = ("role_unmapped", 403, "Access denied: none of your roles in this course is mapped to a role in the tool. Ask your administrator to map your role."),
        /// The requested module is switched off for this registration.
        ModuleDisabled = ("module_disabled", 403, "This part of the tool is switched off for your institution. Ask your administrator to enable the module."),
        /// `target_link_uri` names no known module.
        ModuleUnknown = ("module_unknown", 400, "The link the LMS opened names no part of this tool. Ask your LMS administrator to check the placement URL."),
        /// `LTI_ENCRYPTION_KEY` is not set: LTI is disabled.
        NotConfigured = ("not_configured", 503, "LTI is disabled because LTI_ENCRYPTION_KEY is not set. Set it with `wrangler secret put LTI_ENCRYPTION_KEY` (32 or more random characters) and redeploy."),
        /// Admin API called without the right bearer secret.
        AdminUnauthorized = ("admin_unauthorized", 401, "This admin API needs the header Authorization: Bearer <LTI_ADMIN_TOKEN>, or a signed-in admin console (open /admin/ and sign in)."),
        /// A console sign-in with a token that is not the admin token (or none).
        ConsoleTokenInvalid = ("console_token_invalid", 401, "That is not this deployment's admin token (LTI_ADMIN_TOKEN). Check it, paste it without spaces, and sign in again."),
        /// The admin console's session cookie is missing, forged, signed out, idle too long or past its lifetime.
        ConsoleSessionExpired = ("console_session_expired", 401, "Your admin console session has ended (signed out, idle too long, or past its lifetime). Sign in again at /admin/."),
        /// A console call that changes something came without the tool's own `Origin`.
        ConsoleOriginRefused = ("console_origin_refused", 403, "This change did not come from the tool's own admin console (the request's Origin is missing or another site's), so nothing was changed. Make the change from /admin/ on the tool's own address."),
        /// Cloudflare Access is configured and the request's Access token is missing or does not verify.
        AccessTokenInvalid = ("access_token_invalid", 401, "Cloudflare Access did not vouch for this request (its Cf-Access-Jwt-Assertion is missing, expired, or for another application). Open the console through its Access-protected address and sign in again."),
        /// No such route or object.
        NotFound = ("not_found", 404, "Nothing here. See GET /lti/config for the tool's URLs."),
        /// Route exists, method does not.
        MethodNotAllowed = ("method_not_allowed", 405, "This URL does not accept that HTTP method."),
        /// Request body over the size limit.
        PayloadTooLarge = ("payload_too_large", 413, "The request body is too large."),
        /// Session token missing, forged or expired.
        SessionInvalid = ("session_invalid", 401, "Your tool session is missing, invalid or expired. Open the tool again from your course."),
        /// Deep linking responses need the session of a deep-linking launch.
        DeepLinkSessionRequired = ("deep_link_session_required", 403, "Content can only be returned to the LMS from a content-selection launch. Open the tool from the LMS editor's \"add content\" button and choose again."),
        /// The session's role may not do this.
        RoleForbidden = ("role_forbidden", 403, "Your role in this course does not allow this action. Ask an instructor."),
        /// No launch recorded for this context.
        ContextUnknown = ("context_unknown", 404, "The tool has not been launched in this course yet, so it does not know the course's service URLs. Launch the tool from the course once, then try again."),
        /// Malformed request.
        RequestInvalid = ("request_invalid", 400, "The request is malformed; see `fields` for what is missing or wrong."),
        /// A next key already exists.
        KeyNextExists = ("key_next_exists", 409, "A next key is already published. Promote it (POST /lti/keys/promote) before creating another."),
        /// No next key to promote.
        KeyNoNext = ("key_no_next", 409, "There is no next key. Create one with POST /lti/keys/next, wait for platforms to refresh the key set, then promote it."),
        /// Next key published too recently.
        KeyNextTooNew = ("key_next_too_new", 409, "The next key was published less than the key set cache time ago, so some LMSs may not know it yet. Wait, or send {\"force\": true}."),
        /// Only retired keys can be removed.
        KeyNotRetired = ("key_not_retired", 409, "Only a retired key can be removed. Promote a next key first; the current key is never removed."),
        /// An LTI 1.1 launch without a required oauth_* parameter.
        OauthParamMissing = ("oauth_param_missing", 400, "The LTI 1.1 launch lacks an OAuth parameter (oauth_consumer_key, oauth_signature, oauth_timestamp, oauth_nonce or oauth_signature_method). Check the tool's LTI 1.1 configuration in the LMS."),
        /// Malformed OAuth parameters or an unsupported signature method.
        OauthInvalid = ("oauth_invalid", 400, "The LTI 1.1 launch's OAuth parameters are malformed or use a signature method other than HMAC-SHA1. Configure the LMS to sign with HMAC-SHA1."),
        /// The OAuth 1.0a signature does not verify.
        OauthSignatureInvalid = ("oauth_signature_invalid", 401, "The LTI 1.1 launch signature does not match. Check that the LMS uses this tool's consumer key and shared secret, and that the launch URL in the LMS is the tool's public URL."),
        /// oauth_timestamp more than 5 minutes off.
        OauthTimestampInvalid = ("oauth_timestamp_invalid", 401, "The LTI 1.1 launch is older than 5 minutes or dated in the future. Check the LMS server's clock, then open the tool again."),
        /// The OAuth nonce was used before.
        OauthNonceReused = ("oauth_nonce_reused", 401, "This LTI 1.1 launch was already used. Go back to your course and open the tool again (refreshing cannot reuse a launch)."),
        /// A required LTI 1.1 parameter is absent.
        Lti11ParamMissing = ("lti11_param_missing", 400, "The LTI 1.1 launch lacks a parameter this kind of launch needs (user_id, resource_link_id, content_item_return_url…). Check the tool's placement in the LMS."),
        /// An LTI 1.1 parameter is unusable.
        Lti11ParamInvalid = ("lti11_param_invalid", 400, "The LTI 1.1 launch carries a parameter in an unusable form (conflicting duplicates or a bad URL). Check the tool's placement in the LMS."),
        /// The platform refused a Basic Outcomes request.
        OutcomeFailed = ("outcome_failed", 502, "The LMS refused the grade (Basic Outcomes answered failure). Check that the activity still accepts grades; give the correlation id to your LMS administrator."),
        /// The lti1p1 claim does not verify and the policy refuses.
        Lti11MigrationMismatch = ("lti11_migration_mismatch", 403, "This upgraded link could not be matched to your earlier (LTI 1.1) account, so the tool refused it rather than create a second account. Ask your administrator to check the registration's LTI 1.1 consumer key and secret, or its lti11MismatchPolicy."),
        /// A launch without `sub` (an anonymous user) and the registration admits none.
        AnonymousLaunchRefused = ("anonymous_launch_refused", 403, "The LMS launched the tool without saying who you are (an anonymous launch), and this tool is not set up to admit anonymous users. Sign in to the LMS and launch again, or ask your administrator to set anonymousLaunches to \"guest\" on the registration."),
        /// A learner's browser session tried to post a score and the registration does not allow it.
        LearnerScoresDisabled = ("learner_scores_disabled", 403, "A learner's browser session may not post scores for this registration. Post scores from the tool's server with the services credential (LTI_SERVICES_TOKEN), or ask your administrator to set learnerScores: true on the registration."),
        /// Dynamic Registration: the invitation in the registration URL is missing or unknown.
        InvitationInvalid = ("invitation_invalid", 403, "This registration link is not valid: it has no invitation, or one this tool never issued (or revoked). Ask the tool's administrator for a new registration link (POST /lti/invitations)."),
        /// Dynamic Registration: the invitation's time ran out.
        InvitationExpired = ("invitation_expired", 403, "This registration link has expired. Ask the tool's administrator for a new one (POST /lti/invitations); nothing was registered."),
        /// Dynamic Registration: the invitation was already used (or is in use right now).
        InvitationUsed = ("invitation_used", 409, "This registration link was already used (or a registration with it is running in another window). Each link registers one LMS; ask the tool's administrator for a new one."),
        /// Dynamic Registration: the platform returned an issuer and client id already registered.
        PlatformAlreadyRegistered = ("platform_already_registered", 409, "The LMS answered with a client id that is already registered with this tool, so nothing was changed. Update that registration with POST /lti/platforms, or delete it and register again."),
        /// Caliper: the session has no event store (no profile URL, profile unusable, or switched off).
        CaliperNotEnabled = ("caliper_not_enabled", 409, "Learning analytics (Caliper) are not on for this session: the LMS sent no custom_caliper_profile_url, its profile could not be read, or the registration has caliper: false. Nothing was recorded; ask your administrator (GET /lti/platforms/{id}/caliper shows why)."),
        /// Caliper: the profile URL could not be fetched (logged and shown to admins).
        CaliperProfileUnreachable = ("caliper_profile_unreachable", 502, "The tool could not fetch the LMS's Caliper profile (custom_caliper_profile_url): it did not answer in time, answered an error or too much, or is not https. Launches still work; check that the profile URL is reachable from the internet."),
        /// Caliper: the event store refused an envelope (4xx other than 429): dropped.
        CaliperDeliveryRefused = ("caliper_delivery_refused", 502, "The LMS's event store refused events (an HTTP 4xx answer other than 429), so they were dropped. Check the apiKey the LMS's Caliper profile gives and the store's log for the event ids."),
        /// Caliper: the event store failed (429, 5xx, timeout): retried with backoff.
        CaliperDeliveryFailed = ("caliper_delivery_failed", 502, "The LMS's event store did not accept events this time (429, 5xx or no answer); they are retried with backoff and moved to the dead-letter queue after the retry limit."),
        /// Caliper: events moved to the dead-letter queue after the retry limit.
        CaliperDeadLettered = ("caliper_dead_lettered", 502, "Events could not be delivered to the LMS's event store within the retry limit and were moved to the dead-letter queue; GET /lti/platforms/{id}/caliper lists their ids."),
        /// Anything we did not anticipate; details only in the log.
        Internal = ("internal_error", 500, "Something went wrong on our side. Try again; if it persists, give the correlation id to support."),
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a code of this vocabulary: every `lti-core` error (its protocol code), and
/// this crate's and `lti-legacy`'s errors directly.
pub trait Coded: std::fmt::Display {
    /// The stable code.
    fn code(&self) -> ErrorCode;
}

impl<T: lti_core::error::Coded> Coded for T {
    fn code(&self) -> ErrorCode {
        lti_core::error::Coded::code(self).into()
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

/// Session token verification failure (detail for logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session invalid: {0}")]
pub struct SessionError(pub String);

impl Coded for SessionError {
    fn code(&self) -> ErrorCode {
        ErrorCode::SessionInvalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every protocol code of `lti-core` is a code of the vocabulary, the same string: a code
    /// added to the core without its row here would otherwise answer as `internal_error`.
    #[test]
    fn every_core_code_is_in_the_vocabulary() {
        for c in lti_core::error::ErrorCode::ALL {
            assert_eq!(ErrorCode::from(*c).as_str(), c.as_str());
        }
    }

    #[test]
    fn codes_are_unique_with_a_status_and_a_sentence() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!((400..=503).contains(&c.status()), "{c}");
            assert!(c.message().ends_with('.') && c.message().len() > 20, "{c}");
        }
    }
}
