use mcp_runtime::prelude::*;

/// Add two integers.
#[tool(readonly)]
fn add(a: i64, #[arg(default)] b: i64) -> i64 {
    a + b
}

fn main() {
    assert_eq!(add(1, 2), 3);
}
