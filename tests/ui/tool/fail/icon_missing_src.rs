use mcp_runtime::prelude::*;

/// Add two integers.
#[tool(icon(mime_type = "image/png"))]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
