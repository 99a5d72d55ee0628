use mcp_runtime::prelude::*;

/// Join words.
#[tool]
fn join(words: Vec<&str>) -> String {
    words.join(" ")
}

fn main() {}
