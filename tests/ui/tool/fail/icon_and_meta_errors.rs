use mcp_runtime::prelude::*;

/// A missing icon `src` and a duplicate `meta` key do not stop the other errors.
#[tool(
    icon(mime_type = "image/png"),
    meta(owner = "math", owner = "arith", version = 1, version = 2),
    icon(src = "https://example.com/a.png", theme = "dim"),
    colour = "red",
)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
