use mcp_runtime::prelude::*;

/// Not a function.
#[tool]
struct Add {
    a: i64,
    b: i64,
}

fn main() {}
