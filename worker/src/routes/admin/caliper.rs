//! `GET /lti/platforms/{id}/caliper`: the registration's Caliper switch, delivery counts, the
//! latest problems (profile failures, store refusals, retries) and the ids of dead-lettered
//! events. Never the event store's key.

use lti_policy::ErrorCode;
use serde_json::json;
use worker::{Request, Response};

use crate::caliper::stats;
use crate::error::{ApiError, ApiResult};
use crate::http::response::ok_json;
use crate::routes::Ctx;
use crate::store::registry::Registry;

/// `GET /lti/platforms/{id}/caliper`.
pub async fn status(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let reg = Registry::new(ctx.env)
        .get(&ctx.params.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "registration not found"))?;
    let s = stats::read(ctx.env, reg.id()).await?;
    let mut data = serde_json::to_value(&s).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(o) = data.as_object_mut() {
        o.insert("registration".into(), json!(reg.id()));
        o.insert("caliper".into(), json!(reg.caliper));
    }
    ok_json(data, 200)
}
