use mcp_runtime::prelude::*;

/// Move a point.
#[tool]
fn shift(x: f64, #[arg(rename = "x")] dx: f64) -> f64 {
    x + dx
}

fn main() {}
