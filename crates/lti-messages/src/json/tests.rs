#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

fn p(text: &str) -> Result<Value, ParseError> {
    parse(text, usize::MAX)
}

fn ok(text: &str) -> Value {
    p(text).unwrap_or_else(|e| panic!("{text:?} refused: {e:?}"))
}

/// serde_json's reading of the same text, converted member by member (an independent parser).
fn from_serde(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap()),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(from_serde).collect()),
        serde_json::Value::Object(m) => {
            Value::Object(m.iter().fold(Object::new(), |o, (k, v)| o.with(k.as_str(), from_serde(v))))
        }
    }
}

/// A deterministic xorshift generator for the randomised cross-checks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn reads_every_kind_of_value() {
    let v = ok(r#" { "a" : [1, -2.5, 3e2, true, false, null, "x", {}, []], "b": {"c": "d"}, "": 0 } "#);
    assert_eq!(v["a"].as_array().map(Vec::len), Some(9));
    assert_eq!(v["a"].as_array().unwrap()[2], Value::Number(300.0));
    assert_eq!(v["a"].as_array().unwrap()[1], Value::Number(-2.5));
    assert_eq!(v["b"]["c"].as_str(), Some("d"));
    assert_eq!(v[""].as_f64(), Some(0.0));
    assert!(v["missing"].is_null(), "absent members index as null");
    assert!(v["a"]["x"].is_null(), "indexing a non-object is null, not a panic");
    for (text, want) in [
        ("null", Value::Null),
        ("true", Value::Bool(true)),
        ("0", Value::Number(0.0)),
        ("\"\"", Value::String(String::new())),
    ] {
        assert_eq!(ok(text), want, "{text}");
    }
    assert_eq!(ok("\t\r\n [ ] \n"), Value::Array(Vec::new()));
}

#[test]
fn agrees_with_serde_json_on_valid_documents() {
    for text in [
        r#"{"subject":"lti.frameResize","height":1500.4,"message_id":7}"#,
        r#"{"a":{"b":{"c":[1,2,{"d":null}]}},"e":"\u00e9\ud83d\ude00\n\t\"\\\/","f":-0.0,"g":1E-3}"#,
        r#"[0.1,0.2,0.30000000000000004,123456789012345678901234567890,5e-324,1.7976931348623157e308]"#,
        r#""Grüße, 日本, 😀""#,
    ] {
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ok(text), from_serde(&theirs), "{text}");
    }
}

#[test]
fn refuses_what_is_not_json() {
    for text in [
        "",
        " ",
        "nul",
        "tru",
        "True",
        "NaN",
        "Infinity",
        "-Infinity",
        "undefined",
        "'a'",
        "{a:1}",
        "{'a':1}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{\"a\"}",
        "{\"a\":}",
        "{,}",
        "{\"a\" 1}",
        "[1 2]",
        "[",
        "]",
        "{",
        "{\"a\":1",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"a\u{1}b\"",
        "\"tab\there\"",
        "\"nl\nhere\"",
        "+1",
        ".5",
        "5.",
        "01",
        "-01",
        "00",
        "-",
        "1e",
        "1e+",
        "1.e5",
        "0x10",
        "1_000",
        "--1",
        "1 2",
        "{} x",
        "[]]",
        "/* c */ 1",
        "1 // c",
        "\u{feff}1",
        "1e400",
        "-1e400",
        "1e309",
    ] {
        assert_eq!(p(text), Err(ParseError::Invalid), "{text:?} accepted");
    }
}

#[test]
fn depth_and_size_limits() {
    let nest = |n: usize, open: &str, close: &str| format!("{}{}", open.repeat(n), close.repeat(n));
    assert!(p(&nest(MAX_DEPTH, "[", "]")).is_ok());
    assert_eq!(p(&nest(MAX_DEPTH + 1, "[", "]")), Err(ParseError::TooDeep));
    assert!(p(&format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH))).is_ok());
    assert_eq!(
        p(&format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1))),
        Err(ParseError::TooDeep)
    );
    // Deep text that is also unterminated: refused either way, without recursion trouble.
    assert!(p(&"[".repeat(100_000)).is_err());
    // Depth counts nesting, not how many containers there are.
    assert!(p(&format!("[{}]", vec!["[[]]"; 1000].join(","))).is_ok());

    let text = r#"{"a":"0123456789"}"#;
    assert!(parse(text, text.len()).is_ok());
    assert_eq!(parse(text, text.len() - 1), Err(ParseError::TooLarge));
}

#[test]
fn string_escapes_and_surrogates() {
    assert_eq!(ok(r#""\"\\\/\b\f\n\r\t""#).as_str(), Some("\"\\/\u{8}\u{c}\n\r\t"));
    assert_eq!(ok(r#""\u0041\u00e9\u2028\uFFFF""#).as_str(), Some("Aé\u{2028}\u{ffff}"));
    assert_eq!(ok(r#""\ud83d\ude00""#).as_str(), Some("😀"), "a surrogate pair is one code point");
    assert_eq!(ok(r#""\uD83D\uDE00""#).as_str(), Some("😀"));
    // Lone surrogates (valid JSON; what JSON.stringify writes for a JS string holding one).
    assert_eq!(ok(r#""\ud800""#).as_str(), Some("\u{fffd}"));
    assert_eq!(ok(r#""\udc00x""#).as_str(), Some("\u{fffd}x"));
    assert_eq!(ok(r#""\ud800\u0041""#).as_str(), Some("\u{fffd}A"), "the next escape is read on its own");
    assert_eq!(ok(r#""\ud800\ud83d\ude00""#).as_str(), Some("\u{fffd}😀"));
    assert_eq!(ok(r#""\ud800\n""#).as_str(), Some("\u{fffd}\n"));
    assert_eq!(ok("\"raw é 😀 \u{7f}\"").as_str(), Some("raw é 😀 \u{7f}"));
    assert_eq!(p(r#""\ud800\u12""#), Err(ParseError::Invalid));
}

#[test]
fn writes_escaped_strings_that_read_back() {
    let s = "quote \" backslash \\ slash / nl \n cr \r tab \t nul \u{0} bell \u{7} bs \u{8} ff \u{c} us \u{1f} del \u{7f} ls \u{2028} ps \u{2029} é 日本 😀 \u{fffd}";
    let text = to_string(&Value::from(s));
    assert_eq!(
        text,
        "\"quote \\\" backslash \\\\ slash / nl \\n cr \\r tab \\t nul \\u0000 bell \\u0007 bs \\u0008 ff \\u000c us \\u001f del \u{7f} ls \\u2028 ps \\u2029 é 日本 😀 \u{fffd}\""
    );
    assert!(!text.chars().any(|c| (c as u32) < 0x20), "no raw control characters");
    assert_eq!(ok(&text).as_str(), Some(s));
    let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(theirs.as_str(), Some(s));
    // A lone surrogate that came in as an escape goes out as U+FFFD, which is valid everywhere.
    assert_eq!(to_string(&ok(r#"{"k":"a\udfffb"}"#)), "{\"k\":\"a\u{fffd}b\"}");
}

#[test]
fn duplicate_keys_last_wins() {
    let v = ok(r#"{"subject":"lti.frameResize","height":1,"subject":"lti.put_data"}"#);
    assert_eq!(v["subject"].as_str(), Some("lti.put_data"), "as JSON.parse and serde_json");
    let theirs: serde_json::Value = serde_json::from_str(&to_string(&v)).unwrap();
    assert_eq!(theirs["subject"], "lti.put_data", "the written text reads the same way");
    assert_eq!(v, ok(r#"{"height":1,"subject":"lti.put_data"}"#), "equal by content");
    assert_ne!(v, ok(r#"{"height":1,"subject":"lti.frameResize"}"#));
    let Value::Object(mut o) = v else { panic!() };
    o.insert("subject", Value::from("x"));
    assert_eq!(o.len(), 2, "insert drops the repeats");
    assert_eq!(to_string(&Value::Object(o)), r#"{"subject":"x","height":1}"#, "in the first one's place");
}

#[test]
fn objects_compare_by_content_and_keep_order() {
    let a = Object::new().with("b", 1.0).with("a", "x");
    assert_eq!(to_string(&Value::Object(a.clone())), r#"{"b":1,"a":"x"}"#);
    assert_eq!(Value::Object(a.clone()), ok(r#"{"a":"x","b":1}"#));
    assert_ne!(Value::Object(a.clone()), ok(r#"{"a":"x"}"#));
    assert_ne!(Value::Object(a), ok(r#"{"a":"x","b":1,"c":null}"#));
    assert_eq!(Value::from(f64::NAN), Value::Null);
    assert_eq!(to_string(&Value::Number(f64::INFINITY)), "null");
}

#[test]
fn numbers_read_exactly() {
    for (text, want) in [
        ("0", 0.0),
        ("-0", -0.0),
        ("-0.0e7", -0.0),
        ("1500", 1500.0),
        ("1500.4", 1500.4),
        ("1E3", 1000.0),
        ("1e-3", 0.001),
        ("0.1", 0.1),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("9007199254740993", 9007199254740992.0), // a tie: to even
        ("9007199254740995", 9007199254740996.0),
        ("9007199254740993.0000000000000000000000001", 9007199254740994.0), // just above the tie
        ("2.2250738585072011e-308", 2.225073858507201e-308),
        ("2.2250738585072014e-308", f64::MIN_POSITIVE),
        ("4.9406564584124654e-324", 5e-324),
        ("2.4703282292062328e-324", 5e-324),
        ("2.4703282292062327e-324", 0.0), // below half the smallest subnormal
        ("1e-400", 0.0),
        ("1.7976931348623157e308", f64::MAX),
        ("1.7976931348623158e308", f64::MAX),
        ("0.000000000000000000000000000000000000000000001e45", 1.0),
        ("100000000000000000000000000000000000000000000e-43", 10.0),
    ] {
        let got = p(text).ok().and_then(|v| v.as_f64());
        assert_eq!(got.map(f64::to_bits), Some(want.to_bits()), "{text}: {got:?}");
    }
    // Past f64::MAX by half a unit or more: out of range, as serde_json.
    assert_eq!(p("1.7976931348623159e308"), Err(ParseError::Invalid));
    assert_eq!(parse_number(" 640 "), Some(640.0));
    for bad in ["", "px", "640px", "+5", ".5", "5.", "0x10", "1e999", "\"5\"", "[5]", "5 5"] {
        assert_eq!(parse_number(bad), None, "{bad:?}");
    }
}

#[test]
fn numbers_read_as_std_parses_them() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..6_000 {
        let longest = if rng.below(4) == 0 { 40 } else { 20 };
        let digits = 1 + rng.below(longest) as usize;
        let mut text: String = (0..digits).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
        text = text.trim_start_matches('0').to_string(); // JSON has no leading zeros
        if text.is_empty() {
            text.push('0');
        }
        if rng.below(2) == 0 && text.len() > 1 {
            let at = 1 + rng.below(text.len() as u64 - 1) as usize;
            text.insert(at, '.');
        }
        let e = rng.below(700) as i64 - 350;
        let text = format!("{}{text}e{e}", if rng.below(2) == 0 { "-" } else { "" });
        let want: f64 = text.parse().unwrap();
        match p(&text) {
            Ok(Value::Number(n)) => assert_eq!(n.to_bits(), want.to_bits(), "{text}"),
            other => assert!(want.is_infinite(), "{text}: {other:?}, std {want}"),
        }
    }
}

#[test]
fn numbers_read_round_trips_of_random_bits() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..2_000 {
        let x = f64::from_bits(rng.next() & 0x7FFF_FFFF_FFFF_FFFF);
        if !x.is_finite() {
            continue;
        }
        for text in [format!("{x:e}"), format!("{x:.25e}"), format!("{x}")] {
            let got = p(&text).ok().and_then(|v| v.as_f64());
            assert_eq!(got.map(f64::to_bits), Some(text.parse::<f64>().unwrap().to_bits()), "{text}");
        }
    }
}

/// Rust's `{:e}` prints the shortest digits that read back (the nearest such): the digits the
/// writer must choose, except that on an exact tie between two nearest candidates JavaScript
/// (and the writer) takes the even one and Rust the upper one; the layout differs too.
fn std_digits(x: f64) -> (String, i64) {
    let s = format!("{x:e}");
    let (m, e) = s.split_once('e').unwrap();
    (m.replace('.', ""), e.parse::<i64>().unwrap() + 1)
}

/// The exact decimal expansion (Rust prints it exactly when asked for enough digits).
fn std_digits_exact(x: f64) -> (String, i64) {
    let s = format!("{x:.1100e}");
    let (m, e) = s.split_once('e').unwrap();
    (m.replace('.', "").trim_end_matches('0').to_string(), e.parse::<i64>().unwrap() + 1)
}

fn our_digits(text: &str) -> (String, i64) {
    let (m, e) = text.split_once('e').map_or((text, 0), |(m, e)| (m, e.parse::<i64>().unwrap()));
    let m = m.trim_start_matches('-');
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    (digits, int.len() as i64 - lead as i64 + e)
}

#[test]
fn numbers_write_like_javascript() {
    for (x, want) in [
        (0.0, "0"),
        (-0.0, "-0"),
        (7.0, "7"),
        (-800.0, "-800"),
        (1500.4, "1500.4"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.0 / 3.0, "0.3333333333333333"),
        (40.5, "40.5"),
        (123.456, "123.456"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (9007199254740991.0, "9007199254740991"),
        (9007199254740992.0, "9007199254740992"),
        (1152921504606846976.0, "1152921504606847000"),
        (1e21, "1e+21"),
        (1.2345e25, "1.2345e+25"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (-2.5e-300, "-2.5e-300"),
        (f64::NAN, "null"),
        (f64::NEG_INFINITY, "null"),
    ] {
        assert_eq!(to_string(&Value::Number(x)), want, "{x:e}");
    }
}

#[test]
fn numbers_write_shortest_and_read_back() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for i in 0..6_000 {
        let x = match i % 4 {
            // Any bits; values with two decimals (heights, scroll offsets); small integers
            // times a power of two; around the subnormal range.
            0 => f64::from_bits(rng.next()),
            1 => (rng.below(10_000_000) as f64) / 100.0,
            2 => (rng.below(1 << 20) as f64) * 2f64.powi(rng.below(200) as i32 - 100),
            _ => f64::from_bits(rng.below(1 << 54)),
        };
        if !x.is_finite() {
            continue;
        }
        let text = to_string(&Value::Number(x));
        assert_eq!(ok(&text).as_f64().map(f64::to_bits), Some(x.to_bits()), "{text} reads back");
        assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(x.to_bits()), "{text} std reads it too");
        if x != 0.0 {
            let (ours, theirs) = (our_digits(&text), std_digits(x.abs()));
            if ours != theirs {
                // Only on an exact tie: the exact expansion continues with 5 and nothing else.
                let exact = std_digits_exact(x.abs());
                let rest = exact.0.get(ours.0.len()..).unwrap_or("");
                let (o, t) = (digits_u64(ours.0.as_bytes()), digits_u64(theirs.0.as_bytes()));
                let tie =
                    ours.0.len() == theirs.0.len() && ours.1 == theirs.1 && t == o + 1 && o % 2 == 0 && rest == "5";
                assert!(tie, "{text} vs {x:e}");
            }
        }
    }
}
