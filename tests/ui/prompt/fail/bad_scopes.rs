use mcp_runtime::prelude::*;

/// An empty scope, and a duplicate.
#[prompt(scopes("", "notes:write", "notes:write"))]
fn draft() -> String {
    String::new()
}

fn main() {}
