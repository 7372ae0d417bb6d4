//! A platform as registered with the tool (LTI 1.3 Core §3, Security Framework §5): its
//! issuer, the client id it issued to us, its endpoints, its deployments.
//!
//! Every field is a newtype that can only hold a valid value ([`Issuer`], [`ClientId`],
//! [`DeploymentId`], [`EndpointUrl`]), made by `TryFrom` (which names what is wrong); a stored
//! registration that does not parse is refused as a whole. What the *tool* does with a launch
//! (user-id rules, role maps, modules) is not here: that is product policy, kept by the
//! caller beside this record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::url::HttpUrl;

/// Default clock leeway on `exp`/`iat`/`nbf`.
pub const DEFAULT_LEEWAY_SECS: u32 = 60;
/// Largest leeway an admin may set.
pub const MAX_LEEWAY_SECS: u32 = 300;
/// Most deployment ids one registration records.
pub const MAX_DEPLOYMENTS: usize = 1000;

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                let n = s.chars().count();
                if n == 0 || n > $max {
                    return Err(format!("must be 1-{} characters", $max));
                }
                Ok(Self(s.trim().to_string()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;
            fn try_from(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl $name {
            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

text_newtype!(
    /// The client id the platform issued to the tool (1-255 characters).
    ClientId, 255
);
text_newtype!(
    /// A deployment id (1-255 characters).
    DeploymentId, 255
);

/// An absolute `https` URL (or `http` on loopback), at most 500 characters: a platform
/// endpoint or an issuer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointUrl(String);

impl EndpointUrl {
    /// Parse; plain `http` only on loopback and only when `allow_http_loopback`.
    pub fn parse(s: &str, allow_http_loopback: bool) -> Result<Self, String> {
        let n = s.chars().count();
        if n == 0 || n > 500 {
            return Err("must be 1-500 characters".into());
        }
        let s = s.trim();
        HttpUrl::parse(s)
            .and_then(|u| u.require_secure(allow_http_loopback))
            .map_err(|e| format!("must be a valid URL: {e}"))?;
        Ok(Self(s.to_string()))
    }

    /// The URL as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Stored values: `http` is accepted on loopback only (what validation allowed at most).
impl TryFrom<String> for EndpointUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s, true)
    }
}

impl From<EndpointUrl> for String {
    fn from(v: EndpointUrl) -> String {
        v.0
    }
}

impl std::fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The platform's issuer identifier (`iss`): an [`EndpointUrl`].
pub type Issuer = EndpointUrl;

/// What to do with a `deployment_id` the registration does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeploymentPolicy {
    /// Refuse it.
    AllowList,
    /// Accept it and record it in the registration.
    AcceptAndRecord,
}

/// A platform registration: one per issuer + client id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    id: String,
    issuer: Issuer,
    #[serde(rename = "lti13ClientId")]
    client_id: ClientId,
    #[serde(rename = "lti13PlatformOidcAuthUrl")]
    auth_login_url: EndpointUrl,
    #[serde(rename = "lti13AuthTokenUrl")]
    auth_token_url: EndpointUrl,
    #[serde(rename = "lti13KeysUrl")]
    keyset_url: EndpointUrl,
    deployment_ids: Vec<DeploymentId>,
    deployment_policy: DeploymentPolicy,
    leeway_seconds: u32,
}

impl AsRef<Registration> for Registration {
    fn as_ref(&self) -> &Registration {
        self
    }
}

impl Registration {
    /// Opaque id (UUID form), chosen by the store.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Platform issuer (`iss`).
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }
    /// Client id the platform issued to us.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
    /// Platform OIDC authorization endpoint.
    pub fn auth_login_url(&self) -> &EndpointUrl {
        &self.auth_login_url
    }
    /// Platform OAuth2 token endpoint (AGS, NRPS).
    pub fn auth_token_url(&self) -> &EndpointUrl {
        &self.auth_token_url
    }
    /// Platform key set URL.
    pub fn keyset_url(&self) -> &EndpointUrl {
        &self.keyset_url
    }
    /// Known deployment ids.
    pub fn deployment_ids(&self) -> &[DeploymentId] {
        &self.deployment_ids
    }
    /// Policy for unknown deployment ids.
    pub fn deployment_policy(&self) -> DeploymentPolicy {
        self.deployment_policy
    }
    /// Clock leeway in seconds.
    pub fn leeway_seconds(&self) -> u32 {
        self.leeway_seconds
    }

    /// Whether `deployment_id` may launch (listed, or the policy accepts new ones).
    pub fn allows_deployment(&self, deployment_id: &str) -> bool {
        self.deployment_policy == DeploymentPolicy::AcceptAndRecord
            || self.deployment_ids.iter().any(|d| d.as_str() == deployment_id)
    }

    /// Whether `deployment_id` is listed.
    pub fn knows_deployment(&self, deployment_id: &str) -> bool {
        self.deployment_ids.iter().any(|d| d.as_str() == deployment_id)
    }

    /// Record a new deployment id (accept-and-record policy). Returns whether it changed.
    pub fn record_deployment(&mut self, deployment_id: &str) -> bool {
        if self.knows_deployment(deployment_id) || self.deployment_ids.len() >= MAX_DEPLOYMENTS {
            return false;
        }
        match DeploymentId::try_from(deployment_id) {
            Ok(d) => {
                self.deployment_ids.push(d);
                true
            }
            Err(_) => false,
        }
    }

    /// Validate the LTI fields of a registration body (the field names of the admin API and
    /// the KAF guide's aliases), adding what is wrong to `errs` (field → sentence). `id` is
    /// the registration's id (kept on update).
    pub fn from_json(
        id: &str,
        body: &Map<String, Value>,
        allow_http_loopback: bool,
        errs: &mut BTreeMap<String, String>,
    ) -> Option<Self> {
        let mut field = |name: &str, aliases: &[&str]| -> Option<String> {
            let mut names = vec![name];
            names.extend_from_slice(aliases);
            match names.iter().find_map(|n| body.get(*n).filter(|v| !v.is_null())) {
                None => {
                    errs.insert(name.to_string(), "is required".to_string());
                    None
                }
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    errs.insert(name.to_string(), "must be a string".to_string());
                    None
                }
            }
        };
        let issuer = field("issuer", &[]);
        let client_id = field("lti13ClientId", &["clientId"]);
        let auth_login_url = field("lti13PlatformOidcAuthUrl", &["authLoginUrl"]);
        let auth_token_url = field("lti13AuthTokenUrl", &["authTokenUrl"]);
        let keyset_url = field("lti13KeysUrl", &["keysetUrl"]);
        let mut check = |name: &str, r: Result<EndpointUrl, String>| match r {
            Ok(v) => Some(v),
            Err(e) => {
                errs.insert(name.to_string(), e);
                None
            }
        };
        let url = |s: Option<String>| s.map(|s| EndpointUrl::parse(&s, allow_http_loopback));
        let issuer = url(issuer).and_then(|r| check("issuer", r));
        let auth_login_url = url(auth_login_url).and_then(|r| check("lti13PlatformOidcAuthUrl", r));
        let auth_token_url = url(auth_token_url).and_then(|r| check("lti13AuthTokenUrl", r));
        let keyset_url = url(keyset_url).and_then(|r| check("lti13KeysUrl", r));
        let client_id = client_id.map(ClientId::try_from).and_then(|r| {
            r.map_err(|e| {
                errs.insert("lti13ClientId".into(), e);
            })
            .ok()
        });
        let deployment_ids = deployments(body, errs);
        let deployment_policy = deployment_policy(body, &deployment_ids, errs);
        let leeway_seconds = leeway(body, errs);
        Some(Self {
            id: id.to_string(),
            issuer: issuer?,
            client_id: client_id?,
            auth_login_url: auth_login_url?,
            auth_token_url: auth_token_url?,
            keyset_url: keyset_url?,
            deployment_ids,
            deployment_policy,
            leeway_seconds,
        })
    }
}

/// `deploymentIds` (array) or `deploymentId` (one string).
fn deployments(body: &Map<String, Value>, errs: &mut BTreeMap<String, String>) -> Vec<DeploymentId> {
    let mut out: Vec<DeploymentId> = Vec::new();
    match (body.get("deploymentIds"), body.get("deploymentId")) {
        (Some(Value::Array(a)), _) => {
            for d in a {
                match d.as_str().filter(|s| s.len() <= 255).map(DeploymentId::try_from) {
                    Some(Ok(d)) => out.push(d),
                    _ => {
                        errs.insert("deploymentIds".into(), "must be strings of 1-255 characters".into());
                    }
                }
            }
        }
        (Some(Value::Null) | None, Some(Value::String(s))) if s.len() <= 255 => {
            if let Ok(d) = DeploymentId::try_from(s.as_str()) {
                out.push(d);
            }
        }
        (Some(Value::Null) | None, None | Some(Value::Null)) => {}
        (Some(_), _) => {
            errs.insert("deploymentIds".into(), "must be an array of strings".into());
        }
        (_, Some(_)) => {
            errs.insert("deploymentId".into(), "must be a string of at most 255 characters".into());
        }
    }
    out.dedup();
    out
}

/// `deploymentPolicy`: default allow-list when deployments are listed, else accept-and-record.
fn deployment_policy(
    body: &Map<String, Value>,
    deployment_ids: &[DeploymentId],
    errs: &mut BTreeMap<String, String>,
) -> DeploymentPolicy {
    let policy = match body.get("deploymentPolicy") {
        None | Some(Value::Null) if deployment_ids.is_empty() => DeploymentPolicy::AcceptAndRecord,
        None | Some(Value::Null) => DeploymentPolicy::AllowList,
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(p) => p,
            Err(_) => {
                errs.insert("deploymentPolicy".into(), "must be \"allowList\" or \"acceptAndRecord\"".into());
                return DeploymentPolicy::AllowList;
            }
        },
    };
    if policy == DeploymentPolicy::AllowList && deployment_ids.is_empty() {
        errs.insert("deploymentIds".into(), "allowList policy needs at least one deployment id".into());
    }
    policy
}

/// `leewaySeconds`: 0 to [`MAX_LEEWAY_SECS`], default [`DEFAULT_LEEWAY_SECS`].
fn leeway(body: &Map<String, Value>, errs: &mut BTreeMap<String, String>) -> u32 {
    match body.get("leewaySeconds") {
        None | Some(Value::Null) => DEFAULT_LEEWAY_SECS,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n <= MAX_LEEWAY_SECS => n,
            _ => {
                errs.insert("leewaySeconds".into(), format!("must be an integer 0-{MAX_LEEWAY_SECS}"));
                DEFAULT_LEEWAY_SECS
            }
        },
    }
}

/// Format 16 random bytes as a UUID v4 string.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::encoding::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}
