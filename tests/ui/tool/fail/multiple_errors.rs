use mcp_runtime::prelude::*;

/// Shout a text.
#[tool(readonly)]
fn shout(text: &str) -> String {
    text.to_uppercase()
}

fn main() {}
