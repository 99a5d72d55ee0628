use mcp_runtime::prelude::*;

/// A number is not a prompt.
#[prompt]
fn number() -> u32 {
    42
}

fn main() {}
