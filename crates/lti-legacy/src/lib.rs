//! # lti-legacy: the sans-IO LTI 1.1 pieces of LTI Edge
//!
//! LTI 1.1 beside LTI 1.3 (issue 5): verifies OAuth 1.0a-signed launches, reads their
//! parameters into the shapes lti-core's user-id and role rules already understand, builds
//! Basic Outcomes and content-item answers, and checks the `lti1p1` claim that carries a user
//! across the upgrade. Like lti-core it does no I/O, reads no clock and draws no randomness:
//! callers pass `now`, nonces, secrets and the answers of their stores.
//!
//! ## Contents
//!
//! | module | covers | spec |
//! |---|---|---|
//! | [`oauth1`] | HMAC-SHA1 verification as a typestate (`UnverifiedRequest` → `VerifiedRequest` → `AuthenticatedRequest`), base string over the configured public URL, ±300 s, single-use nonce; signing forms and bodies; `oauth_body_hash` | RFC 5849 §3.4, §3.5, §3.6; OAuth Request Body Hash |
//! | [`params`] | `basic-lti-launch-request` and `ContentItemSelectionRequest` → [`params::Lti11Launch`]; roles → LTI 1.3 vocabulary; 1.3-shaped claims for `ltiUserIdAttribute`/`lti13UserIdClaim`; Blackboard base64 | LTI 1.1 §4, appendix A; KAF guide §11.3 |
//! | [`outcomes`] | `replaceResult`/`readResult`/`deleteResult` POX XML, scores 0.0–1.0; a small reply reader | LTI 1.1 §6 (Basic Outcomes) |
//! | [`content_item`] | the signed `ContentItemSelection` form (JSON-LD `LtiLinkItem`/`ContentItem`) | LTI Content-Item Message 1.0 |
//! | [`migration`] | the `…/claim/lti1p1` claim and `oauth_consumer_key_sign` → Verified / Mismatch / Absent | LTI 1.3 Migration Guide |
//! | [`error`] | errors by cause, each answering with a code of the one vocabulary ([`lti_policy::ErrorCode`]) | |
//!
//! ## Security
//!
//! - Launch parameters are reachable only through [`oauth1::AuthenticatedRequest`]: signature,
//!   timestamp window and the caller's single-use nonce check all passed.
//! - Only HMAC-SHA1 is accepted; `oauth_version` must be `1.0` when present; protocol
//!   parameters may not repeat. Signatures compare in constant time (`hmac`'s
//!   `verify_slice`); secrets have redacted `Debug` and no `Clone`.
//! - The signature base string uses the tool's configured public origin, never a `Host`
//!   header or the URL a proxy forwarded.
//! - LTI parameters repeated with different values are refused rather than guessed; sizes are
//!   capped; only absolute http(s) URLs are kept as return or service URLs.
//! - The outcomes reply reader refuses DOCTYPE and entity declarations, caps size and depth,
//!   and knows only the predefined entities.
//! - No `unsafe`, and no panics on any input: no `unwrap`, `expect` or indexing on request
//!   data.
//!
//! ## Example
//!
//! ```
//! use lti_legacy::error::{Coded, ErrorCode};
//! use lti_legacy::oauth1::{ConsumerSecret, NonceCheck, RequestUrl, Signer, UnverifiedRequest};
//! use lti_legacy::params::{Lti11Launch, ParseOptions};
//!
//! let now = 1_790_000_000;
//! let secret = ConsumerSecret::new("shared-secret");
//! // A platform's launch (here signed by our own signer for brevity).
//! let url = RequestUrl::public("https://tool.example.com", "/lti/launch").unwrap();
//! let form = Signer::new("consumer-key", &secret).sign_form(
//!     "POST",
//!     &url,
//!     vec![
//!         ("lti_message_type".into(), "basic-lti-launch-request".into()),
//!         ("lti_version".into(), "LTI-1p0".into()),
//!         ("resource_link_id".into(), "rl-1".into()),
//!         ("user_id".into(), "u-42".into()),
//!         ("roles".into(), "Instructor".into()),
//!     ],
//!     now,
//!     "nonce-1",
//! );
//! let body = lti_core::encoding::form_encode(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
//!
//! // The worker: a request arrived at http://10.0.0.5:8080/lti/launch behind TLS offload.
//! let url = RequestUrl::public("https://tool.example.com", "http://10.0.0.5:8080/lti/launch").unwrap();
//! let unverified = UnverifiedRequest::from_form("POST", &url, &body).unwrap();
//! // Look up the registration by `unverified.consumer_key()`, then:
//! let verified = unverified.verify(Some(&secret), now).unwrap();
//! // Record `verified.nonce_key()` until `verified.nonce_expires_at()`; it was new:
//! let request = verified.confirm_nonce(NonceCheck::FirstUse).unwrap();
//! let launch = Lti11Launch::from_request(request, ParseOptions::default()).unwrap();
//! assert_eq!(launch.user_id.as_deref(), Some("u-42"));
//! assert_eq!(launch.roles, ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]);
//!
//! // Ten minutes later the same form is refused.
//! let late = UnverifiedRequest::from_form("POST", &url, &body).unwrap().verify(Some(&secret), now + 600);
//! assert_eq!(late.unwrap_err().code(), ErrorCode::OauthTimestampInvalid);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod content_item;
pub mod error;
mod launch;
pub mod migration;
pub mod oauth1;
pub mod outcomes;
pub mod params;

pub use content_item::{signed_selection, ContentItem, SignedForm};
pub use error::{Coded, ContentItemError, ErrorCode, OAuthError, OutcomeError, ParamsError};
pub use migration::Lti1p1Check;
pub use oauth1::{ConsumerSecret, NonceCheck, RequestUrl, Signer, UnverifiedRequest, VerifiedRequest};
pub use outcomes::Score;
pub use params::{Lti11Launch, ParseOptions};
