use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
enum Unit {
    Celsius,
    Fahrenheit,
}

/// Today's temperature.
#[tool]
fn temperature(#[arg(default = Unit::Celsius)] unit: Unit) -> f64 {
    match unit {
        Unit::Celsius => 20.0,
        Unit::Fahrenheit => 68.0,
    }
}

fn main() {}
