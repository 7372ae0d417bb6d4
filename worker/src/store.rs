//! Single-use marks (launch states, LTI 1.1 nonces) and short-lived records (a launch parked
//! for platform storage), behind one interface with two backends:
//!
//! * **KV** (default): `claim` checks this isolate's memory, then KV, then writes a used mark
//!   that KV keeps until the state's own expiry. KV is eventually consistent (a write can take
//!   up to ~60 s to reach other locations), so two copies of one launch racing through
//!   *different* locations inside that window could both be accepted: best effort, fine for
//!   most tools because the id_token's nonce is bound to the state and the platform signs
//!   each launch. A replay to the same isolate is refused from memory at once.
//! * **Durable Object** (`NONCE_STORE=durable`): one strongly consistent object per state;
//!   `claim` is one atomic SQL insert-if-absent, so exactly one launch wins, anywhere.
//!
//! Logins store nothing (the signed state carries the login): only a launch that passed the
//! state's signature check writes a mark, so anonymous traffic costs no storage.
//!
//! The same Durable Object class also serialises creation of the tool's key ring.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorageValue, State,
};

use crate::config::{Config, StoreKind, DO_BINDING, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::keys;

/// Most marks kept in isolate memory (KV mode). When full, expired ones are dropped; live
/// ones are never evicted early (KV holds every mark anyway, memory only answers faster).
const LOCAL_STATES: usize = 10_000;

thread_local! {
    /// KV mode: records written by this isolate, so a launch served by the same isolate (the
    /// usual case) needs no KV read. A taken record leaves a tombstone (`None`) until it
    /// expires, so a replay to this isolate is refused before KV has seen the delete.
    static LOCAL: RefCell<HashMap<String, (i64, Option<String>)>> = RefCell::new(HashMap::new());
}

/// What this isolate knows about a state record.
enum Local {
    /// Written here, not yet taken: now taken.
    Taken(String),
    /// Already taken here.
    Consumed,
    /// Not written here (another isolate, or this one restarted): ask KV.
    Unknown,
}

fn local_put(key: &str, value: &str, exp: i64, now: i64) {
    local_insert(key, Some(value), exp, now);
}

/// Remember a record (`Some`) or a tombstone (`None`) in this isolate until `exp`.
fn local_insert(key: &str, value: Option<&str>, exp: i64, now: i64) {
    LOCAL.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= LOCAL_STATES {
            m.retain(|_, (e, _)| *e >= now);
            if m.len() >= LOCAL_STATES {
                return; // full of live marks: KV answers for this one
            }
        }
        m.insert(key.to_string(), (exp, value.map(str::to_string)));
    });
}

fn local_take(key: &str, exp_if_unknown: i64) -> Local {
    LOCAL.with(|m| {
        let mut m = m.borrow_mut();
        match m.get_mut(key) {
            Some((_, slot)) => slot.take().map_or(Local::Consumed, Local::Taken),
            None => {
                // Remember that this isolate has now seen the state consumed.
                m.insert(key.to_string(), (exp_if_unknown, None));
                Local::Unknown
            }
        }
    })
}

/// Where state records go.
pub struct StateStore<'a> {
    env: &'a Env,
    ctx: &'a worker::Context,
    kind: StoreKind,
}

#[derive(Serialize, Deserialize)]
struct PutBody {
    key: String,
    value: String,
    exp: i64,
}

#[derive(Serialize, Deserialize)]
struct TakeBody {
    key: String,
}

#[derive(Serialize, Deserialize)]
struct TakeReply {
    value: Option<String>,
}

pub(crate) async fn do_call(env: &Env, object: &str, path: &str, body: &impl Serialize) -> ApiResult<Response> {
    let ns = env.durable_object(DO_BINDING)?;
    let stub = ns.id_from_name(object)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(body).map_err(|e| ApiError::internal(e.to_string()))?.into()));
    let req = Request::new_with_init(&format!("https://do.internal{path}"), &init)?;
    let resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        return Err(ApiError::internal(format!("durable object {path} answered {}", resp.status_code())));
    }
    Ok(resp)
}

impl<'a> StateStore<'a> {
    /// The store chosen by configuration.
    pub fn new(env: &'a Env, ctx: &'a worker::Context, cfg: &Config) -> Self {
        Self { env, ctx, kind: cfg.store }
    }

    /// The store a login named (`kv`, `durable`); `None` for anything else.
    pub fn named(env: &'a Env, ctx: &'a worker::Context, name: &str) -> Option<Self> {
        let kind = match name {
            "kv" => StoreKind::Kv,
            "durable" => StoreKind::Durable,
            _ => return None,
        };
        Some(Self { env, ctx, kind })
    }

    /// Which backend.
    pub fn kind(&self) -> &'static str {
        match self.kind {
            StoreKind::Kv => "kv",
            StoreKind::Durable => "durable",
        }
    }

    /// Store a record until `exp` (Unix seconds).
    pub async fn put(&self, key: &str, value: String, exp: i64, now: i64) -> ApiResult<()> {
        match self.kind {
            StoreKind::Kv => {
                let ttl = u64::try_from((exp - now).max(60)).unwrap_or(600);
                self.env.kv(KV_BINDING)?.put(key, value.clone())?.expiration_ttl(ttl).execute().await?;
                local_put(key, &value, exp, now);
            }
            StoreKind::Durable => {
                do_call(self.env, key, "/state/put", &PutBody { key: key.into(), value, exp }).await?;
            }
        }
        Ok(())
    }

    /// Mark `key` used until `exp`: `true` the first time, `false` when it was already marked
    /// (launch states, OAuth 1.0a nonces). Durable: one atomic insert; KV: this isolate's
    /// memory, then a KV read, then the mark (written in the background: KV has no atomic
    /// insert, so waiting for it would buy nothing across locations).
    pub async fn claim(&self, key: &str, exp: i64, now: i64) -> ApiResult<bool> {
        match self.kind {
            StoreKind::Kv => {
                let seen = LOCAL.with(|m| m.borrow().get(key).is_some_and(|(e, _)| *e >= now));
                if seen {
                    return Ok(false);
                }
                local_insert(key, None, exp, now);
                let kv = self.env.kv(KV_BINDING)?;
                if kv.get(key).text().await?.is_some() {
                    return Ok(false);
                }
                // KV's shortest TTL is 60 s; the mark must outlive the state.
                let ttl = u64::try_from((exp - now).max(60)).unwrap_or(600);
                let key = key.to_string();
                self.ctx.wait_until(async move {
                    if let Ok(put) = kv.put(&key, "used") {
                        let _ = put.expiration_ttl(ttl).execute().await;
                    }
                });
                Ok(true)
            }
            StoreKind::Durable => {
                let mut resp =
                    do_call(self.env, key, "/state/claim", &PutBody { key: key.into(), value: "used".into(), exp })
                        .await?;
                let reply: serde_json::Value = resp.json().await?;
                Ok(reply.get("first").and_then(serde_json::Value::as_bool).unwrap_or(false))
            }
        }
    }

    /// Read and delete a record. `None` when absent (consumed, expired or never stored).
    /// `exp` is the state's signed expiry (bounds how long a tombstone is kept).
    pub async fn take(&self, key: &str, exp: i64) -> ApiResult<Option<String>> {
        match self.kind {
            StoreKind::Kv => {
                let kv = self.env.kv(KV_BINDING)?;
                // This isolate's own record first (taken once), else KV.
                let v = match local_take(key, exp) {
                    Local::Taken(v) => Some(v),
                    Local::Consumed => return Ok(None),
                    Local::Unknown => kv.get(key).text().await?,
                };
                if v.is_some() {
                    // KV has no atomic take: single use here is best effort either way, so the
                    // delete need not hold up the response (strict mode is the Durable Object).
                    let key = key.to_string();
                    self.ctx.wait_until(async move {
                        let _ = kv.delete(&key).await;
                    });
                }
                Ok(v)
            }
            StoreKind::Durable => {
                let mut resp = do_call(self.env, key, "/state/take", &TakeBody { key: key.into() }).await?;
                let reply: TakeReply = resp.json().await?;
                Ok(reply.value)
            }
        }
    }
}

/// Ask the key-ring object to create the ring if none exists, and return it (JSON).
pub async fn ensure_key_ring(env: &Env) -> ApiResult<String> {
    let mut resp = do_call(env, "tool-key-ring", "/keyring/ensure", &serde_json::json!({})).await?;
    Ok(resp.text().await?)
}

/// Run a key-ring rotation step in the key-ring object; answers `{"ring", "result"}` or
/// `{"error": code}` (JSON text).
pub async fn key_ring_op(env: &Env, op: &keys::RingOp) -> ApiResult<String> {
    let mut resp = do_call(env, "tool-key-ring", "/keyring/op", op).await?;
    Ok(resp.text().await?)
}

/// Replace the key ring in the key-ring object (restore).
pub async fn key_ring_replace(env: &Env, ring_json: &str) -> ApiResult<()> {
    do_call(env, "tool-key-ring", "/keyring/replace", &serde_json::json!({"ring": ring_json})).await?;
    Ok(())
}

/// Strongly consistent storage: per-state objects, and the key-ring singleton.
#[durable_object]
pub struct LtiEdgeObject {
    state: State,
    env: Env,
}

#[derive(Deserialize)]
struct Row {
    v: String,
    exp: f64,
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

impl DurableObject for LtiEdgeObject {
    fn new(state: State, env: Env) -> Self {
        let _ = state
            .storage()
            .sql()
            .exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, exp INTEGER NOT NULL)", None);
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        let path = req.path();
        if path.starts_with("/reg/") {
            crate::registry::init(&sql)?;
            crate::registry::import_from_kv(&sql, &self.env).await?;
            let b: serde_json::Value = req.json().await?;
            return Response::from_json(&crate::registry::handle(&sql, &path, &b)?);
        }
        match path.as_str() {
            "/state/put" => {
                let b: PutBody = req.json().await?;
                sql.exec(
                    "INSERT INTO kv (k, v, exp) VALUES (?, ?, ?) ON CONFLICT(k) DO NOTHING",
                    vec![SqlStorageValue::from(b.key), SqlStorageValue::from(b.value), SqlStorageValue::from(b.exp)],
                )?;
                // Delete whatever is left once it expires.
                let delay_ms = (b.exp - now_secs()).max(1).saturating_mul(1000);
                self.state.storage().set_alarm(delay_ms).await?;
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            "/state/claim" => {
                let b: PutBody = req.json().await?;
                // Expired marks do not count: drop them first, then one atomic insert.
                sql.exec(
                    "DELETE FROM kv WHERE k = ? AND exp < ?",
                    vec![SqlStorageValue::from(b.key.clone()), SqlStorageValue::from(now_secs())],
                )?;
                #[derive(Deserialize)]
                struct K {
                    #[allow(dead_code)]
                    k: String,
                }
                let rows: Vec<K> = sql
                    .exec(
                        "INSERT INTO kv (k, v, exp) VALUES (?, ?, ?) ON CONFLICT(k) DO NOTHING RETURNING k",
                        vec![
                            SqlStorageValue::from(b.key),
                            SqlStorageValue::from(b.value),
                            SqlStorageValue::from(b.exp),
                        ],
                    )?
                    .to_array()?;
                let delay_ms = (b.exp - now_secs()).max(1).saturating_mul(1000);
                self.state.storage().set_alarm(delay_ms).await?;
                Response::from_json(&serde_json::json!({"first": !rows.is_empty()}))
            }
            "/state/take" => {
                let b: TakeBody = req.json().await?;
                // One atomic statement: exactly one concurrent caller gets the row.
                let rows: Vec<Row> = sql
                    .exec("DELETE FROM kv WHERE k = ? RETURNING v, exp", vec![SqlStorageValue::from(b.key)])?
                    .to_array()?;
                let value = rows.into_iter().find(|r| r.exp as i64 >= now_secs()).map(|r| r.v);
                Response::from_json(&TakeReply { value })
            }
            "/keyring/ensure" => {
                let storage = self.state.storage();
                if let Some(ring) = storage.get::<String>("ring").await? {
                    return Response::ok(ring);
                }
                let cfg = Config::load(&self.env, "https://localhost");
                let ring = keys::create_ring(&cfg).await.map_err(|e| worker::Error::RustError(e.detail))?;
                storage.put("ring", ring.clone()).await?;
                Response::ok(ring)
            }
            "/keyring/replace" => {
                let b: serde_json::Value = req.json().await?;
                let Some(ring) = b.get("ring").and_then(serde_json::Value::as_str) else {
                    return Response::error("ring missing", 400);
                };
                self.state.storage().put("ring", ring.to_string()).await?;
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            "/keyring/op" => {
                let op: keys::RingOp = req.json().await?;
                let storage = self.state.storage();
                let Some(text) = storage.get::<String>("ring").await? else {
                    return Response::from_json(&serde_json::json!({"error": "internal_error"}));
                };
                let mut ring: keys::KeyRing =
                    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))?;
                let fresh = match op {
                    keys::RingOp::Next if !ring.keys.iter().any(|k| k.status == "next") => {
                        let cfg = Config::load(&self.env, "https://localhost");
                        Some(keys::new_key(&cfg, "next").await.map_err(|e| worker::Error::RustError(e.detail))?)
                    }
                    _ => None,
                };
                match keys::apply(&mut ring, &op, fresh, now_secs()) {
                    Ok(result) => {
                        let text = serde_json::to_string(&ring).map_err(|e| worker::Error::RustError(e.to_string()))?;
                        storage.put("ring", text.clone()).await?;
                        Response::from_json(&serde_json::json!({"ring": text, "result": result}))
                    }
                    Err(code) => Response::from_json(&serde_json::json!({"error": code.as_str()})),
                }
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().sql().exec("DELETE FROM kv WHERE exp <= ?", vec![SqlStorageValue::from(now_secs())])?;
        Response::ok("ok")
    }
}
