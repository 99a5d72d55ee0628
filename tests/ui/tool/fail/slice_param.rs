use mcp_runtime::prelude::*;

/// Sum numbers.
#[tool]
fn sum(numbers: &[i64]) -> i64 {
    numbers.iter().sum()
}

fn main() {}
