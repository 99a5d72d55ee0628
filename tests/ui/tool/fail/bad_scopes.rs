use mcp_runtime::prelude::*;

/// Scopes OAuth cannot carry, a duplicate, and the option twice.
#[tool(scopes("notes:read", "", "notes write", "notes:read", "a\"b"))]
fn bad() -> i64 {
    1
}

/// `scopes` given twice.
#[tool(scopes("a"), scopes("b"))]
fn twice() -> i64 {
    2
}

/// Not a string.
#[tool(scopes(notes))]
fn ident() -> i64 {
    3
}

fn main() {
    // The functions stay callable as written.
    let _ = bad() + twice() + ident();
}
