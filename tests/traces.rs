//! Traces end to end: the observability example exports its spans over OTLP/HTTP (configured
//! by `OTEL_*` variables alone) to a receiver that decodes them with the official
//! `opentelemetry-proto` Python package (tests/interop/python/otlp_receiver.py, in the venv
//! `scripts/test --setup` builds); the test checks the tree, the attributes, and that a trace
//! the client started, in `params._meta` or in HTTP headers, is continued.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_runtime::prelude::*;
use mcp_runtime::{ClientOptions, HttpClientOptions};
use mcp_workspace::{HttpExample, Lines, Running, example_command, workspace_root};
use serde_json::{Value, json};

const TRACE_IN_META: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_IN_META: &str = "00f067aa0ba902b7";
const TRACE_IN_HEADER: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_IN_HEADER: &str = "b7ad6b7169203331";

/// The receiver, and the spans it printed.
struct Receiver {
    _child: Running,
    lines: Lines,
    spans: Vec<Value>,
}

impl Receiver {
    fn start() -> (Receiver, u16) {
        let python = workspace_root().join(".cache/venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `./scripts/test --setup` (it installs opentelemetry-proto)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(workspace_root().join("tests/interop/python/otlp_receiver.py"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the OTLP receiver");
        let lines = Lines::new(child.stdout.take().unwrap());
        let child = Running(child);
        let first = lines
            .next(Duration::from_secs(30))
            .expect("the receiver's port");
        let port = first
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a port: {first:?}"));
        (
            Receiver {
                _child: child,
                lines,
                spans: Vec::new(),
            },
            port,
        )
    }

    /// Waits until a span matches `want`; returns it.
    fn wait_for(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.spans.iter().find(|s| want(s)) {
                return s.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.next(left) {
                Ok(line) => self.spans.push(serde_json::from_str(&line).unwrap()),
                Err(e) => panic!("no span {what} ({e:?}); got {:#?}", self.spans),
            }
        }
    }

    fn children_of(&self, span: &Value) -> Vec<&Value> {
        self.spans
            .iter()
            .filter(|s| s["parent_span_id"] == span["span_id"])
            .collect()
    }
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_as_a_tree_continuing_the_clients_trace() {
    let (mut receiver, port) = Receiver::start();
    let mut command = example_command("observability");
    command
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .env("OTEL_SERVICE_NAME", "traces-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER");
    let server = HttpExample::start(command, &[]);

    // The trace context in `_meta`.
    let client = Client::connect_http(&server.url).await.unwrap();
    let traceparent = format!("00-{TRACE_IN_META}-{PARENT_IN_META}-01");
    let r: CallToolResult = client
        .request(
            "tools/call",
            &json!({
                "name": "lookup",
                "arguments": {"word": "otter"},
                "_meta": {"traceparent": traceparent, "tracestate": "vendor=1"},
            }),
        )
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("otter: a word of 5 letters"));
    let failed = client
        .call_tool("lookup", json!({"word": " "}))
        .await
        .unwrap();
    assert!(failed.is_error);
    client.close().await.unwrap();

    // The trace context in HTTP headers.
    let client = Client::connect_http_with(
        &server.url,
        HttpClientOptions::default().header(
            "traceparent",
            format!("00-{TRACE_IN_HEADER}-{PARENT_IN_HEADER}-01"),
        ),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    client
        .call_tool("lookup", json!({"word": "heron"}))
        .await
        .unwrap();
    client.close().await.unwrap();

    let receiver = tokio::task::spawn_blocking(move || {
        let call = receiver.wait_for("tools/call in the _meta trace", |s| {
            s["name"] == "tools/call lookup" && s["trace_id"] == TRACE_IN_META
        });
        assert_eq!(call["parent_span_id"], PARENT_IN_META, "{call:#}");
        assert_eq!(call["kind"], "SPAN_KIND_SERVER", "{call:#}");
        assert_eq!(call["service"], "traces-test", "{call:#}");
        assert_eq!(attr(&call, "mcp.method.name"), "tools/call");
        assert_eq!(attr(&call, "gen_ai.tool.name"), "lookup");
        assert_eq!(attr(&call, "gen_ai.operation.name"), "execute_tool");
        assert_eq!(attr(&call, "network.transport"), "tcp");
        assert_eq!(attr(&call, "client.address"), "127.0.0.1");
        assert!(attr(&call, "jsonrpc.request.id").is_string(), "{call:#}");
        assert!(
            attr(&call, "mcp.session.id")
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{call:#}"
        );
        let tool = receiver.wait_for("execute_tool under it", |s| {
            s["name"] == "execute_tool lookup" && s["parent_span_id"] == call["span_id"]
        });
        assert_eq!(tool["trace_id"], TRACE_IN_META);
        assert_eq!(attr(&tool, "gen_ai.tool.name"), "lookup");
        let own = receiver.wait_for("the handler's own span under that", |s| {
            s["name"] == "dictionary.lookup" && s["parent_span_id"] == tool["span_id"]
        });
        assert_eq!(attr(&own, "word"), "otter");
        assert_eq!(receiver.children_of(&tool).len(), 1);

        // The failed call: a tool error on the tool's span.
        let failed = receiver.wait_for("the failed call's execute_tool", |s| {
            s["name"] == "execute_tool lookup" && s["attributes"]["error.type"] == "tool_error"
        });
        assert_eq!(failed["status"], "STATUS_CODE_ERROR", "{failed:#}");
        // Without a trace context of its own, a new trace.
        assert_ne!(failed["trace_id"], TRACE_IN_META);

        // The header's trace.
        let call = receiver.wait_for("tools/call in the header's trace", |s| {
            s["name"] == "tools/call lookup" && s["trace_id"] == TRACE_IN_HEADER
        });
        assert_eq!(call["parent_span_id"], PARENT_IN_HEADER, "{call:#}");
        // `initialize` too, though it comes before any session: it continues the header's
        // trace.
        let init = receiver.wait_for("initialize in the header's trace", |s| {
            s["name"] == "initialize" && s["trace_id"] == TRACE_IN_HEADER
        });
        assert_eq!(init["parent_span_id"], PARENT_IN_HEADER, "{init:#}");
        receiver.wait_for("initialize", |s| {
            s["name"] == "initialize" && s["attributes"]["mcp.method.name"] == "initialize"
        });
        receiver
    })
    .await
    .unwrap();
    drop(receiver);
    drop(server);
}
