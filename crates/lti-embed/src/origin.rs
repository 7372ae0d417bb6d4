//! Exact origin allow-lists.
//!
//! A message is read only after its `event.origin` matched an entry *exactly*. Entries are
//! normalised when configured to the form browsers serialise origins in (lower-case scheme and
//! host, default port omitted), so the comparison at message time is a plain string equality.
//! `"null"` (sandboxed or opaque senders), `"*"` and anything with a path are refused up front.

use lti_core::url::HttpUrl;

/// Why an origin cannot be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginError {
    /// `"null"`: an opaque origin cannot be verified.
    Null,
    /// `"*"` or a pattern.
    Wildcard,
    /// Not `scheme://host[:port]`.
    Malformed,
    /// `http://` on a non-loopback host.
    Insecure,
}

impl OriginError {
    /// What is wrong, as a sentence (also the `Display` text).
    pub fn message(self) -> &'static str {
        match self {
            OriginError::Null => "\"null\" is not an origin that can be verified (sandbox without allow-same-origin?)",
            OriginError::Wildcard => "wildcards are not allowed: list each origin exactly",
            OriginError::Malformed => "must be scheme://host[:port] with nothing after it",
            OriginError::Insecure => "must use https:// (http:// only on 127.0.0.1, localhost or [::1])",
        }
    }
}

impl std::fmt::Display for OriginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for OriginError {}

/// Normalise one configured origin to the browser's serialisation.
pub fn normalize(input: &str) -> Result<String, OriginError> {
    let s = input.trim();
    if s.eq_ignore_ascii_case("null") {
        return Err(OriginError::Null);
    }
    if s.contains('*') {
        return Err(OriginError::Wildcard);
    }
    if s.contains(['#', '?']) {
        return Err(OriginError::Malformed);
    }
    let url = HttpUrl::parse(s).map_err(|_| OriginError::Malformed)?;
    // "https://a.example/" is fine; "https://a.example/x" names a page, not an origin.
    if url.path() != "/" || url.query().is_some() {
        return Err(OriginError::Malformed);
    }
    url.require_secure(true).map_err(|_| OriginError::Insecure)?;
    Ok(serialize(&url))
}

/// `scheme://host[:port]`, default port omitted: [`HttpUrl::origin`] without `format!` (whose
/// machinery, with integer `Display`, is ~1 KB of the gzipped wasm module).
pub(crate) fn serialize(url: &HttpUrl) -> String {
    let (scheme, host, port) = (url.scheme(), url.host(), url.effective_port());
    let mut s = crate::text::concat(&[scheme, "://", host]);
    if port != if scheme == "https" { 443 } else { 80 } {
        s.push(':');
        crate::text::push_uint(&mut s, u64::from(port));
    }
    s
}

/// An exact list of origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(Vec<String>);

/// An origin that passed [`AllowList::check`]: the only kind of origin the host replies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedOrigin<'a>(&'a str);

impl AllowedOrigin<'_> {
    /// The origin, as the browser serialised it.
    pub fn as_str(&self) -> &str {
        self.0
    }
}

impl AllowList {
    /// Build from configured origins (each normalised; duplicates removed; at least one).
    pub fn new<I, S>(origins: I) -> Result<Self, (usize, OriginError)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<String> = Vec::new();
        for (i, o) in origins.into_iter().enumerate() {
            let n = normalize(o.as_ref()).map_err(|e| (i, e))?;
            if !list.contains(&n) {
                list.push(n);
            }
        }
        Ok(Self(list))
    }

    /// Whether `origin` (from `MessageEvent.origin`) is on the list, compared exactly.
    /// `"null"` never is, whatever was configured.
    pub fn check(&self, origin: &str) -> Result<AllowedOrigin<'_>, &'static str> {
        if origin == "null" {
            return Err("null origin");
        }
        self.0.iter().find(|o| o.as_str() == origin).map(|o| AllowedOrigin(o)).ok_or("origin not allowed")
    }

    /// Number of origins.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty (then every message is dropped).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The normalised origins.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_like_the_core() {
        for u in [
            "https://a.example",
            "https://a.example:443/x",
            "https://a.example:8443",
            "http://127.0.0.1:8787/",
            "http://localhost:80",
            "http://[::1]:9000",
        ] {
            let url = HttpUrl::parse(u).unwrap();
            assert_eq!(serialize(&url), url.origin(), "{u}");
        }
    }

    #[test]
    fn normalises_to_browser_serialisation() {
        assert_eq!(normalize("HTTPS://Tool.Example.com:443/").as_deref(), Ok("https://tool.example.com"));
        assert_eq!(normalize("http://127.0.0.1:8787").as_deref(), Ok("http://127.0.0.1:8787"));
        assert_eq!(normalize("http://localhost:80").as_deref(), Ok("http://localhost"));
        assert_eq!(normalize("https://tool.example.com:8443").as_deref(), Ok("https://tool.example.com:8443"));
    }

    #[test]
    fn refuses_what_cannot_be_compared_exactly() {
        assert_eq!(normalize("null"), Err(OriginError::Null));
        assert_eq!(normalize("*"), Err(OriginError::Wildcard));
        assert_eq!(normalize("https://*.example.com"), Err(OriginError::Wildcard));
        assert_eq!(normalize("https://tool.example.com/path"), Err(OriginError::Malformed));
        assert_eq!(normalize("https://tool.example.com//"), Err(OriginError::Malformed));
        assert_eq!(normalize("https://tool.example.com?x"), Err(OriginError::Malformed));
        assert_eq!(normalize("https://tool.example.com#x"), Err(OriginError::Malformed));
        assert_eq!(normalize("tool.example.com"), Err(OriginError::Malformed));
        assert_eq!(normalize("http://tool.example.com"), Err(OriginError::Insecure));
    }

    #[test]
    fn checks_exactly_and_never_null() {
        let list = AllowList::new(["https://tool.example.com", "https://TOOL.example.com:443"]).unwrap();
        assert_eq!(list.len(), 1, "duplicates after normalisation collapse");
        assert_eq!(
            list.check("https://tool.example.com").map(|o| o.as_str().to_string()),
            Ok("https://tool.example.com".into())
        );
        for bad in [
            "https://tool.example.com.evil.com",
            "https://evil.tool.example.com",
            "http://tool.example.com",
            "https://tool.example.com:8443",
            "null",
            "",
            "HTTPS://TOOL.EXAMPLE.COM",
        ] {
            assert!(list.check(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(AllowList::new(["https://a.example", "null"]), Err((1, OriginError::Null)));
    }
}
