//! Registrations (the worker side) in the Durable Object's SQLite (the table is
//! [`super::durable::registry_sql`]): one strongly consistent object
//! (`registry`) holds every registration, with `(issuer, client id)` unique and an LTI 1.1
//! consumer key naming at most one registration. Upserts, deletions and recorded deployments
//! are single synchronous SQL sequences inside the object, so concurrent admin calls (or
//! concurrent launches recording deployments) cannot lose each other's writes or create
//! duplicates — the race KV's read-modify-write index had.
//!
//! Reads are cached in isolate memory for [`CACHE_MS`] (only what was found: a registration
//! created a moment ago is never hidden by a cached miss), and a login whose client id is not
//! in the cached list asks the object again. Another isolate sees an update or deletion within
//! that window.

use std::cell::RefCell;
use std::collections::HashMap;

use lti_policy::ErrorCode;
use lti_policy::Registration;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::Env;

use super::durable;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};

/// How long an isolate trusts a cached registration or issuer list.
pub const CACHE_MS: f64 = 30_000.0;
/// The Durable Object that holds registrations.
const OBJECT: &str = "registry";

thread_local! {
    static REGS: RefCell<HashMap<String, (f64, Registration)>> = RefCell::new(HashMap::new());
    static BY_ISSUER: RefCell<HashMap<String, (f64, Vec<Registration>)>> = RefCell::new(HashMap::new());
}

fn cached<T: Clone>(map: &'static std::thread::LocalKey<RefCell<HashMap<String, (f64, T)>>>, key: &str) -> Option<T> {
    map.with(|m| m.borrow().get(key).filter(|(at, _)| now_ms() - at < CACHE_MS).map(|(_, v)| v.clone()))
}

fn remember<T>(map: &'static std::thread::LocalKey<RefCell<HashMap<String, (f64, T)>>>, key: &str, v: T) {
    map.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 5000 {
            let now = now_ms();
            m.retain(|_, (at, _)| now - *at < CACHE_MS);
            if m.len() > 5000 {
                return;
            }
        }
        m.insert(key.to_string(), (now_ms(), v));
    });
}

fn forget(id: &str, issuer: &str) {
    REGS.with(|m| m.borrow_mut().remove(id));
    BY_ISSUER.with(|m| m.borrow_mut().remove(issuer));
}

/// What an upsert did.
pub struct Upserted {
    /// The stored registration.
    pub registration: Registration,
    /// A new registration (201) rather than an update (200).
    pub created: bool,
}

/// Registration store (the worker side: calls into the object, caches reads).
pub struct Registry<'a> {
    env: &'a Env,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    #[serde(default)]
    registration: Option<Registration>,
    #[serde(default)]
    registrations: Vec<Registration>,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    changed: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    fields: Option<std::collections::BTreeMap<String, String>>,
}

impl<'a> Registry<'a> {
    /// Over the Durable Object binding.
    pub fn new(env: &'a Env) -> Self {
        Self { env }
    }

    async fn ask(&self, path: &str, body: &Value) -> ApiResult<Reply> {
        let mut resp = durable::call(self.env, OBJECT, path, body).await?;
        let reply: Reply = resp.json().await.map_err(|e| ApiError::internal(format!("registry reply: {e}")))?;
        if let Some(code) = &reply.error {
            let code_of = match code.as_str() {
                "registration_invalid" => ErrorCode::RegistrationInvalid,
                "platform_already_registered" => ErrorCode::PlatformAlreadyRegistered,
                _ => ErrorCode::Internal,
            };
            let mut e = ApiError::new(code_of, format!("registry: {code}"));
            e.fields = reply.fields.clone();
            return Err(e);
        }
        Ok(reply)
    }

    /// By id.
    pub async fn get(&self, id: &str) -> ApiResult<Option<Registration>> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        if let Some(hit) = cached(&REGS, id) {
            return Ok(Some(hit));
        }
        let reply = self.ask("/reg/get", &json!({"id": id})).await?;
        if let Some(r) = &reply.registration {
            remember(&REGS, id, r.clone());
        }
        Ok(reply.registration)
    }

    /// Every registration of an issuer (cached when non-empty).
    pub async fn by_issuer(&self, issuer: &str) -> ApiResult<Vec<Registration>> {
        if let Some(hit) = cached(&BY_ISSUER, issuer) {
            return Ok(hit);
        }
        self.by_issuer_fresh(issuer).await
    }

    /// Every registration of an issuer, from the object.
    pub async fn by_issuer_fresh(&self, issuer: &str) -> ApiResult<Vec<Registration>> {
        let reply = self.ask("/reg/by-issuer", &json!({"issuer": issuer})).await?;
        if !reply.registrations.is_empty() {
            remember(&BY_ISSUER, issuer, reply.registrations.clone());
        }
        Ok(reply.registrations)
    }

    /// The candidates for a login: the cached list, unless it lacks the client id the login
    /// names (a registration made in the last moments), then the object's.
    pub async fn for_login(&self, issuer: &str, client_id: Option<&str>) -> ApiResult<Vec<Registration>> {
        let list = self.by_issuer(issuer).await?;
        let complete = match client_id {
            Some(c) => list.iter().any(|r| r.lti().client_id().as_str() == c),
            None => !list.is_empty(),
        };
        if complete {
            Ok(list)
        } else {
            self.by_issuer_fresh(issuer).await
        }
    }

    /// The registration with this LTI 1.1 consumer key.
    pub async fn by_consumer_key(&self, key: &str) -> ApiResult<Option<Registration>> {
        if key.is_empty() || key.len() > 255 {
            return Ok(None);
        }
        Ok(self.ask("/reg/by-consumer-key", &json!({"key": key})).await?.registration)
    }

    /// Validate `body` and insert or update by issuer + client id, atomically in the object.
    /// `secret_enc` is the body's new LTI 1.1 secret, already sealed by the caller.
    pub async fn upsert(
        &self,
        body: &Value,
        new_id: &str,
        now_iso: &str,
        allow_http_loopback: bool,
        secret_enc: Option<String>,
    ) -> ApiResult<Upserted> {
        let reply = self
            .ask("/reg/upsert", &json!({"input": body, "newId": new_id, "now": now_iso, "allowHttpLoopback": allow_http_loopback, "secretEnc": secret_enc}))
            .await?;
        let registration =
            reply.registration.ok_or_else(|| ApiError::internal("registry upsert without registration"))?;
        forget(registration.id(), registration.lti().issuer().as_str());
        Ok(Upserted { registration, created: reply.created })
    }

    /// Validate `body` and replace registration `id` with it (issuer and client id may change);
    /// `None` when there is no such registration. `secret_enc` as for [`Registry::upsert`].
    pub async fn update(
        &self,
        id: &str,
        body: &Value,
        now_iso: &str,
        allow_http_loopback: bool,
        secret_enc: Option<String>,
    ) -> ApiResult<Option<Registration>> {
        let previous = self.get(id).await?;
        let reply = self
            .ask("/reg/update", &json!({"id": id, "input": body, "now": now_iso, "allowHttpLoopback": allow_http_loopback, "secretEnc": secret_enc}))
            .await?;
        if let Some(p) = &previous {
            forget(p.id(), p.lti().issuer().as_str());
        }
        if let Some(r) = &reply.registration {
            forget(r.id(), r.lti().issuer().as_str());
        }
        Ok(reply.registration)
    }

    /// Validate `body` and create a new registration; an issuer + client id already registered
    /// is refused (`platform_already_registered`), never updated (Dynamic Registration).
    pub async fn create(
        &self,
        body: &Value,
        new_id: &str,
        now_iso: &str,
        allow_http_loopback: bool,
    ) -> ApiResult<Registration> {
        let reply = self
            .ask(
                "/reg/create",
                &json!({"input": body, "newId": new_id, "now": now_iso, "allowHttpLoopback": allow_http_loopback}),
            )
            .await?;
        let registration =
            reply.registration.ok_or_else(|| ApiError::internal("registry create without registration"))?;
        forget(registration.id(), registration.lti().issuer().as_str());
        Ok(registration)
    }

    /// Record a deployment id on an accept-and-record registration (atomic; no lost update
    /// when launches of several new deployments race). Returns whether it was new.
    pub async fn record_deployment(&self, reg: &Registration, deployment_id: &str, now_iso: &str) -> ApiResult<bool> {
        let reply = self
            .ask("/reg/record-deployment", &json!({"id": reg.id(), "deployment": deployment_id, "now": now_iso}))
            .await?;
        forget(reg.id(), reg.lti().issuer().as_str());
        Ok(reply.changed)
    }

    /// Replace the user-id rule of registration `id` (validated; nothing else changes), atomically
    /// in the object. `None` when there is no such registration.
    pub async fn set_user_id_rule(&self, id: &str, rule: &Value, now_iso: &str) -> ApiResult<Option<Registration>> {
        let reply = self.ask("/reg/user-id-rule", &json!({"id": id, "rule": rule, "now": now_iso})).await?;
        if let Some(r) = &reply.registration {
            forget(r.id(), r.lti().issuer().as_str());
        }
        Ok(reply.registration)
    }

    /// Store registrations as they are (restore): all or nothing, ids kept.
    pub async fn save_all(&self, regs: &[Registration]) -> ApiResult<()> {
        self.ask("/reg/save-all", &json!({"registrations": regs})).await?;
        for r in regs {
            forget(r.id(), r.lti().issuer().as_str());
        }
        Ok(())
    }

    /// Remove; returns whether it existed.
    pub async fn delete(&self, id: &str) -> ApiResult<bool> {
        let reply = self.ask("/reg/delete", &json!({"id": id})).await?;
        if let Some(r) = &reply.registration {
            forget(r.id(), r.lti().issuer().as_str());
        }
        Ok(reply.registration.is_some())
    }

    /// All registrations, oldest first.
    pub async fn list(&self) -> ApiResult<Vec<Registration>> {
        Ok(self.ask("/reg/list", &json!({})).await?.registrations)
    }
}
