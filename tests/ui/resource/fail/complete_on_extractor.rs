use mcp_runtime::prelude::*;

fn ids(_: &str, _: &CompletionContext) -> Vec<String> {
    Vec::new()
}

/// A user's profile.
#[resource("users://{id}/profile")]
fn profile(id: u64, #[arg(complete = ids)] ctx: Context) -> String {
    format!("{id} {:?}", ctx.request_id())
}

fn main() {}
