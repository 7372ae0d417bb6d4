//! Per-registration Caliper counts and last errors, for admins
//! (`GET /lti/platforms/{id}/caliper`). One document per registration in the Durable Object
//! (object `caliper-stats:{id}`), updated by compare-and-swap so concurrent consumers and
//! launches never lose a count.

use serde::{Deserialize, Serialize};
use worker::Env;

use crate::error::{ApiError, ApiResult};
use crate::store::durable::{self, DocBody};

/// Errors kept (the latest first).
pub const LAST_ERRORS: usize = 20;
/// Dead-lettered event ids kept (the latest first).
pub const DEAD_IDS: usize = 200;

/// What admins read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stats {
    /// Events accepted onto the queue (LoggedIn included).
    pub accepted: u64,
    /// Events the store accepted (2xx).
    pub delivered: u64,
    /// Delivery attempts that failed and were retried (per event).
    pub retried: u64,
    /// Events dropped: refused by the store (4xx), or whose session record expired.
    pub dropped: u64,
    /// Events moved to the dead-letter queue after the retry limit.
    pub dead_lettered: u64,
    /// Launches whose profile was fetched and used.
    pub profiles_ok: u64,
    /// Launches whose profile failed (the launch went on without Caliper).
    pub profiles_failed: u64,
    /// The latest problems.
    pub last_errors: Vec<ErrorEntry>,
    /// Ids of dead-lettered events (latest first).
    pub dead_event_ids: Vec<String>,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    /// ISO 8601.
    pub at: String,
    /// A `caliper_*` code.
    pub code: String,
    /// What happened (status, reason; never the apiKey).
    pub detail: String,
}

impl Stats {
    /// Record a problem (latest first, bounded).
    pub fn error(&mut self, at: &str, code: &str, detail: impl Into<String>) {
        self.last_errors.insert(0, ErrorEntry { at: at.to_string(), code: code.to_string(), detail: detail.into() });
        self.last_errors.truncate(LAST_ERRORS);
    }
}

fn object(registration: &str) -> String {
    format!("caliper-stats:{registration}")
}

const KEY: &str = "stats";

/// The registration's stats (zeros when none).
pub async fn read(env: &Env, registration: &str) -> ApiResult<Stats> {
    let body = DocBody { key: KEY.into(), expect: None, value: None };
    let reply = durable::doc(env, &object(registration), "/doc/get", &body).await?;
    Ok(reply.value.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
}

/// Apply `change` atomically (compare-and-swap, retried on a concurrent write).
pub async fn update(env: &Env, registration: &str, change: impl Fn(&mut Stats)) -> ApiResult<()> {
    let name = object(registration);
    let mut current =
        durable::doc(env, &name, "/doc/get", &DocBody { key: KEY.into(), expect: None, value: None }).await?.value;
    for _ in 0..8 {
        let mut s: Stats = current.as_deref().and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default();
        change(&mut s);
        let next = serde_json::to_string(&s).map_err(|e| ApiError::internal(e.to_string()))?;
        let reply =
            durable::doc(env, &name, "/doc/cas", &DocBody { key: KEY.into(), expect: current, value: Some(next) })
                .await?;
        if reply.ok {
            return Ok(());
        }
        current = reply.value;
    }
    Err(ApiError::internal("caliper stats: too many concurrent writes"))
}

/// [`update`] in the background of a request (a lost count is logged, never fails the request).
pub fn update_later(env: &Env, wctx: &worker::Context, registration: &str, change: impl Fn(&mut Stats) + 'static) {
    let env = env.clone();
    let registration = registration.to_string();
    wctx.wait_until(async move {
        if let Err(e) = update(&env, &registration, change).await {
            crate::log::warn("-", "caliper_stats_failed", &e.detail);
        }
    });
}
