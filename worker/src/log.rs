//! One JSON line per event, with the correlation id the client also sees. Never logs tokens,
//! names or emails.
//!
//! A line is serialized straight into the one string handed to `console.log` (no intermediate
//! JSON tree, no second formatting pass). Its members are in name order, `cid`, `detail`,
//! `event`, `level`, as are those of a `detail` object, which is how every line has always read.

use serde::Serialize;
use serde_json::json;

#[derive(Serialize)]
struct Line<'a, D: Serialize> {
    cid: &'a str,
    detail: &'a D,
    event: &'a str,
    level: &'a str,
}

/// Info lines go to `console.log`, warnings and rejections to `console.warn`, so a runtime (or
/// `wrangler dev --log-level warn`) that shows only warnings still shows every rejection with
/// its correlation id and internal reason.
fn emit<D: Serialize>(level: &str, cid: &str, event: &str, detail: &D) {
    let Ok(line) = serde_json::to_string(&Line { cid, detail, event, level }) else { return };
    let line = wasm_bindgen::JsValue::from_str(&line);
    if level == "info" {
        web_sys::console::log_1(&line);
    } else {
        web_sys::console::warn_1(&line);
    }
}

/// Informational event with structured fields.
pub fn info(cid: &str, event: &str, fields: serde_json::Value) {
    emit("info", cid, event, &fields);
}

/// Informational event whose fields are a struct (serialized in field order: declare them in
/// name order, as a JSON object's members are written).
pub fn info_fields<D: Serialize>(cid: &str, event: &str, fields: &D) {
    emit("info", cid, event, fields);
}

/// Warning with a text detail.
pub fn warn(cid: &str, event: &str, detail: &str) {
    emit("warn", cid, event, &detail);
}

/// Warning whose fields are a struct or a JSON value.
pub fn warn_fields<D: Serialize>(cid: &str, event: &str, fields: &D) {
    emit("warn", cid, event, fields);
}

/// A rejection: code, status and internal detail.
pub fn rejected(cid: &str, path: &str, code: &str, status: u16, detail: &str) {
    emit("warn", cid, "rejected", &json!({ "path": path, "code": code, "status": status, "why": detail }));
}
