//! Caliper learning analytics at the edge: discovery at launch ([`discovery`]), events onto a
//! Cloudflare Queue (this module), delivery to the platform's event store with retries and a
//! dead-letter queue ([`delivery`]), and the per-registration counts admins read ([`stats`]).
//!
//! What is kept where:
//! - KV `caliper:s:{id}`: one launch's Caliper session — the event store (`apiUrl`, `apiKey`,
//!   switches) and who/where ([`lti_core::caliper::CaliperSession`]) — sealed (AES-256-GCM under
//!   `LTI_ENCRYPTION_KEY`). The session token carries only the id (`caliper` claim); the apiKey
//!   is never in a token, an answer, a queue message or a log line.
//! - KV `caliper:p:{registration}:{sha256(url)}`: a fetched profile, sealed, for five minutes.
//! - Queue `lti-edge-caliper` (binding `CALIPER_QUEUE`): one message per event,
//!   `{"r": registration, "s": session id, "e": event}`. The event's `id` (a `urn:uuid:`) is
//!   fixed when the worker accepts it, so a redelivery carries the same id: a store that keeps
//!   ids it has seen can drop the second copy.
//! - Queue `lti-edge-caliper-dlq`: what failed every retry; its consumer (this worker) counts
//!   and lists those event ids per registration ([`stats`]).

pub mod delivery;
pub mod discovery;
pub mod stats;

use lti_core::caliper::{CaliperSession, EventStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{Env, QueueContentType, RawMessageBuilder};

use crate::config::{Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::sealed;

/// Producer binding.
pub const QUEUE_BINDING: &str = "CALIPER_QUEUE";
/// Label of sealed Caliper records (sessions and cached profiles).
pub const SEALED_LABEL: &[u8] = b"lti-edge/caliper/v1";
/// How long a session's record outlives the session (retries may run late).
pub const RECORD_GRACE_SECS: u64 = 2 * 24 * 3600;
/// Most bytes in one `sendBatch` (the platform's limit is 256 KB).
const SEND_BATCH_BYTES: usize = 200 * 1024;

/// One launch's Caliper session as kept (sealed) in KV.
#[derive(Serialize, Deserialize)]
pub struct Record {
    /// Registration id.
    pub registration: String,
    /// The event store (with its key).
    pub store: EventStore,
    /// Who, where, which LTI session.
    pub session: CaliperSession,
}

/// A queue message: one event of one session.
#[derive(Serialize, Deserialize)]
pub struct QueuedEvent {
    /// Registration id.
    pub r: String,
    /// Caliper session id (its record holds the store).
    pub s: String,
    /// The Caliper event.
    pub e: Value,
}

fn record_key(session_id: &str) -> String {
    format!("caliper:s:{session_id}")
}

/// Keep a session's record (sealed) for the session's life and the retry window.
pub async fn save_record(env: &Env, cfg: &Config, session_id: &str, record: &Record) -> ApiResult<()> {
    let plain = serde_json::to_vec(record).map_err(|e| ApiError::internal(e.to_string()))?;
    let text = sealed::seal(cfg, SEALED_LABEL, &plain).await?;
    let ttl = u64::try_from(cfg.session_ttl).unwrap_or(3600) + RECORD_GRACE_SECS;
    env.kv(KV_BINDING)?.put(&record_key(session_id), text)?.expiration_ttl(ttl).execute().await?;
    Ok(())
}

/// A session's record, if it is still kept.
pub async fn load_record(env: &Env, cfg: &Config, session_id: &str) -> ApiResult<Option<Record>> {
    let Some(text) = env.kv(KV_BINDING)?.get(&record_key(session_id)).text().await? else {
        return Ok(None);
    };
    let plain = sealed::open(cfg, SEALED_LABEL, &text).await?;
    serde_json::from_slice(&plain).map(Some).map_err(|e| ApiError::internal(format!("caliper record: {e}")))
}

/// Put events on the queue (in `sendBatch` calls of at most 100 messages and ~200 KB).
pub async fn enqueue(env: &Env, events: Vec<QueuedEvent>) -> ApiResult<()> {
    let queue = env.queue(QUEUE_BINDING)?;
    let mut batch: Vec<String> = Vec::new();
    let mut bytes = 0;
    for ev in events {
        let text = serde_json::to_string(&ev).map_err(|e| ApiError::internal(e.to_string()))?;
        if !batch.is_empty() && (batch.len() == 100 || bytes + text.len() > SEND_BATCH_BYTES) {
            send(&queue, std::mem::take(&mut batch)).await?;
            bytes = 0;
        }
        bytes += text.len();
        batch.push(text);
    }
    if !batch.is_empty() {
        send(&queue, batch).await?;
    }
    Ok(())
}

async fn send(queue: &worker::Queue, texts: Vec<String>) -> ApiResult<()> {
    let messages: Vec<_> = texts
        .into_iter()
        .map(|t| RawMessageBuilder::new(t.into()).build_with_content_type(QueueContentType::Text))
        .collect();
    queue.send_raw_batch(messages).await.map_err(|e| ApiError::internal(format!("queue send: {e}")))
}
