//! JSON Web Keys (RFC 7517). RS256 keys: parsing platform key sets leniently where platforms are
//! known to publish odd encodings (padded or standard-alphabet `n`, leading zero bytes), and
//! strictly where it matters (key type, use, algorithm, size). ES256 (P-256) keys: the tool's
//! own session keys, published beside its RSA keys; never accepted from a platform.

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

/// A P-256 public key for ES256 (the tool's session keys): affine coordinates, 32 bytes each.
#[derive(Clone, PartialEq, Eq)]
pub struct EcPublicJwk {
    kid: String,
    x: [u8; 32],
    y: [u8; 32],
}

impl std::fmt::Debug for EcPublicJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcPublicJwk").field("kid", &self.kid).field("crv", &"P-256").finish()
    }
}

impl EcPublicJwk {
    /// From raw coordinates (exactly 32 bytes each; whether the point is on the curve is checked
    /// by the crypto provider when it imports the key).
    pub fn from_components(kid: impl Into<String>, x: &[u8], y: &[u8]) -> Result<Self, SignatureError> {
        let x: [u8; 32] = x.try_into().map_err(|_| SignatureError::KeyUnusable("P-256 x is not 32 bytes"))?;
        let y: [u8; 32] = y.try_into().map_err(|_| SignatureError::KeyUnusable("P-256 y is not 32 bytes"))?;
        Ok(Self { kid: kid.into(), x, y })
    }

    /// Parse one JWK object: `kty` EC, `crv` P-256, `use` sig and `alg` ES256 when present.
    pub fn from_jwk(v: &Value) -> Result<Self, SignatureError> {
        let obj = v.as_object().ok_or(SignatureError::KeyUnusable("JWK not an object"))?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str);
        if s("kty") != Some("EC") || s("crv") != Some("P-256") {
            return Err(SignatureError::KeyUnusable("not an EC P-256 key"));
        }
        if s("use").is_some_and(|u| u != "sig") || s("alg").is_some_and(|a| a != "ES256") {
            return Err(SignatureError::KeyUnusable("use/alg is not sig/ES256"));
        }
        let x = s("x").and_then(b64_lenient_decode).ok_or(SignatureError::KeyUnusable("x missing or not base64"))?;
        let y = s("y").and_then(b64_lenient_decode).ok_or(SignatureError::KeyUnusable("y missing or not base64"))?;
        Self::from_components(s("kid").unwrap_or_default(), &x, &y)
    }

    /// Key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Affine x coordinate, big-endian.
    pub fn x(&self) -> &[u8; 32] {
        &self.x
    }

    /// Affine y coordinate, big-endian.
    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// Canonical public JWK (what we publish, and what WebCrypto `importKey("jwk")` accepts).
    pub fn to_jwk(&self) -> Value {
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(&self.x),
            "y": b64url_encode(&self.y),
            "kid": self.kid,
            "use": "sig",
            "alg": "ES256",
        })
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

/// A key set. A platform's set ([`JwkSet::parse`]) holds RSA keys only: keys that cannot be used
/// for RS256 are skipped (and counted), so one odd key does not break the set. The tool's own
/// set also holds its ES256 session keys ([`JwkSet::with_ec`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<RsaPublicJwk>,
    ec: Vec<EcPublicJwk>,
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
        Self { keys, ec: Vec::new(), skipped: 0 }
    }

    /// Add ES256 keys (the tool's session keys).
    #[must_use]
    pub fn with_ec(mut self, ec: Vec<EcPublicJwk>) -> Self {
        self.ec = ec;
        self
    }

    /// Look an ES256 key up by `kid` (exact match only).
    pub fn find_ec(&self, kid: &str) -> Option<&EcPublicJwk> {
        self.ec.iter().find(|k| k.kid == kid)
    }

    /// ES256 keys.
    pub fn ec_keys(&self) -> &[EcPublicJwk] {
        &self.ec
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
        let keys: Vec<Value> =
            self.keys.iter().map(RsaPublicJwk::to_jwk).chain(self.ec.iter().map(EcPublicJwk::to_jwk)).collect();
        serde_json::json!({ "keys": keys })
    }
}
