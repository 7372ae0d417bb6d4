//! A strict, allocation-light parser for absolute `http(s)` URLs.
//!
//! We only need origins and paths (to keep redirects on our own origin and to validate
//! registration URLs), so this avoids the `url` crate and its IDNA tables (+77 KB gzipped in
//! the worker). It refuses anything ambiguous rather than normalising it: userinfo (`a@b`),
//! backslashes, control characters and whitespace, empty hosts, non-numeric ports.

/// Longest URL accepted (bytes), before and after normalising.
pub const MAX_URL_LEN: usize = 2048;

/// A parsed absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    scheme: &'static str,
    host: String,
    port: Option<u16>,
    path: String,
    query: Option<String>,
}

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not `http://` or `https://`.
    #[error("must start with https:// (or http:// on loopback when allowed)")]
    Scheme,
    /// Empty or malformed host.
    #[error("host is missing or malformed")]
    Host,
    /// Port not a number in range.
    #[error("port is invalid")]
    Port,
    /// userinfo, backslash, whitespace or control characters.
    #[error("contains characters that are not allowed in a URL")]
    Characters,
    /// Longer than the limit.
    #[error("is too long")]
    TooLong,
    /// http:// where https:// is required.
    #[error("must use https://")]
    Insecure,
}

impl HttpUrl {
    /// Parse an absolute URL. Fragments are dropped.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        if input.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        if input.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
            return Err(UrlError::Characters);
        }
        let lower_prefix = input.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
        let (scheme, rest) = if lower_prefix.starts_with("https://") {
            ("https", input.get(8..).unwrap_or(""))
        } else if lower_prefix.starts_with("http://") {
            ("http", input.get(7..).unwrap_or(""))
        } else {
            return Err(UrlError::Scheme);
        };
        let rest = rest.split('#').next().unwrap_or("");
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        // `find` returns a char boundary; the checked split keeps a panic path (and the
        // formatting it drags into the browser module's wasm) out all the same.
        let (authority, tail) = rest.split_at_checked(auth_end).unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err(UrlError::Characters);
        }
        let (host, port) = split_host_port(authority)?;
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (tail, None),
        };
        let path = if path.is_empty() { "/".to_string() } else { path.to_string() };
        Ok(Self { scheme, host, port, path, query })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.scheme
    }

    /// Lower-cased host (IPv6 literals keep their brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Path, always starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Query without `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// Port with the scheme default filled in.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }

    /// `scheme://host[:port]` with default ports omitted.
    pub fn origin(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        match self.port {
            Some(p) if p != default => format!("{}://{}:{}", self.scheme, self.host, p),
            _ => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// Same scheme, host and effective port.
    pub fn same_origin(&self, other: &HttpUrl) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.effective_port() == other.effective_port()
    }

    /// Whether the host is loopback: exactly `localhost`, an IPv4 literal in 127.0.0.0/8, or
    /// `[::1]`. Names that merely start like one (`127.0.0.1.evil.example`,
    /// `localhost.evil.example`) are public hosts.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host == "[::1]" || ipv4_octets(&self.host).is_some_and(|o| o[0] == 127)
    }

    /// The URL as a WHATWG URL parser (and so the runtime's `fetch`) would send it, made
    /// canonical for comparison: dot segments (`.`, `..`, and their `%2e` spellings) resolved,
    /// percent-encoded unreserved characters decoded, other escapes upper-cased, characters
    /// the URL standard would escape escaped, default port dropped. Paths that servers could
    /// read differently are refused rather than guessed: an encoded `/` or `\` (`%2F`,
    /// `%5C`), an encoded NUL, malformed escapes, and dot segments carrying `;` parameters
    /// (`..;`, which servlet containers resolve).
    pub fn normalized(&self) -> Result<Self, UrlError> {
        let path = normalize_path(&self.path)?;
        let query = match &self.query {
            Some(q) => Some(escape_unsafe(q, false)?),
            None => None,
        };
        let default = if self.scheme == "https" { 443 } else { 80 };
        let port = self.port.filter(|p| *p != default);
        let out = Self { scheme: self.scheme, host: self.host.clone(), port, path, query };
        // Escaping can triple a byte: a normal form past the parse limit would not parse
        // again, and what is sent must be what parses (found by fuzzing).
        if out.to_string().len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        Ok(out)
    }

    /// Whether `self`'s path is `base`'s path or lies below it (segment-wise; both should be
    /// [`normalized`](Self::normalized)), on the same origin.
    pub fn is_within(&self, base: &HttpUrl) -> bool {
        let b = base.path.trim_end_matches('/');
        self.same_origin(base)
            && (self.path == base.path || self.path.strip_prefix(b).is_some_and(|rest| rest.starts_with('/')))
    }

    /// `self` with `/suffix` appended to the path (query kept). `suffix` must be a plain path
    /// (`/scores`), which keeps a normalized URL normalized.
    pub fn join_path(&self, suffix: &str) -> Self {
        let mut out = self.clone();
        out.path = format!("{}{}", self.path.trim_end_matches('/'), suffix);
        out
    }

    /// `self` with `pairs` appended to the query (form-encoded).
    pub fn with_query_pairs(&self, pairs: &[(&str, &str)]) -> Self {
        let mut out = self.clone();
        if pairs.is_empty() {
            return out;
        }
        let add = crate::encoding::form_encode(pairs.iter().copied());
        out.query = Some(match &self.query {
            Some(q) if !q.is_empty() => format!("{q}&{add}"),
            _ => add,
        });
        out
    }

    /// https, or http on loopback when `allow_http_loopback`.
    pub fn require_secure(&self, allow_http_loopback: bool) -> Result<(), UrlError> {
        if self.scheme == "https" || (allow_http_loopback && self.is_loopback()) {
            Ok(())
        } else {
            Err(UrlError::Insecure)
        }
    }
}

impl std::fmt::Display for HttpUrl {
    /// `scheme://host[:port]path[?query]` (the default port omitted).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin())?;
        f.write_str(&self.path)?;
        if let Some(q) = &self.query {
            f.write_str("?")?;
            f.write_str(q)?;
        }
        Ok(())
    }
}

/// A canonical dotted-quad IPv4 literal (`a.b.c.d`, decimal, no leading zeros).
fn ipv4_octets(host: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = host.split('.');
    for slot in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// WHATWG reads a host whose last label is a number (`127.1`, `0x7f.0.0.1`, `1.2.3.4`) as an
/// IPv4 address, in forms a plain string comparison would miss: only the canonical dotted
/// quad is accepted.
fn numeric_host_ok(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"))
                && last.bytes().skip(2).all(|b| b.is_ascii_hexdigit()));
    !numeric || ipv4_octets(host).is_some()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decode escapes of unreserved characters, upper-case the others, and escape what a URL
/// parser would escape (non-ASCII, quotes, angle brackets, braces, backtick, caret, pipe).
/// In a path (`path = true`) an escaped `/`, `\` or NUL is refused.
fn escape_unsafe(s: &str, path: bool) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(crate::encoding::hex_val),
                bytes.get(i + 2).copied().and_then(crate::encoding::hex_val),
            ) else {
                return Err(UrlError::Characters);
            };
            let v = h * 16 + l;
            if path && matches!(v, b'/' | b'\\' | 0) {
                return Err(UrlError::Characters);
            }
            if is_unreserved(v) {
                out.push(char::from(v));
            } else {
                crate::encoding::push_escape(&mut out, v);
            }
            i += 3;
            continue;
        }
        if b.is_ascii() && !matches!(b, b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'^' | b'|') {
            out.push(char::from(b));
        } else {
            crate::encoding::push_escape(&mut out, b);
        }
        i += 1;
    }
    Ok(out)
}

/// A path with its segments escaped canonically and dot segments resolved as RFC 3986 §5.2.4
/// and the URL standard do (`%2e` counts as `.`).
fn normalize_path(path: &str) -> Result<String, UrlError> {
    let escaped = escape_unsafe(path, true)?;
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = escaped.strip_prefix('/').unwrap_or(&escaped).split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        // After unreserved decoding, `%2e` is already `.`.
        let bare = seg.split(';').next().unwrap_or(seg);
        let dots = matches!(bare, "." | "..");
        if dots && bare.len() != seg.len() {
            return Err(UrlError::Characters);
        }
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    Ok(format!("/{}", out.join("/")))
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::Host);
    }
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (inside, after) = stripped.split_once(']').ok_or(UrlError::Host)?;
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Err(UrlError::Host);
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlError::Port)?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (authority.to_ascii_lowercase(), None),
        }
    };
    let valid_host = host.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && !host.starts_with('.')
            && !host.ends_with('.')
            && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !valid_host || !numeric_host_ok(&host) {
        return Err(UrlError::Host);
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UrlError::Port)?)
        }
        Some(_) => return Err(UrlError::Port),
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares_origins() {
        let a = HttpUrl::parse("HTTPS://Tool.Example.com/hosted/index/my-media?x=1#frag").unwrap();
        assert_eq!(a.host(), "tool.example.com");
        assert_eq!(a.path(), "/hosted/index/my-media");
        assert_eq!(a.query(), Some("x=1"));
        assert_eq!(a.origin(), "https://tool.example.com");
        let b = HttpUrl::parse("https://tool.example.com:443").unwrap();
        assert!(a.same_origin(&b));
        assert_eq!(b.path(), "/");
        let c = HttpUrl::parse("http://127.0.0.1:8787/lti/launch").unwrap();
        assert_eq!(c.origin(), "http://127.0.0.1:8787");
        assert!(c.is_loopback());
        assert!(c.require_secure(true).is_ok());
        assert_eq!(c.require_secure(false), Err(UrlError::Insecure));
    }

    #[test]
    fn refuses_ambiguous_urls() {
        for bad in [
            "https://tool.example.com@evil.com/",
            "https://evil.com\\@tool.example.com",
            "javascript:alert(1)",
            "//evil.com/x",
            "https:///path",
            "https://exa mple.com",
            "https://example.com:99999",
            "https://example.com:",
            "https://example.com:80a",
            "https://.example.com",
            "ftp://example.com",
            "https://[zz]/",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://2130706433/",
            "http://127.0.0.01/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn loopback_is_exact() {
        for host in ["http://localhost:1/", "http://127.0.0.1/", "http://127.5.6.7:9/", "http://[::1]:8/"] {
            assert!(HttpUrl::parse(host).unwrap().is_loopback(), "{host}");
        }
        for host in [
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "http://127.0.0.1.nip.io/",
            "http://evil-127.0.0.1.example/",
            "http://128.0.0.1/",
            "http://[::2]/",
        ] {
            let u = HttpUrl::parse(host).unwrap();
            assert!(!u.is_loopback(), "{host}");
            assert_eq!(u.require_secure(true), Err(UrlError::Insecure), "{host}");
        }
    }

    fn norm(s: &str) -> Result<String, UrlError> {
        HttpUrl::parse(s)?.normalized().map(|u| u.to_string())
    }

    #[test]
    fn normalizes_like_fetch() {
        let base = "https://lms.example.com/api/ctx/1/lineitems";
        for (input, want) in [
            (
                "https://lms.example.com:443/api/ctx/1/lineitems/%2e%2e/%2e%2e/%2e%2e/other/secret",
                "https://lms.example.com/api/other/secret",
            ),
            ("https://lms.example.com/api/ctx/1/lineitems/.%2E/x", "https://lms.example.com/api/ctx/1/x"),
            ("https://lms.example.com/api/ctx/1/lineitems/%2E%2e", "https://lms.example.com/api/ctx/1/"),
            ("https://lms.example.com/api/ctx/1/lineitems/..", "https://lms.example.com/api/ctx/1/"),
            ("https://lms.example.com/api/ctx/1/lineitems/./7/.", "https://lms.example.com/api/ctx/1/lineitems/7/"),
            (
                "https://lms.example.com/api/ctx/1/lineitems/%37%41?a=%7e&b=%2f",
                "https://lms.example.com/api/ctx/1/lineitems/7A?a=~&b=%2F",
            ),
            ("https://lms.example.com/a/%c3%a9/\u{e9}\"x", "https://lms.example.com/a/%C3%A9/%C3%A9%22x"),
            ("https://lms.example.com", "https://lms.example.com/"),
        ] {
            assert_eq!(norm(input).as_deref(), Ok(want), "{input}");
        }
        let b = HttpUrl::parse(base).unwrap().normalized().unwrap();
        let inside = HttpUrl::parse("https://lms.example.com/api/ctx/1/lineitems/7").unwrap().normalized().unwrap();
        assert!(inside.is_within(&b));
        for out in [
            "https://lms.example.com/api/ctx/1/lineitems/%2e%2e/%2e%2e/%2e%2e/other/secret",
            "https://lms.example.com/api/ctx/1/lineitems/..",
            "https://lms.example.com/api/ctx/1/lineitemsX",
            "http://lms.example.com/api/ctx/1/lineitems/7",
            "https://lms.example.com:8443/api/ctx/1/lineitems/7",
        ] {
            let u = HttpUrl::parse(out).unwrap().normalized().unwrap();
            assert!(!u.is_within(&b), "{out}");
        }
        // Escaping grows a URL: a normal form over the limit is refused, never returned.
        let quotes = format!("http://a/{}", "\"".repeat(680));
        assert!(quotes.len() <= MAX_URL_LEN);
        assert_eq!(norm(&quotes), Err(UrlError::TooLong));
        let fits = format!("http://a/{}", "\"".repeat(600));
        let once = norm(&fits).unwrap();
        assert_eq!(norm(&once).as_deref(), Ok(once.as_str()), "the normal form is a fixed point");
        for refused in [
            "https://lms.example.com/api/ctx/1/lineitems/..%2F..%2Fother",
            "https://lms.example.com/api/ctx/1/lineitems/..%2f..",
            "https://lms.example.com/api/ctx/1/lineitems/%5c..",
            "https://lms.example.com/api/ctx/1/lineitems/..;/other",
            "https://lms.example.com/api/ctx/1/lineitems/%2e%2e;x=1/other",
            "https://lms.example.com/api/%00",
            "https://lms.example.com/api/%zz",
            "https://lms.example.com/api/%4",
        ] {
            assert!(norm(refused).is_err(), "{refused}");
        }
    }
}
