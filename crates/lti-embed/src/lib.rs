//! # lti-embed: the host-page embed kit for LTI tool iframes, and its tool-side client
//!
//! A host page (a portal, an LMS theme) embeds a tool's modules in iframes and reacts to what
//! happens inside them; a tool page reports its height, sends content selections and uses the
//! host's platform storage. Both sides speak the window messages LMSs already use (Canvas's
//! `lti.*`, KAF's `lti.contentSelected`/`lti.hideModuleHeader`, 1EdTech's platform storage),
//! parsed by [`lti_messages::messages`]. Compiled to wasm with wasm-bindgen, it ships as ES modules
//! with TypeScript types (`web/pkg/`, built by `scripts/build-web.sh`): one per entry point, each
//! over its own wasm — cargo feature `host` alone for host pages (`host.js`, `element.js`),
//! `tool` alone for tool pages (`tool.js`), both for the all-in-one `lti_embed.js`. The manual is
//! `docs/embed-kit.md`.
//!
//! ## Contents
//! - [`origin`]: exact origin allow-lists; `"null"` and wildcards refused.
//! - [`options`]: embed and tool-client options, validated.
//! - [`host`]: what the host does with one message ([`host::HostCore::receive`] → effects).
//! - [`tool`]: messages a tool sends and matching the host's replies ([`tool::ToolCore`]).
//! - [`protocol`]: the codes the JavaScript layer and the wasm core exchange (`js/protocol.js`
//!   is generated from them).
//! - `k` (wasm32 only): the browser module's core behind the JavaScript API in `js/kit.js`
//!   (`Embed`, `ToolClient`), which performs the DOM work the core decides.
//!
//! Messages, replies and event details are [`lti_messages::json`] values: that crate's small
//! JSON reader and writer, so the wasm module links neither serde_json nor float formatting.
//!
//! ## Security
//! - Every message is checked before it is read: the sender must be the embed's own iframe
//!   window (identity of `event.source`), then `event.origin` must be on the embed's exact
//!   allow-list (`"null"` never is); only then is `event.data` read, size-limited and parsed.
//! - Anything else is dropped and counted, without an exception.
//! - Replies go only to the sender's window at its exact origin: never `"*"`, never `"null"`,
//!   never in answer to a `.response`.
//! - Alerts are text only (`textContent`), full-window launches must stay on the tool's origin,
//!   navigation targets reach host code only as http(s) URLs or relative references, and resize
//!   requests are clamped (800..20000 px by default) and coalesced to one layout per frame.
//! - Per embed, messages read and replies sent are rate-limited ([`host::RateLimit`]), and
//!   `lti.scrollToTop` is honoured only while the user interacts with the tool
//!   ([`host::scroll_allowed`]).
//! - The tool client posts to its host's exact origin and accepts a storage reply only from
//!   the window it asked, from the expected origin, with the subject and `message_id` it sent.
//!
//! ## Example
//! ```
//! use lti_messages::messages::PlatformStorage;
//! use lti_embed::host::{Channel, Effect, Env, HostCore, Verdict};
//! use lti_embed::options::EmbedConfig;
//!
//! let cfg = EmbedConfig::from_json(r#"{"url": "https://lms.example.edu/launch/42",
//!     "allowedOrigins": ["https://tool.example.com"]}"#).unwrap();
//! let host = HostCore::new(&cfg);
//! let mut storage = PlatformStorage::default();
//! let env = Env::default();
//!
//! assert!(host.origins().check("https://evil.example").is_err());
//! let from = host.origins().check("https://tool.example.com").unwrap();
//! let out = host.receive(from, r#"{"subject":"lti.frameResize","height":300}"#, Channel::Parent, &env, &mut storage);
//! assert_eq!(out.verdict, Verdict::Accepted);
//! let Effect::Resize { height, .. } = out.effects[0] else { unreachable!() };
//! assert_eq!(host.clamp(height, 900.0), 800.0); // never below 800
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

/// serde_json's `json!` literal as an [`lti_messages::json::Value`] (through its text), for tests.
#[cfg(test)]
macro_rules! json {
    ($($t:tt)+) => {
        lti_messages::json::parse(&serde_json::json!($($t)+).to_string(), usize::MAX).expect("json! literal")
    };
}

#[cfg(feature = "host")]
pub mod host;
pub mod options;
pub mod origin;
pub mod protocol;
mod text;
#[cfg(feature = "tool")]
pub mod tool;

/// A JSON object from pairs.
pub(crate) fn obj<const N: usize>(pairs: [(&'static str, lti_messages::json::Value); N]) -> lti_messages::json::Value {
    let mut m = lti_messages::json::Object::new();
    for (k, v) in pairs {
        m.insert(k, v);
    }
    lti_messages::json::Value::Object(m)
}

#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use web::k;

/// std's dlmalloc is ~3 KB of the gzipped module; this coalescing free-list allocator does the
/// same job for the kit's small, short-lived allocations (one message at a time) in a fraction.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Installs the panic hook (feature `panic-hook`) when the module is initialised.
#[cfg(all(target_arch = "wasm32", feature = "panic-hook"))]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
