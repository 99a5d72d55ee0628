use std::collections::HashMap;

use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Address {
    street: String,
}

#[derive(Deserialize, JsonSchema, Form)]
struct Order {
    item: String,
    to: Address,
    tags: Vec<String>,
    extra: Option<HashMap<String, String>>,
    any: serde_json::Value,
}

fn main() {}
