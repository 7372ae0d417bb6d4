//! What the LMS side needs from the tool, per LMS: the URLs and placements an admin pastes
//! ([`paste_sheet`]), Canvas's developer-key JSON configuration ([`canvas_config`]), and the tool
//! configuration sent by LTI Dynamic Registration ([`registration_request`]). All three come
//! from the same tables (the modules a placement opens, the scopes, the custom parameter the
//! user-id rules read), so they cannot disagree.

use lti_core::dynamic_registration::{PlatformConfiguration, TOOL_CONFIGURATION_CLAIM};
use lti_core::services::{SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_NRPS, SCOPE_RESULT_READONLY, SCOPE_SCORE};
use serde_json::{json, Map, Value};

use crate::modules::{self, PICKER_MODULE};
use crate::presets;

/// The tool's name as LMSs list it.
pub const TOOL_NAME: &str = "LTI Edge";
/// Canvas's `tool_id` and the tool's short name.
pub const TOOL_ID: &str = "lti-edge";
const DESCRIPTION: &str = "Video and media (My Media, Media Gallery, Content Picker), launched with LTI 1.3.";

/// The services' scopes the tool asks for (grades and rosters; launches work without them).
pub const SCOPES: &[&str] = &[SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_SCORE, SCOPE_RESULT_READONLY, SCOPE_NRPS];

/// The claims the tool asks the LMS to send (who the user is).
pub const CLAIMS: &[&str] = &["iss", "sub", "name", "given_name", "family_name", "email"];

/// The custom parameter every registration path adds: the user's LMS username, which the
/// user-id rule `ltiUserIdAttribute: "custom_username"` reads (LTI 1.3: the custom claim's
/// `username`; LTI 1.1: the `custom_username` parameter). `$User.username` is an LTI
/// substitution variable Moodle, Canvas, Blackboard, Brightspace and Sakai resolve.
pub const USERNAME_PARAMETER: (&str, &str) = ("username", "$User.username");

/// The module most course links open when nothing else is said (an LMS's default tool URL).
pub const COURSE_MODULE: &str = "coursegallery";

/// How a placement launches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// `LtiResourceLinkRequest`: opens a module.
    ResourceLink,
    /// `LtiDeepLinkingRequest`: the Content Picker returns content to the LMS.
    DeepLinking,
}

impl Message {
    /// The LTI message type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResourceLink => "LtiResourceLinkRequest",
            Self::DeepLinking => "LtiDeepLinkingRequest",
        }
    }
}

/// Where the LMS shows the tool, what the LMS calls it, and the module it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The LMS's own name for the placement.
    pub name: &'static str,
    /// Module code ([`modules::MODULES`]).
    pub module: &'static str,
    /// How it launches.
    pub message: Message,
}

/// One LMS's instructions.
#[derive(Debug, PartialEq, Eq)]
pub struct Lms {
    /// Preset code (`moodle`, `canvas`, …).
    pub code: &'static str,
    /// Where in the LMS the admin starts.
    pub start: &'static str,
    /// Steps, in order; `{…}` names a value of the sheet (`{loginUrl}`, `{canvasConfigUrl}`, …).
    pub steps: &'static [&'static str],
    /// Placements to create.
    pub placements: &'static [Placement],
    /// Whether the LMS offers LTI Dynamic Registration (the invitation path).
    pub dynamic_registration: bool,
}

const fn rl(name: &'static str, module: &'static str) -> Placement {
    Placement { name, module, message: Message::ResourceLink }
}

const fn dl(name: &'static str) -> Placement {
    Placement { name, module: PICKER_MODULE, message: Message::DeepLinking }
}

/// Every LMS, in preset order.
pub const LMSS: &[Lms] = &[
    Lms {
        code: "moodle",
        start: "Site administration › Plugins › Activity modules › External tool › Manage tools",
        steps: &[
            "Dynamic Registration: paste the invitation URL from POST /lti/invitations into \"Tool URL\" and press \"Add LTI Advantage\"; then activate the tool. Done — nothing else to paste.",
            "Or by hand: \"configure a tool manually\". LTI version: LTI 1.3. Tool URL: {targetLinkUri}. Public key type: Keyset URL; Public keyset: {jwksUrl}. Initiate login URL: {loginUrl}. Redirection URI(s), one per line: {redirectUris}.",
            "Custom parameters: {customParameters}. Tick \"Supports Deep Linking (Content-Item Message)\" with Content Selection URL {deepLinkUrl}.",
            "Services: grade sync and column management (Assignment and Grade Services), retrieve members' information (Names and Role Provisioning). Privacy: share the launcher's name and email.",
            "Save, open the tool's \"View configuration details\", and register it here: POST /lti/platforms with {\"preset\": \"moodle\", \"siteUrl\": \"https://<your Moodle>\", \"lti13ClientId\": \"<Client ID>\", \"deploymentIds\": [\"<Deployment ID>\"]}.",
        ],
        placements: &[
            rl("the tool's Tool URL (an External tool activity in a course)", COURSE_MODULE),
            rl("an activity (or second preconfigured tool) whose Tool URL is the My Media URL", "mymedia"),
            dl("Content Selection URL (\"Select content\" when adding an activity)"),
        ],
        dynamic_registration: true,
    },
    Lms {
        code: "canvas",
        start: "Admin › Developer Keys › + Developer Key",
        steps: &[
            "Dynamic Registration: add an LTI 1.3 registration by URL (\"+ Developer Key › + LTI Registration\", or \"Apps › Manage › Install a New App › LTI 1.3 › Dynamic Registration\" in newer Canvas), paste the invitation URL from POST /lti/invitations, review the placements, save and turn the key ON. Then install the app (Settings › Apps › + App › By Client ID) if Canvas did not.",
            "Or by hand: + LTI Key. Method \"Enter URL\": {canvasConfigUrl}. Redirect URIs, one per line: {redirectUris}. Save and turn the key ON; copy its Client ID (Details column).",
            "Install it: Settings › Apps › + App › By Client ID in the account or a sub-account; the app's settings show its Deployment ID.",
            "Register it here: POST /lti/platforms with {\"preset\": \"canvas\", \"lti13ClientId\": \"<Client ID>\", \"deploymentIds\": [\"<Deployment ID>\"]} (\"canvasEnvironment\": \"beta\" or \"test\" for those Canvases).",
        ],
        placements: &[
            rl("course_navigation", COURSE_MODULE),
            rl("user_navigation", "mymedia"),
            dl("editor_button"),
            dl("link_selection"),
        ],
        dynamic_registration: true,
    },
    Lms {
        code: "blackboard",
        start: "Anthology's developer portal (once), then Administrator Panel › Integrations › LTI Tool Providers",
        steps: &[
            "In the developer portal, register an application with \"My integration supports LTI 1.3\": Login Initiation URL {loginUrl}; Tool Redirect URL(s) {redirectUris}; Tool JWKS URL {jwksUrl}; Signing Algorithm RS256; Custom Parameters {customParameters}. Copy the Application ID.",
            "In Blackboard: Register LTI 1.3/Advantage Tool, Client ID = the Application ID. Approve the tool, send the user's name, email and course role; copy its Deployment ID.",
            "Manage Placements: create the placements below, each with its Target Link URI.",
            "Register it here: POST /lti/platforms with {\"preset\": \"blackboard\", \"applicationId\": \"<Application ID>\", \"deploymentIds\": [\"<Deployment ID>\"]}.",
        ],
        placements: &[
            rl("Course tool", COURSE_MODULE),
            rl("System tool", "mymedia"),
            dl("Course content tool, with \"Supports deep linking\""),
        ],
        dynamic_registration: false,
    },
    Lms {
        code: "brightspace",
        start: "Admin Tools › Manage Extensibility › LTI Advantage › Register Tool",
        steps: &[
            "Dynamic Registration: choose \"Dynamic\" and paste the invitation URL from POST /lti/invitations as the Tool initiation registration endpoint.",
            "Or Standard: Domain {domain}; Redirect URLs {redirectUris}; OpenID Connect Login URL {loginUrl}; Target Link URI {targetLinkUri}; Keyset URL {jwksUrl}; Extensions: Assignment and Grade Services, Deep Linking, Names and Role Provisioning Services. Save and copy the Client Id.",
            "View Deployments › New Deployment for the tool: send Org Unit, User (name, email) and Link information; substitution parameter {customParameters}; copy the Deployment Id.",
            "Create the links below for the deployment, then register it here: POST /lti/platforms with {\"preset\": \"brightspace\", \"siteUrl\": \"https://<your Brightspace>\", \"lti13ClientId\": \"<Client Id>\", \"deploymentIds\": [\"<Deployment Id>\"]}.",
        ],
        placements: &[
            rl("Link (Basic Launch) in the course navbar", COURSE_MODULE),
            rl("Link (Basic Launch)", "mymedia"),
            dl("Link (Deep Linking Insert Stuff)"),
            dl("Link (Deep Linking Quicklink)"),
        ],
        dynamic_registration: true,
    },
    Lms {
        code: "sakai",
        start: "Administration Workspace › External Tools › Install LTI 1.x Tool",
        steps: &[
            "If your Sakai offers LTI Dynamic Registration, paste the invitation URL from POST /lti/invitations there instead of the steps below.",
            "Tick LTI 1.3. Launch URL {targetLinkUri}; Tool OIDC Login URL {loginUrl}; Tool Redirect URL(s) {redirectUris}; Tool Keyset URL {jwksUrl}.",
            "Allow the tool to be launched as a link and to provide content items (Deep Linking); allow grades and rosters; send names and email; custom parameters {customParameters}.",
            "Save: Sakai shows the Client ID and the tool's number (in its token and keyset URLs). Register it here: POST /lti/platforms with {\"preset\": \"sakai\", \"siteUrl\": \"https://<your Sakai>\", \"toolId\": \"<number>\", \"lti13ClientId\": \"<Client ID>\"}.",
        ],
        placements: &[rl("site navigation (launched as a link)", COURSE_MODULE), dl("Deep Linking (rich text editor, Lessons)")],
        dynamic_registration: true,
    },
    Lms {
        code: "schoology",
        start: "App Center › My Developer Apps › Add App",
        steps: &[
            "Type of App: LTI 1.3 App, Configuration Type: Manual. JWKS URL {jwksUrl}; Domain/URL {targetLinkUri}; OIDC Login Init URL {loginUrl}; Redirect URLs (comma separated) {redirectUris}. Tick Deep Linking, Assignments and Grade Services, Names and Roles Services; share names and email.",
            "Install the app (Add to Organization), then Options › API Info: copy the Client ID (and the Deployment ID).",
            "Register it here: POST /lti/platforms with {\"preset\": \"schoology\", \"lti13ClientId\": \"<Client ID>\", \"deploymentIds\": [\"<Deployment ID>\"]}.",
        ],
        placements: &[rl("External tool (course materials)", COURSE_MODULE), dl("Course Materials Section (Deep Linking)")],
        dynamic_registration: false,
    },
    Lms {
        code: "other",
        start: "the LMS's LTI 1.3 tool registration",
        steps: &[
            "If the LMS offers LTI Dynamic Registration, paste the invitation URL from POST /lti/invitations there. Otherwise paste: login (OIDC initiation) URL {loginUrl}; redirect URIs {redirectUris}; key set URL {jwksUrl}; target link URI {targetLinkUri}; deep linking URL {deepLinkUrl}; custom parameters {customParameters}.",
            "Grant the scopes below for grades and rosters, and send names and email.",
            "Register it here: POST /lti/platforms with {\"preset\": \"other\", \"issuer\": …, \"lti13ClientId\": …, \"lti13PlatformOidcAuthUrl\": …, \"lti13AuthTokenUrl\": …, \"lti13KeysUrl\": …, \"deploymentIds\": […]}.",
        ],
        placements: &[
            rl("resource link", COURSE_MODULE),
            rl("resource link", "mymedia"),
            dl("deep linking (content selection)"),
        ],
        dynamic_registration: true,
    },
];

/// The LMS with this code.
pub fn lms(code: &str) -> Option<&'static Lms> {
    LMSS.iter().find(|l| l.code == code)
}

/// The tool's URLs on `base` (its public origin, no trailing slash).
pub struct ToolUrls {
    base: String,
}

impl ToolUrls {
    /// For the tool at `base`.
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string() }
    }

    /// OIDC login initiation.
    pub fn login(&self) -> String {
        format!("{}/lti/login", self.base)
    }

    /// Redirect (launch) URIs: the generic one and KAF's.
    pub fn redirect_uris(&self) -> [String; 2] {
        [format!("{}/lti/launch", self.base), format!("{}/hosted/index/oauth2-launch", self.base)]
    }

    /// The tool's key set.
    pub fn jwks(&self) -> String {
        format!("{}/lti/jwks", self.base)
    }

    /// A module's launch target.
    pub fn module(&self, code: &str) -> String {
        format!("{}{}", self.base, modules::by_code(code).map_or("/lti/launch", |m| m.path))
    }

    /// The host (and port) LMSs match links against.
    pub fn domain(&self) -> String {
        lti_core::url::HttpUrl::parse(&self.base)
            .map(|u| u.origin().split_once("://").map_or(String::new(), |(_, h)| h.to_string()))
            .unwrap_or_default()
    }

    /// Canvas's developer-key configuration URL.
    pub fn canvas_config(&self) -> String {
        format!("{}/lti/config/canvas.json", self.base)
    }
}

/// Ways to choose the user id, each with the exact registration fields that select it and the
/// custom parameter (if any) the LMS must send for it.
pub fn user_id_options() -> Value {
    let (name, variable) = USERNAME_PARAMETER;
    json!([
        {"id": "sub", "what": "the LMS's own opaque user id (sub); the default", "configuration": {}, "customParameters": {}},
        {"id": "username", "what": "the user's LMS username", "configuration": {"ltiUserIdAttribute": format!("custom_{name}")},
         "customParameters": {name: variable}},
        {"id": "sourcedid", "what": "the SIS id (lis person_sourcedid)", "configuration": {"ltiUserIdAttribute": "lis_person_sourcedid"}, "customParameters": {}},
        {"id": "email", "what": "the user's email address", "configuration": {"ltiUserIdAttribute": "lis_person_contact_email_primary"}, "customParameters": {}},
    ])
}

/// The custom parameter line the LMS takes (`name=value`).
fn custom_parameters_line() -> String {
    let (name, variable) = USERNAME_PARAMETER;
    format!("{name}={variable}")
}

/// The sheet an LMS admin pastes from, for `lms` (a preset code), with the tool at `base`.
pub fn paste_sheet(base: &str, lms: &Lms) -> Value {
    let urls = ToolUrls::new(base);
    let [r1, r2] = urls.redirect_uris();
    let values: Vec<(&str, String)> = vec![
        ("{loginUrl}", urls.login()),
        ("{redirectUris}", format!("{r1} {r2}")),
        ("{jwksUrl}", urls.jwks()),
        ("{targetLinkUri}", urls.module(COURSE_MODULE)),
        ("{deepLinkUrl}", urls.module(PICKER_MODULE)),
        ("{domain}", urls.domain()),
        ("{canvasConfigUrl}", urls.canvas_config()),
        ("{customParameters}", custom_parameters_line()),
    ];
    let steps: Vec<String> =
        lms.steps.iter().map(|s| values.iter().fold(s.to_string(), |acc, (k, v)| acc.replace(k, v))).collect();
    let placements: Vec<Value> = lms
        .placements
        .iter()
        .map(|p| {
            let m = modules::by_code(p.module);
            json!({"placement": p.name, "module": p.module, "title": m.map_or("", |m| m.title),
                   "messageType": p.message.as_str(), "targetLinkUri": urls.module(p.module)})
        })
        .collect();
    let preset = presets::by_code(lms.code).map(presets::Preset::describe).unwrap_or(Value::Null);
    let mut out = json!({
        "lms": lms.code,
        "name": presets::by_code(lms.code).map_or(lms.code, |p| p.name),
        "start": lms.start,
        "steps": steps,
        "toolUrls": {
            "loginUrl": urls.login(),
            "redirectUris": [r1, r2],
            "jwksUrl": urls.jwks(),
            "targetLinkUri": urls.module(COURSE_MODULE),
            "deepLinkUrl": urls.module(PICKER_MODULE),
            "domain": urls.domain(),
        },
        "kaf": {
            "oidcInitUrl": format!("{base}/hosted/index/oidc-init"),
            "launchUrl": format!("{base}/hosted/index/oauth2-launch"),
            "jwksUrl": format!("{base}/hosted/index/lti-advantage-key-set"),
        },
        "placements": placements,
        "customParameters": {USERNAME_PARAMETER.0: USERNAME_PARAMETER.1},
        "scopes": SCOPES,
        "userIdOptions": user_id_options(),
        "dynamicRegistration": lms.dynamic_registration,
        "preset": preset,
    });
    if lms.code == "canvas" {
        if let Some(o) = out.as_object_mut() {
            o.insert("canvasConfigUrl".into(), Value::String(urls.canvas_config()));
        }
    }
    out
}

/// What a registration's user-id rule needs the LMS to send: for a rule that reads a custom
/// parameter, that parameter (with `$User.username` when it is the username rule); nothing for
/// the other rules.
pub fn custom_parameters_for(attribute: &str, claim: &str, property: &str) -> Map<String, Value> {
    let custom_claim = lti_core::claims::CUSTOM;
    let name = attribute
        .strip_prefix("custom_")
        .filter(|n| !n.is_empty())
        .or_else(|| (attribute.is_empty() && claim == custom_claim && !property.is_empty()).then_some(property));
    let mut out = Map::new();
    if let Some(n) = name {
        let value = if n == USERNAME_PARAMETER.0 {
            USERNAME_PARAMETER.1.to_string()
        } else {
            "<the LMS variable that holds the user id>".to_string()
        };
        out.insert(n.to_string(), Value::String(value));
    }
    out
}

/// Canvas's developer-key JSON configuration (Instructure, "Configuring LTI Advantage Tools",
/// anatomy of a JSON configuration): what an admin imports with "Enter URL".
pub fn canvas_config(base: &str) -> Value {
    let urls = ToolUrls::new(base);
    let canvas = lms("canvas").map_or(&[][..], |l| l.placements);
    let placements: Vec<Value> = canvas
        .iter()
        .map(|p| {
            let title = modules::by_code(p.module).map_or(TOOL_NAME, |m| m.title);
            let mut v = json!({"placement": p.name, "message_type": p.message.as_str(), "text": title,
                               "target_link_uri": urls.module(p.module)});
            if p.message == Message::DeepLinking {
                if let Some(o) = v.as_object_mut() {
                    o.insert("selection_height".into(), json!(800));
                    o.insert("selection_width".into(), json!(1000));
                }
            }
            v
        })
        .collect();
    json!({
        "title": TOOL_NAME,
        "description": DESCRIPTION,
        "oidc_initiation_url": urls.login(),
        "target_link_uri": urls.module(COURSE_MODULE),
        "scopes": SCOPES,
        "extensions": [{
            "domain": urls.domain(),
            "tool_id": TOOL_ID,
            "platform": "canvas.instructure.com",
            "privacy_level": "public",
            "settings": {"text": TOOL_NAME, "placements": placements},
        }],
        "public_jwk_url": urls.jwks(),
        "custom_fields": {USERNAME_PARAMETER.0: USERNAME_PARAMETER.1},
    })
}

/// The tool's registration request for LTI Dynamic Registration (step 3): client metadata
/// (OpenID Connect Dynamic Client Registration) plus the LTI tool configuration. `client_name`
/// is what the LMS lists. Messages follow the platform's dialect: for Canvas each message
/// names Canvas placements (only those Canvas offers) and Canvas's privacy level and tool id are
/// set; elsewhere the Content Picker (deep linking) message takes the placements the platform
/// lists for it. Scopes are the tool's, less any the platform says it does not support.
pub fn registration_request(base: &str, platform: &PlatformConfiguration, client_name: &str) -> Value {
    let urls = ToolUrls::new(base);
    let canvas = platform.product_family_code.eq_ignore_ascii_case("canvas");
    let scopes: Vec<&str> = SCOPES
        .iter()
        .copied()
        .filter(|s| platform.scopes_supported.is_empty() || platform.scopes_supported.iter().any(|x| x == s))
        .collect();
    let claims: Vec<&str> = CLAIMS
        .iter()
        .copied()
        .filter(|c| {
            matches!(*c, "iss" | "sub")
                || platform.claims_supported.is_empty()
                || platform.claims_supported.iter().any(|x| x == c)
        })
        .collect();
    let mut messages = Vec::new();
    if canvas {
        let placements = lms("canvas").map_or(&[][..], |l| l.placements);
        for module in ["mymedia", COURSE_MODULE, PICKER_MODULE] {
            let wanted: Vec<&Placement> = placements.iter().filter(|p| p.module == module).collect();
            let Some(first) = wanted.first() else { continue };
            let message = first.message.as_str();
            if !platform.supports_message(message) {
                continue;
            }
            let offered = platform.placements_for(message);
            let names: Vec<&str> = wanted
                .iter()
                .map(|p| p.name)
                .filter(|n| offered.is_empty() || offered.iter().any(|o| o == n))
                .collect();
            if names.is_empty() {
                continue;
            }
            let title = modules::by_code(module).map_or(TOOL_NAME, |m| m.title);
            messages.push(
                json!({"type": message, "target_link_uri": urls.module(module), "label": title, "placements": names}),
            );
        }
    } else if platform.supports_message(Message::DeepLinking.as_str()) {
        let mut m = json!({"type": Message::DeepLinking.as_str(), "target_link_uri": urls.module(PICKER_MODULE),
                           "label": modules::by_code(PICKER_MODULE).map_or(TOOL_NAME, |m| m.title)});
        let offered = platform.placements_for(Message::DeepLinking.as_str());
        if let (false, Some(o)) = (offered.is_empty(), m.as_object_mut()) {
            o.insert("placements".into(), json!(offered));
        }
        messages.push(m);
    }
    let mut tool = json!({
        "domain": urls.domain(),
        "target_link_uri": urls.module(COURSE_MODULE),
        "description": DESCRIPTION,
        "custom_parameters": {USERNAME_PARAMETER.0: USERNAME_PARAMETER.1},
        "claims": claims,
        "messages": messages,
    });
    if canvas {
        if let Some(o) = tool.as_object_mut() {
            o.insert("https://canvas.instructure.com/lti/privacy_level".into(), json!("public"));
            o.insert("https://canvas.instructure.com/lti/tool_id".into(), json!(TOOL_ID));
        }
    }
    let [r1, r2] = urls.redirect_uris();
    json!({
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login(),
        "redirect_uris": [r1, r2],
        "client_name": client_name,
        "jwks_uri": urls.jwks(),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": scopes.join(" "),
        TOOL_CONFIGURATION_CLAIM: tool,
    })
}

/// The `platformFamily` of a platform's `product_family_code` (`other` when unknown).
pub fn platform_family(product_family_code: &str) -> &'static str {
    match product_family_code.to_ascii_lowercase().as_str() {
        "moodle" => "moodle",
        "canvas" => "canvas",
        "blackboardlearn" | "blackboard" | "bblearn" => "blackboard",
        "desire2learn" | "d2l" | "brightspace" => "brightspace",
        "sakai" => "sakai",
        "schoology" => "schoology",
        _ => "other",
    }
}

#[cfg(test)]
mod tests;
