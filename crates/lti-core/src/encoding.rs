//! Small codecs the protocol needs: base64url, `application/x-www-form-urlencoded`, HTML text.
//!
//! All decoders are total: they return `None`/skip on bad input and never panic.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Strict base64url without padding, as JWS compact serialization requires (RFC 7515 §2).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// base64url without padding.
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Lenient decoding for JWK members some platforms publish badly (padding, standard alphabet,
/// whitespace): `+`/`/` are mapped to `-`/`_` and padding is accepted.
pub fn b64_lenient_decode(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    LENIENT_URL.decode(cleaned.as_bytes()).ok()
}

/// Parse an `application/x-www-form-urlencoded` string (also a URL query) into pairs.
/// Invalid percent escapes are kept literally; invalid UTF-8 is replaced. Never panics.
pub fn form_decode(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The value of one hex digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decode `%XX` escapes and `+` (as space).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_val);
                let lo = bytes.get(i + 2).copied().and_then(hex_val);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(nibble(HEX, b >> 4));
            out.push(nibble(HEX, b & 0x0f));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The hex digit for a value < 16 (`get` keeps it total).
fn nibble(digits: &[u8; 16], v: u8) -> char {
    char::from(digits.get(usize::from(v)).copied().unwrap_or(b'0'))
}

/// Encode pairs as a query / form body.
pub fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// Append `%XY` (upper-case hex) for byte `b`.
pub(crate) fn push_escape(out: &mut String, b: u8) {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(nibble(UPPER, b >> 4));
    out.push(nibble(UPPER, b & 0x0f));
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(nibble(LOWER, b >> 4));
        s.push(nibble(LOWER, b & 0x0f));
    }
    s
}

/// Escape text for HTML element content and quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trip_and_bad_escapes() {
        let q = form_encode([("a b", "c&d=é"), ("x", "")]);
        assert_eq!(q, "a%20b=c%26d%3D%C3%A9&x=");
        let back = form_decode(&q);
        assert_eq!(back, vec![("a b".into(), "c&d=é".into()), ("x".into(), "".into())]);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a+b%2Bc"), "a b+c");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn lenient_b64_accepts_padding_and_std_alphabet() {
        assert_eq!(b64_lenient_decode("AQAB"), Some(vec![1, 0, 1]));
        assert_eq!(b64_lenient_decode("AQ=="), Some(vec![1]));
        assert_eq!(b64_lenient_decode("AQ"), Some(vec![1]));
        assert_eq!(b64_lenient_decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("AQ=="), None, "strict decoder refuses padding");
    }

    #[test]
    fn html_escape_escapes_markup() {
        assert_eq!(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
