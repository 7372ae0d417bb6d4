//! `POST /lti/caliper/events`: what happened in a tool app, in a compact JSON, turned into
//! Caliper 1.2 events of the caller's session and queued for the platform's event store.
//!
//! Who may call: the session token (`Authorization: Bearer`), the services credential with the
//! user's session in `LTI-Session` (a tool app's server), or — for `navigator.sendBeacon`, which
//! cannot set headers — a body `{"session": "<token>", "events": […]}` with no `Authorization`.
//! The credential is checked before the events are read; the body is read bounded (64 KB).

use lti_core::caliper::{parse_tool_events, urn_uuid, validate_event};
use lti_policy::session::SessionClaims;
use lti_policy::ErrorCode;
use lti_webcrypto::random_bytes;
use serde_json::{json, Value};
use worker::{Request, Response};

use crate::auth::{self, Credential};
use crate::caliper::{enqueue, load_record, stats, QueuedEvent};
use crate::clock::{iso_now, now};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_API};
use crate::http::response::ok_json;
use crate::log;
use crate::routes::Ctx;

/// `POST /lti/caliper/events`.
pub async fn events(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let (session, body) = if auth::bearer(req).is_some() {
        let session = match auth::service_credential(ctx.env, &ctx.cfg, req).await? {
            Credential::Session(s) | Credential::ServicesForSession(s) => s,
            Credential::Admin | Credential::Services => {
                return Err(ApiError::new(ErrorCode::SessionInvalid, "caliper events need a user's session")
                    .with_field("LTI-Session", "send the user's session token with the services credential"));
            }
        };
        (session, read_json(req, &JSON_API).await?)
    } else {
        // sendBeacon: the token is in the body (read bounded, verified before anything else).
        let mut body = read_json(req, &JSON_API).await?;
        let token = body.as_object_mut().and_then(|o| o.remove("session"));
        let token = token.as_ref().and_then(Value::as_str).filter(|t| !t.is_empty());
        let token =
            token.ok_or_else(|| ApiError::new(ErrorCode::SessionInvalid, "no bearer token, no body session"))?;
        (auth::verify_session_token(ctx.env, &ctx.cfg, token).await?, body)
    };
    accept(ctx, &session, &body).await
}

async fn accept(ctx: &Ctx<'_>, session: &SessionClaims, body: &Value) -> ApiResult<Response> {
    let not_enabled = |why: &str| ApiError::new(ErrorCode::CaliperNotEnabled, why.to_string());
    let session_id =
        session.caliper.as_deref().ok_or_else(|| not_enabled("the session's launch named no event store"))?;
    let tool_events = parse_tool_events(body, now()).map_err(|e| {
        let mut err = ApiError::coded(&e);
        err.fields = e.fields();
        err
    })?;
    let record =
        load_record(ctx.env, &ctx.cfg, session_id).await?.ok_or_else(|| not_enabled("caliper session record gone"))?;
    let accepted_at = iso_now();
    let mut queued = Vec::with_capacity(tool_events.len());
    let mut ids = Vec::with_capacity(tool_events.len());
    for ev in &tool_events {
        let id = match &ev.id {
            Some(id) => id.clone(),
            None => urn_uuid(random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?),
        };
        let event = record.session.event(ev, &id, &accepted_at);
        // What leaves here is what a store accepts: a failure is ours, not the caller's.
        validate_event(&event).map_err(|errs| ApiError::internal(format!("built an invalid event: {errs:?}")))?;
        ids.push(id);
        queued.push(QueuedEvent { r: record.registration.clone(), s: session_id.to_string(), e: event });
    }
    let n = queued.len() as u64;
    enqueue(ctx.env, queued).await?;
    stats::update_later(ctx.env, ctx.wctx, &record.registration, move |s| s.accepted += n);
    log::info(&ctx.cid, "caliper_events", json!({"registration": record.registration, "events": n}));
    ok_json(json!({"accepted": n, "ids": ids}), 202)
}
