//! Shared state for running several replicas of one server behind a load balancer.
//!
//! One process keeps everything in memory, as it always did; replicas share what a client may
//! need on any of them through a [`SharedState`]: the session records (negotiated revision,
//! client capabilities, log level, subscriptions, who opened it), the SSE events kept for
//! replay, a message bus between replicas (responses to server-to-client requests,
//! cancellations, notifications, ended sessions), the `requestState` key, the per-session
//! values of [`SessionState`](crate::server::SessionState) (`ctx.session_state()`) and the
//! per-session budgets ([`Budgets`]: requests in flight).
//!
//! Two implementations: [`MemoryState`] (one process, or several servers in one process, as
//! the tests run them) and, with the `redis` feature, `RedisState` (`--redis-url`).
//! See `docs/scale-out.md` for the topology and what each fault does.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub use memory::MemoryState;
#[cfg(feature = "redis")]
pub use redis::RedisState;

/// What a store operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The shared store could not be reached or answered nonsense.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the shared state store failed: {0}; check that Redis is running and that --redis-url (MCP_REDIS_URL) names it"
)]
pub struct StoreError(pub(crate) String);

impl StoreError {
    /// An error with this description.
    pub fn new(what: impl Into<String>) -> StoreError {
        StoreError(what.into())
    }
}

/// What replicas know of a session: enough to serve its next request anywhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The negotiated revision (`2025-11-25`, …).
    pub revision: String,
    /// The client's `clientInfo`.
    pub client_info: serde_json::Value,
    /// The client's capabilities.
    pub capabilities: serde_json::Map<String, serde_json::Value>,
    /// Who opened the session (kind, issuer, subject, key id; never a credential).
    pub principal: String,
    /// The least severe log level the client wants, as the runtime numbers it.
    pub log_level: u8,
    /// The URIs the client subscribed to.
    pub subscriptions: Vec<String>,
}

/// Session records, each with a time to live that every use renews: expiry is global.
pub trait SessionStore: Send + Sync {
    /// Stores (or replaces) a session's record for `ttl`.
    fn save_session<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
    /// The record of session `id`, its time to live renewed to `ttl`; `None` if it ended or
    /// expired.
    fn load_session<'a>(
        &'a self,
        id: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<SessionRecord>>;
    /// Renews the time to live of session `id`; whether it still exists (a session ended or
    /// expired elsewhere does not).
    fn touch_session<'a>(&'a self, id: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;
    /// Ends a session everywhere (its record, events and values); whether it existed.
    fn delete_session<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
}

/// How much of a session's SSE events the shared log keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep {
    /// Events per stream (the newest).
    pub events: usize,
    /// Bytes per stream: the oldest events go first; the newest always stays.
    pub stream_bytes: usize,
    /// Bytes per session, over all its streams: whole streams go first, oldest first; the
    /// stream being written stays.
    pub session_bytes: usize,
}

/// The SSE events of each session's streams, bounded as [`Keep`] says, for a client that
/// resumes on another replica.
pub trait EventLog: Send + Sync {
    /// Appends event `seq` (the whole SSE frame) to stream `stream` of `session`.
    fn append_event<'a>(
        &'a self,
        session: &'a str,
        stream: u64,
        seq: u64,
        event: Bytes,
        keep: Keep,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
    /// The kept events of a stream, oldest first.
    fn events<'a>(&'a self, session: &'a str, stream: u64) -> StoreFuture<'a, Vec<(u64, Bytes)>>;
}

/// A message bus: every payload published reaches every subscriber (every replica, the
/// publisher included; replicas skip their own messages).
pub trait Bus: Send + Sync {
    /// Publishes one payload.
    fn publish(&self, payload: Vec<u8>) -> StoreFuture<'_, ()>;
    /// A new subscription: payloads published from now on, in a bounded queue (a subscriber
    /// that falls behind loses messages, and the log says so). It survives store outages.
    fn subscribe(&self) -> mpsc::Receiver<Vec<u8>>;
}

/// Small named values: the shared `requestState` key and per-session handler state.
pub trait ValueStore: Send + Sync {
    /// The value of `name`, set to `fresh` if it had none (atomically: every replica gets
    /// the same).
    fn get_or_set<'a>(&'a self, name: &'a str, fresh: &'a [u8]) -> StoreFuture<'a, Vec<u8>>;
    /// The value of `name`.
    fn get_value<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Sets `name` for `ttl`.
    fn set_value<'a>(
        &'a self,
        name: &'a str,
        value: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
}

/// Budgets that hold across replicas: at most `max` slots of one budget held at once, by
/// any replica. A slot is given back when its holder is done, or when its lease runs out
/// (should the replica holding it stop first).
pub trait Budgets: Send + Sync {
    /// Takes slot `holder` of budget `name`, for at most `lease`, if fewer than `max` are
    /// held (atomically: replicas racing for the last slot do not both get it); whether it
    /// was taken.
    fn acquire<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        max: usize,
        lease: Duration,
    ) -> StoreFuture<'a, bool>;
    /// Gives slot `holder` of budget `name` back.
    fn release<'a>(&'a self, name: &'a str, holder: &'a str) -> StoreFuture<'a, ()>;
}

/// Everything replicas share, in one object.
pub trait SharedState:
    SessionStore + EventLog + Bus + ValueStore + Budgets + Send + Sync + 'static
{
    /// Whether the store answers now (a readiness probe: `false` while Redis is down).
    fn healthy(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
    /// Bytes the store holds for one session, as far as it can tell (for sizing).
    fn session_bytes<'a>(&'a self, id: &'a str) -> StoreFuture<'a, u64>;
}

/// Who a caller is, as shared records keep it (kind, issuer, subject, key id; never a
/// credential, and not the scopes, which may change with a refreshed token).
pub(crate) fn fingerprint(principal: &crate::Principal) -> String {
    serde_json::json!([
        principal.kind().as_str(),
        principal.issuer(),
        principal.subject(),
        principal.key_id()
    ])
    .to_string()
}

/// The key a session's value is stored under.
pub(crate) fn value_key(session: &str, name: &str) -> String {
    format!("v:{session}:{name}")
}
