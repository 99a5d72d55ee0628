use mcp_runtime::prelude::*;

/// A user's profile.
#[resource("users://{id}/profile")]
fn profile(id: u64, verbose: bool) -> String {
    format!("{id} {verbose}")
}

fn main() {}
