use mcp_runtime::prelude::*;

/// Greet someone.
#[tool]
fn greet<'a>(name: String) -> String {
    format!("hello {name}")
}

fn main() {}
