//! The quickstart served over streamable HTTP (`--transport http`), driven by a raw HTTP/1
//! client (every status code, header and SSE frame is checked as sent) and by the runtime's own
//! HTTP `Client`; plus one server run in-process through `HttpServer`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use mcp_runtime::prelude::*;
use mcp_runtime::{ClientOptions, HttpClientOptions, HttpOptions, HttpServer};
use mcp_workspace::{HttpExample, example_binary, example_command};
use serde_json::{Value, json};
use tokio::net::TcpStream;

const LATEST: &str = "2025-11-25";

/// The quickstart on a free port, with its stderr (banner and logs) collected.
struct Quickstart {
    server: HttpExample,
    addr: String,
}

/// What serves the quickstart's tools: its own binary (the built-in `HttpServer`), or the axum
/// application that mounts them as an `McpService` (`examples/axum_app.rs`).
#[derive(Clone, Copy, Debug)]
enum Host {
    Builtin,
    Embedded,
}

/// Runs each test named on both hosts, as `builtin::NAME` and `embedded::NAME`.
macro_rules! on_both_hosts {
    ($($name:ident),* $(,)?) => {
        mod builtin {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Host::Builtin).await
            })*
        }
        mod embedded {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Host::Embedded).await
            })*
        }
    };
}

on_both_hosts!(
    requests_without_a_valid_session_get_400_and_404,
    media_types_and_sizes_are_checked,
    protocol_version_headers_must_match_the_session,
    foreign_origins_and_hosts_get_403,
    a_bearer_token_is_required_when_set,
    answers_are_json_until_a_request_says_something_first,
    json_response_mode_never_streams,
    stateless_mode_serves_every_post_alone,
    a_client_that_disconnects_mid_stream_resumes_with_last_event_id,
    the_get_stream_is_primed_and_single,
    sse_close_after_lets_clients_poll,
    many_concurrent_sessions,
    sessions_are_capped_and_expire,
    cancelling_a_waiting_call_answers_its_post_with_no_content,
    the_client_sees_progress_notifications,
    sigterm_lets_calls_in_flight_finish,
);

impl Quickstart {
    fn start(args: &[&str]) -> Quickstart {
        Self::start_with_env(args, &[])
    }

    fn start_on(host: Host, args: &[&str]) -> Quickstart {
        match host {
            Host::Builtin => Self::start(args),
            Host::Embedded => Self::start_command(example_command("axum_app"), args, &[]),
        }
    }

    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Quickstart {
        Self::start_command(example_command("quickstart"), args, env)
    }

    fn start_command(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Quickstart {
        command.envs(env.iter().copied());
        let server = HttpExample::start(command, args);
        let addr = server.addr().to_string();
        Quickstart { server, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    fn log(&self) -> String {
        self.server.log()
    }

    /// A POST with the headers a well-behaved client sends.
    async fn post(&self, session: Option<&str>, body: Value) -> Reply {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", LATEST),
        ];
        if let Some(s) = session {
            headers.push(("mcp-session-id", s));
        }
        send(&self.addr, "POST", &headers, &body.to_string()).await
    }

    /// `initialize` and `notifications/initialized`; returns the session id.
    async fn initialize(&self) -> String {
        let reply = self.post(None, initialize_request(1)).await;
        assert_eq!(reply.status, StatusCode::OK);
        let session = reply
            .header("mcp-session-id")
            .expect("a session id")
            .to_string();
        assert!(
            session.len() >= 32 && session.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "{session:?}"
        );
        let init = reply.json().await;
        assert_eq!(init["result"]["protocolVersion"], LATEST);
        let reply = self
            .post(
                Some(&session),
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert_eq!(reply.text().await, "");
        session
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.server.child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        self.server.child.wait_exit(limit)
    }
}

fn initialize_request(id: i64) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "initialize",
        "params": {
            "protocolVersion": LATEST,
            "capabilities": {},
            "clientInfo": {"name": "http-test", "version": "0"}
        }
    })
}

fn call(id: i64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

/// `sleep` asking for progress: its answer streams.
fn sleep_with_progress(id: i64, ms: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "sleep", "arguments": {"ms": ms},
                      "_meta": {"progressToken": format!("p{id}")}}})
}

/// A POST with the usual headers and no session, answered fully.
async fn q_post_plain(addr: &str, body: Value) -> String {
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", LATEST),
    ];
    send(addr, "POST", &headers, &body.to_string())
        .await
        .text()
        .await
}

/// A response whose body has not been read yet.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Incoming,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    async fn text(self) -> String {
        let bytes = tokio::time::timeout(Duration::from_secs(20), self.body.collect())
            .await
            .expect("the body ends")
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    async fn json(self) -> Value {
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            "application/json"
        );
        let text = self.text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// The JSON-RPC error in the body.
    async fn error(self) -> Value {
        let body = self.json().await;
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"].clone()
    }

    fn events(self) -> Events {
        assert_eq!(self.status, StatusCode::OK);
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            "text/event-stream"
        );
        Events {
            body: self.body,
            buf: String::new(),
        }
    }
}

/// One request on a new connection.
async fn send(addr: &str, method: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    send_to(addr, method, "/mcp", headers, body).await
}

/// One request to `path` on a new connection.
async fn send_to(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder().method(method).uri(path);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request = request.header("host", addr);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

#[derive(Debug)]
struct Event {
    id: Option<String>,
    retry: Option<u64>,
    data: String,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// The events of an SSE body, as they come.
struct Events {
    body: Incoming,
    buf: String,
}

impl Events {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).take(end).collect();
                let mut event = Event {
                    id: None,
                    retry: None,
                    data: String::new(),
                };
                let mut comment = true;
                for line in raw.lines() {
                    if line.starts_with(':') {
                        continue;
                    }
                    comment = false;
                    let (k, v) = line.split_once(':').unwrap_or((line, ""));
                    let v = v.strip_prefix(' ').unwrap_or(v);
                    match k {
                        "id" => event.id = Some(v.into()),
                        "retry" => event.retry = Some(v.parse().unwrap()),
                        "data" => event.data.push_str(v),
                        other => panic!("unexpected SSE field {other:?} in {raw:?}"),
                    }
                }
                if comment {
                    continue;
                }
                return Some(event);
            }
            let frame = tokio::time::timeout(Duration::from_secs(20), self.body.frame())
                .await
                .expect("an SSE event within 20 s")?;
            if let Ok(data) = frame.unwrap().into_data() {
                self.buf.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }

    async fn rest(mut self) -> Vec<Event> {
        let mut all = Vec::new();
        while let Some(e) = self.next().await {
            all.push(e);
        }
        all
    }
}

fn progress_count(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| !e.data.is_empty() && e.json()["method"] == "notifications/progress")
        .count()
}

// ------------------------------------------------------------------ status codes

async fn requests_without_a_valid_session_get_400_and_404(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let list = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
    let reply = q.post(None, list.clone()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body = reply.json().await;
    assert_eq!(body["id"], 5, "the error names the request: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mcp-Session-Id"),
        "{body}"
    );

    let reply = q.post(Some("0123456789abcdef"), list.clone()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let session = q.initialize().await;
    let reply = q.post(Some(&session), list.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let tools = reply.json().await;
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 6);

    // DELETE ends it; the id is then unknown.
    let headers = [("mcp-session-id", session.as_str())];
    let reply = send(&q.addr, "DELETE", &headers, "").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = q.post(Some(&session), list.clone()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = send(&q.addr, "DELETE", &headers, "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = send(&q.addr, "DELETE", &[], "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

async fn media_types_and_sizes_are_checked(host: Host) {
    let q = Quickstart::start_on(host, &["--max-message-size", "2000"]);
    let body = initialize_request(1).to_string();

    let reply = send(
        &q.addr,
        "POST",
        &[
            ("content-type", "application/json"),
            ("accept", "text/html"),
        ],
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    reply.error().await;

    let reply = send(
        &q.addr,
        "POST",
        &[
            ("content-type", "text/plain"),
            ("accept", "application/json, text/event-stream"),
        ],
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Its body was never read: the connection is not reused.
    assert_eq!(reply.header("connection"), Some("close"));
    reply.error().await;

    let big = call(1, "text_stats", json!({"text": "word ".repeat(1000)})).to_string();
    let reply = q.post(None, serde_json::from_str(&big).unwrap()).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        reply.error().await["message"]
            .as_str()
            .unwrap()
            .contains("2000 bytes")
    );

    // Malformed JSON is a JSON-RPC parse error, and the server goes on.
    let reply = send(
        &q.addr,
        "POST",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ],
        "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ",
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error().await["code"], -32700);
    let reply = send(
        &q.addr,
        "POST",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ],
        "[1, 2]",
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error().await["code"], -32600);
    q.initialize().await;

    // An endpoint of one path, three methods.
    let reply = send(&q.addr, "PUT", &[], "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), Some("GET, POST, DELETE, OPTIONS"));
    let stream = TcpStream::connect(&q.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let health = sender
        .send_request(
            Request::get("/healthz")
                .header("host", &q.addr)
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let other = sender
        .send_request(
            Request::post("/other")
                .header("host", &q.addr)
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

async fn protocol_version_headers_must_match_the_session(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let session = q.initialize().await;
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}).to_string();
    let headers = |version: &'static str| {
        vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-session-id", session.as_str()),
            ("mcp-protocol-version", version),
        ]
    };
    let reply = send(&q.addr, "POST", &headers("1999-01-01"), &ping).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let error = reply.error().await;
    assert!(
        error["message"].as_str().unwrap().contains("2025-11-25"),
        "names the supported revisions: {error}"
    );
    let reply = send(&q.addr, "POST", &headers("2025-03-26"), &ping).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = send(&q.addr, "POST", &headers(LATEST), &ping).await;
    assert_eq!(reply.status, StatusCode::OK);
    // Absent: the session's own revision.
    let reply = send(&q.addr, "POST", &headers(LATEST)[..3], &ping).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json().await["result"], json!({}));
}

async fn foreign_origins_and_hosts_get_403(host: Host) {
    let q = Quickstart::start_on(host, &["--allowed-origins", "https://app.example.com"]);
    let body = initialize_request(1).to_string();
    let base = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut h = base.to_vec();
        h.extend_from_slice(extra);
        h
    };
    // DNS rebinding: a page of evil.example.com whose name now points at 127.0.0.1.
    let reply = send(
        &q.addr,
        "POST",
        &with(&[
            ("host", "evil.example.com"),
            ("origin", "http://evil.example.com"),
        ]),
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    reply.error().await;
    let reply = send(
        &q.addr,
        "POST",
        &with(&[("origin", "http://evil.example.com")]),
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send(
        &q.addr,
        "POST",
        &with(&[("host", "evil.example.com")]),
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // Local pages and allowed origins may call, and get CORS headers.
    let reply = send(
        &q.addr,
        "POST",
        &with(&[("origin", "http://localhost:5173")]),
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(
        reply
            .header("access-control-expose-headers")
            .unwrap()
            .contains("mcp-session-id")
    );
    let reply = send(
        &q.addr,
        "OPTIONS",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(
        reply
            .header("access-control-allow-headers")
            .unwrap()
            .contains("mcp-session-id")
    );
    // The server's log is read from its stderr by a thread of the test: wait for the line.
    let started = Instant::now();
    while !q
        .log()
        .contains("refused a request from a disallowed origin or host")
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no refusal logged: {}",
            q.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_bearer_token_is_required_when_set(host: Host) {
    let q = Quickstart::start_on(host, &["--auth-token", "s3cret"]);
    let body = initialize_request(1).to_string();
    let base = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    let reply = send(&q.addr, "POST", &base, &body).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="mcp""#)
    );
    let mut wrong = base.to_vec();
    wrong.push(("authorization", "Bearer guess"));
    let reply = send(&q.addr, "POST", &wrong, &body).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let mut right = base.to_vec();
    right.push(("authorization", "Bearer s3cret"));
    let reply = send(&q.addr, "POST", &right, &body).await;
    assert_eq!(reply.status, StatusCode::OK);

    // The runtime's client sends what it is told to.
    let err = Client::connect_http(&q.url()).await.unwrap_err();
    assert!(err.to_string().contains("Unauthorized"), "{err}");
    let client = Client::connect_http_with(
        &q.url(),
        HttpClientOptions::default().header("Authorization", "Bearer s3cret"),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let r = client
        .call_tool("add", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 3})));
    client.close().await.unwrap();
}

// ------------------------------------------------------------------ JSON and SSE answers

async fn answers_are_json_until_a_request_says_something_first(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let session = q.initialize().await;
    let reply = q
        .post(Some(&session), call(2, "sleep", json!({"ms": 50})))
        .await;
    assert_eq!(
        reply.json().await["result"]["content"][0]["text"],
        "slept 50 ms"
    );

    let reply = q.post(Some(&session), sleep_with_progress(3, 200)).await;
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let events = reply.events().rest().await;
    let first = &events[0];
    assert!(
        first.data.is_empty() && first.id.is_some(),
        "priming: {first:?}"
    );
    assert_eq!(first.retry, Some(1000));
    assert_eq!(progress_count(&events), 4, "{events:?}");
    let last = events.last().unwrap().json();
    assert_eq!(last["id"], 3);
    assert_eq!(last["result"]["content"][0]["text"], "slept 200 ms");
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_deref().unwrap()).collect();
    let stream = ids[0].split('-').next().unwrap();
    assert!(
        ids.iter().all(|id| id.starts_with(&format!("{stream}-"))),
        "event ids name their stream: {ids:?}"
    );
    let log = q.log();
    assert!(
        log.contains(r#"rpc="tools/call" tool="sleep""#) && log.contains("sse=true"),
        "access log: {log}"
    );
}

async fn json_response_mode_never_streams(host: Host) {
    let q = Quickstart::start_on(host, &["--json-response"]);
    let session = q.initialize().await;
    let reply = q.post(Some(&session), sleep_with_progress(3, 100)).await;
    let body = reply.json().await;
    assert_eq!(body["result"]["content"][0]["text"], "slept 100 ms");
    // A client that accepts only JSON is served so in the default mode too.
    let q = Quickstart::start(&[]);
    let session = q.initialize().await;
    let reply = send(
        &q.addr,
        "POST",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("mcp-session-id", &session),
        ],
        &sleep_with_progress(4, 100).to_string(),
    )
    .await;
    assert_eq!(reply.json().await["id"], 4);
}

async fn stateless_mode_serves_every_post_alone(host: Host) {
    let q = Quickstart::start_on(host, &["--stateless"]);
    let reply = q.post(None, initialize_request(1)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("mcp-session-id"), None);
    // No handshake needed; the header's revision is used.
    let reply = q.post(None, call(2, "add", json!({"a": 2, "b": 2}))).await;
    let body = reply.json().await;
    assert_eq!(body["result"]["structuredContent"], json!({"result": 4}));
    // Without the header, 2025-03-26 is assumed: no structured output yet.
    let reply = send(
        &q.addr,
        "POST",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ],
        &call(3, "add", json!({"a": 2, "b": 2})).to_string(),
    )
    .await;
    let body = reply.json().await;
    assert_eq!(body["result"]["content"][0]["text"], "4");
    assert!(body["result"].get("structuredContent").is_none(), "{body}");
    // Streams are not resumable without a session: no ids.
    let events = q
        .post(None, sleep_with_progress(4, 100))
        .await
        .events()
        .rest()
        .await;
    assert!(events.iter().all(|e| e.id.is_none()), "{events:?}");
    assert_eq!(progress_count(&events), 4);
    assert_eq!(events.last().unwrap().json()["id"], 4);
    for method in ["GET", "DELETE"] {
        let reply = send(&q.addr, method, &[("accept", "text/event-stream")], "").await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.header("allow"), Some("POST, OPTIONS"));
    }
    let client = Client::connect_http(&q.url()).await.unwrap();
    assert_eq!(client.session_id(), None);
    assert_eq!(client.list_all_tools().await.unwrap().len(), 6);
    client.close().await.unwrap();
}

#[tokio::test]
async fn without_a_session_a_client_going_away_cancels_its_request() {
    // While the POST waits for a JSON answer...
    let q = Quickstart::start_with_env(&["--stateless"], &[("RUST_LOG", "debug")]);
    let waiting = tokio::spawn({
        let addr = q.addr.clone();
        async move {
            q_post_plain(&addr, call(5, "sleep", json!({"ms": 4000}))).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    waiting.abort();
    let started = Instant::now();
    while !q.log().contains("request cancelled") {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the request was not cancelled: {}",
            q.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and while it streams.
    let q = Quickstart::start_with_env(&["--stateless"], &[("RUST_LOG", "debug")]);
    let mut events = q.post(None, sleep_with_progress(5, 4000)).await.events();
    assert_eq!(
        events.next().await.unwrap().json()["method"],
        "notifications/progress"
    );
    drop(events);
    let started = Instant::now();
    while !q.log().contains("request cancelled") {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the request was not cancelled: {}",
            q.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ------------------------------------------------------------------ streams and resumption

async fn a_client_that_disconnects_mid_stream_resumes_with_last_event_id(host: Host) {
    let q = Quickstart::start_on(host, &["--sse-retry", "10"]);
    let session = q.initialize().await;
    let mut events = q
        .post(Some(&session), sleep_with_progress(7, 600))
        .await
        .events();
    let priming = events.next().await.unwrap();
    let first = events.next().await.unwrap();
    assert_eq!(first.json()["method"], "notifications/progress");
    drop(events); // the connection goes away mid-call
    // Disconnecting is not cancelling: the call goes on, the server stays responsive.
    let reply = q
        .post(Some(&session), call(8, "add", json!({"a": 1, "b": 1})))
        .await;
    assert_eq!(
        reply.json().await["result"]["structuredContent"]["result"],
        2
    );
    tokio::time::sleep(Duration::from_millis(700)).await;

    let last = first.id.clone().unwrap();
    let get = |last: String| {
        let session = session.clone();
        let addr = q.addr.clone();
        async move {
            send(
                &addr,
                "GET",
                &[
                    ("accept", "text/event-stream"),
                    ("mcp-session-id", &session),
                    ("last-event-id", &last),
                ],
                "",
            )
            .await
        }
    };
    let replayed = get(last.clone()).await.events().rest().await;
    // Everything after the last event seen, once: three more progress, then the result.
    assert_eq!(progress_count(&replayed), 3, "{replayed:?}");
    let result = replayed.last().unwrap().json();
    assert_eq!(result["id"], 7);
    assert_eq!(result["result"]["content"][0]["text"], "slept 600 ms");
    let again = get(priming.id.unwrap()).await.events().rest().await;
    assert_eq!(
        again.len(),
        replayed.len() + 1,
        "replay from the priming event"
    );

    for bad in ["nonsense", "99-1"] {
        let reply = get(bad.into()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn the_get_stream_is_primed_and_single(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let session = q.initialize().await;
    let headers = [
        ("accept", "text/event-stream"),
        ("mcp-session-id", session.as_str()),
    ];
    let mut listening = send(&q.addr, "GET", &headers, "").await.events();
    let priming = listening.next().await.unwrap();
    assert_eq!(priming.id.as_deref(), Some("0-0"));
    assert!(priming.data.is_empty());
    let reply = send(&q.addr, "GET", &headers, "").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = send(
        &q.addr,
        "GET",
        &[
            ("mcp-session-id", session.as_str()),
            ("accept", "application/json"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    drop(listening);
    // Once the first is gone, a new one may open.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = send(&q.addr, "GET", &headers, "").await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_client_stops_listening() {
    let q = Quickstart::start(&[]);
    let client = Client::connect_http(&q.url()).await.unwrap();
    let session = client.session_id().unwrap();
    client.ping().await.unwrap();
    let headers = [
        ("accept", "text/event-stream"),
        ("mcp-session-id", session.as_str()),
    ];
    // The client holds the session's GET stream...
    let opened = format!(
        "method=GET rpc=\"-\" tool=\"-\" session=\"{}\" status=200",
        &session[..8]
    );
    let started = Instant::now();
    while !q.log().contains(&opened) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no GET stream: {}",
            q.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        send(&q.addr, "GET", &headers, "").await.status,
        StatusCode::CONFLICT
    );
    drop(client);
    // ...until it is dropped (without `close`, the session itself stays).
    let started = Instant::now();
    loop {
        let reply = send(&q.addr, "GET", &headers, "").await;
        if reply.status == StatusCode::OK {
            break;
        }
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the GET stream stayed open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sse_close_after_lets_clients_poll(host: Host) {
    let q = Quickstart::start_on(host, &["--sse-close-after", "150", "--sse-retry", "20"]);
    let session = q.initialize().await;
    let events = q
        .post(Some(&session), sleep_with_progress(3, 800))
        .await
        .events()
        .rest()
        .await;
    // Closed early: primed, with `retry`, and no result yet.
    assert_eq!(events[0].retry, Some(20));
    assert!(
        events
            .iter()
            .all(|e| e.data.is_empty() || e.json().get("result").is_none())
    );
    // The runtime's client resumes by itself.
    let client = Client::connect_http(&q.url()).await.unwrap();
    let started = Instant::now();
    let result = client.call_tool("sleep", json!({"ms": 500})).await.unwrap();
    assert_eq!(result.content[0], Content::text("slept 500 ms"));
    assert!(started.elapsed() >= Duration::from_millis(500));
    client.close().await.unwrap();
}

// ------------------------------------------------------------------ sessions

async fn many_concurrent_sessions(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let url = q.url();
    let mut tasks = Vec::new();
    for i in 0..40i64 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let client = Client::connect_http(&url).await.unwrap();
            let session = client.session_id().unwrap();
            let r = client
                .call_tool("add", json!({"a": i, "b": 1000}))
                .await
                .unwrap();
            assert_eq!(r.structured_content, Some(json!({"result": i + 1000})));
            let slow = client.call_tool("sleep", json!({"ms": 100}));
            let fast = client.call_tool("add", json!({"a": i, "b": i}));
            let (slow, fast) = tokio::join!(slow, fast);
            assert_eq!(slow.unwrap().content[0], Content::text("slept 100 ms"));
            assert_eq!(
                fast.unwrap().structured_content,
                Some(json!({"result": 2 * i}))
            );
            client.close().await.unwrap();
            session
        }));
    }
    let mut sessions = Vec::new();
    for t in tasks {
        sessions.push(t.await.unwrap());
    }
    sessions.sort();
    sessions.dedup();
    assert_eq!(sessions.len(), 40, "every session has its own id");
}

async fn sessions_are_capped_and_expire(host: Host) {
    let q = Quickstart::start_on(host, &["--max-sessions", "2", "--session-timeout", "1"]);
    let a = q.initialize().await;
    q.initialize().await;
    let reply = q.post(None, initialize_request(1)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    reply.error().await;
    // Idle sessions end after the timeout, which makes room again.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let reply = q
        .post(
            Some(&a),
            json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    q.initialize().await;
    assert!(q.log().contains("session expired"));
}

async fn cancelling_a_waiting_call_answers_its_post_with_no_content(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let session = q.initialize().await;
    let addr = q.addr.clone();
    let s = session.clone();
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let reply = send(
            &addr,
            "POST",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-session-id", &s),
            ],
            &call(11, "sleep", json!({"ms": 5000})).to_string(),
        )
        .await;
        (reply.status, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 11, "reason": "test"}});
    assert_eq!(
        q.post(Some(&session), cancel).await.status,
        StatusCode::ACCEPTED
    );
    let (status, took) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(took < Duration::from_secs(3), "{took:?}");
}

async fn the_client_sees_progress_notifications(host: Host) {
    let q = Quickstart::start_on(host, &[]);
    let client = Client::connect_http(&q.url()).await.unwrap();
    assert!(client.session_id().is_some());
    assert_eq!(client.protocol_version(), LATEST);
    let (_, result) = client
        .start_request(
            "tools/call",
            &json!({"name": "sleep", "arguments": {"ms": 100}, "_meta": {"progressToken": "t"}}),
        )
        .await
        .unwrap();
    let result = result.await.unwrap();
    assert_eq!(result["content"][0]["text"], "slept 100 ms");
    for expected in [25.0, 50.0, 75.0, 100.0] {
        let n = client.next_notification().await.unwrap();
        assert_eq!(n.method, "notifications/progress");
        assert_eq!(n.params["progressToken"], "t");
        assert_eq!(n.params["progress"], expected);
    }
    let err = client.call_tool("nope", json!({})).await.unwrap_err();
    assert_eq!(err.rpc().unwrap().code, -32602);
    client.close().await.unwrap();
}

async fn sigterm_lets_calls_in_flight_finish(host: Host) {
    let mut q = Quickstart::start_on(host, &[]);
    let session = q.initialize().await;
    let mut listening = send(
        &q.addr,
        "GET",
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", &session),
        ],
        "",
    )
    .await
    .events();
    listening.next().await.unwrap();
    let addr = q.addr.clone();
    let in_flight = tokio::spawn(async move {
        send(
            &addr,
            "POST",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-session-id", &session),
            ],
            &call(4, "sleep", json!({"ms": 500})).to_string(),
        )
        .await
        .json()
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let ready = send_to(&q.addr, "GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.text().await, "ready\n");
    q.signal("-TERM");
    // The drain: the GET stream ends with a retry hint, so that the client reconnects
    // (elsewhere); readiness is false at once; no session starts; the call finishes; the
    // server exits cleanly.
    let hint = listening.next().await.expect("a retry hint before the end");
    assert_eq!(
        (hint.retry, hint.id, hint.data.as_str()),
        (Some(1000), None, "")
    );
    assert!(listening.next().await.is_none());
    let ready = send_to(&q.addr, "GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.text().await.contains("draining"));
    let live = send_to(&q.addr, "GET", "/healthz", &[], "").await;
    assert_eq!(live.status, StatusCode::OK, "still alive while draining");
    let refused = q.post(None, initialize_request(9)).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    let refused = refused.json().await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{refused}"
    );
    let body = in_flight.await.unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "slept 500 ms");
    assert_eq!(q.wait_exit(Duration::from_secs(10)), Some(0));
    // No new connections once shutting down.
    assert!(TcpStream::connect(&q.addr).await.is_err());
}

#[test]
fn bad_http_options_are_one_line_and_exit_2() {
    for args in [
        &["--port", "8000"][..],
        &["--transport", "http", "--port", "http"],
        &["--transport", "http", "--path", "mcp"],
    ] {
        let out = Command::new(example_binary("quickstart"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

// ------------------------------------------------------------------ in-process

/// Report three steps, then say done.
#[tool]
async fn three_steps(ctx: Context) -> String {
    for i in 1..=3 {
        ctx.progress(f64::from(i), Some(3.0), None).await;
    }
    "done".into()
}

#[tokio::test]
async fn an_http_server_in_process() {
    let server = HttpServer::bind(
        Server::new("in-process").only_tools(&["three_steps"]),
        HttpOptions {
            port: 0,
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let url = server.url();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let client = Client::connect_http(&url).await.unwrap();
    assert_eq!(client.server_info().name, "in-process");
    let (_, result) = client
        .start_request(
            "tools/call",
            &json!({"name": "three_steps", "_meta": {"progressToken": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(result.await.unwrap()["content"][0]["text"], "done");
    for step in 1..=3 {
        let n = client.next_notification().await.unwrap();
        assert_eq!(n.params["progress"], f64::from(step));
    }
    client.close().await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
struct NameForm {
    name: String,
}

/// Asks the user's name.
#[tool]
async fn ask_name(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx.elicit::<NameForm>("Your name?").await?;
    Ok(answer.accepted().map_or("no name".into(), |f| f.name))
}

#[tokio::test]
async fn a_plain_json_response_fails_requests_to_the_client_at_once() {
    let server = HttpServer::bind(
        Server::new("json-only")
            .only_tools(&["ask_name"])
            .client_request_timeout(Duration::from_secs(60)),
        HttpOptions {
            port: 0,
            json_response: true,
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let url = server.url();
    let serving = tokio::spawn(server.run_until(std::future::pending::<()>()));
    let options = ClientOptions {
        capabilities: json!({"elicitation": {}}).as_object().unwrap().clone(),
        on_request: Some(mcp_runtime::ServerRequestHandler::new(|_, _| {
            Box::pin(async { Ok(json!({"action": "accept", "content": {"name": "Ada"}})) })
        })),
        ..ClientOptions::default()
    };
    let client = Client::connect_http_with(&url, HttpClientOptions::default(), options)
        .await
        .unwrap();
    let started = Instant::now();
    let result: Value = client
        .request("tools/call", &json!({"name": "ask_name"}))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited for the timeout"
    );
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("cannot send `elicitation/create`") && text.contains("plain JSON"),
        "{text}"
    );
    serving.abort();
}
