//! The tasks extension (`io.modelcontextprotocol/tasks`) through the in-memory client: when a
//! call becomes a task, `tasks/get`, `tasks/update` and `tasks/cancel`, what clients that do
//! not declare the extension get, expiry and limits, and status notifications on
//! `subscriptions/listen`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::server::ElicitationResponse;
use mcp_runtime::{ClientError, State};
use serde_json::{Value, json};
use tokio::sync::Notify;

const EXT: &str = "io.modelcontextprotocol/tasks";

/// Lets the test decide when `gated` finishes.
#[derive(Default)]
struct Gate(Notify);

/// Set when a task's `Context` hears of its cancellation.
#[derive(Default)]
struct Heard(AtomicBool);

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Opened {
    opened: bool,
    task: Option<String>,
}

/// Waits for the gate, then reports.
#[tool(task = "optional")]
async fn gated(gate: State<Gate>, ctx: Context) -> Opened {
    ctx.set_status_message("waiting for the gate");
    gate.0.notified().await;
    Opened {
        opened: true,
        task: ctx.task_id().map(str::to_string),
    }
}

/// Runs until cancelled, telling `Heard` when its context hears it.
#[tool(task = "required")]
async fn endless(heard: State<Heard>, ctx: Context) -> &'static str {
    let watcher = ctx.clone();
    tokio::spawn(async move {
        watcher.cancelled().await;
        heard.0.store(true, Ordering::SeqCst);
    });
    std::future::pending::<()>().await;
    "never"
}

/// Finishes without waiting.
#[tool(task = "optional")]
fn instant() -> &'static str {
    "at once"
}

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
struct Named {
    name: String,
}

/// Asks twice under the same key, from a task.
#[tool(task = "optional")]
async fn ask_twice(ctx: Context) -> Result<String, ToolError> {
    assert!(ctx.continue_as_task().await);
    let (a, b) = tokio::join!(
        ctx.elicit::<Named>("First?").key("who"),
        ctx.elicit::<Named>("Second?").key("who"),
    );
    let name = |r: ElicitationResponse<Named>| r.accepted().map_or("-".into(), |n| n.name);
    Ok(format!("{} then {}", name(a?), name(b?)))
}

/// Gives up on its question after a moment.
#[tool(task = "optional")]
async fn impatient(gate: State<Gate>, ctx: Context) -> String {
    ctx.continue_as_task().await;
    tokio::select! {
        _ = ctx.elicit::<Named>("Quick, your name?") => {}
        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
    }
    gate.0.notified().await;
    "gave up asking".into()
}

/// Crashes.
#[tool(task = "optional")]
async fn crashes() -> String {
    tokio::time::sleep(Duration::from_millis(10)).await;
    panic!("worker crashed")
}

/// Fails as a tool.
#[tool(task = "optional")]
async fn fails() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    Err(ToolError::new("no such invoice"))
}

fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}

fn with_tasks() -> Value {
    meta(json!({"elicitation": {}, "extensions": {EXT: {}}}))
}

fn server() -> Server {
    Server::new("tasks")
        .state(Gate::default())
        .state(Heard::default())
        .task_ttl(Some(Duration::from_secs(60)))
        .task_poll_interval(Duration::from_millis(250))
}

async fn call(c: &Client, method: &str, params: Value) -> Result<Value, ClientError> {
    c.request::<_, Value>(method, &params).await
}

async fn call_tool(c: &Client, name: &str, m: Value) -> Result<Value, ClientError> {
    call(
        c,
        "tools/call",
        json!({"name": name, "arguments": {}, "_meta": m}),
    )
    .await
}

async fn get(c: &Client, id: &str) -> Result<Value, ClientError> {
    call(c, "tasks/get", json!({"taskId": id, "_meta": with_tasks()})).await
}

/// Polls until the task is in `status` (or settled).
async fn wait_for(c: &Client, id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let t = get(c, id).await.unwrap();
        if t["status"] == status
            || ["completed", "failed", "cancelled"].contains(&t["status"].as_str().unwrap())
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {id} never reached {status}");
}

fn code(e: &ClientError) -> i64 {
    e.rpc().map_or(0, |r| r.code)
}

#[tokio::test]
async fn a_waiting_call_becomes_a_task_that_tasks_get_follows_to_its_result() {
    let server = server();
    let c = Client::connect(server).await.unwrap();
    let created = call_tool(&c, "gated", with_tasks()).await.unwrap();
    assert_eq!(created["resultType"], "task");
    assert_eq!(created["status"], "working");
    assert_eq!(created["ttlMs"], 60_000);
    assert_eq!(created["pollIntervalMs"], 250);
    for absent in [
        "task",
        "result",
        "error",
        "inputRequests",
        "requestState",
        "content",
    ] {
        assert!(created.get(absent).is_none(), "{absent} in {created}");
    }
    let created_at = created["createdAt"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.contains('T'),
        "{created_at}"
    );
    let id = created["taskId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);

    let working = get(&c, &id).await.unwrap();
    assert_eq!(working["resultType"], "complete");
    assert_eq!(working["status"], "working");
    assert_eq!(working["statusMessage"], "waiting for the gate");
    assert!(working.get("result").is_none());

    open_gate(&c).await;
    let done = wait_for(&c, &id, "completed").await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["result"]["structuredContent"]["opened"], true);
    assert_eq!(done["result"]["structuredContent"]["task"], id);
    assert!(done["result"].get("_meta").is_none());
    assert!(done["lastUpdatedAt"].as_str().unwrap() >= created_at);
}

/// Opens the gate the handlers wait on.
#[tool]
fn release(gate: State<Gate>) -> &'static str {
    gate.0.notify_one();
    "opened"
}

async fn open_gate(c: &Client) {
    call_tool(c, "release", meta(json!({}))).await.unwrap();
}

#[tokio::test]
async fn without_the_extension_calls_answer_directly_and_task_only_tools_are_refused() {
    let c = Client::connect(server()).await.unwrap();
    // A 2026-07-28 client that does not declare the extension.
    let plain = meta(json!({}));
    let direct = call_tool(&c, "instant", plain.clone()).await.unwrap();
    assert_eq!(direct["resultType"], "complete");
    assert_eq!(direct["content"][0]["text"], "at once");
    let refused = call_tool(&c, "endless", plain.clone()).await.unwrap_err();
    assert_eq!(code(&refused), -32021);
    assert_eq!(
        refused.rpc().unwrap().data,
        Some(json!({"requiredCapabilities": {"extensions": {EXT: {}}}}))
    );
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let e = call(
            &c,
            method,
            json!({"taskId": "x", "inputResponses": {}, "_meta": plain}),
        )
        .await
        .unwrap_err();
        assert_eq!(code(&e), -32021, "{method}");
    }
    // A task tool that finishes without waiting answers directly, extension or not.
    let direct = call_tool(&c, "instant", with_tasks()).await.unwrap();
    assert_eq!(direct["resultType"], "complete");
    // The handshake session cannot declare the extension: no tasks, no task methods.
    let handshake = call(&c, "tools/call", json!({"name": "gated", "arguments": {}}));
    let (handshake, ()) = tokio::join!(handshake, async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        open_gate(&c).await;
    });
    let handshake = handshake.unwrap();
    assert!(handshake.get("taskId").is_none() && handshake.get("resultType").is_none());
    assert_eq!(handshake["structuredContent"]["opened"], true);
    let e = call(&c, "tasks/get", json!({"taskId": "x"}))
        .await
        .unwrap_err();
    assert_eq!(code(&e), -32601);
    // Nor does discover advertise it to anyone but 2026-07-28 clients.
    let d = call(&c, "server/discover", json!({"_meta": plain}))
        .await
        .unwrap();
    assert_eq!(d["capabilities"]["extensions"][EXT], json!({}));
    assert!(
        c.initialize_result()
            .capabilities
            .get("extensions")
            .is_none()
    );
}

#[tokio::test]
async fn a_task_asks_through_tasks_get_and_hears_back_through_tasks_update() {
    let c = Client::connect(server()).await.unwrap();
    let created = call_tool(&c, "ask_twice", with_tasks()).await.unwrap();
    assert_eq!(created["resultType"], "task");
    let id = created["taskId"].as_str().unwrap();
    let asking = wait_for(&c, id, "input_required").await;
    let requests = asking["inputRequests"].as_object().unwrap();
    // Keys are unique within a task: the second `who` is `who-2`.
    let mut keys: Vec<&String> = requests.keys().collect();
    keys.sort();
    assert_eq!(keys, ["who", "who-2"]);
    assert_eq!(requests["who"]["method"], "elicitation/create");
    assert_eq!(requests["who"]["params"]["message"], "First?");
    let update = |responses: Value| {
        call(
            &c,
            "tasks/update",
            json!({"taskId": id, "inputResponses": responses, "_meta": with_tasks()}),
        )
    };
    // A malformed answer to a waiting request is refused whole; unknown keys are ignored.
    let e = update(json!({"who": "Ada"})).await.unwrap_err();
    assert_eq!(code(&e), -32602);
    assert!(e.to_string().contains("inputResponses.who"), "{e}");
    let ack = update(json!({"who": {"action": "accept", "content": {"name": "Ada"}}, "stray": {}}))
        .await
        .unwrap();
    assert_eq!(
        ack,
        json!({"resultType": "complete", "_meta": ack["_meta"]})
    );
    let partial = get(&c, id).await.unwrap();
    assert_eq!(partial["status"], "input_required");
    assert_eq!(partial["inputRequests"].as_object().unwrap().len(), 1);
    assert!(partial["inputRequests"].get("who-2").is_some());
    update(json!({"who-2": {"action": "accept", "content": {"name": "Bo"}}}))
        .await
        .unwrap();
    let done = wait_for(&c, id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "Ada then Bo");
    // An answered key stays answered.
    let late = update(json!({"who": {"action": "decline"}})).await.unwrap();
    assert_eq!(late["resultType"], "complete");
}

#[tokio::test]
async fn a_question_the_handler_gave_up_on_is_withdrawn() {
    let c = Client::connect(server()).await.unwrap();
    let id = call_tool(&c, "impatient", with_tasks()).await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut saw_question = false;
    let mut t = Value::Null;
    for _ in 0..100 {
        t = get(&c, &id).await.unwrap();
        saw_question |= t["status"] == "input_required";
        if saw_question && t["status"] == "working" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(saw_question, "the question was never asked");
    assert_eq!(t["status"], "working", "{t}");
    assert!(t.get("inputRequests").is_none());
    open_gate(&c).await;
    let done = wait_for(&c, &id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "gave up asking");
}

#[tokio::test]
async fn tasks_cancel_stops_the_handler_its_context_hears_it_and_acks_are_idempotent() {
    let server = server();
    let c = Client::connect(server).await.unwrap();
    let id = call_tool(&c, "endless", with_tasks()).await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let cancel = || {
        call(
            &c,
            "tasks/cancel",
            json!({"taskId": id, "_meta": with_tasks()}),
        )
    };
    let ack = cancel().await.unwrap();
    assert_eq!(ack["resultType"], "complete");
    assert!(ack.get("status").is_none() && ack.get("taskId").is_none());
    let t = get(&c, &id).await.unwrap();
    assert_eq!(t["status"], "cancelled");
    assert!(t.get("result").is_none() && t.get("error").is_none());
    let heard = call_tool(&c, "heard_cancel", meta(json!({})))
        .await
        .unwrap();
    assert_eq!(heard["content"][0]["text"], "true");
    assert_eq!(cancel().await.unwrap()["resultType"], "complete");
    let unknown = call(
        &c,
        "tasks/cancel",
        json!({"taskId": "nope", "_meta": with_tasks()}),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&unknown), -32602);
}

/// Whether `endless` heard its cancellation (after a moment to let it).
#[tool]
async fn heard_cancel(heard: State<Heard>) -> String {
    for _ in 0..100 {
        if heard.0.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    heard.0.load(Ordering::SeqCst).to_string()
}

#[tokio::test]
async fn a_panic_fails_the_task_and_a_tool_error_completes_it() {
    let c = Client::connect(server()).await.unwrap();
    let id = call_tool(&c, "crashes", with_tasks()).await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = wait_for(&c, &id, "failed").await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], -32603);
    let message = failed["error"]["message"].as_str().unwrap();
    assert_eq!(
        message, "internal error in tool `crashes` (the server log has the details)",
        "the panic's own message stays in the log"
    );
    assert_eq!(failed["statusMessage"], message);
    assert!(failed.get("result").is_none());
    let id = call_tool(&c, "fails", with_tasks()).await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let completed = wait_for(&c, &id, "completed").await;
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["result"]["isError"], true);
    assert_eq!(completed["result"]["content"][0]["text"], "no such invoice");
}

#[tokio::test]
async fn tasks_expire_after_their_ttl_and_the_store_is_bounded() {
    let server = Server::new("short")
        .state(Gate::default())
        .state(Heard::default())
        .task_ttl(Some(Duration::from_millis(200)))
        .max_tasks(1);
    let c = Client::connect(server).await.unwrap();
    let id = call_tool(&c, "endless", with_tasks()).await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let full = call_tool(&c, "gated", with_tasks()).await.unwrap_err();
    assert_eq!(code(&full), -32603);
    assert!(full.to_string().contains("limit"), "{full}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gone = get(&c, &id).await.unwrap_err();
    assert_eq!(code(&gone), -32602);
    assert!(gone.to_string().contains("expired"), "{gone}");
    // The expired task was stopped, and its room is free again.
    let heard = call_tool(&c, "heard_cancel", meta(json!({})))
        .await
        .unwrap();
    assert_eq!(heard["content"][0]["text"], "true");
    let again = call_tool(&c, "gated", with_tasks()).await.unwrap();
    assert_eq!(again["resultType"], "task");
    assert_eq!(again["ttlMs"], 200);
}

#[tokio::test]
async fn listeners_hear_the_tasks_they_asked_for() {
    let c = Client::connect(server()).await.unwrap();
    let id = call_tool(&c, "gated", with_tasks()).await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = call(
        &c,
        "subscriptions/listen",
        json!({"notifications": {"taskIds": [id]}, "_meta": meta(json!({}))}),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&refused), -32021);
    let (listen_id, _listening) = c
        .start_request(
            "subscriptions/listen",
            &json!({"notifications": {"taskIds": [id, "unknown"]}, "_meta": with_tasks()}),
        )
        .await
        .unwrap();
    let next = || async {
        tokio::time::timeout(Duration::from_secs(5), c.next_notification())
            .await
            .expect("a notification")
            .unwrap()
    };
    let ack = next().await;
    assert_eq!(ack.method, "notifications/subscriptions/acknowledged");
    assert_eq!(ack.params["notifications"], json!({"taskIds": [id]}));
    open_gate(&c).await;
    let n = next().await;
    assert_eq!(n.method, "notifications/tasks");
    assert_eq!(n.params["taskId"], id);
    assert_eq!(n.params["status"], "completed");
    assert_eq!(n.params["result"]["structuredContent"]["opened"], true);
    assert_eq!(
        n.params["_meta"]["io.modelcontextprotocol/subscriptionId"],
        serde_json::to_value(&listen_id).unwrap()
    );
    c.cancel(&listen_id, "done").await.unwrap();
}

#[tokio::test]
async fn the_client_follows_a_task_over_http_with_its_routing_headers() {
    use mcp_runtime::{ClientOptions, HttpClientOptions, HttpOptions, HttpServer};
    let server = HttpServer::bind(
        server(),
        HttpOptions {
            port: 0,
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let url = server.url();
    let serving = tokio::spawn(server.run_until(std::future::pending::<()>()));
    let options = ClientOptions {
        protocol_version: "2026-07-28".into(),
        capabilities: json!({"extensions": {EXT: {}}})
            .as_object()
            .unwrap()
            .clone(),
        ..ClientOptions::default()
    };
    let c = Client::connect_http_with(&url, HttpClientOptions::default(), options)
        .await
        .unwrap();
    let created: Value = c
        .request("tools/call", &json!({"name": "gated", "arguments": {}}))
        .await
        .unwrap();
    assert_eq!(created["resultType"], "task", "{created}");
    let id = created["taskId"].as_str().unwrap();
    // The server checks `Mcp-Name` against the task id on every task method.
    let t: Value = c
        .request("tasks/get", &json!({"taskId": id}))
        .await
        .unwrap();
    assert_eq!(t["status"], "working");
    let _: Value = c
        .request("tools/call", &json!({"name": "release", "arguments": {}}))
        .await
        .unwrap();
    let mut done = Value::Null;
    for _ in 0..200 {
        done = c
            .request("tasks/get", &json!({"taskId": id}))
            .await
            .unwrap();
        if done["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        done["result"]["structuredContent"]["opened"], true,
        "{done}"
    );
    let ack: Value = c
        .request("tasks/cancel", &json!({"taskId": id}))
        .await
        .unwrap();
    assert!(ack.get("status").is_none());
    serving.abort();
}
