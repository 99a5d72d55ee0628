use mcp_runtime::prelude::*;

/// Misspelled options: each one names the option it is close to.
#[tool(titel = "Add", descripton = "Add two integers.", output_shema = false)]
fn add(#[arg(defualt = 1)] a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
