//! `POST /lti/deep-link`: the Deep Linking response (LTI 1.3, a signed JWT) or the
//! ContentItemSelection (LTI 1.1, an OAuth-signed form), posted back to the platform.

use lti_core::deep_linking::{ContentItemInput, ContentItems};
use lti_core::encoding::b64url_encode;
use lti_core::jws::sign_rs256;
use lti_policy::session::SessionClaims;
use lti_policy::ErrorCode;
use lti_webcrypto::random_bytes;
use serde_json::{json, Value};
use worker::{Request, Response};

use super::caller::bad_request;
use crate::auth::{session_of, verify_session_token};
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_form, read_json, JSON_API};
use crate::http::response::{html_response_csp, ok_json as ok, script_csp};
use crate::routes::Ctx;
use crate::store::keyring;
use crate::store::registry::Registry;
use crate::{legacy, log, pages};

/// The picker's demo entries, by id (title, duration): what the form variant can return.
pub fn picker_entry(id: &str) -> Option<(&'static str, &'static str, u32)> {
    pages::DEMO_ENTRIES.iter().find(|(i, _, _)| *i == id).copied()
}

/// `POST /lti/deep-link`: JSON from a tool app (answers the JWT), or the picker's form (answers
/// the auto-submitting page).
pub async fn respond(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let ct = req.headers().get("content-type").ok().flatten().unwrap_or_default().to_ascii_lowercase();
    let form = ct.starts_with("application/x-www-form-urlencoded");
    let (session, inputs) = if form { picker_form(ctx, req).await? } else { tool_json(ctx, req).await? };
    if session.lti11.as_ref().is_some_and(|l| l.get("contentItem").is_some()) {
        return content_item_selection(ctx, &session, &inputs, form).await;
    }
    let settings = session.dl.clone().ok_or_else(|| {
        ApiError::new(ErrorCode::DeepLinkSessionRequired, "session is not from a deep-linking launch")
    })?;
    let reg = Registry::new(ctx.env)
        .get(&session.platform_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::PlatformUnregistered, "registration deleted since the launch"))?;
    let launch_url = format!("{}/lti/launch", ctx.cfg.base());
    let items = ContentItems::validate(&inputs, &settings, &launch_url, ctx.cfg.allow_http_loopback).map_err(|e| {
        let mut err = ApiError::coded(&e);
        err.fields = Some(e.fields());
        err
    })?;
    let nonce = b64url_encode(&random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let (client_id, issuer) = (reg.lti().client_id().as_str(), reg.lti().issuer().as_str());
    let claims = items.response_claims(&settings, client_id, issuer, &session.deployment_id, &nonce, now());
    let signer = keyring::signer(ctx.env, &ctx.cfg).await?;
    let jwt = sign_rs256(&signer, "JWT", &claims).await.map_err(|e| ApiError::internal(e.0))?;
    let kid = lti_core::crypto::Rs256Signer::kid(&signer);
    log::info(
        &ctx.cid,
        "deep_link_response",
        json!({"registration": reg.id(), "items": items.as_slice().len(), "kid": kid}),
    );
    if form {
        let (nonce, csp) = script_csp(&origin_of(&settings.return_url))?;
        let page =
            pages::auto_post_page(&nonce, &settings.return_url, &[("JWT".to_string(), jwt)], items.as_slice().len());
        return html_response_csp(page, 200, &csp);
    }
    ok(json!({"jwt": jwt, "returnUrl": settings.return_url, "items": items.as_slice()}), 200)
}

/// The picker's form: the session in a field, the chosen demo entries.
async fn picker_form(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<(SessionClaims, Vec<ContentItemInput>)> {
    let fields = read_form(req).await?;
    let token = fields.iter().find(|(k, _)| k == "session").map(|(_, v)| v.clone()).unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::new(ErrorCode::SessionInvalid, "form without session"));
    }
    let session = verify_session_token(ctx.env, &ctx.cfg, &token).await?;
    let base = ctx.cfg.base();
    let mut items = Vec::new();
    for (_, id) in fields.iter().filter(|(k, _)| k == "entry") {
        let (id, title, secs) =
            picker_entry(id).ok_or_else(|| bad_request("entry", "an entry offered by the picker"))?;
        items.push(ContentItemInput {
            kind: "ltiResourceLink".into(),
            title: Some(title.into()),
            entry_id: Some(id.into()),
            thumbnail_url: Some(format!("{base}/embed/thumb.svg")),
            duration: Some(f64::from(secs)),
            width: Some(640),
            height: Some(360),
            ..ContentItemInput::default()
        });
    }
    Ok((session, items))
}

/// A tool app's JSON: the session as the Bearer token, `contents` (or `items`).
async fn tool_json(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<(SessionClaims, Vec<ContentItemInput>)> {
    let session = session_of(ctx.env, &ctx.cfg, req).await?;
    let body = read_json(req, &JSON_API).await?;
    let list = body.get("contents").or_else(|| body.get("items")).cloned().ok_or_else(|| {
        ApiError::new(ErrorCode::DeepLinkInvalid, "no contents").with_field("contents", "send 1 to 50 items")
    })?;
    let items: Vec<ContentItemInput> = serde_json::from_value(list).map_err(|e| {
        ApiError::new(ErrorCode::DeepLinkInvalid, format!("contents json: {e}"))
            .with_field("contents", "an array of content items (type, title, url, …)")
    })?;
    Ok((session, items))
}

/// An LTI 1.1 ContentItemSelection: the OAuth-signed form, posted by a page or returned as JSON.
async fn content_item_selection(
    ctx: &Ctx<'_>,
    session: &SessionClaims,
    inputs: &[ContentItemInput],
    form: bool,
) -> ApiResult<Response> {
    let (action, fields) = legacy::content_items(ctx.env, &ctx.cfg, session, inputs).await?;
    log::info(&ctx.cid, "content_item_selection", json!({"registration": session.platform_id, "items": inputs.len()}));
    if form {
        let (nonce, csp) = script_csp(&origin_of(&action))?;
        return html_response_csp(pages::auto_post_page(&nonce, &action, &fields, inputs.len()), 200, &csp);
    }
    let map: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    ok(json!({"form": {"action": action, "fields": map}, "returnUrl": action}), 200)
}

/// The origin an auto-posting page may post to.
fn origin_of(url: &str) -> String {
    lti_core::url::HttpUrl::parse(url).map(|u| u.origin()).unwrap_or_default()
}
