use mcp_runtime::prelude::*;

/// `#[arg]` on prompts: `header` is for tools, a duplicate key, an unknown key, two arguments
/// with one name.
#[prompt]
fn review(
    #[arg(header = "Code")] code: String,
    #[arg(description = "a", description = "b")] language: String,
    #[arg(rename = "code")] other: String,
    #[arg(complet = langs)] style: String,
) -> String {
    format!("{code}{language}{other}{style}")
}

fn main() {}
