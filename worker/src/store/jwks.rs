//! Platform key sets: two-level cache (isolate memory, then KV) driven by the core's
//! [`lti_core::jwks_cache`] policy — stale-while-revalidate, one fetch per key-set URL per
//! isolate at a time, a bounded refetch on an unknown `kid`, one refetch after a bad
//! signature on an old cached key, and the last good set when the platform's endpoint fails.

use std::cell::RefCell;
use std::collections::HashMap;

use lti_core::jwk::JwkSet;
use lti_core::jwks_cache::{self, CachedKeySet, Decision, MAX_JWKS_BYTES};
use lti_policy::ErrorCode;
use worker::{kv::KvStore, Env};

use crate::config::KV_BINDING;
use crate::error::{ApiError, ApiResult};
use crate::http::outbound as http;
use crate::log;

const FETCH_TIMEOUT_MS: u32 = 5000;
/// How long KV keeps a last good set (serves through long platform outages).
const KV_KEEP_SECS: u64 = 7 * 24 * 3600;

thread_local! {
    static MEMORY: RefCell<HashMap<String, (CachedKeySet, JwkSet)>> = RefCell::new(HashMap::new());
    /// Key-set fetches in flight in this isolate: URL → start (ms). One per URL at a time.
    static INFLIGHT: RefCell<HashMap<String, f64>> = RefCell::new(HashMap::new());
}

/// Hashed, so any valid key-set URL fits KV's 512-byte key limit.
fn kv_key(url: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("jwks:{}", lti_core::encoding::hex(&Sha256::digest(url.as_bytes())))
}

fn remember(url: &str, entry: &CachedKeySet) -> Option<JwkSet> {
    let set = JwkSet::parse(entry.body.as_bytes())?;
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 1000 && !m.contains_key(url) {
            m.clear();
        }
        m.insert(url.to_string(), (entry.clone(), set.clone()));
    });
    Some(set)
}

fn in_memory(url: &str) -> Option<(CachedKeySet, JwkSet)> {
    MEMORY.with(|m| m.borrow().get(url).cloned())
}

/// Fetch the set once (this isolate's only fetch for `url` while it runs), update memory, and
/// KV in the background. `trigger`: the unknown `kid` (or bad signature) that caused it.
/// Returns the entry now in memory (the new one, the last good one, or nothing).
/// `wctx`: write KV in the background of this request; `None` (already in the background):
/// write it inline.
async fn refresh(
    kv: KvStore,
    wctx: Option<&worker::Context>,
    url: &str,
    trigger: Option<&str>,
    cid: &str,
) -> Option<(CachedKeySet, JwkSet)> {
    let now = crate::clock::now();
    let previous = in_memory(url).map(|(c, _)| c);
    INFLIGHT.with(|m| m.borrow_mut().insert(url.to_string(), js_sys::Date::now()));
    let answer = http::fetch(&http::Outbound {
        method: "GET",
        url,
        headers: &[("accept", "application/json")],
        body: None,
        cap: MAX_JWKS_BYTES,
        timeout_ms: FETCH_TIMEOUT_MS,
        follow_redirects: true,
    })
    .await;
    INFLIGHT.with(|m| m.borrow_mut().remove(url));
    let kid_triggered = trigger.is_some();
    let next = match answer {
        Ok(a) if a.status == 200 && !a.oversized && JwkSet::parse(&a.body).is_some() => {
            let body = String::from_utf8(a.body).unwrap_or_default();
            let mut e = jwks_cache::fetched(body, a.cache_control.as_deref(), kid_triggered, previous.as_ref(), now);
            if let Some(kid) = trigger {
                if JwkSet::parse(e.body.as_bytes()).is_some_and(|s| s.find(kid).is_none()) {
                    e.note_missed(kid, now);
                }
            }
            Some((e, true))
        }
        other => {
            let why = match other {
                Ok(a) if a.oversized => format!("status {}, more than {MAX_JWKS_BYTES} bytes (read stopped)", a.status),
                Ok(a) => format!("status {}, {} bytes, not a usable key set", a.status, a.body.len()),
                Err(e) => e,
            };
            log::warn(cid, "jwks_fetch_failed", &why);
            jwks_cache::failed(previous.as_ref(), kid_triggered, now).map(|e| (e, false))
        }
    };
    let (entry, fresh) = next?;
    let set = remember(url, &entry)?;
    if fresh || previous.is_some() {
        if let Ok(text) = serde_json::to_string(&entry) {
            let key = kv_key(url);
            let write = async move {
                if let Ok(put) = kv.put(&key, text) {
                    let _ = put.expiration_ttl(KV_KEEP_SECS).execute().await;
                }
            };
            match wctx {
                Some(w) => w.wait_until(write),
                None => write.await,
            }
        }
    }
    Some((entry, set))
}

/// Wait (bounded) for another request's fetch of `url` in this isolate to finish.
async fn await_inflight(url: &str) -> bool {
    let mut waited = false;
    while let Some(since) = INFLIGHT.with(|m| m.borrow().get(url).copied()) {
        if js_sys::Date::now() - since > f64::from(FETCH_TIMEOUT_MS) + 1000.0 {
            INFLIGHT.with(|m| m.borrow_mut().remove(url)); // that request died: fetch ourselves
            break;
        }
        waited = true;
        crate::clock::sleep_ms(25).await;
    }
    waited
}

/// The key set to verify a token whose header names `kid`.
pub async fn key_set(
    env: &Env,
    wctx: &worker::Context,
    url: &str,
    kid: &str,
    now: i64,
    cid: &str,
) -> ApiResult<JwkSet> {
    // The KV binding only when KV is needed (a set in memory and still fresh needs none).
    let kv = || env.kv(KV_BINDING);
    let mut entry = in_memory(url);
    if entry.is_none() {
        if let Some(text) = kv()?.get(&kv_key(url)).text().await? {
            if let Ok(cached) = serde_json::from_str::<CachedKeySet>(&text) {
                if let Some(set) = remember(url, &cached) {
                    entry = Some((cached, set));
                }
            }
        }
    }
    for _ in 0..3 {
        let kid_known = entry.as_ref().is_some_and(|(_, s)| s.find(kid).is_some());
        match jwks_cache::decide(entry.as_ref().map(|(c, _)| c), kid, kid_known, crate::clock::now().max(now)) {
            Decision::UseCached => {}
            Decision::Revalidate => {
                // Serve now; one background refresh per URL (a hanging endpoint holds nobody).
                let idle = INFLIGHT.with(|m| !m.borrow().contains_key(url));
                if idle {
                    let kv = kv()?;
                    INFLIGHT.with(|m| m.borrow_mut().insert(url.to_string(), js_sys::Date::now()));
                    let (url, cid) = (url.to_string(), cid.to_string());
                    wctx.wait_until(async move {
                        let _ = refresh(kv, None, &url, None, &cid).await;
                    });
                }
            }
            Decision::Throttled => {
                crate::clock::sleep_ms(1000).await;
                entry = in_memory(url).or(entry);
                continue;
            }
            Decision::Fetch => {
                if await_inflight(url).await {
                    // Someone else just fetched: decide again on what they got.
                    entry = in_memory(url).or(entry);
                    let known = entry.as_ref().is_some_and(|(_, s)| s.find(kid).is_some());
                    if known || entry.as_ref().is_some_and(|(c, _)| c.missed_recently(kid, crate::clock::now())) {
                        continue;
                    }
                }
                let trigger = entry.is_some().then_some(kid);
                entry = refresh(kv()?, Some(wctx), url, trigger, cid).await.or(entry);
            }
        }
        break;
    }
    match entry {
        Some((_, set)) => Ok(set),
        None => {
            Err(ApiError::new(ErrorCode::PlatformJwksUnavailable, format!("cannot fetch {url} and nothing cached")))
        }
    }
}

/// After a signature failed with `used` (the set the launch verified against): when the cached
/// set is older than the floor, fetch it once more; the new set if the token's key changed
/// (a platform that re-used its `kid` for a new key), else `None` (the verdict stands).
pub async fn after_bad_signature(
    env: &Env,
    wctx: &worker::Context,
    url: &str,
    kid: &str,
    used: &JwkSet,
    cid: &str,
) -> ApiResult<Option<JwkSet>> {
    let now = crate::clock::now();
    let Some((entry, _)) = in_memory(url) else { return Ok(None) };
    if !jwks_cache::refetch_after_bad_signature(&entry, now) {
        return Ok(None);
    }
    if !await_inflight(url).await {
        let kv = env.kv(KV_BINDING)?;
        let _ = refresh(kv, Some(wctx), url, Some(kid), cid).await;
    }
    Ok(in_memory(url).map(|(_, s)| s).filter(|s| s.find(kid).is_some() && s.find(kid) != used.find(kid)))
}
