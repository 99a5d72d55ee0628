use mcp_runtime::prelude::*;

/// Add two integers.
#[tool(meta(owner = "math", versions = [1, 2]))]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
