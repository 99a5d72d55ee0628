//! What a handler asks of the client through `Context`: log messages, sampling and roots,
//! through the in-memory client.

use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::{ClientOptions, ServerRequestHandler};
use serde_json::{Value, json};

/// Log at every level.
#[tool]
fn chatty(ctx: Context) -> &'static str {
    ctx.debug("debug detail");
    ctx.info("starting");
    ctx.warning("careful");
    ctx.log(LogLevel::Error, Some("db"), json!({"table": "users"}));
    "done"
}

/// Ask the client's model.
#[tool]
async fn ask(question: String, ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .sample(SamplingRequest::new(question, 100).system("Be brief."))
        .await?;
    Ok(format!("{} said: {}", answer.model, answer.text()))
}

/// List the client's roots.
#[tool]
async fn roots(ctx: Context) -> Result<String, ToolError> {
    let roots = ctx.roots().await?;
    Ok(roots
        .iter()
        .map(|r| r.uri.as_str())
        .collect::<Vec<_>>()
        .join(","))
}

fn options(capabilities: Value, handler: Option<ServerRequestHandler>) -> ClientOptions {
    ClientOptions {
        capabilities: capabilities.as_object().unwrap().clone(),
        on_request: handler,
        ..Default::default()
    }
}

fn model() -> ServerRequestHandler {
    ServerRequestHandler::new(|method, params| {
        Box::pin(async move {
            match method.as_str() {
                "sampling/createMessage" => {
                    assert_eq!(params["maxTokens"], 100);
                    assert_eq!(params["systemPrompt"], "Be brief.");
                    let q = params["messages"][0]["content"]["text"].as_str().unwrap();
                    Ok(json!({
                        "role": "assistant",
                        "content": {"type": "text", "text": format!("42 is the answer to {q}")},
                        "model": "test-model",
                        "stopReason": "endTurn"
                    }))
                }
                "roots/list" => Ok(json!({"roots": [
                    {"uri": "file:///a", "name": "A"},
                    {"uri": "file:///b"}
                ]})),
                other => Err(mcp_runtime::protocol::ErrorObject::method_not_found(other)),
            }
        })
    })
}

async fn log_levels(c: &Client, n: usize) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let note = tokio::time::timeout(Duration::from_secs(5), c.next_notification())
            .await
            .expect("a log message")
            .unwrap();
        assert_eq!(note.method, "notifications/message");
        out.push((
            note.params["level"].as_str().unwrap().to_string(),
            note.params.clone(),
        ));
    }
    out
}

#[tokio::test]
async fn log_messages_follow_the_level_the_client_set() {
    let c = Client::connect(ctx_server()).await.unwrap();
    assert_eq!(c.initialize_result().capabilities["logging"], json!({}));
    c.call_tool("chatty", json!({})).await.unwrap();
    let got = log_levels(&c, 3).await;
    let levels: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        levels,
        ["info", "warning", "error"],
        "debug is below the default level"
    );
    assert_eq!(
        got[2].1,
        json!({"level": "error", "logger": "db", "data": {"table": "users"}})
    );

    let r: Value = c
        .request("logging/setLevel", &json!({"level": "debug"}))
        .await
        .unwrap();
    assert_eq!(r, json!({}), "the result is exactly {{}}");
    c.call_tool("chatty", json!({})).await.unwrap();
    let levels: Vec<String> = log_levels(&c, 4)
        .await
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(levels, ["debug", "info", "warning", "error"]);

    c.request::<_, Value>("logging/setLevel", &json!({"level": "error"}))
        .await
        .unwrap();
    c.call_tool("chatty", json!({})).await.unwrap();
    let levels: Vec<String> = log_levels(&c, 1)
        .await
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(levels, ["error"]);

    let e = c
        .request::<_, Value>("logging/setLevel", &json!({"level": "loud"}))
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
}

#[tokio::test]
async fn sampling_and_roots_round_trip_through_the_client() {
    let c = Client::connect_with(
        ctx_server(),
        options(json!({"sampling": {}, "roots": {}}), Some(model())),
    )
    .await
    .unwrap();
    let r = c
        .call_tool("ask", json!({"question": "life"}))
        .await
        .unwrap();
    assert!(!r.is_error, "{r:?}");
    assert_eq!(r.text_joined(), "test-model said: 42 is the answer to life");
    let r = c.call_tool("roots", json!({})).await.unwrap();
    assert_eq!(r.text_joined(), "file:///a,file:///b");
}

#[tokio::test]
async fn requests_need_the_client_capability_and_nothing_is_sent_without_it() {
    let c = Client::connect_with(ctx_server(), options(json!({}), Some(model())))
        .await
        .unwrap();
    let r = c.call_tool("ask", json!({"question": "x"})).await.unwrap();
    assert!(r.is_error);
    assert!(
        r.text_joined()
            .contains("did not declare the `sampling` capability"),
        "{}",
        r.text_joined()
    );
    let r = c.call_tool("roots", json!({})).await.unwrap();
    assert!(r.text_joined().contains("`roots` capability"));
}

#[tokio::test]
async fn a_client_error_or_silence_fails_the_request_clearly() {
    // The client declares sampling but cannot do it.
    let refusing = ServerRequestHandler::new(|_, _| {
        Box::pin(async {
            Err(mcp_runtime::protocol::ErrorObject::new(
                -1,
                "User rejected sampling request",
            ))
        })
    });
    let c = Client::connect_with(
        ctx_server(),
        options(json!({"sampling": {}}), Some(refusing)),
    )
    .await
    .unwrap();
    let r = c.call_tool("ask", json!({"question": "x"})).await.unwrap();
    assert!(r.is_error);
    assert!(
        r.text_joined().contains("User rejected sampling request"),
        "{}",
        r.text_joined()
    );

    // The client never answers: the request times out and is cancelled.
    let silent = ServerRequestHandler::new(|_, _| Box::pin(std::future::pending()));
    let c = Client::connect_with(
        ctx_server().client_request_timeout(Duration::from_millis(100)),
        options(json!({"sampling": {}}), Some(silent)),
    )
    .await
    .unwrap();
    let r = c.call_tool("ask", json!({"question": "x"})).await.unwrap();
    assert!(r.is_error);
    assert!(
        r.text_joined()
            .contains("did not answer `sampling/createMessage`"),
        "{}",
        r.text_joined()
    );
    let note = c.next_notification().await.unwrap();
    assert_eq!(note.method, "notifications/cancelled");
    assert_eq!(note.params["reason"], "timed out");
}

struct Greeting(String);

/// Greet with the configured greeting.
#[tool]
fn greet(name: String, greeting: mcp_runtime::State<Greeting>) -> String {
    format!("{}, {name}", greeting.0)
}

#[tokio::test]
async fn state_is_injected_by_type_and_missing_state_is_named() {
    let c = Client::connect(Server::new("ctx").state(Greeting("Hello".into())))
        .await
        .unwrap();
    let r = c.call_tool("greet", json!({"name": "Ada"})).await.unwrap();
    assert_eq!(r.text_joined(), "Hello, Ada");
    let schema = &c.list_all_tools().await.unwrap();
    let greet = schema.iter().find(|t| t.name == "greet").unwrap();
    assert_eq!(
        greet.input_schema["required"],
        json!(["name"]),
        "state is not an argument"
    );

    // A server without the state refuses to start, naming the tool and the type.
    let e = Client::connect(Server::new("ctx"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tool `greet` (tests/context.rs:")
            && e.contains("takes `State<context::Greeting>`")
            && e.contains("Server::state(value)"),
        "{e}"
    );
}

/// Every test's server: the state `greet` takes, which a server must have to start.
fn ctx_server() -> Server {
    Server::new("ctx").state(Greeting("Hello".into()))
}

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "camelCase")]
struct Contact {
    /// Your name.
    user_name: String,
    age: Option<u8>,
}

/// Ask the user who they are.
#[tool]
async fn who(ctx: Context) -> Result<String, ToolError> {
    use mcp_runtime::server::ElicitationResponse;
    Ok(match ctx.elicit::<Contact>("Who are you?").await? {
        ElicitationResponse::Accept(c) => format!("{} ({:?})", c.user_name, c.age),
        ElicitationResponse::Decline => "declined".into(),
        ElicitationResponse::Cancel => "cancelled".into(),
    })
}

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
#[allow(dead_code)] // only its schema is used
struct Nested {
    // Its schema is not its type's (a nested object): only the check of the schema, when the
    // form is sent, can refuse it; every other nested struct is refused at compile time.
    #[schemars(with = "Contact")]
    inner: String,
}

/// Ask for a form that cannot be a form.
#[tool]
async fn bad_form(ctx: Context) -> Result<String, ToolError> {
    ctx.elicit::<Nested>("?").await?;
    Ok("unreachable".into())
}

fn user(answer: Value) -> ServerRequestHandler {
    ServerRequestHandler::new(move |method, params| {
        let answer = answer.clone();
        Box::pin(async move {
            assert_eq!(method, "elicitation/create");
            assert_eq!(params["mode"], "form");
            assert_eq!(params["message"], "Who are you?");
            let schema = &params["requestedSchema"];
            assert_eq!(schema["type"], "object");
            assert_eq!(schema["required"], json!(["userName"]));
            assert_eq!(schema["properties"]["userName"]["type"], "string");
            assert_eq!(
                schema["properties"]["userName"]["description"],
                "Your name."
            );
            assert_eq!(schema["properties"]["age"]["type"], "integer");
            Ok(answer)
        })
    })
}

#[tokio::test]
async fn elicitation_sends_the_form_and_reads_what_the_user_did() {
    let cases = [
        (
            json!({"action": "accept", "content": {"userName": "Ada", "age": 36}}),
            "Ada (Some(36))",
        ),
        (
            json!({"action": "accept", "content": {"userName": "Bo"}}),
            "Bo (None)",
        ),
        (json!({"action": "decline"}), "declined"),
        (json!({"action": "cancel"}), "cancelled"),
    ];
    for (answer, expected) in cases {
        let c = Client::connect_with(
            ctx_server(),
            options(json!({"elicitation": {}}), Some(user(answer))),
        )
        .await
        .unwrap();
        let r = c.call_tool("who", json!({})).await.unwrap();
        assert!(!r.is_error, "{r:?}");
        assert_eq!(r.text_joined(), expected);
    }

    let c = Client::connect_with(
        ctx_server(),
        options(
            json!({"elicitation": {}}),
            Some(user(
                json!({"action": "accept", "content": {"userName": 5}}),
            )),
        ),
    )
    .await
    .unwrap();
    let r = c.call_tool("who", json!({})).await.unwrap();
    assert!(r.is_error);
    assert!(r.text_joined().contains("userName"), "{}", r.text_joined());

    let r = c.call_tool("bad_form", json!({})).await.unwrap();
    assert!(r.is_error);
    assert!(r.text_joined().contains("`inner`"), "{}", r.text_joined());

    let c = Client::connect(ctx_server()).await.unwrap();
    let r = c.call_tool("who", json!({})).await.unwrap();
    assert!(r.text_joined().contains("`elicitation` capability"));
}

/// Send the user to a sign-in page.
#[tool]
async fn sign_in(ctx: Context) -> Result<String, ToolError> {
    use mcp_runtime::server::ElicitationResponse;
    let r = ctx
        .elicit_url("Sign in, please", "https://example.com/login", "login-1")
        .await?;
    Ok(format!("{}", matches!(r, ElicitationResponse::Accept(()))))
}

#[tokio::test]
async fn url_elicitation_needs_the_url_capability() {
    let browser = ServerRequestHandler::new(|method, params| {
        Box::pin(async move {
            assert_eq!(method, "elicitation/create");
            assert_eq!(
                params,
                json!({"mode": "url", "message": "Sign in, please",
                       "url": "https://example.com/login", "elicitationId": "login-1"})
            );
            Ok(json!({"action": "accept"}))
        })
    });
    let c = Client::connect_with(
        ctx_server(),
        options(json!({"elicitation": {"url": {}}}), Some(browser.clone())),
    )
    .await
    .unwrap();
    let r = c.call_tool("sign_in", json!({})).await.unwrap();
    assert_eq!(r.text_joined(), "true");

    // Form elicitation alone is not enough.
    let c = Client::connect_with(
        ctx_server(),
        options(json!({"elicitation": {}}), Some(browser)),
    )
    .await
    .unwrap();
    let r = c.call_tool("sign_in", json!({})).await.unwrap();
    assert!(r.is_error);
    assert!(
        r.text_joined().contains("`elicitation.url` capability"),
        "{}",
        r.text_joined()
    );
}

static CANCEL_SEEN: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Wait, forever, for the client to give up; a background watcher reports the cancellation.
#[tool]
async fn wait_for_cancel(ctx: Context) -> String {
    let watcher = ctx.clone();
    tokio::spawn(async move {
        watcher.cancelled().await;
        assert!(watcher.is_cancelled());
        CANCEL_SEEN.notify_one();
    });
    assert!(!ctx.is_cancelled());
    std::future::pending::<()>().await;
    unreachable!("a cancelled call is dropped")
}

#[tokio::test]
async fn a_cancelled_call_is_dropped_and_its_context_hears_of_it() {
    let c = Client::connect(ctx_server()).await.unwrap();
    let (id, answer) = c
        .start_request("tools/call", &json!({"name": "wait_for_cancel"}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.cancel(&id, "the user gave up").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), CANCEL_SEEN.notified())
        .await
        .expect("ctx.cancelled() completes once the client cancels");
    assert!(
        answer.await.is_err(),
        "no answer is sent for a cancelled call"
    );
    c.ping().await.expect("the session goes on");
}

/// The session this call belongs to.
#[tool]
fn which_session(ctx: Context) -> String {
    ctx.session_id().unwrap_or("none").to_string()
}

#[tokio::test]
async fn the_session_id_is_the_http_session_and_none_elsewhere() {
    let c = Client::connect(ctx_server()).await.unwrap();
    let r = c.call_tool("which_session", json!({})).await.unwrap();
    assert_eq!(r.text_joined(), "none");

    let server = mcp_runtime::HttpServer::bind(
        ctx_server(),
        mcp_runtime::HttpOptions {
            port: 0,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = server.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let c = Client::connect_http(&url).await.unwrap();
    let r = c.call_tool("which_session", json!({})).await.unwrap();
    let id = c.session_id().expect("HTTP sessions have an id");
    assert_eq!(r.text_joined(), id);
    c.close().await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// A greeting card for `name`.
#[resource("card://{name}", mime_type = "text/plain")]
fn card(name: String) -> String {
    format!("Dear {name},")
}

/// Quote a resource of this server.
#[tool]
async fn quote(uri: String, ctx: Context) -> Result<String, ToolError> {
    let contents = ctx.read_resource(&uri).await?;
    match contents.first() {
        Some(mcp_runtime::protocol::ResourceContents::Text { text, .. }) => Ok(format!("«{text}»")),
        _ => Err(ToolError::new("not text")),
    }
}

#[tokio::test]
async fn a_handler_reads_the_servers_own_resources() {
    let c = Client::connect(ctx_server()).await.unwrap();
    let r = c
        .call_tool("quote", json!({"uri": "card://Ada"}))
        .await
        .unwrap();
    assert!(!r.is_error, "{}", r.text_joined());
    assert_eq!(r.text_joined(), "«Dear Ada,»");
    let r = c
        .call_tool("quote", json!({"uri": "nowhere://x"}))
        .await
        .unwrap();
    assert!(r.is_error);
    assert_eq!(r.text_joined(), "Resource not found: nowhere://x");
}

#[tokio::test]
async fn a_lifespan_sets_up_state_before_serving_and_tears_down_after() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SETUPS: AtomicUsize = AtomicUsize::new(0);
    static TEARDOWN: tokio::sync::Notify = tokio::sync::Notify::const_new();

    let server = Server::new("ctx").lifespan(|| async {
        SETUPS.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        Ok(mcp_runtime::Lifespan::new()
            .state(Greeting("Welcome".into()))
            .on_shutdown(async { TEARDOWN.notify_one() }))
    });
    assert_eq!(
        SETUPS.load(Ordering::SeqCst),
        0,
        "nothing runs until served"
    );
    let c = Client::connect(server).await.unwrap();
    assert_eq!(SETUPS.load(Ordering::SeqCst), 1);
    let r = c.call_tool("greet", json!({"name": "Ada"})).await.unwrap();
    assert_eq!(r.text_joined(), "Welcome, Ada");
    c.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), TEARDOWN.notified())
        .await
        .expect("the teardown runs once the client is gone");

    // Any error converts, anyhow's included.
    let failing = Server::new("ctx")
        .lifespan(|| async { Err(anyhow::anyhow!("no database at db:5432").into()) });
    let e = Client::connect(failing).await.unwrap_err().to_string();
    assert!(
        e.contains("lifespan setup failed") && e.contains("no database at db:5432"),
        "{e}"
    );
}

/// Ask the client's model, offering it a tool.
#[tool]
async fn ask_with_tools(ctx: Context) -> Result<String, ToolError> {
    let mut request = SamplingRequest::new("What is the weather in Paris?", 50);
    request.tools = Some(vec![json!({
        "name": "weather",
        "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}
    })]);
    request.tool_choice = Some(json!({"mode": "auto"}));
    let answer = ctx.sample(request).await?;
    Ok(answer.content.to_string())
}

#[tokio::test]
async fn sampling_with_tools_needs_the_sampling_tools_capability() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler = ServerRequestHandler::new(move |_method, params| {
        log.lock().unwrap().push(params.clone());
        Box::pin(async move {
            Ok(json!({
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}}],
                "model": "test-model",
                "stopReason": "toolUse"
            }))
        })
    });
    let c = Client::connect_with(
        ctx_server(),
        options(json!({"sampling": {}}), Some(handler.clone())),
    )
    .await
    .unwrap();
    let r = c.call_tool("ask_with_tools", json!({})).await.unwrap();
    assert!(r.is_error);
    assert!(
        r.text_joined()
            .contains("did not declare the `sampling.tools` capability"),
        "{}",
        r.text_joined()
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing is sent");

    let c = Client::connect_with(
        ctx_server(),
        options(json!({"sampling": {"tools": {}}}), Some(handler)),
    )
    .await
    .unwrap();
    let r = c.call_tool("ask_with_tools", json!({})).await.unwrap();
    assert!(!r.is_error, "{}", r.text_joined());
    assert!(r.text_joined().contains("tool_use"));
    let sent = seen.lock().unwrap();
    assert_eq!(sent[0]["tools"][0]["name"], "weather");
    assert_eq!(sent[0]["toolChoice"], json!({"mode": "auto"}));
}

#[tokio::test]
async fn the_message_tap_sees_every_message_both_ways_in_order() {
    use mcp_runtime::{Direction, MessageTap};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(Direction, Value)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let mut opts = options(json!({"sampling": {}}), Some(model()));
    opts.on_message = Some(MessageTap::new(move |dir, bytes| {
        let v: Value = serde_json::from_slice(bytes).expect("one JSON message");
        sink.lock().unwrap().push((dir, v));
    }));
    let c = Client::connect_with(ctx_server(), opts).await.unwrap();
    c.call_tool("ask", json!({"question": "life"}))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let summary: Vec<(Direction, String)> = seen
        .iter()
        .map(|(d, m)| {
            let what = match (m.get("method"), m.get("id")) {
                (Some(method), _) => method.as_str().unwrap().to_string(),
                (None, Some(_)) if m.get("error").is_some() => "error".to_string(),
                (None, Some(_)) => "result".to_string(),
                _ => "?".to_string(),
            };
            (*d, what)
        })
        .collect();
    use Direction::{Received, Sent};
    assert_eq!(
        summary,
        [
            (Sent, "initialize".to_string()),
            (Received, "result".to_string()),
            (Sent, "notifications/initialized".to_string()),
            (Sent, "tools/call".to_string()),
            (Received, "sampling/createMessage".to_string()),
            (Sent, "result".to_string()),
            (Received, "result".to_string()),
        ]
    );
    assert_eq!(seen[5].1["result"]["model"], "test-model");
    assert_eq!(
        seen[6].1["result"]["content"][0]["text"],
        "test-model said: 42 is the answer to life"
    );
}
