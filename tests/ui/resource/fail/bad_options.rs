use mcp_runtime::prelude::*;

/// Bad options.
#[resource("config://app", mimetype = "text/plain", annotations(audience = ["robot"], priority = 2.0))]
fn config() -> String {
    String::new()
}

fn main() {}
