//! Rate limiting: a token bucket per client (GCRA, from `governor`), checked before a request
//! is dispatched. A refused request gets a JSON-RPC error ([`RATE_LIMITED`]) naming when to
//! retry; over HTTP, `429 Too Many Requests` with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::request::Origin;
use crate::auth::{Principal, PrincipalKind};
use crate::protocol::ErrorObject;

/// The JSON-RPC error code of a request refused by the rate limit; its `data` carries
/// `retryAfterMs`. It is the code of every request over a budget (the per-session cap on
/// requests in flight too), which HTTP answers `429`.
pub const RATE_LIMITED: i64 = crate::protocol::code::TOO_MANY_REQUESTS;

/// What a rate limit counts requests by: each key has a bucket of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitKey {
    /// The authenticated caller (an API key, a token's subject: [`Principal`]); for a caller
    /// the server did not authenticate (anonymous), as [`PeerAddr`](Self::PeerAddr). The
    /// default: with authentication, each key or user has its budget wherever it calls
    /// from; without, each client address has one.
    #[default]
    Principal,
    /// The client's IP address (over HTTP; without one, the session, else one bucket for
    /// the connection: stdio has a single client).
    PeerAddr,
    /// The session (HTTP's `Mcp-Session-Id`; without one, the client's IP address).
    Session,
    /// One bucket for every request the server gets.
    Global,
}

/// A rate limit: `rate` requests per `period` sustained, bursts of up to `burst` at once.
///
/// ```
/// use mcp_runtime::middleware::{RateLimit, RateLimitKey};
///
/// // 10 requests a second per client IP, up to 20 at once.
/// let limit = RateLimit::per_second(10).burst(20).key(RateLimitKey::PeerAddr);
/// # let _ = limit;
/// ```
#[derive(Clone, Debug)]
pub struct RateLimit {
    per: Duration,
    burst: NonZeroU32,
    key: RateLimitKey,
    max_keys: usize,
}

impl RateLimit {
    /// `n` requests a second (at least 1), bursts of `n`.
    pub fn per_second(n: u32) -> RateLimit {
        RateLimit::per(Duration::from_secs(1), n)
    }

    /// `n` requests a minute (at least 1), bursts of `n`.
    pub fn per_minute(n: u32) -> RateLimit {
        RateLimit::per(Duration::from_secs(60), n)
    }

    fn per(period: Duration, n: u32) -> RateLimit {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        RateLimit {
            per: period / n.get(),
            burst: n,
            key: RateLimitKey::default(),
            max_keys: 100_000,
        }
    }

    /// How many requests may come at once before the rate applies (at least 1).
    pub fn burst(mut self, n: u32) -> RateLimit {
        self.burst = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        self
    }

    /// What requests are counted by (default: [`RateLimitKey::Principal`]).
    pub fn key(mut self, key: RateLimitKey) -> RateLimit {
        self.key = key;
        self
    }

    /// The most clients tracked at once (default 100 000). Buckets back to full are
    /// forgotten; clients beyond the bound share one bucket until some are.
    pub fn max_keys(mut self, n: usize) -> RateLimit {
        self.max_keys = n.max(1);
        self
    }
}

/// A bucket's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Caller(CallerKey),
    Session(Arc<str>),
    /// Everything without a key of its own, or every request (`Global`).
    One,
    /// Clients beyond `max_keys`.
    Overflow,
}

/// A principal as a bucket's key: equal for the same caller
/// ([`Principal::same_caller`]), whatever its scopes.
#[derive(Clone, Debug)]
struct CallerKey(Principal);

impl PartialEq for CallerKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_caller(&other.0)
    }
}

impl Eq for CallerKey {}

impl std::hash::Hash for CallerKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.kind().hash(state);
        self.0.issuer().hash(state);
        self.0.subject().hash(state);
        self.0.key_id().hash(state);
    }
}

type Governor = governor::RateLimiter<
    Key,
    governor::state::keyed::HashMapStateStore<Key>,
    governor::clock::DefaultClock,
>;

/// A running rate limit.
pub(crate) struct Limiter {
    governor: Governor,
    clock: governor::clock::DefaultClock,
    key: RateLimitKey,
    max_keys: usize,
    checks: AtomicU64,
}

impl Limiter {
    pub(crate) fn new(limit: &RateLimit) -> Limiter {
        let quota = governor::Quota::with_period(limit.per.max(Duration::from_nanos(1)))
            .expect("the period is not zero")
            .allow_burst(limit.burst);
        Limiter {
            governor: governor::RateLimiter::hashmap(quota),
            clock: governor::clock::DefaultClock::default(),
            key: limit.key,
            max_keys: limit.max_keys,
            checks: AtomicU64::new(0),
        }
    }

    fn key_of(&self, origin: &Origin) -> Key {
        let ip = origin.peer_addr.map(|a| Key::Ip(a.ip()));
        let session = origin.session_id.clone().map(Key::Session);
        match self.key {
            RateLimitKey::Principal => match origin.principal.kind() {
                PrincipalKind::Anonymous => ip.or(session).unwrap_or(Key::One),
                // stdio and in memory: one client.
                PrincipalKind::Local => Key::One,
                _ => Key::Caller(CallerKey(origin.principal.clone())),
            },
            RateLimitKey::PeerAddr => ip.or(session).unwrap_or(Key::One),
            RateLimitKey::Session => session.or(ip).unwrap_or(Key::One),
            RateLimitKey::Global => Key::One,
        }
    }

    /// Takes a token from the request's bucket, or says how long until one is there.
    pub(crate) fn check(&self, origin: &Origin) -> Result<(), Duration> {
        use governor::clock::Clock;
        let mut key = self.key_of(origin);
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023
            || self.governor.len() > self.max_keys
        {
            self.governor.retain_recent();
        }
        if self.governor.len() >= self.max_keys {
            key = Key::Overflow;
        }
        self.governor
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The error of a request refused by the rate limit.
pub(crate) fn refused(wait: Duration) -> ErrorObject {
    let ms = wait.as_millis().max(1) as u64;
    ErrorObject::new(
        RATE_LIMITED,
        format!("Rate limited: too many requests from this client; retry after {ms} ms"),
    )
    .with_data(serde_json::json!({ "retryAfterMs": ms }))
}

/// The `retryAfterMs` of a [`refused`] error response.
pub(crate) fn retry_after(bytes: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let ms = v.pointer("/error/data/retryAfterMs")?.as_u64()?;
    Some(Duration::from_millis(ms))
}
