//! The runtime's `Client` speaking 2026-07-28: `server/discover` in place of `initialize`,
//! `_meta` on every request (and the routing headers on HTTP), `input_required` rounds answered
//! through `on_request`, the log level per request, `subscriptions/listen`, cancellation, and a
//! server that does not speak the revision. In memory, over stdio (the `everything` example)
//! and over HTTP (an in-process `HttpServer`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_runtime::client::{ListenFilter, MAX_INPUT_ROUNDS};
use mcp_runtime::prelude::*;
use mcp_runtime::protocol::{ErrorObject, JsonObject};
use mcp_runtime::server::ElicitationResponse;
use mcp_runtime::{
    ClientError, ClientOptions, Direction, HttpOptions, HttpServer, LogLevel, MessageTap,
    ServerRequestHandler,
};
use mcp_workspace::example_binary;
#[path = "support/h2.rs"]
mod h2;
#[path = "support/tls.rs"]
mod tls;
use serde_json::{Value, json};

const REVISION: &str = "2026-07-28";

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
struct NameForm {
    name: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
struct ColorForm {
    color: String,
}

/// Asks the user's name, then their favourite colour: two rounds.
#[tool]
async fn two_steps(ctx: Context) -> Result<String, ToolError> {
    let name = match ctx.elicit::<NameForm>("Your name?").key("name").await? {
        ElicitationResponse::Accept(f) => f.name,
        _ => return Ok("no name".into()),
    };
    let color = match ctx.elicit::<ColorForm>("Your colour?").key("color").await? {
        ElicitationResponse::Accept(f) => f.color,
        _ => return Ok(format!("{name} keeps their colour secret")),
    };
    Ok(format!("{name} likes {color}"))
}

/// Asks the client's model.
#[tool]
async fn ask_model(ctx: Context) -> Result<String, ToolError> {
    Ok(ctx.sample(SamplingRequest::new("Hi?", 5)).await?.text())
}

/// How many times `never_satisfied` ran.
#[derive(Default)]
struct Runs(AtomicUsize);

/// Asks something new on every run, so it never completes.
#[tool]
async fn never_satisfied(ctx: Context, runs: State<Runs>) -> Result<String, ToolError> {
    let n = runs.0.fetch_add(1, Ordering::SeqCst);
    ctx.elicit::<NameForm>("Again?")
        .key(format!("q{n}"))
        .await?;
    Ok("unreachable".into())
}

/// Logs at two levels.
#[tool]
fn chatty(ctx: Context) -> &'static str {
    ctx.debug("a detail");
    ctx.warning("a warning");
    "said it"
}

/// Whether `slow` saw its request cancelled.
#[derive(Default)]
struct Stopped(AtomicBool);

/// Notes in `Stopped` that a `slow` run was dropped before it finished.
struct NoteIfDropped<'a>(&'a Stopped, bool);

impl Drop for NoteIfDropped<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.0.store(true, Ordering::SeqCst);
        }
    }
}

/// Runs for a minute unless cancelled; a cancelled run is noted in `Stopped`.
#[tool]
async fn slow(stopped: State<Stopped>) -> String {
    let mut running = NoteIfDropped(&stopped, true);
    tokio::time::sleep(Duration::from_secs(60)).await;
    running.1 = false;
    "finished".into()
}

/// Routes by region, which proxies read from the `Mcp-Param-Region` header.
#[tool]
fn route(#[arg(header = "Region")] region: String) -> String {
    format!("routed to {region}")
}

/// A profile per user id.
#[resource("people://{id}/profile")]
fn profile(id: String) -> String {
    format!("profile of {id}")
}

fn server() -> Server {
    Server::new("per-request-client-test")
        .version("9.9.9")
        .instructions("Ask me anything.")
        .state(Runs::default())
        .state(Stopped::default())
}

/// Every message the client sent, as JSON.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<Value>>>);

impl Sent {
    fn tap(&self) -> MessageTap {
        let sent = self.clone();
        MessageTap::new(move |dir, bytes| {
            if dir == Direction::Sent {
                sent.0
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(bytes).unwrap());
            }
        })
    }

    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

/// What the handler was asked: (method, params).
type Asked = Arc<Mutex<Vec<(String, Value)>>>;

/// A client of 2026-07-28 that answers elicitations with the name "Ada" and the colour
/// "teal", and records what it was asked.
fn options(sent: &Sent, asked: &Asked) -> ClientOptions {
    let asked = Arc::clone(asked);
    let mut capabilities = JsonObject::new();
    capabilities.insert("elicitation".into(), json!({}));
    ClientOptions {
        protocol_version: REVISION.into(),
        capabilities,
        on_message: Some(sent.tap()),
        on_request: Some(ServerRequestHandler::new(move |method, params| {
            asked.lock().unwrap().push((method.clone(), params.clone()));
            Box::pin(async move {
                let message = params["message"].as_str().unwrap_or_default().to_string();
                match method.as_str() {
                    "elicitation/create" if message.contains("colo") => {
                        Ok(json!({"action": "accept", "content": {"color": "teal"}}))
                    }
                    "elicitation/create" => {
                        Ok(json!({"action": "accept", "content": {"name": "Ada"}}))
                    }
                    other => Err(ErrorObject::method_not_found(other)),
                }
            })
        })),
        ..ClientOptions::default()
    }
}

/// The levels of the log messages that arrived, until none comes for a while.
async fn logs(c: &Client) -> Vec<String> {
    let mut levels = Vec::new();
    while let Ok(Some(n)) =
        tokio::time::timeout(Duration::from_millis(200), c.next_notification()).await
    {
        if n.method == "notifications/message" {
            levels.push(n.params["level"].as_str().unwrap().to_string());
        }
    }
    levels
}

/// The text of a tool result's first content block.
fn text(r: &mcp_runtime::CallToolResult) -> String {
    serde_json::to_value(&r.content[0]).unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn meta_of(message: &Value) -> &Value {
    &message["params"]["_meta"]
}

#[tokio::test]
async fn connecting_asks_server_discover_and_keeps_what_it_says() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::connect_with(server(), options(&sent, &asked))
        .await
        .unwrap();
    assert!(c.is_per_request());
    assert_eq!(c.protocol_version(), REVISION);
    assert_eq!(c.server_info().name, "per-request-client-test");
    assert_eq!(c.server_info().version, "9.9.9");
    assert!(c.server_capabilities().contains_key("tools"));
    assert_eq!(
        c.initialize_result().instructions.as_deref(),
        Some("Ask me anything.")
    );
    let sent = sent.all();
    assert_eq!(sent.len(), 1, "no initialize, no initialized: {sent:?}");
    assert_eq!(sent[0]["method"], "server/discover");
    let meta = meta_of(&sent[0]);
    assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], REVISION);
    assert_eq!(
        meta["io.modelcontextprotocol/clientCapabilities"],
        json!({"elicitation": {}})
    );
    assert_eq!(
        meta["io.modelcontextprotocol/clientInfo"]["name"],
        "mcp-runtime-client"
    );
    assert!(meta.get("io.modelcontextprotocol/logLevel").is_none());
}

#[tokio::test]
async fn tool_calls_carry_the_meta_and_their_results_look_like_handshake_ones() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::connect_with(server(), options(&sent, &asked))
        .await
        .unwrap();
    let tools = c.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "two_steps"));
    let r: Value = c
        .request(
            "tools/call",
            &json!({"name": "chatty", "arguments": {}, "_meta": {"progressToken": "p1"}}),
        )
        .await
        .unwrap();
    assert_eq!(r["content"][0]["text"], "said it");
    assert!(r.get("resultType").is_none(), "{r}");
    assert_eq!(
        r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "per-request-client-test"
    );
    let call = sent.all().into_iter().last().unwrap();
    let meta = meta_of(&call);
    assert_eq!(meta["progressToken"], "p1", "the caller's keys are kept");
    assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], REVISION);
    assert!(asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn input_required_rounds_are_answered_by_on_request() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::connect_with(server(), options(&sent, &asked))
        .await
        .unwrap();
    let r = c.call_tool("two_steps", json!({})).await.unwrap();
    assert_eq!(text(&r), "Ada likes teal", "{r:?}");
    let asked = asked.lock().unwrap().clone();
    let methods: Vec<&str> = asked.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["elicitation/create", "elicitation/create"]);
    assert_eq!(asked[0].1["message"], "Your name?");
    assert_eq!(asked[1].1["message"], "Your colour?");
    // Three calls: the first, then one retry per round, each with a new id, the answers of
    // its round and the server's requestState.
    let calls: Vec<Value> = sent
        .all()
        .into_iter()
        .filter(|m| m["method"] == "tools/call")
        .collect();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert!(calls[0]["params"].get("inputResponses").is_none());
    assert_eq!(
        calls[1]["params"]["inputResponses"],
        json!({"name": {"action": "accept", "content": {"name": "Ada"}}})
    );
    assert!(calls[1]["params"]["requestState"].is_string());
    assert_eq!(
        calls[2]["params"]["inputResponses"],
        json!({"color": {"action": "accept", "content": {"color": "teal"}}})
    );
    assert_eq!(calls[2]["params"]["name"], "two_steps");
}

#[tokio::test]
async fn a_failed_answer_an_absent_handler_and_endless_rounds_are_errors() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let mut opts = options(&sent, &asked);
    opts.capabilities.insert("sampling".into(), json!({}));
    let c = Client::connect_with(server(), opts).await.unwrap();
    match c.call_tool("ask_model", json!({})).await {
        Err(ClientError::Input { method, error }) => {
            assert_eq!(method, "sampling/createMessage");
            assert_eq!(error.code, -32601);
        }
        other => panic!("expected the handler's failure, got {other:?}"),
    }
    match c.call_tool("never_satisfied", json!({})).await {
        Err(ClientError::Protocol(m)) => {
            assert!(m.contains(&MAX_INPUT_ROUNDS.to_string()), "{m}")
        }
        other => panic!("expected the rounds to be bounded, got {other:?}"),
    }
    let rounds = sent
        .all()
        .iter()
        .filter(|m| m["params"]["name"] == "never_satisfied")
        .count();
    assert_eq!(
        rounds,
        1 + MAX_INPUT_ROUNDS,
        "the first call and a retry per round"
    );

    let bare = Client::connect_with(
        server(),
        ClientOptions {
            protocol_version: REVISION.into(),
            capabilities: json!({"elicitation": {}}).as_object().unwrap().clone(),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    let e = bare.call_tool("two_steps", json!({})).await.unwrap_err();
    assert!(
        matches!(&e, ClientError::Usage(m) if m.contains("on_request")),
        "{e}"
    );
}

#[tokio::test]
async fn the_log_level_goes_in_the_meta_of_later_requests() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::connect_with(server(), options(&sent, &asked))
        .await
        .unwrap();
    c.call_tool("chatty", json!({})).await.unwrap();
    assert!(logs(&c).await.is_empty(), "no level, no log messages");
    c.set_log_level(Some(LogLevel::Warning)).await.unwrap();
    c.call_tool("chatty", json!({})).await.unwrap();
    assert_eq!(logs(&c).await, ["warning"]);
    let last = sent.all().into_iter().last().unwrap();
    assert_eq!(
        meta_of(&last)["io.modelcontextprotocol/logLevel"],
        "warning"
    );
    c.set_log_level(Some(LogLevel::Debug)).await.unwrap();
    c.call_tool("chatty", json!({})).await.unwrap();
    assert_eq!(logs(&c).await, ["debug", "warning"]);
    c.set_log_level(None).await.unwrap();
    c.call_tool("chatty", json!({})).await.unwrap();
    assert!(logs(&c).await.is_empty());
    assert!(sent.all().iter().all(|m| m["method"] != "logging/setLevel"));

    // A handshake client sends logging/setLevel, and cannot turn logs off.
    let old = Client::connect(server()).await.unwrap();
    old.set_log_level(Some(LogLevel::Error)).await.unwrap();
    assert!(matches!(
        old.set_log_level(None).await,
        Err(ClientError::Usage(_))
    ));
}

/// The next notification, within 5 s.
async fn next(c: &Client) -> mcp_runtime::client::Notification {
    tokio::time::timeout(Duration::from_secs(5), c.next_notification())
        .await
        .expect("a notification")
        .expect("the connection is open")
}

#[tokio::test]
async fn listen_is_acknowledged_and_tags_what_it_asked_for() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let server = server();
    let handle = server.handle();
    let c = Client::connect_with(server, options(&sent, &asked))
        .await
        .unwrap();
    let sub = c
        .listen(&ListenFilter {
            tools_list_changed: true,
            resource_subscriptions: vec!["people://ada/profile".into()],
            ..ListenFilter::default()
        })
        .await
        .unwrap();
    assert!(sub.notifications.tools_list_changed);
    assert!(!sub.notifications.prompts_list_changed);
    assert_eq!(
        sub.notifications.resource_subscriptions,
        ["people://ada/profile"]
    );
    let ack = next(&c).await;
    assert_eq!(ack.method, "notifications/subscriptions/acknowledged");
    assert_eq!(ack.subscription_id(), Some(sub.id.clone()));
    assert!(handle.disable_tool("chatty"));
    let changed = next(&c).await;
    assert_eq!(changed.method, "notifications/tools/list_changed");
    assert_eq!(changed.subscription_id(), Some(sub.id.clone()));
    handle.notify_resource_updated("people://ada/profile");
    let updated = next(&c).await;
    assert_eq!(updated.method, "notifications/resources/updated");
    assert_eq!(updated.params["uri"], "people://ada/profile");
    c.cancel(&sub.id, "enough").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    handle.notify_resource_updated("people://ada/profile");
    let after = tokio::time::timeout(Duration::from_millis(300), c.next_notification()).await;
    assert!(
        after.is_err(),
        "the cancelled subscription is gone: {after:?}"
    );

    let old = Client::connect(
        Server::new("old")
            .state(Runs::default())
            .state(Stopped::default()),
    )
    .await
    .unwrap();
    assert!(matches!(
        old.listen(&ListenFilter::list_changes()).await,
        Err(ClientError::Usage(_))
    ));
}

/// A change made the moment the client reads the acknowledgment is heard, after it. The tap
/// runs as the in-memory session hands the acknowledgment over, before the listen request's
/// own code goes on: the listener must be registered by then, and what it is offered must
/// wait for the acknowledgment, which is the stream's first message.
#[tokio::test]
async fn a_change_made_as_the_acknowledgment_arrives_is_heard_after_it() {
    const ACK: &str = "notifications/subscriptions/acknowledged";
    let server = server();
    let on_ack = server.handle();
    let changes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&changes);
    let tap = MessageTap::new(move |direction, bytes| {
        let text = String::from_utf8_lossy(bytes);
        if direction == Direction::Received && text.contains(ACK) {
            counted.fetch_add(1, Ordering::SeqCst);
            on_ack.notify_resource_updated("people://ada/profile");
        }
    });
    let c = Client::connect_with(
        server,
        ClientOptions {
            protocol_version: REVISION.into(),
            on_message: Some(tap),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    let sub = c
        .listen(&ListenFilter {
            resource_subscriptions: vec!["people://ada/profile".into()],
            ..ListenFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(changes.load(Ordering::SeqCst), 1);
    let first = next(&c).await;
    assert_eq!(first.method, ACK);
    let updated = next(&c).await;
    assert_eq!(updated.method, "notifications/resources/updated");
    assert_eq!(updated.params["uri"], "people://ada/profile");
    assert_eq!(updated.subscription_id(), Some(sub.id.clone()));
}

#[tokio::test]
async fn over_http_the_routing_headers_go_with_each_request_and_closing_cancels() {
    let server = server();
    let handle = server.handle();
    let http = HttpServer::bind(
        server,
        HttpOptions {
            port: 0,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = http.url();
    let stopper = tokio::spawn(http.run());
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::connect_http_with(&url, Default::default(), options(&sent, &asked))
        .await
        .unwrap();
    assert_eq!(c.server_info().name, "per-request-client-test");
    assert_eq!(c.session_id(), None, "no session in 2026-07-28");
    // The server checks Mcp-Method and Mcp-Name against the body: these pass only with both.
    let r = c.call_tool("two_steps", json!({})).await.unwrap();
    assert_eq!(text(&r), "Ada likes teal");
    // An argument the tool mirrors into a header goes there too, once `tools/list` said so.
    c.list_all_tools().await.unwrap();
    let r = c
        .call_tool("route", json!({"region": "Zürich"}))
        .await
        .unwrap();
    assert_eq!(text(&r), "routed to Zürich");
    // A URI a header cannot carry as it is goes base64-encoded.
    let contents = c.read_resource("people://Zoë ü/profile").await.unwrap();
    assert_eq!(
        serde_json::to_value(&contents[0]).unwrap()["text"],
        "profile of Zoë ü"
    );
    // Closing the request's stream cancels it.
    let (id, call) = c
        .start_request("tools/call", &json!({"name": "slow", "arguments": {}}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.cancel(&id, "no time").await.unwrap();
    assert!(matches!(call.await, Err(ClientError::Closed)));
    let mut stopped = false;
    for _ in 0..50 {
        let r: Value = c
            .request("tools/call", &json!({"name": "slow_was_stopped"}))
            .await
            .unwrap_or_default();
        if r["structuredContent"]["result"] == true {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stopped, "the server saw the cancellation");
    // A subscription is a long stream of its own.
    let sub = c.listen(&ListenFilter::list_changes()).await.unwrap();
    assert!(sub.notifications.prompts_list_changed);
    assert!(handle.disable_tool("chatty"));
    let changed = loop {
        let n = tokio::time::timeout(Duration::from_secs(5), c.next_notification())
            .await
            .expect("the list change")
            .unwrap();
        if n.method == "notifications/tools/list_changed" {
            break n;
        }
    };
    assert_eq!(changed.subscription_id(), Some(sub.id.clone()));
    c.cancel(&sub.id, "done").await.unwrap();
    c.close().await.unwrap();
    stopper.abort();
}

#[tokio::test]
async fn over_http2_closing_a_request_stream_cancels_it() {
    let http = HttpServer::bind(
        server(),
        HttpOptions {
            port: 0,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let upstream = http.local_addr();
    let stopper = tokio::spawn(http.run());
    let proxy = h2::H2Proxy::start(upstream).await;
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::connect_http_with(
        &format!("{}/mcp", proxy.origin),
        mcp_runtime::HttpClientOptions::default().ca_cert_pem(proxy.ca.pem.clone()),
        options(&sent, &asked),
    )
    .await
    .unwrap();
    // The routing headers pass the server's checks over HTTP/2 too.
    let r = c.call_tool("two_steps", json!({})).await.unwrap();
    assert_eq!(text(&r), "Ada likes teal");
    // Requests share one connection there, so cancelling resets the request's stream alone.
    let (id, call) = c
        .start_request("tools/call", &json!({"name": "slow", "arguments": {}}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.cancel(&id, "no time").await.unwrap();
    assert!(matches!(call.await, Err(ClientError::Closed)));
    let mut stopped = false;
    for _ in 0..50 {
        let r: Value = c
            .request("tools/call", &json!({"name": "slow_was_stopped"}))
            .await
            .unwrap_or_default();
        if r["structuredContent"]["result"] == true {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stopped, "the server saw the cancellation");
    assert!(proxy.http2_requests.load(Ordering::SeqCst) >= 3);
    c.close().await.unwrap();
    stopper.abort();
}

/// Whether a `slow` call was cancelled.
#[tool]
fn slow_was_stopped(stopped: State<Stopped>) -> bool {
    stopped.0.load(Ordering::SeqCst)
}

#[tokio::test]
async fn over_stdio_the_everything_example_asks_through_input_required() {
    let (sent, asked) = (Sent::default(), Asked::default());
    let c = Client::spawn_with(
        tokio::process::Command::new(example_binary("everything")),
        options(&sent, &asked),
    )
    .await
    .expect("the everything example is built (cargo build --examples)");
    assert_eq!(c.server_info().name, "mcp-conformance-test-server");
    let r = c
        .call_tool("test_input_required_result_elicitation", json!({}))
        .await
        .unwrap();
    assert_eq!(text(&r), "Hello, Ada!");
    assert_eq!(asked.lock().unwrap()[0].1["message"], "What is your name?");
    let r = c
        .call_tool("test_input_required_result_multi_round", json!({}))
        .await
        .unwrap();
    assert_eq!(text(&r), "Ada likes teal.");
    // Cancelling on stdio is notifications/cancelled for the request's current round.
    let (id, call) = c
        .start_request("tools/call", &json!({"name": "test_cancellation"}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.cancel(&id, "no time").await.unwrap();
    assert!(matches!(call.await, Err(ClientError::Closed)));
    let cancel = sent
        .all()
        .into_iter()
        .find(|m| m["method"] == "notifications/cancelled")
        .unwrap();
    assert_eq!(cancel["params"]["requestId"], json!(id));
    c.close().await.unwrap();
}

/// An HTTP endpoint that answers every POST as a server of the handshake revisions only
/// would answer a 2026-07-28 request: 400 and -32022, naming what it supports.
async fn old_http_server() -> String {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let msg: Value = serde_json::from_slice(&body).unwrap();
                        let answer = json!({"jsonrpc": "2.0", "id": msg["id"], "error": {
                            "code": -32022, "message": "Unsupported protocol version",
                            "data": {"supported": ["2025-11-25", "2025-06-18"], "requested": REVISION}}});
                        let mut r =
                            hyper::Response::new(Full::new(Bytes::from(answer.to_string())));
                        *r.status_mut() = hyper::StatusCode::BAD_REQUEST;
                        r.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, std::convert::Infallible>(r)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/mcp")
}

#[tokio::test]
async fn a_server_without_the_revision_is_refused_naming_what_it_speaks() {
    let url = old_http_server().await;
    let e = Client::connect_http_with(
        &url,
        Default::default(),
        ClientOptions {
            protocol_version: REVISION.into(),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap_err();
    match &e {
        ClientError::UnsupportedRevision {
            requested,
            supported,
        } => {
            assert_eq!(requested, REVISION);
            assert_eq!(supported, &["2025-11-25", "2025-06-18"]);
        }
        other => panic!("expected UnsupportedRevision, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("2025-11-25, 2025-06-18"), "{text}");

    // A stdio server that has no `server/discover` at all.
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(
        r#"read line; printf '%s\n' '{"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"Method not found: server/discover"}}'; exec sleep 5"#,
    );
    let e = Client::spawn_with(
        command,
        ClientOptions {
            protocol_version: REVISION.into(),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, ClientError::UnsupportedRevision { supported, .. } if supported.is_empty()),
        "{e:?}"
    );
    assert!(e.to_string().contains("handshake revision"), "{e}");
}

#[tokio::test]
async fn cancelling_while_the_answers_are_gathered_ends_the_request() {
    let asked = Arc::new(tokio::sync::Notify::new());
    let seen = Arc::clone(&asked);
    let c = Client::connect_with(
        server(),
        ClientOptions {
            protocol_version: REVISION.into(),
            capabilities: json!({"elicitation": {}}).as_object().unwrap().clone(),
            // A user who never answers.
            on_request: Some(ServerRequestHandler::new(move |_, _| {
                seen.notify_one();
                Box::pin(std::future::pending())
            })),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    let (id, call) = c
        .start_request("tools/call", &json!({"name": "two_steps"}))
        .await
        .unwrap();
    let call = tokio::spawn(call);
    tokio::time::timeout(Duration::from_secs(5), asked.notified())
        .await
        .expect("the handler is asked");
    c.cancel(&id, "never mind").await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ends without an answer")
        .unwrap();
    assert!(matches!(ended, Err(ClientError::Closed)), "{ended:?}");
}
