//! The tool's signing keys. When the `LTI_TOOL_PRIVATE_JWK` secret holds an RSA private JWK
//! (with `kid`), that key signs everything, sessions included (RS256). Otherwise each key in
//! the ring is a pair created together (inside the key-ring Durable Object, so concurrent
//! first requests cannot create two: the ring is one document in the Durable Object, written by
//! compare-and-swap): an RSA-2048 key for what platforms verify (RS256 client
//! assertions and deep-linking responses) and a P-256 session key (ES256 session tokens: about
//! a millisecond less CPU per launch than RSA). Private halves are encrypted with AES-256-GCM
//! under a key derived from `LTI_ENCRYPTION_KEY`; the ring is mirrored to KV for fast reads,
//! both keys rotate together, and each isolate caches the imported signing keys. A ring made
//! before session keys existed signs sessions with its RSA key until its next rotation.

use std::cell::RefCell;

use lti_core::encoding::{b64url_decode, b64url_encode};
use lti_core::jwk::{EcPublicJwk, JwkSet, RsaPublicJwk};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::Env;

use lti_core::crypto::{CryptoError, JwsAlg, JwsSigner, Rs256Signer};
use lti_policy::ErrorCode;

use super::durable::{self, DocBody};
use crate::clock::now;
use crate::config::{env_string, Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use lti_webcrypto::{
    aes_gcm_decrypt, aes_gcm_encrypt, generate_ec_jwk, generate_rsa_jwk, random_bytes, WebCryptoEcSigner,
    WebCryptoSigner,
};

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
    /// The ES256 session key created with this key (absent in rings made before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionKey>,
}

/// A P-256 session-signing key, paired with an RSA key of the ring (same status and lifetime).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionKey {
    /// Key id (its own: published beside the RSA key's).
    pub kid: String,
    /// Public x coordinate (base64url).
    pub x: String,
    /// Public y coordinate (base64url).
    pub y: String,
    /// AES-GCM IV (base64url).
    pub iv: String,
    /// Encrypted private JWK (base64url).
    pub private_enc: String,
}

impl SessionKey {
    fn public(&self) -> Option<EcPublicJwk> {
        EcPublicJwk::from_components(self.kid.clone(), &b64url_decode(&self.x)?, &b64url_decode(&self.y)?).ok()
    }
}

/// The tool's keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRing {
    /// Keys, newest last.
    pub keys: Vec<StoredKey>,
}

impl KeyRing {
    /// The key that signs now.
    pub fn current(&self) -> Option<&StoredKey> {
        self.keys.iter().find(|k| k.status == "current")
    }
}

thread_local! {
    static RING: RefCell<Option<(i64, KeyRing)>> = const { RefCell::new(None) };
    static SIGNER: RefCell<Option<WebCryptoSigner>> = const { RefCell::new(None) };
    static SESSION_SIGNER: RefCell<Option<SessionSigner>> = const { RefCell::new(None) };
}

fn kek(cfg: &Config) -> ApiResult<[u8; 32]> {
    crate::sealed::key(cfg, crate::sealed::TOOL_KEYS)
}

fn new_kid(prefix: &str) -> ApiResult<String> {
    Ok(format!("{prefix}{}", b64url_encode(&random_bytes::<9>().map_err(|e| ApiError::internal(e.0))?)))
}

/// A fresh RSA-2048 key and its P-256 session key, private halves encrypted.
pub async fn new_key(cfg: &Config, status: &str) -> ApiResult<StoredKey> {
    let kek = kek(cfg)?;
    let private = generate_rsa_jwk().await.map_err(|e| ApiError::internal(e.0))?;
    let s = |k: &str| private.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (iv, ct) = aes_gcm_encrypt(&kek, private.to_string().as_bytes()).await.map_err(|e| ApiError::internal(e.0))?;
    let ec = generate_ec_jwk().await.map_err(|e| ApiError::internal(e.0))?;
    let c = |k: &str| ec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (ec_iv, ec_ct) = aes_gcm_encrypt(&kek, ec.to_string().as_bytes()).await.map_err(|e| ApiError::internal(e.0))?;
    let session = SessionKey {
        kid: new_kid("lti-edge-s-")?,
        x: c("x"),
        y: c("y"),
        iv: b64url_encode(&ec_iv),
        private_enc: b64url_encode(&ec_ct),
    };
    Ok(StoredKey {
        kid: new_kid("lti-edge-")?,
        status: status.into(),
        n: s("n"),
        e: s("e"),
        iv: b64url_encode(&iv),
        private_enc: b64url_encode(&ct),
        created_at: now(),
        retire_at: None,
        session: Some(session),
    })
}

/// Generate a new ring with one current key.
async fn create_ring(cfg: &Config) -> ApiResult<String> {
    let ring = KeyRing { keys: vec![new_key(cfg, "current").await?] };
    serde_json::to_string(&ring).map_err(|e| ApiError::internal(e.to_string()))
}

/// How long isolates trust their cached ring before re-reading it (a rotation reaches every
/// isolate within this, plus KV propagation).
const RING_CACHE_SECS: i64 = 30;

/// A rotation step (applied to the ring read from the object and written back by
/// compare-and-swap, so concurrent steps cannot lose each other).
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
    if let Some(o) = v.as_object_mut() {
        if let Some(t) = k.retire_at {
            o.insert("retireAt".into(), t.into());
        }
        if let Some(s) = &k.session {
            o.insert("sessionKid".into(), s.kid.clone().into());
        }
    }
    v
}

/// Run a rotation step in the key-ring object, mirror the new ring to KV and refresh this
/// isolate. Returns the step's result.
pub async fn rotate(env: &Env, cfg: &Config, op: &RingOp) -> ApiResult<Value> {
    if configured_key(env)?.is_some() {
        return Err(ApiError::new(
            ErrorCode::RequestInvalid,
            "LTI_TOOL_PRIVATE_JWK is set: rotate that key by replacing the secret",
        ));
    }
    let mut text = ensure_ring(env, cfg).await?;
    // Read, apply, compare-and-swap; a concurrent step in between makes us start again.
    for _ in 0..5 {
        let mut ring: KeyRing =
            serde_json::from_str(&text).map_err(|e| ApiError::internal(format!("key ring: {e}")))?;
        let fresh = match op {
            RingOp::Next if !ring.keys.iter().any(|k| k.status == "next") => Some(new_key(cfg, "next").await?),
            _ => None,
        };
        let result =
            apply(&mut ring, op, fresh, now()).map_err(|code| ApiError::new(code, "key ring refused the step"))?;
        let next = serde_json::to_string(&ring).map_err(|e| ApiError::internal(e.to_string()))?;
        let reply = durable::doc(env, OBJECT, "/doc/cas", &doc_body(Some(text), Some(next.clone()))).await?;
        if reply.ok {
            env.kv(KV_BINDING)?.put(RING_KEY, next)?.execute().await?;
            set_ring(ring);
            return Ok(result);
        }
        text = reply.value.ok_or_else(|| ApiError::internal("key ring vanished"))?;
    }
    Err(ApiError::internal("key ring kept changing during the step"))
}

/// The Durable Object holding the ring document.
const OBJECT: &str = "tool-key-ring";
/// The ring's key in that object.
const DOC: &str = "ring";

fn doc_body(expect: Option<String>, value: Option<String>) -> DocBody {
    DocBody { key: DOC.into(), expect, value }
}

/// The ring document as stored in the object, created on first use (two isolates racing to
/// create it both generate a ring; compare-and-swap keeps exactly one, and both use it).
async fn ensure_ring(env: &Env, cfg: &Config) -> ApiResult<String> {
    if let Some(text) = durable::doc(env, OBJECT, "/doc/get", &doc_body(None, None)).await?.value {
        return Ok(text);
    }
    let created = create_ring(cfg).await?;
    let reply = durable::doc(env, OBJECT, "/doc/cas", &doc_body(None, Some(created))).await?;
    reply.value.ok_or_else(|| ApiError::internal("key ring not stored"))
}

/// Whether every key of `ring` decrypts under this deployment's `LTI_ENCRYPTION_KEY`.
pub async fn decrypts(cfg: &Config, ring: &KeyRing) -> bool {
    let Ok(k) = kek(cfg) else { return false };
    for (iv, ct) in ring.keys.iter().flat_map(|key| {
        std::iter::once((&key.iv, &key.private_enc)).chain(key.session.as_ref().map(|s| (&s.iv, &s.private_enc)))
    }) {
        let (Some(iv), Some(ct)) = (b64url_decode(iv), b64url_decode(ct)) else { return false };
        if aes_gcm_decrypt(&k, &iv, &ct).await.is_err() {
            return false;
        }
    }
    !ring.keys.is_empty()
}

/// Replace the whole ring (restore from a backup), through the key-ring object.
pub async fn replace_ring(env: &Env, ring: &KeyRing) -> ApiResult<()> {
    let text = serde_json::to_string(ring).map_err(|e| ApiError::internal(e.to_string()))?;
    durable::doc(env, OBJECT, "/doc/put", &doc_body(None, Some(text.clone()))).await?;
    env.kv(KV_BINDING)?.put(RING_KEY, text)?.execute().await?;
    set_ring(ring.clone());
    SIGNER.with(|s| *s.borrow_mut() = None);
    SESSION_SIGNER.with(|s| *s.borrow_mut() = None);
    Ok(())
}

fn set_ring(ring: KeyRing) {
    let current = ring.current().map(|k| k.kid.clone());
    RING.with(|r| *r.borrow_mut() = Some((now(), ring)));
    // Drop the imported signers when the current key changed.
    SIGNER.with(|s| {
        let stale = s.borrow().as_ref().is_some_and(|sg| Some(Rs256Signer::kid(sg)) != current.as_deref());
        if stale {
            *s.borrow_mut() = None;
        }
    });
    SESSION_SIGNER.with(|s| {
        let stale = s.borrow().as_ref().is_some_and(|sg| Some(sg.ring_kid.as_str()) != current.as_deref());
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

/// Whether this isolate's copy of the ring is recent enough to use as it is.
fn ring_is_fresh(t: i64) -> bool {
    RING.with(|r| r.borrow().as_ref().is_some_and(|(at, _)| t - at < RING_CACHE_SECS))
}

/// The ring: isolate memory, then KV, then the key-ring object (which creates it once).
pub async fn ring(env: &Env) -> ApiResult<KeyRing> {
    let t = now();
    if ring_is_fresh(t) {
        if let Some((_, r)) = RING.with(|r| r.borrow().clone()) {
            return Ok(r);
        }
    }
    if let Some((kid, jwk)) = configured_key(env)? {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let ring = KeyRing {
            keys: vec![StoredKey {
                kid,
                status: "current".into(),
                n: s("n"),
                e: s("e"),
                iv: String::new(),
                private_enc: String::new(),
                created_at: 0,
                retire_at: None,
                session: None,
            }],
        };
        RING.with(|r| *r.borrow_mut() = Some((i64::MAX / 2, ring.clone())));
        return Ok(ring);
    }
    let kv = env.kv(KV_BINDING)?;
    let text = match kv.get(RING_KEY).text().await? {
        Some(t) => t,
        None => {
            let t = ensure_ring(env, &Config::load(env, "https://localhost")).await?;
            kv.put(RING_KEY, t.clone())?.execute().await?;
            t
        }
    };
    let ring: KeyRing = serde_json::from_str(&text).map_err(|e| ApiError::internal(format!("key ring: {e}")))?;
    set_ring(ring.clone());
    Ok(ring)
}

/// Public keys to publish: current, next, and retired keys until their retire time — the RSA
/// keys (RS256), then the session keys (ES256).
pub async fn public_keys(env: &Env) -> ApiResult<JwkSet> {
    let ring = ring(env).await?;
    let t = now();
    let published: Vec<&StoredKey> =
        ring.keys.iter().filter(|k| k.status != "retired" || k.retire_at.is_some_and(|r| r > t)).collect();
    let rsa = published
        .iter()
        .filter_map(|k| RsaPublicJwk::from_components(&k.kid, &b64url_decode(&k.n)?, &b64url_decode(&k.e)?).ok())
        .collect();
    let ec = published.iter().filter_map(|k| k.session.as_ref()?.public()).collect();
    Ok(JwkSet::from_keys(rsa).with_ec(ec))
}

/// What signs session tokens: the current key's ES256 session key, or its RSA key (an
/// operator-supplied key, or a ring made before session keys).
#[derive(Clone)]
pub struct SessionSigner {
    /// `kid` of the ring entry it belongs to (to notice a promotion).
    ring_kid: String,
    key: SessionKeyKind,
}

#[derive(Clone)]
enum SessionKeyKind {
    Es(WebCryptoEcSigner),
    Rs(WebCryptoSigner),
}

impl JwsSigner for SessionSigner {
    fn alg(&self) -> JwsAlg {
        match &self.key {
            SessionKeyKind::Es(_) => JwsAlg::Es256,
            SessionKeyKind::Rs(_) => JwsAlg::Rs256,
        }
    }

    fn kid(&self) -> &str {
        match &self.key {
            SessionKeyKind::Es(k) => JwsSigner::kid(k),
            SessionKeyKind::Rs(k) => Rs256Signer::kid(k),
        }
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.key {
            SessionKeyKind::Es(k) => JwsSigner::sign(k, message).await,
            SessionKeyKind::Rs(k) => Rs256Signer::sign(k, message).await,
        }
    }
}

/// The current session signer, imported once per isolate.
pub async fn session_signer(env: &Env, cfg: &Config) -> ApiResult<SessionSigner> {
    // While the ring is fresh, the signer imported from it stands (no copy of the ring).
    if ring_is_fresh(now()) {
        if let Some(s) = SESSION_SIGNER.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
    }
    let ring = ring(env).await?; // refreshes the ring (and drops a stale signer) every 30 s
    if let Some(s) = SESSION_SIGNER.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let current = ring.current().ok_or_else(|| ApiError::internal("no current key"))?;
    let key = match &current.session {
        Some(session) => {
            let jwk = decrypt_jwk(cfg, &session.iv, &session.private_enc).await?;
            SessionKeyKind::Es(
                WebCryptoEcSigner::import(&session.kid, &jwk).await.map_err(|e| ApiError::internal(e.0))?,
            )
        }
        None => SessionKeyKind::Rs(signer(env, cfg).await?),
    };
    let signer = SessionSigner { ring_kid: current.kid.clone(), key };
    SESSION_SIGNER.with(|s| *s.borrow_mut() = Some(signer.clone()));
    Ok(signer)
}

async fn decrypt_jwk(cfg: &Config, iv: &str, private_enc: &str) -> ApiResult<Value> {
    let iv = b64url_decode(iv).ok_or_else(|| ApiError::internal("iv"))?;
    let ct = b64url_decode(private_enc).ok_or_else(|| ApiError::internal("ciphertext"))?;
    let plain = aes_gcm_decrypt(&kek(cfg)?, &iv, &ct)
        .await
        .map_err(|e| ApiError::internal(format!("cannot decrypt tool key (LTI_ENCRYPTION_KEY changed?): {}", e.0)))?;
    serde_json::from_slice(&plain).map_err(|e| ApiError::internal(e.to_string()))
}

/// The current signing key, imported once per isolate.
pub async fn signer(env: &Env, cfg: &Config) -> ApiResult<WebCryptoSigner> {
    if let Some((kid, jwk)) = configured_key(env)? {
        if let Some(s) = SIGNER.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        let signer = WebCryptoSigner::import(&kid, &jwk)
            .await
            .map_err(|e| ApiError::internal(format!("LTI_TOOL_PRIVATE_JWK: {}", e.0)))?;
        SIGNER.with(|s| *s.borrow_mut() = Some(signer.clone()));
        return Ok(signer);
    }
    let ring = ring(env).await?; // refreshes the ring (and drops a stale signer) every 30 s
    if let Some(s) = SIGNER.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let current = ring.current().ok_or_else(|| ApiError::internal("no current key"))?;
    let jwk = decrypt_jwk(cfg, &current.iv, &current.private_enc).await?;
    let signer = WebCryptoSigner::import(&current.kid, &jwk).await.map_err(|e| ApiError::internal(e.0))?;
    SIGNER.with(|s| *s.borrow_mut() = Some(signer.clone()));
    Ok(signer)
}
