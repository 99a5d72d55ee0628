use mcp_runtime::prelude::*;

/// Add two integers.
#[tool(icon(src = "https://example.com/add.png", theme = "blue"))]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
