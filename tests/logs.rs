//! Logs: `MCP_LOG_FORMAT=json` (one JSON object per line, with the fields of the request's
//! spans), stdio requests logged at debug, and the HTTP access log.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_workspace::{HttpExample, example_command};
use serde_json::{Value, json};

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[test]
fn stdio_requests_are_logged_at_debug_as_json_lines() {
    let mut child = example_command("quickstart")
        .env("MCP_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":"two\nlines","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"no/such"}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"forged\n\u001b[31mline"}"#,
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{err}");
    assert_eq!(out.lines().count(), 4, "{out}");
    let requests: Vec<Value> = json_lines(&err)
        .into_iter()
        .filter(|l| l["target"] == "mcp_runtime::stdio" && l["fields"]["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 4, "{err}");
    assert!(requests.iter().all(|r| r["level"] == "DEBUG"));
    let call = &requests[1]["fields"];
    assert_eq!(call["rpc"], "tools/call");
    // The client's id as its JSON text: no line break reaches the log.
    assert_eq!(call["id"], r#""two\nlines""#);
    assert_eq!(call["error"], 0);
    assert!(call["micros"].is_u64());
    assert_eq!(requests[2]["fields"]["error"], -32601);
    // A method with control characters is written escaped.
    assert_eq!(requests[3]["fields"]["rpc"], r"forged\n\u{1b}[31mline");
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_the_request_spans_fields_and_the_access_log() {
    let server = look_up_otter(Some("json")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (found, access) = loop {
        let log = server.log();
        let lines: Vec<Value> = log
            .lines()
            .skip(1) // the banner
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let found = lines
            .iter()
            .find(|l| l["fields"]["message"] == "found")
            .cloned();
        let access = lines
            .iter()
            .find(|l| l["target"] == "mcp_runtime::http" && l["fields"]["tool"] == "\"lookup\"")
            .cloned();
        if let (Some(f), Some(a)) = (found, access) {
            break (f, a);
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // The handler's event, inside its own span, inside the tool's and the request's.
    assert_eq!(found["span"]["name"], "dictionary.lookup", "{found:#}");
    assert_eq!(found["span"]["word"], "otter");
    let spans = found["spans"].as_array().unwrap();
    let request = spans.iter().find(|s| s["name"] == "mcp.request").unwrap();
    assert_eq!(request["mcp.method.name"], "tools/call");
    assert_eq!(request["gen_ai.tool.name"], "lookup");
    assert!(spans.iter().any(|s| s["name"] == "mcp.tool"));
    // Client strings in the access log are escaped and quoted.
    assert_eq!(access["fields"]["rpc"], "\"tools/call\"");
    assert_eq!(access["fields"]["status"], 200);
}

/// The text logger writes an event inside a tool's handler after the request span's fields,
/// the tool's and the handler's span, as a `tracing` span tree would be written (the tool has
/// no span of its own there; its fields are written from the request's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_carry_the_request_and_tool_spans() {
    let server = look_up_otter(None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let found = loop {
        let log = server.log();
        if let Some(line) = log.lines().find(|l| l.contains(": found")) {
            break line.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        found.contains(" INFO mcp.request{mcp.method.name=\"tools/call\" jsonrpc.request.id="),
        "{found}"
    );
    assert!(
        found.contains(
            r#"gen_ai.operation.name="execute_tool" gen_ai.tool.name="lookup"}:mcp.tool{gen_ai.operation.name="execute_tool" gen_ai.tool.name="lookup"}:dictionary.lookup{word=otter}: found"#
        ),
        "{found}"
    );
}

/// The access log's lines are whole, escaped, and all written, those of the last requests
/// before a SIGTERM included (the log is written out in batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_log_line_is_written_whole_and_escaped_before_exit() {
    for json in [false, true] {
        let mut command = example_command("quickstart");
        command.env("RUST_LOG", "info");
        if json {
            command.env("MCP_LOG_FORMAT", "json");
        } else {
            command.env_remove("MCP_LOG_FORMAT");
        }
        let mut server = HttpExample::start(command, &[]);
        let client = Client::connect_http(&server.url).await.unwrap();
        const CALLS: u64 = 300;
        for i in 0..CALLS {
            let r = client
                .call_tool("add", json!({"a": i, "b": 1}))
                .await
                .unwrap();
            assert!(!r.is_error);
        }
        // A client's tool name that would forge a line, colour a terminal, or a field.
        let forged = "x\nforged=1 \u{1b}[31m\"";
        let _ = client.call_tool(forged, json!({})).await;
        // Stopped at once: what is still waiting is written before the process ends.
        let pid = server.child.0.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        server.child.wait_exit(Duration::from_secs(20));
        // The reader thread sees the end of stderr soon after the exit.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let log = loop {
            let log = server.log();
            if log.contains(if json { "forged" } else { "forged=1" })
                || std::time::Instant::now() > deadline
            {
                break log;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let calls: Vec<&str> = log.lines().filter(|l| l.contains("tools/call")).collect();
        // Every call, and the forged one, on one line each.
        assert_eq!(calls.len() as u64, CALLS + 1, "json: {json}\n{log}");
        assert!(!log.contains('\u{1b}'), "{log}");
        if json {
            let lines = json_lines(&calls.join("\n"));
            assert!(
                lines
                    .iter()
                    .take(CALLS as usize)
                    .all(|l| l["fields"]["tool"] == "\"add\""
                        && l["fields"]["status"] == 200
                        && l["target"] == "mcp_runtime::http")
            );
            assert_eq!(
                lines[CALLS as usize]["fields"]["tool"],
                r#""x\nforged=1 \u{1b}[31m\"""#
            );
        } else {
            assert!(
                calls[..CALLS as usize]
                    .iter()
                    .all(|l| l.contains(
                        r#" INFO request method=POST rpc="tools/call" tool="add" session=""#
                    ) && l.contains(" status=200 sse=false micros=")),
                "{log}"
            );
            assert!(
                calls[CALLS as usize].contains(r#"tool="x\nforged=1 \u{1b}[31m\"""#),
                "{log}"
            );
        }
    }
}

/// The observability example at `info`, without an exporter, in this log format, after one
/// `lookup` call from a client that has closed its session.
async fn look_up_otter(format: Option<&str>) -> HttpExample {
    let mut command = example_command("observability");
    command
        .env("RUST_LOG", "info")
        .env_remove("MCP_LOG_FORMAT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if let Some(format) = format {
        command.env("MCP_LOG_FORMAT", format);
    }
    let server = HttpExample::start(command, &[]);
    let client = Client::connect_http(&server.url).await.unwrap();
    let r = client
        .call_tool("lookup", json!({"word": "otter"}))
        .await
        .unwrap();
    assert!(!r.is_error);
    client.close().await.unwrap();
    server
}
