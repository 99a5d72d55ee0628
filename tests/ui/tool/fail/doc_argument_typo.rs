use mcp_runtime::prelude::*;

/// Current weather.
///
/// # Arguments
///
/// * `ctiy` - City name.
#[tool]
fn weather(city: String) -> String {
    city
}

fn main() {}
