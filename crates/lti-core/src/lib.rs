//! # lti-core: a sans-IO LTI 1.3 library
//!
//! Parses, checks and builds LTI 1.3 messages. It does no I/O, reads no clock and draws no
//! randomness: callers pass the time (`now`, Unix seconds), random bytes and a crypto
//! provider ([`crypto::Rs256Verifier`], [`crypto::Rs256Signer`]). The LTI Edge worker passes
//! WebCrypto; tests and tools pass [`native`] (feature `native`). What a tool *decides* about
//! a valid launch (user ids, roles, modules, sessions) is not here: LTI Edge keeps that in
//! `lti-policy`.
//!
//! ## Contents
//! - [`state`]: OIDC login initiation, signed single-use state, nonce, cookie binding.
//! - [`launch`]: id_token verification and validation as a typestate,
//!   `UnverifiedLaunch` → `VerifiedLaunch` → `ValidatedLaunch` (typed [`launch::LaunchClaims`]).
//! - [`registration`]: a platform registration, every field a validated newtype.
//! - [`deep_linking`], [`services`]: Deep Linking responses, AGS and NRPS formats, scope checks
//!   of service URLs, service tokens.
//! - [`dynamic_registration`]: LTI Dynamic Registration, the tool side: the initiation
//!   request, the platform's OpenID configuration, the answer to the tool's registration.
//! - [`caliper`]: Caliper Analytics 1.2: the platform's event-store profile, events a tool
//!   reports (validated per type and action), the events and envelopes sent to the store.
//! - [`jws`], [`jwk`], [`jwks_cache`], [`encoding`], [`url`], [`claims`]: the formats underneath.
//! - [`error`]: errors by cause, each with a stable [`error::ErrorCode`].
//!
//! ## What it refuses
//! - Any signature it cannot verify: `alg` is pinned (RS256 for platforms), `kid` required,
//!   `none` and HMAC refused, duplicate JSON keys in a header or payload refused, high-S ES256
//!   signatures refused ([`jws::CompactJws::parse`]); claims are read only after the signature.
//! - A launch whose issuer, audience (string or array, with `azp`), expiry, issued-at,
//!   not-before, nonce, deployment, message type, version or required claims do not check
//!   out ([`launch::VerifiedLaunch::validate`]).
//! - A state that is forged, expired, replayed or bound to another browser ([`state`]).
//! - A service URL outside what the platform granted, compared in WHATWG normal form
//!   ([`services::ServiceUrl`]); URLs with encoded slashes, NUL, `..;` or non-canonical
//!   numeric hosts ([`url::HttpUrl::normalized`]).
//! - A redirect target off the tool's own origin.
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
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "caliper")]
pub mod caliper;
pub mod claims;
pub mod crypto;
pub mod deep_linking;
pub mod dynamic_registration;
pub mod encoding;
pub mod error;
pub mod jwk;
pub mod jwks_cache;
pub mod jws;
pub mod launch;
#[cfg(feature = "native")]
pub mod native;
pub mod registration;
pub mod services;
pub mod state;
pub mod url;

pub use error::{Coded, ErrorCode};
pub use launch::{LaunchClaims, UnverifiedLaunch, ValidatedLaunch, VerifiedLaunch};
pub use registration::Registration;
pub use state::{begin_login, LoginParams, StateHandle, StateKey, ToolConfig};
