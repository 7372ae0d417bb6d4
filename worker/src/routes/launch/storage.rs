//! LTI Platform Storage: a launch whose binding cookie did not come back is parked, and its
//! launch page reads the binding secret back from the platform's frame and posts it to
//! `POST /lti/launch/storage`.

use lti_core::encoding::b64url_encode;
use lti_core::state::{binding_matches, Binding};
use lti_policy::session::SessionClaims;
use lti_policy::ErrorCode;
use lti_webcrypto::random_bytes;
use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::session_redirect;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::http::body::read_form;
use crate::http::response::{html_response_csp, script_csp};
use crate::routes::Ctx;
use crate::store::state::StateStore;
use crate::{log, pages};

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
pub async fn park(
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
    let (nonce, csp) = script_csp("'self'")?;
    log::info(&ctx.cid, "launch_pending_storage", serde_json::json!({"registration": pending.claims.platform_id}));
    html_response_csp(pages::storage_launch_page(&nonce, &config, &continuation), 200, &csp)
}

/// `POST /lti/launch/storage`: the launch page's answer: the continuation and the value read from platform storage.
pub async fn launch_storage(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
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
