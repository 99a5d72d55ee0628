use mcp_runtime::prelude::*;

/// No unit.
#[tool(timeout = "30")]
async fn no_unit() -> String {
    String::new()
}

/// An unknown unit.
#[tool(timeout = "30 seconds")]
async fn long_unit() -> String {
    String::new()
}

/// Zero.
#[tool(timeout = "0s")]
async fn zero() -> String {
    String::new()
}

/// Not a string.
#[tool(timeout = 30)]
async fn not_a_string() -> String {
    String::new()
}

fn main() {}
