use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema, Form)]
enum Shipping {
    Standard,
    Express { by: String },
    Pickup(String),
}

#[derive(Deserialize, JsonSchema, Form)]
#[serde(untagged)]
enum Untagged {
    A,
    B,
}

#[derive(Deserialize, JsonSchema, Form)]
enum Never {}

#[derive(Deserialize, JsonSchema, Form)]
struct Pair(String, u32);

fn main() {}
