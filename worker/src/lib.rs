//! # LTI Edge worker
//!
//! The tool's LTI endpoint set on Cloudflare Workers: OIDC login initiation, launch validation,
//! the tool JWKS, tool configuration, platform registrations (admin API) and the session the
//! tool app receives. Protocol decisions live in [`lti_core`]; this crate does the I/O
//! (KV, Durable Objects, fetch, WebCrypto) and maps every failure to one response shape.
//!
//! Routes (generic, and KAF-compatible aliases):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/version` | readiness |
//! | GET, POST | `/lti/login`, `/hosted/index/oidc-init` | OIDC login initiation |
//! | POST | `/lti/launch`, `/hosted/index/oauth2-launch` | id_token launch |
//! | GET | `/lti/jwks`, `/hosted/index/lti-advantage-key-set` | tool public keys |
//! | GET | `/lti/config` | URLs an LMS admin pastes |
//! | GET, POST | `/lti/platforms` | list / upsert registrations (admin) |
//! | GET, DELETE | `/lti/platforms/{id}` | one registration (admin) |
//! | GET | `/lti/session` | verify a session token (Bearer) |
//! | GET | `<module path>/ks/<token>` | the (demo) tool module page |
//! | POST | `/lti/deep-link` | Deep Linking response (session of a deep-linking launch) |
//! | GET, POST | `/lti/ags/lineitems` | list / create line items (session or admin) |
//! | GET, PUT, DELETE | `/lti/ags/lineitem` | one line item (`lineItemUrl`) |
//! | POST | `/lti/ags/scores` | post a score |
//! | GET | `/lti/ags/results` | read results |
//! | GET | `/lti/nrps/members` | course roster |
//! | GET | `/lti/keys` | tool keys (admin) |
//! | GET, POST | `/lti/backup`, `/lti/restore` | configuration snapshot (admin) |
//! | POST | `/lti/keys/next`, `/lti/keys/promote`, `/lti/keys/retire` | key rotation (admin) |

#![forbid(unsafe_code)]

mod advantage;
mod backup;
mod config;
mod error;
mod http;
mod jwks;
mod keys;
mod legacy;
mod log;
mod pages;
mod registry;
mod sealed;
mod store;

use lti_core::encoding::b64url_encode;
use lti_core::encoding::{form_decode, hex};
use lti_core::error::{Coded, ErrorCode};
use lti_core::launch::UnverifiedLaunch;
use lti_core::modules;
use lti_core::registration::{uuid_v4, DeploymentPolicy};
use lti_core::session::{verify_session, SessionClaims};
use lti_core::state::{
    begin_login, binding_matches, cookie_value, Binding, LoginParams, StateHandle, LOGIN_RANDOM_BYTES,
};
use serde::{Deserialize, Serialize};
use worker::{event, Context, Env, Headers, Method, Request, Response};

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::registry::Registry;
use crate::store::StateStore;
use lti_webcrypto::{random_bytes, WebCryptoVerifier};

pub use store::LtiEdgeObject;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

pub(crate) fn iso_now() -> String {
    js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default()
}

/// The request as the handlers see it.
struct Ctx<'a> {
    env: &'a Env,
    wctx: &'a Context,
    cfg: Config,
    cid: String,
    path: String,
    query: String,
    /// The method routed (`HEAD` routes as `GET`; see `head`).
    method: Method,
    /// The request was a `HEAD`: answered like `GET`, without the body.
    head: bool,
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, wctx: Context) -> worker::Result<Response> {
    let cid = random_bytes::<8>().map(|b| hex(&b)).unwrap_or_else(|_| "0000000000000000".into());
    let raw_url = req.inner().url();
    let (before_query, query) = raw_url.split_once('?').map_or((raw_url.as_str(), ""), |(a, b)| (a, b));
    let origin = lti_core::url::HttpUrl::parse(before_query).map(|u| u.origin()).unwrap_or_default();
    let path = req.path();
    let html = wants_html(&req, &path);
    let head = req.method() == Method::Head;
    let method = if head { Method::Get } else { req.method() };
    let ctx = Ctx {
        cfg: Config::load(&env, &origin),
        env: &env,
        wctx: &wctx,
        cid: cid.clone(),
        query: query.to_string(),
        method,
        head,
        path,
    };
    let resp = match route(&ctx, &mut req).await {
        Ok(mut resp) => {
            let _ = resp.headers_mut().set("x-correlation-id", &cid);
            resp
        }
        Err(mut e) => {
            log::rejected(&cid, &ctx.path, e.code.as_str(), e.code.status(), &e.detail);
            if let Some(rest) = e.leftover.take() {
                http::discard(rest).await;
            }
            e.into_response(&cid, html)
        }
    };
    // A body the handler did not read (a refused credential, a route without one) is
    // discarded chunk by chunk (nothing of it is kept) before the answer goes: answering an
    // upload still in flight makes HTTP clients and the local runtime drop the connection.
    http::discard_unread(req.inner().body()).await;
    if head {
        // The GET answer's status and headers, no body.
        return Ok(Response::empty()?.with_status(resp.status_code()).with_headers(resp.headers().clone()));
    }
    Ok(resp)
}

/// Browser routes answer HTML unless the client asks for JSON; API routes always JSON.
fn wants_html(req: &Request, path: &str) -> bool {
    let api = path == "/version"
        || path == "/lti/config"
        || path == "/lti/session"
        || path.starts_with("/lti/platforms")
        || path == "/lti/jwks"
        || path.starts_with("/lti/ags/")
        || path.starts_with("/lti/nrps/")
        || path.starts_with("/lti/keys")
        || path.starts_with("/lti/services/")
        || path == "/lti/backup"
        || path == "/lti/restore";
    if api {
        return false;
    }
    if path == "/lti/deep-link" {
        // The picker's form gets pages; tool apps posting JSON get JSON.
        let ct = req.headers().get("content-type").ok().flatten().unwrap_or_default().to_ascii_lowercase();
        return ct.starts_with("application/x-www-form-urlencoded");
    }
    let accept = req.headers().get("accept").ok().flatten().unwrap_or_default().to_ascii_lowercase();
    !accept.contains("application/json") || accept.contains("text/html")
}

async fn route(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let p = ctx.path.as_str();
    if p == "/version" {
        return only(ctx, &[Method::Get]).and_then(|_| version(ctx));
    }
    if p == "/" {
        only(ctx, &[Method::Get])?;
        return html_response(pages::index(&ctx.cfg.base(), ctx.cfg.encryption_key.is_some()), 200);
    }
    let lti = p.starts_with("/lti/") || p.starts_with("/hosted/") || modules::session_path(p).is_some();
    if !lti {
        return Err(ApiError::new(ErrorCode::NotFound, format!("no route {p}")));
    }
    // Without LTI_ENCRYPTION_KEY every LTI endpoint is disabled (no state signing, no key
    // encryption): say so instead of failing later.
    if ctx.cfg.encryption_key.is_none() {
        return Err(ApiError::new(ErrorCode::NotConfigured, "LTI_ENCRYPTION_KEY unset"));
    }
    match p {
        "/lti/login" | "/hosted/index/oidc-init" => {
            only(ctx, &[Method::Get, Method::Post])?;
            login(ctx, req).await
        }
        "/lti/launch" | "/hosted/index/oauth2-launch" => {
            only(ctx, &[Method::Post])?;
            launch(ctx, req).await
        }
        "/lti/launch/storage" => {
            only(ctx, &[Method::Post])?;
            launch_storage(ctx, req).await
        }
        "/lti/jwks" | "/hosted/index/lti-advantage-key-set" => {
            only(ctx, &[Method::Get])?;
            tool_jwks(ctx).await
        }
        "/lti/config" => {
            only(ctx, &[Method::Get])?;
            tool_config(ctx)
        }
        "/lti/session" => {
            only(ctx, &[Method::Get])?;
            session_introspect(ctx, req).await
        }
        "/lti/platforms" => {
            only(ctx, &[Method::Get, Method::Post])?;
            admin(ctx, req)?;
            if ctx.method == Method::Post {
                platform_upsert(ctx, req).await
            } else {
                let regs = Registry::new(ctx.env).list().await?;
                let list: Vec<serde_json::Value> =
                    regs.iter().map(lti_core::registration::Registration::public_json).collect();
                ok_json(list, 200)
            }
        }
        "/lti/deep-link" => {
            only(ctx, &[Method::Post])?;
            advantage::deep_link(ctx.env, &ctx.cfg, &ctx.cid, req).await
        }
        "/lti/ags/lineitems" => {
            only(ctx, &[Method::Get, Method::Post])?;
            let q = advantage::query_object(&ctx.query);
            advantage::lineitems(ctx.env, &ctx.cfg, &ctx.cid, req, &q, ctx.method == Method::Post).await
        }
        "/lti/ags/lineitem" => {
            only(ctx, &[Method::Get, Method::Put, Method::Delete])?;
            let q = advantage::query_object(&ctx.query);
            let m = match ctx.method {
                Method::Put => "PUT",
                Method::Delete => "DELETE",
                _ => "GET",
            };
            advantage::lineitem(ctx.env, &ctx.cfg, &ctx.cid, req, &q, m).await
        }
        "/lti/ags/scores" => {
            only(ctx, &[Method::Post, Method::Delete])?;
            if ctx.method == Method::Delete {
                return advantage::delete_score(ctx.env, &ctx.cfg, &ctx.cid, req).await;
            }
            advantage::scores(ctx.env, &ctx.cfg, &ctx.cid, req).await
        }
        "/lti/ags/results" => {
            only(ctx, &[Method::Get])?;
            let q = advantage::query_object(&ctx.query);
            advantage::results(ctx.env, &ctx.cfg, &ctx.cid, req, &q).await
        }
        "/lti/nrps/members" => {
            only(ctx, &[Method::Get])?;
            let q = advantage::query_object(&ctx.query);
            advantage::members(ctx.env, &ctx.cfg, &ctx.cid, req, &q).await
        }
        "/lti/services/stats" => {
            only(ctx, &[Method::Get])?;
            admin(ctx, req)?;
            advantage::stats()
        }
        "/lti/backup" => {
            only(ctx, &[Method::Get])?;
            admin(ctx, req)?;
            let snap = backup::export(ctx.env, &ctx.cfg, VERSION, &iso_now()).await?;
            log::info(
                &ctx.cid,
                "backup_exported",
                serde_json::json!({"registrations": snap.get("registrations").and_then(serde_json::Value::as_array).map_or(0, Vec::len)}),
            );
            ok_json(snap, 200)
        }
        "/lti/restore" => {
            only(ctx, &[Method::Post])?;
            admin(ctx, req)?;
            let body = read_json(req, &JSON_BACKUP).await?;
            let result = backup::restore(ctx.env, &ctx.cfg, &body).await?;
            log::info(&ctx.cid, "backup_restored", result.clone());
            ok_json(result, 200)
        }
        "/lti/keys" => {
            only(ctx, &[Method::Get])?;
            admin(ctx, req)?;
            keys_list(ctx).await
        }
        "/lti/keys/next" | "/lti/keys/promote" | "/lti/keys/retire" => {
            only(ctx, &[Method::Post])?;
            admin(ctx, req)?;
            keys_step(ctx, req).await
        }
        _ => {
            if let Some(id) = p.strip_prefix("/lti/platforms/").and_then(|r| r.strip_suffix("/upgrade-report")) {
                only(ctx, &[Method::Get])?;
                admin(ctx, req)?;
                return legacy::report(ctx.env, id).await;
            }
            if let Some(id) = p.strip_prefix("/lti/platforms/") {
                only(ctx, &[Method::Get, Method::Delete])?;
                admin(ctx, req)?;
                return platform_one(ctx, id).await;
            }
            if ctx.method == Method::Post && modules::for_path(p).is_some() {
                // KAF-style LTI 1.1: the LMS posts the launch to the module's own URL.
                return launch(ctx, req).await;
            }
            if let Some((module, token)) = modules::session_path(p) {
                only(ctx, &[Method::Get])?;
                return module_page(ctx, module, token).await;
            }
            Err(ApiError::new(ErrorCode::NotFound, format!("no route {p}")))
        }
    }
}

/// The route answers `methods` (and `HEAD` wherever it answers `GET`); anything else is a
/// 405 whose `Allow` header lists exactly these.
fn only(ctx: &Ctx<'_>, methods: &[Method]) -> ApiResult<()> {
    if methods.contains(&ctx.method) {
        return Ok(());
    }
    let mut names: Vec<&str> = Vec::new();
    for m in methods {
        names.push(m.as_ref());
        if *m == Method::Get {
            names.push("HEAD");
        }
    }
    let method = if ctx.head { "HEAD".to_string() } else { ctx.method.to_string() };
    let mut e = ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} {}", ctx.path));
    e.allow = Some(names.join(", "));
    Err(e)
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    let h = Headers::new();
    for (k, v) in pairs {
        let _ = h.set(k, v);
    }
    h
}

/// `{"success": true, "data": …}`.
pub(crate) fn ok_json(data: impl Into<serde_json::Value>, status: u16) -> ApiResult<Response> {
    json_response(&serde_json::json!({"success": true, "data": data.into()}), status)
}

pub(crate) fn json_response(v: &serde_json::Value, status: u16) -> ApiResult<Response> {
    Ok(Response::from_bytes(v.to_string().into_bytes())?.with_status(status).with_headers(headers(&[
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
    ])))
}

fn html_response(body: String, status: u16) -> ApiResult<Response> {
    html_response_csp(body, status, pages::PAGE_CSP)
}

pub(crate) fn html_response_csp(body: String, status: u16, csp: &str) -> ApiResult<Response> {
    Ok(Response::from_bytes(body.into_bytes())?.with_status(status).with_headers(headers(&[
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", csp),
    ])))
}

/// A page with one inline script allowed by a fresh nonce.
pub(crate) fn script_csp() -> ApiResult<(String, String)> {
    let nonce = b64url_encode(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'");
    Ok((nonce, csp))
}

/// `lti_storage_target` is `_parent` or a frame name; anything else is ignored (no storage).
fn storage_target(t: Option<&str>) -> Option<&str> {
    t.filter(|t| {
        !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    })
}

fn version(ctx: &Ctx<'_>) -> ApiResult<Response> {
    json_response(
        &serde_json::json!({"name": "lti-edge", "version": VERSION, "configured": ctx.cfg.encryption_key.is_some()}),
        200,
    )
}

/// Read a form body (POST) with a size limit.
pub(crate) async fn read_form(req: &mut Request) -> ApiResult<Vec<(String, String)>> {
    Ok(form_decode(&read_body_text(req).await?))
}

/// How a JSON request body is read: size limit, the code of a malformed body, whether an empty
/// body means `{}`, whether it must be an object, and what `fields.body` tells the caller.
pub(crate) struct JsonBody {
    limit: usize,
    code: ErrorCode,
    empty_is_object: bool,
    object: bool,
    hint: &'static str,
}

/// Service APIs: a JSON object (`request_invalid`).
pub(crate) const JSON_API: JsonBody = JsonBody {
    limit: MAX_BODY,
    code: ErrorCode::RequestInvalid,
    empty_is_object: false,
    object: true,
    hint: "must be a JSON object",
};
/// Optional bodies (key rotation steps): empty means `{}`.
const JSON_OPTIONAL: JsonBody = JsonBody { empty_is_object: true, ..JSON_API };
/// Backups: up to 4 MB.
const JSON_BACKUP: JsonBody =
    JsonBody { limit: 4 * 1024 * 1024, hint: "must be a JSON object (a snapshot from GET /lti/backup)", ..JSON_API };
/// Registrations: any JSON (the registration validator names what is wrong).
const JSON_REGISTRATION: JsonBody =
    JsonBody { code: ErrorCode::RegistrationInvalid, object: false, hint: "must be valid JSON", ..JSON_API };

/// Read a JSON request body as `how` says: streamed, stopping at `how.limit`.
pub(crate) async fn read_json(req: &mut Request, how: &JsonBody) -> ApiResult<serde_json::Value> {
    let bytes = read_body(req, how.limit, how.code).await?;
    let body =
        String::from_utf8(bytes).map_err(|_| ApiError::new(how.code, "body not UTF-8").with_field("body", how.hint))?;
    if how.empty_is_object && body.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(how.code, format!("json: {e}")).with_field("body", how.hint))?;
    if how.object && !v.is_object() {
        return Err(ApiError::new(how.code, "json not an object").with_field("body", how.hint));
    }
    Ok(v)
}

/// A request body, read as a stream that stops at `limit` bytes (a declared
/// `Content-Length` over the limit is refused before reading anything). Callers authenticate
/// first wherever the route has a credential.
pub(crate) async fn read_body(req: &Request, limit: usize, unreadable: ErrorCode) -> ApiResult<Vec<u8>> {
    if let Some(len) = req.headers().get("content-length").ok().flatten().and_then(|l| l.trim().parse::<u64>().ok()) {
        if len > limit as u64 {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("declared {len} bytes, limit {limit}")));
        }
    }
    let rest = std::cell::RefCell::new(None);
    http::read_capped(req.inner().body(), limit, http::Overflow::Park(&rest)).await.map_err(|e| match e {
        http::BodyError::TooLarge(n) => {
            let mut e = ApiError::new(ErrorCode::PayloadTooLarge, format!("more than {limit} bytes ({n} read)"));
            e.leftover = rest.take();
            e
        }
        http::BodyError::Unreadable(d) => ApiError::new(unreadable, format!("body unreadable: {d}")),
    })
}

// ------------------------------------------------------------------ login

async fn login(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let mut pairs = form_decode(&ctx.query);
    if ctx.method == Method::Post {
        pairs.extend(read_form(req).await?);
    }
    let params = LoginParams::from_pairs(&pairs).map_err(|e| ApiError::coded(&e))?;
    let candidates = Registry::new(ctx.env).for_login(&params.iss, params.client_id.as_deref()).await?;
    let redirect_path = if ctx.path.starts_with("/hosted/") { "/hosted/index/oauth2-launch" } else { "/lti/launch" };
    let key = ctx.cfg.state_key().ok_or_else(|| ApiError::new(ErrorCode::NotConfigured, "no key"))?;
    let random = random_bytes::<LOGIN_RANDOM_BYTES>().map_err(|e| ApiError::internal(e.0))?;
    let t = now();
    // Nothing is stored: the signed state carries the login (and names the store its launch
    // will mark it used in).
    let (redirect, reg_id) =
        begin_login(&params, &candidates, &ctx.cfg.tool, redirect_path, &key, &random, ctx.cfg.store_name(), t)
            .map_err(|e| ApiError::coded(&e))?;
    let target = storage_target(params.lti_storage_target.as_deref());
    log::info(
        &ctx.cid,
        "login",
        serde_json::json!({"registration": reg_id, "store": ctx.cfg.store_name(), "platform_storage": target.is_some()}),
    );
    if let Some(target) = target {
        // LTI Platform Storage: keep the binding secret in the platform's storage too, so the
        // launch can be bound to this browser with no cookie at all.
        let platform_origin = candidates
            .iter()
            .find(|r| r.id == reg_id)
            .and_then(|r| lti_core::url::HttpUrl::parse(&r.auth_login_url).ok())
            .map(|u| u.origin())
            .ok_or_else(|| ApiError::internal("registration vanished during login"))?;
        let config = serde_json::json!({
            "target": target, "origin": platform_origin, "key": redirect.cookie_name,
            "value": redirect.cookie_value, "next": redirect.location,
        });
        let (nonce, csp) = script_csp()?;
        let mut resp = html_response_csp(pages::storage_login_page(&nonce, &config, &redirect.location), 200, &csp)?;
        let _ = resp.headers_mut().set("set-cookie", &redirect.set_cookie());
        return Ok(resp);
    }
    let resp = Response::empty()?.with_status(302).with_headers(headers(&[
        ("location", &redirect.location),
        ("set-cookie", &redirect.set_cookie()),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
    ]));
    Ok(resp)
}

// ------------------------------------------------------------------ launch

async fn launch(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_body_text(req).await?;
    let form = form_decode(&body);
    if legacy::is_lti11(&form) {
        // LTI 1.1 on the same endpoint (KAF auto-detects the version the same way).
        let t = now();
        let claims = legacy::launch(ctx.env, ctx.wctx, &ctx.cfg, &req.inner().url(), &ctx.path, &body, t).await?;
        log::info(
            &ctx.cid,
            "launch",
            serde_json::json!({"registration": claims.platform_id, "lti_version": "1.1", "module": claims.module, "role": claims.role, "user_id_source": claims.user_id_source}),
        );
        return session_redirect(ctx, &claims, None).await;
    }
    let field = |n: &str| form.iter().find(|(k, v)| k == n && !v.is_empty()).map(|(_, v)| v.clone());
    let state = field("state").ok_or_else(|| ApiError::new(ErrorCode::LaunchParamMissing, "state missing"))?;
    let id_token = field("id_token").ok_or_else(|| ApiError::new(ErrorCode::LaunchParamMissing, "id_token missing"))?;
    let key = ctx.cfg.state_key().ok_or_else(|| ApiError::new(ErrorCode::NotConfigured, "no key"))?;
    let t = now();

    // 1. State: signature and expiry, then marked used exactly once, in the store the login
    // named (a restart that switched NONCE_STORE neither refuses in-flight logins nor lets a
    // used state through).
    let handle = StateHandle::verify(&state, &key, t).map_err(|e| ApiError::coded(&e))?;
    let cookie_name = handle.cookie_name();
    let store = StateStore::named(ctx.env, ctx.wctx, handle.store())
        .unwrap_or_else(|| StateStore::new(ctx.env, ctx.wctx, &ctx.cfg));
    let first_use = store.claim(&handle.store_key(), handle.exp(), t).await?;
    let consumed = handle.consumed(first_use).map_err(|e| ApiError::coded(&e))?;
    let cookie_header = req.headers().get("cookie").ok().flatten().unwrap_or_default();
    let binding = consumed.check_cookie(cookie_value(&cookie_header, &cookie_name)).map_err(|e| ApiError::coded(&e))?;
    let registry = Registry::new(ctx.env);
    let mut reg = registry.get(&consumed.record().registration_id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::PlatformUnregistered, "registration deleted between login and launch")
    })?;

    // 2–4. Header (RS256, kid), platform key, signature.
    let unverified = UnverifiedLaunch::parse(&id_token).map_err(|e| ApiError::coded(&e))?;
    let keys = jwks::key_set(ctx.env, ctx.wctx, &reg.keyset_url, unverified.kid(), t, &ctx.cid).await?;
    let verified = match unverified.clone().verify(&keys, &WebCryptoVerifier).await {
        Ok(v) => v,
        Err(e) if e.code() == ErrorCode::SignatureInvalid => {
            // A platform may have re-used its kid for a new key: one refetch (when the cached
            // set is old enough), then the verdict stands.
            match jwks::after_bad_signature(ctx.env, ctx.wctx, &reg.keyset_url, unverified.kid(), &keys, &ctx.cid)
                .await?
            {
                Some(newer) => unverified.verify(&newer, &WebCryptoVerifier).await.map_err(|e| ApiError::coded(&e))?,
                None => return Err(ApiError::coded(&e)),
            }
        }
        Err(e) => return Err(ApiError::coded(&e)),
    };

    // 5–12. Every claim.
    let validated = verified.validate(&consumed, &reg, t).map_err(|e| ApiError::coded(&e))?;
    let skew = validated.observed_skew();
    if validated.is_new_deployment()
        && reg.deployment_policy == DeploymentPolicy::AcceptAndRecord
        && registry.record_deployment(&reg, validated.deployment_id(), &iso_now()).await?
    {
        reg.record_deployment(validated.deployment_id());
        log::info(
            &ctx.cid,
            "deployment_recorded",
            serde_json::json!({"registration": reg.id, "deployment": validated.deployment_id()}),
        );
    }

    // 13–16. Who, role, module, category (an upgraded 1.1 link keeps its 1.1 identity).
    let legacy_identity =
        legacy::migration(ctx.env, ctx.wctx, &ctx.cfg, &reg, validated.claims(), &ctx.cid, &iso_now()).await?;
    let target = consumed.record().target_link_uri.clone();
    let presentation_origin = {
        let c = validated.claims();
        let from = |claim: &str, field: &str| {
            c.get(claim)
                .and_then(|v| v.get(field))
                .and_then(serde_json::Value::as_str)
                .and_then(|u| lti_core::url::HttpUrl::parse(u).ok())
        };
        from("https://purl.imsglobal.org/spec/lti/claim/launch_presentation", "return_url")
            .or_else(|| from("https://purl.imsglobal.org/spec/lti/claim/tool_platform", "url"))
            .map(|u| u.origin())
    };
    let authorized = match &legacy_identity {
        Some(identity) => validated.authorize_migrated(&reg, &ctx.cfg.tool, &target, identity),
        None => validated.authorize(&reg, &ctx.cfg.tool, &target),
    };
    let launch = authorized.map_err(|e| {
        let mut err = ApiError::coded(&e);
        if let lti_core::error::AccessError::RoleUnmapped(roles) = &e {
            err.roles = Some(roles.clone());
        }
        err
    })?;

    // The tool session.
    let jti = hex(&random_bytes::<12>().map_err(|e| ApiError::internal(e.0))?);
    let mut claims = SessionClaims::for_launch(&launch, &ctx.cfg.base(), binding.as_str(), t, ctx.cfg.session_ttl, jti);
    claims.platform_origin = presentation_origin;
    advantage::remember_context(ctx.env, ctx.wctx, &claims);
    if binding == Binding::StateOnly {
        if let Some(target) = storage_target(consumed.record().storage_target.as_deref()) {
            // No cookie came back, but the login stored the binding secret in platform
            // storage: park the session and let the launch page read the secret back.
            let platform_origin =
                lti_core::url::HttpUrl::parse(&reg.auth_login_url).map(|u| u.origin()).unwrap_or_default();
            return park_for_storage(
                ctx,
                &store,
                claims,
                consumed.record().cookie_hash.clone(),
                target,
                &platform_origin,
                &cookie_name,
                t,
            )
            .await;
        }
    }
    log::info(
        &ctx.cid,
        "launch",
        serde_json::json!({
            "registration": reg.id, "message_type": launch.message_type.as_str(), "module": launch.module.code,
            "role": launch.role.as_str(), "binding": binding.as_str(), "store": store.kind(), "clock_skew_s": skew,
            "user_id_source": launch.user_id_source.as_str(),
        }),
    );
    session_redirect(ctx, &claims, Some(&cookie_name)).await
}

/// Sign a session and send the browser to its module page (303, no referrer, no cache).
async fn session_redirect(ctx: &Ctx<'_>, claims: &SessionClaims, clear_cookie: Option<&str>) -> ApiResult<Response> {
    let signer = keys::session_signer(ctx.env, &ctx.cfg).await?;
    let token = claims.sign(&signer).await.map_err(|e| ApiError::internal(e.0))?;
    let module = modules::by_code(&claims.module).ok_or_else(|| ApiError::internal("session module"))?;
    let location = format!("{}{}/ks/{}", ctx.cfg.base(), module.path, token);
    let mut pairs =
        vec![("location", location.as_str()), ("cache-control", "no-store"), ("referrer-policy", "no-referrer")];
    let cookie;
    if let Some(name) = clear_cookie {
        cookie = format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=None; Partitioned");
        pairs.push(("set-cookie", cookie.as_str()));
    }
    Ok(Response::empty()?.with_status(303).with_headers(headers(&pairs)))
}

/// A form or launch body as text, bounded by [`MAX_BODY`].
async fn read_body_text(req: &mut Request) -> ApiResult<String> {
    let bytes = read_body(req, MAX_BODY, ErrorCode::LaunchParamMissing).await?;
    String::from_utf8(bytes).map_err(|_| ApiError::new(ErrorCode::LaunchParamMissing, "body not UTF-8"))
}

/// A session waiting for its launch page to read the binding secret back from platform storage.
#[derive(Serialize, Deserialize)]
struct PendingSession {
    claims: SessionClaims,
    cookie_hash: String,
    exp: i64,
}

/// How long a launch page has to answer with the platform-storage value.
const PENDING_SECS: i64 = 120;

#[allow(clippy::too_many_arguments)]
async fn park_for_storage(
    ctx: &Ctx<'_>,
    store: &StateStore<'_>,
    claims: SessionClaims,
    cookie_hash: String,
    target: &str,
    platform_origin: &str,
    key: &str,
    t: i64,
) -> ApiResult<Response> {
    let continuation = b64url_encode(&random_bytes::<24>().map_err(|e| ApiError::internal(e.0))?);
    let pending = PendingSession { claims, cookie_hash, exp: t + PENDING_SECS };
    let text = serde_json::to_string(&pending).map_err(|e| ApiError::internal(e.to_string()))?;
    store.put(&format!("pending:{continuation}"), text, t + PENDING_SECS, t).await?;
    let config = serde_json::json!({"target": target, "origin": platform_origin, "key": key});
    let (nonce, csp) = script_csp()?;
    log::info(&ctx.cid, "launch_pending_storage", serde_json::json!({"registration": pending.claims.platform_id}));
    html_response_csp(pages::storage_launch_page(&nonce, &config, &continuation), 200, &csp)
}

/// The launch page's answer: the continuation and the value read from platform storage.
async fn launch_storage(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let form = read_form(req).await?;
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()).unwrap_or_default();
    let continuation = field("continuation");
    if continuation.is_empty()
        || continuation.len() > 64
        || !continuation.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::new(ErrorCode::StateInvalid, "continuation malformed"));
    }
    let t = now();
    let store = StateStore::new(ctx.env, ctx.wctx, &ctx.cfg);
    let taken = store
        .take(&format!("pending:{continuation}"), t + PENDING_SECS)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::StateReused, "continuation unknown or already used"))?;
    let mut pending: PendingSession = serde_json::from_str(&taken).map_err(|e| ApiError::internal(e.to_string()))?;
    if t > pending.exp {
        return Err(ApiError::new(ErrorCode::StateExpired, "launch page answered too late"));
    }
    let value = field("value");
    let binding = if value.is_empty() {
        // The platform offered storage but it did not answer: the signed single-use state and
        // the nonce still carry the launch.
        log::warn(
            &ctx.cid,
            "platform_storage_unavailable",
            &format!("storage_error={}", field("storage_error").chars().take(64).collect::<String>()),
        );
        Binding::StateOnly
    } else if binding_matches(&pending.cookie_hash, value) {
        Binding::PlatformStorage
    } else {
        return Err(ApiError::new(ErrorCode::StateCookieMismatch, "platform storage value does not match this launch"));
    };
    pending.claims.binding = binding.as_str().to_string();
    log::info(
        &ctx.cid,
        "launch",
        serde_json::json!({"registration": pending.claims.platform_id, "module": pending.claims.module, "binding": binding.as_str()}),
    );
    session_redirect(ctx, &pending.claims, None).await
}

// ------------------------------------------------------------------ tool keys, config, sessions

async fn tool_jwks(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let set = keys::public_keys(ctx.env).await?;
    Ok(Response::from_bytes(set.to_json().to_string().into_bytes())?.with_headers(headers(&[
        ("content-type", "application/json"),
        // Short enough that a rotation's next key is seen before it is promoted
        // (promotion waits this long) and retired keys outlive every cache.
        ("cache-control", &format!("public, max-age={}", ctx.cfg.jwks_max_age)),
        ("access-control-allow-origin", "*"),
    ])))
}

fn tool_config(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let b = ctx.cfg.base();
    json_response(
        &serde_json::json!({
            "success": true,
            "data": {
                "enabled": true,
                "loginUrl": format!("{b}/lti/login"),
                "launchUrl": format!("{b}/lti/launch"),
                "jwksUrl": format!("{b}/lti/jwks"),
                "redirectUris": [format!("{b}/lti/launch"), format!("{b}/hosted/index/oauth2-launch")],
                "deepLinkUrl": format!("{b}{}", modules::by_code(modules::PICKER_MODULE).map_or("", |m| m.path)),
                "kaf": {
                    "oidcInitUrl": format!("{b}/hosted/index/oidc-init"),
                    "launchUrl": format!("{b}/hosted/index/oauth2-launch"),
                    "jwksUrl": format!("{b}/hosted/index/lti-advantage-key-set"),
                },
                "modules": modules::MODULES.iter().map(|m| serde_json::json!({"code": m.code, "title": m.title, "targetLinkUri": format!("{b}{}", m.path)})).collect::<Vec<_>>(),
            }
        }),
        200,
    )
}

async fn verify_token(ctx: &Ctx<'_>, token: &str) -> ApiResult<SessionClaims> {
    verify_session_token(ctx.env, &ctx.cfg, token).await
}

/// Verify a session token against the tool's published keys.
pub(crate) async fn verify_session_token(env: &Env, cfg: &Config, token: &str) -> ApiResult<SessionClaims> {
    let keys = keys::public_keys(env).await?;
    verify_session(token, &keys, &WebCryptoVerifier, &cfg.base(), now()).await.map_err(|e| ApiError::coded(&e))
}

// ------------------------------------------------------------------ tool keys (admin)

async fn keys_list(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let ring = keys::ring(ctx.env).await?;
    let list: Vec<serde_json::Value> = ring.keys.iter().map(keys::key_view).collect();
    ok_json(serde_json::json!({"keys": list, "jwksMaxAge": ctx.cfg.jwks_max_age}), 200)
}

async fn keys_step(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_OPTIONAL).await?;
    let flag = |k: &str| body.get(k).and_then(serde_json::Value::as_bool).unwrap_or(false);
    let max_age = ctx.cfg.jwks_max_age;
    // Retired keys stay published long enough for every JWKS cache and every token signed
    // just before the promotion (sessions live up to an hour).
    let min_overlap = max_age + 360;
    let default_overlap = lti_core::session::MAX_SESSION_TTL_SECS + 2 * max_age;
    let (op, status) = match ctx.path.as_str() {
        "/lti/keys/next" => (keys::RingOp::Next, 201),
        "/lti/keys/promote" => {
            let overlap = match body.get("overlapSeconds") {
                None | Some(serde_json::Value::Null) => default_overlap,
                Some(v) => {
                    match v.as_i64() {
                        Some(o) if o >= min_overlap || (flag("force") && o >= 0) => o.min(30 * 86_400),
                        _ => {
                            return Err(ApiError::new(ErrorCode::RequestInvalid, "overlapSeconds").with_field("overlapSeconds", format!("whole seconds, at least {min_overlap} (the key set cache time plus token lifetimes)")));
                        }
                    }
                }
            };
            (keys::RingOp::Promote { force: flag("force"), overlap, max_age }, 200)
        }
        _ => (
            keys::RingOp::Retire {
                kid: body.get("kid").and_then(serde_json::Value::as_str).map(str::to_string),
                force: flag("force"),
            },
            200,
        ),
    };
    let result = keys::rotate(ctx.env, &op).await?;
    log::info(&ctx.cid, "tool_key_rotation", serde_json::json!({"step": ctx.path, "result": result}));
    ok_json(result, status)
}

async fn session_introspect(ctx: &Ctx<'_>, req: &Request) -> ApiResult<Response> {
    let token = bearer(req).ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token"))?;
    let claims = verify_token(ctx, &token).await?;
    ok_json(serde_json::to_value(claims).map_err(|e| ApiError::internal(e.to_string()))?, 200)
}

async fn module_page(ctx: &Ctx<'_>, module: &'static modules::Module, token: &str) -> ApiResult<Response> {
    let claims = verify_token(ctx, token).await?;
    if claims.module != module.code {
        return Err(ApiError::new(ErrorCode::SessionInvalid, "session is for another module"));
    }
    html_response_csp(pages::module_page(module, &claims, token), 200, &pages::module_csp())
}

// ------------------------------------------------------------------ admin

/// The `Authorization: Bearer` token, if any.
pub(crate) fn bearer(req: &Request) -> Option<String> {
    let auth = req.headers().get("authorization").ok().flatten()?;
    let t = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer "))?.trim().to_string();
    (!t.is_empty()).then_some(t)
}

fn admin(ctx: &Ctx<'_>, req: &Request) -> ApiResult<()> {
    if ctx.cfg.admin_token.is_none() {
        return Err(ApiError::new(ErrorCode::AdminUnauthorized, "LTI_ADMIN_TOKEN not configured"));
    }
    if !bearer(req).is_some_and(|t| ctx.cfg.is_admin(&t)) {
        return Err(ApiError::new(ErrorCode::AdminUnauthorized, "bad or missing admin bearer token"));
    }
    Ok(())
}

async fn platform_upsert(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_REGISTRATION).await?;
    // Field errors come from the same validation the registry runs; a new LTI 1.1 secret is
    // sealed here (WebCrypto) so the registry object stores only its sealed form.
    let secret_enc = match body.get("lti11Secret").and_then(serde_json::Value::as_str) {
        Some(plain) if (8..=255).contains(&plain.chars().count()) => {
            Some(legacy::encrypt_secret(&ctx.cfg, plain).await?)
        }
        _ => None,
    };
    let id = uuid_v4(random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let up = Registry::new(ctx.env).upsert(&body, &id, &iso_now(), ctx.cfg.allow_http_loopback, secret_enc).await?;
    let reg = up.registration;
    log::info(&ctx.cid, "registration_saved", serde_json::json!({"id": reg.id, "updated": !up.created}));
    ok_json(reg.public_json(), if up.created { 201 } else { 200 })
}

async fn platform_one(ctx: &Ctx<'_>, id: &str) -> ApiResult<Response> {
    let registry = Registry::new(ctx.env);
    if ctx.method == Method::Delete {
        if registry.delete(id).await? {
            return ok_json(serde_json::json!({"id": id, "deleted": true}), 200);
        }
    } else if let Some(reg) = registry.get(id).await? {
        return ok_json(reg.public_json(), 200);
    }
    Err(ApiError::new(ErrorCode::NotFound, "registration not found"))
}
