//! Registrations in KV: `reg:<id>` holds one registration, `regidx:<issuer>` the ids of an
//! issuer's registrations (login looks them up by issuer, then picks by client id).
//!
//! Reads are cached in isolate memory for [`CACHE_MS`] and invalidated by this isolate's own
//! writes, so a launch costs no registration read from KV. Another isolate sees an admin change
//! within that window (KV itself takes up to a minute to propagate between locations).

use std::cell::RefCell;
use std::collections::HashMap;

use lti_core::encoding::hex;
use sha2::{Digest, Sha256};
use lti_core::registration::Registration;
use worker::Env;

use crate::config::KV_BINDING;
use crate::error::{ApiError, ApiResult};

/// How long an isolate trusts a cached registration or index entry.
pub const CACHE_MS: f64 = 30_000.0;

thread_local! {
    static REGS: RefCell<HashMap<String, (f64, Option<Registration>)>> = RefCell::new(HashMap::new());
    static INDEX: RefCell<HashMap<String, (f64, Vec<String>)>> = RefCell::new(HashMap::new());
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
            m.clear();
        }
        m.insert(key.to_string(), (now_ms(), v));
    });
}

fn forget(id: &str, issuer: &str) {
    REGS.with(|m| m.borrow_mut().remove(id));
    INDEX.with(|m| m.borrow_mut().remove(issuer));
}

fn reg_key(id: &str) -> String {
    format!("reg:{id}")
}

/// Hashed, so any valid issuer (≤ 500 characters) fits KV's 512-byte key limit.
fn consumer_key_index(key: &str) -> String {
    format!("regkey:{}", hex(&Sha256::digest(key.as_bytes())))
}

fn idx_key(issuer: &str) -> String {
    format!("regidx:{}", hex(&Sha256::digest(issuer.as_bytes())))
}

/// Registration store.
pub struct Registry<'a> {
    env: &'a Env,
}

impl<'a> Registry<'a> {
    /// Over the KV binding.
    pub fn new(env: &'a Env) -> Self {
        Self { env }
    }

    /// By id.
    pub async fn get(&self, id: &str) -> ApiResult<Option<Registration>> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        if let Some(hit) = cached(&REGS, id) {
            return Ok(hit);
        }
        let text = self.env.kv(KV_BINDING)?.get(&reg_key(id)).text().await?;
        let reg: Option<Registration> = text.and_then(|t| serde_json::from_str(&t).ok());
        remember(&REGS, id, reg.clone());
        Ok(reg)
    }

    async fn ids_for(&self, issuer: &str) -> ApiResult<Vec<String>> {
        if let Some(hit) = cached(&INDEX, issuer) {
            return Ok(hit);
        }
        let text = self.env.kv(KV_BINDING)?.get(&idx_key(issuer)).text().await?;
        let ids: Vec<String> = text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        remember(&INDEX, issuer, ids.clone());
        Ok(ids)
    }

    /// Every registration of an issuer.
    pub async fn by_issuer(&self, issuer: &str) -> ApiResult<Vec<Registration>> {
        let mut out = Vec::new();
        for id in self.ids_for(issuer).await? {
            if let Some(r) = self.get(&id).await? {
                if r.issuer == issuer {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// Insert or replace.
    /// The registration with this LTI 1.1 consumer key.
    pub async fn by_consumer_key(&self, key: &str) -> ApiResult<Option<Registration>> {
        if key.is_empty() || key.len() > 255 {
            return Ok(None);
        }
        let Some(id) = self.env.kv(KV_BINDING)?.get(&consumer_key_index(key)).text().await? else { return Ok(None) };
        Ok(self.get(&id).await?.filter(|r| r.lti11_consumer_key == key))
    }

    pub async fn save(&self, reg: &Registration) -> ApiResult<()> {
        let previous = self.get(&reg.id).await?;
        forget(&reg.id, &reg.issuer);
        let kv = self.env.kv(KV_BINDING)?;
        if let Some(old) = previous.as_ref().filter(|o| !o.lti11_consumer_key.is_empty() && o.lti11_consumer_key != reg.lti11_consumer_key) {
            kv.delete(&consumer_key_index(&old.lti11_consumer_key)).await?;
        }
        if !reg.lti11_consumer_key.is_empty() {
            kv.put(&consumer_key_index(&reg.lti11_consumer_key), reg.id.clone())?.execute().await?;
        }
        let text = serde_json::to_string(reg).map_err(|e| ApiError::internal(e.to_string()))?;
        kv.put(&reg_key(&reg.id), text)?.execute().await?;
        let mut ids = self.ids_for(&reg.issuer).await?;
        if !ids.contains(&reg.id) {
            ids.push(reg.id.clone());
            let idx = serde_json::to_string(&ids).map_err(|e| ApiError::internal(e.to_string()))?;
            kv.put(&idx_key(&reg.issuer), idx)?.execute().await?;
        }
        forget(&reg.id, &reg.issuer);
        Ok(())
    }

    /// Remove; returns whether it existed.
    pub async fn delete(&self, id: &str) -> ApiResult<bool> {
        let Some(reg) = self.get(id).await? else { return Ok(false) };
        forget(id, &reg.issuer);
        let kv = self.env.kv(KV_BINDING)?;
        let ids: Vec<String> = self.ids_for(&reg.issuer).await?.into_iter().filter(|x| x != id).collect();
        let idx = serde_json::to_string(&ids).map_err(|e| ApiError::internal(e.to_string()))?;
        kv.put(&idx_key(&reg.issuer), idx)?.execute().await?;
        kv.delete(&reg_key(id)).await?;
        if !reg.lti11_consumer_key.is_empty() {
            kv.delete(&consumer_key_index(&reg.lti11_consumer_key)).await?;
        }
        forget(id, &reg.issuer);
        Ok(true)
    }

    /// All registrations (paged through KV list).
    pub async fn list(&self) -> ApiResult<Vec<Registration>> {
        let kv = self.env.kv(KV_BINDING)?;
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let mut q = kv.list().prefix("reg:".into()).limit(1000);
            if let Some(c) = cursor.take() {
                q = q.cursor(c);
            }
            let page = q.execute().await?;
            for k in &page.keys {
                if let Some(id) = k.name.strip_prefix("reg:") {
                    if let Some(r) = self.get(id).await? {
                        out.push(r);
                    }
                }
            }
            if page.list_complete {
                break;
            }
            cursor = page.cursor;
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}
