//! Every resource option, return type and variable shape.

use mcp_runtime::prelude::*;
use mcp_runtime::Bytes;
use serde::Serialize;

#[derive(Serialize)]
struct Config {
    debug: bool,
}

/// JSON.
#[resource(
    "config://app",
    name = "config",
    title = "Config",
    description = "The configuration.",
    mime_type = "application/json",
    size = 14,
    annotations(audience = ["user", "assistant"], priority = 1, last_modified = "2025-01-01T00:00:00Z"),
    tags("config"),
    meta(team = "ops"),
    icon = "https://example.com/c.png"
)]
fn config() -> Json<Config> {
    Json(Config { debug: true })
}

/// Static text.
#[resource("text://static")]
fn static_text() -> &'static str {
    "hi"
}

/// Bytes.
#[resource("bin://bytes")]
async fn some_bytes(ctx: Context) -> Bytes {
    let _ = ctx;
    Bytes::from_static(b"x")
}

/// Contents with an error.
#[resource("files://{+path}{?rev}")]
fn file(
    path: String,
    #[arg(default = 0)] rev: u32,
) -> Result<Vec<ResourceContents>, ResourceError> {
    if rev > 9 {
        return Err(ResourceError::not_found(path));
    }
    Ok(vec![])
}

/// Exploded.
#[resource(uri = "tags://{tags*}")]
fn tagged(#[arg(rename = "tags")] list: Vec<String>) -> Result<String, std::io::Error> {
    Ok(list.join(","))
}

fn main() {}
