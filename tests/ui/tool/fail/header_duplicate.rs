use mcp_runtime::prelude::*;

/// Copy between regions.
#[tool]
fn copy(
    #[arg(header = "Region")] from: String,
    #[arg(header = "REGION")] to: String,
) -> String {
    format!("{from} -> {to}")
}

fn main() {}
