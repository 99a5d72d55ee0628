use mcp_runtime::prelude::*;

/// A number.
#[resource("numbers://answer")]
fn answer() -> u32 {
    42
}

fn main() {}
