//! Two tools over streamable HTTP: `mcp-size --transport http`.

use mcp_runtime::prelude::*;

/// Add two integers.
#[tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Echo a text back.
#[tool]
fn echo(text: String) -> String {
    text
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mcp_runtime::Error> {
    Server::new("size").run().await
}
