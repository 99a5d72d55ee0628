use mcp_runtime::prelude::*;

/// Wait a little.
#[tool(blocking)]
async fn wait(ms: u64) -> String {
    format!("waited {ms} ms")
}

fn main() {}
