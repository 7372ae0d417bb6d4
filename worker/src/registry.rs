//! Registrations in the Durable Object's SQLite: one strongly consistent object
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

use lti_core::error::{ErrorCode, RegistrationError};
use lti_core::registration::{Registration, RegistrationInput};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{Env, SqlStorage, SqlStorageValue};

use crate::config::KV_BINDING;
use crate::error::{ApiError, ApiResult};
use crate::store::do_call;

/// How long an isolate trusts a cached registration or issuer list.
pub const CACHE_MS: f64 = 30_000.0;
/// The Durable Object that holds registrations.
const OBJECT: &str = "registry";

thread_local! {
    static REGS: RefCell<HashMap<String, (f64, Registration)>> = RefCell::new(HashMap::new());
    static BY_ISSUER: RefCell<HashMap<String, (f64, Vec<Registration>)>> = RefCell::new(HashMap::new());
}

fn now_ms() -> f64 {
    js_sys::Date::now()
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
        let mut resp = do_call(self.env, OBJECT, path, body).await?;
        let reply: Reply = resp.json().await.map_err(|e| ApiError::internal(format!("registry reply: {e}")))?;
        if let Some(code) = &reply.error {
            let mut e = ApiError::new(
                if code == "registration_invalid" { ErrorCode::RegistrationInvalid } else { ErrorCode::Internal },
                format!("registry: {code}"),
            );
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
            Some(c) => list.iter().any(|r| r.client_id == c),
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
        forget(&registration.id, &registration.issuer);
        Ok(Upserted { registration, created: reply.created })
    }

    /// Record a deployment id on an accept-and-record registration (atomic; no lost update
    /// when launches of several new deployments race). Returns whether it was new.
    pub async fn record_deployment(&self, reg: &Registration, deployment_id: &str, now_iso: &str) -> ApiResult<bool> {
        let reply = self
            .ask("/reg/record-deployment", &json!({"id": reg.id, "deployment": deployment_id, "now": now_iso}))
            .await?;
        forget(&reg.id, &reg.issuer);
        Ok(reply.changed)
    }

    /// Store registrations as they are (restore): all or nothing, ids kept.
    pub async fn save_all(&self, regs: &[Registration]) -> ApiResult<()> {
        self.ask("/reg/save-all", &json!({"registrations": regs})).await?;
        for r in regs {
            forget(&r.id, &r.issuer);
        }
        Ok(())
    }

    /// Remove; returns whether it existed.
    pub async fn delete(&self, id: &str) -> ApiResult<bool> {
        let reply = self.ask("/reg/delete", &json!({"id": id})).await?;
        if let Some(r) = &reply.registration {
            forget(&r.id, &r.issuer);
        }
        Ok(reply.registration.is_some())
    }

    /// All registrations, oldest first.
    pub async fn list(&self) -> ApiResult<Vec<Registration>> {
        Ok(self.ask("/reg/list", &json!({})).await?.registrations)
    }
}

// ------------------------------------------------------------------ inside the Durable Object

#[derive(Deserialize)]
struct Row {
    body: String,
}

fn rows(sql: &SqlStorage, query: &str, args: Vec<SqlStorageValue>) -> worker::Result<Vec<Registration>> {
    let rows: Vec<Row> = sql.exec(query, args)?.to_array()?;
    Ok(rows.into_iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect())
}

fn put(sql: &SqlStorage, reg: &Registration) -> worker::Result<()> {
    let body = serde_json::to_string(reg).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let key = if reg.lti11_consumer_key.is_empty() {
        SqlStorageValue::Null
    } else {
        SqlStorageValue::from(reg.lti11_consumer_key.clone())
    };
    sql.exec(
        "INSERT INTO registrations (id, issuer, client_id, consumer_key, created, body) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, consumer_key = excluded.consumer_key, body = excluded.body",
        vec![
            SqlStorageValue::from(reg.id.clone()),
            SqlStorageValue::from(reg.issuer.clone()),
            SqlStorageValue::from(reg.client_id.clone()),
            key,
            SqlStorageValue::from(reg.created_at.clone()),
            SqlStorageValue::from(body),
        ],
    )?;
    Ok(())
}

fn invalid(fields: std::collections::BTreeMap<String, String>) -> Value {
    json!({"error": "registration_invalid", "fields": fields})
}

/// Create the table (once per object; cheap when it exists).
pub fn init(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS registrations (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, client_id TEXT NOT NULL, \
         consumer_key TEXT, created TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (issuer, client_id))",
        None,
    )?;
    sql.exec("CREATE UNIQUE INDEX IF NOT EXISTS registrations_consumer_key ON registrations (consumer_key) WHERE consumer_key IS NOT NULL", None)?;
    sql.exec("CREATE TABLE IF NOT EXISTS registry_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)", None)?;
    Ok(())
}

#[derive(Deserialize)]
struct MetaRow {
    #[allow(dead_code)]
    v: String,
}

/// Registrations written by earlier versions (KV `reg:<id>`) are copied in once, so an
/// upgrade loses none.
pub async fn import_from_kv(sql: &SqlStorage, env: &Env) -> worker::Result<()> {
    let done: Vec<MetaRow> = sql.exec("SELECT v FROM registry_meta WHERE k = 'kv_imported'", None)?.to_array()?;
    if !done.is_empty() {
        return Ok(());
    }
    let kv = env.kv(KV_BINDING)?;
    let mut cursor: Option<String> = None;
    let mut found = Vec::new();
    for _ in 0..50 {
        let mut q = kv.list().prefix("reg:".into()).limit(1000);
        if let Some(c) = cursor.take() {
            q = q.cursor(c);
        }
        let page = q.execute().await?;
        for k in &page.keys {
            if let Some(text) = kv.get(&k.name).text().await? {
                if let Ok(r) = serde_json::from_str::<Registration>(&text) {
                    found.push(r);
                }
            }
        }
        if page.list_complete {
            break;
        }
        cursor = page.cursor;
    }
    for r in &found {
        // Never overwrite what the object already holds; skip conflicting old entries.
        let exists: Vec<Row> = sql
            .exec(
                "SELECT body FROM registrations WHERE id = ? OR (issuer = ? AND client_id = ?)",
                vec![
                    SqlStorageValue::from(r.id.clone()),
                    SqlStorageValue::from(r.issuer.clone()),
                    SqlStorageValue::from(r.client_id.clone()),
                ],
            )?
            .to_array()?;
        if exists.is_empty() {
            let _ = put(sql, r);
        }
    }
    sql.exec(
        "INSERT OR REPLACE INTO registry_meta (k, v) VALUES ('kv_imported', ?)",
        vec![SqlStorageValue::from(found.len().to_string())],
    )?;
    Ok(())
}

/// One registry operation, inside the object. Everything after parsing `body` is synchronous
/// SQL, so each operation is atomic with respect to every other.
pub fn handle(sql: &SqlStorage, path: &str, body: &Value) -> worker::Result<Value> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(match path {
        "/reg/get" => {
            json!({"registration": rows(sql, "SELECT body FROM registrations WHERE id = ?", vec![SqlStorageValue::from(s("id"))])?.into_iter().next()})
        }
        "/reg/by-issuer" => {
            json!({"registrations": rows(sql, "SELECT body FROM registrations WHERE issuer = ? ORDER BY created, id", vec![SqlStorageValue::from(s("issuer"))])?})
        }
        "/reg/by-consumer-key" => {
            json!({"registration": rows(sql, "SELECT body FROM registrations WHERE consumer_key = ?", vec![SqlStorageValue::from(s("key"))])?.into_iter().next()})
        }
        "/reg/list" => {
            json!({"registrations": rows(sql, "SELECT body FROM registrations ORDER BY created, id", Vec::new())?})
        }
        "/reg/upsert" => {
            let input_body = body.get("input").cloned().unwrap_or(Value::Null);
            let input = match RegistrationInput::new(&input_body) {
                Ok(i) => i,
                Err(RegistrationError { fields }) => return Ok(invalid(fields)),
            };
            let existing = match input.key() {
                (Some(iss), Some(cid)) => rows(
                    sql,
                    "SELECT body FROM registrations WHERE issuer = ? AND client_id = ?",
                    vec![SqlStorageValue::from(iss.trim().to_string()), SqlStorageValue::from(cid.trim().to_string())],
                )?
                .into_iter()
                .next(),
                _ => None,
            };
            let loopback = body.get("allowHttpLoopback").and_then(Value::as_bool).unwrap_or(false);
            let mut reg = match input.validate(&s("newId"), existing.as_ref(), &s("now"), loopback) {
                Ok(r) => r,
                Err(RegistrationError { fields }) => return Ok(invalid(fields)),
            };
            if reg.lti11_secret_new.take().is_some() {
                match body.get("secretEnc").and_then(Value::as_str) {
                    Some(enc) => reg.lti11_secret_enc = enc.to_string(),
                    None => return Err(worker::Error::RustError("new 1.1 secret without its sealed form".into())),
                }
            }
            if !reg.lti11_consumer_key.is_empty() {
                let other = rows(
                    sql,
                    "SELECT body FROM registrations WHERE consumer_key = ? AND id != ?",
                    vec![SqlStorageValue::from(reg.lti11_consumer_key.clone()), SqlStorageValue::from(reg.id.clone())],
                )?;
                if let Some(o) = other.first() {
                    return Ok(invalid(
                        [("lti11ConsumerKey".to_string(), format!("already used by registration {}", o.id))].into(),
                    ));
                }
            }
            put(sql, &reg)?;
            json!({"registration": reg, "created": existing.is_none()})
        }
        "/reg/record-deployment" => {
            let Some(mut reg) =
                rows(sql, "SELECT body FROM registrations WHERE id = ?", vec![SqlStorageValue::from(s("id"))])?
                    .into_iter()
                    .next()
            else {
                return Ok(json!({"changed": false}));
            };
            let changed = reg.record_deployment(&s("deployment"));
            if changed {
                reg.updated_at = s("now");
                put(sql, &reg)?;
            }
            json!({"changed": changed})
        }
        "/reg/save-all" => {
            let regs: Vec<Registration> =
                serde_json::from_value(body.get("registrations").cloned().unwrap_or(Value::Null))
                    .map_err(|e| worker::Error::RustError(format!("registrations: {e}")))?;
            // Check every constraint first, then write: all or nothing.
            for (i, r) in regs.iter().enumerate() {
                let clash = rows(
                    sql,
                    "SELECT body FROM registrations WHERE id != ? AND ((issuer = ? AND client_id = ?) OR (consumer_key IS NOT NULL AND consumer_key = ?))",
                    vec![
                        SqlStorageValue::from(r.id.clone()),
                        SqlStorageValue::from(r.issuer.clone()),
                        SqlStorageValue::from(r.client_id.clone()),
                        SqlStorageValue::from(r.lti11_consumer_key.clone()),
                    ],
                )?;
                if let Some(o) = clash.first() {
                    return Ok(invalid(
                        [(
                            format!("registrations[{i}]"),
                            format!(
                                "issuer + client id or consumer key already registered as {}: delete it first",
                                o.id
                            ),
                        )]
                        .into(),
                    ));
                }
            }
            for r in &regs {
                put(sql, r)?;
            }
            json!({"changed": true})
        }
        "/reg/delete" => {
            let gone = rows(
                sql,
                "DELETE FROM registrations WHERE id = ? RETURNING body",
                vec![SqlStorageValue::from(s("id"))],
            )?;
            json!({"registration": gone.into_iter().next()})
        }
        _ => json!({"error": "not_found"}),
    })
}
