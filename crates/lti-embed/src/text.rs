//! Building short texts without `core::fmt` (whose machinery the browser module avoids).

/// Append `n` in decimal (the core's JSON writer's own).
pub use lti_messages::json::push_uint;

/// Append the low `digits` hex digits of `n`, zero-padded, lower case.
#[cfg_attr(not(feature = "tool"), allow(dead_code))]
pub fn push_hex(out: &mut String, n: u32, digits: u32) {
    for i in (0..digits.min(8)).rev() {
        let d = (n >> (i * 4)) & 0xF;
        out.push(char::from_digit(d, 16).unwrap_or('0'));
    }
}

/// The concatenation of `parts`.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| out.push_str(p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_format_writes_them() {
        for n in [0u64, 7, 10, 800, 4_294_967_295, u64::MAX] {
            let mut s = String::new();
            push_uint(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        for (n, digits) in [(0u32, 6), (0xabc, 8), (0xffffff, 6), (0x1234567, 6), (u32::MAX, 8)] {
            let mut s = String::new();
            push_hex(&mut s, n, digits);
            assert_eq!(s, format!("{:0w$x}", n & ((1u64 << (4 * digits)) - 1) as u32, w = digits as usize));
        }
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }
}
