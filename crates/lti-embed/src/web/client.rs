//! A tool client's state and decisions (`ToolClient` in `js/kit.js`).

use std::cell::RefCell;

use lti_messages::json::{self, Object, Value};

use super::{error, Slots};
use crate::options::{StorageTarget, ToolConfig};
use crate::origin;
use crate::protocol::{op, result};
use crate::tool::{self, LoopGuard, ReplyError, Request, ToolCore};

thread_local! {
    static CLIENTS: RefCell<Slots<State>> = const { RefCell::new(Slots::new()) };
}

struct State {
    core: ToolCore,
    host_origin: String,
    storage_origin: String,
    last_height: f64,
    guard: LoopGuard,
}

/// `"!code\nmessage"`: a request the JS side rejects with an Error carrying `code`.
fn rejected(e: &ReplyError) -> String {
    error(&crate::text::concat(&[&e.code, "\n", &e.message]))
}

/// One tool-client operation.
pub(super) fn run(op: u32, id: u32, x: f64, a: &str, b: &str) -> String {
    if op == op::T_OPEN {
        return open(a, b);
    }
    CLIENTS.with(|c| {
        let mut c = c.borrow_mut();
        if op == op::T_CLOSE {
            // Outstanding requests were forgotten one by one (`T_FORGET`) by the JS side; the
            // whole state goes.
            c.remove(id);
            return String::new();
        }
        match c.get(id) {
            Some(st) => st.run(op, x, a, b),
            None => error("unknown client"),
        }
    })
}

/// `new ToolClient(options)`: `a` the options, `b` `location.ancestorOrigins[0]` (or "").
/// The host origin is `hostOrigin` if given, else the browser's report of the embedding page,
/// else `platformOrigin` (what the launch knows: Firefox has no `ancestorOrigins`).
fn open(a: &str, b: &str) -> String {
    let cfg = match ToolConfig::from_json(a) {
        Ok(c) => c,
        Err(e) => return error(&e.message()),
    };
    let (host_origin, source) = match (cfg.host_origin, origin::normalize(b), cfg.platform_origin) {
        (Some(o), _, _) => (o, "hostOrigin"),
        (None, Ok(o), _) => (o, "ancestorOrigins"),
        (None, Err(_), Some(o)) => (o, "platformOrigin"),
        (None, Err(_), None) => {
            return error(
                "options.hostOrigin is required: this browser does not report the embedding page's origin (no location.ancestorOrigins, e.g. Firefox); pass hostOrigin, or platformOrigin from the launch",
            )
        }
    };
    let storage_origin = cfg.storage_origin.unwrap_or_else(|| host_origin.clone());
    let target = match &cfg.storage_target {
        StorageTarget::Parent => Value::Null,
        StorageTarget::Frame(name) => name.as_str().into(),
    };
    let host = host_origin.clone();
    let st =
        State { core: ToolCore::default(), host_origin, storage_origin, last_height: 0.0, guard: LoopGuard::default() };
    let id = CLIENTS.with(|c| c.borrow_mut().insert(st));
    json::to_string(&Value::Object(
        Object::new()
            .with("id", id)
            .with("host", host)
            .with("source", source)
            .with("target", target)
            .with("timeout", cfg.timeout_ms),
    ))
}

/// `[message, origin]` for the JS side to post to the parent window.
fn up(msg: Value, origin: &str) -> String {
    json::to_string(&Value::Array(vec![msg, origin.into()]))
}

fn parse(text: &str, what: &str) -> Result<Value, String> {
    json::parse(text, usize::MAX).map_err(|_| error(&crate::text::concat(&[what, " must be serialisable"])))
}

impl State {
    fn run(&mut self, op: u32, x: f64, a: &str, b: &str) -> String {
        match op {
            // Replies come from exactly the storage origin (the JS side already checked the
            // window); only then is the data read.
            op::T_ORIGIN => (if a == self.storage_origin { result::YES } else { "" }).into(),
            op::T_DATA => match self.core.settle(a) {
                Some(s) => {
                    let mut m = Object::new().with("id", s.message_id);
                    match s.result {
                        Ok(v) => m.insert("value", v),
                        Err(e) => {
                            m.insert("code", e.code.into());
                            m.insert("message", e.message.into());
                        }
                    }
                    json::to_string(&Value::Object(m))
                }
                None => String::new(),
            },
            op::T_HEIGHT => self.height(x, a == result::YES, b),
            op::T_SELECTED => {
                match parse(a, "entries").and_then(|v| tool::content_selected(v).map_err(|e| error(&e.text()))) {
                    Ok(m) => up(m, &self.host_origin),
                    Err(e) => e,
                }
            }
            op::T_SEND => match parse(b, "fields").and_then(|v| tool::message(a, v).map_err(|e| error(&e.text()))) {
                Ok(m) => up(m, &self.host_origin),
                Err(e) => e,
            },
            op::T_CAPS | op::T_GET | op::T_PUT | op::T_CLEAR => {
                let request = match op {
                    op::T_CAPS => Request::Capabilities,
                    op::T_GET => Request::GetData { key: a.into() },
                    op::T_PUT => Request::PutData { key: a.into(), value: Some(b.into()) },
                    _ => Request::PutData { key: a.into(), value: None },
                };
                match self.core.request(request, x as u32) {
                    Ok((id, msg)) => {
                        let o =
                            Object::new().with("id", id).with("msg", msg).with("origin", self.storage_origin.as_str());
                        json::to_string(&Value::Object(o))
                    }
                    Err(e) => rejected(&e),
                }
            }
            op::T_FORGET => {
                self.core.forget(a);
                String::new()
            }
            _ => String::new(),
        }
    }

    /// `lti.frameResize` to the host, unless the height moved by less than 1 px (`force`:
    /// always). Auto-resize measurements (`viewport`: the page's `innerHeight`) go through the
    /// loop guard first: `result::LOOP` + text tells the JS side to stop auto-resizing and say why.
    fn height(&mut self, height: f64, force: bool, viewport: &str) -> String {
        if !force {
            if let Some(v) = json::parse_number(viewport) {
                if self.guard.observe(height, v) {
                    let mut s = crate::text::concat(&[
                        result::LOOP,
                        "lti-embed: this page's height follows its frame's height (e.g. body{min-height:100vh} plus a margin): each reported height made the frame grow and the page with it. Auto-resize stopped at ",
                    ]);
                    crate::text::push_uint(&mut s, self.last_height as u64);
                    s.push_str(" px; give the page a height that does not depend on the viewport, or call reportHeight() yourself.");
                    return s;
                }
            }
            if (height - self.last_height).abs() < 1.0 {
                return String::new();
            }
        }
        self.last_height = height;
        match tool::frame_resize(height) {
            Some(m) => up(m, &self.host_origin),
            None => error("height must be a non-negative number"),
        }
    }
}
