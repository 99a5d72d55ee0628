use mcp_runtime::prelude::*;

/// Where is the URI?
#[resource(name = "config")]
fn config() -> String {
    String::new()
}

fn main() {}
