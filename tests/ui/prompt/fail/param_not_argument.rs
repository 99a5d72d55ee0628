use mcp_runtime::prelude::*;

struct Code(String);

/// Review code.
#[prompt]
fn review(code: Code) -> String {
    code.0
}

fn main() {}
