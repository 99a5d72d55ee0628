//! `context-store`: the context store as an MCP server.
//!
//! ```sh
//! cargo run -p context-store                       # stdio, SQLite in ~/.local/share/context-store
//! cargo run -p context-store -- --transport http   # streamable HTTP on 127.0.0.1:8000
//! context-store --transport http --database-url postgres://app@db/contexts --redis-url redis://cache:6379
//! ```

use std::sync::Arc;

use context_store::options::AppOptions;
use context_store::{App, Cache, Limits, Store};
use mcp_runtime::observe::Metrics;
use mcp_runtime::{Launch, LaunchOptions};

const NAME: &str = "context-store";

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("{NAME}: {message}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |k: &str| std::env::var(k).ok();
    let (options, rest) = AppOptions::parse(args, env).unwrap_or_else(|e| fail(e));
    let launch = match LaunchOptions::parse(rest, env) {
        Ok(Launch::Serve(launch)) => launch,
        Ok(Launch::Help) => {
            print!("{}\n{}", LaunchOptions::help(NAME), AppOptions::help());
            return;
        }
        Ok(Launch::PrintConfig(text)) => {
            print!("{text}");
            return;
        }
        Err(e) => fail(e),
    };

    let store = match &options.database_url {
        Some(url) => Store::open(url).await,
        None => Store::open_sqlite(&options.data_dir).await,
    }
    .unwrap_or_else(|e| fail(e));
    context_store::warm_tokenizer().await;

    let limits = Limits {
        max_content_bytes: options.max_content_bytes,
        ..Limits::default()
    };
    let app = App::new(store.clone(), limits);
    let cache_url = options
        .cache_url
        .clone()
        .or_else(|| launch.http.redis_url.clone());
    let cache = match cache_url {
        #[cfg(feature = "cache")]
        Some(url) => Cache::with_redis(&url, options.cache_ttl, app.metrics.cache.clone())
            .await
            .unwrap_or_else(|e| fail(e)),
        #[cfg(not(feature = "cache"))]
        Some(_) => fail("`--cache-url` needs the `cache` feature; rebuild with it"),
        None => Arc::new(Cache::local(options.cache_ttl, app.metrics.cache.clone())),
    };
    let app = app.with_cache(cache);
    let metrics = Metrics::new();
    let served = context_store::server(app, Some(&metrics))
        .serve(launch)
        .await;
    store.close().await;
    if let Err(e) = served {
        fail(e);
    }
}
