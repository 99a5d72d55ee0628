use mcp_runtime::prelude::*;

/// Zero.
#[tool(max_concurrency = 0)]
async fn zero() -> String {
    String::new()
}

/// Negative.
#[tool(max_concurrency = -1)]
async fn negative() -> String {
    String::new()
}

/// A string.
#[tool(max_concurrency = "4")]
async fn string() -> String {
    String::new()
}

fn main() {}
