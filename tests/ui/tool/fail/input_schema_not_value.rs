use mcp_runtime::prelude::*;

fn schema() -> &'static str {
    r#"{"type": "object"}"#
}

/// The schema function must return a `serde_json::Value`.
#[tool(input_schema = schema)]
fn f(a: i64) -> i64 {
    a
}

fn main() {}
