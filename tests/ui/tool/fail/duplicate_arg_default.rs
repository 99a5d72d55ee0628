use mcp_runtime::prelude::*;

/// Repeat a text.
#[tool]
fn repeat(text: String, #[arg(default, default = 2)] times: usize) -> String {
    text.repeat(times)
}

fn main() {}
