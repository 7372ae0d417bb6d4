//! `/lti/keys`: the tool's keys and their rotation (next → promote → retire).

use lti_policy::ErrorCode;
use serde_json::{json, Value};
use worker::{Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_OPTIONAL};
use crate::http::response::ok_json;
use crate::log;
use crate::routes::Ctx;
use crate::store::keyring::{self, RingOp};

/// `GET /lti/keys`.
pub async fn list(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let ring = keyring::ring(ctx.env).await?;
    let list: Vec<Value> = ring.keys.iter().map(keyring::key_view).collect();
    ok_json(json!({"keys": list, "jwksMaxAge": ctx.cfg.jwks_max_age}), 200)
}

/// `POST /lti/keys/next`: publish a key that does not sign yet.
pub async fn next(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    read_json(req, &JSON_OPTIONAL).await?;
    step(ctx, RingOp::Next, 201).await
}

/// `POST /lti/keys/promote`: the next key signs; the current one is retired after
/// `overlapSeconds`.
pub async fn promote(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_OPTIONAL).await?;
    let force = flag(&body, "force");
    let max_age = ctx.cfg.jwks_max_age;
    // Retired keys stay published long enough for every JWKS cache and every token signed
    // just before the promotion (sessions live up to an hour).
    let min_overlap = max_age + 360;
    let overlap = match body.get("overlapSeconds") {
        None | Some(Value::Null) => lti_policy::session::MAX_SESSION_TTL_SECS + 2 * max_age,
        Some(v) => match v.as_i64() {
            Some(o) if o >= min_overlap || (force && o >= 0) => o.min(30 * 86_400),
            _ => {
                return Err(ApiError::new(ErrorCode::RequestInvalid, "overlapSeconds").with_field(
                    "overlapSeconds",
                    format!("whole seconds, at least {min_overlap} (the key set cache time plus token lifetimes)"),
                ));
            }
        },
    };
    step(ctx, RingOp::Promote { force, overlap, max_age }, 200).await
}

/// `POST /lti/keys/retire`: drop retired keys past their time, or `kid` now (`force`).
pub async fn retire(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_OPTIONAL).await?;
    let kid = body.get("kid").and_then(Value::as_str).map(str::to_string);
    step(ctx, RingOp::Retire { kid, force: flag(&body, "force") }, 200).await
}

fn flag(body: &Value, k: &str) -> bool {
    body.get(k).and_then(Value::as_bool).unwrap_or(false)
}

async fn step(ctx: &Ctx<'_>, op: RingOp, status: u16) -> ApiResult<Response> {
    let result = keyring::rotate(ctx.env, &ctx.cfg, &op).await?;
    log::info(&ctx.cid, "tool_key_rotation", json!({"step": ctx.path, "result": result}));
    ok_json(result, status)
}
