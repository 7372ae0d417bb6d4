//! Bodies in, bounded: every request body (and every platform answer, see
//! [`super::outbound`]) is read as a stream that stops at its cap, a chunked body with no
//! `Content-Length` included. Handlers read a body only after the route's credential passed.

use wasm_bindgen_futures::JsFuture;

use lti_core::encoding::form_decode;
use lti_policy::ErrorCode;
use worker::Request;

use crate::error::{ApiError, ApiResult};
use crate::js::Read;

/// Largest form or launch body (bytes).
pub const MAX_BODY: usize = 64 * 1024;

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
/// past the cap is buffered). `None` (no body) reads as empty. The chunks are gathered in
/// JavaScript and copied into wasm once ([`crate::js::read_capped`]): one wait, however many
/// chunks.
pub async fn read_capped(
    stream: Option<web_sys::ReadableStream>,
    cap: usize,
    overflow: Overflow<'_>,
) -> Result<Vec<u8>, BodyError> {
    let Some(stream) = stream else { return Ok(Vec::new()) };
    let cancel = matches!(overflow, Overflow::Cancel);
    match crate::js::read_capped(&stream, cap, cancel).await.map_err(|e| BodyError::Unreadable(format!("{e:?}")))? {
        Read::Bytes(bytes) => Ok(bytes),
        Read::NotBytes => Err(BodyError::Unreadable("chunk is not bytes".into())),
        Read::TooLarge(n) => {
            if let Overflow::Park(slot) = overflow {
                // The reader was released: the stream goes back for the handler to discard.
                *slot.borrow_mut() = Some(stream);
            }
            Err(BodyError::TooLarge(n))
        }
    }
}

/// Read a form body (POST) with a size limit.
pub async fn read_form(req: &mut Request) -> ApiResult<Vec<(String, String)>> {
    Ok(form_decode(&read_text(req).await?))
}

/// A form or launch body as text, bounded by [`MAX_BODY`].
pub async fn read_text(req: &mut Request) -> ApiResult<String> {
    let bytes = read_body(req, MAX_BODY, ErrorCode::LaunchParamMissing).await?;
    String::from_utf8(bytes).map_err(|_| ApiError::new(ErrorCode::LaunchParamMissing, "body not UTF-8"))
}

/// How a JSON request body is read: size limit, the code of a malformed body, whether an empty
/// body means `{}`, whether it must be an object, and what `fields.body` tells the caller.
pub struct JsonBody {
    limit: usize,
    code: ErrorCode,
    empty_is_object: bool,
    object: bool,
    hint: &'static str,
}

/// Service APIs: a JSON object (`request_invalid`).
pub const JSON_API: JsonBody = JsonBody {
    limit: MAX_BODY,
    code: ErrorCode::RequestInvalid,
    empty_is_object: false,
    object: true,
    hint: "must be a JSON object",
};
/// Optional bodies (key rotation steps): empty means `{}`.
pub const JSON_OPTIONAL: JsonBody = JsonBody { empty_is_object: true, ..JSON_API };
/// Backups: up to 4 MB.
pub const JSON_BACKUP: JsonBody =
    JsonBody { limit: 4 * 1024 * 1024, hint: "must be a JSON object (a snapshot from GET /lti/backup)", ..JSON_API };
/// The console's sign-in (`{"token": …}`, or nothing): 1 KB.
pub const JSON_SIGN_IN: JsonBody =
    JsonBody { limit: 1024, empty_is_object: true, hint: "must be {\"token\": \"…\"} or empty", ..JSON_API };
/// Registrations: any JSON (the registration validator names what is wrong).
pub const JSON_REGISTRATION: JsonBody =
    JsonBody { code: ErrorCode::RegistrationInvalid, object: false, hint: "must be valid JSON", ..JSON_API };

/// Read a JSON request body as `how` says: streamed, stopping at `how.limit`.
pub async fn read_json(req: &mut Request, how: &JsonBody) -> ApiResult<serde_json::Value> {
    let bytes = read_body(req, how.limit, how.code).await?;
    let body =
        String::from_utf8(bytes).map_err(|_| ApiError::new(how.code, "body not UTF-8").with_field("body", how.hint))?;
    if how.empty_is_object && body.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(how.code, format!("json: {e}")).with_field("body", how.hint))?;
    if how.object && !v.is_object() {
        return Err(ApiError::new(how.code, "json not an object").with_field("body", how.hint));
    }
    Ok(v)
}

/// A request body, read as a stream that stops at `limit` bytes (a declared
/// `Content-Length` over the limit is refused before reading anything). Callers authenticate
/// first wherever the route has a credential.
pub async fn read_body(req: &Request, limit: usize, unreadable: ErrorCode) -> ApiResult<Vec<u8>> {
    if let Some(len) = req.headers().get("content-length").ok().flatten().and_then(|l| l.trim().parse::<u64>().ok()) {
        if len > limit as u64 {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("declared {len} bytes, limit {limit}")));
        }
    }
    let rest = std::cell::RefCell::new(None);
    read_capped(req.inner().body(), limit, Overflow::Park(&rest)).await.map_err(|e| match e {
        BodyError::TooLarge(n) => {
            let mut e = ApiError::new(ErrorCode::PayloadTooLarge, format!("more than {limit} bytes ({n} read)"));
            e.leftover = rest.take();
            e
        }
        BodyError::Unreadable(d) => ApiError::new(unreadable, format!("body unreadable: {d}")),
    })
}
