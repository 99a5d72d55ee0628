//! The context store: conversations and shared state for models and agents, kept in SQLite
//! or Postgres, isolated per principal, with a Redis cache in front, served over MCP.
//!
//! - Tools: `create_context`, `append_messages`, `get_context`, `update_context`,
//!   `delete_context` (confirmed through elicitation), `search_messages`, `trim_context`,
//!   `list_contexts`, and `store_stats` for operators.
//! - Resources: `context://{id}`, `context://{id}/messages{?since,limit}`, `contexts://recent`;
//!   subscribers hear `resources/updated` when a context changes, on every replica.
//! - Prompts: `summarize_context`, `continue_conversation`.
//!
//! Scopes: `contexts:read` to read, `contexts:write` to change, `contexts:admin` to reach
//! every tenant's contexts. A context belongs to the principal that created it (its subject,
//! with its token's issuer if it has one: [`tenant`]); to anyone else it does not exist, and
//! subscribing to it is refused as reading it is.

pub mod cache;
pub mod options;
pub mod store;
mod subscriptions;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use mcp_runtime::observe::Metrics;
use mcp_runtime::prelude::*;
use prometheus_client::metrics::counter::Counter;

pub use cache::{Cache, CacheMetrics};
pub use store::{Caller, ContextInfo, Message, Role, Store, StoreError};
pub use tools::{ADMIN_SCOPE, READ_SCOPE, WRITE_SCOPE, tenant, tenant_of};

/// Limits on what one call may store.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest message content, in bytes.
    pub max_content_bytes: usize,
    /// The most messages one `append_messages` call takes.
    pub max_batch: usize,
    /// The largest metadata object, serialized, in bytes.
    pub max_metadata_bytes: usize,
    /// The longest title, in characters.
    pub max_title_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_content_bytes: 64 * 1024,
            max_batch: 100,
            max_metadata_bytes: 16 * 1024,
            max_title_chars: 200,
        }
    }
}

/// The application's own counters, rendered with the server's at `/metrics`.
#[derive(Clone, Default)]
pub struct AppMetrics {
    /// `context_store_messages_appended_total`.
    pub appended: Counter,
    /// The cache's hits and misses.
    pub cache: CacheMetrics,
}

impl AppMetrics {
    /// Registers the counters with `metrics`.
    pub fn register(&self, metrics: &Metrics) {
        // Every series from the start, at zero.
        for tier in ["local", "redis"] {
            let _ = self.cache.hits.get_or_create(&[("tier", tier)]);
            let _ = self.cache.misses.get_or_create(&[("tier", tier)]);
        }
        metrics.with_registry(|r| {
            r.register(
                "context_store_messages_appended",
                "Messages appended and committed",
                self.appended.clone(),
            );
            r.register(
                "context_store_cache_hits",
                "Context records read from the cache, by tier (local, redis)",
                self.cache.hits.clone(),
            );
            r.register(
                "context_store_cache_misses",
                "Context records the cache did not have, by tier (local, redis)",
                self.cache.misses.clone(),
            );
        });
    }
}

/// What every handler shares: the database, the cache, the limits and the counters.
pub struct App {
    /// The database.
    pub store: Store,
    /// The cache in front of it.
    pub cache: Arc<Cache>,
    /// Input limits.
    pub limits: Limits,
    /// The application's counters.
    pub metrics: AppMetrics,
}

impl App {
    /// An application on `store` with a local cache only.
    pub fn new(store: Store, limits: Limits) -> App {
        let metrics = AppMetrics::default();
        let cache = Arc::new(Cache::local(Duration::from_secs(60), metrics.cache.clone()));
        App {
            store,
            cache,
            limits,
            metrics,
        }
    }

    /// The same application with another cache, whose counters must be `self.metrics.cache`'s
    /// (see [`App::metrics`]).
    pub fn with_cache(mut self, cache: Arc<Cache>) -> App {
        self.cache = cache;
        self
    }

    /// The record of `id`, from the cache or the database, if `caller` may see it.
    pub async fn context(&self, caller: &Caller, id: &str) -> Result<ContextInfo, StoreError> {
        if let Some(info) = self.cache.get(id).await {
            return if caller.admin || info.owner == caller.owner {
                Ok(info)
            } else {
                Err(StoreError::NotFound(id.to_string()))
            };
        }
        let generation = self.cache.generation();
        let info = self.store.get(caller, id).await?;
        self.cache.put(generation, &info).await;
        Ok(info)
    }
}

/// Tokens of `text` in the `cl100k_base` encoding, plus the 4 a chat message costs around its
/// content.
pub fn count_tokens(text: &str) -> i64 {
    bpe_openai::cl100k_base().count(text) as i64 + 4
}

/// Loads the tokenizer's vocabulary (it takes a moment), off the async threads.
pub async fn warm_tokenizer() {
    let _ = tokio::task::spawn_blocking(|| count_tokens("")).await;
}

/// The server: every tool, resource and prompt of this crate, sharing `app`, with its
/// readiness checks (the database, and the shared cache when there is one) and, given
/// `metrics`, the application's counters beside the server's.
pub fn server(app: App, metrics: Option<&Metrics>) -> Server {
    let app = Arc::new(app);
    let db = Arc::clone(&app);
    let cache = Arc::clone(&app);
    let guard = subscriptions::SubscriptionGuard(Arc::clone(&app));
    let mut server = Server::new("context-store")
        .version(env!("CARGO_PKG_VERSION"))
        .title("Context store")
        .instructions(
            "Keeps conversations for models and agents. Create a context with `create_context`, \
             add messages with `append_messages`, read it with `get_context` or the \
             `context://{id}` resources, find messages with `search_messages`, and keep it \
             within a token budget with `trim_context`.",
        )
        .readiness_check("database", move || {
            let app = Arc::clone(&db);
            async move { app.store.ping().await.map_err(|e| e.to_string()) }
        })
        .readiness_check("cache", move || {
            let app = Arc::clone(&cache);
            async move { app.cache.ping().await }
        })
        .middleware(guard);
    if let Some(metrics) = metrics {
        app.metrics.register(metrics);
        server = server.metrics(metrics).traces();
    }
    server.state(Shared(app))
}

/// The application as handlers take it: `State<Shared>`.
#[derive(Clone)]
pub struct Shared(pub Arc<App>);

impl std::ops::Deref for Shared {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
