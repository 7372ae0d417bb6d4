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

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::JsValue;
use worker::kv::KvError;
use worker::Env;

use super::durable::{self, PutBody, TakeBody, TakeReply};
use crate::config::{Config, StoreKind, KV_BINDING};
use crate::error::ApiResult;

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

/// The KV namespace binding itself (one property read; `Env::kv` reads five methods off it).
fn kv_namespace(env: &Env) -> ApiResult<JsValue> {
    let ns = js_sys::Reflect::get(env, &JsValue::from_str(KV_BINDING))
        .map_err(|e| worker::Error::from(KvError::JavaScript(e)))?;
    if ns.is_undefined() {
        return Err(worker::Error::from(KvError::InvalidKvStore(KV_BINDING.into())).into());
    }
    Ok(ns)
}

/// Where state records go.
pub struct StateStore<'a> {
    env: &'a Env,
    ctx: &'a worker::Context,
    kind: StoreKind,
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
                durable::call(self.env, key, "/state/put", &PutBody { key: key.into(), value, exp }).await?;
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
                let ns = kv_namespace(self.env)?;
                // KV's shortest TTL is 60 s; the mark must outlive the state.
                let ttl = u64::try_from((exp - now).max(60)).unwrap_or(600);
                // One promise: the read, then, when the mark is absent, its write handed to
                // `waitUntil` as it is (no Rust task for it).
                crate::js::kv_claim(&ns, self.ctx, key, ttl).await.map_err(|e| KvError::JavaScript(e).into())
            }
            StoreKind::Durable => {
                let mut resp = durable::call(
                    self.env,
                    key,
                    "/state/claim",
                    &PutBody { key: key.into(), value: "used".into(), exp },
                )
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
                let mut resp = durable::call(self.env, key, "/state/take", &TakeBody { key: key.into() }).await?;
                let reply: TakeReply = resp.json().await?;
                Ok(reply.value)
            }
        }
    }
}
