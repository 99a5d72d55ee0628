use mcp_runtime::prelude::*;

struct Point {
    x: f64,
    y: f64,
}

/// The origin.
#[tool]
fn origin() -> Result<Point, ToolError> {
    Ok(Point { x: 0.0, y: 0.0 })
}

fn main() {}
