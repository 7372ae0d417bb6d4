//! Deployment configuration read from the environment (vars and secrets).

use lti_core::state::{StateKey, ToolConfig};
use lti_core::url::HttpUrl;
use worker::Env;

/// Binding names.
pub const KV_BINDING: &str = "LTI_KV";
/// Durable Object namespace for strict single-use state and the key ring.
pub const DO_BINDING: &str = "LTI_DO";

/// Where states live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// Workers KV (default; eventually consistent).
    Kv,
    /// Durable Object (strict single use).
    Durable,
}

/// Everything a request needs to know about the deployment.
pub struct Config {
    /// Public base of the tool.
    pub tool: ToolConfig,
    /// `LTI_ENCRYPTION_KEY` (None → LTI disabled, 503).
    pub encryption_key: Option<String>,
    /// `LTI_ADMIN_TOKEN`.
    pub admin_token: Option<String>,
    /// `LTI_SERVICES_TOKEN`: the tool app server's credential for the services (AGS, NRPS)
    /// only; never accepted by the admin API.
    pub services_token: Option<String>,
    /// Allow http:// registration URLs on loopback (local development only).
    pub allow_http_loopback: bool,
    /// State store.
    pub store: StoreKind,
    /// Session lifetime.
    pub session_ttl: i64,
    /// `Cache-Control: max-age` of the tool JWKS (`JWKS_MAX_AGE`, 60–86400, default 300); a next
    /// key must be published this long before it is promoted.
    pub jwks_max_age: i64,
    /// The admin console's sessions.
    pub console: ConsoleConfig,
    /// The launch inspector: attempts kept per registration, and for how long.
    pub inspector: InspectorConfig,
}

/// The admin console's sessions (`CONSOLE_IDLE_SECONDS`, `CONSOLE_SESSION_HOURS`) and, when both
/// `CF_ACCESS_TEAM_DOMAIN` and `CF_ACCESS_AUD` are set, Cloudflare Access in front of it.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// A session unused this long ends (default 30 minutes; 2 s–24 h).
    pub idle_secs: i64,
    /// A session ends this long after sign-in, however busy (default 8 h; 1–24 h).
    pub lifetime_secs: i64,
    /// `https://<team>.cloudflareaccess.com` and the application's audience tag.
    pub access: Option<(HttpUrl, String)>,
}

/// `INSPECTOR_MAX_ATTEMPTS` (default 50, 1–200) and `INSPECTOR_RETENTION_HOURS` (default 24,
/// 1–168).
#[derive(Clone, Copy)]
pub struct InspectorConfig {
    /// Attempts kept per registration (the newest).
    pub max_attempts: i64,
    /// How long an attempt is kept.
    pub retention_secs: i64,
}

/// A string var or secret, trimmed; empty counts as unset.
pub fn env_string(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `token` equals the configured secret: SHA-256 digests compared in constant time, so neither
/// the content nor the length leaks. An unset secret matches nothing.
fn secret_eq(expected: Option<&str>, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    expected.is_some_and(|expected| Sha256::digest(token.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into())
}

/// What [`Config`] reads from the environment (everything but the request's origin).
#[derive(Clone)]
struct Vars {
    base: Option<HttpUrl>,
    encryption_key: Option<String>,
    admin_token: Option<String>,
    services_token: Option<String>,
    allow_http_loopback: bool,
    store: StoreKind,
    session_ttl: i64,
    jwks_max_age: i64,
    console: ConsoleConfig,
    inspector: InspectorConfig,
}

impl Vars {
    fn read(env: &Env) -> Self {
        let flag = |n: &str| env_string(env, n).is_some_and(|v| v == "true" || v == "1");
        let number = |n: &str, default: i64, min: i64, max: i64| {
            env_string(env, n).and_then(|s| s.parse::<i64>().ok()).unwrap_or(default).clamp(min, max)
        };
        Self {
            base: env_string(env, "PUBLIC_BASE_URL").and_then(|s| HttpUrl::parse(&s).ok()),
            encryption_key: env_string(env, "LTI_ENCRYPTION_KEY"),
            admin_token: env_string(env, "LTI_ADMIN_TOKEN"),
            services_token: env_string(env, "LTI_SERVICES_TOKEN"),
            allow_http_loopback: flag("ALLOW_HTTP_LOOPBACK"),
            store: match env_string(env, "NONCE_STORE").as_deref() {
                Some("durable") => StoreKind::Durable,
                _ => StoreKind::Kv,
            },
            session_ttl: env_string(env, "SESSION_TTL_SECONDS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(3600)
                .clamp(60, lti_policy::session::MAX_SESSION_TTL_SECS),
            jwks_max_age: env_string(env, "JWKS_MAX_AGE").and_then(|s| s.parse().ok()).unwrap_or(300).clamp(60, 86_400),
            console: ConsoleConfig {
                idle_secs: number("CONSOLE_IDLE_SECONDS", 1800, 2, 86_400),
                lifetime_secs: number("CONSOLE_SESSION_HOURS", 8, 1, 24) * 3600,
                access: env_string(env, "CF_ACCESS_TEAM_DOMAIN")
                    .and_then(|d| HttpUrl::parse(d.trim_end_matches('/')).ok())
                    .zip(env_string(env, "CF_ACCESS_AUD")),
            },
            inspector: InspectorConfig {
                max_attempts: number("INSPECTOR_MAX_ATTEMPTS", 50, 1, 200),
                retention_secs: number("INSPECTOR_RETENTION_HOURS", 24, 1, 168) * 3600,
            },
        }
    }
}

thread_local! {
    /// The variables read from each `env` object this isolate was handed (the runtime hands the
    /// same object to every request of an isolate, and its bindings do not change while the
    /// isolate lives): reading them once saves some forty calls into JavaScript a request.
    static VARS: std::cell::RefCell<Vec<(wasm_bindgen::JsValue, Vars)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `env`'s variables, read once per `env` object.
fn vars(env: &Env) -> Vars {
    let js: &wasm_bindgen::JsValue = env;
    if let Some(v) = VARS.with(|c| c.borrow().iter().find(|(e, _)| e == js).map(|(_, v)| v.clone())) {
        return v;
    }
    let v = Vars::read(env);
    VARS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 4 {
            c.clear(); // not expected: one object for the worker, one for the Durable Object
        }
        c.push((js.clone(), v.clone()));
    });
    v
}

impl Config {
    /// Read the configuration. `request_origin` is the fallback base when `PUBLIC_BASE_URL`
    /// is unset.
    pub fn load(env: &Env, request_origin: &str) -> Self {
        let v = vars(env);
        let base = v
            .base
            .or_else(|| HttpUrl::parse(request_origin).ok())
            .unwrap_or_else(|| HttpUrl::parse("https://localhost").unwrap_or_else(|_| unreachable!()));
        Self {
            tool: ToolConfig { base_url: base },
            encryption_key: v.encryption_key,
            admin_token: v.admin_token,
            services_token: v.services_token,
            allow_http_loopback: v.allow_http_loopback,
            store: v.store,
            session_ttl: v.session_ttl,
            jwks_max_age: v.jwks_max_age,
            console: v.console,
            inspector: v.inspector,
        }
    }

    /// Whether `token` is the admin token (digests compared in constant time, so neither the
    /// content nor the length leaks).
    pub fn is_admin(&self, token: &str) -> bool {
        secret_eq(self.admin_token.as_deref(), token)
    }

    /// Whether `token` is the services credential (compared like the admin token).
    pub fn is_services(&self, token: &str) -> bool {
        secret_eq(self.services_token.as_deref(), token)
    }

    /// `kv` or `durable`.
    pub fn store_name(&self) -> &'static str {
        match self.store {
            StoreKind::Kv => "kv",
            StoreKind::Durable => "durable",
        }
    }

    /// Base URL without trailing slash.
    pub fn base(&self) -> String {
        self.tool.base_url.origin()
    }

    /// The state-signing key (only when configured).
    pub fn state_key(&self) -> Option<StateKey> {
        self.encryption_key.as_deref().map(StateKey::derive)
    }
}
