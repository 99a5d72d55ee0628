use mcp_runtime::prelude::*;

/// Add two integers.
///
/// # Arguments
/// * `a` - The first.
/// * `c` - The second.
#[tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
