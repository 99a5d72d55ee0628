use mcp_runtime::prelude::*;

/// Typos and annotations written where resource options go.
#[resource("config://app", mimetype = "text/plain", priority = 0.5, sise = 3, icon(sizes = ["1x1"]))]
fn config() -> String {
    String::new()
}

fn main() {}
