//! When to (re)fetch a platform's key set — the policy, without the I/O.
//!
//! * A fetched set is fresh for the `Cache-Control: max-age` the platform sent, clamped to
//!   1 minute .. 1 hour (10 minutes when absent): no fetch per launch, no day-long cache across
//!   an hourly rotation.
//! * A `kid` missing from a fresh set triggers a refetch (the platform rotated), at most once
//!   per [`UNKNOWN_KID_COOLDOWN_SECS`] so random `kid`s cannot make us hammer the platform.
//! * When a fetch fails, the last good set keeps serving (retried after
//!   [`FAILURE_RETRY_SECS`]); only with nothing cached is the launch refused.

use serde::{Deserialize, Serialize};

/// Minimum interval between refetches caused by an unknown `kid`.
pub const UNKNOWN_KID_COOLDOWN_SECS: i64 = 30;
/// After a failed fetch, serve the last good set this long before trying again.
pub const FAILURE_RETRY_SECS: i64 = 30;
/// Freshness bounds.
pub const MIN_TTL_SECS: i64 = 60;
/// Upper bound (hourly rotations must be picked up).
pub const MAX_TTL_SECS: i64 = 3600;
/// Without `Cache-Control`.
pub const DEFAULT_TTL_SECS: i64 = 600;
/// Largest key set body we accept.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A cached key set (kept in isolate memory and KV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedKeySet {
    /// The JWKS document as fetched.
    pub body: String,
    /// When it was fetched.
    pub fetched_at: i64,
    /// Until when it is fresh.
    pub fresh_until: i64,
    /// Last refetch caused by an unknown kid.
    #[serde(default)]
    pub last_kid_refetch: i64,
}

/// What to do for a launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Use the cached set.
    UseCached,
    /// Fetch (nothing cached, stale, or unknown kid past the cooldown).
    Fetch,
}

/// Decide whether to fetch.
pub fn decide(entry: Option<&CachedKeySet>, kid_known: bool, now: i64) -> Decision {
    match entry {
        None => Decision::Fetch,
        Some(e) if now >= e.fresh_until => Decision::Fetch,
        Some(_) if kid_known => Decision::UseCached,
        Some(e) if now.saturating_sub(e.last_kid_refetch) >= UNKNOWN_KID_COOLDOWN_SECS => Decision::Fetch,
        Some(_) => Decision::UseCached,
    }
}

/// A successful fetch: the new cache entry.
pub fn fetched(body: String, cache_control: Option<&str>, kid_triggered: bool, previous: Option<&CachedKeySet>, now: i64) -> CachedKeySet {
    let ttl = cache_control.and_then(max_age).unwrap_or(DEFAULT_TTL_SECS).clamp(MIN_TTL_SECS, MAX_TTL_SECS);
    let last_kid_refetch = if kid_triggered { now } else { previous.map_or(0, |p| p.last_kid_refetch) };
    CachedKeySet { body, fetched_at: now, fresh_until: now + ttl, last_kid_refetch }
}

/// A failed fetch: the last good set, retried later; `None` if there is none.
pub fn failed(previous: Option<&CachedKeySet>, kid_triggered: bool, now: i64) -> Option<CachedKeySet> {
    previous.map(|p| CachedKeySet {
        fresh_until: now + FAILURE_RETRY_SECS,
        last_kid_refetch: if kid_triggered { now } else { p.last_kid_refetch },
        ..p.clone()
    })
}

fn max_age(cc: &str) -> Option<i64> {
    let lower = cc.to_ascii_lowercase();
    if lower.split(',').any(|d| matches!(d.trim(), "no-store" | "no-cache")) {
        return Some(MIN_TTL_SECS);
    }
    lower.split(',').find_map(|d| d.trim().strip_prefix("max-age=")?.trim().parse::<i64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(decide(None, false, 100), Decision::Fetch);
        let e = fetched("{}".into(), Some("public, max-age=300"), false, None, 1000);
        assert_eq!(e.fresh_until, 1300);
        assert_eq!(decide(Some(&e), true, 1299), Decision::UseCached);
        assert_eq!(decide(Some(&e), true, 1300), Decision::Fetch, "stale");
        assert_eq!(decide(Some(&e), false, 1001), Decision::Fetch, "unknown kid, no refetch yet");
        let e2 = fetched("{}".into(), None, true, Some(&e), 1001);
        assert_eq!(e2.fresh_until, 1001 + DEFAULT_TTL_SECS);
        assert_eq!(decide(Some(&e2), false, 1010), Decision::UseCached, "cooldown");
        assert_eq!(decide(Some(&e2), false, 1031), Decision::Fetch);
        assert_eq!(fetched("{}".into(), Some("max-age=86400"), false, None, 0).fresh_until, MAX_TTL_SECS);
        assert_eq!(fetched("{}".into(), Some("no-store"), false, None, 0).fresh_until, MIN_TTL_SECS);
        assert_eq!(failed(None, false, 5), None);
        let kept = failed(Some(&e), true, 2000).unwrap();
        assert_eq!((kept.body.as_str(), kept.fresh_until, kept.last_kid_refetch), ("{}", 2030, 2000));
    }
}
