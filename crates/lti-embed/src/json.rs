//! A small JSON writer for [`serde_json::Value`].
//!
//! The browser module hands values to JavaScript as JSON text for one `JSON.parse` (one string
//! crossing instead of one per key, and every key an own data property, `__proto__` included).
//! serde_json's serializer would do the same but adds its formatting machinery to the wasm
//! module; numbers here use `Number`'s `Display`, which the core already links.

use std::fmt::Write;

use serde_json::Value;

/// `v` as compact JSON text.
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(128);
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // Display of a finite serde_json Number is valid JSON (NaN/∞ cannot be a Number).
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                write(x, out);
            }
            out.push('}');
        }
    }
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Other controls, and U+2028/2029 (valid JSON, but kept escaped as serde_json does
            // not; harmless either way).
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_through_serde_json() {
        for v in [
            json!(null),
            json!({"a": [1, -2, 3.5, 1e300, 0.1, true, false, null], "b": {"c": "d"}}),
            json!({"s": "quote \" backslash \\ nl \n tab \t cr \r nul \u{0} bell \u{7} ls \u{2028} é 😀"}),
            json!({"__proto__": {"polluted": true}, "": ""}),
            json!([[], {}, "", 18446744073709551615u64, -9223372036854775808i64]),
        ] {
            let text = to_string(&v);
            let back: Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(back, v, "{text}");
        }
    }
}
