//! # lti-core: the sans-IO LTI 1.3 protocol core of LTI Edge
//!
//! Parses, decides and builds LTI messages. It does no I/O, reads no clock and draws no
//! randomness: callers pass the time (`now`, Unix seconds), random bytes and a crypto
//! provider ([`crypto::Rs256Verifier`], [`crypto::Rs256Signer`]). The edge worker passes
//! WebCrypto; tests and tools pass [`native`] (feature `native`).
//!
//! ## Contents
//! - [`state`]: OIDC login initiation, signed single-use state, nonce, cookie binding.
//! - [`launch`]: id_token validation as a typestate, `UnverifiedLaunch` → `Launch`.
//! - [`user_id`], [`roles`], [`modules`]: who, in which role, in which module.
//! - [`session`]: the signed, short-lived tool session.
//! - [`deep_linking`], [`services`]: Deep Linking responses, AGS, NRPS, service tokens.
//! - [`registration`]: platform registrations and their validation.
//! - [`jws`], [`jwk`], [`encoding`], [`url`]: the formats underneath.
//! - [`error`]: errors by cause, each with a stable [`error::ErrorCode`].
//!
//! ## Security
//! - Signatures are always verified before any claim is read; `alg` is pinned to RS256 and a
//!   `kid` is required ([`jws::CompactJws::parse`]).
//! - Issuer, audience (string or array, with `azp`), expiry, issued-at, not-before, nonce,
//!   deployment, message type and version are checked on every launch
//!   ([`launch::VerifiedLaunch::validate`]).
//! - States are HMAC-signed and consumed once; nonces compare in constant time; secrets have
//!   redacted `Debug`.
//! - Redirect targets must be on the tool's own origin.
//!
//! ## Example
//! ```
//! use lti_core::error::{Coded, ErrorCode};
//! use lti_core::launch::UnverifiedLaunch;
//!
//! // alg "none" is refused before any key is looked up.
//! let token = "eyJhbGciOiJub25lIn0.e30.";
//! let err = UnverifiedLaunch::parse(token).unwrap_err();
//! assert_eq!(err.code(), ErrorCode::TokenAlgNotAllowed);
//! assert_eq!(err.code().status(), 401);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod deep_linking;
pub mod encoding;
pub mod error;
pub mod jwk;
pub mod jwks_cache;
pub mod jws;
pub mod launch;
pub mod modules;
#[cfg(feature = "native")]
pub mod native;
pub mod registration;
pub mod roles;
pub mod services;
pub mod session;
pub mod state;
pub mod url;
pub mod user_id;
