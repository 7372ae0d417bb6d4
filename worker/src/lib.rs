//! # LTI Edge worker
//!
//! The tool's LTI endpoint set on Cloudflare Workers. Protocol decisions live in [`lti_core`]
//! and [`lti_legacy`]; this crate does the I/O (KV, Durable Objects, fetch, WebCrypto) and
//! maps every failure to one answer shape ([`error::ApiError`]).
//!
//! The house, top to bottom (nothing imports upward):
//! - [`routes`]: the route table and the handlers, by audience (`launch`, `admin`, `services`);
//! - [`legacy`]: LTI 1.1 (OAuth 1.0a launches, Basic Outcomes, Content-Item, migration);
//! - [`auth`]: who is calling (admin token, services credential, session token);
//! - [`store`]: state store, registry, key ring, platform key sets, and the Durable Object;
//! - [`http`]: answers, bounded request bodies, the one outbound client;
//! - [`config`], [`clock`], [`error`], [`log`], [`pages`], [`sealed`]: the ground floor;
//! - [`js`]: the few direct JavaScript calls of the hot paths.

#![forbid(unsafe_code)]

mod auth;
mod caliper;
mod clock;
mod config;
mod console;
mod error;
mod http;
mod js;
mod legacy;
mod log;
mod pages;
mod routes;
mod sealed;
mod store;

pub use store::durable::LtiEdgeObject;

/// The queue handler (Caliper events and their dead-letter queue). Written out rather than with
/// `#[event(queue)]`: delivery needs each message's `attempts` (for the backoff), which the
/// crate's message type does not expose.
#[wasm_bindgen::prelude::wasm_bindgen]
pub async fn queue(
    batch: wasm_bindgen::JsValue,
    env: worker::Env,
    _ctx: wasm_bindgen::JsValue,
) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue> {
    caliper::delivery::consume(batch, env).await;
    Ok(wasm_bindgen::JsValue::UNDEFINED)
}

#[worker::event(fetch)]
async fn fetch(req: worker::Request, env: worker::Env, ctx: worker::Context) -> worker::Result<web_sys::Response> {
    routes::serve(req, env, ctx).await
}
