//! When to (re)fetch a platform's key set — the policy, without the I/O.
//!
//! * A fetched set is fresh for the `Cache-Control: max-age` the platform sent, clamped to
//!   1 minute .. 1 hour (10 minutes when absent): no fetch per launch, no day-long cache across
//!   an hourly rotation.
//! * Stale-while-revalidate: a stale set whose key the token names keeps serving at once while
//!   one background refresh runs ([`Decision::Revalidate`]); a hanging key-set endpoint never
//!   holds a launch.
//! * A `kid` missing from the set triggers a refetch (the platform rotated) — at most one per
//!   [`UNKNOWN_KID_MIN_INTERVAL_SECS`] per key-set URL, and a `kid` still missing after a
//!   refetch is not refetched for again for [`MISSED_KID_TTL_SECS`]. Random `kid`s therefore
//!   cost the platform at most one request a second per isolate and hold a real rotation back by
//!   at most that second (the launch waits, it is not refused).
//! * A signature that fails on a cached key fetched more than [`REFETCH_FLOOR_SECS`] ago gets
//!   one refetch (a platform that re-used its `kid` for a new key, as some restart-happy test
//!   platforms do), then the verdict stands.
//! * When a fetch fails, the last good set keeps serving (retried after
//!   [`FAILURE_RETRY_SECS`]); only with nothing cached is the launch refused.

use serde::{Deserialize, Serialize};

/// Minimum interval between refetches caused by an unknown `kid` (per key-set URL).
pub const UNKNOWN_KID_MIN_INTERVAL_SECS: i64 = 1;
/// A `kid` missing right after a refetch does not trigger another one for this long.
pub const MISSED_KID_TTL_SECS: i64 = 30;
/// A bad signature on a cached key younger than this is final (no refetch).
pub const REFETCH_FLOOR_SECS: i64 = 10;
/// After a failed fetch, serve the last good set this long before trying again.
pub const FAILURE_RETRY_SECS: i64 = 30;
/// Freshness bounds.
pub const MIN_TTL_SECS: i64 = 60;
/// Upper bound (hourly rotations must be picked up).
pub const MAX_TTL_SECS: i64 = 3600;
/// Without `Cache-Control`.
pub const DEFAULT_TTL_SECS: i64 = 600;
/// Largest key set body we read (the read stops there).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most missed `kid`s remembered per set.
const MAX_MISSED: usize = 16;

/// A cached key set (kept in isolate memory and KV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedKeySet {
    /// The JWKS document as fetched.
    pub body: String,
    /// When it was fetched.
    pub fetched_at: i64,
    /// Until when it is fresh.
    pub fresh_until: i64,
    /// Last refetch caused by an unknown kid or a bad signature.
    #[serde(default)]
    pub last_kid_refetch: i64,
    /// `kid`s that were still missing after a refetch, with when.
    #[serde(default)]
    pub missed: Vec<(String, i64)>,
}

impl CachedKeySet {
    /// Whether `kid` was missing after a refetch less than [`MISSED_KID_TTL_SECS`] ago.
    pub fn missed_recently(&self, kid: &str, now: i64) -> bool {
        self.missed.iter().any(|(k, at)| k == kid && now.saturating_sub(*at) < MISSED_KID_TTL_SECS)
    }

    /// Remember that `kid` was missing after a refetch at `now`.
    pub fn note_missed(&mut self, kid: &str, now: i64) {
        self.missed.retain(|(k, at)| k != kid && now.saturating_sub(*at) < MISSED_KID_TTL_SECS);
        if self.missed.len() >= MAX_MISSED {
            self.missed.remove(0);
        }
        self.missed.push((kid.chars().take(256).collect(), now));
    }
}

/// What to do for a launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Use the cached set.
    UseCached,
    /// Use the cached set now and refresh it in the background (stale, key known).
    Revalidate,
    /// Fetch now and wait for it (nothing cached, or an unknown kid).
    Fetch,
    /// An unknown kid, but a refetch just happened: wait out the interval, then decide again.
    Throttled,
}

/// Decide whether to fetch for a token naming `kid` (`kid_known`: the cached set has it).
pub fn decide(entry: Option<&CachedKeySet>, kid: &str, kid_known: bool, now: i64) -> Decision {
    let Some(e) = entry else { return Decision::Fetch };
    let stale = now >= e.fresh_until;
    if kid_known || e.missed_recently(kid, now) {
        return if stale { Decision::Revalidate } else { Decision::UseCached };
    }
    if now.saturating_sub(e.last_kid_refetch) >= UNKNOWN_KID_MIN_INTERVAL_SECS {
        Decision::Fetch
    } else {
        Decision::Throttled
    }
}

/// After a signature failure with the cached set: whether to refetch once.
pub fn refetch_after_bad_signature(entry: &CachedKeySet, now: i64) -> bool {
    now.saturating_sub(entry.fetched_at) >= REFETCH_FLOOR_SECS
        && now.saturating_sub(entry.last_kid_refetch) >= UNKNOWN_KID_MIN_INTERVAL_SECS
}

/// A successful fetch: the new cache entry.
pub fn fetched(
    body: String,
    cache_control: Option<&str>,
    kid_triggered: bool,
    previous: Option<&CachedKeySet>,
    now: i64,
) -> CachedKeySet {
    let ttl = cache_control.and_then(max_age).unwrap_or(DEFAULT_TTL_SECS).clamp(MIN_TTL_SECS, MAX_TTL_SECS);
    let last_kid_refetch = if kid_triggered { now } else { previous.map_or(0, |p| p.last_kid_refetch) };
    let missed = previous.map(|p| p.missed.clone()).unwrap_or_default();
    CachedKeySet { body, fetched_at: now, fresh_until: now + ttl, last_kid_refetch, missed }
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
        assert_eq!(decide(None, "k", false, 100), Decision::Fetch);
        let e = fetched("{}".into(), Some("public, max-age=300"), false, None, 1000);
        assert_eq!(e.fresh_until, 1300);
        assert_eq!(decide(Some(&e), "k", true, 1299), Decision::UseCached);
        assert_eq!(decide(Some(&e), "k", true, 1300), Decision::Revalidate, "stale: serve, refresh behind");
        assert_eq!(decide(Some(&e), "new", false, 1001), Decision::Fetch, "unknown kid, no refetch yet");
        let mut e2 = fetched("{}".into(), None, true, Some(&e), 1001);
        assert_eq!(e2.fresh_until, 1001 + DEFAULT_TTL_SECS);
        assert_eq!(
            decide(Some(&e2), "other", false, 1001),
            Decision::Throttled,
            "within the interval: wait, then decide"
        );
        assert_eq!(
            decide(Some(&e2), "other", false, 1002),
            Decision::Fetch,
            "a second later: a real rotation is fetched"
        );
        e2.note_missed("random", 1001);
        assert_eq!(
            decide(Some(&e2), "random", false, 1010),
            Decision::UseCached,
            "a kid missing after a refetch waits"
        );
        assert_eq!(decide(Some(&e2), "random", false, 1031), Decision::Fetch);
        assert_eq!(fetched("{}".into(), Some("max-age=86400"), false, None, 0).fresh_until, MAX_TTL_SECS);
        assert_eq!(fetched("{}".into(), Some("no-store"), false, None, 0).fresh_until, MIN_TTL_SECS);
        assert_eq!(failed(None, false, 5), None);
        let kept = failed(Some(&e), true, 2000).unwrap();
        assert_eq!((kept.body.as_str(), kept.fresh_until, kept.last_kid_refetch), ("{}", 2030, 2000));
        // Bad signatures: refetch only when the cached key is older than the floor.
        assert!(!refetch_after_bad_signature(&e, 1005));
        assert!(refetch_after_bad_signature(&e, 1000 + REFETCH_FLOOR_SECS));
        for i in 0..40 {
            e2.note_missed(&format!("k{i}"), 1001);
        }
        assert!(e2.missed.len() <= MAX_MISSED, "bounded");
    }
}
