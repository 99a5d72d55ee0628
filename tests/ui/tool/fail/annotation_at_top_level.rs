use mcp_runtime::prelude::*;

/// Read a value; annotations written where tool options go.
#[tool(read_only, idempotent = true, openworld)]
fn read() -> i64 {
    1
}

fn main() {}
