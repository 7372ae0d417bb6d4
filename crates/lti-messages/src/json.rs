//! A small JSON reader and writer for window messages, without serde.
//!
//! The browser embed kit (`lti-embed`) reads every `postMessage` it accepts, and writes every
//! reply and event detail, through this module; [`crate::messages`] checks the parsed values
//! against the message schemas. It exists so that the kit's wasm module links neither
//! serde_json nor `core::fmt`'s float formatting (together more than half of the module):
//! numbers are converted by the exact decimal routines below, in a few hundred bytes. The LTI
//! core (`lti-core`) and the worker keep serde_json.
//!
//! ## What is accepted
//! - RFC 8259 exactly: no comments, trailing commas, single quotes, `NaN`, leading `+`, `.5`,
//!   `5.` or leading zeros; no byte order mark; only whitespace after the value.
//! - At most `max_bytes` of text per [`parse`] call, and at most [`MAX_DEPTH`] nested arrays
//!   and objects (serde_json's recursion limit).
//! - Numbers become the nearest `f64` (ties to even, as `JSON.parse`); a number beyond `f64`'s
//!   range is refused, as serde_json refuses it.
//! - A key may appear more than once in an object: lookups see the last value, as with
//!   `JSON.parse` and serde_json (see [`Object`]).
//! - A `\uD800`–`\uDFFF` escape that is not half of a surrogate pair decodes to U+FFFD, which is
//!   also what a JavaScript string with a lone surrogate becomes when it crosses into wasm.
//!
//! ## What is written
//! Compact JSON that `JSON.parse` reads back to the same value: strings escape `"`, `\`, control
//! characters and U+2028/U+2029; numbers are the shortest decimal that reads back to the same
//! `f64` (the digits JavaScript's `Number#toString` chooses); non-finite numbers are `null`.

use std::cmp::Ordering;

/// Deepest nesting of arrays and objects [`parse`] accepts.
pub const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number (finite when parsed or built with `From`; a non-finite one is written `null`).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

/// An object's members in document (or insertion) order.
///
/// Parsed text may repeat a key; [`Object::get`] then returns the last value, and written text
/// keeps every member, which `JSON.parse` reads the same way (last wins). Keeping repeats
/// instead of removing them while parsing keeps parsing linear in the size of the text.
/// [`Object::insert`] replaces every earlier member of that key. Equality is by content: order
/// does not matter and a repeated key compares as its last value.
#[derive(Debug, Clone, Default)]
pub struct Object(Vec<(String, Value)>);

static NULL: Value = Value::Null;

impl Value {
    /// The member `key` of an object (`None` for other values).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }
}

/// `value["key"]`: the member, or `null` when absent or not an object (never panics).
impl std::ops::Index<&str> for Value {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

/// `value == "text"`: whether this is that string.
impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// `value == 7`: whether this is that number.
impl PartialEq<i32> for Value {
    fn eq(&self, other: &i32) -> bool {
        self.as_f64() == Some(f64::from(*other))
    }
}

/// `value == 7.5`: whether this is that number.
impl PartialEq<f64> for Value {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == Some(*other)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Non-finite numbers become `null` (as in `JSON.stringify` and serde_json's `json!`).
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        if n.is_finite() {
            Value::Number(n)
        } else {
            Value::Null
        }
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Number(f64::from(n))
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(o)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl Object {
    /// An empty object.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of `key` (the last one if parsed text repeated it).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Set `key`: in the place of its first member when present (as assigning a property in
    /// JavaScript), dropping any repeats; at the end otherwise.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.0.iter().position(|(k, _)| *k == key) {
            Some(first) => {
                let mut i = 0;
                self.0.retain(|(k, _)| {
                    i += 1;
                    i - 1 == first || *k != key
                });
                if let Some(slot) = self.0.get_mut(first) {
                    slot.1 = value;
                }
            }
            None => self.0.push((key, value)),
        }
    }

    /// Builder form of [`Object::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(key, value.into());
        self
    }

    /// Members in order, repeats included (see the type's documentation).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Members as written, repeats included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the member at `i` is the last one of its key (the one lookups see).
    fn is_last_of_key(&self, i: usize) -> bool {
        self.0.get(i).is_some_and(|(k, _)| !self.0.iter().skip(i + 1).any(|(k2, _)| k2 == k))
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        let covers = |a: &Object, b: &Object| {
            (0..a.0.len())
                .filter(|i| a.is_last_of_key(*i))
                .all(|i| a.0.get(i).is_some_and(|(k, v)| b.get(k) == Some(v)))
        };
        covers(self, other) && covers(other, self)
    }
}

/// Why text was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Longer than the limit given to [`parse`].
    TooLarge,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Not JSON (or a number out of `f64`'s range).
    Invalid,
}

/// Parse `text` (at most `max_bytes` bytes) as one JSON value.
pub fn parse(text: &str, max_bytes: usize) -> Result<Value, ParseError> {
    if text.len() > max_bytes {
        return Err(ParseError::TooLarge);
    }
    let mut r = Reader { s: text, b: text.as_bytes(), i: 0, depth: 0 };
    let v = r.value()?;
    r.ws();
    if r.i != r.b.len() {
        return Err(ParseError::Invalid);
    }
    Ok(v)
}

/// Parse `text` as exactly one JSON number (surrounding whitespace allowed), e.g. `"640"` in
/// `{"height": "640px"}`. `"+5"`, `".5"`, `"5."`, `"0x10"` and out-of-range numbers are refused.
pub fn parse_number(text: &str) -> Option<f64> {
    match parse(text, usize::MAX) {
        Ok(Value::Number(n)) => Some(n),
        _ => None,
    }
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, ParseError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(ParseError::Invalid)
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.ws();
        match self.peek() {
            Some(b'{') => self.nested(true),
            Some(b'[') => self.nested(false),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            _ => Err(ParseError::Invalid),
        }
    }

    /// An object or an array; the reader is at its opening bracket.
    fn nested(&mut self, object: bool) -> Result<Value, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        self.depth += 1;
        self.i += 1;
        let close = if object { b'}' } else { b']' };
        let mut members = Vec::new();
        let mut items = Vec::new();
        self.ws();
        if !self.eat(close) {
            loop {
                if object {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(ParseError::Invalid);
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err(ParseError::Invalid);
                    }
                    members.push((key, self.value()?));
                } else {
                    items.push(self.value()?);
                }
                self.ws();
                if self.eat(close) {
                    break;
                }
                if !self.eat(b',') {
                    return Err(ParseError::Invalid);
                }
            }
        }
        self.depth -= 1;
        Ok(if object { Value::Object(Object(members)) } else { Value::Array(items) })
    }

    /// A string; the reader is at its opening quote.
    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control character. Those are
            // ASCII, so the run ends on a character boundary of the (valid UTF-8) input.
            let start = self.i;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            out.push_str(self.s.get(start..self.i).ok_or(ParseError::Invalid)?);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or(ParseError::Invalid)?;
                    self.i += 1;
                    out.push(match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(ParseError::Invalid),
                    });
                }
                // A raw control character, or the end of the text.
                _ => return Err(ParseError::Invalid),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = char::from(self.peek().ok_or(ParseError::Invalid)?).to_digit(16).ok_or(ParseError::Invalid)?;
            n = n * 16 + d;
            self.i += 1;
        }
        Ok(n)
    }

    /// The code point of `\uXXXX` (after the `u`), joining a surrogate pair; a lone surrogate
    /// is U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.b.get(self.i..self.i + 2) == Some(b"\\u") {
            let save = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                return Ok(char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or('\u{FFFD}'));
            }
            // Not a low surrogate: this escape stands alone; the next one is read on its own.
            self.i = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn digits(&mut self, into: &mut Vec<u8>) -> usize {
        let start = self.i;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            into.push(c);
            self.i += 1;
        }
        self.i - start
    }

    /// A number (RFC 8259 grammar), as the nearest f64.
    fn number(&mut self) -> Result<f64, ParseError> {
        let negative = self.eat(b'-');
        let mut digits = Vec::new();
        let int_len = match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(ParseError::Invalid);
                }
                0
            }
            Some(b'1'..=b'9') => self.digits(&mut digits),
            _ => return Err(ParseError::Invalid),
        };
        if self.eat(b'.') && self.digits(&mut digits) == 0 {
            return Err(ParseError::Invalid);
        }
        let mut exp: i64 = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            let neg_exp = !self.eat(b'+') && self.eat(b'-');
            let mut any = false;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                // Saturate: anything past ±10^9 is out of range (or zero) either way.
                exp = (exp * 10 + i64::from(c - b'0')).min(1_000_000_000);
                self.i += 1;
                any = true;
            }
            if !any {
                return Err(ParseError::Invalid);
            }
            if neg_exp {
                exp = -exp;
            }
        }
        // value = 0.d₁d₂… × 10^point, with leading zeros (of "0.005") moving the point.
        let lead = digits.iter().take_while(|&&c| c == b'0').count();
        let point = int_len as i64 - lead as i64 + exp;
        digits.drain(..lead);
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        let n = decimal_to_f64(&digits, point).ok_or(ParseError::Invalid)?;
        Ok(if negative { -n } else { n })
    }
}

/// `v` as compact JSON text.
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(128);
    write(v, &mut out);
    out
}

/// Append `v` as compact JSON text.
pub fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(*n, out),
        Value::String(s) => write_string(s, out),
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
                write_string(k, out);
                out.push(':');
                write(x, out);
            }
            out.push('}');
        }
    }
}

/// Append `s` as a JSON string literal.
pub fn write_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Other controls, and U+2028/2029 (valid in JSON, but line terminators in older
            // JavaScript): \u00XX / \u2028.
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str("\\u");
                let n = c as u32;
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX.get(((n >> shift) & 0xF) as usize).copied().unwrap_or(b'0')));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Append a number: the shortest decimal that reads back as `x`, laid out as JavaScript's
/// `Number#toString` does (`1e+21`, `1e-7`); `null` when not finite.
pub fn write_number(x: f64, out: &mut String) {
    if !x.is_finite() {
        out.push_str("null");
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    let a = x.abs();
    // Whole numbers below 2^53 (every integer there is exact): their digits as they are.
    if a < 9_007_199_254_740_992.0 && a.trunc() == a {
        push_uint(out, a as u64);
        return;
    }
    let (d, point) = shortest(a);
    let k = d.len() as i64;
    let push_digits = |out: &mut String, ds: &[u8]| ds.iter().for_each(|&c| out.push(char::from(c)));
    let split = usize::try_from(point).unwrap_or(0).min(d.len());
    let (int, frac) = d.split_at(split);
    if 0 < point && point <= 21 {
        push_digits(out, int);
        (k..point).for_each(|_| out.push('0'));
        if !frac.is_empty() {
            out.push('.');
            push_digits(out, frac);
        }
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        (point..0).for_each(|_| out.push('0'));
        push_digits(out, &d);
    } else {
        let (first, rest) = d.split_at(d.len().min(1));
        push_digits(out, first);
        if !rest.is_empty() {
            out.push('.');
            push_digits(out, rest);
        }
        let e = point - 1;
        out.push_str(if e < 0 { "e-" } else { "e+" });
        push_uint(out, e.unsigned_abs());
    }
}

/// Append `n` in decimal, without `core::fmt` (whose machinery the browser module avoids).
pub fn push_uint(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    for slot in buf.iter_mut() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    buf.iter().take(len).rev().for_each(|&c| out.push(char::from(c)));
}

// ---- exact decimal conversions
//
// A decimal is `0.d₁d₂…dₙ × 10^point` with ASCII digits, d₁ ≠ 0 and dₙ ≠ 0 (empty for zero).
// Every finite f64 is m × 2^q exactly, which has a finite decimal expansion (m × 5^-q / 10^-q
// for q < 0): big-number arithmetic in base 10⁹ computes it. Reading compares the text against
// the exact midpoints between neighbouring f64s; writing tries 1, 2, … significant digits until
// one reads back. The common cases take fast paths (whole numbers below 2^53 when writing;
// up to 15 digits with a power of ten up to 10²² when reading).

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

fn pow10(e: i64) -> f64 {
    POW10.get(e.unsigned_abs() as usize).copied().unwrap_or(f64::INFINITY)
}

fn digits_u64(d: &[u8]) -> u64 {
    d.iter().fold(0u64, |n, &c| n.wrapping_mul(10).wrapping_add(u64::from(c - b'0')))
}

/// The nearest f64 to a decimal (ties to even); `None` when it rounds beyond `f64::MAX`.
fn decimal_to_f64(d: &[u8], point: i64) -> Option<f64> {
    if d.is_empty() {
        return Some(0.0);
    }
    let e10 = point - d.len() as i64; // value = int(d) × 10^e10
                                      // Exact: an integer below 10^15 < 2^53 and an exact power of ten, one rounding.
    if d.len() <= 15 && (-22..=22).contains(&e10) {
        let w = digits_u64(d) as f64;
        return Some(if e10 >= 0 { w * pow10(e10) } else { w / pow10(e10) });
    }
    if point > 310 {
        return None; // ≥ 10^309
    }
    if point < -324 {
        return Some(0.0); // < 10^-325, below half the smallest subnormal
    }
    // An estimate within a few units in the last place, then exact comparisons with the
    // midpoints to its neighbours move it to the nearest.
    let lead = d.get(..19).unwrap_or(d);
    let mut e = point - lead.len() as i64;
    let mut a = digits_u64(lead) as f64;
    while e > 22 {
        a *= 1e22;
        e -= 22;
    }
    while e < -22 {
        a /= 1e22;
        e += 22;
    }
    a = if e >= 0 { a * pow10(e) } else { a / pow10(e) };
    let mut bits = a.min(f64::MAX).to_bits();
    const MAX_BITS: u64 = 0x7FEF_FFFF_FFFF_FFFF;
    loop {
        let up = compare(d, point, &midpoint(bits));
        if up == Ordering::Greater || (up == Ordering::Equal && bits & 1 == 1) {
            if bits == MAX_BITS {
                return None;
            }
            bits += 1;
            if up == Ordering::Equal {
                break;
            }
            continue;
        }
        if up == Ordering::Equal || bits == 0 {
            break;
        }
        let down = compare(d, point, &midpoint(bits - 1));
        if down == Ordering::Less || (down == Ordering::Equal && bits & 1 == 1) {
            bits -= 1;
            if down == Ordering::Equal {
                break;
            }
            continue;
        }
        break;
    }
    Some(f64::from_bits(bits))
}

fn compare(d: &[u8], point: i64, (d2, point2): &(Vec<u8>, i64)) -> Ordering {
    point.cmp(point2).then_with(|| d.cmp(d2))
}

/// `(m, q)` with the non-negative f64 of these bits = m × 2^q; the bits of +∞ give 2^1024, the
/// value just past `f64::MAX`.
fn decompose(bits: u64) -> (u64, i64) {
    let e = ((bits >> 52) & 0x7FF) as i64;
    let f = bits & ((1 << 52) - 1);
    if e == 0 {
        (f, -1074)
    } else {
        (f | 1 << 52, e - 1075)
    }
}

/// The exact decimal halfway between the f64 of `bits` and the next one up.
fn midpoint(bits: u64) -> (Vec<u8>, i64) {
    let (m1, q1) = decompose(bits);
    let (m2, q2) = decompose(bits + 1);
    let q = q1.min(q2);
    // q1 and q2 differ by at most one, and m1, m2 ≤ 2^53: no overflow.
    exact_decimal((m1 << (q1 - q)) + (m2 << (q2 - q)), q - 1)
}

/// The exact decimal of m × 2^q (m > 0, |q| ≤ 1075).
fn exact_decimal(m: u64, q: i64) -> (Vec<u8>, i64) {
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u32> = Vec::with_capacity(96);
    let mut v = m;
    while v > 0 {
        limbs.push((v % BASE) as u32);
        v /= BASE;
    }
    // m × 2^q, or m × 5^-q (then the point moves -q places left): multiply in chunks whose
    // factor stays below 2^31 so a limb times it plus the carry fits in a u64.
    let (base, chunk, mut left) = if q >= 0 { (2u64, 30, q) } else { (5, 13, -q) };
    while left > 0 {
        let k = left.min(chunk);
        let factor = base.pow(k as u32);
        let mut carry = 0u64;
        for limb in limbs.iter_mut() {
            let t = u64::from(*limb) * factor + carry;
            *limb = (t % BASE) as u32;
            carry = t / BASE;
        }
        while carry > 0 {
            limbs.push((carry % BASE) as u32);
            carry /= BASE;
        }
        left -= k;
    }
    let mut d = Vec::with_capacity(limbs.len() * 9);
    for &limb in limbs.iter().rev() {
        let mut nine = [b'0'; 9];
        let mut v = limb;
        for slot in nine.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        d.extend_from_slice(&nine);
    }
    let lead = d.iter().take_while(|&&c| c == b'0').count();
    d.drain(..lead);
    let point = d.len() as i64 - q.min(0).abs();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, point)
}

/// The shortest decimal that reads back as `a` (finite, > 0), the nearest one among those.
fn shortest(a: f64) -> (Vec<u8>, i64) {
    let (m, q) = decompose(a.to_bits());
    let (d, point) = exact_decimal(m, q);
    // 17 significant digits always read back; try fewer first.
    for p in 1..d.len().min(18) {
        let (head, rest) = d.split_at(p);
        let mut r = head.to_vec();
        let mut rp = point;
        // Round half to even on the exact remainder (no trailing zeros: "5" alone is a tie).
        let up = match rest.first() {
            Some(&c) if c > b'5' => true,
            Some(b'5') => rest.len() > 1 || head.last().is_some_and(|&c| (c - b'0') % 2 == 1),
            _ => false,
        };
        if up {
            let mut carry = true;
            for c in r.iter_mut().rev() {
                if *c == b'9' {
                    *c = b'0';
                } else {
                    *c += 1;
                    carry = false;
                    break;
                }
            }
            if carry {
                r.insert(0, b'1');
                rp += 1;
            }
        }
        while r.last() == Some(&b'0') {
            r.pop();
        }
        if decimal_to_f64(&r, rp) == Some(a) {
            return (r, rp);
        }
    }
    (d, point)
}

#[cfg(test)]
mod tests;
