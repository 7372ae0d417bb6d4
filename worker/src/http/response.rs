//! Answers: JSON, HTML pages (each with its Content-Security-Policy) and redirects, with the
//! headers every answer of that kind carries.

use lti_core::encoding::b64url_encode;
use lti_webcrypto::random_bytes;
use worker::Response;

use crate::error::{ApiError, ApiResult};
use crate::pages;

/// `resp` with (name, value) pairs set on the headers it already has, in one call into
/// JavaScript (no second `Headers` object); a pair `Headers` refuses is skipped.
pub fn with_headers(resp: Response, pairs: &[(&str, &str)]) -> Response {
    crate::js::set_headers(&resp.headers().0, pairs);
    resp
}

/// `{"success": true, "data": …}`.
pub fn ok_json(data: impl Into<serde_json::Value>, status: u16) -> ApiResult<Response> {
    json_response(&serde_json::json!({"success": true, "data": data.into()}), status)
}

/// A JSON answer, never cached.
pub fn json_response(v: &serde_json::Value, status: u16) -> ApiResult<Response> {
    Ok(with_headers(
        Response::from_bytes(v.to_string().into_bytes())?.with_status(status),
        &[("content-type", "application/json"), ("cache-control", "no-store"), ("x-content-type-options", "nosniff")],
    ))
}

/// An HTML page without scripts ([`pages::PAGE_CSP`]).
pub fn html_response(body: String, status: u16) -> ApiResult<Response> {
    html_response_csp(body, status, pages::PAGE_CSP)
}

/// An HTML page under `csp`.
pub fn html_response_csp(body: String, status: u16, csp: &str) -> ApiResult<Response> {
    Ok(with_headers(
        Response::from_bytes(body.into_bytes())?.with_status(status),
        &[
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
            ("content-security-policy", csp),
        ],
    ))
}

/// A fresh nonce for a page with one inline script, and the page's CSP; `form_action` is where
/// the page may post (`'self'` for the worker's own pages, a platform origin for the
/// auto-posting Deep Linking answer).
pub fn script_csp(form_action: &str) -> ApiResult<(String, String)> {
    let nonce = b64url_encode(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let csp = pages::script_csp(&nonce, form_action);
    Ok((nonce, csp))
}

/// A redirect (`status` 302 or 303) that is never cached and sends no referrer, with extra
/// headers (`set-cookie`).
pub fn redirect(status: u16, location: &str, extra: &[(&str, &str)]) -> ApiResult<Response> {
    let mut pairs = vec![("location", location), ("cache-control", "no-store"), ("referrer-policy", "no-referrer")];
    pairs.extend_from_slice(extra);
    Ok(with_headers(Response::empty()?.with_status(status), &pairs))
}
