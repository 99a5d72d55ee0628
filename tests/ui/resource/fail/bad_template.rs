use mcp_runtime::prelude::*;

/// Unclosed.
#[resource("users://{id/profile")]
fn profile(id: u64) -> String {
    id.to_string()
}

/// Not a URI.
#[resource("just-a-path/{id}")]
fn other(id: u64) -> String {
    id.to_string()
}

fn main() {}
