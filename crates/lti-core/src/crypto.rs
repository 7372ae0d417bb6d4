//! The crypto provider boundary. The core never does RSA itself: the worker passes a WebCrypto
//! implementation (native BoringSSL inside workerd, tens of µs per operation), tests and tools
//! pass [`crate::native`] (`jsonwebtoken` + `rsa`). One set of vectors runs on both.
//!
//! The traits are `async` because WebCrypto is promise-based; the core still does no I/O.

use crate::jwk::RsaPublicJwk;

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
