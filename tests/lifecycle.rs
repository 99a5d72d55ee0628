//! The handshake, revisions, listing, pagination, registration, cancellation and concurrency,
//! through the in-memory client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcp_runtime::__private as private;
use mcp_runtime::prelude::*;
use mcp_runtime::protocol::ProtocolVersion;
use mcp_runtime::{ClientOptions, ToolDef};
use serde_json::{Value, json};

mod math {
    use mcp_runtime::prelude::*;

    /// Add two integers.
    #[tool(
        tags("math"),
        title = "Addition",
        annotations(read_only, title = "Add")
    )]
    pub fn add(a: i64, b: i64) -> i64 {
        a + b
    }

    /// Multiply two integers.
    #[tool(tags("math"), icon(src = "https://example.com/x.png", mime_type = "image/png", sizes = ["48x48"]), meta(version = 2, "io.example/beta" = true))]
    pub fn multiply(a: i64, b: i64) -> i64 {
        a * b
    }
}

static FINISHED: AtomicBool = AtomicBool::new(false);

/// Wait, then remember that the wait finished.
#[tool]
async fn wait_then_mark(ms: u64) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    FINISHED.store(true, Ordering::SeqCst);
    "done"
}

/// Echo text.
#[tool]
fn echo(text: String) -> String {
    text
}

async fn connect(version: &str) -> Client {
    Client::connect_with(
        Server::new("lifecycle")
            .version("9.9.9")
            .title("Lifecycle")
            .instructions("Be nice."),
        ClientOptions {
            protocol_version: version.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn initialize_answers_the_requested_revision_or_the_latest() {
    for v in ProtocolVersion::HANDSHAKE {
        let c = connect(v.as_str()).await;
        assert_eq!(c.protocol_version(), v.as_str());
        assert_eq!(c.server_info().name, "lifecycle");
        assert_eq!(c.server_info().version, "9.9.9");
        assert_eq!(c.server_info().title.is_some(), v.has_titles());
        assert_eq!(
            c.initialize_result().instructions.as_deref(),
            Some("Be nice.")
        );
        let caps = &c.initialize_result().capabilities;
        assert_eq!(caps["tools"], json!({"listChanged": true}));
        assert_eq!(
            caps["resources"],
            json!({"listChanged": true, "subscribe": true})
        );
        assert_eq!(caps["prompts"], json!({"listChanged": true}));
        assert_eq!(caps.contains_key("completions"), v.has_completions());
    }
    let c = connect("2099-01-01").await;
    assert_eq!(c.protocol_version(), ProtocolVersion::LATEST.as_str());
}

#[tokio::test]
async fn ping_is_an_empty_object_and_a_second_initialize_is_refused() {
    let c = connect("2025-11-25").await;
    let pong: Value = c.request("ping", &json!({})).await.unwrap();
    assert_eq!(pong, json!({}));
    let e = c
        .request::<_, Value>(
            "initialize",
            &json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32600);
    let e = c
        .request::<_, Value>("sampling/createMessage", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32601);
    assert!(e.rpc().unwrap().message.contains("sampling/createMessage"));
}

#[tokio::test]
async fn tools_are_listed_by_name_with_every_option() {
    let c = connect("2025-11-25").await;
    let tools = c.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "add",
            "count_up",
            "echo",
            "inline_mark",
            "inline_unmarked",
            "meet",
            "multiply",
            "wait_then_mark"
        ]
    );
    let add = &tools[0];
    assert_eq!(add.title.as_deref(), Some("Addition"));
    assert_eq!(add.annotations.as_ref().unwrap()["title"], "Add");
    assert_eq!(add.annotations.as_ref().unwrap()["readOnlyHint"], true);
    let mul = &tools[6];
    assert_eq!(
        serde_json::to_value(&mul.icons).unwrap(),
        json!([{"src": "https://example.com/x.png", "mimeType": "image/png", "sizes": ["48x48"]}])
    );
    assert_eq!(mul.meta.as_ref().unwrap()["io.example/beta"], true);
    assert_eq!(mul.meta.as_ref().unwrap()["version"], 2);
}

#[tokio::test]
async fn older_revisions_get_only_what_they_define() {
    let c = connect("2025-06-18").await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(
        tools.iter().all(|t| t.icons.is_none()),
        "icons are 2025-11-25"
    );
    assert!(tools[0].output_schema.is_some());

    let c = connect("2025-03-26").await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(
        tools
            .iter()
            .all(|t| t.output_schema.is_none() && t.title.is_none() && t.meta.is_none())
    );
    assert_eq!(tools[0].annotations.as_ref().unwrap()["title"], "Add");
    let r: Value = c
        .request(
            "tools/call",
            &json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "3"}]}),
        "no structuredContent before 2025-06-18"
    );

    let c = connect("2024-11-05").await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(tools.iter().all(|t| t.annotations.is_none()));
}

#[tokio::test]
async fn pagination_walks_every_page() {
    let c = Client::connect(Server::new("paged").page_size(5))
        .await
        .unwrap();
    let first = c.list_tools(None).await.unwrap();
    assert_eq!(first.tools.len(), 5);
    let cursor = first.next_cursor.expect("a second page");
    let second = c.list_tools(Some(&cursor)).await.unwrap();
    assert_eq!(second.tools.len(), 3);
    assert_eq!(second.next_cursor, None);
    assert_eq!(c.list_all_tools().await.unwrap().len(), 8);
    let e = c.list_tools(Some("not-a-cursor")).await.unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
}

#[tokio::test]
async fn servers_can_be_filtered() {
    let names = |s: Server| s.tool_names();
    assert_eq!(names(Server::new("x").tagged("math")), ["add", "multiply"]);
    assert_eq!(names(Server::new("x").only_tools(&["echo"])), ["echo"]);
    assert_eq!(
        names(Server::new("x").in_module(concat!(module_path!(), "::math"))),
        ["add", "multiply"]
    );
    assert_eq!(
        names(Server::new("x").in_module("lifecycle::mat")),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(Server::new("x").retain_tools(|t| t.name.starts_with('w'))),
        ["wait_then_mark"]
    );
    let c = Client::connect(Server::new("x").tagged("math"))
        .await
        .unwrap();
    let e = c
        .call_tool("echo", json!({"text": "hi"}))
        .await
        .unwrap_err();
    assert_eq!(
        e.rpc().unwrap().code,
        -32602,
        "filtered-out tools cannot be called"
    );
}

// A tool written without the macro, and a second one with a clashing name.
fn hand_schema() -> private::JsonObject {
    let mut b = private::InputSchemaBuilder::new();
    b.argument::<String>("text", Some("What to repeat."), None, false);
    b.finish()
}

fn hand_handler(call: private::ToolCall<'_>) -> private::ToolFuture {
    let text = call
        .arguments()
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .repeat(2);
    private::ToolFuture::ready(mcp_runtime::CallToolResult::text(text))
}

static HAND: ToolDef = ToolDef {
    name: "echo",
    title: None,
    description: Some("Repeat text twice."),
    module_path: module_path!(),
    location: (file!(), line!()),
    tags: &[],
    icons: &[],
    annotations: mcp_runtime::ToolAnnotations::NONE,
    meta: None,
    input_schema: hand_schema,
    output_schema: || None,
    task: mcp_runtime::TaskSupport::Forbidden,
    handler: hand_handler,
    scopes: None,
    states: Vec::new,
    text: None,
    limits: mcp_runtime::ToolLimits::NONE,
};

#[tokio::test]
async fn tools_can_be_registered_by_hand_and_duplicates_are_refused() {
    let c = Client::connect(Server::empty("hand").tool(&HAND))
        .await
        .unwrap();
    let r = c.call_tool("echo", json!({"text": "ab"})).await.unwrap();
    assert_eq!(r.content[0].as_text(), Some("abab"));

    let e = Client::connect(Server::new("dup").tool(&HAND))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("two tools have the name `echo`"), "{msg}");
    assert!(
        msg.contains("tests/lifecycle.rs"),
        "both places are named: {msg}"
    );
}

#[tokio::test]
async fn a_slow_call_does_not_block_others_and_can_be_cancelled() {
    let c = connect("2025-11-25").await;
    let (id, slow) = c
        .start_request(
            "tools/call",
            &json!({"name": "wait_then_mark", "arguments": {"ms": 400}}),
        )
        .await
        .unwrap();
    // While it runs, other requests are answered.
    c.ping().await.unwrap();
    let r = c
        .call_tool("echo", json!({"text": "still here"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("still here"));
    c.cancel(&id, "changed my mind").await.unwrap();
    assert!(matches!(slow.await, Err(mcp_runtime::ClientError::Closed)));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !FINISHED.load(Ordering::SeqCst),
        "the cancelled call was stopped"
    );
    c.ping().await.unwrap();
}

/// Tools of the in-memory client's awaited calls, which run on the caller's task.
mod inline {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use mcp_runtime::prelude::*;

    pub static MARKED: AtomicBool = AtomicBool::new(false);
    pub static UNMARKED: AtomicBool = AtomicBool::new(false);

    /// Wait, then mark.
    #[tool]
    pub async fn inline_mark(ms: u64) -> &'static str {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        MARKED.store(true, Ordering::SeqCst);
        "marked"
    }

    /// Wait, then mark the flag that must stay clear.
    #[tool]
    pub async fn inline_unmarked(ms: u64) -> &'static str {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        UNMARKED.store(true, Ordering::SeqCst);
        "marked"
    }

    static MEETING: std::sync::LazyLock<tokio::sync::Barrier> =
        std::sync::LazyLock::new(|| tokio::sync::Barrier::new(2));

    /// Returns once a second call has come.
    #[tool]
    pub async fn meet() -> &'static str {
        MEETING.wait().await;
        "met"
    }
}

#[tokio::test]
async fn an_awaited_call_whose_caller_gives_up_still_runs_to_its_end() {
    let c = Client::connect(
        Server::new("x")
            .in_module(concat!(module_path!(), "::inline"))
            .session_limits(mcp_runtime::SessionLimits {
                max_requests_in_flight: 1,
                ..Default::default()
            }),
    )
    .await
    .unwrap();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        c.call_tool("inline_mark", json!({"ms": 300})),
    )
    .await;
    assert!(gave_up.is_err(), "the call was still running");
    assert!(!inline::MARKED.load(Ordering::SeqCst));
    // The rest of it runs on its own, and once it ends its slot is free again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !inline::MARKED.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut r = c.call_tool("inline_mark", json!({"ms": 0})).await;
    for _ in 0..100 {
        // The slot is freed just after the mark.
        match &r {
            Err(e)
                if e.rpc()
                    .is_some_and(|e| e.code == mcp_runtime::protocol::code::TOO_MANY_REQUESTS) =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
                r = c.call_tool("inline_mark", json!({"ms": 0})).await;
            }
            _ => break,
        }
    }
    assert_eq!(r.unwrap().content[0].as_text(), Some("marked"));
}

#[tokio::test]
async fn an_awaited_call_can_be_cancelled_and_calls_awaited_together_meet() {
    let sent = std::sync::Arc::new(std::sync::Mutex::new(None::<Value>));
    let seen = std::sync::Arc::clone(&sent);
    let c = std::sync::Arc::new(
        Client::connect_with(
            Server::new("x").in_module(concat!(module_path!(), "::inline")),
            ClientOptions {
                on_message: Some(mcp_runtime::MessageTap::new(move |direction, bytes| {
                    let message: Value = serde_json::from_slice(bytes).unwrap();
                    if direction == mcp_runtime::Direction::Sent
                        && message["params"]["name"] == "inline_unmarked"
                    {
                        *seen.lock().unwrap() = Some(message["id"].clone());
                    }
                })),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    let caller = std::sync::Arc::clone(&c);
    let call = tokio::spawn(async move {
        caller
            .call_tool("inline_unmarked", json!({"ms": 400}))
            .await
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let id = loop {
        if let Some(id) = sent.lock().unwrap().clone() {
            break id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call was never sent"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let id: mcp_runtime::protocol::RequestId = serde_json::from_value(id).unwrap();
    c.cancel(&id, "changed my mind").await.unwrap();
    assert!(matches!(
        call.await.unwrap(),
        Err(mcp_runtime::ClientError::Closed)
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !inline::UNMARKED.load(Ordering::SeqCst),
        "the cancelled call was stopped"
    );
    // Two calls awaited on one task each wait for the other.
    let (a, b) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(
            c.call_tool("meet", json!({})),
            c.call_tool("meet", json!({}))
        )
    })
    .await
    .expect("both calls ended");
    assert_eq!(a.unwrap().content[0].as_text(), Some("met"));
    assert_eq!(b.unwrap().content[0].as_text(), Some("met"));
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_is_answered() {
    let core = mcp_runtime::server::DirectSession::new(Server::new("raw"));
    let mut s = core.unwrap();
    let out = s
        .handle(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .await;
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["error"]["code"], -32600);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize")
    );
    let out = s
        .handle(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap(),
        json!({"jsonrpc":"2.0","id":2,"result":{}})
    );
}

/// Count to `n`, reporting progress.
#[tool]
async fn count_up(n: u32, ctx: Context) -> u32 {
    for i in 1..=n {
        ctx.progress(f64::from(i), Some(f64::from(n)), Some("counting"))
            .await;
    }
    n
}

#[tokio::test]
async fn progress_reaches_the_client_only_when_asked_for() {
    let c = connect("2025-11-25").await;
    let (_, done) = c
        .start_request(
            "tools/call",
            &json!({"name": "count_up", "arguments": {"n": 2}, "_meta": {"progressToken": "tok"}}),
        )
        .await
        .unwrap();
    let result = done.await.unwrap();
    assert_eq!(result["structuredContent"], json!({"result": 2}));
    for i in 1..=2 {
        let n = c.next_notification().await.unwrap();
        assert_eq!(n.method, "notifications/progress");
        assert_eq!(
            n.params,
            json!({"progressToken": "tok", "progress": f64::from(i), "total": 2.0, "message": "counting"})
        );
    }
    // Without a token, nothing is sent: the next notification is the one of the next call.
    c.call_tool("count_up", json!({"n": 1})).await.unwrap();
    let (_, done) = c
        .start_request(
            "tools/call",
            &json!({"name": "count_up", "arguments": {"n": 1}, "_meta": {"progressToken": 7}}),
        )
        .await
        .unwrap();
    done.await.unwrap();
    assert_eq!(
        c.next_notification().await.unwrap().params["progressToken"],
        7
    );
}

#[tokio::test]
async fn serve_stream_speaks_mcp_over_any_byte_stream() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (client_side, server_side) = tokio::io::duplex(4096);
    let (read, write) = tokio::io::split(server_side);
    let server = tokio::spawn(mcp_runtime::transport::serve_stream(
        Server::new("stream").only_tools(&["echo"]),
        read,
        write,
    ));
    let (read, mut write) = tokio::io::split(client_side);
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"over a socket"}}}"#,
            "\n"
        ).as_bytes())
        .await
        .unwrap();
    let init: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    let call: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(call["result"]["content"][0]["text"], "over a socket");
    write.shutdown().await.unwrap();
    server.await.unwrap().unwrap();
}
