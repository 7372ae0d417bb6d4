//! Compact JWS (RFC 7515) parsing and building. Parsing never trusts the header: the algorithm
//! is pinned by the caller (RS256 for anything from a platform; RS256 or ES256 for the tool's
//! own sessions) and a `kid` is required before any key is looked up.

use serde_json::{Map, Value};

use crate::crypto::{CryptoError, JwsAlg, JwsSigner, Rs256Signer};
use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::TokenError;

/// Upper bound on a token we are willing to parse (real id_tokens are 1–4 KB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The only algorithm accepted from platforms.
pub const ALG_RS256: &str = "RS256";

/// A parsed compact JWS whose signature has not been checked.
#[derive(Debug, Clone)]
pub struct CompactJws {
    signing_input: String,
    alg: JwsAlg,
    kid: String,
    typ: Option<String>,
    payload: Map<String, Value>,
    signature: Vec<u8>,
}

impl CompactJws {
    /// Parse `header.payload.signature`, pin `alg` to RS256 and require a `kid`.
    ///
    /// Steps (RFC 7515 §5.2, with LTI 1.3 security framework §5.1.3 restrictions):
    /// 1. exactly three base64url segments, total size bounded;
    /// 2. header is a JSON object; `alg` is exactly `RS256` (`none`, `HS*` and every other
    ///    algorithm refused); no `crit` extensions we do not understand;
    /// 3. header names a `kid` (we never guess a key);
    /// 4. payload is a JSON object; signature decodes.
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        Self::parse_allowing(token, &[JwsAlg::Rs256])
    }

    /// [`CompactJws::parse`] with the algorithm pinned to one of `allowed` instead of RS256 only
    /// (the tool's own session tokens: ES256, or RS256 from an operator-supplied RSA key).
    pub fn parse_allowing(token: &str, allowed: &[JwsAlg]) -> Result<Self, TokenError> {
        // 1.
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("token too large"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed("not three segments"));
        };
        let header_bytes = b64url_decode(h).ok_or(TokenError::Malformed("header not base64url"))?;
        // 2.
        let header = strict_object(&header_bytes).ok_or(TokenError::Malformed("header not a JSON object"))?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => match allowed.iter().find(|a| a.as_str() == alg) {
                Some(a) => *a,
                None => return Err(TokenError::AlgNotAllowed(truncate(alg, 32))),
            },
            Some(_) | None => return Err(TokenError::AlgNotAllowed("(absent)".into())),
        };
        if header.contains_key("crit") {
            return Err(TokenError::Malformed("crit header not supported"));
        }
        // 3.
        let kid = match header.get("kid") {
            Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => k.clone(),
            Some(Value::String(_)) | None => return Err(TokenError::KidMissing),
            Some(_) => return Err(TokenError::Malformed("kid not a string")),
        };
        // 4.
        let payload_bytes = b64url_decode(p).ok_or(TokenError::Malformed("payload not base64url"))?;
        let payload = strict_object(&payload_bytes).ok_or(TokenError::Malformed("payload not a JSON object"))?;
        let signature = b64url_decode(s).ok_or(TokenError::Malformed("signature not base64url"))?;
        if signature.is_empty() {
            return Err(TokenError::Malformed("empty signature"));
        }
        let typ = header.get("typ").and_then(Value::as_str).map(str::to_string);
        let signing_input = token.get(..h.len() + 1 + p.len()).unwrap_or_default().to_string();
        Ok(Self { signing_input, alg, kid, typ, payload, signature })
    }

    /// Header `alg` (one of those the parse allowed).
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    /// Header `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Header `typ`, if any.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// Bytes the signature covers (`header.payload`).
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// Raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Claims — only reachable through [`crate::launch`] typestates after verification,
    /// or by the crate itself.
    pub(crate) fn into_payload(self) -> Map<String, Value> {
        self.payload
    }

    /// Verify the signature with the key `kid` names in `keys`, of the header's algorithm (an
    /// ES256 header never reaches an RSA key or the other way round; ES256 signatures must be
    /// 64-byte low-S `r || s`), and only then hand out the claims.
    pub async fn verify_into_claims<V: crate::crypto::Rs256Verifier + crate::crypto::Es256Verifier>(
        self,
        keys: &crate::jwk::JwkSet,
        crypto: &V,
    ) -> Result<Map<String, Value>, crate::error::SignatureError> {
        use crate::error::SignatureError;
        let kid = || SignatureError::KeyNotFound(self.kid().chars().take(64).collect());
        let verdict = match self.alg() {
            JwsAlg::Es256 => {
                let key = keys.find_ec(self.kid()).ok_or_else(kid)?;
                if !es256_low_s(self.signature()) {
                    return Err(SignatureError::Invalid);
                }
                crypto.verify_es256(key, self.signing_input(), self.signature()).await
            }
            JwsAlg::Rs256 => {
                let key = keys.find(self.kid()).ok_or_else(kid)?;
                crypto.verify(key, self.signing_input(), self.signature()).await
            }
        };
        match verdict {
            Ok(true) => Ok(self.payload),
            Ok(false) => Err(SignatureError::Invalid),
            Err(e) => Err(SignatureError::Crypto(e.0)),
        }
    }
}

/// Parse a JSON object, refusing duplicate member names at any depth. serde_json keeps the last
/// of two equal keys while other JSON libraries keep the first: a token that two parsers read
/// differently is refused instead (a known JWT attack class).
pub fn strict_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<StrictValue>(bytes).ok()?.0 {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(StrictValue(x)) = seq.next_element()? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if m.contains_key(&k) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// P-256 group order n, big-endian.
const P256_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA,
    0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];
/// ⌊n / 2⌋.
const P256_HALF_N: [u8; 32] = [
    0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xDE, 0x73, 0x7D,
    0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8,
];

/// Whether an ES256 `r || s` signature has `s` in the lower half of the group order. Both `s`
/// and `n − s` verify, so accepting either makes tokens malleable (a second valid token for
/// the same claims); we sign low-S only and refuse high-S.
pub fn es256_low_s(sig: &[u8]) -> bool {
    sig.len() == 64 && sig.get(32..).is_some_and(|s| s <= &P256_HALF_N[..])
}

/// Rewrite an ES256 `r || s` signature to its low-S form (`s ← n − s` when `s > n/2`).
pub fn es256_normalize_s(sig: &mut [u8]) {
    if sig.len() != 64 || es256_low_s(sig) {
        return;
    }
    let Some(s) = sig.get_mut(32..) else { return };
    let mut borrow = 0i16;
    for (d, n) in s.iter_mut().rev().zip(P256_N.iter().rev()) {
        let v = i16::from(*n) - i16::from(*d) - borrow;
        borrow = i16::from(v < 0);
        *d = (v + 256 * borrow) as u8;
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Build and sign an RS256 compact JWS with `typ` and the signer's `kid`.
pub async fn sign_rs256<S: Rs256Signer + ?Sized>(signer: &S, typ: &str, claims: &Value) -> Result<String, CryptoError> {
    let mut input = signing_input(ALG_RS256, typ, signer.kid(), claims);
    let sig = signer.sign(input.as_bytes()).await?;
    input.push('.');
    input.push_str(&b64url_encode(&sig));
    Ok(input)
}

/// Build and sign a compact JWS with the signer's algorithm, `typ` and `kid`.
pub async fn sign_jws<S: JwsSigner + ?Sized>(signer: &S, typ: &str, claims: &Value) -> Result<String, CryptoError> {
    let mut input = signing_input(signer.alg().as_str(), typ, signer.kid(), claims);
    let mut sig = signer.sign(input.as_bytes()).await?;
    if signer.alg() == JwsAlg::Es256 {
        if sig.len() != 64 {
            return Err(CryptoError(format!("ES256 signature of {} bytes (expected r || s, 64)", sig.len())));
        }
        es256_normalize_s(&mut sig);
    }
    input.push('.');
    input.push_str(&b64url_encode(&sig));
    Ok(input)
}

fn signing_input(alg: &str, typ: &str, kid: &str, claims: &Value) -> String {
    let header = serde_json::json!({ "alg": alg, "typ": typ, "kid": kid });
    let mut input = b64url_encode(header.to_string().as_bytes());
    input.push('.');
    input.push_str(&b64url_encode(claims.to_string().as_bytes()));
    input
}
