//! OIDC login initiation (LTI 1.3 security framework §5.1.1) and the state that carries a
//! launch from login to launch without depending on third-party cookies.
//!
//! * `state` is `v2.<record>.<mac>`: the whole login ([`StateRecord`]: id, expiry, registration,
//!   target, storage target, the store that will see it used) as base64url JSON, with an
//!   HMAC-SHA256 under a key derived from `LTI_ENCRYPTION_KEY`. Login therefore writes nothing
//!   anywhere (an anonymous `GET /lti/login` costs no storage), forged or tampered states are
//!   refused before any store lookup, and expiry is known without one.
//! * The nonce and the binding cookie's value are derived from the state id under the same
//!   secret (HMAC), so they need no storage either and cannot be computed without the secret.
//! * At launch the adapter marks the state id used, once (`first_use`), in the store the state
//!   names; only a first use becomes a [`ConsumedState`], which claim validation requires.
//! * A `SameSite=None; Secure; Partitioned` cookie binds the flow to the browser when the
//!   browser keeps it; when it is absent the signed single-use state plus the nonce carry the
//!   launch ([`Binding::StateOnly`]); when present it must match.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::encoding::{b64url_decode, b64url_encode, form_encode, hex};
use crate::error::{LoginError, StateError};
use crate::registration::{DeploymentPolicy, Registration};
use crate::url::HttpUrl;

/// Lifetime of a login (state, nonce, cookie): 10 minutes.
pub const STATE_TTL_SECS: i64 = 600;
/// Random bytes [`begin_login`] consumes (the first 24 make the state id).
pub const LOGIN_RANDOM_BYTES: usize = 64;
/// Longest `state` accepted (a login's target URI is at most 4 KB).
pub const MAX_STATE_LEN: usize = 8 * 1024;
const COOKIE_PREFIX: &str = "lti_edge_s_";

type HmacSha256 = Hmac<Sha256>;

/// Key that signs states. Derived from the deployment secret; never printed, never cloned.
pub struct StateKey([u8; 32]);

impl StateKey {
    /// Derive from `LTI_ENCRYPTION_KEY` (domain-separated from every other use of the secret).
    pub fn derive(secret: &str) -> Self {
        Self(derive_key(secret, b"lti-edge/state/v1"))
    }

    fn mac(&self, msg: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        m.update(msg);
        m
    }
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(<redacted>)")
    }
}

/// HMAC-SHA256(secret, label): a 32-byte subkey for one purpose.
pub fn derive_key(secret: &str, label: &[u8]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(label);
    m.finalize().into_bytes().into()
}

/// A nonce we issued. Redacted in `Debug`, compared in constant time, not `Clone`.
#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Nonce(String);

impl Nonce {
    /// Constant-time comparison with the token's claim.
    pub fn matches(&self, claim: &str) -> bool {
        self.0.len() == claim.len() && bool::from(self.0.as_bytes().ct_eq(claim.as_bytes()))
    }

    /// For building the authorization redirect only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce(<redacted>)")
    }
}

/// The OIDC login initiation request (GET query or POST form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginParams {
    /// `iss`
    pub iss: String,
    /// `login_hint`
    pub login_hint: String,
    /// `target_link_uri`
    pub target_link_uri: String,
    /// `lti_message_hint` (opaque, echoed)
    pub lti_message_hint: Option<String>,
    /// `client_id`
    pub client_id: Option<String>,
    /// `lti_deployment_id`, or Canvas's `deployment_id`
    pub deployment_id: Option<String>,
    /// `lti_storage_target` (LTI Platform Storage)
    pub lti_storage_target: Option<String>,
}

const MAX_PARAM_LEN: usize = 4096;

impl LoginParams {
    /// From decoded pairs. Empty values count as absent; overlong values are dropped.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, LoginError> {
        let get = |name: &str| {
            pairs.iter().find(|(k, v)| k == name && !v.is_empty() && v.len() <= MAX_PARAM_LEN).map(|(_, v)| v.clone())
        };
        Ok(Self {
            iss: get("iss").ok_or(LoginError::ParamMissing("iss"))?,
            login_hint: get("login_hint").ok_or(LoginError::ParamMissing("login_hint"))?,
            target_link_uri: get("target_link_uri").ok_or(LoginError::ParamMissing("target_link_uri"))?,
            lti_message_hint: get("lti_message_hint"),
            client_id: get("client_id"),
            deployment_id: get("lti_deployment_id").or_else(|| get("deployment_id")),
            lti_storage_target: get("lti_storage_target"),
        })
    }
}

/// Pick the registration for a login among the issuer's registrations.
pub fn select_registration<'r, R: AsRef<Registration>>(
    params: &LoginParams,
    candidates: &'r [R],
) -> Result<&'r R, LoginError> {
    let of_issuer = || candidates.iter().filter(|r| r.as_ref().issuer().as_str() == params.iss);
    match &params.client_id {
        Some(cid) => {
            of_issuer().find(|r| r.as_ref().client_id().as_str() == cid).ok_or(LoginError::PlatformUnregistered)
        }
        None => {
            let mut it = of_issuer();
            match (it.next(), it.next()) {
                (Some(r), None) => Ok(r),
                (None, _) => Err(LoginError::PlatformUnregistered),
                (Some(_), Some(_)) => Err(LoginError::PlatformAmbiguous),
            }
        }
    }
}

/// One login, carried inside the signed state (nothing is stored at login).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateRecord {
    /// State id (24 random bytes, base64url): what the adapter marks used at launch.
    #[serde(rename = "i")]
    pub id: String,
    /// Nonce sent to the platform (derived from the id; not serialised).
    #[serde(skip, default = "Nonce::empty")]
    pub nonce: Nonce,
    /// Registration chosen at login.
    #[serde(rename = "r")]
    pub registration_id: String,
    /// `target_link_uri` from the login (already checked to be ours).
    #[serde(rename = "t")]
    pub target_link_uri: String,
    /// Hex SHA-256 of the binding cookie's value (derived from the id; not serialised).
    #[serde(skip)]
    pub cookie_hash: String,
    /// Unix expiry.
    #[serde(rename = "e")]
    pub exp: i64,
    /// `lti_storage_target`, if the platform offered storage.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub storage_target: Option<String>,
    /// The single-use store the adapter chose at login (`kv`, `durable`): the launch marks the
    /// state used there, so changing stores between login and launch neither reports a false
    /// reuse nor lets a used state through.
    #[serde(rename = "s", default)]
    pub store: String,
}

impl Nonce {
    fn empty() -> Self {
        Self(String::new())
    }
}

impl StateKey {
    /// The nonce of state `id`.
    fn nonce_for(&self, id: &str) -> Nonce {
        let mac = self.mac(format!("nonce.{id}").as_bytes()).finalize().into_bytes();
        Nonce(b64url_encode(mac.get(..24).unwrap_or(&mac)))
    }

    /// The binding cookie value of state `id`.
    fn cookie_for(&self, id: &str) -> String {
        let mac = self.mac(format!("cookie.{id}").as_bytes()).finalize().into_bytes();
        b64url_encode(mac.get(..16).unwrap_or(&mac))
    }
}

/// The result of a successful login initiation: effects for the adapter to perform.
#[derive(Debug)]
pub struct LoginRedirect {
    /// 302 target: the platform's authorization endpoint with every required parameter.
    pub location: String,
    /// Signed `state` sent to the platform (it carries `record`).
    pub state: String,
    /// The login, as carried by `state` (nothing to store).
    pub record: StateRecord,
    /// Binding cookie name and value.
    pub cookie_name: String,
    /// Binding cookie value (random).
    pub cookie_value: String,
}

impl LoginRedirect {
    /// The `Set-Cookie` header value (`SameSite=None; Secure; Partitioned` so it survives an
    /// LMS iframe where the browser allows partitioned cookies).
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=None; Partitioned",
            self.cookie_name, self.cookie_value, STATE_TTL_SECS
        )
    }
}

/// Tool-side settings the protocol needs.
#[derive(Debug, Clone)]
pub struct ToolConfig {
    /// Public base URL of the tool (what LMS admins paste), e.g. `https://tool.example.com`.
    pub base_url: HttpUrl,
}

impl ToolConfig {
    /// Absolute URL on the tool's origin.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.origin(), path)
    }

    /// Whether `uri` is an absolute URL on the tool's own origin (no open redirect).
    pub fn owns(&self, uri: &str) -> Option<HttpUrl> {
        HttpUrl::parse(uri).ok().filter(|u| u.same_origin(&self.base_url))
    }
}

/// Steps of OIDC login initiation (LTI 1.3 security framework §5.1.1.1–2):
/// 1. required parameters present (done by [`LoginParams::from_pairs`]);
/// 2. registration found by issuer + client id (issuer's only one without client id);
/// 3. `target_link_uri` on this tool's origin;
/// 4. deployment hint, when given, allowed by an allow-list policy;
/// 5. fresh state (192 bits), nonce (192 bits) and cookie secret (128 bits) from `random`;
/// 6. the authentication request with `scope=openid`, `response_type=id_token`,
///    `response_mode=form_post`, `prompt=none`, `client_id`, `redirect_uri`, `login_hint`,
///    `state`, `nonce` and `lti_message_hint` when given.
///
/// `store` names the single-use store the launch must use (opaque to the core, signed in).
#[allow(clippy::too_many_arguments)]
pub fn begin_login<R: AsRef<Registration>>(
    params: &LoginParams,
    candidates: &[R],
    tool: &ToolConfig,
    redirect_path: &str,
    key: &StateKey,
    random: &[u8; LOGIN_RANDOM_BYTES],
    store: &str,
    now: i64,
) -> Result<(LoginRedirect, String), LoginError> {
    // 2.
    let reg = select_registration(params, candidates)?.as_ref();
    // 3.
    tool.owns(&params.target_link_uri).ok_or(LoginError::TargetLinkUriInvalid)?;
    // 4.
    if let Some(dep) = &params.deployment_id {
        if reg.deployment_policy() == DeploymentPolicy::AllowList && !reg.knows_deployment(dep) {
            return Err(LoginError::DeploymentNotAllowed(dep.clone()));
        }
    }
    // 5.
    let id = b64url_encode(random.get(..24).unwrap_or(random));
    let exp = now + STATE_TTL_SECS;
    let nonce = key.nonce_for(&id);
    let cookie_value = key.cookie_for(&id);
    let cookie_name = format!("{COOKIE_PREFIX}{}", id.get(..16).unwrap_or(&id));
    let record = StateRecord {
        id: id.clone(),
        nonce,
        registration_id: reg.id().to_string(),
        target_link_uri: params.target_link_uri.clone(),
        cookie_hash: hex(&Sha256::digest(cookie_value.as_bytes())),
        exp,
        storage_target: params.lti_storage_target.clone(),
        store: store.to_string(),
    };
    let body = format!("v2.{}", b64url_encode(serde_json::to_string(&record).unwrap_or_default().as_bytes()));
    let mac = key.mac(body.as_bytes()).finalize().into_bytes();
    let state = format!("{body}.{}", b64url_encode(&mac));
    // 6.
    let redirect_uri = tool.url(redirect_path);
    let mut q: Vec<(&str, &str)> = vec![
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", reg.client_id().as_str()),
        ("redirect_uri", &redirect_uri),
        ("login_hint", &params.login_hint),
        ("state", &state),
        ("nonce", record.nonce.expose()),
    ];
    if let Some(h) = &params.lti_message_hint {
        q.push(("lti_message_hint", h));
    }
    let auth = reg.auth_login_url().as_str();
    let sep = if auth.contains('?') { '&' } else { '?' };
    let location = format!("{auth}{sep}{}", form_encode(q));
    let reg_id = reg.id().to_string();
    Ok((LoginRedirect { location, state, record, cookie_name, cookie_value }, reg_id))
}

/// A state whose signature and expiry verified; not yet consumed.
#[derive(Debug, PartialEq, Eq)]
pub struct StateHandle {
    record: StateRecord,
}

impl StateHandle {
    /// Verify `state` (signature, then expiry) and recover the login it carries. No store
    /// access. A `v1` state (from before logins stopped writing to the store) reads as expired.
    pub fn verify(state: &str, key: &StateKey, now: i64) -> Result<Self, StateError> {
        if state.len() > MAX_STATE_LEN {
            return Err(StateError::Invalid);
        }
        if state.starts_with("v1.") {
            return Err(StateError::Expired);
        }
        let (body, mac) = state.rsplit_once('.').ok_or(StateError::Invalid)?;
        let payload = body.strip_prefix("v2.").ok_or(StateError::Invalid)?;
        let mac = b64url_decode(mac).ok_or(StateError::Invalid)?;
        key.mac(body.as_bytes()).verify_slice(&mac).map_err(|_| StateError::Invalid)?;
        let bytes = b64url_decode(payload).ok_or(StateError::Invalid)?;
        let mut record: StateRecord = serde_json::from_slice(&bytes).map_err(|_| StateError::Invalid)?;
        if record.id.len() != 32 {
            return Err(StateError::Invalid);
        }
        if now > record.exp {
            return Err(StateError::Expired);
        }
        record.nonce = key.nonce_for(&record.id);
        record.cookie_hash = hex(&Sha256::digest(key.cookie_for(&record.id).as_bytes()));
        Ok(Self { record })
    }

    /// Signed expiry (Unix seconds): how long the used mark must be kept.
    pub fn exp(&self) -> i64 {
        self.record.exp
    }

    /// The store the login chose (`kv`, `durable`, … as passed to [`begin_login`]).
    pub fn store(&self) -> &str {
        &self.record.store
    }

    /// Key under which the adapter marks this state used.
    pub fn store_key(&self) -> String {
        format!("state:{}", self.record.id)
    }

    /// Name of the binding cookie for this state (also the platform-storage key).
    pub fn cookie_name(&self) -> String {
        format!("{COOKIE_PREFIX}{}", self.record.id.get(..16).unwrap_or(&self.record.id))
    }

    /// The adapter marked the state used in its single-use store: `first_use` is whether this
    /// launch was the first to do so. Since the signature proves we issued the state and it
    /// has not expired, anything but a first use is a replay.
    pub fn consumed(self, first_use: bool) -> Result<ConsumedState, StateError> {
        if !first_use {
            return Err(StateError::Reused);
        }
        Ok(ConsumedState { record: self.record })
    }
}

/// How the launch was bound to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The partitioned state cookie came back and matched.
    Cookie,
    /// The binding secret stored at login through LTI Platform Storage (`lti.put_data`) was
    /// read back at launch (`lti.get_data`) and matched.
    PlatformStorage,
    /// No cookie (blocked third-party cookies) and no platform storage: the signed
    /// single-use state and nonce carry it.
    StateOnly,
}

impl Binding {
    /// For logs and the session.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::PlatformStorage => "platform-storage",
            Self::StateOnly => "state-only",
        }
    }
}

/// Check a binding secret read back from somewhere (cookie, platform storage) against the hash
/// recorded at login, in constant time.
pub fn binding_matches(cookie_hash: &str, value: &str) -> bool {
    let h = hex(&Sha256::digest(value.as_bytes()));
    bool::from(h.as_bytes().ct_eq(cookie_hash.as_bytes()))
}

/// A state taken from the store exactly once: the only way to reach claim validation.
#[derive(Debug)]
pub struct ConsumedState {
    record: StateRecord,
}

impl ConsumedState {
    /// Check the binding cookie if the browser sent one.
    pub fn check_cookie(&self, cookie_value: Option<&str>) -> Result<Binding, StateError> {
        match cookie_value {
            None => Ok(Binding::StateOnly),
            Some(v) if binding_matches(&self.record.cookie_hash, v) => Ok(Binding::Cookie),
            Some(_) => Err(StateError::CookieMismatch),
        }
    }

    /// The stored record.
    pub fn record(&self) -> &StateRecord {
        &self.record
    }
}

/// Find a cookie's value in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
}
