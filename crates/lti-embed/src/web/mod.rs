//! The browser module's core: the state and decisions behind the JavaScript API in
//! `js/kit.js`, reached through one entry point, [`k`].
//!
//! The JavaScript side performs (DOM, listeners, frames, timers, posting); this side decides.
//! For each message the JS side has already compared the sender with the embed's own iframe
//! window; here the origin is checked against the exact allow-list (`ORIGIN`) before the JS
//! side reads `event.data`, then the text is size-limited, parsed and acted on (`DATA`), and
//! the effects come back as JSON: emit, reply (to the sender's window at its exact origin),
//! request a frame, set the height, announce, warn before unload. One export taking and
//! returning strings keeps the module's glue small: no web-sys bindings, closures or exported
//! classes in the wasm.
//!
//! Results: `""` nothing to do, `"!text"` an error the JS side throws, `"1"` go on, otherwise
//! JSON (a list of effects, or a result object). The codes of both sides are in
//! [`crate::protocol`]; `js/protocol.js` is generated from it.

#[cfg(feature = "tool")]
mod client;
#[cfg(feature = "host")]
mod embed;

#[cfg(feature = "host")]
use lti_messages::json::{self, Value};
use wasm_bindgen::prelude::*;

use crate::protocol::{op, result};

/// The kit's one entry point: operation `op` on embed or client `id` (0: none yet), with a
/// number `x` and two strings (`crate::protocol::op` says what each operation passes).
#[wasm_bindgen(skip_typescript)]
pub fn k(op: u32, id: u32, x: f64, a: &str, b: &str) -> String {
    #[cfg(feature = "host")]
    if op < op::T_OPEN {
        return embed::run(op, id, x, a, b);
    }
    #[cfg(feature = "tool")]
    if op >= op::T_OPEN {
        return client::run(op, id, x, a, b);
    }
    // The other side is not in this build (the host-only or tool-only module).
    let _ = (id, x, a, b);
    error("this module is built without that side of the kit")
}

/// `result::ERROR` + text: an error the JS side throws as an `Error`.
fn error(text: &str) -> String {
    crate::text::concat(&[result::ERROR, text])
}

/// A list of effects as JSON text (`""` when empty).
#[cfg(feature = "host")]
fn effects(list: Vec<Value>) -> String {
    if list.is_empty() {
        String::new()
    } else {
        json::to_string(&Value::Array(list))
    }
}

/// One effect: `[kind, ...args]` (`kind`: one of `protocol::effect`).
#[cfg(feature = "host")]
fn fx<const N: usize>(kind: &'static str, args: [Value; N]) -> Value {
    let mut v = Vec::with_capacity(N + 1);
    v.push(kind.into());
    v.extend(args);
    Value::Array(v)
}

/// Live states by id. Ids count up from 1 and are never reused, so a stale id cannot reach
/// another embed; a destroyed embed's state is removed entirely (nothing stays per embed).
#[allow(dead_code)] // each build (host, tool) uses part of it
struct Slots<T> {
    next: u32,
    live: Vec<(u32, T)>,
}

#[allow(dead_code)]
impl<T> Slots<T> {
    const fn new() -> Self {
        Self { next: 0, live: Vec::new() }
    }

    fn insert(&mut self, v: T) -> u32 {
        self.next = self.next.saturating_add(1);
        self.live.push((self.next, v));
        self.next
    }

    fn get(&mut self, id: u32) -> Option<&mut T> {
        self.live.iter_mut().find(|(i, _)| *i == id).map(|(_, v)| v)
    }

    fn remove(&mut self, id: u32) {
        self.live.retain(|(i, _)| *i != id);
        if self.live.is_empty() {
            // Give the memory back to the allocator, not just the elements.
            self.live = Vec::new();
        }
    }

    fn len(&self) -> usize {
        self.live.len()
    }
}
