//! The smallest useful server: one `add` tool on stdio. The stdio benchmark
//! (`cargo bench --bench stdio`) measures it against `examples/raw_stdio_add.rs`.

use mcp_runtime::prelude::*;

/// Add two integers.
#[tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    let server = Server::new("bench");
    // The HTTP benchmark's "metrics + traces" server.
    let server = if std::env::var_os("MCP_BENCH_OBSERVE").is_some() {
        server
            .metrics(&mcp_runtime::observe::Metrics::new())
            .traces()
    } else {
        server
    };
    server.run().await
}
