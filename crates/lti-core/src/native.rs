//! Native crypto provider (feature `native`): `jsonwebtoken` (ring) verifies RS256 and ES256 and
//! signs ES256, `rsa` generates RSA keys and signs RS256. For tests and tools; the worker uses
//! WebCrypto through the same traits.

use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::Sha256;

use crate::crypto::{CryptoError, Es256Verifier, JwsAlg, JwsSigner, Rs256Signer, Rs256Verifier};
use crate::encoding::{b64_lenient_decode, b64url_decode, b64url_encode};
use crate::jwk::{EcPublicJwk, RsaPublicJwk};

/// Verifies with `jsonwebtoken` (ring).
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeVerifier;

impl Rs256Verifier for NativeVerifier {
    async fn verify(&self, key: &RsaPublicJwk, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        let dk = jsonwebtoken::DecodingKey::from_rsa_raw_components(key.n(), key.e());
        jsonwebtoken::crypto::verify(&b64url_encode(signature), message, &dk, jsonwebtoken::Algorithm::RS256)
            .map_err(|e| CryptoError(e.to_string()))
    }
}

impl Es256Verifier for NativeVerifier {
    async fn verify_es256(&self, key: &EcPublicJwk, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        let dk = jsonwebtoken::DecodingKey::from_ec_components(&b64url_encode(key.x()), &b64url_encode(key.y()))
            .map_err(|e| CryptoError(e.to_string()))?;
        jsonwebtoken::crypto::verify(&b64url_encode(signature), message, &dk, jsonwebtoken::Algorithm::ES256)
            .map_err(|e| CryptoError(e.to_string()))
    }
}

/// A P-256 private key that signs ES256 with `jsonwebtoken` (ring).
pub struct NativeEcSigner {
    kid: String,
    key: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for NativeEcSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeEcSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl NativeEcSigner {
    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) holding a P-256 key.
    pub fn from_pkcs8_pem(kid: &str, pem: &str) -> Result<Self, CryptoError> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = b64_lenient_decode(&body).ok_or_else(|| CryptoError("PEM body is not base64".into()))?;
        let key = jsonwebtoken::EncodingKey::from_ec_der(&der);
        let signer = Self { kid: kid.to_string(), key };
        // ring parses the key when it signs: fail here, not on first use.
        jsonwebtoken::crypto::sign(b"probe", &signer.key, jsonwebtoken::Algorithm::ES256)
            .map_err(|e| CryptoError(e.to_string()))?;
        Ok(signer)
    }
}

impl JwsSigner for NativeEcSigner {
    fn alg(&self) -> JwsAlg {
        JwsAlg::Es256
    }

    fn kid(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig = jsonwebtoken::crypto::sign(message, &self.key, jsonwebtoken::Algorithm::ES256)
            .map_err(|e| CryptoError(e.to_string()))?;
        b64url_decode(&sig).ok_or_else(|| CryptoError("signature encoding".into()))
    }
}

/// An RSA private key that signs RS256 with the `rsa` crate.
pub struct NativeSigner {
    kid: String,
    key: SigningKey<Sha256>,
    public: RsaPublicJwk,
}

impl std::fmt::Debug for NativeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl NativeSigner {
    /// Generate a fresh RSA-2048 key.
    pub fn generate(kid: &str) -> Result<Self, CryptoError> {
        let mut rng = rand::thread_rng();
        let private = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| CryptoError(e.to_string()))?;
        Self::from_private(kid, private)
    }

    /// From an existing private key.
    pub fn from_private(kid: &str, private: RsaPrivateKey) -> Result<Self, CryptoError> {
        let public = RsaPublicJwk::from_components(kid, &private.n().to_bytes_be(), &private.e().to_bytes_be())
            .map_err(|e| CryptoError(e.to_string()))?;
        Ok(Self { kid: kid.to_string(), key: SigningKey::<Sha256>::new(private), public })
    }

    /// From a PKCS#8 PEM.
    pub fn from_pkcs8_pem(kid: &str, pem: &str) -> Result<Self, CryptoError> {
        use rsa::pkcs8::DecodePrivateKey;
        let private = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| CryptoError(e.to_string()))?;
        Self::from_private(kid, private)
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> &RsaPublicJwk {
        &self.public
    }
}

impl Rs256Signer for NativeSigner {
    fn kid(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig: Signature = self.key.try_sign(message).map_err(|e| CryptoError(e.to_string()))?;
        Ok(sig.to_vec())
    }
}
