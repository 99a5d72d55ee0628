use mcp_runtime::prelude::*;

/// Review code.
#[prompt(arguments = 2)]
fn review(#[arg(completion = langs)] code: String) -> String {
    code
}

fn main() {}
