//! The official MCP Python SDK client (the venv `scripts/test` makes in `.cache/venv`) against
//! the `context-store` binary over stdio and over streamable HTTP: every tool, resource
//! template, prompt, and deletion confirmed through elicitation (tests/python/sdk_client.py).

mod support;

use std::process::Command;

use mcp_workspace::HttpExample;
use mcp_workspace::cluster::TempDir;

#[test]
fn python_sdk_over_stdio() {
    let dir = TempDir::new("ctx-sdk-stdio");
    let out = support::python_sdk(&[
        "stdio",
        env!("CARGO_BIN_EXE_context-store"),
        &dir.0.to_string_lossy(),
    ]);
    assert!(
        out.contains("ok tour over stdio") && out.contains("ok data persists"),
        "{out}"
    );
}

#[test]
fn python_sdk_over_http() {
    let dir = TempDir::new("ctx-sdk-http");
    let mut command = Command::new(env!("CARGO_BIN_EXE_context-store"));
    command
        .env("MCP_AUTH_TOKEN", "sdk-test-token")
        .arg("--data-dir")
        .arg(&dir.0);
    let server = HttpExample::start(command, &[]);
    let out = support::python_sdk(&["http", &server.url, "sdk-test-token"]);
    assert!(
        out.contains("ok tour over streamable HTTP"),
        "{out}\n{}",
        server.log()
    );
}
