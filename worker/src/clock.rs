//! The worker's one clock (the core reads none: it is passed `now`).

/// Unix seconds.
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Unix milliseconds.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// ISO 8601 UTC, e.g. `2026-12-02T10:00:00.000Z`.
pub fn iso_now() -> String {
    js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default()
}

/// Wait `ms` milliseconds (a timer; no I/O).
pub async fn sleep_ms(ms: i32) {
    use wasm_bindgen::JsCast;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
