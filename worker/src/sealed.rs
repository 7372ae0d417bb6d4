//! Secrets at rest: AES-256-GCM under a key derived from `LTI_ENCRYPTION_KEY`, one label per
//! purpose (tool keys, service tokens, LTI 1.1 secrets, launch-inspector attempts, console sessions).
//! Sealed text is `iv.ciphertext` (base64url).

use lti_core::encoding::{b64url_decode, b64url_encode};
use lti_core::state::derive_key;
use lti_webcrypto::{aes_gcm_decrypt, aes_gcm_encrypt};

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

/// Label of the tool's private keys.
pub const TOOL_KEYS: &[u8] = b"lti-edge/key-encryption/v1";
/// Label of cached platform service tokens.
pub const SERVICE_TOKENS: &[u8] = b"lti-edge/service-token/v1";
/// Label of LTI 1.1 shared secrets.
pub const LTI11_SECRETS: &[u8] = b"lti-edge/lti11-secret/v1";
/// Label of the launch inspector's attempts (their claims name people).
pub const INSPECTOR: &[u8] = b"lti-edge/launch-inspector/v1";
/// Label of the admin console's session cookie.
pub const CONSOLE_SESSION: &[u8] = b"lti-edge/console-session/v1";

/// The key for one purpose.
pub fn key(cfg: &Config, label: &[u8]) -> ApiResult<[u8; 32]> {
    let secret = cfg.encryption_key.as_deref().ok_or_else(|| ApiError::internal("no encryption key"))?;
    Ok(derive_key(secret, label))
}

/// Encrypt `plain` into `iv.ciphertext`.
pub async fn seal(cfg: &Config, label: &[u8], plain: &[u8]) -> ApiResult<String> {
    seal_with(&key(cfg, label)?, plain).await
}

/// [`seal`] with a key already derived (work that outlives the request holds the key, not the
/// configuration).
pub async fn seal_with(key: &[u8; 32], plain: &[u8]) -> ApiResult<String> {
    let (iv, ct) = aes_gcm_encrypt(key, plain).await.map_err(|e| ApiError::internal(e.0))?;
    Ok(format!("{}.{}", b64url_encode(&iv), b64url_encode(&ct)))
}

/// Decrypt `iv.ciphertext`; the error says why (malformed, or another `LTI_ENCRYPTION_KEY`).
pub async fn open(cfg: &Config, label: &[u8], sealed: &str) -> ApiResult<Vec<u8>> {
    let parts = sealed.split_once('.').and_then(|(iv, ct)| Some((b64url_decode(iv)?, b64url_decode(ct)?)));
    let (iv, ct) = parts.ok_or_else(|| ApiError::internal("sealed value malformed"))?;
    aes_gcm_decrypt(&key(cfg, label)?, &iv, &ct)
        .await
        .map_err(|e| ApiError::internal(format!("cannot decrypt (LTI_ENCRYPTION_KEY changed?): {}", e.0)))
}
