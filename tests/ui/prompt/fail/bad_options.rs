use mcp_runtime::prelude::*;

/// Prompt options: duplicates, typos, a bad name, a missing icon `src`.
#[prompt(name = "review code", titel = "Review", tags("a"), tags("b"), icon(theme = "dark"))]
fn review(code: String) -> String {
    code
}

fn main() {}
