use mcp_runtime::prelude::*;

/// A variable twice.
#[resource("users://{id}/{id}")]
fn twice(id: u64) -> String {
    id.to_string()
}

/// A prefix modifier out of range.
#[resource("users://{id:10000}")]
fn prefix(id: String) -> String {
    id
}

/// A reserved operator.
#[resource("users://{=id}")]
fn reserved(id: String) -> String {
    id
}

/// Not a URI.
#[resource("users/{id}")]
fn no_scheme(id: String) -> String {
    id
}

fn main() {}
