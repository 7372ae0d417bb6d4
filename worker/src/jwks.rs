//! Platform key sets: two-level cache (isolate memory, then KV) driven by the core's
//! [`lti_core::jwks_cache`] policy — refetch on unknown `kid` with a cooldown, and the last
//! good set when the platform's endpoint fails.

use std::cell::RefCell;
use std::collections::HashMap;

use lti_core::error::ErrorCode;
use lti_core::jwk::JwkSet;
use lti_core::jwks_cache::{self, CachedKeySet, Decision, MAX_JWKS_BYTES};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::Env;

use crate::config::KV_BINDING;
use crate::error::{ApiError, ApiResult};
use crate::log;

const FETCH_TIMEOUT_MS: u32 = 5000;
/// How long KV keeps a last good set (serves through long platform outages).
const KV_KEEP_SECS: u64 = 7 * 24 * 3600;

thread_local! {
    static MEMORY: RefCell<HashMap<String, (CachedKeySet, JwkSet)>> = RefCell::new(HashMap::new());
}

/// Hashed, so any valid key-set URL fits KV's 512-byte key limit.
fn kv_key(url: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("jwks:{}", lti_core::encoding::hex(&Sha256::digest(url.as_bytes())))
}

/// GET a URL with a timeout; returns (status, cache-control, body).
pub async fn http_get(url: &str, accept: &str) -> Result<(u16, Option<String>, String), String> {
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    let headers = web_sys::Headers::new().map_err(|_| "headers")?;
    let _ = headers.set("accept", accept);
    init.set_headers(&headers);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(FETCH_TIMEOUT_MS)));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp = JsFuture::from(global.fetch_with_str_and_init(url, &init)).await.map_err(|e| format!("fetch failed: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    let status = resp.status();
    let cc = resp.headers().get("cache-control").ok().flatten();
    let text = JsFuture::from(resp.text().map_err(|_| "body")?).await.map_err(|_| "body read failed")?;
    Ok((status, cc, text.as_string().unwrap_or_default()))
}

fn remember(url: &str, entry: &CachedKeySet) -> Option<JwkSet> {
    let set = JwkSet::parse(entry.body.as_bytes())?;
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 1000 {
            m.clear();
        }
        m.insert(url.to_string(), (entry.clone(), set.clone()));
    });
    Some(set)
}

/// The key set to verify a token whose header names `kid`.
pub async fn key_set(env: &Env, url: &str, kid: &str, now: i64, cid: &str) -> ApiResult<JwkSet> {
    let mut entry = MEMORY.with(|m| m.borrow().get(url).cloned());
    let kv = env.kv(KV_BINDING)?;
    if entry.is_none() {
        if let Some(text) = kv.get(&kv_key(url)).text().await? {
            if let Ok(cached) = serde_json::from_str::<CachedKeySet>(&text) {
                if let Some(set) = remember(url, &cached) {
                    entry = Some((cached, set));
                }
            }
        }
    }
    let kid_known = entry.as_ref().is_some_and(|(_, s)| s.find(kid).is_some());
    let previous = entry.as_ref().map(|(c, _)| c);
    if jwks_cache::decide(previous, kid_known, now) == Decision::UseCached {
        if let Some((_, set)) = entry {
            return Ok(set);
        }
    }
    let kid_triggered = previous.is_some_and(|p| now < p.fresh_until) && !kid_known;
    let fetched = match http_get(url, "application/json").await {
        Ok((200, cc, body)) if body.len() <= MAX_JWKS_BYTES && JwkSet::parse(body.as_bytes()).is_some() => {
            Some(jwks_cache::fetched(body, cc.as_deref(), kid_triggered, previous, now))
        }
        Ok((status, _, body)) => {
            log::warn(cid, "jwks_fetch_failed", &format!("status {status}, {} bytes, not a usable key set", body.len()));
            None
        }
        Err(e) => {
            log::warn(cid, "jwks_fetch_failed", &e);
            None
        }
    };
    let (next, fresh) = match fetched {
        Some(n) => (n, true),
        None => match jwks_cache::failed(previous, kid_triggered, now) {
            Some(n) => {
                log::warn(cid, "jwks_last_good", "platform JWKS unavailable; using the last good key set");
                (n, false)
            }
            None => return Err(ApiError::new(ErrorCode::PlatformJwksUnavailable, format!("cannot fetch {url} and nothing cached"))),
        },
    };
    let set = remember(url, &next).ok_or_else(|| ApiError::internal("cached key set unparsable"))?;
    if fresh || previous.is_some() {
        let text = serde_json::to_string(&next).map_err(|e| ApiError::internal(e.to_string()))?;
        kv.put(&kv_key(url), text)?.expiration_ttl(KV_KEEP_SECS).execute().await?;
    }
    Ok(set)
}
