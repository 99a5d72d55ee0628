//! Middleware and the built-in policies end to end: the order hooks run in, short-circuits,
//! altered arguments and results, panics and waiting hooks; per-tool timeouts and
//! concurrency limits; the rate limit over the in-memory client and over HTTP (429).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_runtime::middleware::{
    BoxFuture, Middleware, Next, PromptOutcome, PromptRequest, RATE_LIMITED, RateLimit,
    RateLimitKey, Request, ResourceOutcome, ResourceRequest, Response, ToolOutcome, ToolRequest,
};
use mcp_runtime::prelude::*;
use mcp_runtime::protocol::ErrorObject;
use mcp_runtime::{ClientError, ClientOptions, HttpOptions, HttpServer};
use serde_json::{Value, json};

/// Echo the text.
#[tool]
fn mw_echo(text: String) -> String {
    text
}

/// Echo the text, after a moment.
#[tool]
async fn mw_echo_later(text: String) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    text
}

static SECRET_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A tool the guard refuses.
#[tool]
fn mw_secret() -> String {
    SECRET_RUNS.fetch_add(1, Ordering::SeqCst);
    "the secret".into()
}

/// A note.
#[resource("mw://note")]
fn mw_note() -> String {
    "a note".into()
}

/// Greet someone.
#[prompt]
fn mw_greet(name: String) -> String {
    format!("Hello, {name}!")
}

/// Sleeps far longer than its timeout.
#[tool(timeout = "50ms")]
async fn mw_slow() -> String {
    tokio::time::sleep(Duration::from_secs(600)).await;
    "woke up".into()
}

/// Sleeps far longer than the server's timeout; has none of its own.
#[tool]
async fn mw_slow_default() -> String {
    tokio::time::sleep(Duration::from_secs(600)).await;
    "woke up".into()
}

static GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Waits for the gate; one call at a time.
#[tool(max_concurrency = 1)]
async fn mw_single() -> String {
    GATE.notified().await;
    "through".into()
}

const TOOLS: &[&str] = &[
    "mw_echo",
    "mw_echo_later",
    "mw_secret",
    "mw_slow",
    "mw_slow_default",
    "mw_single",
];

fn server() -> Server {
    Server::new("middleware")
        .only_tools(TOOLS)
        .retain_resources(|r| r.uri == "mw://note")
        .retain_prompts(|p| p.name == "mw_greet")
}

/// Writes what each hook sees, before and after `next`, to a shared log.
struct Recorder {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn note(&self, what: String) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {what}", self.name));
    }
}

impl Middleware for Recorder {
    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            self.note(format!("> {}", request.method()));
            let response = next.run(request).await;
            self.note(format!(
                "< {} error={}",
                request.method(),
                response.is_error()
            ));
            response
        })
    }

    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            self.note(format!(
                "> tool {} {}",
                call.name(),
                Value::from(call.arguments().clone())
            ));
            let outcome = next.run(call).await;
            self.note(format!("< tool {}", call.name()));
            outcome
        })
    }

    fn on_read_resource<'a>(
        &'a self,
        read: &'a mut ResourceRequest,
        next: Next<'a, ResourceRequest, ResourceOutcome>,
    ) -> BoxFuture<'a, ResourceOutcome> {
        Box::pin(async move {
            self.note(format!("> read {} ({})", read.uri(), read.resource()));
            next.run(read).await
        })
    }

    fn on_get_prompt<'a>(
        &'a self,
        get: &'a mut PromptRequest,
        next: Next<'a, PromptRequest, PromptOutcome>,
    ) -> BoxFuture<'a, PromptOutcome> {
        Box::pin(async move {
            self.note(format!("> prompt {}", get.name()));
            next.run(get).await
        })
    }
}

fn recorded(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn hooks_run_in_the_order_registered_the_first_outermost() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = server()
        .middleware(Recorder {
            name: "a",
            log: Arc::clone(&log),
        })
        .middleware(Recorder {
            name: "b",
            log: Arc::clone(&log),
        });
    let client = Client::connect(server).await.unwrap();
    assert_eq!(
        recorded(&log),
        [
            "a > initialize",
            "b > initialize",
            "b < initialize error=false",
            "a < initialize error=false"
        ]
    );
    for tool in ["mw_echo", "mw_echo_later"] {
        let r = client.call_tool(tool, json!({"text": "hi"})).await.unwrap();
        assert_eq!(r.content[0].as_text(), Some("hi"));
        assert_eq!(
            recorded(&log),
            [
                "a > tools/call".to_string(),
                "b > tools/call".into(),
                format!(r#"a > tool {tool} {{"text":"hi"}}"#),
                format!(r#"b > tool {tool} {{"text":"hi"}}"#),
                format!("b < tool {tool}"),
                format!("a < tool {tool}"),
                "b < tools/call error=false".into(),
                "a < tools/call error=false".into(),
            ],
        );
    }
    let read: Value = client
        .request("resources/read", &json!({"uri": "mw://note"}))
        .await
        .unwrap();
    assert_eq!(read["contents"][0]["text"], "a note");
    let got: Value = client
        .request(
            "prompts/get",
            &json!({"name": "mw_greet", "arguments": {"name": "Ada"}}),
        )
        .await
        .unwrap();
    assert_eq!(got["messages"][0]["content"]["text"], "Hello, Ada!");
    let seen = recorded(&log);
    assert!(
        seen.contains(&"b > read mw://note (mw://note)".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"a > prompt mw_greet".to_string()),
        "{seen:?}"
    );
    // An unknown tool is refused before the tool hooks: only the request hooks see it.
    let e = client.call_tool("nope", json!({})).await.unwrap_err();
    assert!(matches!(e, ClientError::Rpc(_)), "{e:?}");
    assert_eq!(
        recorded(&log),
        [
            "a > tools/call",
            "b > tools/call",
            "b < tools/call error=true",
            "a < tools/call error=true"
        ]
    );
}

/// A [`Recorder`] whose request hook is for `ping` only and that leaves tool calls alone.
struct PingOnly(Recorder);

impl Middleware for PingOnly {
    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        self.0.on_request(request, next)
    }

    fn request_methods(&self) -> Option<&'static [&'static str]> {
        Some(&["ping"])
    }

    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        self.0.on_call_tool(call, next)
    }

    fn hooks_tool_calls(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn a_hook_for_some_methods_sees_only_those_and_one_without_tool_hooks_no_calls() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let narrow = |name: &'static str| {
        PingOnly(Recorder {
            name,
            log: Arc::clone(&log),
        })
    };
    // Beside a middleware for everything: the chain runs, without the narrow one.
    let server = server().middleware(narrow("n")).middleware(Recorder {
        name: "a",
        log: Arc::clone(&log),
    });
    let client = Client::connect(server).await.unwrap();
    assert_eq!(
        recorded(&log),
        ["a > initialize", "a < initialize error=false"]
    );
    let r = client
        .call_tool("mw_echo", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("hi"));
    assert_eq!(
        recorded(&log),
        [
            "a > tools/call",
            r#"a > tool mw_echo {"text":"hi"}"#,
            "a < tool mw_echo",
            "a < tools/call error=false",
        ]
    );
    let _: Value = client.request("ping", &json!({})).await.unwrap();
    assert_eq!(
        recorded(&log),
        [
            "n > ping",
            "a > ping",
            "a < ping error=false",
            "n < ping error=false"
        ]
    );
    // Alone: calls go straight to the tool, `ping` through the hook.
    let client = Client::connect(server_with(narrow("n"))).await.unwrap();
    let r = client
        .call_tool("mw_echo", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("hi"));
    let _: Value = client.request("ping", &json!({})).await.unwrap();
    assert_eq!(recorded(&log), ["n > ping", "n < ping error=false"]);
}

fn server_with(m: impl Middleware) -> Server {
    server().middleware(m)
}

#[tokio::test]
async fn hooks_see_every_request_of_the_per_request_revision_too() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = server().middleware(Recorder {
        name: "a",
        log: Arc::clone(&log),
    });
    let client = Client::connect_with(
        server,
        ClientOptions {
            protocol_version: "2026-07-28".into(),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    recorded(&log);
    let r = client
        .call_tool("mw_echo", json!({"text": "x"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("x"));
    let log = recorded(&log);
    assert_eq!(
        log.first().map(String::as_str),
        Some("a > tools/call"),
        "{log:?}"
    );
    assert!(
        log.contains(&r#"a > tool mw_echo {"text":"x"}"#.to_string()),
        "{log:?}"
    );
}

/// Refuses `mw_secret` without running it; upper-cases every `text` argument; marks every
/// result.
struct Guard;

impl Middleware for Guard {
    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            if call.name() == "mw_secret" {
                return Err(ErrorObject::invalid_params("mw_secret is not for you"));
            }
            if let Some(Value::String(text)) = call.arguments_mut().get_mut("text") {
                *text = text.to_uppercase();
            }
            let mut result = next.run(call).await?;
            result.content.push(Content::text("(checked)"));
            Ok(result)
        })
    }
}

#[tokio::test]
async fn a_hook_can_refuse_a_call_change_its_arguments_and_alter_its_result() {
    let client = Client::connect(server().middleware(Guard)).await.unwrap();
    let e = client.call_tool("mw_secret", json!({})).await.unwrap_err();
    let ClientError::Rpc(e) = e else {
        panic!("expected a JSON-RPC error, got {e:?}")
    };
    assert_eq!(e.message, "mw_secret is not for you");
    assert_eq!(
        SECRET_RUNS.load(Ordering::SeqCst),
        0,
        "the refused tool ran"
    );
    for tool in ["mw_echo", "mw_echo_later"] {
        let r = client.call_tool(tool, json!({"text": "hi"})).await.unwrap();
        let texts: Vec<_> = r.content.iter().filter_map(|c| c.as_text()).collect();
        assert_eq!(texts, ["HI", "(checked)"], "{tool}");
    }
}

/// Answers `ping` itself, refuses `prompts/list`, and waits a moment before everything else.
struct Gatekeeper;

impl Middleware for Gatekeeper {
    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            match request.method() {
                "ping" => request.result(&json!({"answeredBy": "gatekeeper"})),
                "prompts/list" => {
                    request.error(&ErrorObject::new(-32001, "prompts are closed today"))
                }
                _ => {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    next.run(request).await
                }
            }
        })
    }
}

#[tokio::test]
async fn a_request_hook_can_answer_refuse_or_wait() {
    // `initialize` itself waits in the hook: the handshake still completes.
    let client = Client::connect(server().middleware(Gatekeeper))
        .await
        .unwrap();
    let pong: Value = client.request("ping", &json!({})).await.unwrap();
    assert_eq!(pong, json!({"answeredBy": "gatekeeper"}));
    let e = client
        .request::<_, Value>("prompts/list", &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Rpc(e) if e.code == -32001 && e.message == "prompts are closed today"),
        "{e:?}"
    );
    let r = client
        .call_tool("mw_echo", json!({"text": "ok"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("ok"));
}

/// Panics in every hook it has.
struct Panicky;

impl Middleware for Panicky {
    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        if call.name() == "mw_echo" {
            panic!("the hook broke");
        }
        next.run(call)
    }

    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            if request.method() == "resources/list" {
                tokio::task::yield_now().await;
                panic!("the request hook broke after waiting");
            }
            next.run(request).await
        })
    }
}

#[tokio::test]
async fn a_panicking_hook_fails_its_request_and_nothing_else() {
    let client = Client::connect(server().middleware(Panicky)).await.unwrap();
    let r = client
        .call_tool("mw_echo", json!({"text": "x"}))
        .await
        .unwrap();
    // The client is told of an internal error, not what the panic said (the log has it).
    assert!(r.is_error);
    let text = r.content[0].as_text().unwrap();
    assert!(text.contains("internal error in tool `mw_echo`"), "{r:?}");
    assert!(!text.contains("the hook broke"), "{r:?}");
    let e = client
        .request::<_, Value>("resources/list", &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Rpc(e) if e.message.contains("internal error")
            && !e.message.contains("the request hook broke")),
        "{e:?}"
    );
    // The session goes on.
    let r = client
        .call_tool("mw_echo_later", json!({"text": "y"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("y"));
    // With `show_panic_details`, the hooks' panic messages reach the client.
    let client = Client::connect(server().middleware(Panicky).show_panic_details(true))
        .await
        .unwrap();
    let r = client
        .call_tool("mw_echo", json!({"text": "x"}))
        .await
        .unwrap();
    assert!(
        r.content[0].as_text().unwrap().contains("the hook broke"),
        "{r:?}"
    );
    let e = client
        .request::<_, Value>("resources/list", &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Rpc(e) if e.message.contains("the request hook broke after waiting")),
        "{e:?}"
    );
}

fn tool_error_text(r: &CallToolResult) -> &str {
    assert!(r.is_error, "expected a tool error: {r:?}");
    r.content[0].as_text().unwrap()
}

#[tokio::test]
async fn a_call_past_its_timeout_is_stopped_with_a_tool_error_naming_the_limit() {
    let client = Client::connect(server()).await.unwrap();
    let r = client.call_tool("mw_slow", json!({})).await.unwrap();
    let text = tool_error_text(&r);
    assert!(text.contains("`mw_slow` was stopped after 50ms"), "{text}");
    assert!(text.contains("#[tool(task)]"), "{text}");
    // Without a timeout of its own or the server's, nothing stops a tool; with the server's:
    let client = Client::connect(server().tool_timeout(Duration::from_millis(30)))
        .await
        .unwrap();
    let r = client
        .call_tool("mw_slow_default", json!({}))
        .await
        .unwrap();
    assert!(tool_error_text(&r).contains("stopped after 30ms"), "{r:?}");
    // The tool's own timeout wins over the server's.
    let r = client.call_tool("mw_slow", json!({})).await.unwrap();
    assert!(tool_error_text(&r).contains("stopped after 50ms"), "{r:?}");
}

#[tokio::test]
async fn a_call_beyond_max_concurrency_is_refused_until_one_finishes() {
    let client = Client::connect(server()).await.unwrap();
    let (_, first) = client
        .start_request("tools/call", &json!({"name": "mw_single"}))
        .await
        .unwrap();
    // Messages are dispatched in order: the first call holds the only permit (until the
    // gate opens) when the second comes.
    let busy = client.call_tool("mw_single", json!({})).await.unwrap();
    let text = tool_error_text(&busy);
    assert!(
        text.contains("`mw_single` is busy") && text.contains("max_concurrency"),
        "{text}"
    );
    GATE.notify_one();
    assert_eq!(first.await.unwrap()["content"][0]["text"], "through");
    // The permit is back.
    let (_, again) = client
        .start_request("tools/call", &json!({"name": "mw_single"}))
        .await
        .unwrap();
    GATE.notify_one();
    assert_eq!(again.await.unwrap()["content"][0]["text"], "through");
}

#[tokio::test]
async fn requests_over_the_rate_limit_get_an_error_saying_when_to_retry() {
    // initialize and two more requests in the burst; the next is refused.
    let limited = server().rate_limit(RateLimit::per_minute(3).key(RateLimitKey::Session));
    let client = Client::connect(limited).await.unwrap();
    for _ in 0..2 {
        client
            .call_tool("mw_echo", json!({"text": "x"}))
            .await
            .unwrap();
    }
    let e = client
        .call_tool("mw_echo", json!({"text": "x"}))
        .await
        .unwrap_err();
    let ClientError::Rpc(e) = e else {
        panic!("expected a JSON-RPC error, got {e:?}")
    };
    assert_eq!(e.code, RATE_LIMITED);
    assert!(e.message.starts_with("Rate limited"), "{}", e.message);
    let wait = e
        .data
        .as_ref()
        .and_then(|d| d["retryAfterMs"].as_u64())
        .unwrap();
    assert!(wait > 0 && wait <= 20_000, "{wait}");
}

/// One raw HTTP/1.1 exchange; returns the status, the headers (lower-cased names) and body.
fn exchange(port: u16, session: Option<&str>, body: &str) -> (u16, Vec<(String, String)>, String) {
    let session = session.map_or(String::new(), |id| format!("Mcp-Session-Id: {id}\r\n"));
    exchange_with(port, &session, body)
}

/// [`exchange`] with more header lines (each ending in `\r\n`).
fn exchange_with(port: u16, session: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{session}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A tool call's session and peer address.
type Seen = (Option<String>, Option<std::net::SocketAddr>);

/// Notes each tool call's session and peer address.
struct Peers(Arc<Mutex<Vec<Seen>>>);

impl Middleware for Peers {
    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut ToolRequest,
        next: Next<'a, ToolRequest, ToolOutcome>,
    ) -> BoxFuture<'a, ToolOutcome> {
        self.0
            .lock()
            .unwrap()
            .push((call.session_id().map(String::from), call.peer_addr()));
        next.run(call)
    }
}

#[tokio::test]
async fn over_http_hooks_see_the_session_and_peer_and_the_rate_limit_answers_429() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = HttpServer::bind(
        server()
            .middleware(Peers(Arc::clone(&seen)))
            .rate_limit(RateLimit::per_minute(3)),
        HttpOptions {
            port: 0,
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let port = server.local_addr().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let replies = tokio::task::spawn_blocking(move || {
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let (status, headers, _) = exchange(port, None, init);
        assert_eq!(status, 200);
        let session = header(&headers, "mcp-session-id").unwrap().to_string();
        let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"mw_echo","arguments":{"text":"x"}}}"#;
        // The bucket is per client IP: initialize, two calls, then 429.
        (0..3)
            .map(|_| exchange(port, Some(&session), call))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(replies[0].0, 200, "{:?}", replies[0]);
    assert_eq!(replies[1].0, 200, "{:?}", replies[1]);
    let (status, headers, body) = &replies[2];
    assert_eq!(*status, 429, "{body}");
    let retry: u64 = header(headers, "retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["id"], 2);
    assert_eq!(body["error"]["code"], RATE_LIMITED);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (session, peer) in seen {
        assert!(session.is_some_and(|s| !s.is_empty()));
        assert!(peer.unwrap().ip().is_loopback());
    }
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// Notes the name of the API key of each request.
struct KeyNames(Arc<Mutex<Vec<String>>>);

impl Middleware for KeyNames {
    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        let name = request.principal().key_name().unwrap_or("-").to_string();
        self.0.lock().unwrap().push(name);
        next.run(request)
    }
}

/// Keyed by principal (the default), each API key has a bucket of its own, even from one
/// address: the key that used its budget is refused, the other is not. Hooks see the
/// principal too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_counts_each_api_key_apart() {
    use mcp_runtime::auth::api_keys;
    let limited = api_keys::generate("limited", &[], None).unwrap();
    let other = api_keys::generate("other", &[], None).unwrap();
    let path = std::env::temp_dir().join(format!(
        "mcp-rate-limit-keys-{}-{:?}.jsonl",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, format!("{}\n{}\n", limited.line, other.line)).unwrap();
    let names = Arc::new(Mutex::new(Vec::new()));
    let server = HttpServer::bind(
        server()
            .middleware(KeyNames(Arc::clone(&names)))
            .rate_limit(RateLimit::per_minute(3)),
        HttpOptions {
            port: 0,
            api_keys: Some(path.clone()),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let port = server.local_addr().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let statuses = tokio::task::spawn_blocking(move || {
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"mw_echo","arguments":{"text":"x"}}}"#;
        let session_of = |key: &str| {
            let (status, headers, body) = exchange_with(port, &format!("X-API-Key: {key}\r\n"), init);
            assert_eq!(status, 200, "{body}");
            header(&headers, "mcp-session-id").unwrap().to_string()
        };
        let call_as = |key: &str, session: &str| {
            exchange_with(
                port,
                &format!("X-API-Key: {key}\r\nMcp-Session-Id: {session}\r\n"),
                call,
            )
            .0
        };
        let a = session_of(&limited.secret);
        // The first key: initialize and two calls use its three; the third call is refused.
        let first: Vec<u16> = (0..3).map(|_| call_as(&limited.secret, &a)).collect();
        // The second key, from the same address, has all of its own.
        let b = session_of(&other.secret);
        let second: Vec<u16> = (0..2).map(|_| call_as(&other.secret, &b)).collect();
        // And the first is still refused.
        (first, second, call_as(&limited.secret, &a))
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(statuses.0, [200, 200, 429], "{statuses:?}");
    assert_eq!(statuses.1, [200, 200], "{statuses:?}");
    assert_eq!(statuses.2, 429, "{statuses:?}");
    // What passed the rate limit reached the hooks, each with its key: the first key's
    // initialize and two calls, then the second key's initialize and two calls (the
    // `notifications/initialized` are not requests).
    assert_eq!(
        *names.lock().unwrap(),
        ["limited", "limited", "limited", "other", "other", "other"]
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
