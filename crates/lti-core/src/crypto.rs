//! The crypto provider boundary. The core never does RSA itself: the worker passes a WebCrypto
//! implementation (native BoringSSL inside workerd, tens of µs per operation), tests and tools
//! pass [`crate::native`] (`jsonwebtoken` + `rsa`). One set of vectors runs on both.
//!
//! The traits are `async` because WebCrypto is promise-based; the core still does no I/O.
//!
//! Two algorithms, each where it belongs: RS256 for everything a platform verifies or signs
//! (LTI 1.3 requires it), ES256 for the tool's own session tokens (a P-256 signature costs a
//! few tens of µs where an RSA-2048 signature costs about a millisecond of CPU).

use crate::jwk::{EcPublicJwk, RsaPublicJwk};

/// A crypto provider failure (detail for logs only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("crypto: {0}")]
pub struct CryptoError(pub String);

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) verification.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait Rs256Verifier {
    /// `Ok(true)` iff `signature` is a valid RS256 signature of `message` under `key`.
    async fn verify(&self, key: &RsaPublicJwk, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError>;
}

/// RS256 signing with the tool's current private key.
#[allow(async_fn_in_trait)]
pub trait Rs256Signer {
    /// The `kid` published for this key in the tool JWKS.
    fn kid(&self) -> &str;
    /// Sign `message`.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// A JWS algorithm the tool signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256; signature is `r || s`, 64 bytes (RFC 7518 §3.4).
    Es256,
}

impl JwsAlg {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// A signer for the tool's own tokens (sessions), RS256 or ES256.
#[allow(async_fn_in_trait)]
pub trait JwsSigner {
    /// The algorithm this key signs with.
    fn alg(&self) -> JwsAlg;
    /// The `kid` published for this key in the tool JWKS.
    fn kid(&self) -> &str;
    /// Sign `message` (ES256: the 64-byte `r || s` form).
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// Every RS256 signer signs JWS as RS256.
impl<T: Rs256Signer> JwsSigner for T {
    fn alg(&self) -> JwsAlg {
        JwsAlg::Rs256
    }

    fn kid(&self) -> &str {
        Rs256Signer::kid(self)
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Rs256Signer::sign(self, message).await
    }
}

/// ES256 verification.
#[allow(async_fn_in_trait)]
pub trait Es256Verifier {
    /// `Ok(true)` iff `signature` (64 bytes, `r || s`) is a valid ES256 signature of `message`.
    async fn verify_es256(&self, key: &EcPublicJwk, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError>;
}
