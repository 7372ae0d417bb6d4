//! # lti-policy: what LTI Edge decides, on top of the LTI protocol
//!
//! [`lti_core`] says whether a launch is a valid LTI launch. This crate says what the tool
//! makes of it, by the registration's rules: who the user is ([`user_id`]), in which role
//! ([`roles`]), in which module ([`modules`], the KAF module table) and course category
//! ([`authorize`]), and the signed session the tool app receives ([`session`]). It also holds
//! registrations as the tool keeps them ([`registration`], started from an LMS preset:
//! [`presets`]), what an LMS admin pastes and what Dynamic Registration sends ([`setup`]), the
//! invitations that open Dynamic Registration ([`invitations`]), and the error vocabulary every
//! answer uses ([`error`]: code, HTTP status and sentence for LTI 1.3, LTI 1.1 and the product).
//!
//! Like the core it does no I/O, reads no clock and draws no randomness.
//!
//! ## What it refuses
//! - a launch whose configured user-id rule finds nothing (`user_id_missing`; never a silent
//!   fallback to `sub`, which would create a second user), an anonymous launch unless the
//!   registration admits guests, a launch with no mapped role (unless a default role is set),
//!   a target outside the tool's origin or naming no module, a disabled module;
//! - a session token that is not ours: wrong algorithm, key, issuer, audience, `typ`, expired,
//!   or a high-S ES256 signature;
//! - a registration body with any bad field (all of them reported at once).
//!
//! ## Example
//! ```
//! use lti_policy::{Coded, ErrorCode};
//! use lti_core::launch::UnverifiedLaunch;
//!
//! // alg "none" is refused before any key is looked up; the vocabulary gives the answer.
//! let err = UnverifiedLaunch::parse("eyJhbGciOiJub25lIn0.e30.").unwrap_err();
//! assert_eq!(Coded::code(&err), ErrorCode::TokenAlgNotAllowed);
//! assert_eq!(ErrorCode::TokenAlgNotAllowed.status(), 401);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authorize;
pub mod error;
pub mod invitations;
pub mod modules;
pub mod presets;
pub mod registration;
pub mod roles;
pub mod session;
pub mod setup;
pub mod user_id;

pub use authorize::{category_id, Authorize, Launch, LegacyIdentity};
pub use error::{AccessError, Coded, ErrorCode, SessionError};
pub use registration::{AnonymousPolicy, MismatchPolicy, Registration, RegistrationInput};
pub use roles::ToolRole;
pub use session::SessionClaims;
pub use user_id::UserIdSource;
