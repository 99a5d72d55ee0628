use mcp_runtime::prelude::*;

/// Generic.
#[prompt]
fn generic<T: Into<String>>(topic: String) -> String {
    topic
}

/// A reference.
#[prompt]
fn borrowed(topic: &str) -> String {
    topic.to_string()
}

fn main() {}
