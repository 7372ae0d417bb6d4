//! Bodies in and out, bounded: every request body and every platform answer is read as a
//! stream that stops at its cap (a chunked body with no `Content-Length` included), and every
//! outgoing call has a timeout and a redirect policy.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// More than the cap (bytes read so far, or the declared length).
    TooLarge(usize),
    /// The stream failed (client went away, network error, timeout).
    Unreadable(String),
}

/// What to do with the rest of a stream once it went over its cap.
#[derive(Clone, Copy)]
pub enum Overflow<'a> {
    /// Cancel it (a platform's answer: stop the download).
    Cancel,
    /// Hand the reader back (in the slot) for the request's handler to discard, keeping
    /// nothing (a request body: cancelling one mid-upload makes the local runtime drop
    /// connections it shares with concurrent requests, and answering before the upload ends
    /// makes HTTP clients see a broken connection).
    Park(&'a std::cell::RefCell<Option<web_sys::ReadableStream>>),
}

/// Drop every remaining chunk of `stream` (nothing is kept or copied): the runtime pipes it
/// into a sink that discards, with no round trip into wasm per chunk.
pub async fn discard(stream: web_sys::ReadableStream) {
    let Ok(sink) = web_sys::WritableStream::new() else { return };
    let _ = JsFuture::from(stream.pipe_to(&sink)).await;
}

/// Discard a request body nobody read (a refused credential, a route without a body).
pub async fn discard_unread(body: Option<web_sys::ReadableStream>) {
    if let Some(stream) = body.filter(|b| !b.locked()) {
        discard(stream).await;
    }
}

/// Read `stream` into memory, stopping as soon as more than `cap` bytes have arrived (nothing
/// past the cap is buffered). `None` (no body) reads as empty.
pub async fn read_capped(
    stream: Option<web_sys::ReadableStream>,
    cap: usize,
    overflow: Overflow<'_>,
) -> Result<Vec<u8>, BodyError> {
    let Some(stream) = stream else { return Ok(Vec::new()) };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let stream_handle = stream.clone();
    let mut out: Vec<u8> = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| BodyError::Unreadable(format!("{e:?}")))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true);
        if done {
            return Ok(out);
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|_| BodyError::Unreadable("chunk".into()))?;
        let bytes: js_sys::Uint8Array =
            value.dyn_into().map_err(|_| BodyError::Unreadable("chunk is not bytes".into()))?;
        let len = bytes.length() as usize;
        if out.len().saturating_add(len) > cap {
            match overflow {
                Overflow::Cancel => {
                    let _ = reader.cancel();
                }
                Overflow::Park(slot) => {
                    reader.release_lock();
                    *slot.borrow_mut() = Some(stream_handle);
                }
            }
            return Err(BodyError::TooLarge(out.len() + len));
        }
        let start = out.len();
        out.resize(start + len, 0);
        if let Some(slot) = out.get_mut(start..) {
            bytes.copy_to(slot);
        }
    }
}

/// Wait `ms` milliseconds (a timer in this request's context).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

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
