//! The tool's modules (KAF guide §5) and how a `target_link_uri` selects one.

/// A module of the tool app.
#[derive(Debug, PartialEq, Eq)]
pub struct Module {
    /// KAF code name (used in `disabledModules`).
    pub code: &'static str,
    /// Path on the tool's origin.
    pub path: &'static str,
    /// Display name.
    pub title: &'static str,
}

/// Every module, in KAF order.
pub const MODULES: &[Module] = &[
    Module { code: "mymedia", path: "/hosted/index/my-media", title: "My Media" },
    Module { code: "coursegallery", path: "/hosted/index/course-gallery", title: "Media Gallery" },
    Module { code: "browseembed", path: "/browseandembed/index/browseandembed", title: "Content Picker" },
    Module { code: "embeddedrooms", path: "/embeddedrooms/index/view-room", title: "Meeting Room" },
    Module { code: "kalturaai", path: "/contentlab", title: "Content Lab" },
    Module { code: "genieai", path: "/genie", title: "Genie AI" },
    Module { code: "avatarvodstudio", path: "/avatarvodstudio/index/index", title: "Avatar VOD Studio" },
];

/// The module used when the target is the tool's launch URL itself.
pub const DEFAULT_MODULE: &str = "mymedia";
/// The module that answers deep-linking requests.
pub const PICKER_MODULE: &str = "browseembed";

/// Paths that mean "the tool" rather than one module.
const GENERIC_PATHS: &[&str] = &["/", "/lti/launch", "/hosted/index/oauth2-launch", "/hosted", "/hosted/index"];

/// A module by code.
pub fn by_code(code: &str) -> Option<&'static Module> {
    MODULES.iter().find(|m| m.code == code)
}

/// The module a target path selects (trailing slash ignored).
pub fn for_path(path: &str) -> Option<&'static Module> {
    let p = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let p = if p.is_empty() { "/" } else { p };
    if GENERIC_PATHS.contains(&p) {
        return by_code(DEFAULT_MODULE);
    }
    MODULES.iter().find(|m| m.path == p)
}

/// The module whose session URL (`<path>/ks/<token>`) this request path is, with the token.
pub fn session_path(path: &str) -> Option<(&'static Module, &str)> {
    MODULES.iter().find_map(|m| {
        let rest = path.strip_prefix(m.path)?.strip_prefix("/ks/")?;
        let token = rest.split('/').next().filter(|t| !t.is_empty())?;
        Some((m, token))
    })
}
