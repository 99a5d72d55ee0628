use mcp_runtime::prelude::*;

/// Shout a text.
#[tool]
fn shout(text: &str) -> String {
    text.to_uppercase()
}

fn main() {}
