//! The launch inspector: each registration's newest launch attempts (50 by default, kept 24 h;
//! `INSPECTOR_MAX_ATTEMPTS`, `INSPECTOR_RETENTION_HOURS`), admitted or refused, with the claims
//! received (never the id_token or its signature) and how the user id, role, module and
//! category were decided; and the failed logins of platforms nobody registered. Sealed
//! (AES-256-GCM under `LTI_ENCRYPTION_KEY`: claims name people) before they leave the worker,
//! kept in one Durable Object per registration ([`super::durable::inspector_sql`]), written in
//! the background, a moment after the launch, together with the isolate's other attempts of that
//! moment (an isolate that dies in that moment loses them: this is a diagnostic record). The user-id suggestions read an attempt's claims
//! ([`lti_policy::user_id::suggestions`]).

use std::cell::{Cell, RefCell};

use lti_policy::{Launch, LegacyIdentity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use worker::Env;

use super::durable;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::sealed;

/// How a launch was decided (admitted launches).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    /// The tool's user id.
    pub user_id: String,
    /// Which rule gave it.
    pub user_id_source: String,
    /// The tool role.
    pub role: String,
    /// The module opened.
    pub module: String,
    /// The course category.
    pub category: String,
}

impl Decided {
    /// From an authorized launch.
    pub fn of(l: &Launch) -> Self {
        Self {
            user_id: l.user_id.clone(),
            user_id_source: l.user_id_source.as_str().to_string(),
            role: l.role.as_str().to_string(),
            module: l.module.code.to_string(),
            category: l.category.clone(),
        }
    }
}

/// One launch attempt as kept.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// Attempt id (the correlation id of its request).
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    /// `admitted` or `refused`.
    pub outcome: String,
    /// The refusal's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `1.3` or `1.1`.
    pub lti_version: String,
    /// Message type (once known).
    #[serde(default)]
    pub message_type: String,
    /// Deployment (once known).
    #[serde(default)]
    pub deployment_id: String,
    /// The claims (an LTI 1.1 launch: its parameters read as 1.3 claims), once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// An LTI 1.3 launch's claims as they came: the id_token's payload segment (base64url JSON;
    /// never the header or the signature), read into [`Attempt::claims`] when attempts are read,
    /// so a launch copies one string instead of building a second claims tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_payload: Option<String>,
    /// The LTI 1.1 `user_id` known for this person (an accepted `lti1p1` claim, or the 1.1
    /// launch's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lti11_user_id: Option<String>,
    /// An upgraded link's verified 1.1 identity was used (the user id follows it under the
    /// default rule).
    #[serde(default)]
    pub legacy_identity: bool,
    /// What the launch decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<Decided>,
    /// The registration it belongs to, once known (not kept: attempts are filed under it).
    #[serde(skip)]
    pub registration: Option<String>,
    /// Unknown platform: what it presented (issuer, client id or consumer key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented: Option<Map<String, Value>>,
}

impl Attempt {
    /// A new attempt of `version` at `at`, named by the request's correlation id.
    pub fn new(cid: &str, version: &str, at: i64) -> Self {
        Self { id: cid.to_string(), at, lti_version: version.to_string(), ..Self::default() }
    }

    /// The upgraded link's identity, as the launch saw it.
    pub fn legacy(&self) -> Option<LegacyIdentity> {
        self.legacy_identity
            .then(|| self.lti11_user_id.clone())
            .flatten()
            .map(|user_id| LegacyIdentity { user_id, context_id: None })
    }

    /// As the admin API shows it: claim values shortened.
    pub fn public_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(claims) = v.get_mut("claims") {
            shorten(claims, 0);
        }
        v
    }
}

/// Strings over 120 characters cut, arrays over 20 items cut, depth over 6 elided.
fn shorten(v: &mut Value, depth: usize) {
    match v {
        Value::String(s) if s.chars().count() > 120 => {
            *s = format!("{}… ({} characters)", s.chars().take(120).collect::<String>(), s.chars().count());
        }
        Value::Array(a) => {
            if a.len() > 20 {
                let n = a.len();
                a.truncate(20);
                a.push(Value::String(format!("… ({n} items)")));
            }
            a.iter_mut().for_each(|x| shorten(x, depth + 1));
        }
        Value::Object(o) if depth >= 6 => *v = Value::String(format!("… ({} members)", o.len())),
        Value::Object(o) => o.values_mut().for_each(|x| shorten(x, depth + 1)),
        _ => {}
    }
}

fn object(registration: &str) -> String {
    format!("inspector:{registration}")
}

/// How long an isolate gathers attempts before it writes them (one Durable Object call per
/// registration for all of them, instead of one per launch).
const FLUSH_DELAY_MS: i32 = 300;
/// Most attempts an isolate holds unwritten (more are dropped: the newest few are what count).
const MAX_PENDING: usize = 400;

thread_local! {
    /// Attempts waiting for this isolate's next write, with the registration each belongs to.
    static PENDING: RefCell<Vec<(String, Attempt)>> = const { RefCell::new(Vec::new()) };
    /// A write is scheduled.
    static FLUSHING: Cell<bool> = const { Cell::new(false) };
}

/// Keep `attempt` among `registration`'s newest (`""`: unknown platforms), in the background:
/// the isolate gathers attempts for a moment and writes each registration's in one call; a
/// failure to keep them is logged, never the launch's.
pub fn record(env: &Env, wctx: &worker::Context, cfg: &Config, registration: &str, attempt: Attempt) {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= MAX_PENDING {
            p.remove(0);
        }
        p.push((registration.to_string(), attempt));
    });
    if FLUSHING.with(|f| f.replace(true)) {
        return;
    }
    let Ok(key) = sealed::key(cfg, sealed::INSPECTOR) else {
        FLUSHING.with(|f| f.set(false));
        return;
    };
    let env = env.clone();
    let (max, retention) = (cfg.inspector.max_attempts, cfg.inspector.retention_secs);
    wctx.wait_until(async move {
        crate::clock::sleep_ms(FLUSH_DELAY_MS).await;
        let batch = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
        FLUSHING.with(|f| f.set(false));
        let mut by_registration: Vec<(String, Vec<Attempt>)> = Vec::new();
        for (reg, a) in batch {
            match by_registration.iter_mut().find(|(r, _)| *r == reg) {
                Some((_, list)) => list.push(a),
                None => by_registration.push((reg, vec![a])),
            }
        }
        for (reg, attempts) in by_registration {
            if let Err(e) = write(&env, &key, &reg, &attempts, max, retention).await {
                crate::log::info("-", "inspector_not_kept", json!({"registration": reg, "detail": e.detail}));
            }
        }
    });
}

/// What `/ins/add` carries: one registration's new attempts, sealed a few hundred kilobytes at a
/// time (a row stays far below the Durable Object's 2 MB a value however large the tokens).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Add<'a> {
    registration: &'a str,
    rows: Vec<durable::inspector_sql::NewRow>,
    max: i64,
    keep_after: i64,
}

/// Plain text sealed into one row at most (a single larger attempt gets a row of its own; a
/// launch body is at most 64 KB).
const ROW_PLAIN_BYTES: usize = 256 * 1024;

/// `attempts` (oldest first) as JSON arrays of about `limit` bytes each (an attempt larger than
/// that alone), with each array's newest time and count.
fn chunks(attempts: &[Attempt], limit: usize) -> ApiResult<Vec<(i64, usize, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut chunk: Vec<u8> = Vec::new();
    let (mut n, mut at) = (0, 0);
    for (i, a) in attempts.iter().enumerate() {
        let json = serde_json::to_vec(a).map_err(|e| ApiError::internal(e.to_string()))?;
        if n > 0 && chunk.len() + json.len() + 2 > limit {
            chunk.push(b']');
            out.push((at, n, std::mem::take(&mut chunk)));
            (n, at) = (0, 0);
        }
        chunk.push(if n == 0 { b'[' } else { b',' });
        chunk.extend_from_slice(&json);
        n += 1;
        at = at.max(a.at);
        if i + 1 == attempts.len() {
            chunk.push(b']');
            out.push((at, n, std::mem::take(&mut chunk)));
        }
    }
    Ok(out)
}

/// Seal `attempts` (oldest first) and add them to `registration`'s object in one call: one
/// encryption and one row for as many attempts as fit in [`ROW_PLAIN_BYTES`], however many
/// launches the isolate gathered. Only the newest `max` go: older ones would be trimmed at once.
async fn write(
    env: &Env,
    key: &[u8; 32],
    registration: &str,
    attempts: &[Attempt],
    max: i64,
    retention: i64,
) -> ApiResult<()> {
    let from = attempts.len().saturating_sub(usize::try_from(max.max(1)).unwrap_or(usize::MAX));
    let keep = attempts.get(from..).unwrap_or_default();
    let newest = keep.iter().map(|a| a.at).max().unwrap_or_default();
    let mut rows = Vec::new();
    for (at, n, plain) in chunks(keep, ROW_PLAIN_BYTES)? {
        rows.push(durable::inspector_sql::NewRow { at, n, body: sealed::seal_with(key, &plain).await? });
    }
    let req = Add { registration: "", rows, max, keep_after: newest - retention };
    durable::call(env, &object(registration), "/ins/add", &req).await.map(|_| ())
}

#[derive(Deserialize)]
struct Rows {
    #[serde(default)]
    rows: Vec<durable::inspector_sql::Row>,
}

/// `registration`'s attempts kept now (newest first, at most the count kept); a batch that no
/// longer opens (another `LTI_ENCRYPTION_KEY`) is left out.
pub async fn list(env: &Env, cfg: &Config, registration: &str, now: i64) -> ApiResult<Vec<Attempt>> {
    let keep_after = now - cfg.inspector.retention_secs;
    let max = usize::try_from(cfg.inspector.max_attempts.max(1)).unwrap_or(usize::MAX);
    let req = json!({"registration": "", "keepAfter": keep_after});
    let mut resp = durable::call(env, &object(registration), "/ins/list", &req).await?;
    let rows: Rows = resp.json().await.map_err(|e| ApiError::internal(format!("inspector reply: {e}")))?;
    let mut out = Vec::new();
    for r in rows.rows {
        let Ok(plain) = sealed::open(cfg, sealed::INSPECTOR, &r.body).await else { continue };
        let Ok(batch) = serde_json::from_slice::<Vec<Attempt>>(&plain) else { continue };
        for mut a in batch.into_iter().rev().filter(|a| a.at >= keep_after) {
            if out.len() == max {
                return Ok(out);
            }
            if let Some(payload) = a.claims_payload.take() {
                a.claims = lti_core::encoding::b64url_decode(&payload).and_then(|b| lti_core::jws::strict_object(&b));
            }
            out.push(a);
        }
    }
    Ok(out)
}

/// Drop every attempt of a deleted registration.
pub async fn forget(env: &Env, registration: &str) -> ApiResult<()> {
    durable::call(env, &object(registration), "/ins/forget", &json!({"registration": ""})).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_claims_are_shortened_and_never_the_whole_of_a_long_value() {
        let mut a = Attempt::new("c1", "1.3", 10);
        let long = "x".repeat(500);
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("u1"));
        claims.insert("long".into(), json!(long));
        claims.insert("many".into(), json!((0..50).collect::<Vec<_>>()));
        claims.insert("deep".into(), json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}));
        a.claims = Some(claims);
        let v = a.public_json();
        assert_eq!(v["claims"]["sub"], "u1");
        let shown = v["claims"]["long"].as_str().unwrap_or_default();
        assert!(shown.starts_with(&"x".repeat(120)) && shown.ends_with("(500 characters)"), "{shown}");
        assert_eq!(v["claims"]["many"].as_array().map(Vec::len), Some(21));
        assert!(v["claims"]["deep"]["a"]["b"]["c"]["d"]["e"].is_string(), "{v}");
    }

    #[test]
    fn attempts_are_sealed_in_rows_of_bounded_size_and_read_back_in_order() {
        let mut attempts = Vec::new();
        for i in 0..40 {
            let mut a = Attempt::new(&format!("c{i}"), "1.3", 100 + i);
            // Every fifth attempt carries a large token (a platform with big custom claims).
            a.claims_payload = Some("x".repeat(if i % 5 == 0 { 30_000 } else { 900 }));
            attempts.push(a);
        }
        let limit = 64 * 1024;
        let rows = chunks(&attempts, limit).unwrap_or_default();
        assert!(rows.len() > 1, "split into several rows");
        let mut back = Vec::new();
        for (at, n, plain) in &rows {
            assert!(plain.len() <= limit || *n == 1, "a row over the limit holds one attempt");
            let batch: Vec<Attempt> = serde_json::from_slice(plain).unwrap_or_default();
            assert_eq!(batch.len(), *n);
            assert_eq!(Some(*at), batch.iter().map(|a| a.at).max());
            back.extend(batch);
        }
        let ids: Vec<String> = back.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids, attempts.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), "all, oldest first");
        assert!(chunks(&[], limit).unwrap_or_default().is_empty());
        let big = Attempt { claims_payload: Some("y".repeat(100_000)), ..Attempt::new("big", "1.3", 1) };
        assert_eq!(chunks(&[big], limit).map(|r| r.len()).unwrap_or_default(), 1, "one large attempt, one row");
    }

    #[test]
    fn the_legacy_identity_comes_back_only_when_the_launch_used_it() {
        let mut a = Attempt::new("c1", "1.3", 10);
        a.lti11_user_id = Some("u-11".into());
        assert!(a.legacy().is_none(), "a 1.1 launch's own user id is not an upgraded identity");
        a.legacy_identity = true;
        assert_eq!(a.legacy().map(|l| l.user_id).as_deref(), Some("u-11"));
    }
}
