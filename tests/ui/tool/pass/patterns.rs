//! Parameter patterns that are still plain names: `mut`, leading underscore.

use mcp_runtime::prelude::*;

/// Sort numbers.
#[tool]
fn sort(mut numbers: Vec<i64>, _unused: Option<bool>) -> Vec<i64> {
    numbers.sort_unstable();
    numbers
}

fn main() {
    assert_eq!(sort(vec![3, 1, 2], None), vec![1, 2, 3]);
}
