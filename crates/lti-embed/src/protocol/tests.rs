use std::path::{Path, PathBuf};

use super::*;
use crate::host::Event;

/// The generated module, relative to the crate.
const GENERATED: &str = "js/protocol.js";
/// The hand-written modules that speak to the core.
const USERS: [&str; 2] = ["js/kit.js", "js/element.js"];

fn file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A value as a JS literal.
trait Js {
    fn js(&self) -> String;
}

impl Js for u32 {
    fn js(&self) -> String {
        self.to_string()
    }
}

impl Js for &str {
    fn js(&self) -> String {
        assert!(!self.contains(['\'', '\\', '\n']), "{self:?} needs escaping");
        format!("'{self}'")
    }
}

fn group<T: Js>(out: &mut String, what: &str, prefix: &str, rows: &[(&str, T)]) {
    out.push_str("// ");
    out.push_str(what);
    out.push_str("\nexport const ");
    let rows: Vec<String> = rows.iter().map(|(name, v)| format!("{prefix}{name} = {}", v.js())).collect();
    out.push_str(&rows.join(",\n  "));
    out.push_str(";\n\n");
}

/// The text of `js/protocol.js`.
fn render() -> String {
    let mut out = String::from(
        "// GENERATED from crates/lti-embed/src/protocol.rs by its unit test: do not edit.\n\
         // Regenerate: LTI_EDGE_BLESS=1 cargo test -p lti-embed protocol\n\
         // The wasm core's side of the JS <-> wasm contract (what each code means: protocol.rs).\n\n",
    );
    group(&mut out, "Operations: k(op, id, x, a, b).", op::JS_PREFIX, op::ALL);
    group(&mut out, "Effect kinds: [kind, ...args].", effect::JS_PREFIX, effect::ALL);
    group(&mut out, "Animation frame kinds of FX_FRAME.", frame::JS_PREFIX, frame::ALL);
    group(&mut out, "Why the data could not be read (BAD_DATA's x).", bad_data::JS_PREFIX, bad_data::ALL);
    group(&mut out, "Numeric arguments.", arg::JS_PREFIX, arg::ALL);
    group(&mut out, "Results and flags.", result::JS_PREFIX, result::ALL);
    let events: Vec<String> = Event::ALL.iter().map(|e| e.name().js()).collect();
    out.push_str("// Events, in the core's order (bit i of LISTEN's mask).\nexport const EVENTS = [");
    out.push_str(&events.join(", "));
    out.push_str("];\n\n");
    out.push_str("// Largest message (UTF-16 length checked by the JS side; the core counts UTF-8 bytes).\n");
    out.push_str(&format!("export const MAX_MESSAGE = {};\n", lti_messages::MAX_MESSAGE_BYTES));
    out
}

/// Every JS name the generated module exports.
fn js_names() -> Vec<String> {
    fn names<T>(prefix: &str, rows: &[(&str, T)]) -> Vec<String> {
        rows.iter().map(|(n, _)| format!("{prefix}{n}")).collect()
    }
    let mut all = names(op::JS_PREFIX, op::ALL);
    all.extend(names(effect::JS_PREFIX, effect::ALL));
    all.extend(names(frame::JS_PREFIX, frame::ALL));
    all.extend(names(bad_data::JS_PREFIX, bad_data::ALL));
    all.extend(names(arg::JS_PREFIX, arg::ALL));
    all.extend(names(result::JS_PREFIX, result::ALL));
    all.extend(["EVENTS".to_string(), "MAX_MESSAGE".to_string()]);
    all
}

/// Whether `text` has `word` as a whole identifier.
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_none_or(|c| !ident(c));
        let after = text[i + word.len()..].chars().next().is_none_or(|c| !ident(c));
        before && after
    })
}

#[test]
fn js_protocol_module_is_generated_from_the_rust_table() {
    let want = render();
    if std::env::var_os("LTI_EDGE_BLESS").is_some() {
        std::fs::write(file(GENERATED), &want).expect("write js/protocol.js");
        return;
    }
    let have = std::fs::read_to_string(file(GENERATED)).unwrap_or_default();
    if have != want {
        let (line, (h, w)) = have
            .lines()
            .chain(std::iter::repeat(""))
            .zip(want.lines())
            .enumerate()
            .find(|(_, (h, w))| h != w)
            .unwrap_or((0, ("", "")));
        panic!(
            "crates/lti-embed/{GENERATED} does not match src/protocol.rs (the JS layer and the wasm core would \
             disagree). Line {}: file has {h:?}, the Rust table gives {w:?}. If the Rust side is right, regenerate: \
             LTI_EDGE_BLESS=1 cargo test -p lti-embed protocol",
            line + 1
        );
    }
}

#[test]
fn codes_are_distinct_and_operations_split_by_side() {
    fn distinct<T: PartialEq + std::fmt::Debug>(rows: &[(&str, T)]) {
        for (i, (a, x)) in rows.iter().enumerate() {
            for (b, y) in &rows[i + 1..] {
                assert_ne!(x, y, "{a} and {b} share a code");
            }
        }
    }
    distinct(op::ALL);
    distinct(effect::ALL);
    distinct(frame::ALL);
    distinct(bad_data::ALL);
    distinct(result::ALL);
    // The entry point sends everything below T_OPEN to the host side, the rest to the tool side.
    for (name, v) in op::ALL {
        assert_eq!(name.starts_with("T_"), *v >= op::T_OPEN, "{name} = {v} is on the wrong side of T_OPEN");
    }
    // Effect kinds are read as one character on the JS side.
    for (name, v) in effect::ALL {
        assert_eq!(v.len(), 1, "effect {name}");
    }
    // Every bit of LISTEN's mask fits the number the JS side passes.
    assert!(Event::ALL.len() <= 31);
}

/// The JS layer takes its codes from the generated module: no literal op code, effect kind or
/// result marker of its own, and every code the core defines is used.
#[test]
fn js_layer_uses_the_generated_names_only() {
    let kit = read("js/kit.js");
    assert!(kit.contains("from './protocol.js'"), "js/kit.js must import the codes from ./protocol.js");
    let literal = [
        ("call(", "an op code"),
        ("k(", "an op code"),
        ("kind === '", "an effect kind"),
        ("r[0] === '", "a result marker"),
        ("r[0] !== '", "a result marker"),
        ("=== '1'", "a result"),
        ("!== '1'", "a result"),
        ("? '1'", "a flag"),
        (", '1')", "a flag"),
        ("kind === 3", "a frame kind"),
        ("65536", "the message limit"),
    ];
    for (pattern, what) in literal {
        for (i, _) in kit.match_indices(pattern) {
            let next = kit[i + pattern.len()..].chars().next().unwrap_or(' ');
            // A call is fine when its op is a name; the other patterns are never fine.
            let named_call = pattern.ends_with('(') && !next.is_ascii_digit();
            assert!(
                named_call,
                "js/kit.js writes {what} as a literal at `{}`: use the name from js/protocol.js",
                kit[i..].lines().next().unwrap_or_default()
            );
        }
    }
    let users: String = USERS.iter().map(|f| read(f)).collect();
    for name in js_names() {
        assert!(has_word(&users, &name), "{name} (js/protocol.js) is used by none of {USERS:?}");
    }
}

/// The TypeScript event map lists the core's events (and `ready`, the JS side's own).
#[test]
fn typescript_event_map_lists_the_core_events() {
    let dts = read("js/lti_embed.d.ts");
    let start = dts.find("export interface EmbedEventMap {").expect("EmbedEventMap in js/lti_embed.d.ts");
    let body = &dts[start..];
    let body = &body[..body.find("\n}").expect("end of EmbedEventMap")];
    let keys: Vec<&str> = body
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("/*") && !l.starts_with('*') && !l.is_empty())
        .filter_map(|l| l.split(':').next())
        .collect();
    let mut want: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
    want.push("ready");
    assert_eq!(keys, want, "EmbedEventMap in js/lti_embed.d.ts");
}
