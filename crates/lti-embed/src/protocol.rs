//! The contract between the browser module's wasm core (`k`, `src/web/`) and its
//! JavaScript layer (`js/kit.js`): operation numbers, effect kinds, argument and result codes.
//!
//! This table is the one source of truth. `js/protocol.js`, which `js/kit.js` and
//! `js/element.js` import, is generated from it (and from [`Event::ALL`](crate::host::Event::ALL)
//! and [`MAX_MESSAGE_BYTES`](lti_messages::MAX_MESSAGE_BYTES)) by this module's unit test, which
//! fails while the checked-in file differs; `LTI_EDGE_BLESS=1 cargo test -p lti-embed
//! protocol` rewrites it. esbuild inlines the constants, so the bundles carry the bare values.

/// One group of constants, and (in tests) its rows for the generated JS module: `JS_PREFIX` +
/// the Rust name is the JS name.
macro_rules! table {
    ($(#[$m:meta])* pub mod $group:ident: $ty:ty, js $prefix:literal {
        $($(#[$d:meta])* $name:ident = $value:expr;)*
    }) => {
        $(#[$m])*
        pub mod $group {
            $($(#[$d])* pub const $name: $ty = $value;)*

            /// Prefix of the JS names.
            #[cfg(test)]
            pub(crate) const JS_PREFIX: &str = $prefix;
            /// Every constant of the group, in order.
            #[cfg(test)]
            pub(crate) const ALL: &[(&str, $ty)] = &[$((stringify!($name), $name)),*];
        }
    };
}

table! {
    /// Operations: `k(op, id, x, a, b)`. Below `T_OPEN` the host side (`Embed`),
    /// from it the tool side (`ToolClient`); a host-only or tool-only build has half.
    pub mod op: u32, js "" {
        /// `new Embed`: `a` the options, `x` `arg::ADOPT` for `Embed.attach`.
        OPEN = 1;
        /// The events host code listens to: `x` a mask, bit i for `Event::ALL[i]`.
        LISTEN = 2;
        /// A message from another window than the embed's iframe (counted, never read).
        IGNORED = 3;
        /// A message's origin (`a`), channel (`b`) and time (`x`): `result::YES` to read it.
        ORIGIN = 4;
        /// The message's data as text (`a`), the time (`x`), a user gesture (`b`).
        DATA = 5;
        /// Data the JS side could not read: `x` one of `bad_data`.
        BAD_DATA = 6;
        /// The animation frame of a `frame::LAYOUT` request: `x` the viewport height.
        LAYOUT = 7;
        /// The window scrolled.
        SCROLLED = 8;
        /// The animation frame of a `frame::SCROLL` request: `x` the scroll position.
        SCROLL_FRAME = 9;
        /// The geometry an `effect::WINDOW_SIZE` asked for (`a`, JSON).
        SIZE = 10;
        /// `Embed.post(message)` (`a`).
        POST = 11;
        /// `Embed.stats()`.
        STATS = 12;
        /// A reply (`effect::REPLY`) could not be posted.
        UNSENT = 13;
        /// `Embed.destroy()`.
        CLOSE = 14;
        /// `liveEmbeds()`.
        LIVE = 15;
        /// `new ToolClient`: `a` the options, `b` `location.ancestorOrigins[0]`.
        T_OPEN = 20;
        /// A reply's origin (`a`): `result::YES` to read it.
        T_ORIGIN = 21;
        /// A reply's data (`a`).
        T_DATA = 22;
        /// A height (`x`); `a` `result::YES` to send it unconditionally, `b` the viewport.
        T_HEIGHT = 23;
        /// `contentSelected(entries)` (`a`).
        T_SELECTED = 24;
        /// `send(subject, fields)` (`a`, `b`).
        T_SEND = 25;
        /// `capabilities()`.
        T_CAPS = 26;
        /// `getData(key)`.
        T_GET = 27;
        /// `putData(key, value)`.
        T_PUT = 28;
        /// `putData(key, null)`.
        T_CLEAR = 29;
        /// A request that is no longer awaited (`a` its id).
        T_FORGET = 30;
        /// `ToolClient.destroy()`.
        T_CLOSE = 31;
    }
}

table! {
    /// Effect kinds: the first element of each `[kind, …args]` the host side returns.
    pub mod effect: &str, js "FX_" {
        /// `[e, event, detail]`: call host code's listeners.
        EMIT = "e";
        /// `[p, message, origin]`: a reply, counted (the JS side reports `op::UNSENT`).
        REPLY = "p";
        /// `[q, message, origin]`: a message to the tool, not a reply.
        POST = "q";
        /// `[f, kind]`: request an animation frame, one of `frame`.
        FRAME = "f";
        /// `[h, css, px]`: set the iframe's height.
        HEIGHT = "h";
        /// `[r, origin]`: the tool spoke first; `ready`.
        READY = "r";
        /// `[w]`: measure the window and the iframe, answer with `op::SIZE`.
        WINDOW_SIZE = "w";
        /// `[t]`: scroll the iframe into view.
        SCROLL_TO = "t";
        /// `[s]`: listen to the window's scroll events (`op::SCROLLED`).
        SCROLL_EVENTS = "s";
        /// `[u, text | null]`: warn before unload with the text, or stop warning.
        UNLOAD = "u";
        /// `[a, text]`: announce in the live region.
        ANNOUNCE = "a";
    }
}

table! {
    /// Animation frame kinds of `effect::FRAME`.
    pub mod frame: u32, js "FRAME_" {
        /// A layout: answered with `op::LAYOUT`.
        LAYOUT = 3;
        /// A scroll report: answered with `op::SCROLL_FRAME`.
        SCROLL = 4;
    }
}

table! {
    /// Why the JS side could not read a message's data (`op::BAD_DATA`'s `x`).
    pub mod bad_data: u32, js "DATA_" {
        /// An object `JSON.stringify` throws on.
        NOT_SERIALISABLE = 1;
        /// Neither a string nor an object.
        NOT_OBJECT = 2;
        /// Longer than the largest message.
        TOO_LARGE = 3;
    }
}

table! {
    /// Numeric arguments with a meaning.
    pub mod arg: u32, js "ARG_" {
        /// `op::OPEN`'s `x` for `Embed.attach`.
        ADOPT = 1;
    }
}

table! {
    /// Result and flag strings (besides JSON and `""`, nothing to do).
    pub mod result: &str, js "R_" {
        /// Go on (a result), or yes (a flag argument).
        YES = "1";
        /// Prefix of an error the JS side throws.
        ERROR = "!";
        /// Prefix of a resize-loop warning (`op::T_HEIGHT`).
        LOOP = "~";
    }
}

#[cfg(all(test, feature = "host"))]
mod tests;
