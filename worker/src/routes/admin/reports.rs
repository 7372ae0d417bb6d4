//! Reports: the LTI 1.1 → 1.3 upgrade report of a registration, the service token cache.

use worker::{Request, Response};

use crate::error::ApiResult;
use crate::http::response::ok_json;
use crate::legacy;
use crate::routes::services::caller;
use crate::routes::Ctx;

/// `GET /lti/platforms/{id}/upgrade-report`.
pub async fn upgrade(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    ok_json(legacy::report(ctx.env, &ctx.params.id).await?, 200)
}

/// `GET /lti/services/stats`: this isolate's token cache counters.
pub async fn service_tokens(_ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    ok_json(serde_json::to_value(caller::token_stats()).unwrap_or(serde_json::Value::Null), 200)
}
