//! LTI Dynamic Registration 1.0, the tool's side, without I/O: read the registration
//! initiation request, check the platform's OpenID configuration, and read the platform's
//! answer to the tool's registration. The caller fetches and posts (and decides what tool
//! configuration to send).
//!
//! The flow (1EdTech LTI Dynamic Registration 1.0, with OpenID Connect Discovery 1.0 and
//! Dynamic Client Registration 1.0 underneath):
//!
//! 1. The platform opens the tool's registration URL with `openid_configuration` (the URL of
//!    its configuration) and usually `registration_token` ([`Initiation::parse`]).
//! 2. The tool fetches the configuration, sending the token as a bearer credential when there is
//!    one, and checks it ([`PlatformConfiguration::from_answer`]).
//! 3. The tool posts its configuration (client metadata plus the
//!    [`TOOL_CONFIGURATION_CLAIM`]) to the `registration_endpoint`, with the token.
//! 4. The platform answers the registration with the client id it issued, and (Moodle) the
//!    deployment id ([`ClientRegistration::from_answer`]).
//! 5. The tool stores the registration and closes the window with the
//!    `org.imsglobal.lti.close` message to its opener or parent.

use serde_json::{Map, Value};

use crate::error::DynRegError;
use crate::registration::{ClientId, DeploymentId, EndpointUrl};
use crate::url::HttpUrl;

/// The platform configuration claim in the OpenID configuration.
pub const PLATFORM_CONFIGURATION_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-platform-configuration";
/// The tool configuration claim in a client registration.
pub const TOOL_CONFIGURATION_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-tool-configuration";
/// The `postMessage` subject that closes the registration window.
pub const CLOSE_SUBJECT: &str = "org.imsglobal.lti.close";
/// Largest configuration or registration answer read (bytes).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest registration token accepted (platforms send JWTs of a few hundred bytes).
pub const MAX_TOKEN_LEN: usize = 4096;

/// The platform's one-time registration credential. Never logged (`Debug` is redacted), sent
/// only as a bearer token to the platform's own configuration and registration endpoints.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationToken(String);

impl RegistrationToken {
    /// The token, for the `Authorization` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RegistrationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistrationToken(<redacted>)")
    }
}

/// What the platform sent when it opened the registration URL (step 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initiation {
    /// Where the configuration is, in WHATWG normal form (what is fetched is what was checked).
    pub openid_configuration: HttpUrl,
    /// The registration token, when the platform sent one.
    pub registration_token: Option<RegistrationToken>,
}

impl Initiation {
    /// Read the query parameters of the registration request. `openid_configuration` must be an
    /// https URL (http only on loopback when `allow_http_loopback`); a parameter sent twice is
    /// refused rather than guessed.
    pub fn parse(query: &[(String, String)], allow_http_loopback: bool) -> Result<Self, DynRegError> {
        let one = |name: &str| -> Result<Option<&str>, DynRegError> {
            let mut found = query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
            let first = found.next();
            if found.next().is_some() {
                return Err(DynRegError::RequestInvalid(format!("{name} sent more than once")));
            }
            Ok(first.filter(|v| !v.is_empty()))
        };
        let config = one("openid_configuration")?
            .ok_or_else(|| DynRegError::RequestInvalid("openid_configuration missing".into()))?;
        let url = HttpUrl::parse(config)
            .and_then(|u| u.require_secure(allow_http_loopback).map(|()| u))
            .and_then(|u| u.normalized())
            .map_err(|e| DynRegError::RequestInvalid(format!("openid_configuration {e}")))?;
        let token = match one("registration_token")? {
            None => None,
            Some(t) if t.len() <= MAX_TOKEN_LEN && t.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(RegistrationToken(t.to_string()))
            }
            Some(_) => return Err(DynRegError::RequestInvalid("registration_token malformed".into())),
        };
        Ok(Self { openid_configuration: url, registration_token: token })
    }
}

/// A message type the platform supports, with the placements it offers for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSupport {
    /// `LtiResourceLinkRequest`, `LtiDeepLinkingRequest`, …
    pub message_type: String,
    /// Placements named for this message type (Canvas lists them here).
    pub placements: Vec<String>,
}

/// The platform's OpenID configuration, checked (step 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfiguration {
    /// `issuer`: what the platform's id_tokens carry as `iss`.
    pub issuer: EndpointUrl,
    /// `authorization_endpoint`: the OIDC authorization (auth login) URL.
    pub authorization_endpoint: EndpointUrl,
    /// `token_endpoint`: the OAuth2 token URL (services).
    pub token_endpoint: EndpointUrl,
    /// `jwks_uri`: the platform's key set.
    pub jwks_uri: EndpointUrl,
    /// `registration_endpoint`, in normal form: where the tool registers.
    pub registration_endpoint: HttpUrl,
    /// `scopes_supported` (may be empty).
    pub scopes_supported: Vec<String>,
    /// `claims_supported` (may be empty).
    pub claims_supported: Vec<String>,
    /// The platform configuration claim's `product_family_code` (`moodle`, `canvas`, …).
    pub product_family_code: String,
    /// Its `version`, when given.
    pub version: Option<String>,
    /// Its `messages_supported` (strings or objects with `type` and `placements`).
    pub messages_supported: Vec<MessageSupport>,
    /// Placements listed beside the messages (Moodle lists them there).
    pub placements: Vec<String>,
    /// The whole platform configuration claim (vendor extensions such as Canvas's account name).
    pub platform: Map<String, Value>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.chars().take(500).collect()).take(200).collect())
        .unwrap_or_default()
}

fn contains(v: Option<&Value>, wanted: &str) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x.as_str() == Some(wanted)))
}

impl PlatformConfiguration {
    /// Check the answer to the configuration request made to `config_url` (as sent, in normal
    /// form). `oversized`: the body went over [`MAX_ANSWER_BYTES`] and was not read.
    pub fn from_answer(
        config_url: &HttpUrl,
        status: u16,
        body: &[u8],
        oversized: bool,
        allow_http_loopback: bool,
    ) -> Result<Self, DynRegError> {
        // 1. The configuration was served: 200, within the size cap.
        if oversized {
            return Err(DynRegError::ConfigUnreachable(format!("more than {MAX_ANSWER_BYTES} bytes")));
        }
        if status != 200 {
            return Err(DynRegError::ConfigUnreachable(format!("status {status}")));
        }
        // 2. A JSON object.
        let doc: Value =
            serde_json::from_slice(body).map_err(|e| DynRegError::ConfigInvalid(format!("not JSON: {e}")))?;
        let doc = doc.as_object().ok_or_else(|| DynRegError::ConfigInvalid("not a JSON object".into()))?;
        let url = |name: &str| -> Result<EndpointUrl, DynRegError> {
            let s = doc
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| DynRegError::ConfigInvalid(format!("{name} missing")))?;
            EndpointUrl::parse(s, allow_http_loopback).map_err(|e| DynRegError::ConfigInvalid(format!("{name} {e}")))
        };
        // 3. `issuer`: an https URL without query or fragment (OpenID Connect Discovery 1.0 §3).
        let issuer = url("issuer")?;
        if issuer.as_str().contains(['?', '#']) {
            return Err(DynRegError::ConfigInvalid("issuer has a query or fragment".into()));
        }
        // 4. The issuer is consistent with where the configuration was fetched: the
        //    configuration URL lies under the issuer (same scheme, host and port; the issuer's
        //    path a whole-segment prefix of the configuration's), so a configuration cannot
        //    claim another platform's issuer (LTI Dynamic Registration 1.0, issuer and OpenID
        //    configuration URL match; OpenID Connect Discovery 1.0 §4.3).
        let issuer_url = HttpUrl::parse(issuer.as_str())
            .and_then(|u| u.normalized())
            .map_err(|e| DynRegError::ConfigInvalid(format!("issuer {e}")))?;
        if !config_url.is_within(&issuer_url) {
            return Err(DynRegError::IssuerMismatch {
                issuer: issuer.as_str().to_string(),
                config_url: config_url.to_string(),
            });
        }
        // 5. The endpoints the tool needs, each https (http on loopback only when allowed).
        let authorization_endpoint = url("authorization_endpoint")?;
        let token_endpoint = url("token_endpoint")?;
        let jwks_uri = url("jwks_uri")?;
        let registration = url("registration_endpoint")?;
        let registration_endpoint = HttpUrl::parse(registration.as_str())
            .and_then(|u| u.normalized())
            .map_err(|e| DynRegError::ConfigInvalid(format!("registration_endpoint {e}")))?;
        // 6. What LTI requires of the platform: service tokens by signed JWT assertion
        //    (`private_key_jwt`) and RS256 id_tokens.
        if !contains(doc.get("token_endpoint_auth_methods_supported"), "private_key_jwt") {
            return Err(DynRegError::ConfigInvalid(
                "token_endpoint_auth_methods_supported lacks private_key_jwt".into(),
            ));
        }
        if !contains(doc.get("id_token_signing_alg_values_supported"), "RS256") {
            return Err(DynRegError::ConfigInvalid("id_token_signing_alg_values_supported lacks RS256".into()));
        }
        // 7. The LTI platform configuration claim, with its product family.
        let platform = doc
            .get(PLATFORM_CONFIGURATION_CLAIM)
            .and_then(Value::as_object)
            .ok_or_else(|| DynRegError::ConfigInvalid(format!("{PLATFORM_CONFIGURATION_CLAIM} missing")))?;
        let product_family_code = platform
            .get("product_family_code")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| (1..=100).contains(&s.len()))
            .ok_or_else(|| DynRegError::ConfigInvalid("product_family_code missing".into()))?
            .to_string();
        let messages_supported = match platform.get("messages_supported") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .take(100)
                .map(|m| match m {
                    Value::String(t) => Ok(MessageSupport { message_type: t.clone(), placements: Vec::new() }),
                    Value::Object(o) => match o.get("type").and_then(Value::as_str) {
                        Some(t) => {
                            Ok(MessageSupport { message_type: t.to_string(), placements: strings(o.get("placements")) })
                        }
                        None => Err(DynRegError::ConfigInvalid("messages_supported item without type".into())),
                    },
                    _ => Err(DynRegError::ConfigInvalid("messages_supported item malformed".into())),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(DynRegError::ConfigInvalid("messages_supported not an array".into())),
        };
        Ok(Self {
            issuer,
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            registration_endpoint,
            scopes_supported: strings(doc.get("scopes_supported")),
            claims_supported: strings(doc.get("claims_supported")),
            product_family_code,
            version: platform.get("version").and_then(Value::as_str).map(|v| v.chars().take(100).collect()),
            messages_supported,
            placements: strings(platform.get("placements")),
            platform: platform.clone(),
        })
    }

    /// Whether the platform offers this message type (when it lists none, assume it does).
    pub fn supports_message(&self, message_type: &str) -> bool {
        self.messages_supported.is_empty() || self.messages_supported.iter().any(|m| m.message_type == message_type)
    }

    /// The placements the platform names for a message type (its own list, else the general
    /// one).
    pub fn placements_for(&self, message_type: &str) -> Vec<String> {
        let own = self.messages_supported.iter().find(|m| m.message_type == message_type).map(|m| m.placements.clone());
        match own {
            Some(p) if !p.is_empty() => p,
            _ => self.placements.clone(),
        }
    }
}

/// The platform's answer to the registration (step 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The client id the platform issued to the tool.
    pub client_id: ClientId,
    /// The deployment the platform created, when it says (Moodle does; Canvas does not).
    pub deployment_id: Option<DeploymentId>,
    /// The scopes granted, when the platform says.
    pub scope: Option<String>,
}

impl ClientRegistration {
    /// Read the registration endpoint's answer. A non-2xx status is the platform refusing
    /// (its OAuth `error`/`error_description` kept for the log).
    pub fn from_answer(status: u16, body: &[u8], oversized: bool) -> Result<Self, DynRegError> {
        if !(200..300).contains(&status) {
            let why = serde_json::from_slice::<Value>(body)
                .ok()
                .map(|v| {
                    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                    format!("{} {}", s("error"), s("error_description"))
                })
                .unwrap_or_default();
            return Err(DynRegError::RegistrationRefused(status, why.trim().chars().take(200).collect()));
        }
        if oversized {
            return Err(DynRegError::RegistrationInvalid(format!("more than {MAX_ANSWER_BYTES} bytes")));
        }
        let doc: Value =
            serde_json::from_slice(body).map_err(|e| DynRegError::RegistrationInvalid(format!("not JSON: {e}")))?;
        let client_id = match doc.get("client_id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(DynRegError::RegistrationInvalid("client_id missing".into())),
        };
        let client_id =
            ClientId::try_from(client_id).map_err(|e| DynRegError::RegistrationInvalid(format!("client_id {e}")))?;
        let deployment_id = match doc.get(TOOL_CONFIGURATION_CLAIM).and_then(|c| c.get("deployment_id")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(DynRegError::RegistrationInvalid("deployment_id malformed".into())),
        };
        let deployment_id = deployment_id
            .map(|d| {
                DeploymentId::try_from(d).map_err(|e| DynRegError::RegistrationInvalid(format!("deployment_id {e}")))
            })
            .transpose()?;
        let scope = doc.get("scope").and_then(Value::as_str).map(|s| s.chars().take(2000).collect());
        Ok(Self { client_id, deployment_id, scope })
    }
}

#[cfg(test)]
mod tests;
