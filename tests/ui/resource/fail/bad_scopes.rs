use mcp_runtime::prelude::*;

/// A scope with a space.
#[resource("notes://all", scopes("notes read"))]
fn notes() -> String {
    String::new()
}

fn main() {}
