//! MCP Apps: a tool that comes with an interactive view. `show_counter` is linked to the view
//! `ui://counter/view.html`, which a host renders in a sandboxed frame; the view calls
//! `increment` (visible to the view only) through the host when its button is clicked.
//!
//! ```text
//! cargo run --example apps                      # stdio
//! cargo run --example apps -- --transport http  # streamable HTTP
//! ```

use std::sync::atomic::{AtomicI64, Ordering};

use mcp_runtime::prelude::*;
use serde::Serialize;

#[derive(Default)]
struct Counter(AtomicI64);

#[derive(Serialize, schemars::JsonSchema)]
struct Count {
    /// The counter's value.
    count: i64,
}

/// Shows the counter in an interactive view, where the user can add to it.
#[tool(app = "ui://counter/view.html", annotations(read_only))]
fn show_counter(counter: State<Counter>) -> Count {
    Count {
        count: counter.0.load(Ordering::Relaxed),
    }
}

/// Adds one to the counter; the counter's view calls it.
#[tool(app(uri = "ui://counter/view.html", visibility = ["app"]))]
fn increment(counter: State<Counter>) -> Count {
    Count {
        count: counter.0.fetch_add(1, Ordering::Relaxed) + 1,
    }
}

/// The counter's view: one HTML page, no network access.
#[resource("ui://counter/view.html", app(prefers_border = true))]
fn counter_view() -> &'static str {
    include_str!("counter.html")
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    Server::new("apps").state(Counter::default()).run().await
}
