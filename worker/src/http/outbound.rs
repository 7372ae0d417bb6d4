//! The one outbound HTTP client: every call the worker makes (platform key sets, service
//! tokens, AGS, NRPS, LTI 1.1 outcomes) goes through [`fetch`], with a timeout, a redirect
//! policy and an answer read as a stream that stops at its cap.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::body::{read_capped, BodyError, Overflow};
/// Outgoing request options.
pub struct Outbound<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The exact URL to send (already normalised and scope-checked by the caller).
    pub url: &'a str,
    /// (name, value) pairs.
    pub headers: &'a [(&'a str, &'a str)],
    /// Sent as is.
    pub body: Option<&'a str>,
    /// Largest answer body read (bytes).
    pub cap: usize,
    /// Give up after this long (the whole exchange, body included).
    pub timeout_ms: u32,
    /// Follow redirects (only for credential-less GETs such as key sets); otherwise a 3xx is
    /// answered as it is, so a credential never follows a redirect.
    pub follow_redirects: bool,
}

/// Timeout of platform service calls (the token endpoint included).
pub const SERVICE_TIMEOUT_MS: u32 = 10_000;

/// An answer from a platform.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Link` header.
    pub link: Option<String>,
    /// `Cache-Control` header.
    pub cache_control: Option<String>,
    /// Body (empty when over the cap; see `oversized`).
    pub body: Vec<u8>,
    /// The body was larger than the cap (read stopped there).
    pub oversized: bool,
}

/// Send a request and read the answer, bounded by `o.cap` and `o.timeout_ms`.
pub async fn fetch(o: &Outbound<'_>) -> Result<Answer, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(o.method);
    let h = web_sys::Headers::new().map_err(|_| "headers")?;
    for (k, v) in o.headers {
        h.set(k, v).map_err(|_| format!("header {k}"))?;
    }
    init.set_headers(&h);
    if let Some(b) = o.body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    init.set_redirect(if o.follow_redirects {
        web_sys::RequestRedirect::Follow
    } else {
        web_sys::RequestRedirect::Manual
    });
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(o.timeout_ms)));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp = JsFuture::from(global.fetch_with_str_and_init(o.url, &init))
        .await
        .map_err(|_| "fetch failed (network or timeout)".to_string())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    let status = resp.status();
    let link = resp.headers().get("link").ok().flatten();
    let cache_control = resp.headers().get("cache-control").ok().flatten();
    let declared = resp.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > o.cap) {
        if let Some(b) = resp.body() {
            let _ = b.cancel();
        }
        return Ok(Answer { status, link, cache_control, body: Vec::new(), oversized: true });
    }
    match read_capped(resp.body(), o.cap, Overflow::Cancel).await {
        Ok(body) => Ok(Answer { status, link, cache_control, body, oversized: false }),
        Err(BodyError::TooLarge(_)) => Ok(Answer { status, link, cache_control, body: Vec::new(), oversized: true }),
        Err(BodyError::Unreadable(e)) => Err(format!("body read failed: {e}")),
    }
}

/// A service call: no redirects, the service timeout.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    cap: usize,
) -> Result<Answer, String> {
    fetch(&Outbound { method, url, headers, body, cap, timeout_ms: SERVICE_TIMEOUT_MS, follow_redirects: false }).await
}
