use mcp_runtime::prelude::*;

/// The URI given twice, and other options given twice.
#[resource("config://a", uri = "config://b", mime_type = "text/plain", mime_type = "text/html", size = 1, size = 2)]
fn config() -> String {
    String::new()
}

fn main() {}
