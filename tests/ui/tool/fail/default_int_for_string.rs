use mcp_runtime::prelude::*;

/// Greet someone.
#[tool]
fn greet(#[arg(default = 3)] name: String) -> String {
    format!("hello {name}")
}

fn main() {}
