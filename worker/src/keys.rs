//! The tool's signing keys. When the `LTI_TOOL_PRIVATE_JWK` secret holds an RSA private JWK
//! (with `kid`), that key is used. Otherwise an RSA-2048 pair is created on first use (inside
//! the key-ring Durable Object, so concurrent first requests cannot create two), its private
//! half encrypted with AES-256-GCM under a key derived from `LTI_ENCRYPTION_KEY`, and the ring
//! is mirrored to KV for fast reads. Each isolate caches the imported signing key.

use std::cell::RefCell;

use lti_core::encoding::{b64url_decode, b64url_encode};
use lti_core::jwk::{JwkSet, RsaPublicJwk};
use lti_core::state::derive_key;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::Env;

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
}

/// The tool's keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRing {
    /// Keys, newest last.
    pub keys: Vec<StoredKey>,
}

thread_local! {
    static RING: RefCell<Option<KeyRing>> = const { RefCell::new(None) };
    static SIGNER: RefCell<Option<WebCryptoSigner>> = const { RefCell::new(None) };
}

fn kek(cfg: &Config) -> ApiResult<[u8; 32]> {
    let secret = cfg.encryption_key.as_deref().ok_or_else(|| ApiError::internal("no encryption key"))?;
    Ok(derive_key(secret, b"lti-edge/key-encryption/v1"))
}

/// Generate a new ring with one current key (runs inside the key-ring object).
pub async fn create_ring(cfg: &Config) -> ApiResult<String> {
    let private = generate_rsa_jwk().await.map_err(|e| ApiError::internal(e.0))?;
    let s = |k: &str| private.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let kid = format!("lti-edge-{}", b64url_encode(&random_bytes::<9>().map_err(|e| ApiError::internal(e.0))?));
    let (iv, ct) = aes_gcm_encrypt(&kek(cfg)?, private.to_string().as_bytes()).await.map_err(|e| ApiError::internal(e.0))?;
    let ring = KeyRing {
        keys: vec![StoredKey {
            kid,
            status: "current".into(),
            n: s("n"),
            e: s("e"),
            iv: b64url_encode(&iv),
            private_enc: b64url_encode(&ct),
            created_at: (js_sys::Date::now() / 1000.0) as i64,
        }],
    };
    serde_json::to_string(&ring).map_err(|e| ApiError::internal(e.to_string()))
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
    if let Some(r) = RING.with(|r| r.borrow().clone()) {
        return Ok(r);
    }
    if let Some((kid, jwk)) = configured_key(env)? {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let ring = KeyRing {
            keys: vec![StoredKey { kid, status: "current".into(), n: s("n"), e: s("e"), iv: String::new(), private_enc: String::new(), created_at: 0 }],
        };
        RING.with(|r| *r.borrow_mut() = Some(ring.clone()));
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
    RING.with(|r| *r.borrow_mut() = Some(ring.clone()));
    Ok(ring)
}

/// Public keys to publish (every non-removed key), as a key set.
pub async fn public_keys(env: &Env) -> ApiResult<JwkSet> {
    let ring = ring(env).await?;
    let keys = ring
        .keys
        .iter()
        .filter_map(|k| RsaPublicJwk::from_components(&k.kid, &b64url_decode(&k.n)?, &b64url_decode(&k.e)?).ok())
        .collect();
    Ok(JwkSet::from_keys(keys))
}

/// The current signing key, imported once per isolate.
pub async fn signer(env: &Env, cfg: &Config) -> ApiResult<WebCryptoSigner> {
    if let Some(s) = SIGNER.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if let Some((kid, jwk)) = configured_key(env)? {
        let signer = WebCryptoSigner::import(&kid, &jwk).await.map_err(|e| ApiError::internal(format!("LTI_TOOL_PRIVATE_JWK: {}", e.0)))?;
        SIGNER.with(|s| *s.borrow_mut() = Some(signer.clone()));
        return Ok(signer);
    }
    let ring = ring(env).await?;
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
