use mcp_runtime::prelude::*;

/// A user's post.
#[resource("users://{user_id}/posts/{post_id}")]
fn post(user_id: u64) -> String {
    format!("{user_id}")
}

fn main() {}
