//! A strict, allocation-light parser for absolute `http(s)` URLs.
//!
//! We only need origins and paths (to keep redirects on our own origin and to validate
//! registration URLs), so this avoids the `url` crate and its IDNA tables (+77 KB gzipped in
//! the worker). It refuses anything ambiguous rather than normalising it: userinfo (`a@b`),
//! backslashes, control characters and whitespace, empty hosts, non-numeric ports.

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
        if input.len() > 2048 {
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

    /// Whether the host is a loopback name or address.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.starts_with("127.") || self.host == "[::1]"
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
    if !valid_host {
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
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
