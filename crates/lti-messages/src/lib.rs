//! # lti-messages: the window messages between a host page and an LTI tool iframe
//!
//! What a tool iframe and the page embedding it say to each other with `postMessage`: Canvas's
//! `lti.*` subjects, KAF's `lti.contentSelected`/`lti.hideModuleHeader`, 1EdTech's LTI Platform
//! Storage (`lti.put_data`, `lti.get_data`, `lti.capabilities`) and `requestFullWindowLaunch`.
//! Each message is parsed into a [`ToolMessage`] before anything reads it; replies are built
//! here too. The browser embed kit (`lti-embed`) is the user: the LTI protocol core
//! (`lti-core`) and the worker do not use window messages.
//!
//! The JSON underneath is this crate's own small reader and writer ([`json`]), not serde, so a
//! wasm module that embeds this parser links neither serde_json nor `core::fmt`'s float
//! formatting (together more than half of the embed kit's module).
//!
//! ## Contents
//! - [`messages`]: the message schemas ([`messages::parse_str`] → [`Envelope`] or [`Rejected`]),
//!   replies ([`messages::reply`], [`messages::reply_error`], [`messages::capabilities`]) and
//!   the host's [`PlatformStorage`].
//! - [`json`]: [`Value`], [`Object`], [`json::parse`] and [`json::to_string`].
//!
//! ## What is refused
//! - JSON text longer than the caller's limit ([`ParseError::TooLarge`]; a message: more than
//!   [`MAX_MESSAGE_BYTES`], 64 KiB), nested deeper than [`MAX_DEPTH`] (128) arrays and objects
//!   ([`ParseError::TooDeep`]), and anything that is not RFC 8259 exactly ([`ParseError::Invalid`]):
//!   comments, trailing commas, single quotes, `NaN`, `+1`, `.5`, `5.`, leading zeros, raw control
//!   characters in strings, a byte order mark, text after the value, a number beyond `f64`.
//! - A message is dropped ([`Rejected::Dropped`], no reply) when it is not JSON, not an object,
//!   too large, has no `subject` (or legacy `messageType`) of 1–200 bytes, or is a reply
//!   (`*.response`, so two windows cannot loop).
//! - A known subject with a bad payload is answered `bad_request` ([`Rejected::BadRequest`]):
//!   heights other than a non-negative number, `NNpx`, `NN%` or `max`; a content selection that
//!   is not one entry or 1–50 entries, each with an `entryId`; URLs (entries, full-window launches) that are not
//!   absolute http(s) (`lti_core::url::HttpUrl`); alerts that are blank or longer than
//!   [`MAX_ALERT_CHARS`]; storage requests without `message_id` or with a key that is empty or
//!   longer than [`MAX_KEY_CHARS`].
//! - [`PlatformStorage`] refuses a value longer than [`MAX_VALUE_CHARS`] and a new key beyond
//!   [`MAX_KEYS_PER_ORIGIN`] per origin (`storage_exhaustion`); origins never see each other's
//!   keys.
//!
//! ## What is not refused
//! - A key repeated in an object: lookups see the last value, as `JSON.parse` and serde_json
//!   do ([`Object`]).
//! - Keys such as `__proto__` or `constructor`: they are plain data here (an [`Object`] is a
//!   list of pairs, nothing is looked up through a prototype), and the JavaScript side reads
//!   what this crate writes with `JSON.parse`, which makes them own properties, never a
//!   prototype.
//! - Which window sent a message and whether its origin is allowed is not checked here: the
//!   caller checks both before it hands over the text.
//!
//! ## Example
//! ```
//! use lti_messages::messages::{self, Rejected};
//! use lti_messages::{Height, ToolMessage};
//!
//! let m = messages::parse_str(r#"{"subject":"lti.frameResize","height":"640px"}"#).unwrap();
//! assert_eq!(m.message, ToolMessage::FrameResize(Height::Px(640.0)));
//!
//! // Replies are never answered; bad payloads of known subjects are.
//! let reply = messages::parse_str(r#"{"subject":"lti.get_data.response"}"#);
//! assert_eq!(reply.unwrap_err(), Rejected::Dropped("a reply"));
//! let bad = messages::parse_str(r#"{"subject":"lti.frameResize","height":"tall"}"#);
//! assert!(matches!(bad, Err(Rejected::BadRequest { .. })));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod json;
pub mod messages;

pub use json::{Object, ParseError, Value, MAX_DEPTH};
pub use messages::{
    ContentEntry, Envelope, Height, LaunchType, Navigation, PlatformStorage, Rejected, StorageError, ToolMessage,
    MAX_ALERT_CHARS, MAX_KEYS_PER_ORIGIN, MAX_KEY_CHARS, MAX_MESSAGE_BYTES, MAX_VALUE_CHARS,
};
