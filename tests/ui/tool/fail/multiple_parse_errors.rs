use mcp_runtime::prelude::*;

/// Every mistake found while reading the attributes is reported in one build.
#[tool(readonly, title = "A", title = "B", annotations(pure))]
fn add(#[arg(descr = "x")] a: i64, (b, c): (i64, i64), #[arg(rename = "d", rename = "e")] d: i64) -> i64 {
    a + b + c + d
}

fn main() {}
