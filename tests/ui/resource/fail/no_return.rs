use mcp_runtime::prelude::*;

/// Nothing.
#[resource("void://nothing")]
fn nothing() {}

fn main() {}
