use mcp_runtime::prelude::*;

/// Add two integers.
#[tool(annotations(read_only, pure))]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
