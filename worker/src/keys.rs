//! The tool's signing keys. When the `LTI_TOOL_PRIVATE_JWK` secret holds an RSA private JWK
//! (with `kid`), that key is used. Otherwise an RSA-2048 pair is created on first use (inside
//! the key-ring Durable Object, so concurrent first requests cannot create two), its private
//! half encrypted with AES-256-GCM under a key derived from `LTI_ENCRYPTION_KEY`, and the ring
//! is mirrored to KV for fast reads. Each isolate caches the imported signing key.

use std::cell::RefCell;

use lti_core::encoding::{b64url_decode, b64url_encode};
use lti_core::jwk::{JwkSet, RsaPublicJwk};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::Env;

use lti_core::crypto::Rs256Signer;
use lti_core::error::ErrorCode;

use crate::config::{env_string, Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::store;
use lti_webcrypto::{aes_gcm_decrypt, aes_gcm_encrypt, generate_rsa_jwk, random_bytes, WebCryptoSigner};

const RING_KEY: &str = "toolkeys:v1";

/// One key in the ring.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// `current` (signs), `next` (published, not yet signing), `retired` (published until removed).
    pub status: String,
    /// Public modulus (base64url).
    pub n: String,
    /// Public exponent (base64url).
    pub e: String,
    /// AES-GCM IV (base64url).
    pub iv: String,
    /// Encrypted private JWK (base64url).
    pub private_enc: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Retired keys: removed from the key set after this (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<i64>,
}

/// The tool's keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRing {
    /// Keys, newest last.
    pub keys: Vec<StoredKey>,
}

thread_local! {
    static RING: RefCell<Option<(i64, KeyRing)>> = const { RefCell::new(None) };
    static SIGNER: RefCell<Option<WebCryptoSigner>> = const { RefCell::new(None) };
}

fn kek(cfg: &Config) -> ApiResult<[u8; 32]> {
    crate::sealed::key(cfg, crate::sealed::TOOL_KEYS)
}

/// A fresh RSA-2048 key, its private half encrypted (runs inside the key-ring object).
pub async fn new_key(cfg: &Config, status: &str) -> ApiResult<StoredKey> {
    let private = generate_rsa_jwk().await.map_err(|e| ApiError::internal(e.0))?;
    let s = |k: &str| private.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let kid = format!("lti-edge-{}", b64url_encode(&random_bytes::<9>().map_err(|e| ApiError::internal(e.0))?));
    let (iv, ct) = aes_gcm_encrypt(&kek(cfg)?, private.to_string().as_bytes()).await.map_err(|e| ApiError::internal(e.0))?;
    Ok(StoredKey {
        kid,
        status: status.into(),
        n: s("n"),
        e: s("e"),
        iv: b64url_encode(&iv),
        private_enc: b64url_encode(&ct),
        created_at: now(),
        retire_at: None,
    })
}

/// Generate a new ring with one current key (runs inside the key-ring object).
pub async fn create_ring(cfg: &Config) -> ApiResult<String> {
    let ring = KeyRing { keys: vec![new_key(cfg, "current").await?] };
    serde_json::to_string(&ring).map_err(|e| ApiError::internal(e.to_string()))
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// How long isolates trust their cached ring before re-reading it (a rotation reaches every
/// isolate within this, plus KV propagation).
const RING_CACHE_SECS: i64 = 30;

/// A rotation step, applied inside the key-ring object (one writer, so no races).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum RingOp {
    /// Publish a new key that does not sign yet.
    Next,
    /// The next key signs; the current one is retired after `overlap` seconds.
    #[serde(rename_all = "camelCase")]
    Promote { force: bool, overlap: i64, max_age: i64 },
    /// Remove retired keys past their time, or `kid` now (`force`).
    #[serde(rename_all = "camelCase")]
    Retire { kid: Option<String>, force: bool },
}

/// Apply `op` to `ring` (for `Next`, `fresh` is the new key). Returns what changed.
pub fn apply(ring: &mut KeyRing, op: &RingOp, fresh: Option<StoredKey>, now: i64) -> Result<Value, ErrorCode> {
    match op {
        RingOp::Next => {
            if ring.keys.iter().any(|k| k.status == "next") {
                return Err(ErrorCode::KeyNextExists);
            }
            let key = fresh.ok_or(ErrorCode::Internal)?;
            let view = key_view(&key);
            ring.keys.push(key);
            Ok(view)
        }
        RingOp::Promote { force, overlap, max_age } => {
            let Some(created) = ring.keys.iter().find(|k| k.status == "next").map(|k| k.created_at) else {
                return Err(ErrorCode::KeyNoNext);
            };
            if !force && now - created < *max_age {
                return Err(ErrorCode::KeyNextTooNew);
            }
            let mut promoted = Value::Null;
            for k in ring.keys.iter_mut() {
                if k.status == "current" {
                    k.status = "retired".into();
                    k.retire_at = Some(now + overlap);
                } else if k.status == "next" {
                    k.status = "current".into();
                    promoted = key_view(k);
                }
            }
            Ok(promoted)
        }
        RingOp::Retire { kid, force } => {
            if let Some(kid) = kid {
                match ring.keys.iter().find(|k| &k.kid == kid) {
                    None => return Err(ErrorCode::NotFound),
                    Some(k) if k.status != "retired" => return Err(ErrorCode::KeyNotRetired),
                    Some(k) if !force && k.retire_at.is_some_and(|t| t > now) => return Err(ErrorCode::KeyNotRetired),
                    Some(_) => {}
                }
            }
            let mut removed = Vec::new();
            ring.keys.retain(|k| {
                let gone = k.status == "retired"
                    && match kid {
                        Some(kid) => &k.kid == kid,
                        None => k.retire_at.is_none_or(|t| t <= now),
                    };
                if gone {
                    removed.push(k.kid.clone());
                }
                !gone
            });
            Ok(serde_json::json!({ "removed": removed }))
        }
    }
}

/// What the admin API shows of a key (never private material).
pub fn key_view(k: &StoredKey) -> Value {
    let mut v = serde_json::json!({"kid": k.kid, "status": k.status, "createdAt": k.created_at});
    if let (Some(t), Some(o)) = (k.retire_at, v.as_object_mut()) {
        o.insert("retireAt".into(), t.into());
    }
    v
}

/// Run a rotation step in the key-ring object, mirror the new ring to KV and refresh this
/// isolate. Returns the step's result.
pub async fn rotate(env: &Env, op: &RingOp) -> ApiResult<Value> {
    if configured_key(env)?.is_some() {
        return Err(ApiError::new(ErrorCode::RequestInvalid, "LTI_TOOL_PRIVATE_JWK is set: rotate that key by replacing the secret"));
    }
    ring(env).await?; // make sure the ring exists
    let reply = store::key_ring_op(env, op).await?;
    let reply: Value = serde_json::from_str(&reply).map_err(|e| ApiError::internal(format!("key op reply: {e}")))?;
    if let Some(code) = reply.get("error").and_then(Value::as_str) {
        let code = ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code).unwrap_or(ErrorCode::Internal);
        return Err(ApiError::new(code, "key ring refused the step"));
    }
    let ring_text = reply.get("ring").and_then(Value::as_str).ok_or_else(|| ApiError::internal("key op reply without ring"))?;
    env.kv(KV_BINDING)?.put(RING_KEY, ring_text)?.execute().await?;
    let ring: KeyRing = serde_json::from_str(ring_text).map_err(|e| ApiError::internal(format!("key ring: {e}")))?;
    set_ring(ring);
    Ok(reply.get("result").cloned().unwrap_or(Value::Null))
}

/// Whether every key of `ring` decrypts under this deployment's `LTI_ENCRYPTION_KEY`.
pub async fn decrypts(cfg: &Config, ring: &KeyRing) -> bool {
    let Ok(k) = kek(cfg) else { return false };
    for key in &ring.keys {
        let (Some(iv), Some(ct)) = (b64url_decode(&key.iv), b64url_decode(&key.private_enc)) else { return false };
        if aes_gcm_decrypt(&k, &iv, &ct).await.is_err() {
            return false;
        }
    }
    !ring.keys.is_empty()
}

/// Replace the whole ring (restore from a backup), through the key-ring object.
pub async fn replace_ring(env: &Env, ring: &KeyRing) -> ApiResult<()> {
    let text = serde_json::to_string(ring).map_err(|e| ApiError::internal(e.to_string()))?;
    store::key_ring_replace(env, &text).await?;
    env.kv(KV_BINDING)?.put(RING_KEY, text)?.execute().await?;
    set_ring(ring.clone());
    SIGNER.with(|s| *s.borrow_mut() = None);
    Ok(())
}

fn set_ring(ring: KeyRing) {
    let current = ring.keys.iter().find(|k| k.status == "current").map(|k| k.kid.clone());
    RING.with(|r| *r.borrow_mut() = Some((now(), ring)));
    // Drop the imported signer when the current key changed.
    SIGNER.with(|s| {
        let stale = s.borrow().as_ref().is_some_and(|sg| Some(sg.kid().to_string()) != current);
        if stale {
            *s.borrow_mut() = None;
        }
    });
}

/// An operator-supplied private JWK (`LTI_TOOL_PRIVATE_JWK`): (kid, jwk).
fn configured_key(env: &Env) -> ApiResult<Option<(String, Value)>> {
    let Some(text) = env_string(env, "LTI_TOOL_PRIVATE_JWK") else { return Ok(None) };
    let jwk: Value = serde_json::from_str(&text).map_err(|_| ApiError::internal("LTI_TOOL_PRIVATE_JWK is not JSON"))?;
    let field = |k: &str| jwk.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    match (field("kty"), field("kid"), field("n"), field("e"), field("d")) {
        (Some("RSA"), Some(kid), Some(_), Some(_), Some(_)) => Ok(Some((kid.to_string(), jwk.clone()))),
        _ => Err(ApiError::internal("LTI_TOOL_PRIVATE_JWK must be an RSA private JWK with kid, n, e, d")),
    }
}

/// The ring: isolate memory, then KV, then the key-ring object (which creates it once).
pub async fn ring(env: &Env) -> ApiResult<KeyRing> {
    let t = now();
    if let Some((at, r)) = RING.with(|r| r.borrow().clone()) {
        if t - at < RING_CACHE_SECS {
            return Ok(r);
        }
    }
    if let Some((kid, jwk)) = configured_key(env)? {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let ring = KeyRing {
            keys: vec![StoredKey { kid, status: "current".into(), n: s("n"), e: s("e"), iv: String::new(), private_enc: String::new(), created_at: 0, retire_at: None }],
        };
        RING.with(|r| *r.borrow_mut() = Some((i64::MAX / 2, ring.clone())));
        return Ok(ring);
    }
    let kv = env.kv(KV_BINDING)?;
    let text = match kv.get(RING_KEY).text().await? {
        Some(t) => t,
        None => {
            let t = store::ensure_key_ring(env).await?;
            kv.put(RING_KEY, t.clone())?.execute().await?;
            t
        }
    };
    let ring: KeyRing = serde_json::from_str(&text).map_err(|e| ApiError::internal(format!("key ring: {e}")))?;
    set_ring(ring.clone());
    Ok(ring)
}

/// Public keys to publish: current, next, and retired keys until their retire time.
pub async fn public_keys(env: &Env) -> ApiResult<JwkSet> {
    let ring = ring(env).await?;
    let t = now();
    let keys = ring
        .keys
        .iter()
        .filter(|k| k.status != "retired" || k.retire_at.is_some_and(|r| r > t))
        .filter_map(|k| RsaPublicJwk::from_components(&k.kid, &b64url_decode(&k.n)?, &b64url_decode(&k.e)?).ok())
        .collect();
    Ok(JwkSet::from_keys(keys))
}

/// The current signing key, imported once per isolate.
pub async fn signer(env: &Env, cfg: &Config) -> ApiResult<WebCryptoSigner> {
    if let Some((kid, jwk)) = configured_key(env)? {
        if let Some(s) = SIGNER.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        let signer = WebCryptoSigner::import(&kid, &jwk).await.map_err(|e| ApiError::internal(format!("LTI_TOOL_PRIVATE_JWK: {}", e.0)))?;
        SIGNER.with(|s| *s.borrow_mut() = Some(signer.clone()));
        return Ok(signer);
    }
    let ring = ring(env).await?; // refreshes the ring (and drops a stale signer) every 30 s
    if let Some(s) = SIGNER.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let current = ring.keys.iter().find(|k| k.status == "current").ok_or_else(|| ApiError::internal("no current key"))?;
    let iv = b64url_decode(&current.iv).ok_or_else(|| ApiError::internal("iv"))?;
    let ct = b64url_decode(&current.private_enc).ok_or_else(|| ApiError::internal("ciphertext"))?;
    let plain = aes_gcm_decrypt(&kek(cfg)?, &iv, &ct)
        .await
        .map_err(|e| ApiError::internal(format!("cannot decrypt tool key (LTI_ENCRYPTION_KEY changed?): {}", e.0)))?;
    let jwk: Value = serde_json::from_slice(&plain).map_err(|e| ApiError::internal(e.to_string()))?;
    let signer = WebCryptoSigner::import(&current.kid, &jwk).await.map_err(|e| ApiError::internal(e.0))?;
    SIGNER.with(|s| *s.borrow_mut() = Some(signer.clone()));
    Ok(signer)
}
