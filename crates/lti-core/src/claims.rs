//! Claim names of LTI 1.3 messages (LTI 1.3 Core §5, Deep Linking §4, AGS, NRPS, the LTI
//! 1.1 migration claim). One place for the URIs every module reads.

/// Message type.
pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
/// Version.
pub const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
/// Deployment id.
pub const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
/// Target link URI.
pub const TARGET_LINK_URI: &str = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
/// Resource link.
pub const RESOURCE_LINK: &str = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
/// Roles.
pub const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
/// Context.
pub const CONTEXT: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
/// Custom parameters.
pub const CUSTOM: &str = "https://purl.imsglobal.org/spec/lti/claim/custom";
/// LTI 1.1 migration claim.
pub const LTI1P1: &str = "https://purl.imsglobal.org/spec/lti/claim/lti1p1";
/// Submission review: the learner whose submission is reviewed.
pub const FOR_USER: &str = "https://purl.imsglobal.org/spec/lti/claim/for_user";
/// Deep linking settings.
pub const DEEP_LINKING_SETTINGS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";
/// Launch presentation (return URL, document target).
pub const LAUNCH_PRESENTATION: &str = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation";
/// The platform instance (its URL, name, GUID).
pub const TOOL_PLATFORM: &str = "https://purl.imsglobal.org/spec/lti/claim/tool_platform";
