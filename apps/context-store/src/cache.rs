//! A cache of context records in front of the database: cache-aside, two tiers.
//!
//! - In each replica, a bounded in-process map with a TTL.
//! - In Redis (`--cache-url`, feature `cache`), `context-store:ctx:{id}` with the same TTL,
//!   shared by every replica.
//!
//! A write deletes the Redis entry, drops the local one and publishes the id on
//! `context-store:invalidate`; every replica drops its local entry when it hears it. Reads
//! check tenancy on the cached record as on a database row. A read racing a write may put the
//! record it read before the write back into the cache; the TTL bounds how long it stays.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::store::ContextInfo;

/// The most records one replica keeps in memory.
pub const LOCAL_CAPACITY: usize = 10_000;

type Labels = [(&'static str, &'static str); 1];

/// Hit and miss counters, by tier (`local`, `redis`).
#[derive(Clone, Default)]
pub struct CacheMetrics {
    /// `context_store_cache_hits_total`.
    pub hits: Family<Labels, Counter>,
    /// `context_store_cache_misses_total`.
    pub misses: Family<Labels, Counter>,
}

impl CacheMetrics {
    fn hit(&self, tier: &'static str) {
        self.hits.get_or_create(&[("tier", tier)]).inc();
    }

    fn miss(&self, tier: &'static str) {
        self.misses.get_or_create(&[("tier", tier)]).inc();
    }
}

/// The cache.
pub struct Cache {
    ttl: Duration,
    local: Mutex<HashMap<String, (Instant, ContextInfo)>>,
    /// Bumped on every invalidation: a read that started before one does not fill the cache.
    generation: AtomicU64,
    metrics: CacheMetrics,
    #[cfg(feature = "cache")]
    redis: Option<redis_tier::RedisTier>,
}

impl Cache {
    /// A cache of the local tier only.
    pub fn local(ttl: Duration, metrics: CacheMetrics) -> Cache {
        Cache {
            ttl,
            local: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            metrics,
            #[cfg(feature = "cache")]
            redis: None,
        }
    }

    /// A cache whose shared tier is the Redis server at `url`; returns once connected and
    /// subscribed to invalidations.
    #[cfg(feature = "cache")]
    pub async fn with_redis(
        url: &str,
        ttl: Duration,
        metrics: CacheMetrics,
    ) -> Result<std::sync::Arc<Cache>, String> {
        let cache = std::sync::Arc::new(Cache {
            redis: Some(redis_tier::RedisTier::connect(url).await?),
            ..Cache::local(ttl, metrics)
        });
        redis_tier::listen(url, std::sync::Arc::downgrade(&cache)).await?;
        Ok(cache)
    }

    /// Whether a shared tier is configured.
    pub fn is_shared(&self) -> bool {
        #[cfg(feature = "cache")]
        return self.redis.is_some();
        #[cfg(not(feature = "cache"))]
        false
    }

    /// Where a read starts: pass it to [`Cache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn local_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, ContextInfo)>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached record of `id`, if any tier has it.
    pub async fn get(&self, id: &str) -> Option<ContextInfo> {
        {
            let mut local = self.local_map();
            match local.get(id) {
                Some((at, info)) if at.elapsed() < self.ttl => {
                    self.metrics.hit("local");
                    return Some(info.clone());
                }
                Some(_) => {
                    local.remove(id);
                }
                None => {}
            }
        }
        self.metrics.miss("local");
        #[cfg(feature = "cache")]
        if let Some(redis) = &self.redis {
            let generation = self.generation();
            match redis.get(id).await {
                Some(info) => {
                    self.metrics.hit("redis");
                    self.put_local(generation, info.clone());
                    return Some(info);
                }
                None => self.metrics.miss("redis"),
            }
        }
        None
    }

    /// Caches `info`, read from the database after [`Cache::generation`] said `generation`.
    pub async fn put(&self, generation: u64, info: &ContextInfo) {
        if self.generation() != generation {
            return;
        }
        #[cfg(feature = "cache")]
        if let Some(redis) = &self.redis {
            redis.put(info, self.ttl).await;
        }
        self.put_local(generation, info.clone());
    }

    fn put_local(&self, generation: u64, info: ContextInfo) {
        let mut local = self.local_map();
        if self.generation() != generation {
            return;
        }
        if local.len() >= LOCAL_CAPACITY {
            let ttl = self.ttl;
            local.retain(|_, (at, _)| at.elapsed() < ttl);
            if local.len() >= LOCAL_CAPACITY {
                local.clear();
            }
        }
        local.insert(info.id.clone(), (Instant::now(), info));
    }

    /// Drops `id` here and, with a shared tier, in Redis and in every other replica.
    pub async fn invalidate(&self, id: &str) {
        self.drop_local(id);
        #[cfg(feature = "cache")]
        if let Some(redis) = &self.redis {
            redis.invalidate(id).await;
        }
    }

    fn drop_local(&self, id: &str) {
        let mut local = self.local_map();
        self.generation.fetch_add(1, Ordering::AcqRel);
        local.remove(id);
    }

    /// `PING` to the shared tier, for readiness.
    pub async fn ping(&self) -> Result<(), String> {
        #[cfg(feature = "cache")]
        if let Some(redis) = &self.redis {
            return redis.ping().await;
        }
        Ok(())
    }
}

#[cfg(feature = "cache")]
mod redis_tier {
    use std::sync::Weak;
    use std::time::Duration;

    use futures_util::StreamExt;
    use redis::AsyncCommands;
    use redis::aio::ConnectionManager;

    use super::Cache;
    use crate::store::ContextInfo;

    const PREFIX: &str = "context-store:ctx:";
    /// The channel invalidations are published on.
    pub(super) const CHANNEL: &str = "context-store:invalidate";

    pub(super) struct RedisTier {
        conn: ConnectionManager,
    }

    fn client(url: &str) -> Result<redis::Client, String> {
        redis::Client::open(url).map_err(|e| format!("`--cache-url` is not a Redis URL: {e}"))
    }

    impl RedisTier {
        pub(super) async fn connect(url: &str) -> Result<RedisTier, String> {
            let conn = ConnectionManager::new(client(url)?)
                .await
                .map_err(|e| format!("cannot connect to the Redis cache: {e}"))?;
            Ok(RedisTier { conn })
        }

        pub(super) async fn get(&self, id: &str) -> Option<ContextInfo> {
            let mut conn = self.conn.clone();
            let text: Option<String> = match conn.get(format!("{PREFIX}{id}")).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "the Redis cache failed; reading the database");
                    return None;
                }
            };
            text.and_then(|t| serde_json::from_str(&t).ok())
        }

        pub(super) async fn put(&self, info: &ContextInfo, ttl: Duration) {
            let Ok(text) = serde_json::to_string(info) else {
                return;
            };
            let mut conn = self.conn.clone();
            let set: Result<(), _> = conn
                .set_ex(format!("{PREFIX}{}", info.id), text, ttl.as_secs().max(1))
                .await;
            if let Err(e) = set {
                tracing::warn!(error = %e, "the Redis cache failed to store a context");
            }
        }

        pub(super) async fn invalidate(&self, id: &str) {
            let mut conn = self.conn.clone();
            let done: Result<(), redis::RedisError> = async {
                let _: () = conn.del(format!("{PREFIX}{id}")).await?;
                let _: () = conn.publish(CHANNEL, id).await?;
                Ok(())
            }
            .await;
            if let Err(e) = done {
                tracing::warn!(error = %e, "the Redis cache failed to invalidate a context");
            }
        }

        pub(super) async fn ping(&self) -> Result<(), String> {
            let mut conn = self.conn.clone();
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| format!("redis: {e}"))
        }
    }

    /// Subscribes to invalidations, and drops what they name from `cache`'s local tier until
    /// the cache is dropped; resubscribes after a lost connection (and then clears the local
    /// tier, since invalidations may have been missed).
    pub(super) async fn listen(url: &str, cache: Weak<Cache>) -> Result<(), String> {
        let client = client(url)?;
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| format!("cannot subscribe to the Redis cache's invalidations: {e}"))?;
        pubsub
            .subscribe(CHANNEL)
            .await
            .map_err(|e| format!("cannot subscribe to the Redis cache's invalidations: {e}"))?;
        tokio::spawn(async move {
            loop {
                {
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Some(cache) = cache.upgrade() else { return };
                        if let Ok(id) = msg.get_payload::<String>() {
                            cache.drop_local(&id);
                        }
                    }
                }
                // The connection was lost.
                loop {
                    let Some(c) = cache.upgrade() else { return };
                    c.local_map().clear();
                    c.generation
                        .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                    drop(c);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if let Ok(mut p) = client.get_async_pubsub().await
                        && p.subscribe(CHANNEL).await.is_ok()
                    {
                        pubsub = p;
                        break;
                    }
                }
            }
        });
        Ok(())
    }
}
