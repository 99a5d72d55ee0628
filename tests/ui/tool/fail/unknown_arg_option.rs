use mcp_runtime::prelude::*;

/// Repeat a text.
#[tool]
fn repeat(text: String, #[arg(defualt = 2)] times: usize) -> String {
    text.repeat(times)
}

fn main() {}
