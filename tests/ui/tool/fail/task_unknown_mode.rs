use mcp_runtime::prelude::*;

/// Index the repository.
#[tool(task = "sometimes")]
async fn index(path: String) -> String {
    format!("indexed {path}")
}

fn main() {}
