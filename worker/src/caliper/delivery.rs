//! The queue consumer: events to the platform's event store, and the dead-letter queue's
//! account of what never arrived.
//!
//! A batch is grouped by session (one event store and key per session); each group goes as one
//! envelope (Caliper 1.2 §5.2), `POST apiUrl` with `Authorization: <apiKey>`, 10 s:
//! - 2xx: acknowledged, counted as delivered;
//! - 429, 5xx, a timeout or a network failure: every message of the group is retried after
//!   `min(CALIPER_RETRY_BASE_SECONDS × 2^(attempts−1), CALIPER_RETRY_MAX_SECONDS)` seconds; after
//!   the queue's `max_retries` the platform moves it to the dead-letter queue;
//! - any other 4xx: dropped (acknowledged) with the code `caliper_delivery_refused`;
//! - a session whose record expired: dropped with its code (one that cannot be read right now is
//!   retried like a failing store).
//!
//! Every outcome is counted per registration and every failure logged with its code; the
//! dead-letter consumer counts and lists the ids of what it receives. The apiKey appears only in
//! the request to the store.

use std::collections::BTreeMap;

use js_sys::{Array, Function, Object, Reflect};
use lti_core::caliper::envelope;
use lti_policy::ErrorCode;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use super::{load_record, stats, QueuedEvent};
use crate::clock::iso_now;
use crate::config::{env_string, Config};
use crate::http::outbound::{fetch, Outbound};
use crate::log;

/// Delivery timeout.
pub const DELIVERY_TIMEOUT_MS: u32 = 10_000;

/// One message of a batch.
struct Message {
    raw: JsValue,
    attempts: u32,
    body: Option<QueuedEvent>,
}

impl Message {
    fn call(&self, method: &str, arg: Option<&JsValue>) {
        if let Some(f) = Reflect::get(&self.raw, &method.into()).ok().and_then(|f| f.dyn_into::<Function>().ok()) {
            let _ = match arg {
                Some(a) => f.call1(&self.raw, a),
                None => f.call0(&self.raw),
            };
        }
    }

    fn ack(&self) {
        self.call("ack", None);
    }

    fn retry(&self, delay_seconds: u32) {
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"delaySeconds".into(), &JsValue::from(delay_seconds));
        self.call("retry", Some(&opts));
    }

    fn id(&self) -> String {
        self.body.as_ref().and_then(|b| b.e.get("id")).and_then(Value::as_str).unwrap_or("?").to_string()
    }
}

fn messages(batch: &JsValue) -> Vec<Message> {
    let Some(list) = Reflect::get(batch, &"messages".into()).ok().and_then(|m| m.dyn_into::<Array>().ok()) else {
        return Vec::new();
    };
    list.iter()
        .map(|raw| {
            let attempts = Reflect::get(&raw, &"attempts".into()).ok().and_then(|a| a.as_f64()).unwrap_or(1.0) as u32;
            let body = Reflect::get(&raw, &"body".into())
                .ok()
                .and_then(|b| b.as_string())
                .and_then(|t| serde_json::from_str::<QueuedEvent>(&t).ok());
            Message { raw, attempts, body }
        })
        .collect()
}

/// Retry delays (`CALIPER_RETRY_BASE_SECONDS`, default 10; `CALIPER_RETRY_MAX_SECONDS`, default
/// 600): exponential, capped.
fn backoff(env: &Env, attempts: u32) -> u32 {
    let var = |n: &str, d: u32| env_string(env, n).and_then(|v| v.parse::<u32>().ok()).unwrap_or(d);
    delay(var("CALIPER_RETRY_BASE_SECONDS", 10), var("CALIPER_RETRY_MAX_SECONDS", 600), attempts)
}

/// `base × 2^(attempts−1)`, at most `max` (never below `base`), without overflow.
fn delay(base: u32, max: u32, attempts: u32) -> u32 {
    base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16)).min(max.max(base))
}

/// The queue handler: the events queue, or its dead-letter queue.
pub async fn consume(batch: JsValue, env: Env) {
    let queue = Reflect::get(&batch, &"queue".into()).ok().and_then(|q| q.as_string()).unwrap_or_default();
    let msgs = messages(&batch);
    if queue.ends_with("-dlq") {
        dead_letters(&env, msgs).await;
    } else {
        deliver(&env, msgs).await;
    }
}

/// Events that failed every retry: acknowledged here (nothing more can be done for them) after
/// their ids are counted, listed for admins and logged.
async fn dead_letters(env: &Env, msgs: Vec<Message>) {
    let mut by_reg: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &msgs {
        let reg = m.body.as_ref().map(|b| b.r.clone()).unwrap_or_default();
        by_reg.entry(reg).or_default().push(m.id());
    }
    for (reg, ids) in by_reg {
        let line = json!({"registration": reg, "code": ErrorCode::CaliperDeadLettered.as_str(), "events": ids});
        log::warn_fields("-", "caliper_dead_lettered", &line);
        let at = iso_now();
        let counted = stats::update(env, &reg, |s| {
            s.dead_lettered += ids.len() as u64;
            for id in &ids {
                s.dead_event_ids.insert(0, id.clone());
            }
            s.dead_event_ids.truncate(stats::DEAD_IDS);
            s.error(
                &at,
                ErrorCode::CaliperDeadLettered.as_str(),
                format!("{} event(s) after the retry limit", ids.len()),
            );
        })
        .await;
        if let Err(e) = counted {
            log::warn("-", "caliper_stats_failed", &e.detail);
        }
    }
    for m in &msgs {
        m.ack();
    }
}

/// What became of one group.
#[derive(Default)]
struct Outcome {
    delivered: u64,
    retried: u64,
    dropped: u64,
    errors: Vec<(String, String)>,
}

async fn deliver(env: &Env, msgs: Vec<Message>) {
    let cfg = Config::load(env, "");
    let mut groups: BTreeMap<String, Vec<&Message>> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    for m in &msgs {
        match &m.body {
            Some(b) => groups.entry(b.s.clone()).or_default().push(m),
            None => {
                // Not ours (or corrupt): nothing could ever deliver it.
                log::warn("-", "caliper_message_unreadable", "dropped");
                m.ack();
            }
        }
    }
    for (session_id, group) in groups {
        let reg = group.first().and_then(|m| m.body.as_ref()).map(|b| b.r.clone()).unwrap_or_default();
        let out = outcomes.entry(reg.clone()).or_default();
        let record = match load_record(env, &cfg, &session_id).await {
            Ok(Some(r)) => r,
            // KV or decryption failed this time: not the events' fault, try them again.
            Err(e) => {
                retry(env, &group, out, &reg, "-", format!("session record unreadable now: {}", e.detail));
                continue;
            }
            Ok(None) => {
                let code = ErrorCode::CaliperNotEnabled.as_str();
                log::warn_fields(
                    "-",
                    "caliper_dropped",
                    &json!({"registration": reg, "code": code, "why": "session record gone", "events": group.len()}),
                );
                out.dropped += group.len() as u64;
                out.errors
                    .push((code.to_string(), format!("{} event(s): the session's record has expired", group.len())));
                group.iter().for_each(|m| m.ack());
                continue;
            }
        };
        let data: Vec<Value> = group.iter().filter_map(|m| m.body.as_ref().map(|b| b.e.clone())).collect();
        let body = envelope(&record.session.ed_app, &iso_now(), data).to_string();
        let answer = fetch(&Outbound {
            method: "POST",
            url: &record.store.api_url,
            headers: &[("content-type", "application/json"), ("authorization", record.store.api_key.expose())],
            body: Some(&body),
            cap: 4096,
            timeout_ms: DELIVERY_TIMEOUT_MS,
            follow_redirects: false,
        })
        .await;
        let n = group.len() as u64;
        let origin = lti_core::url::HttpUrl::parse(&record.store.api_url).map(|u| u.origin()).unwrap_or_default();
        match answer {
            Ok(a) if (200..300).contains(&a.status) => {
                out.delivered += n;
                group.iter().for_each(|m| m.ack());
            }
            Ok(a) if a.status == 429 || a.status >= 500 => {
                retry(env, &group, out, &reg, &origin, format!("HTTP {}", a.status));
            }
            Ok(a) => {
                let code = ErrorCode::CaliperDeliveryRefused.as_str();
                let ids: Vec<String> = group.iter().map(|m| m.id()).collect();
                log::warn_fields(
                    "-",
                    "caliper_delivery_refused",
                    &json!({"registration": reg, "code": code, "status": a.status, "store": origin, "events": ids}),
                );
                out.dropped += n;
                out.errors
                    .push((code.to_string(), format!("{origin} answered HTTP {}; {n} event(s) dropped", a.status)));
                group.iter().for_each(|m| m.ack());
            }
            Err(why) => retry(env, &group, out, &reg, &origin, why),
        }
    }
    let at = iso_now();
    for (reg, o) in outcomes {
        let counted = stats::update(env, &reg, |s| {
            s.delivered += o.delivered;
            s.retried += o.retried;
            s.dropped += o.dropped;
            for (code, detail) in &o.errors {
                s.error(&at, code, detail.clone());
            }
        })
        .await;
        if let Err(e) = counted {
            log::warn("-", "caliper_stats_failed", &e.detail);
        }
    }
}

fn retry(env: &Env, group: &[&Message], out: &mut Outcome, reg: &str, origin: &str, why: String) {
    let code = ErrorCode::CaliperDeliveryFailed.as_str();
    let attempts = group.iter().map(|m| m.attempts).max().unwrap_or(1);
    let delay = backoff(env, attempts);
    log::warn_fields(
        "-",
        "caliper_delivery_failed",
        &json!({"registration": reg, "code": code, "store": origin, "why": why, "events": group.len(), "attempt": attempts, "retryInSeconds": delay}),
    );
    for m in group {
        m.retry(backoff(env, m.attempts));
    }
    out.retried += group.len() as u64;
    out.errors.push((
        code.to_string(),
        format!("{origin}: {why}; {} event(s) retried in {delay} s (attempt {attempts})", group.len()),
    ));
}

#[cfg(test)]
mod tests {
    use super::delay;

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let d: Vec<u32> = (1..=8).map(|a| delay(10, 600, a)).collect();
        assert_eq!(d, [10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(delay(1, 2, 1), 1);
        assert_eq!(delay(1, 2, 5), 2, "the tests' settings");
        assert_eq!(delay(10, 600, 0), 10, "a first attempt reported as 0");
        assert_eq!(delay(u32::MAX, 5, 40), u32::MAX, "a cap below the base is the base; no overflow");
    }
}
