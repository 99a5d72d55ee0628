use mcp_runtime::prelude::*;

/// Add a pair of integers.
#[tool]
fn add((a, b): (i32, i32)) -> i32 {
    a + b
}

fn main() {}
