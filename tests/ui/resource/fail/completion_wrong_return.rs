use mcp_runtime::prelude::*;

fn ids(_: &str, _: &CompletionContext) -> u32 {
    7
}

/// A user's profile.
#[resource("users://{id}/profile")]
fn profile(#[arg(complete = ids)] id: u64) -> String {
    id.to_string()
}

fn main() {}
