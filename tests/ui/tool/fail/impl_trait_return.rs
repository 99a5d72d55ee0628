use mcp_runtime::prelude::*;

/// Say hello.
#[tool]
fn hello() -> impl serde::Serialize {
    "hello"
}

fn main() {}
