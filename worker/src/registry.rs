//! Registrations in KV: `reg:<id>` holds one registration, `regidx:<issuer>` the ids of an
//! issuer's registrations (login looks them up by issuer, then picks by client id).

use lti_core::encoding::hex;
use sha2::{Digest, Sha256};
use lti_core::registration::Registration;
use worker::Env;

use crate::config::KV_BINDING;
use crate::error::{ApiError, ApiResult};

fn reg_key(id: &str) -> String {
    format!("reg:{id}")
}

/// Hashed, so any valid issuer (≤ 500 characters) fits KV's 512-byte key limit.
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
        let text = self.env.kv(KV_BINDING)?.get(&reg_key(id)).text().await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    async fn ids_for(&self, issuer: &str) -> ApiResult<Vec<String>> {
        let text = self.env.kv(KV_BINDING)?.get(&idx_key(issuer)).text().await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
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
    pub async fn save(&self, reg: &Registration) -> ApiResult<()> {
        let kv = self.env.kv(KV_BINDING)?;
        let text = serde_json::to_string(reg).map_err(|e| ApiError::internal(e.to_string()))?;
        kv.put(&reg_key(&reg.id), text)?.execute().await?;
        let mut ids = self.ids_for(&reg.issuer).await?;
        if !ids.contains(&reg.id) {
            ids.push(reg.id.clone());
            let idx = serde_json::to_string(&ids).map_err(|e| ApiError::internal(e.to_string()))?;
            kv.put(&idx_key(&reg.issuer), idx)?.execute().await?;
        }
        Ok(())
    }

    /// Remove; returns whether it existed.
    pub async fn delete(&self, id: &str) -> ApiResult<bool> {
        let Some(reg) = self.get(id).await? else { return Ok(false) };
        let kv = self.env.kv(KV_BINDING)?;
        let ids: Vec<String> = self.ids_for(&reg.issuer).await?.into_iter().filter(|x| x != id).collect();
        let idx = serde_json::to_string(&ids).map_err(|e| ApiError::internal(e.to_string()))?;
        kv.put(&idx_key(&reg.issuer), idx)?.execute().await?;
        kv.delete(&reg_key(id)).await?;
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
