//! The route table: every endpoint is one row (method, path, handler, who may call it, how its
//! errors are answered). Dispatch, `405` with its `Allow` header, `HEAD` (a `GET` without the
//! body) and the README's endpoint table (see the test below) all come from [`ROUTES`].
//!
//! Handlers live by audience: [`launch`] (browsers and LMSs: login, launch, the module page,
//! the tool's key set and configuration, session introspection), [`admin`] (registrations,
//! tool keys, backup, reports), [`services`] (tool apps: Deep Linking, AGS, NRPS).

pub mod admin;
pub mod launch;
pub mod services;

use std::future::Future;
use std::pin::Pin;

use lti_core::encoding::hex;
use lti_policy::modules::{self, Module};
use lti_policy::ErrorCode;
use lti_webcrypto::random_bytes;
use worker::{Context, Env, Method, Request, Response};

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::body;
use crate::log;

/// The request as a handler sees it.
pub struct Ctx<'a> {
    /// Bindings and secrets.
    pub env: &'a Env,
    /// For work that outlives the answer (`wait_until`).
    pub wctx: &'a Context,
    /// The deployment's configuration.
    pub cfg: Config,
    /// Correlation id (also in the answer's `x-correlation-id`).
    pub cid: String,
    /// Request path.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    /// The method routed (`HEAD` routes as `GET`).
    pub method: Method,
    /// What the path pattern captured.
    pub params: Params,
}

/// Path parameters.
#[derive(Default)]
pub struct Params {
    /// `{id}`.
    pub id: String,
    /// `{token}` of a module page.
    pub token: String,
    /// `{module}`: the KAF module the path names.
    pub module: Option<&'static Module>,
}

/// A handler's future.
pub type Answer<'a> = Pin<Box<dyn Future<Output = ApiResult<Response>> + 'a>>;
/// A handler.
pub type Handler = for<'a> fn(&'a Ctx<'a>, &'a mut Request) -> Answer<'a>;

/// A path pattern.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// This path exactly.
    Exact(&'static str),
    /// `prefix{id}suffix`, `{id}` one non-empty segment.
    Id(&'static str, &'static str),
    /// `prefix{name}suffix`: like [`Path::Id`] (captured in `params.id`), documented as `{name}`.
    Seg(&'static str, &'static str, &'static str),
    /// A KAF module's own URL (an LTI 1.1 launch posts there).
    Module,
    /// `<module path>/ks/{token}`.
    ModulePage,
}

/// How a route's errors are answered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Errors {
    /// Always JSON (APIs).
    Json,
    /// An HTML page, unless the client asks for JSON only (browser routes).
    Page,
    /// An HTML page for a form post, JSON otherwise (the picker's form vs tool apps).
    FormPage,
}

/// Who may call a route, checked before the body is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone (the handler checks what the protocol requires).
    Open,
    /// The admin token.
    Admin,
}

/// One endpoint.
pub struct Route {
    /// Method (`GET` also answers `HEAD`).
    pub method: Method,
    /// Path pattern.
    pub path: Path,
    /// What answers.
    pub handler: Handler,
    /// Who may call it.
    pub guard: Guard,
    /// How errors are answered.
    pub errors: Errors,
    /// What it is for (the README's endpoint table).
    #[cfg_attr(not(test), allow(dead_code))]
    pub what: &'static str,
}

macro_rules! h {
    ($f:path) => {
        |ctx, req| Box::pin($f(ctx, req))
    };
}

macro_rules! route {
    ($method:ident $path:expr => $f:path, $guard:ident, $errors:ident, $what:expr) => {
        Route {
            method: Method::$method,
            path: $path,
            handler: h!($f),
            guard: Guard::$guard,
            errors: Errors::$errors,
            what: $what,
        }
    };
}

use self::admin::{backup, caliper as caliper_admin, console, inspector, invitations, keys, platforms, reports};
use self::launch::{accept, login, public, register, setup, storage};
use self::services::{ags, caliper, deep_link, nrps};
use Path::{Exact, Id, Module as ModulePath, ModulePage, Seg};

/// Every endpoint. Rows of one path are listed together; a path answers the methods of its
/// rows (and `HEAD` where it answers `GET`), anything else `405` with that `Allow`.
pub static ROUTES: &[Route] = &[
    route!(Get Exact("/") => public::index, Open, Page, "the tool's start page"),
    route!(Get Exact("/version") => public::version, Open, Json, "readiness: `{\"name\",\"version\",\"configured\"}`"),
    route!(Get Exact("/lti/login") => login::login, Open, Page, "OIDC login initiation"),
    route!(Post Exact("/lti/login") => login::login, Open, Page, "OIDC login initiation"),
    route!(Get Exact("/hosted/index/oidc-init") => login::login, Open, Page, "OIDC login initiation (KAF path)"),
    route!(Post Exact("/hosted/index/oidc-init") => login::login, Open, Page, "OIDC login initiation (KAF path)"),
    route!(Post Exact("/lti/launch") => accept::launch, Open, Page, "launch: `id_token` + `state`, or an LTI 1.1 form"),
    route!(Post Exact("/hosted/index/oauth2-launch") => accept::launch, Open, Page, "launch (KAF path)"),
    route!(Post Exact("/lti/launch/storage") => storage::launch_storage, Open, Page, "completes a launch bound through LTI Platform Storage"),
    route!(Get Exact("/lti/jwks") => public::jwks, Open, Json, "the tool's public keys"),
    route!(Get Exact("/hosted/index/lti-advantage-key-set") => public::jwks, Open, Json, "the tool's public keys (KAF path)"),
    route!(Get Exact("/lti/config") => public::config, Open, Json, "the URLs an LMS admin pastes, KAF variants, module target URLs"),
    route!(Get Exact("/lti/config/canvas.json") => setup::canvas_json, Open, Json, "Canvas developer-key JSON configuration (\"Enter URL\")"),
    route!(Get Exact("/lti/presets") => setup::presets, Open, Json, "the LMS presets: what each asks for and fills (`\"preset\"` in `POST /lti/platforms`)"),
    route!(Get Exact("/lti/setup") => setup::index, Open, Page, "what to paste in each LMS: the list (JSON with `Accept: application/json`)"),
    route!(Get Seg("/lti/setup/", "{lms}", "") => setup::page, Open, Page, "what to paste in one LMS (`moodle`, `canvas`, `blackboard`, `brightspace`, `sakai`, `schoology`, `other`): URLs, placements and their modules, custom parameters, user-id options (JSON with `Accept: application/json`)"),
    route!(Get Seg("/lti/register/", "{invitation}", "") => register::register, Open, Page, "LTI Dynamic Registration: the one-time URL an LMS opens (`openid_configuration`, `registration_token`)"),
    route!(Get Exact("/lti/session") => public::session, Open, Json, "verify a session token (`Authorization: Bearer`)"),
    route!(Get Exact("/lti/platforms") => platforms::list, Admin, Json, "list registrations"),
    route!(Post Exact("/lti/platforms") => platforms::upsert, Admin, Json, "create or update a registration"),
    route!(Get Id("/lti/platforms/", "") => platforms::get, Admin, Json, "one registration"),
    route!(Put Id("/lti/platforms/", "") => platforms::update, Admin, Json, "replace a registration by id (issuer and client id may change)"),
    route!(Delete Id("/lti/platforms/", "") => platforms::delete, Admin, Json, "delete a registration"),
    route!(Get Id("/lti/platforms/", "/upgrade-report") => reports::upgrade, Admin, Json, "LTI 1.1 → 1.3 migration checks"),
    route!(Get Id("/lti/platforms/", "/setup") => platforms::setup, Admin, Json, "what to paste in this registration's LMS, with its ids and the custom parameters its user-id rule needs"),
    route!(Get Id("/lti/platforms/", "/user-id-suggestions") => inspector::user_id_suggestions, Admin, Json, "from one kept launch (`?attempt=`; default the newest): every attribute that could be the user id, its value, and the configuration that selects it"),
    route!(Put Id("/lti/platforms/", "/user-id-rule") => inspector::set_user_id_rule, Admin, Json, "set the user-id rule (`ltiUserIdAttribute`, `lti13UserIdClaim`, `lti13UserIdClaimProperty`): a suggestion's \"apply\""),
    route!(Get Id("/lti/platforms/", "/launches") => inspector::launches, Admin, Json, "launch inspector: the newest attempts (50, 24 h by default), admitted or refused, with claims received and decisions"),
    route!(Get Exact("/lti/launches/unknown") => inspector::unknown, Admin, Json, "launch inspector: failed logins and 1.1 launches of platforms no registration names, with what to create"),
    route!(Get Exact("/lti/admin/session") => console::current, Open, Json, "admin console: who is signed in (renews the session cookie)"),
    route!(Post Exact("/lti/admin/session") => console::sign_in, Open, Json, "admin console: sign in with the admin token (or Cloudflare Access); sets an HttpOnly SameSite=Strict cookie"),
    route!(Delete Exact("/lti/admin/session") => console::sign_out, Open, Json, "admin console: sign out"),
    route!(Get Id("/lti/platforms/", "/caliper") => caliper_admin::status, Admin, Json, "Caliper: the switch, delivery counts (accepted, delivered, retried, dropped, dead-lettered), profile results, the latest errors and the ids of dead-lettered events"),
    route!(Get Exact("/lti/invitations") => invitations::list, Admin, Json, "Dynamic Registration invitations"),
    route!(Post Exact("/lti/invitations") => invitations::create, Admin, Json, "create a one-time Dynamic Registration URL"),
    route!(Delete Seg("/lti/invitations/", "{id}", "") => invitations::revoke, Admin, Json, "revoke an invitation"),
    route!(Get Exact("/lti/keys") => keys::list, Admin, Json, "tool keys"),
    route!(Post Exact("/lti/keys/next") => keys::next, Admin, Json, "key rotation: publish a next key"),
    route!(Post Exact("/lti/keys/promote") => keys::promote, Admin, Json, "key rotation: next key signs"),
    route!(Post Exact("/lti/keys/retire") => keys::retire, Admin, Json, "key rotation: drop retired keys"),
    route!(Get Exact("/lti/backup") => backup::export, Admin, Json, "configuration snapshot"),
    route!(Post Exact("/lti/restore") => backup::restore, Admin, Json, "restore a snapshot"),
    route!(Get Exact("/lti/services/stats") => reports::service_tokens, Admin, Json, "this isolate's service-token cache counters"),
    route!(Post Exact("/lti/deep-link") => deep_link::respond, Open, FormPage, "Deep Linking response (session)"),
    route!(Get Exact("/lti/ags/lineitems") => ags::list_lineitems, Open, Json, "line items of the context"),
    route!(Post Exact("/lti/ags/lineitems") => ags::create_lineitem, Open, Json, "create a line item"),
    route!(Get Exact("/lti/ags/lineitem") => ags::get_lineitem, Open, Json, "one line item (`lineItemUrl`)"),
    route!(Put Exact("/lti/ags/lineitem") => ags::put_lineitem, Open, Json, "update a line item"),
    route!(Delete Exact("/lti/ags/lineitem") => ags::delete_lineitem, Open, Json, "delete a line item"),
    route!(Post Exact("/lti/ags/scores") => ags::post_score, Open, Json, "post a score"),
    route!(Delete Exact("/lti/ags/scores") => ags::delete_score, Open, Json, "delete a score: LTI 1.1 `deleteResult`"),
    route!(Get Exact("/lti/ags/results") => ags::results, Open, Json, "read results"),
    route!(Post Exact("/lti/caliper/events") => caliper::events, Open, Json, "Caliper learning analytics: a tool app's events (session token, services credential + `LTI-Session`, or `{\"session\"}` in a beacon's body), queued for the platform's event store"),
    route!(Get Exact("/lti/nrps/members") => nrps::members, Open, Json, "course roster"),
    route!(Get ModulePage => public::module_page, Open, Page, "the (demo) tool module page of a session"),
    route!(Post ModulePath => accept::launch, Open, Page, "LTI 1.1 launch on a module URL under `/hosted/` (KAF-style)"),
];

impl Path {
    /// Whether `path` matches, with what it captured.
    fn matches(self, path: &str) -> Option<Params> {
        match self {
            Path::Exact(p) => (p == path).then(Params::default),
            Path::Id(prefix, suffix) | Path::Seg(prefix, _, suffix) => {
                let id = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
                (!id.is_empty() && !id.contains('/')).then(|| Params { id: id.to_string(), ..Params::default() })
            }
            // Only under the LTI prefixes (`/hosted/index/my-media`, not `/contentlab`).
            Path::Module => modules::for_path(path)
                .filter(|_| lti_path(path))
                .map(|m| Params { module: Some(m), ..Params::default() }),
            Path::ModulePage => modules::session_path(path).map(|(m, t)| Params {
                module: Some(m),
                token: t.to_string(),
                ..Params::default()
            }),
        }
    }

    /// How the README names it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn display(self) -> String {
        match self {
            Path::Exact(p) => p.to_string(),
            Path::Id(prefix, suffix) => format!("{prefix}{{id}}{suffix}"),
            Path::Seg(prefix, name, suffix) => format!("{prefix}{name}{suffix}"),
            Path::Module => "<module path>".to_string(),
            Path::ModulePage => "<module path>/ks/{token}".to_string(),
        }
    }
}

/// The rows of the first pattern `path` matches (in table order), with its captures.
fn lookup(path: &str) -> Option<(Vec<&'static Route>, Params)> {
    let (first, params) = ROUTES.iter().find_map(|r| r.path.matches(path).map(|p| (r, p)))?;
    Some((ROUTES.iter().filter(|r| r.path == first.path).collect(), params))
}

/// Methods a path answers, as the `Allow` header lists them.
pub fn allow(rows: &[&Route]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.method.as_ref()) {
            names.push(r.method.as_ref());
            if r.method == Method::Get {
                names.push("HEAD");
            }
        }
    }
    names.join(", ")
}

/// Whether a path belongs to the LTI endpoints (answered `not_configured` until
/// `LTI_ENCRYPTION_KEY` is set, even when unknown).
fn lti_path(p: &str) -> bool {
    p.starts_with("/lti/") || p.starts_with("/hosted/") || modules::session_path(p).is_some()
}

/// Error style for a path no row matches: JSON under an API family (`/lti/ags/…`,
/// `/lti/platforms/…`), a page elsewhere.
fn unmatched_errors(p: &str) -> Errors {
    let family = |s: &str| s.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let json = ROUTES.iter().any(|r| match r.path {
        Path::Exact(e) | Path::Id(e, _) | Path::Seg(e, _, _) => {
            r.errors == Errors::Json && e.len() > 1 && family(e) == family(p)
        }
        _ => false,
    });
    if json {
        Errors::Json
    } else {
        Errors::Page
    }
}

fn wants_html(errors: Errors, req: &Request) -> bool {
    let header = |n: &str| req.headers().get(n).ok().flatten().unwrap_or_default().to_ascii_lowercase();
    match errors {
        Errors::Json => false,
        Errors::FormPage => header("content-type").starts_with("application/x-www-form-urlencoded"),
        Errors::Page => {
            let accept = header("accept");
            !accept.contains("application/json") || accept.contains("text/html")
        }
    }
}

/// Answer one request: route it, run its guard and handler, map every failure to one answer
/// shape, discard an unread body, strip the body of a `HEAD`; the answer is built as the
/// runtime's `Response` in one call ([`crate::js::respond`]).
pub async fn serve(mut req: Request, env: Env, wctx: Context) -> worker::Result<web_sys::Response> {
    let cid = random_bytes::<8>().map(|b| hex(&b)).unwrap_or_else(|_| "0000000000000000".into());
    let raw_url = req.inner().url();
    let (before_query, query) = raw_url.split_once('?').map_or((raw_url.as_str(), ""), |(a, b)| (a, b));
    let origin = lti_core::url::HttpUrl::parse(before_query).map(|u| u.origin()).unwrap_or_default();
    let path = req.path();
    let head = req.method() == Method::Head;
    let method = if head { Method::Get } else { req.method() };
    let found = lookup(&path);
    let errors = found.as_ref().and_then(|(rows, _)| rows.first().map(|r| r.errors)).unwrap_or(unmatched_errors(&path));
    let html = wants_html(errors, &req);
    let (rows, params) = found.map_or((Vec::new(), Params::default()), |(r, p)| (r, p));
    let ctx = Ctx {
        cfg: Config::load(&env, &origin),
        env: &env,
        wctx: &wctx,
        cid,
        query: query.to_string(),
        method,
        path,
        params,
    };
    // A handler's answer carries the correlation id header (an error answer has its own).
    let (resp, cid_header) = match dispatch(&ctx, &rows, head, &mut req).await {
        Ok(resp) => (resp, true),
        Err(mut e) => {
            log::rejected(&ctx.cid, &ctx.path, e.code.as_str(), e.code.status(), &e.detail);
            if let Some(rest) = e.leftover.take() {
                crate::http::body::discard(rest).await;
            }
            (e.into_response(&ctx.cid, html), false)
        }
    };
    // A body the handler did not read (a refused credential, a route without one) is
    // discarded chunk by chunk (nothing of it is kept) before the answer goes: answering an
    // upload still in flight makes HTTP clients and the local runtime drop the connection.
    // A body that was read (or whose rest an error answer discarded) is used: nothing to do.
    if !req.inner().body_used() {
        body::discard_unread(req.inner().body()).await;
    }
    let cid = cid_header.then_some(ctx.cid.as_str());
    if head {
        // The GET answer's status and headers, no body.
        let empty = Response::empty()?.with_status(resp.status_code()).with_headers(resp.headers().clone());
        return Ok(crate::js::respond(&empty, cid));
    }
    Ok(crate::js::respond(&resp, cid))
}

async fn dispatch(ctx: &Ctx<'_>, rows: &[&'static Route], head: bool, req: &mut Request) -> ApiResult<Response> {
    let p = ctx.path.as_str();
    let open = rows.iter().any(|r| matches!(r.path, Path::Exact("/") | Path::Exact("/version")));
    if !open {
        if rows.is_empty() && !lti_path(p) {
            return Err(ApiError::new(ErrorCode::NotFound, format!("no route {p}")));
        }
        // Without LTI_ENCRYPTION_KEY every LTI endpoint is disabled (no state signing, no key
        // encryption): say so instead of failing later.
        if ctx.cfg.encryption_key.is_none() {
            return Err(ApiError::new(ErrorCode::NotConfigured, "LTI_ENCRYPTION_KEY unset"));
        }
    }
    if rows.is_empty() {
        return Err(ApiError::new(ErrorCode::NotFound, format!("no route {p}")));
    }
    let Some(route) = rows.iter().find(|r| r.method == ctx.method) else {
        let method = if head { "HEAD".to_string() } else { ctx.method.to_string() };
        let mut e = ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} {p}"));
        e.allow = Some(allow(rows));
        return Err(e);
    };
    let console = match route.guard {
        Guard::Admin => crate::console::admin_or_console(ctx, req).await?,
        Guard::Open => None,
    };
    let mut resp = (route.handler)(ctx, req).await?;
    if let Some(s) = console {
        // A console call renews its session (the idle timeout counts from here).
        let cookie = crate::console::cookie(&ctx.cfg, &s, crate::clock::now()).await?;
        resp.headers_mut().append("set-cookie", &cookie)?;
    }
    Ok(resp)
}

/// The README's endpoint table, from [`ROUTES`]: one row a path, in table order.
#[cfg_attr(not(test), allow(dead_code))]
pub fn endpoint_table() -> String {
    let mut out = String::from("| method | path | errors | what |\n|---|---|---|---|\n");
    let mut seen: Vec<Path> = Vec::new();
    for r in ROUTES {
        if seen.contains(&r.path) {
            continue;
        }
        seen.push(r.path);
        let rows: Vec<&Route> = ROUTES.iter().filter(|x| x.path == r.path).collect();
        let errors = match r.errors {
            Errors::Json => "json",
            Errors::Page => "html",
            Errors::FormPage => "html (form) / json",
        };
        let admin = if r.guard == Guard::Admin { " (admin)" } else { "" };
        let what: Vec<&str> = rows.iter().map(|x| x.what).fold(Vec::new(), |mut v, w| {
            if !v.contains(&w) {
                v.push(w);
            }
            v
        });
        out.push_str(&format!(
            "| {} | `{}` | {errors} | {}{admin} |\n",
            allow(&rows),
            r.path.display(),
            what.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's endpoint table is the route table. After changing a route, run
    /// `LTI_EDGE_BLESS=1 cargo test -p lti-edge-worker --lib` to write it in.
    #[test]
    fn readme_endpoint_table_is_the_route_table() {
        let readme = include_str!("../../../README.md");
        let expected = endpoint_table();
        if std::env::var_os("LTI_EDGE_BLESS").is_some() {
            // `LTI_EDGE_BLESS=1 cargo test -p lti-edge-worker --lib`: write the table in.
            if let Some((head, rest)) = readme.split_once("<!-- routes:begin -->\n") {
                if let Some((_, tail)) = rest.split_once("<!-- routes:end -->") {
                    let text = format!("{head}<!-- routes:begin -->\n{expected}<!-- routes:end -->{tail}");
                    std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"), text).ok();
                }
            }
            return;
        }
        let block = readme
            .split_once("<!-- routes:begin -->\n")
            .and_then(|(_, rest)| rest.split_once("<!-- routes:end -->"))
            .map(|(block, _)| block);
        assert_eq!(block, Some(expected.as_str()), "README endpoint table is stale; it should read:\n{expected}");
    }

    #[test]
    fn every_path_pattern_is_listed_together_and_methods_are_unique() {
        for (i, r) in ROUTES.iter().enumerate() {
            for (j, s) in ROUTES.iter().enumerate() {
                if i < j && r.path == s.path {
                    assert!(r.method != s.method, "{} listed twice for {}", r.method.as_ref(), r.path.display());
                    assert!(
                        ROUTES[i..=j].iter().all(|x| x.path == r.path),
                        "rows of {} are not together",
                        r.path.display()
                    );
                    assert!(
                        r.guard == s.guard && r.errors == s.errors,
                        "{}: one guard and error style",
                        r.path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn patterns_capture_what_handlers_need() {
        let p = Path::Id("/lti/platforms/", "").matches("/lti/platforms/abc").map(|p| p.id);
        assert_eq!(p.as_deref(), Some("abc"));
        assert!(Path::Id("/lti/platforms/", "").matches("/lti/platforms/a/b").is_none());
        assert!(Path::Id("/lti/platforms/", "").matches("/lti/platforms/").is_none());
        let r = Path::Id("/lti/platforms/", "/upgrade-report").matches("/lti/platforms/x/upgrade-report");
        assert_eq!(r.map(|p| p.id).as_deref(), Some("x"));
        assert_eq!(allow(&lookup("/lti/platforms").map(|(r, _)| r).unwrap_or_default()), "GET, HEAD, POST");
        assert_eq!(allow(&lookup("/lti/ags/lineitem").map(|(r, _)| r).unwrap_or_default()), "GET, HEAD, PUT, DELETE");
        assert!(lookup("/nope").is_none());
        assert!(unmatched_errors("/lti/ags/nope") == Errors::Json);
        assert!(unmatched_errors("/lti/nope") == Errors::Page);
        assert!(Path::Module.matches("/hosted/index/my-media").is_some());
        assert!(Path::Module.matches("/contentlab").is_none(), "module URLs outside /lti/ and /hosted/ take no launch");
    }
}
