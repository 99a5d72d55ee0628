use mcp_runtime::prelude::*;

/// Run a query in a region.
#[tool]
fn query(#[arg(header = "Cloud Region")] region: String, sql: String) -> String {
    format!("{region}: {sql}")
}

fn main() {}

/// An empty header name.
#[tool]
fn empty(#[arg(header = "")] region: String) -> String {
    region
}
