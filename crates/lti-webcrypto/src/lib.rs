//! # lti-webcrypto: the WebCrypto provider for `lti-core`
//!
//! The core's crypto traits implemented with the runtime's WebCrypto (`globalThis.crypto.subtle`,
//! native BoringSSL inside workerd: tens of µs per RS256 verify, where the pure-Rust `rsa` crate
//! compiled to wasm takes about a millisecond). ES256 (P-256) signing and verification for the
//! tool's session tokens. Also RSA-2048 and P-256 key generation, AES-256-GCM for keys at rest,
//! and random bytes. Imported `CryptoKey`s are cached per isolate, and so are `crypto`,
//! `crypto.subtle` and the algorithm parameter objects (WebCrypto reads a parameter object on
//! each call and keeps nothing of it, so one object serves every call): a launch's verify and
//! sign then cross into JavaScript only for the operation itself.
//!
//! Works wherever `globalThis.crypto` exists (workerd, browsers, Node ≥ 19); the check worker
//! in `crates/lti-webcrypto-check` runs the core's RS256 vectors through it inside workerd.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Object, Reflect, Uint8Array};
use lti_core::crypto::{CryptoError, Es256Verifier, JwsAlg, JwsSigner, Rs256Signer, Rs256Verifier};
use lti_core::jwk::{EcPublicJwk, RsaPublicJwk};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

const RSA: &str = "RSASSA-PKCS1-v1_5";
const ECDSA: &str = "ECDSA";
const MAX_CACHED_KEYS: usize = 256;

thread_local! {
    static VERIFY_KEYS: RefCell<HashMap<Vec<u8>, CryptoKey>> = RefCell::new(HashMap::new());
    /// `globalThis.crypto` and `crypto.subtle`, looked up on first use.
    static CRYPTO: RefCell<Option<(Crypto, SubtleCrypto)>> = const { RefCell::new(None) };
    /// The parameter objects of [`Alg`], built on first use.
    static PARAMS: RefCell<HashMap<Alg, Object>> = RefCell::new(HashMap::new());
}

/// The algorithm parameter objects the hot paths pass.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Alg {
    /// `{name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"}`.
    Rsa,
    /// `{name: "ECDSA", namedCurve: "P-256"}`.
    EcImport,
    /// `{name: "ECDSA", hash: "SHA-256"}`.
    EcSign,
}

impl Alg {
    fn build(self) -> Object {
        match self {
            Alg::Rsa => obj(&[("name", RSA.into()), ("hash", "SHA-256".into())]),
            Alg::EcImport => obj(&[("name", ECDSA.into()), ("namedCurve", "P-256".into())]),
            Alg::EcSign => obj(&[("name", ECDSA.into()), ("hash", "SHA-256".into())]),
        }
    }

    /// This isolate's parameter object.
    fn params(self) -> Object {
        PARAMS.with(|m| m.borrow_mut().entry(self).or_insert_with(|| self.build()).clone())
    }
}

fn js_err(e: JsValue) -> CryptoError {
    CryptoError(
        e.as_string()
            .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
            .unwrap_or_else(|| "js error".into()),
    )
}

fn crypto_and_subtle() -> Result<(Crypto, SubtleCrypto), CryptoError> {
    if let Some(pair) = CRYPTO.with(|c| c.borrow().clone()) {
        return Ok(pair);
    }
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(js_err)?
        .dyn_into::<Crypto>()
        .map_err(|_| CryptoError("globalThis.crypto missing".into()))?;
    let pair = (crypto.clone(), crypto.subtle());
    CRYPTO.with(|c| *c.borrow_mut() = Some(pair.clone()));
    Ok(pair)
}

fn crypto() -> Result<Crypto, CryptoError> {
    Ok(crypto_and_subtle()?.0)
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    Ok(crypto_and_subtle()?.1)
}

/// Cryptographically secure random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    crypto()?.get_random_values_with_u8_array(&mut b).map_err(js_err)?;
    Ok(b)
}

async fn call(p: Result<js_sys::Promise, JsValue>) -> Result<JsValue, CryptoError> {
    JsFuture::from(p.map_err(js_err)?).await.map_err(js_err)
}

fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn rsa_params() -> Object {
    Alg::Rsa.params()
}

fn ec_import_params() -> Object {
    Alg::EcImport.params()
}

fn ec_sign_params() -> Object {
    Alg::EcSign.params()
}

fn usages(u: &[&str]) -> JsValue {
    u.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into()
}

fn bytes(b: &[u8]) -> Object {
    Uint8Array::from(b).into()
}

fn json_object(v: &serde_json::Value) -> Result<Object, CryptoError> {
    js_sys::JSON::parse(&v.to_string()).map_err(js_err)?.dyn_into::<Object>().map_err(|_| CryptoError("jwk".into()))
}

/// RS256 verification through WebCrypto.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebCryptoVerifier;

/// A public key imported for verification, cached per isolate by its key material (`jwk` is
/// built only when the key is not cached yet).
async fn verify_key(
    cache_key: Vec<u8>,
    jwk: impl FnOnce() -> serde_json::Value,
    params: &Object,
) -> Result<CryptoKey, CryptoError> {
    if let Some(k) = VERIFY_KEYS.with(|c| c.borrow().get(&cache_key).cloned()) {
        return Ok(k);
    }
    let jwk = json_object(&jwk())?;
    let k: CryptoKey = call(subtle()?.import_key_with_object("jwk", &jwk, params, false, &usages(&["verify"])))
        .await?
        .dyn_into()
        .map_err(|_| CryptoError("importKey".into()))?;
    VERIFY_KEYS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED_KEYS {
            c.clear();
        }
        c.insert(cache_key, k.clone());
    });
    Ok(k)
}

impl Rs256Verifier for WebCryptoVerifier {
    async fn verify(&self, key: &RsaPublicJwk, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        let cache_key = [b"rsa:", key.n(), b":", key.e()].concat();
        let k = verify_key(cache_key, || key.to_jwk(), &rsa_params()).await?;
        let ok = call(subtle()?.verify_with_str_and_buffer_source_and_buffer_source(
            RSA,
            &k,
            &bytes(signature),
            &bytes(message),
        ))
        .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }
}

impl Es256Verifier for WebCryptoVerifier {
    async fn verify_es256(&self, key: &EcPublicJwk, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        let cache_key = [&b"ec:"[..], key.x(), key.y()].concat();
        let k = verify_key(cache_key, || key.to_jwk(), &ec_import_params()).await?;
        let ok = call(subtle()?.verify_with_object_and_buffer_source_and_buffer_source(
            &ec_sign_params(),
            &k,
            &bytes(signature),
            &bytes(message),
        ))
        .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }
}

/// The tool's current private key, imported for signing.
#[derive(Clone)]
pub struct WebCryptoSigner {
    kid: String,
    key: CryptoKey,
}

impl WebCryptoSigner {
    /// Import a private JWK (as produced by [`generate_rsa_jwk`]).
    pub async fn import(kid: &str, private_jwk: &serde_json::Value) -> Result<Self, CryptoError> {
        let jwk = json_object(private_jwk)?;
        let key: CryptoKey =
            call(subtle()?.import_key_with_object("jwk", &jwk, &rsa_params(), false, &usages(&["sign"])))
                .await?
                .dyn_into()
                .map_err(|_| CryptoError("importKey".into()))?;
        Ok(Self { kid: kid.to_string(), key })
    }
}

impl Rs256Signer for WebCryptoSigner {
    fn kid(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig = call(subtle()?.sign_with_str_and_buffer_source(RSA, &self.key, &bytes(message))).await?;
        Ok(Uint8Array::new(&sig).to_vec())
    }
}

/// The tool's current session key (P-256), imported for ES256 signing.
#[derive(Clone)]
pub struct WebCryptoEcSigner {
    kid: String,
    key: CryptoKey,
}

impl WebCryptoEcSigner {
    /// Import a private P-256 JWK (as produced by [`generate_ec_jwk`]).
    pub async fn import(kid: &str, private_jwk: &serde_json::Value) -> Result<Self, CryptoError> {
        let jwk = json_object(private_jwk)?;
        let key: CryptoKey =
            call(subtle()?.import_key_with_object("jwk", &jwk, &ec_import_params(), false, &usages(&["sign"])))
                .await?
                .dyn_into()
                .map_err(|_| CryptoError("importKey".into()))?;
        Ok(Self { kid: kid.to_string(), key })
    }
}

impl JwsSigner for WebCryptoEcSigner {
    fn alg(&self) -> JwsAlg {
        JwsAlg::Es256
    }

    fn kid(&self) -> &str {
        &self.kid
    }

    /// WebCrypto's ECDSA signature is already the IEEE P1363 `r || s` form JWS uses.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig =
            call(subtle()?.sign_with_object_and_buffer_source(&ec_sign_params(), &self.key, &bytes(message))).await?;
        Ok(Uint8Array::new(&sig).to_vec())
    }
}

/// Generate a P-256 key pair; returns the private JWK (which contains `x` and `y`).
pub async fn generate_ec_jwk() -> Result<serde_json::Value, CryptoError> {
    let pair =
        call(subtle()?.generate_key_with_object(&ec_import_params(), true, &usages(&["sign", "verify"]))).await?;
    export_private(&pair).await
}

async fn export_private(pair: &JsValue) -> Result<serde_json::Value, CryptoError> {
    let private: CryptoKey = Reflect::get(pair, &"privateKey".into())
        .map_err(js_err)?
        .dyn_into()
        .map_err(|_| CryptoError("keypair".into()))?;
    let jwk = call(subtle()?.export_key("jwk", &private)).await?;
    let text = js_sys::JSON::stringify(&jwk).map_err(js_err)?.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| CryptoError(e.to_string()))
}

/// Generate an RSA-2048 key pair; returns the private JWK (which contains `n` and `e`).
pub async fn generate_rsa_jwk() -> Result<serde_json::Value, CryptoError> {
    let params = obj(&[
        ("name", RSA.into()),
        ("modulusLength", JsValue::from_f64(2048.0)),
        ("publicExponent", Uint8Array::from(&[1u8, 0, 1][..]).into()),
        ("hash", "SHA-256".into()),
    ]);
    let pair = call(subtle()?.generate_key_with_object(&params, true, &usages(&["sign", "verify"]))).await?;
    export_private(&pair).await
}

async fn aes_key(raw: &[u8; 32], usage: &str) -> Result<CryptoKey, CryptoError> {
    call(subtle()?.import_key_with_str("raw", &bytes(raw), "AES-GCM", false, &usages(&[usage])))
        .await?
        .dyn_into()
        .map_err(|_| CryptoError("aes importKey".into()))
}

/// AES-256-GCM encrypt; returns (iv, ciphertext).
pub async fn aes_gcm_encrypt(raw_key: &[u8; 32], plaintext: &[u8]) -> Result<([u8; 12], Vec<u8>), CryptoError> {
    let iv = random_bytes::<12>()?;
    let k = aes_key(raw_key, "encrypt").await?;
    let alg = obj(&[("name", "AES-GCM".into()), ("iv", Uint8Array::from(&iv[..]).into())]);
    let ct = call(subtle()?.encrypt_with_object_and_buffer_source(&alg, &k, &bytes(plaintext))).await?;
    Ok((iv, Uint8Array::new(&ct).to_vec()))
}

/// AES-256-GCM decrypt (fails on any tampering or wrong key).
pub async fn aes_gcm_decrypt(raw_key: &[u8; 32], iv: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let k = aes_key(raw_key, "decrypt").await?;
    let alg = obj(&[("name", "AES-GCM".into()), ("iv", Uint8Array::from(iv).into())]);
    let pt = call(subtle()?.decrypt_with_object_and_buffer_source(&alg, &k, &bytes(ciphertext))).await?;
    Ok(Uint8Array::new(&pt).to_vec())
}
