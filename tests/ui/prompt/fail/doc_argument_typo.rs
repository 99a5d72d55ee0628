use mcp_runtime::prelude::*;

/// Review code.
///
/// # Arguments
///
/// * `cdoe` - The code to review.
#[prompt]
fn review(code: String) -> String {
    code
}

fn main() {}
