//! Runs `lti-core`'s RS256 test vectors through the WebCrypto provider and through the
//! pure-Rust `rsa` crate *inside workerd*, and its ES256 vectors (the tool's session keys)
//! through WebCrypto, and times them:
//!
//! * `GET /vectors` — every vector on both providers, with the expected and actual result, plus
//!   ES256: the vectors, and a WebCrypto-generated P-256 key signing a session that WebCrypto
//!   verifies (and refuses once tampered);
//! * `GET /bench?verify=N&rust=M&sign=K` — µs per RS256 verify (WebCrypto, key cached),
//!   per verify in pure-Rust wasm, per WebCrypto sign (RS256 and ES256), and per JWK import; `&dl=N&dl_rust=M`
//!   times a whole Deep Linking response (items checked, claims built, RS256-signed) through
//!   WebCrypto and through pure-Rust `rsa` in wasm, as responses per second.
//!
//! The native provider runs the same vectors in `crates/lti-policy/tests/launch.rs`.

#![forbid(unsafe_code)]

use lti_core::crypto::{CryptoError, Es256Verifier, JwsSigner, Rs256Signer, Rs256Verifier};
use lti_core::encoding::b64url_decode;
use lti_core::jwk::{EcPublicJwk, RsaPublicJwk};
use lti_webcrypto::{generate_ec_jwk, generate_rsa_jwk, WebCryptoEcSigner, WebCryptoSigner, WebCryptoVerifier};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;
use worker::{event, Context, Env, Request, Response, Result};

const VECTORS: &str = include_str!("../../lti-core/fixtures/rs256_vectors.json");
const ES256_VECTORS: &str = include_str!("../../lti-core/fixtures/es256_vectors.json");

/// The ES256 vectors through WebCrypto, then a fresh P-256 key: sign, verify, tamper.
async fn run_es256() -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut all = true;
    let doc: Value = serde_json::from_str(ES256_VECTORS).unwrap_or_default();
    let key = doc.get("jwk").and_then(|j| EcPublicJwk::from_jwk(j).ok());
    let vectors = doc.get("vectors").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, v) in vectors.iter().enumerate() {
        let field = |k: &str| v.get(k).and_then(Value::as_str).and_then(b64url_decode);
        let (Some(key), Some(message), Some(sig), Some(valid)) =
            (&key, field("message"), field("signature"), v.get("valid").and_then(Value::as_bool))
        else {
            all = false;
            continue;
        };
        let got = WebCryptoVerifier.verify_es256(key, &message, &sig).await.unwrap_or(false);
        all &= got == valid;
        out.push(json!({"name": format!("es256-{i}"), "expected": valid, "got": got}));
    }
    let round_trip = async {
        let jwk = generate_ec_jwk().await.ok()?;
        let signer = WebCryptoEcSigner::import("check", &jwk).await.ok()?;
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).and_then(b64url_decode);
        let public = EcPublicJwk::from_components("check", &s("x")?, &s("y")?).ok()?;
        let sig = JwsSigner::sign(&signer, b"header.payload").await.ok()?;
        let good = WebCryptoVerifier.verify_es256(&public, b"header.payload", &sig).await.ok()?;
        let bad = WebCryptoVerifier.verify_es256(&public, b"header.payloaD", &sig).await.ok()?;
        Some(sig.len() == 64 && good && !bad)
    };
    let rt = round_trip.await.unwrap_or(false);
    all &= rt;
    out.push(json!({"name": "es256-generate-sign-verify", "expected": true, "got": rt}));
    let nonempty = out.len() > 1;
    (out, all && nonempty)
}

/// RS256 with the pure-Rust `rsa` crate (what a worker would pay without WebCrypto).
struct PureRust;

impl Rs256Verifier for PureRust {
    async fn verify(
        &self,
        key: &RsaPublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> std::result::Result<bool, CryptoError> {
        let pk = RsaPublicKey::new(BigUint::from_bytes_be(key.n()), BigUint::from_bytes_be(key.e()))
            .map_err(|e| CryptoError(e.to_string()))?;
        let Ok(sig) = Signature::try_from(signature) else { return Ok(false) };
        Ok(VerifyingKey::<Sha256>::new(pk).verify(message, &sig).is_ok())
    }
}

struct Vector {
    name: String,
    key: RsaPublicJwk,
    message: Vec<u8>,
    signature: Vec<u8>,
    valid: bool,
}

fn vectors() -> Vec<Vector> {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap_or_default();
    all.iter()
        .filter_map(|v| {
            Some(Vector {
                name: v.get("name")?.as_str()?.to_string(),
                key: RsaPublicJwk::from_jwk(v.get("jwk")?).ok()?,
                message: v.get("message")?.as_str()?.as_bytes().to_vec(),
                signature: b64url_decode(v.get("signature")?.as_str()?)?,
                valid: v.get("valid")?.as_bool()?,
            })
        })
        .collect()
}

async fn run_vectors<V: Rs256Verifier>(p: &V) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut all = true;
    for v in vectors() {
        let got = p.verify(&v.key, &v.message, &v.signature).await.unwrap_or(false);
        all &= got == v.valid;
        out.push(json!({"name": v.name, "expected": v.valid, "got": got}));
    }
    let nonempty = !out.is_empty();
    (out, all && nonempty)
}

fn param(url: &str, name: &str, default: u32, max: u32) -> u32 {
    url.split_once('?')
        .map(|(_, q)| lti_core::encoding::form_decode(q))
        .and_then(|q| q.into_iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok()))
        .unwrap_or(default)
        .min(max)
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

async fn time_verify<V: Rs256Verifier>(p: &V, v: &Vector, n: u32) -> f64 {
    let _ = p.verify(&v.key, &v.message, &v.signature).await; // warm (imports the key)
    let t0 = now_ms();
    for _ in 0..n {
        let _ = p.verify(&v.key, &v.message, &v.signature).await;
    }
    (now_ms() - t0) * 1000.0 / f64::from(n.max(1))
}

/// RS256 signing in pure-Rust `rsa` compiled to wasm (the path WebCrypto replaces).
struct PureRustSigner(rsa::pkcs1v15::SigningKey<Sha256>);

impl PureRustSigner {
    fn from_jwk(jwk: &Value) -> Option<Self> {
        let big =
            |k: &str| jwk.get(k).and_then(Value::as_str).and_then(b64url_decode).map(|b| BigUint::from_bytes_be(&b));
        let key =
            rsa::RsaPrivateKey::from_components(big("n")?, big("e")?, big("d")?, vec![big("p")?, big("q")?]).ok()?;
        Some(Self(rsa::pkcs1v15::SigningKey::<Sha256>::new(key)))
    }
}

impl Rs256Signer for PureRustSigner {
    fn kid(&self) -> &str {
        "bench-rust"
    }

    async fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, CryptoError> {
        use rsa::signature::{SignatureEncoding, Signer};
        Ok(self.0.sign(message).to_vec())
    }
}

/// µs per Deep Linking response: three content items validated, claims built, signed.
async fn time_deep_link<S: Rs256Signer>(signer: &S, n: u32) -> f64 {
    use lti_core::deep_linking::{ContentItemInput, ContentItems, DeepLinkSettings};
    let Some(settings) = DeepLinkSettings::from_claim(&json!({
        "deep_link_return_url": "https://lms.example/deep-link-return",
        "accept_types": ["ltiResourceLink", "link"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "accept_multiple": true,
        "data": "opaque-platform-data"
    })) else {
        return f64::NAN;
    };
    let inputs: Vec<ContentItemInput> = (0..3)
        .filter_map(|i| {
            serde_json::from_value(json!({"type": "ltiResourceLink", "title": format!("Video {i}"), "entryId": format!("1_entry{i}"),
                "thumbnailUrl": "https://cdn.example/t.jpg", "duration": 120, "width": 640, "height": 360, "lineItem": {"scoreMaximum": 10}}))
            .ok()
        })
        .collect();
    let t0 = now_ms();
    for i in 0..n {
        let Ok(items) = ContentItems::validate(&inputs, &settings, "https://tool.example/lti/launch", false) else {
            return f64::NAN;
        };
        let claims = items.response_claims(
            &settings,
            "client-1",
            "https://lms.example",
            "dep-1",
            &format!("nonce-{i}"),
            1_800_000_000,
        );
        if lti_core::jws::sign_rs256(signer, "JWT", &claims).await.is_err() {
            return f64::NAN;
        }
    }
    (now_ms() - t0) * 1000.0 / f64::from(n.max(1))
}

#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let url = req.inner().url();
    match req.path().as_str() {
        "/vectors" => {
            let (web, web_ok) = run_vectors(&WebCryptoVerifier).await;
            let (rust, rust_ok) = run_vectors(&PureRust).await;
            let (es, es_ok) = run_es256().await;
            Response::from_json(
                &json!({"webcrypto": web, "pure_rust": rust, "es256_webcrypto": es, "all_pass": web_ok && rust_ok && es_ok}),
            )
        }
        "/bench" => {
            let vs = vectors();
            let Some(v) = vs.iter().find(|v| v.name == "valid") else { return Response::error("no valid vector", 500) };
            let n_web = param(&url, "verify", 2000, 100_000);
            let n_rust = param(&url, "rust", 100, 5_000);
            let n_sign = param(&url, "sign", 500, 20_000);
            let web_us = time_verify(&WebCryptoVerifier, v, n_web).await;
            let rust_us = time_verify(&PureRust, v, n_rust).await;
            let jwk = generate_rsa_jwk().await.map_err(|e| worker::Error::RustError(e.0))?;
            let signer = WebCryptoSigner::import("bench", &jwk).await.map_err(|e| worker::Error::RustError(e.0))?;
            let t0 = now_ms();
            for _ in 0..n_sign {
                let _ = Rs256Signer::sign(&signer, b"header.payload").await;
            }
            let sign_us = (now_ms() - t0) * 1000.0 / f64::from(n_sign.max(1));
            let ec_jwk = generate_ec_jwk().await.map_err(|e| worker::Error::RustError(e.0))?;
            let ec_signer =
                WebCryptoEcSigner::import("bench-ec", &ec_jwk).await.map_err(|e| worker::Error::RustError(e.0))?;
            let t0 = now_ms();
            for _ in 0..n_sign {
                let _ = JwsSigner::sign(&ec_signer, b"header.payload").await;
            }
            let es256_sign_us = (now_ms() - t0) * 1000.0 / f64::from(n_sign.max(1));
            let t0 = now_ms();
            let n_import = 200u32;
            for _ in 0..n_import {
                let _ = WebCryptoSigner::import("bench", &jwk).await;
            }
            let import_us = (now_ms() - t0) * 1000.0 / f64::from(n_import);
            let n_dl = param(&url, "dl", 300, 20_000);
            let n_dl_rust = param(&url, "dl_rust", 10, 1_000);
            let dl_web_us = time_deep_link(&signer, n_dl).await;
            let rust_signer = PureRustSigner::from_jwk(&jwk).ok_or_else(|| worker::Error::RustError("jwk".into()))?;
            let dl_rust_us = time_deep_link(&rust_signer, n_dl_rust).await;
            Response::from_json(&json!({
                "deep_link_webcrypto_us": dl_web_us, "deep_link_webcrypto_per_s": 1e6 / dl_web_us.max(1e-9), "deep_link_webcrypto_n": n_dl,
                "deep_link_pure_rust_us": dl_rust_us, "deep_link_pure_rust_per_s": 1e6 / dl_rust_us.max(1e-9), "deep_link_pure_rust_n": n_dl_rust,
                "webcrypto_verify_us": web_us, "webcrypto_verify_n": n_web,
                "pure_rust_verify_us": rust_us, "pure_rust_verify_n": n_rust,
                "webcrypto_sign_us": sign_us, "webcrypto_sign_n": n_sign,
                "webcrypto_es256_sign_us": es256_sign_us,
                "webcrypto_private_jwk_import_us": import_us,
            }))
        }
        _ => Response::error("GET /vectors or /bench", 404),
    }
}
