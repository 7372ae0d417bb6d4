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
        let header: Map<String, Value> =
            serde_json::from_slice(&header_bytes).map_err(|_| TokenError::Malformed("header not a JSON object"))?;
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
        let payload: Map<String, Value> =
            serde_json::from_slice(&payload_bytes).map_err(|_| TokenError::Malformed("payload not a JSON object"))?;
        let signature = b64url_decode(s).ok_or(TokenError::Malformed("signature not base64url"))?;
        if signature.is_empty() {
            return Err(TokenError::Malformed("empty signature"));
        }
        let signing_input = token.get(..h.len() + 1 + p.len()).unwrap_or_default().to_string();
        Ok(Self { signing_input, alg, kid, payload, signature })
    }

    /// Header `alg` (one of those the parse allowed).
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    /// Header `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
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
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Build and sign an RS256 compact JWS with `typ` and the signer's `kid`.
pub async fn sign_rs256<S: Rs256Signer + ?Sized>(
    signer: &S,
    typ: &str,
    claims: &Value,
) -> Result<String, CryptoError> {
    let mut input = signing_input(ALG_RS256, typ, signer.kid(), claims);
    let sig = signer.sign(input.as_bytes()).await?;
    input.push('.');
    input.push_str(&b64url_encode(&sig));
    Ok(input)
}

/// Build and sign a compact JWS with the signer's algorithm, `typ` and `kid`.
pub async fn sign_jws<S: JwsSigner + ?Sized>(signer: &S, typ: &str, claims: &Value) -> Result<String, CryptoError> {
    let mut input = signing_input(signer.alg().as_str(), typ, signer.kid(), claims);
    let sig = signer.sign(input.as_bytes()).await?;
    if signer.alg() == JwsAlg::Es256 && sig.len() != 64 {
        return Err(CryptoError(format!("ES256 signature of {} bytes (expected r || s, 64)", sig.len())));
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
