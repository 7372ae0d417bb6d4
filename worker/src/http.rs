//! Outgoing HTTP with a timeout and a body cap (platform service calls).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Every outgoing call gives up after this.
const TIMEOUT_MS: u32 = 10_000;

/// An answer from a platform.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Link` header.
    pub link: Option<String>,
    /// Body (empty when over the cap; see `oversized`).
    pub body: Vec<u8>,
    /// The body was larger than the cap.
    pub oversized: bool,
}

/// Send a request. `headers` are (name, value) pairs; `body` is sent as is.
pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>, cap: usize) -> Result<Answer, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let h = web_sys::Headers::new().map_err(|_| "headers")?;
    for (k, v) in headers {
        h.set(k, v).map_err(|_| format!("header {k}"))?;
    }
    init.set_headers(&h);
    if let Some(b) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp = JsFuture::from(global.fetch_with_str_and_init(url, &init)).await.map_err(|_| "fetch failed (network or timeout)".to_string())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    let status = resp.status();
    let link = resp.headers().get("link").ok().flatten();
    let declared = resp.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > cap) {
        return Ok(Answer { status, link, body: Vec::new(), oversized: true });
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|_| "body")?).await.map_err(|_| "body read failed")?;
    let bytes = js_sys::Uint8Array::new(&buf);
    if bytes.length() as usize > cap {
        return Ok(Answer { status, link, body: Vec::new(), oversized: true });
    }
    Ok(Answer { status, link, body: bytes.to_vec(), oversized: false })
}
