//! The deprecated HTTP+SSE transport of 2024-11-05 (`--legacy-sse`): off by default; on, the
//! official Python SDK's `sse_client` initializes, lists and calls tools through it.

use std::process::Command;

use mcp_workspace::{HttpExample, example_command, raw_http, workspace_root};

fn port_of(server: &HttpExample) -> u16 {
    server.addr().rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn off_by_default() {
    let server = HttpExample::start(example_command("quickstart"), &[]);
    let port = port_of(&server);
    let (status, _) = raw_http(port, "GET /sse HTTP/1.1\r\nHost: localhost", "");
    assert_eq!(status, 404);
    let (status, _) = raw_http(
        port,
        "POST /messages?session_id=x HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json",
        "{}",
    );
    assert_eq!(status, 404);
}

#[test]
fn messages_need_a_session_of_the_stream() {
    let server = HttpExample::start(example_command("quickstart"), &["--legacy-sse"]);
    let port = port_of(&server);
    let (status, body) = raw_http(
        port,
        "POST /messages?session_id=nope HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json",
        "{}",
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("GET /sse"), "{body}");
    let (status, _) = raw_http(port, "DELETE /sse HTTP/1.1\r\nHost: localhost", "");
    assert_eq!(status, 405);
    // The checks of the endpoint apply: a foreign Host is refused.
    let (status, _) = raw_http(port, "GET /sse HTTP/1.1\r\nHost: evil.example", "");
    assert_eq!(status, 403);
}

#[test]
fn the_python_sdk_sse_client_speaks_it() {
    let python = workspace_root().join(".cache/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `./scripts/test --setup`",
        python.display()
    );
    let server = HttpExample::start(example_command("quickstart"), &["--legacy-sse"]);
    let url = format!("http://{}/sse", server.addr());
    let script = r#"
import sys
import anyio
from mcp import ClientSession
from mcp.client.sse import sse_client

async def main():
    async with sse_client(sys.argv[1], timeout=20) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            slept = await session.call_tool("sleep", {"ms": 50})
            print(init.server_info.name, len(tools.tools), result.content[0].text, slept.content[0].text)

anyio.run(main)
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert_eq!(stdout.trim(), "quickstart 6 5 slept 50 ms");
}
