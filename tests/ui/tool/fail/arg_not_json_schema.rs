use mcp_runtime::prelude::*;

/// Deserializes, but has no JSON Schema.
#[derive(serde::Deserialize)]
struct Point {
    x: f64,
    y: f64,
}

/// Has a JSON Schema, but does not deserialize.
#[derive(schemars::JsonSchema)]
struct Size {
    w: f64,
}

/// One error per bad parameter, at its type.
#[tool]
fn area(point: Point, size: Size, scale: f64) -> f64 {
    point.x * point.y * size.w * scale
}

fn main() {}
