//! JSON Web Keys (RFC 7517) for RS256: parsing platform key sets leniently where platforms are
//! known to publish odd encodings (padded or standard-alphabet `n`, leading zero bytes), and
//! strictly where it matters (key type, use, algorithm, size).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::encoding::{b64_lenient_decode, b64url_encode};
use crate::error::SignatureError;

/// Smallest RSA modulus we accept from a platform.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest (keeps verification cost bounded).
pub const MAX_RSA_BITS: usize = 8192;
/// Max keys considered from one set.
pub const MAX_KEYS: usize = 64;

/// An RSA public key ready for RS256 verification, in canonical form: big-endian modulus and
/// exponent without leading zeros.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicJwk {
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for RsaPublicJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaPublicJwk").field("kid", &self.kid).field("bits", &(self.n.len() * 8)).finish()
    }
}

impl RsaPublicJwk {
    /// From raw components (canonicalises leading zeros, checks size).
    pub fn from_components(kid: impl Into<String>, n: &[u8], e: &[u8]) -> Result<Self, SignatureError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n.len() * 8;
        if !(MIN_RSA_BITS - 8..=MAX_RSA_BITS).contains(&bits) {
            return Err(SignatureError::KeyUnusable("RSA modulus size outside 2048..8192 bits"));
        }
        if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b & 1 == 0) {
            return Err(SignatureError::KeyUnusable("RSA exponent invalid"));
        }
        Ok(Self { kid: kid.into(), n: n.to_vec(), e: e.to_vec() })
    }

    /// Parse one JWK object. Refuses non-RSA keys, `use` other than `sig`, `alg` other than RS256.
    pub fn from_jwk(v: &Value) -> Result<Self, SignatureError> {
        let obj = v.as_object().ok_or(SignatureError::KeyUnusable("JWK not an object"))?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str);
        if s("kty") != Some("RSA") {
            return Err(SignatureError::KeyUnusable("kty is not RSA"));
        }
        if let Some(u) = s("use") {
            if u != "sig" {
                return Err(SignatureError::KeyUnusable("use is not sig"));
            }
        }
        if let Some(a) = s("alg") {
            if a != "RS256" {
                return Err(SignatureError::KeyUnusable("alg is not RS256"));
            }
        }
        let kid = s("kid").unwrap_or_default();
        let n = s("n").and_then(b64_lenient_decode).ok_or(SignatureError::KeyUnusable("n missing or not base64"))?;
        let e = s("e").and_then(b64_lenient_decode).ok_or(SignatureError::KeyUnusable("e missing or not base64"))?;
        Self::from_components(kid, &n, &e)
    }

    /// Key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Modulus, big-endian, no leading zeros.
    pub fn n(&self) -> &[u8] {
        &self.n
    }

    /// Public exponent, big-endian, no leading zeros.
    pub fn e(&self) -> &[u8] {
        &self.e
    }

    /// Canonical public JWK (what we publish, and what WebCrypto `importKey("jwk")` accepts).
    pub fn to_jwk(&self) -> Value {
        serde_json::json!({
            "kty": "RSA",
            "n": b64url_encode(&self.n),
            "e": b64url_encode(&self.e),
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
        })
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

/// A platform's key set. Keys that cannot be used are skipped (and counted), so one odd key
/// does not break the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<RsaPublicJwk>,
    skipped: usize,
}

/// Serialised form of a key set (`{"keys": [...]}`).
#[derive(Debug, Serialize, Deserialize)]
pub struct JwkSetDoc {
    /// The keys.
    pub keys: Vec<Value>,
}

impl JwkSet {
    /// Parse `{"keys": [...]}`. `None` if the document is not a key set at all.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let doc: JwkSetDoc = serde_json::from_slice(bytes).ok()?;
        let mut set = Self::default();
        for k in doc.keys.iter().take(MAX_KEYS) {
            match RsaPublicJwk::from_jwk(k) {
                Ok(key) if !key.kid.is_empty() => set.keys.push(key),
                _ => set.skipped += 1,
            }
        }
        Some(set)
    }

    /// From already-canonical keys.
    pub fn from_keys(keys: Vec<RsaPublicJwk>) -> Self {
        Self { keys, skipped: 0 }
    }

    /// Look a key up by `kid` (exact match only).
    pub fn find(&self, kid: &str) -> Option<&RsaPublicJwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Usable keys.
    pub fn keys(&self) -> &[RsaPublicJwk] {
        &self.keys
    }

    /// How many entries were unusable.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Canonical JSON document.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(RsaPublicJwk::to_jwk).collect::<Vec<_>>() })
    }
}
