//! LTI 1.1 launch parameters → a normalised launch, shaped so that lti-core's user-id rules and
//! role map apply unchanged.
//!
//! Only an [`AuthenticatedRequest`] (signature, timestamp and nonce checked) can become an
//! [`Lti11Launch`]. From it:
//!
//! - [`Lti11Launch::roles`] are in the LTI 1.3 vocabulary ([`map_role`]:
//!   `urn:lti:role:ims/lis/Instructor` and `Instructor` → `…/membership#Instructor`,
//!   `TeachingAssistant` → `…/membership/Instructor#TeachingAssistant`,
//!   `urn:lti:instrole:ims/lis/Administrator` → `…/institution/person#Administrator`), so
//!   `lti_policy::roles::resolve_role` maps them as it maps a 1.3 launch;
//! - [`Lti11Launch::to_lti13_claims`] gives the claims `lti_policy::user_id::resolve_user_id`
//!   reads: `ltiUserIdAttribute` naming `user_id`, `lis_person_sourcedid`, `custom_x`, `ext_x`
//!   or any other signed parameter, and `lti13UserIdClaim` = `…/claim/lti1p1` + `user_id`,
//!   resolve to the same value they resolve to for the same person's 1.3 launch;
//! - [`Lti11Launch::param`] reads any signed parameter by its LTI 1.1 name.
//!
//! Blackboard base64-encodes `user_id`, `context_title` and `lis_person_name_*` (KAF guide
//! §11.3): with [`ParseOptions::blackboard_base64`] those are decoded
//! ([`decode_blackboard_base64`]) when, and only when, they are valid base64 of printable UTF-8.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use lti_core::claims as claim;
use lti_core::url::HttpUrl;
use serde_json::{json, Map, Value};

use crate::error::ParamsError;
use crate::oauth1::AuthenticatedRequest;

/// The parameters Blackboard sends base64-encoded (KAF guide §11.3).
pub const BLACKBOARD_BASE64_PARAMS: &[&str] =
    &["user_id", "context_title", "lis_person_name_full", "lis_person_name_given", "lis_person_name_family"];

const MAX_VALUE: usize = 8 * 1024;
const MAX_DATA: usize = 32 * 1024;
const MAX_ROLES: usize = 100;

/// LTI 1.3 role vocabulary prefixes (LTI 1.3 core, appendix A.2).
pub mod vocab {
    /// Context (membership) roles: `MEMBERSHIP#Instructor`, sub-roles `MEMBERSHIP/Instructor#TeachingAssistant`.
    pub const MEMBERSHIP: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership";
    /// Institution roles.
    pub const INSTITUTION: &str = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#";
    /// System roles.
    pub const SYSTEM: &str = "http://purl.imsglobal.org/vocab/lis/v2/system/person#";
}

const CONTEXT_ROLES: &[&str] =
    &["Learner", "Instructor", "ContentDeveloper", "Member", "Manager", "Mentor", "Administrator", "TeachingAssistant"];
const INSTITUTION_ROLES: &[&str] = &[
    "Student",
    "Faculty",
    "Member",
    "Learner",
    "Instructor",
    "Mentor",
    "Staff",
    "Alumni",
    "ProspectiveStudent",
    "Guest",
    "Other",
    "Administrator",
    "Observer",
    "None",
];
const SYSTEM_ROLES: &[&str] = &["SysAdmin", "SysSupport", "Creator", "AccountAdmin", "User", "Administrator", "None"];

/// The LTI 1.1 message types we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// `basic-lti-launch-request`
    BasicLaunch,
    /// `ContentItemSelectionRequest` (opens the content picker).
    ContentItemSelectionRequest,
}

impl MessageType {
    /// Parse `lti_message_type`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "basic-lti-launch-request" => Some(Self::BasicLaunch),
            "ContentItemSelectionRequest" => Some(Self::ContentItemSelectionRequest),
            _ => None,
        }
    }

    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BasicLaunch => "basic-lti-launch-request",
            Self::ContentItemSelectionRequest => "ContentItemSelectionRequest",
        }
    }

    /// The LTI 1.3 message type playing the same part.
    pub fn lti13(self) -> &'static str {
        match self {
            Self::BasicLaunch => "LtiResourceLinkRequest",
            Self::ContentItemSelectionRequest => "LtiDeepLinkingRequest",
        }
    }
}

/// How to read a registration's launches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// The registration says the platform is Blackboard: decode its base64 parameters.
    pub blackboard_base64: bool,
}

/// The course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// `context_id`
    pub id: String,
    /// `context_title`
    pub title: Option<String>,
    /// `context_label`
    pub label: Option<String>,
}

/// The `lis_person_*` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// `lis_person_name_full`
    pub name_full: Option<String>,
    /// `lis_person_name_given`
    pub name_given: Option<String>,
    /// `lis_person_name_family`
    pub name_family: Option<String>,
    /// `lis_person_contact_email_primary`
    pub email: Option<String>,
    /// `lis_person_sourcedid`
    pub sourcedid: Option<String>,
}

/// Where and for whom Basic Outcomes grades go (`lis_outcome_service_url`,
/// `lis_result_sourcedid`): present only when both are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeService {
    /// The platform's POX endpoint (absolute http(s) URL).
    pub service_url: String,
    /// Opaque id of this user's result in this link.
    pub result_sourcedid: String,
}

/// What a `ContentItemSelectionRequest` asks for (LTI Content-Item Message 1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentItemSettings {
    /// `content_item_return_url`: where the signed `ContentItemSelection` is posted.
    pub return_url: String,
    /// `accept_media_types`, e.g. `application/vnd.ims.lti.v1.ltilink`, `text/html`, `image/*`.
    pub accept_media_types: Vec<String>,
    /// `accept_presentation_document_targets`, e.g. `iframe`, `window`, `embed`.
    pub accept_presentation_document_targets: Vec<String>,
    /// `accept_multiple` (default false).
    pub accept_multiple: bool,
    /// `accept_unsigned` (default false).
    pub accept_unsigned: bool,
    /// `auto_create` (default false).
    pub auto_create: bool,
    /// `title` suggested by the platform.
    pub title: Option<String>,
    /// `text` suggested by the platform.
    pub text: Option<String>,
    /// `data`: opaque, echoed back verbatim.
    pub data: Option<String>,
}

/// A verified LTI 1.1 launch, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lti11Launch {
    /// The verified `oauth_consumer_key`.
    pub consumer_key: String,
    /// `lti_message_type`
    pub message_type: MessageType,
    /// `lti_version` as sent.
    pub lti_version: String,
    /// `user_id` (absent in anonymous launches).
    pub user_id: Option<String>,
    /// Roles in the LTI 1.3 vocabulary (see [`map_role`]).
    pub roles: Vec<String>,
    /// `roles` as sent, split on commas.
    pub lti11_roles: Vec<String>,
    /// The course, when `context_id` is present.
    pub context: Option<Context>,
    /// `resource_link_id` (required for basic launches).
    pub resource_link_id: Option<String>,
    /// `resource_link_title`
    pub resource_link_title: Option<String>,
    /// `lis_person_*`
    pub person: Person,
    /// `custom_*` parameters, by name without the `custom_` prefix.
    pub custom: BTreeMap<String, String>,
    /// `ext_*` parameters, by name without the `ext_` prefix.
    pub ext: BTreeMap<String, String>,
    /// `launch_presentation_return_url` (dropped unless an absolute http(s) URL).
    pub return_url: Option<String>,
    /// Basic Outcomes service, when the platform offers one.
    pub outcome_service: Option<OutcomeService>,
    /// Content-item request settings (content-item requests only).
    pub content_item: Option<ContentItemSettings>,
    /// `tool_consumer_instance_guid`
    pub tool_consumer_instance_guid: Option<String>,
    params: Vec<(String, String)>,
}

/// All values of `name`, which must agree (a parameter repeated with different values, e.g. in
/// the query and the body, is refused rather than guessed); empty counts as absent.
fn single<'a>(params: &'a [(String, String)], name: &str, max: usize) -> Result<Option<&'a str>, ParamsError> {
    let mut value: Option<&str> = None;
    for (k, v) in params {
        if k != name {
            continue;
        }
        match value {
            Some(prev) if prev != v => {
                return Err(ParamsError::Invalid(name.chars().take(64).collect(), "repeated with different values"))
            }
            _ => value = Some(v),
        }
    }
    match value {
        Some(v) if v.len() > max => Err(ParamsError::Invalid(name.chars().take(64).collect(), "too long")),
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

fn owned(params: &[(String, String)], name: &str) -> Result<Option<String>, ParamsError> {
    Ok(single(params, name, MAX_VALUE)?.map(str::to_string))
}

fn http_url(value: Option<String>) -> Option<String> {
    value.filter(|u| HttpUrl::parse(u).is_ok())
}

fn flag(params: &[(String, String)], name: &str) -> Result<bool, ParamsError> {
    Ok(single(params, name, MAX_VALUE)?.is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

fn list(params: &[(String, String)], name: &'static str) -> Result<Vec<String>, ParamsError> {
    let v = single(params, name, MAX_VALUE)?.ok_or(ParamsError::Missing(name))?;
    Ok(v.split(',').map(str::trim).filter(|s| !s.is_empty()).take(MAX_ROLES).map(str::to_string).collect())
}

fn prefixed(params: &[(String, String)], prefix: &str) -> Result<BTreeMap<String, String>, ParamsError> {
    let mut out = BTreeMap::new();
    for (k, _) in params {
        if let Some(short) = k.strip_prefix(prefix) {
            if !short.is_empty() && !out.contains_key(short) {
                if let Some(v) = single(params, k, MAX_VALUE)? {
                    out.insert(short.to_string(), v.to_string());
                }
            }
        }
    }
    Ok(out)
}

impl Lti11Launch {
    /// Read a verified request's parameters (Blackboard values decoded first when `opts` says so):
    ///
    /// 1. `lti_message_type` is `basic-lti-launch-request` or `ContentItemSelectionRequest`;
    /// 2. `lti_version` is `LTI-1p0` (`LTI-1p1`, `LTI-1p2` accepted: same message format);
    /// 3. basic launches carry `resource_link_id`; content-item requests carry an absolute
    ///    http(s) `content_item_return_url`, `accept_media_types` and
    ///    `accept_presentation_document_targets`;
    /// 4. no LTI parameter is repeated with different values; LTI values within 8 KiB, any
    ///    value within 32 KiB.
    pub fn from_request(req: AuthenticatedRequest, opts: ParseOptions) -> Result<Self, ParamsError> {
        let consumer_key = req.consumer_key().to_string();
        let mut params: Vec<(String, String)> =
            req.into_params().into_iter().filter(|(k, _)| !k.starts_with("oauth_")).collect();
        if let Some((k, _)) = params.iter().find(|(_, v)| v.len() > MAX_DATA) {
            return Err(ParamsError::Invalid(k.chars().take(64).collect(), "too long"));
        }
        if opts.blackboard_base64 {
            decode_blackboard_base64(&mut params);
        }
        let p = &params;
        // 1.
        let mt = single(p, "lti_message_type", MAX_VALUE)?.ok_or(ParamsError::Missing("lti_message_type"))?;
        let message_type =
            MessageType::parse(mt).ok_or_else(|| ParamsError::MessageTypeUnsupported(mt.chars().take(80).collect()))?;
        // 2.
        let lti_version = single(p, "lti_version", MAX_VALUE)?.ok_or(ParamsError::Missing("lti_version"))?;
        if !matches!(lti_version, "LTI-1p0" | "LTI-1p1" | "LTI-1p2") {
            return Err(ParamsError::VersionUnsupported(lti_version.chars().take(20).collect()));
        }
        // 3.
        let resource_link_id = owned(p, "resource_link_id")?;
        let content_item = match message_type {
            MessageType::BasicLaunch => {
                if resource_link_id.is_none() {
                    return Err(ParamsError::Missing("resource_link_id"));
                }
                None
            }
            MessageType::ContentItemSelectionRequest => Some(content_item_settings(p)?),
        };
        // 4. (every read below goes through `single`)
        let lti11_roles: Vec<String> = match single(p, "roles", MAX_VALUE)? {
            Some(r) => {
                r.split(',').map(str::trim).filter(|s| !s.is_empty()).take(MAX_ROLES).map(str::to_string).collect()
            }
            None => Vec::new(),
        };
        let context = match owned(p, "context_id")? {
            Some(id) => Some(Context { id, title: owned(p, "context_title")?, label: owned(p, "context_label")? }),
            None => None,
        };
        let outcome_service = outcome_service(p)?;
        Ok(Self {
            consumer_key,
            message_type,
            lti_version: lti_version.to_string(),
            user_id: owned(p, "user_id")?,
            roles: map_roles(&lti11_roles),
            lti11_roles,
            context,
            resource_link_id,
            resource_link_title: owned(p, "resource_link_title")?,
            person: Person {
                name_full: owned(p, "lis_person_name_full")?,
                name_given: owned(p, "lis_person_name_given")?,
                name_family: owned(p, "lis_person_name_family")?,
                email: owned(p, "lis_person_contact_email_primary")?,
                sourcedid: owned(p, "lis_person_sourcedid")?,
            },
            custom: prefixed(p, "custom_")?,
            ext: prefixed(p, "ext_")?,
            return_url: http_url(owned(p, "launch_presentation_return_url")?),
            outcome_service,
            content_item,
            tool_consumer_instance_guid: owned(p, "tool_consumer_instance_guid")?,
            params,
        })
    }

    /// Any signed launch parameter by its LTI 1.1 name (`lis_person_sourcedid`,
    /// `custom_username`, …), after Blackboard decoding. `None` when absent, empty, or repeated
    /// with different values (an ambiguous value never becomes a user id).
    pub fn param(&self, name: &str) -> Option<&str> {
        single(&self.params, name, usize::MAX).ok().flatten()
    }

    /// Every signed parameter except the `oauth_*` ones, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The launch as LTI 1.3 claims, for lti-core's user-id resolution
    /// (`lti_policy::user_id::resolve_user_id`) and anything else that reads 1.3 claims. Not a
    /// token: it carries no `iss`, `aud`, `nonce` or times. Mapping (LTI 1.3 migration guide):
    ///
    /// | LTI 1.1 | claim |
    /// |---|---|
    /// | `user_id` | `sub`, and `…/claim/lti1p1` → `user_id` |
    /// | `roles` | `…/claim/roles` (1.3 vocabulary) |
    /// | `context_id`/`_title`/`_label` | `…/claim/context` `id`/`title`/`label` |
    /// | `resource_link_id`/`_title` | `…/claim/resource_link` `id`/`title` |
    /// | `lis_person_sourcedid` | `…/claim/lis` → `person_sourcedid` |
    /// | `lis_person_name_full`/`_given`/`_family`, `…_contact_email_primary` | `name`, `given_name`, `family_name`, `email` |
    /// | `custom_x`, `ext_x` | `…/claim/custom` → `x`, `…/claim/ext` → `x` |
    /// | `launch_presentation_return_url` | `…/claim/launch_presentation` → `return_url` |
    /// | `tool_consumer_instance_guid` | `…/claim/tool_platform` → `guid` |
    /// | any other parameter `p` | top-level `p` (unless that name is taken) |
    pub fn to_lti13_claims(&self) -> Map<String, Value> {
        let mut c = Map::new();
        let mut put = |k: &str, v: Value| {
            c.insert(k.to_string(), v);
        };
        put(claim::MESSAGE_TYPE, json!(self.message_type.lti13()));
        put(claim::ROLES, json!(self.roles));
        let mut lti1p1 = Map::new();
        lti1p1.insert("oauth_consumer_key".into(), json!(self.consumer_key));
        if let Some(u) = &self.user_id {
            put("sub", json!(u));
            lti1p1.insert("user_id".into(), json!(u));
        }
        if let Some(ctx) = &self.context {
            let mut o = Map::new();
            o.insert("id".into(), json!(ctx.id));
            if let Some(t) = &ctx.title {
                o.insert("title".into(), json!(t));
            }
            if let Some(l) = &ctx.label {
                o.insert("label".into(), json!(l));
            }
            lti1p1.insert("context_id".into(), json!(ctx.id));
            put(claim::CONTEXT, Value::Object(o));
        }
        if let Some(id) = &self.resource_link_id {
            let mut o = Map::new();
            o.insert("id".into(), json!(id));
            if let Some(t) = &self.resource_link_title {
                o.insert("title".into(), json!(t));
            }
            lti1p1.insert("resource_link_id".into(), json!(id));
            put(claim::RESOURCE_LINK, Value::Object(o));
        }
        put(claim::LTI1P1, Value::Object(lti1p1));
        if let Some(s) = &self.person.sourcedid {
            put(LIS_CLAIM, json!({ "person_sourcedid": s }));
        }
        for (k, v) in [
            ("name", &self.person.name_full),
            ("given_name", &self.person.name_given),
            ("family_name", &self.person.name_family),
            ("email", &self.person.email),
        ] {
            if let Some(v) = v {
                put(k, json!(v));
            }
        }
        if !self.custom.is_empty() {
            put(claim::CUSTOM, json!(self.custom));
        }
        if !self.ext.is_empty() {
            put(EXT_CLAIM, json!(self.ext));
        }
        if let Some(u) = &self.return_url {
            put(LAUNCH_PRESENTATION_CLAIM, json!({ "return_url": u }));
        }
        if let Some(g) = &self.tool_consumer_instance_guid {
            put(TOOL_PLATFORM_CLAIM, json!({ "guid": g }));
        }
        for (k, _) in &self.params {
            let reserved = RESERVED_TOP_LEVEL.contains(&k.as_str())
                || k.contains(':')
                || k.starts_with("custom_")
                || k.starts_with("ext_");
            if !reserved && !c.contains_key(k) {
                if let Some(v) = self.param(k) {
                    c.insert(k.clone(), json!(v));
                }
            }
        }
        c
    }
}

/// A content-item request's settings: an absolute http(s) `content_item_return_url`, the
/// accepted media types and targets, the flags, and the opaque `data`.
fn content_item_settings(p: &[(String, String)]) -> Result<ContentItemSettings, ParamsError> {
    let return_url = owned(p, "content_item_return_url")?.ok_or(ParamsError::Missing("content_item_return_url"))?;
    if HttpUrl::parse(&return_url).is_err() {
        return Err(ParamsError::Invalid("content_item_return_url".into(), "not an absolute http(s) URL"));
    }
    Ok(ContentItemSettings {
        return_url,
        accept_media_types: list(p, "accept_media_types")?,
        accept_presentation_document_targets: list(p, "accept_presentation_document_targets")?,
        accept_multiple: flag(p, "accept_multiple")?,
        accept_unsigned: flag(p, "accept_unsigned")?,
        auto_create: flag(p, "auto_create")?,
        title: owned(p, "title")?,
        text: owned(p, "text")?,
        data: single(p, "data", MAX_DATA)?.map(str::to_string),
    })
}

/// The Basic Outcomes service, when the launch carries both its URL (absolute http(s)) and a
/// result sourcedid.
fn outcome_service(p: &[(String, String)]) -> Result<Option<OutcomeService>, ParamsError> {
    Ok(match (http_url(owned(p, "lis_outcome_service_url")?), owned(p, "lis_result_sourcedid")?) {
        (Some(service_url), Some(result_sourcedid)) => Some(OutcomeService { service_url, result_sourcedid }),
        _ => None,
    })
}

/// LIS claim (LTI 1.3 core §5.3.7).
pub const LIS_CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/lis";
/// Vendor extension claim as lti-core's user-id rules read it.
pub const EXT_CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/ext";
/// Launch presentation claim.
pub const LAUNCH_PRESENTATION_CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation";
/// Tool platform claim.
pub const TOOL_PLATFORM_CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/tool_platform";

/// Token claims a 1.1 parameter must never stand in for.
const RESERVED_TOP_LEVEL: &[&str] =
    &["iss", "sub", "aud", "azp", "exp", "iat", "nbf", "nonce", "jti", "name", "given_name", "family_name", "email"];

/// Decode, in place, the parameters Blackboard base64-encodes ([`BLACKBOARD_BASE64_PARAMS`]).
/// A value is replaced only when it is canonical base64 (standard alphabet, padded) of
/// non-empty UTF-8 without control characters; anything else is kept as sent.
pub fn decode_blackboard_base64(params: &mut [(String, String)]) {
    for (k, v) in params.iter_mut() {
        if BLACKBOARD_BASE64_PARAMS.contains(&k.as_str()) {
            if let Some(decoded) = strict_b64_text(v) {
                *v = decoded;
            }
        }
    }
}

fn strict_b64_text(s: &str) -> Option<String> {
    let bytes = STANDARD.decode(s.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_empty() && !text.chars().any(char::is_control)).then_some(text)
}

fn canonical<'a>(name: &'a str, known: &[&'static str]) -> &'a str {
    known.iter().find(|k| k.eq_ignore_ascii_case(name)).copied().unwrap_or(name)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s.get(prefix.len()..)).flatten()
}

fn context_principal_uri(principal: &str) -> String {
    if principal == "TeachingAssistant" {
        // LIS v2 made TeachingAssistant a sub-role of Instructor.
        format!("{}/Instructor#TeachingAssistant", vocab::MEMBERSHIP)
    } else {
        format!("{}#{principal}", vocab::MEMBERSHIP)
    }
}

/// One LTI 1.1 role → its LTI 1.3 URI(s) (LTI 1.1 appendix A → LTI 1.3 appendix A.2):
///
/// - context roles, as `urn:lti:role:ims/lis/X` or the short name `X` (any case):
///   `…/membership#X`; `TeachingAssistant` → `…/membership/Instructor#TeachingAssistant`;
/// - context sub-roles `urn:lti:role:ims/lis/X/Y`: `…/membership/X#Y` *and* the principal role
///   `X` (LTI 1.3 sends a sub-role with its principal role);
/// - `urn:lti:instrole:ims/lis/X` → `…/institution/person#X`;
///   `urn:lti:sysrole:ims/lis/X` → `…/system/person#X`;
/// - anything else (1.3 URIs, unknown names) unchanged, so a registration's role map can still
///   name it.
pub fn map_role(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    if let Some(rest) = strip_prefix_ignore_case(raw, "urn:lti:instrole:ims/lis/") {
        return vec![format!("{}{}", vocab::INSTITUTION, canonical(rest, INSTITUTION_ROLES))];
    }
    if let Some(rest) = strip_prefix_ignore_case(raw, "urn:lti:sysrole:ims/lis/") {
        return vec![format!("{}{}", vocab::SYSTEM, canonical(rest, SYSTEM_ROLES))];
    }
    let (principal, sub) = if let Some(rest) = strip_prefix_ignore_case(raw, "urn:lti:role:ims/lis/") {
        match rest.split_once('/') {
            Some((p, s)) if !s.is_empty() && !s.contains('/') => (p, Some(s)),
            Some(_) => return vec![raw.to_string()],
            None => (rest, None),
        }
    } else if !raw.contains([':', '/', '#']) {
        (raw, None)
    } else {
        return vec![raw.to_string()];
    };
    let Some(principal) = CONTEXT_ROLES.iter().find(|k| k.eq_ignore_ascii_case(principal)).copied() else {
        return vec![raw.to_string()];
    };
    match sub {
        None => vec![context_principal_uri(principal)],
        Some(sub) => {
            let parent = if principal == "TeachingAssistant" { "Instructor" } else { principal };
            let sub_uri = format!("{}/{parent}#{sub}", vocab::MEMBERSHIP);
            let principal_uri = context_principal_uri(principal);
            if sub_uri == principal_uri {
                vec![sub_uri]
            } else {
                vec![sub_uri, principal_uri]
            }
        }
    }
}

/// Map a launch's roles ([`map_role`] each), without duplicates, in order.
pub fn map_roles(roles: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        for m in map_role(r) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
