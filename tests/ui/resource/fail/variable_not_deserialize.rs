use mcp_runtime::prelude::*;

struct UserId(u64);

/// A user's profile.
#[resource("users://{id}/profile")]
fn profile(id: UserId) -> String {
    format!("{}", id.0)
}

fn main() {}
