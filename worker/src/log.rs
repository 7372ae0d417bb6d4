//! One JSON line per event, with the correlation id the client also sees. Never logs tokens,
//! names or emails.

use serde_json::json;

/// Info lines go to `console.log`, warnings and rejections to `console.warn`, so a runtime (or
/// `wrangler dev --log-level warn`) that shows only warnings still shows every rejection with
/// its correlation id and internal reason.
fn emit(level: &str, cid: &str, event: &str, detail: serde_json::Value) {
    let line = json!({ "level": level, "cid": cid, "event": event, "detail": detail });
    if level == "info" {
        worker::console_log!("{}", line);
    } else {
        worker::console_warn!("{}", line);
    }
}

/// Informational event with structured fields.
pub fn info(cid: &str, event: &str, fields: serde_json::Value) {
    emit("info", cid, event, fields);
}

/// Warning with a text detail.
pub fn warn(cid: &str, event: &str, detail: &str) {
    emit("warn", cid, event, json!(detail));
}

/// A rejection: code, status and internal detail.
pub fn rejected(cid: &str, path: &str, code: &str, status: u16, detail: &str) {
    emit("warn", cid, "rejected", json!({ "path": path, "code": code, "status": status, "why": detail }));
}
