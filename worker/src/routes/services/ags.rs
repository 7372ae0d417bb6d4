//! Assignment and Grade Services: line items, scores, results — each URL checked against the
//! context's grant (in normal form) before it is called; LTI 1.1 sessions go to Basic
//! Outcomes.

use lti_core::error::ServiceError;
use lti_core::services::{self, line_item_body, parse_json, ScoreInput, ServiceUrl};
use lti_policy::ErrorCode;
use serde_json::{json, Value};
use worker::{Request, Response};

use super::caller::{bad_request, caller, query_object, svc_err, Caller};
use crate::auth::service_credential;
use crate::clock::iso_now;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_API};
use crate::http::response::ok_json as ok;
use crate::routes::Ctx;
use crate::{legacy, log};

const LINEITEM_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
const LINEITEMS_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";
const SCORE_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
const RESULTS_TYPE: &str = "application/vnd.ims.lis.v2.resultcontainer+json";

/// `GET /lti/ags/lineitems`.
pub async fn list_lineitems(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    lineitems(ctx, req, false).await
}

/// `POST /lti/ags/lineitems`.
pub async fn create_lineitem(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    lineitems(ctx, req, true).await
}

async fn lineitems(ctx: &Ctx<'_>, req: &mut Request, is_post: bool) -> ApiResult<Response> {
    let (env, cfg) = (ctx.env, &ctx.cfg);
    let query = &query_object(&ctx.query);
    let credential = service_credential(env, cfg, req).await?;
    let body = if is_post { read_json(req, &JSON_API).await? } else { Value::Null };
    let params = if is_post { &body } else { query };
    let c = caller(env, credential, params).await?;
    let ags = c.ags()?;
    let container = ags.container().map_err(|e| svc_err(&e))?;
    let link = c.session.as_ref().and_then(|s| s.resource_link_id.clone());
    if is_post {
        c.require_staff()?;
        ags.require(services::SCOPE_LINEITEM).map_err(|e| svc_err(&e))?;
        let mut item = line_item_body(&body, false).map_err(|e| svc_err(&e))?;
        if let (Some(l), Some(o)) = (&link, item.as_object_mut()) {
            o.insert("resourceLinkId".into(), json!(l));
        }
        let answer = c.call(ctx, "POST", &container, LINEITEM_TYPE, Some((LINEITEM_TYPE, item.to_string()))).await?;
        let created = parse_json(&answer.body).map_err(|e| svc_err(&e))?;
        if created.get("id").and_then(Value::as_str).is_none() {
            return Err(svc_err(&ServiceError::ResponseInvalid("created line item without id".into())));
        }
        return ok(created, 201);
    }
    read_scope(ags)?;
    let q = |k: &str| query.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let forced_link = link.as_deref();
    if let Some(l) = forced_link.or(q("resourceLinkId")) {
        pairs.push(("resource_link_id", l));
    }
    if let Some(r) = q("resourceId") {
        pairs.push(("resource_id", r));
    }
    if let Some(t) = q("tag") {
        pairs.push(("tag", t));
    }
    if let Some(l) = q("limit") {
        pairs.push(("limit", l));
    }
    let url = container.with_query(&pairs);
    let (mut items, _, walk, _) = c.get_all(ctx, &url, LINEITEMS_TYPE, None).await?;
    if let Some(l) = forced_link {
        items.retain(|i| i.get("resourceLinkId").and_then(Value::as_str) == Some(l));
    }
    ok(json!({"lineItems": items, "pages": walk.pages(), "truncated": walk.truncated()}), 200)
}

fn read_scope(ags: &services::AgsGrant) -> ApiResult<&'static str> {
    if ags.require(services::SCOPE_LINEITEM).is_ok() {
        Ok(services::SCOPE_LINEITEM)
    } else {
        ags.require(services::SCOPE_LINEITEM_READONLY).map_err(|e| svc_err(&e))?;
        Ok(services::SCOPE_LINEITEM_READONLY)
    }
}

/// Check a line item URL is in the caller's scope: in the context's container (compared in
/// normal form, see [`services::AgsGrant::lineitem_url`]), and for a session, the launch's own
/// line item or one whose `resourceLinkId` is the session's link. Returns the checked URL —
/// the only form that is sent — and the line item when it had to be fetched.
async fn check_lineitem(ctx: &Ctx<'_>, c: &Caller, url: &str) -> ApiResult<(ServiceUrl, Option<Value>)> {
    let ags = c.ags()?;
    let checked = ags.lineitem_url(url).map_err(|e| svc_err(&e))?;
    let Some(s) = &c.session else { return Ok((checked, None)) };
    if ags.is_own_lineitem(&checked) {
        return Ok((checked, None));
    }
    read_scope(ags)?;
    let answer = c.call(ctx, "GET", &checked, LINEITEM_TYPE, None).await?;
    let item = parse_json(&answer.body).map_err(|e| svc_err(&e))?;
    let link = item.get("resourceLinkId").and_then(Value::as_str);
    if link.is_none() || link != s.resource_link_id.as_deref() {
        return Err(svc_err(&ServiceError::LineItemOutOfScope));
    }
    Ok((checked, Some(item)))
}

fn lineitem_url(params: &Value) -> ApiResult<String> {
    let u = params
        .get("lineItemUrl")
        .or_else(|| params.get("lineitem"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("lineItemUrl", "required"))?;
    lti_core::url::HttpUrl::parse(u).map_err(|_| bad_request("lineItemUrl", "an absolute URL"))?;
    Ok(u.to_string())
}

/// `GET /lti/ags/lineitem`.
pub async fn get_lineitem(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    lineitem(ctx, req, "GET").await
}

/// `PUT /lti/ags/lineitem`.
pub async fn put_lineitem(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    lineitem(ctx, req, "PUT").await
}

/// `DELETE /lti/ags/lineitem`.
pub async fn delete_lineitem(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    lineitem(ctx, req, "DELETE").await
}

async fn lineitem(ctx: &Ctx<'_>, req: &mut Request, method: &str) -> ApiResult<Response> {
    let (env, cfg) = (ctx.env, &ctx.cfg);
    let query = &query_object(&ctx.query);
    let credential = service_credential(env, cfg, req).await?;
    let body = if method == "PUT" { read_json(req, &JSON_API).await? } else { Value::Null };
    let params = if method == "PUT" { &body } else { query };
    let c = caller(env, credential, params).await?;
    let url = lineitem_url(params)?;
    let ags = c.ags()?;
    match method {
        "GET" => {
            read_scope(ags)?;
            let (checked, fetched) = check_lineitem(ctx, &c, &url).await?;
            if let Some(item) = fetched {
                return ok(item, 200);
            }
            let answer = c.call(ctx, "GET", &checked, LINEITEM_TYPE, None).await?;
            ok(parse_json(&answer.body).map_err(|e| svc_err(&e))?, 200)
        }
        "PUT" => {
            c.require_staff()?;
            ags.require(services::SCOPE_LINEITEM).map_err(|e| svc_err(&e))?;
            let (checked, fetched) = check_lineitem(ctx, &c, &url).await?;
            let current = match fetched {
                Some(v) => v,
                None => {
                    let a = c.call(ctx, "GET", &checked, LINEITEM_TYPE, None).await?;
                    parse_json(&a.body).map_err(|e| svc_err(&e))?
                }
            };
            let changes = line_item_body(&body, true).map_err(|e| svc_err(&e))?;
            // PUT replaces the line item: start from the current one, apply the changes, keep
            // the session's resource link.
            let mut merged = current.as_object().cloned().unwrap_or_default();
            if let Some(ch) = changes.as_object() {
                for (k, v) in ch {
                    merged.insert(k.clone(), v.clone());
                }
            }
            if let Some(l) = c.session.as_ref().and_then(|s| s.resource_link_id.clone()) {
                merged.insert("resourceLinkId".into(), json!(l));
            }
            let answer = c
                .call(ctx, "PUT", &checked, LINEITEM_TYPE, Some((LINEITEM_TYPE, Value::Object(merged).to_string())))
                .await?;
            let v =
                if answer.body.is_empty() { Value::Null } else { parse_json(&answer.body).map_err(|e| svc_err(&e))? };
            ok(v, 200)
        }
        _ => {
            c.require_staff()?;
            ags.require(services::SCOPE_LINEITEM).map_err(|e| svc_err(&e))?;
            let (checked, _) = check_lineitem(ctx, &c, &url).await?;
            c.call(ctx, "DELETE", &checked, LINEITEM_TYPE, None).await?;
            ok(json!({"deleted": true, "lineItemUrl": checked.as_str()}), 200)
        }
    }
}

/// `POST /lti/ags/scores`.
pub async fn post_score(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let (env, cfg) = (ctx.env, &ctx.cfg);
    let credential = service_credential(env, cfg, req).await?;
    let body = read_json(req, &JSON_API).await?;
    let c = caller(env, credential, &body).await?;
    c.require_score_writer()?;
    if let Some(s) = c.session.as_ref().filter(|s| s.lti_version == "1.1") {
        return legacy::post_score(env, cfg, &ctx.cid, s, &body).await;
    }
    let ags = c.ags()?;
    ags.require(services::SCOPE_SCORE).map_err(|e| svc_err(&e))?;
    let input: ScoreInput = serde_json::from_value(body.clone()).map_err(|e| {
        ApiError::new(ErrorCode::ScoreInvalid, format!("score json: {e}"))
            .with_field("body", "a JSON object with the score fields")
    })?;
    let url = match (&input.line_item_url, &ags.lineitem, &c.session) {
        (Some(u), _, _) => u.clone(),
        (None, Some(l), Some(_)) => l.clone(),
        _ => return Err(bad_request("lineItemUrl", "required (this launch has no line item of its own)")),
    };
    let user_id = match (&input.user_id, &c.session) {
        (Some(u), Some(s)) if u != &s.lti_sub && !lti_policy::roles::is_staff(&s.role) => {
            return Err(ApiError::new(ErrorCode::RoleForbidden, "learner posting another user's score"));
        }
        (Some(u), _) => u.clone(),
        (None, Some(s)) if !s.lti_sub.is_empty() => s.lti_sub.clone(),
        (None, Some(_)) => {
            return Err(bad_request("userId", "required (this session has no platform user: an anonymous launch)"))
        }
        (None, None) => return Err(bad_request("userId", "required with the admin or services token")),
    };
    let score = input.to_score(&user_id, &iso_now()).map_err(|e| svc_err(&e))?;
    let (checked, _) = check_lineitem(ctx, &c, &url).await?;
    c.call(ctx, "POST", &checked.join("/scores"), "application/json", Some((SCORE_TYPE, score.to_string()))).await?;
    let by = match (&c.session, c.server) {
        (_, true) if c.session.is_some() => "services-for-session",
        (None, _) => "server",
        _ => "session",
    };
    log::info(&ctx.cid, "score_posted", json!({"registration": c.reg.id(), "by": by}));
    ok(json!({"posted": true, "lineItemUrl": checked.as_str(), "userId": user_id}), 200)
}

/// `DELETE /lti/ags/scores`: LTI 1.1 deleteResult (AGS has no score deletion).
pub async fn delete_score(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let (env, cfg) = (ctx.env, &ctx.cfg);
    let credential = service_credential(env, cfg, req).await?;
    let c = caller(env, credential, &Value::Null).await;
    let c = match c {
        Ok(c) => c,
        Err(e) if e.code == ErrorCode::RequestInvalid => {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "AGS scores cannot be deleted; post a score without scoreGiven instead",
            ));
        }
        Err(e) => return Err(e),
    };
    let Some(s) = c.session.as_ref().filter(|s| s.lti_version == "1.1") else {
        return Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            "AGS scores cannot be deleted; post a score without scoreGiven instead",
        ));
    };
    c.require_score_writer()?;
    legacy::delete_score(env, cfg, &ctx.cid, s).await
}

/// `GET /lti/ags/results`.
pub async fn results(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let (env, cfg) = (ctx.env, &ctx.cfg);
    let query = &query_object(&ctx.query);
    let credential = service_credential(env, cfg, req).await?;
    let c = caller(env, credential, query).await?;
    if let Some(s) = c.session.as_ref().filter(|s| s.lti_version == "1.1") {
        return legacy::read_score(env, cfg, &ctx.cid, s).await;
    }
    let ags = c.ags()?;
    ags.require(services::SCOPE_RESULT_READONLY).map_err(|e| svc_err(&e))?;
    let url = match query.get("lineItemUrl").and_then(Value::as_str) {
        Some(_) => lineitem_url(query)?,
        None => match (&ags.lineitem, &c.session) {
            (Some(l), Some(_)) => l.clone(),
            _ => return Err(bad_request("lineItemUrl", "required")),
        },
    };
    let (checked, _) = check_lineitem(ctx, &c, &url).await?;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let own;
    match &c.session {
        Some(s) if !lti_policy::roles::is_staff(&s.role) => {
            own = s.lti_sub.clone();
            pairs.push(("user_id", own.as_str()));
        }
        _ => {
            if let Some(u) = query.get("userId").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                pairs.push(("user_id", u));
            }
        }
    }
    if let Some(l) = query.get("limit").and_then(Value::as_str) {
        pairs.push(("limit", l));
    }
    let first = checked.join("/results").with_query(&pairs);
    let (items, _, walk, _) = c.get_all(ctx, &first, RESULTS_TYPE, None).await?;
    ok(json!({"results": items, "pages": walk.pages(), "truncated": walk.truncated()}), 200)
}
