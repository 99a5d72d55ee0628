//! Middleware, limits, metrics and traces on one server.
//!
//! ```sh
//! cargo run --example observability -- --transport http
//! curl -s http://127.0.0.1:8000/metrics
//! # traces, to any OTLP/HTTP collector:
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example observability -- --transport http
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mcp_runtime::middleware::{BoxFuture, Middleware, Next, RateLimit, ToolOutcome, ToolRequest};
use mcp_runtime::observe::Metrics;
use mcp_runtime::prelude::*;
use tracing::Instrument;

/// Look a word up in the dictionary.
#[tool(timeout = "5s", max_concurrency = 8, annotations(read_only))]
async fn lookup(word: String) -> Result<String, ToolError> {
    let span = tracing::info_span!("dictionary.lookup", word = %word);
    async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        if word.trim().is_empty() {
            return Err(ToolError::new("no word given: pass a word to look up"));
        }
        tracing::info!(letters = word.len(), "found");
        Ok(format!(
            "{word}: a word of {} letters",
            word.chars().count()
        ))
    }
    .instrument(span)
    .await
}

/// Counts the tool calls it lets through; refuses words longer than 40 letters.
struct Audit(AtomicU64);

impl Middleware for Audit {
    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            let long = call
                .arguments()
                .get("word")
                .and_then(|w| w.as_str())
                .is_some_and(|w| w.chars().count() > 40);
            if long {
                return Ok(CallToolResult::error("words are at most 40 letters long"));
            }
            let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(tool = call.name(), calls = n, "audited");
            next.run(call).await
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    Server::new("observability")
        .metrics(&Metrics::new())
        .traces()
        .rate_limit(RateLimit::per_second(100).burst(200))
        .tool_timeout(Duration::from_secs(30))
        .middleware(Audit(AtomicU64::new(0)))
        .run()
        .await
}
