use mcp_runtime::prelude::*;

fn schema() -> serde_json::Value {
    serde_json::json!({"type": "object", "properties": {"region": {"type": "string"}}})
}

/// Run in a region.
#[tool(input_schema = schema)]
fn run(#[arg(header = "Region")] region: String) -> String {
    region
}

fn main() {}
