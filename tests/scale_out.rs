//! Replicas sharing state through Redis: three `everything` servers with `--redis-url`, a
//! real `redis-server` and HAProxy (round robin, no stickiness), all on free loopback ports.
//! Requests are sent to chosen replicas (to know where each lands) and through the balancer.
//! Needs `redis-server` and `haproxy` (`scripts/test` installs them) and `cargo build
//! --examples`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mcp_runtime::auth::api_keys;
use mcp_runtime::client::{ClientOptions, ServerRequestHandler};
use mcp_runtime::{
    Client, HttpClientOptions, HttpOptions, HttpServer, Server, SessionLimits, tool,
};
use mcp_workspace::HttpExample;
use mcp_workspace::cluster::{Haproxy, Redis, replica};
use serde_json::{Value, json};

const REVISION: &str = "2025-11-25";

struct Cluster {
    replicas: Vec<HttpExample>,
    redis: Redis,
}

impl Cluster {
    fn start(n: usize) -> Cluster {
        let redis = Redis::start();
        let replicas = (0..n)
            .map(|_| replica("everything", &redis.url(), &[]))
            .collect();
        Cluster { replicas, redis }
    }

    fn addr(&self, i: usize) -> &str {
        self.replicas[i].addr()
    }

    fn logs(&self) -> String {
        self.replicas
            .iter()
            .map(|r| r.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }
}

/// The head of a POST to `/mcp` on `addr`.
fn head(addr: &str, session: Option<&str>, extra: &str) -> String {
    let mut h = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {REVISION}\r\n"
    );
    if let Some(s) = session {
        h.push_str(&format!("Mcp-Session-Id: {s}\r\n"));
    }
    h.push_str(extra);
    h
}

/// One exchange on a new connection: status, headers and body.
fn exchange(addr: &str, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("reading the response");
    let code = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (headers, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (code, headers.to_string(), body.to_string())
}

fn post(addr: &str, session: Option<&str>, body: &Value) -> (u16, String, String) {
    let body = body.to_string();
    exchange(
        addr,
        &format!(
            "{}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            head(addr, session, ""),
            body.len()
        ),
    )
}

/// Starts a session on `addr`; its id.
fn initialize(addr: &str) -> String {
    let (code, headers, body) = post(
        addr,
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": REVISION,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "scale-out-test", "version": "1"}
        }}),
    );
    assert_eq!(code, 200, "{body}");
    headers
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("mcp-session-id")
                .then(|| value.trim().to_string())
        })
        .expect("a session id")
}

fn call(addr: &str, session: &str, id: u64, tool: &str, arguments: Value) -> (u16, String) {
    let (code, _, body) = post(
        addr,
        Some(session),
        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}),
    );
    (code, body)
}

/// Polls `f` until it is true or 10 seconds pass.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request whose response is read as it comes, on a thread: each read chunk is sent on.
struct Streaming {
    rx: mpsc::Receiver<String>,
    seen: String,
}

impl Streaming {
    fn open(addr: &str, request: String) -> Streaming {
        let mut s = TcpStream::connect(addr).expect("connecting");
        s.write_all(request.as_bytes()).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0
                    || tx
                        .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
        Streaming {
            rx,
            seen: String::new(),
        }
    }

    fn post(addr: &str, session: &str, body: &Value) -> Streaming {
        let body = body.to_string();
        Streaming::open(
            addr,
            format!(
                "{}Content-Length: {}\r\n\r\n{body}",
                head(addr, Some(session), ""),
                body.len()
            ),
        )
    }

    fn get(addr: &str, session: &str, last_event_id: Option<&str>) -> Streaming {
        let last = last_event_id.map_or(String::new(), |l| format!("Last-Event-ID: {l}\r\n"));
        Streaming::open(
            addr,
            format!(
                "GET /mcp HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
                 MCP-Protocol-Version: {REVISION}\r\nMcp-Session-Id: {session}\r\n{last}\r\n"
            ),
        )
    }

    /// Waits until what was received contains `needle`; everything so far.
    fn wait_for(&mut self, needle: &str) -> &str {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.push_str(&chunk),
                Err(_) => panic!("never received {needle:?}; got {:?}", self.seen),
            }
        }
        &self.seen
    }
}

/// The JSON of the first SSE `data:` line containing `needle`.
fn data_with(text: &str, needle: &str) -> Value {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .find(|l| l.contains(needle))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no data line with {needle:?} in {text:?}"))
}

#[test]
fn a_session_started_on_one_replica_is_served_by_the_others_and_ended_everywhere() {
    let c = Cluster::start(3);
    let session = initialize(c.addr(0));
    let (code, _, _) = post(
        c.addr(1),
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(code, 202);
    let (code, body) = call(c.addr(2), &session, 2, "test_simple_text", json!({}));
    assert_eq!(code, 200, "{body}\n{}", c.logs());
    assert!(body.contains("This is a simple text response"), "{body}");

    // DELETE on one replica ends the session on all of them.
    let (code, _, body) = exchange(
        c.addr(1),
        &format!(
            "DELETE /mcp HTTP/1.1\r\nHost: {}\r\nMcp-Session-Id: {session}\r\n\
             MCP-Protocol-Version: {REVISION}\r\nConnection: close\r\n\r\n",
            c.addr(1)
        ),
    );
    assert_eq!(code, 204, "{body}");
    for r in [0, 2] {
        eventually("the session ends on every replica", || {
            call(c.addr(r), &session, 3, "test_simple_text", json!({})).0 == 404
        });
    }
    // An unknown session is still a 404 (the store is asked, and knows nothing of it).
    assert_eq!(
        call(c.addr(0), "nonexistent", 4, "test_simple_text", json!({})).0,
        404
    );
}

#[test]
fn the_log_level_set_on_one_replica_holds_on_another() {
    let c = Cluster::start(2);
    let session = initialize(c.addr(0));
    let logging = |addr: &str, id: u64| {
        let (code, body) = call(addr, &session, id, "test_tool_with_logging", json!({}));
        assert_eq!(code, 200, "{body}");
        body.contains("notifications/message")
    };
    assert!(
        logging(c.addr(1), 2),
        "info messages reach a client that set no level"
    );
    let (code, _, body) = post(
        c.addr(0),
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": {"level": "error"}}),
    );
    assert_eq!(code, 200, "{body}");
    eventually("the other replica hears of the new level", || {
        !logging(c.addr(1), 4)
    });
}

#[test]
fn a_request_to_the_client_is_answered_through_another_replica() {
    let c = Cluster::start(2);
    let session = initialize(c.addr(0));
    let mut call = Streaming::post(
        c.addr(0),
        &session,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "test_elicitation", "arguments": {"message": "who?"}}}),
    );
    let seen = call.wait_for("elicitation/create").to_string();
    let request = data_with(&seen, "elicitation/create");
    let (code, _, body) = post(
        c.addr(1),
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": request["id"], "result": {
            "action": "accept",
            "content": {"username": "ada", "email": "ada@example.com"}
        }}),
    );
    assert_eq!(code, 202, "{body}");
    let done = call.wait_for("User response").to_string();
    assert!(done.contains("ada"), "{done}");
}

#[test]
fn cancellation_reaches_the_replica_running_the_call() {
    let c = Cluster::start(2);
    let session = initialize(c.addr(0));
    let mut running = Streaming::post(
        c.addr(0),
        &session,
        &json!({"jsonrpc": "2.0", "id": 41, "method": "tools/call",
                "params": {"name": "test_cancellation", "arguments": {}}}),
    );
    // Give the call a moment to start (if the cancellation came first it would be ignored,
    // and the poll below would fail, not pass).
    std::thread::sleep(Duration::from_millis(500));
    let _ = &mut running;
    let (code, _, _) = post(
        c.addr(1),
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": 41, "reason": "changed my mind"}}),
    );
    assert_eq!(code, 202);
    eventually(
        "the replica running the call records the cancellation",
        || {
            let (_, body) = call(c.addr(0), &session, 42, "test_cancellation_log", json!({}));
            body.contains("41")
        },
    );
}

#[test]
fn a_stream_closed_on_one_replica_resumes_on_another() {
    let c = Cluster::start(2);
    let session = initialize(c.addr(0));
    let mut call = Streaming::post(
        c.addr(0),
        &session,
        &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": "test_reconnection", "arguments": {}}}),
    );
    let seen = call.wait_for("\n\n").to_string();
    // The priming event names the stream: `id: <stream>-0`.
    let primed = seen
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap_or_else(|| panic!("no event id in {seen:?}"))
        .trim()
        .to_string();
    let mut resumed = Streaming::get(c.addr(1), &session, Some(&primed));
    let replayed = resumed.wait_for("Reconnection test completed").to_string();
    assert!(replayed.contains("\"id\":9"), "{replayed}");
}

#[test]
fn list_changed_reaches_listeners_on_every_replica() {
    let c = Cluster::start(2);
    let session = initialize(c.addr(0));
    let mut listening = Streaming::get(c.addr(1), &session, None);
    listening.wait_for("HTTP/1.1 200");
    let (code, body) = call(
        c.addr(0),
        &session,
        2,
        "test_trigger_tool_change",
        json!({}),
    );
    assert_eq!(code, 200, "{body}");
    listening.wait_for("notifications/tools/list_changed");
}

/// The id of the event whose data contains `needle`.
fn event_id_with(text: &str, needle: &str) -> String {
    text.split("\n\n")
        .find(|e| {
            e.lines()
                .any(|l| l.starts_with("data: ") && l.contains(needle))
        })
        .and_then(|e| e.lines().find_map(|l| l.strip_prefix("id: ")))
        .unwrap_or_else(|| panic!("no event with {needle:?} and an id in {text:?}"))
        .trim()
        .to_string()
}

#[test]
fn get_streams_of_one_session_on_two_replicas_have_distinct_ids_and_replay_apart() {
    const CHANGED: &str = "notifications/tools/list_changed";
    let c = Cluster::start(3);
    let session = initialize(c.addr(0));
    // Replica 1 holds the session too: both buffer its GET stream while nobody listens.
    assert_eq!(
        call(c.addr(1), &session, 2, "test_simple_text", json!({})).0,
        200
    );
    let (code, body) = call(
        c.addr(0),
        &session,
        3,
        "test_trigger_tool_change",
        json!({}),
    );
    assert_eq!(code, 200, "{body}");
    let first_ids: Vec<String> = (0..2)
        .map(|r| {
            let mut get = Streaming::get(c.addr(r), &session, None);
            let seen = get.wait_for(CHANGED).to_string();
            event_id_with(&seen, CHANGED)
        })
        .collect();
    assert_ne!(
        first_ids[0], first_ids[1],
        "one id for two different events: a resume could not tell them apart"
    );
    // Another change while nobody listens; the client resumes replica 0's GET stream on
    // replica 2: it gets what replica 0 sent after its id, once, not replica 1's as well.
    std::thread::sleep(Duration::from_millis(300));
    let (code, body) = call(
        c.addr(0),
        &session,
        4,
        "test_trigger_tool_change",
        json!({}),
    );
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(Duration::from_millis(500)); // the shared log is written off the path
    let mut resumed = Streaming::get(c.addr(2), &session, Some(&first_ids[0]));
    let replayed = resumed.wait_for(CHANGED).to_string();
    let second = event_id_with(&replayed, CHANGED);
    assert_ne!(second, first_ids[0], "{replayed}");
    assert_eq!(
        second.split('-').next(),
        first_ids[0].split('-').next(),
        "replica 0's stream: {replayed}"
    );
    std::thread::sleep(Duration::from_millis(500));
    while let Ok(chunk) = resumed.rx.try_recv() {
        resumed.seen.push_str(&chunk);
    }
    assert_eq!(
        resumed.seen.matches(CHANGED).count(),
        1,
        "the missed event, once: {}",
        resumed.seen
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn text_of(result: &mcp_runtime::CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_client_through_a_round_robin_balancer_keeps_its_session() {
    let c = Cluster::start(3);
    let addrs: Vec<&str> = (0..3).map(|i| c.addr(i)).collect();
    let lb = Haproxy::start(&addrs);
    runtime().block_on(async {
        let options = ClientOptions {
            capabilities: json!({"elicitation": {}}).as_object().unwrap().clone(),
            on_request: Some(ServerRequestHandler::new(|method, _params| {
                Box::pin(async move {
                    assert_eq!(method, "elicitation/create");
                    Ok(json!({"action": "accept",
                              "content": {"username": "lb", "email": "lb@example.com"}}))
                })
            })),
            ..ClientOptions::default()
        };
        let client = Client::connect_http_with(&lb.url(), HttpClientOptions::default(), options)
            .await
            .expect("connecting through the balancer");
        // Round robin: these land on every replica in turn.
        for _ in 0..6 {
            let r = client
                .call_tool("test_simple_text", json!({}))
                .await
                .unwrap();
            assert!(text_of(&r).contains("simple text"), "{r:?}");
        }
        let r = client
            .call_tool("test_elicitation", json!({"message": "who?"}))
            .await
            .unwrap();
        assert!(text_of(&r).contains("lb@example.com"), "{r:?}");
        client.close().await.unwrap();
    });
}

#[test]
fn a_request_state_sealed_on_one_replica_opens_on_another() {
    let c = Cluster::start(3);
    let addrs: Vec<&str> = (0..3).map(|i| c.addr(i)).collect();
    let lb = Haproxy::start(&addrs);
    runtime().block_on(async {
        let options = ClientOptions {
            protocol_version: "2026-07-28".into(),
            capabilities: json!({"elicitation": {}}).as_object().unwrap().clone(),
            on_request: Some(ServerRequestHandler::new(|_method, _params| {
                Box::pin(async move { Ok(json!({"action": "accept", "content": {"name": "Lin"}})) })
            })),
            ..ClientOptions::default()
        };
        let client = Client::connect_http_with(&lb.url(), HttpClientOptions::default(), options)
            .await
            .expect("connecting through the balancer");
        // Each call takes two rounds; with three replicas in round robin, consecutive rounds
        // land on different ones, so the second opens a state another replica sealed.
        for _ in 0..3 {
            let r = client
                .call_tool("test_input_required_result_elicitation", json!({}))
                .await
                .unwrap();
            assert_eq!(text_of(&r), "Hello, Lin!", "{r:?}");
        }
    });
}

#[test]
fn a_killed_replica_and_a_rolling_restart_lose_no_session() {
    let mut c = Cluster::start(2);
    let session = initialize(c.addr(0));
    // A call in flight on replica 0 when it dies: it waits for the client's answer.
    let mut running = Streaming::post(
        c.addr(0),
        &session,
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                "params": {"name": "test_elicitation", "arguments": {"message": "?"}}}),
    );
    let seen = running.wait_for("elicitation/create").to_string();
    let last = seen
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .next_back()
        .expect("event ids")
        .trim()
        .to_string();
    c.replicas.remove(0); // killed
    drop(running);
    let (code, body) = call(c.addr(0), &session, 6, "test_simple_text", json!({}));
    assert_eq!(code, 200, "the session goes on elsewhere: {body}");
    // Resuming the lost call's stream elsewhere reports it lost, rather than waiting.
    let mut resumed = Streaming::get(c.addr(0), &session, Some(&last));
    let lost = resumed.wait_for("stopped before it").to_string();
    let error = data_with(&lost, "stopped before it");
    assert_eq!(error["id"], 5, "{error}");
    assert_eq!(error["error"]["code"], -32603, "{error}");

    // Replace every replica, one at a time: the session outlives them all.
    let url = c.redis.url();
    for _ in 0..2 {
        c.replicas.push(replica("everything", &url, &[]));
        c.replicas.remove(0);
        let last = c.replicas.len() - 1;
        let (code, body) = call(c.addr(last), &session, 7, "test_simple_text", json!({}));
        assert_eq!(code, 200, "{body}");
    }
}

#[test]
fn redis_down_is_a_503_and_service_recovers_when_it_returns() {
    let mut c = Cluster::start(2);
    let session = initialize(c.addr(0));
    let readyz = |addr: &str| {
        exchange(
            addr,
            "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
    };
    assert_eq!(readyz(c.addr(1)).0, 200, "ready while Redis answers");
    c.redis.stop();
    // Readiness turns false, naming the store, so the balancer sends no new clients here.
    let (code, _, body) = readyz(c.addr(1));
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("store"), "{body}");
    // Replica 1 does not hold the session and cannot ask: 503, not 404 (which would make
    // the client start over) and not a hang.
    let (code, _, body) = post(
        c.addr(1),
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "test_simple_text", "arguments": {}}}),
    );
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("shared session store"), "{body}");
    // A new session needs the store too.
    let (code, _, _) = post(
        c.addr(1),
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": REVISION, "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
    );
    assert_eq!(code, 503);
    // The replica that holds the session serves it meanwhile.
    let (code, body) = call(c.addr(0), &session, 3, "test_simple_text", json!({}));
    assert_eq!(code, 200, "{body}\n{}", c.logs());

    c.redis.restart();
    eventually("ready again once Redis is back", || {
        readyz(c.addr(1)).0 == 200
    });
    eventually("sessions start again once Redis is back", || {
        let (code, _, _) = post(
            c.addr(1),
            None,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": REVISION, "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}}),
        );
        code == 200
    });
    let fresh = initialize(c.addr(1));
    assert_eq!(
        call(c.addr(0), &fresh, 2, "test_simple_text", json!({})).0,
        200
    );
}

/// The interpreter of `.cache/venv` and Node 22 of `.cache/node22` (`scripts/test` makes
/// them).
fn tools() -> (std::path::PathBuf, std::path::PathBuf) {
    let root = mcp_workspace::workspace_root();
    let python = std::env::var_os("MCP_VENV_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| root.join(".cache/venv/bin/python"));
    let node = std::env::var_os("NODE")
        .map(Into::into)
        .unwrap_or_else(|| root.join(".cache/node22/node_modules/.bin/node"));
    for p in [&python, &node] {
        assert!(
            p.exists(),
            "{} is missing: run `scripts/test --setup-only` (or set MCP_VENV_PYTHON / NODE)",
            p.display()
        );
    }
    (python, node)
}

/// Three replicas behind HAProxy, and a client process given the balancer's URL.
fn through_the_balancer(args: impl FnOnce(&str) -> Vec<std::ffi::OsString>) -> String {
    let c = Cluster::start(3);
    let addrs: Vec<&str> = (0..3).map(|i| c.addr(i)).collect();
    let lb = Haproxy::start(&addrs);
    let (python, _) = tools();
    let output = std::process::Command::new(python)
        .args(args(&lb.url()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running the client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{text}\n--- replicas ---\n{}",
        c.logs()
    );
    text
}

#[test]
fn the_python_sdk_client_keeps_its_session_through_the_balancer() {
    let script = mcp_workspace::workspace_root().join("tests/interop/python/scale_out.py");
    let out = through_the_balancer(|url| vec![script.into(), url.into()]);
    assert_eq!(
        out.matches("\nok ").count() + usize::from(out.starts_with("ok ")),
        4,
        "{out}"
    );
}

#[test]
fn the_conformance_suite_passes_through_the_balancer() {
    let root = mcp_workspace::workspace_root();
    let (_, node) = tools();
    let out_dir = std::env::temp_dir().join(format!("mcp-conformance-lb-{}", std::process::id()));
    let out = through_the_balancer(|url| {
        vec![
            root.join("tests/conformance/run.py").into(),
            "--node".into(),
            node.into(),
            "--url".into(),
            url.into(),
            "--out".into(),
            out_dir.clone().into(),
        ]
    });
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(
        out.contains("conformance: ") && out.contains(" 0 failed"),
        "{out}"
    );
}

/// A client of the 2026-07-28 revision with the tasks extension, connected to one replica.
async fn task_client(addr: &str) -> Client {
    let options = ClientOptions {
        protocol_version: "2026-07-28".into(),
        capabilities:
            json!({"elicitation": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}})
                .as_object()
                .unwrap()
                .clone(),
        ..ClientOptions::default()
    };
    Client::connect_http_with(
        &format!("http://{addr}/mcp"),
        HttpClientOptions::default(),
        options,
    )
    .await
    .expect("connecting")
}

async fn task_request(c: &Client, method: &str, params: Value) -> Value {
    c.request::<_, Value>(method, &params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// Polls task `id` through `c` until `done` says so (or 20 seconds pass).
async fn task_until(c: &Client, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = task_request(c, "tasks/get", json!({"taskId": id})).await;
        if done(&t) {
            return t;
        }
        assert!(Instant::now() < deadline, "never happened; last {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_task_is_polled_updated_and_cancelled_from_other_replicas_and_outlives_its_own() {
    let mut c = Cluster::start(3);
    let (a, b, third) = (
        c.addr(0).to_string(),
        c.addr(1).to_string(),
        c.addr(2).to_string(),
    );
    let rt = runtime();
    let (done_id, on_b, on_c) = rt.block_on(async {
        let (on_a, on_b, on_c) = (task_client(&a).await, task_client(&b).await, task_client(&third).await);
        let create = |name: &str, arguments: Value| {
            let on_a = &on_a;
            let name = name.to_string();
            async move {
                let created = task_request(on_a, "tools/call", json!({"name": name, "arguments": arguments})).await;
                assert_eq!(created["resultType"], "task", "{created}");
                created["taskId"].as_str().unwrap().to_string()
            }
        };
        let quick = create("slow_compute", json!({"seconds": 2, "label": "quick"})).await;
        let long = create("slow_compute", json!({"seconds": 120, "label": "long"})).await;
        let asking = create("confirm_delete", json!({"filename": "notes.txt"})).await;

        // Polled elsewhere: the shared copy.
        let t = task_request(&on_b, "tasks/get", json!({"taskId": quick})).await;
        assert_eq!(t["status"], "working", "{t}");
        // Cancelled elsewhere: the replica running it stops it.
        task_request(&on_b, "tasks/cancel", json!({"taskId": long})).await;
        let t = task_until(&on_a, &long, |t| t["status"] != "working").await;
        assert_eq!(t["status"], "cancelled", "{t}");
        // Answered elsewhere: the question waits in the task on A, the answer comes to C.
        let t = task_until(&on_c, &asking, |t| t["status"] == "input_required").await;
        let key = t["inputRequests"].as_object().and_then(|m| m.keys().next().cloned()).expect("a question");
        task_request(
            &on_c,
            "tasks/update",
            json!({"taskId": asking, "inputResponses": {key: {"action": "accept", "content": {"confirm": true}}}}),
        )
        .await;
        let t = task_until(&on_a, &asking, |t| t["status"] == "completed").await;
        assert!(t.to_string().contains("Deleted notes.txt."), "{t}");
        let t = task_until(&on_b, &quick, |t| t["status"] == "completed").await;
        assert!(t.to_string().contains("quick: done after 2 s"), "{t}");
        (quick, on_b, on_c)
    });
    // The replica that ran it stops: the result is still there, on every other.
    c.replicas.remove(0);
    rt.block_on(async {
        for client in [&on_b, &on_c] {
            let t = task_request(client, "tasks/get", json!({"taskId": done_id})).await;
            assert_eq!(t["status"], "completed", "{t}");
            assert!(t.to_string().contains("quick: done after 2 s"), "{t}");
        }
    });
}

// ------------------------------------------------------------ servers of this binary

/// Sleeps `ms` milliseconds, then says so.
#[tool(scopes())]
async fn slow_for(ms: u64) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slept".into()
}

/// Works for a minute; only as a task.
#[tool(task = "required", scopes())]
async fn long_job() -> String {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "done".into()
}

/// Logs `count` messages of 1 000 bytes, then answers.
#[tool(scopes())]
async fn chatty(count: u64, ctx: mcp_runtime::server::Context) -> String {
    for _ in 0..count {
        ctx.info("x".repeat(1_000));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    "said".into()
}

/// Needs `notes:write` to be seen.
#[tool(scopes("notes:write"))]
fn scoped_write() -> String {
    "written".into()
}

/// Seen by anyone.
#[tool(scopes())]
fn open_ping() -> String {
    "pong".into()
}

/// Servers of this test binary (its tools) sharing state through Redis, each on a free
/// loopback port, in one runtime (stopped when dropped).
struct InProcess {
    addrs: Vec<String>,
    handles: Vec<mcp_runtime::server::ServerHandle>,
    rt: tokio::runtime::Runtime,
}

impl InProcess {
    fn start(
        n: usize,
        redis: &Redis,
        server: impl Fn() -> Server,
        options: HttpOptions,
    ) -> InProcess {
        let rt = runtime();
        let mut addrs = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..n {
            let server = server();
            handles.push(server.handle());
            let options = HttpOptions {
                port: 0,
                redis_url: Some(redis.url()),
                ..options.clone()
            };
            let http = rt
                .block_on(HttpServer::bind(server, options))
                .expect("binding");
            addrs.push(http.local_addr().to_string());
            rt.spawn(async move {
                let _ = http.run_until(std::future::pending()).await;
            });
        }
        InProcess { addrs, handles, rt }
    }
}

#[test]
fn the_budget_of_requests_in_flight_holds_across_replicas_through_the_balancer() {
    let redis = Redis::start();
    let servers = InProcess::start(
        3,
        &redis,
        || {
            Server::new("budget-test").session_limits(SessionLimits {
                max_requests_in_flight: 2,
                ..SessionLimits::default()
            })
        },
        HttpOptions::default(),
    );
    let addrs: Vec<&str> = servers.addrs.iter().map(String::as_str).collect();
    let lb = Haproxy::start(&addrs);
    let lb_addr = format!("127.0.0.1:{}", lb.port);
    let session = initialize(&lb_addr);
    let slow = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "slow_for", "arguments": {"ms": 3000}}})
    };
    // Round robin: these land on three different replicas, one each, so no replica's own
    // count reaches 2; the session's does.
    let mut running: Vec<Streaming> = (0..2)
        .map(|i| {
            let s = Streaming::post(&lb_addr, &session, &slow(10 + i));
            std::thread::sleep(Duration::from_millis(300));
            s
        })
        .collect();
    let (code, headers, body) = post(&lb_addr, Some(&session), &slow(12));
    assert_eq!(code, 429, "the third request in flight is refused: {body}");
    assert!(body.contains("may have 2 running at once"), "{body}");
    assert!(
        headers.to_ascii_lowercase().contains("retry-after"),
        "{headers}"
    );
    for r in &mut running {
        r.wait_for("slept");
    }
    // The slots came back: the budget is free again, on every replica.
    for id in 20..23 {
        let (code, body) = call(&lb_addr, &session, id, "slow_for", json!({"ms": 1}));
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("slept"), "{body}");
    }
    drop(servers);
}

#[test]
fn list_changed_from_another_replica_reaches_only_callers_who_may_see_the_item() {
    let redis = Redis::start();
    let dir = mcp_workspace::cluster::TempDir::new("scale-keys");
    let path = dir.0.join("keys.jsonl");
    let reader = api_keys::generate("reader", &["notes:read".into()], None).unwrap();
    let writer =
        api_keys::generate("writer", &["notes:read".into(), "notes:write".into()], None).unwrap();
    std::fs::write(&path, format!("{}\n{}\n", reader.line, writer.line)).unwrap();
    let servers = InProcess::start(
        2,
        &redis,
        || Server::new("audience-test"),
        HttpOptions {
            api_keys: Some(path.clone()),
            ..HttpOptions::default()
        },
    );
    let on_b = format!("http://{}/mcp", servers.addrs[1]);
    servers.rt.block_on(async {
        let connect = |key: String| {
            let url = on_b.clone();
            async move {
                Client::connect_http_with(
                    &url,
                    HttpClientOptions::default().header("X-API-Key", key),
                    ClientOptions::default(),
                )
                .await
                .expect("connecting to replica B")
            }
        };
        let (r, w) = (
            connect(reader.secret.clone()).await,
            connect(writer.secret.clone()).await,
        );
        // Both GET streams (on B) are open once a request after the handshake was answered.
        r.ping().await.unwrap();
        w.ping().await.unwrap();

        // Changes made on replica A, where neither client is.
        assert!(servers.handles[0].disable_tool("scoped_write"));
        assert!(servers.handles[0].disable_tool("open_ping"));

        async fn next_change(client: &Client, within: Duration) -> bool {
            let deadline = tokio::time::Instant::now() + within;
            while let Ok(Some(n)) =
                tokio::time::timeout_at(deadline, client.next_notification()).await
            {
                if n.method == "notifications/tools/list_changed" {
                    return true;
                }
            }
            false
        }
        for _ in 0..2 {
            assert!(
                next_change(&w, Duration::from_secs(10)).await,
                "the writer sees both tools"
            );
        }
        assert!(
            next_change(&r, Duration::from_secs(10)).await,
            "the open tool's change"
        );
        assert!(
            !next_change(&r, Duration::from_millis(1500)).await,
            "the reader cannot see `scoped_write`: its list did not change"
        );
        // The change travelled as a catalog change too: B serves neither tool now.
        let listed = w.list_tools(None).await.unwrap();
        assert!(
            !format!("{listed:?}").contains("scoped_write"),
            "{listed:?}"
        );
    });
    drop(servers);
}

#[test]
fn the_task_quota_holds_across_replicas_through_the_balancer() {
    let redis = Redis::start();
    let servers = InProcess::start(
        3,
        &redis,
        || {
            Server::new("task-quota-test").session_limits(SessionLimits {
                max_tasks: 2,
                ..SessionLimits::default()
            })
        },
        HttpOptions::default(),
    );
    let addrs: Vec<&str> = servers.addrs.iter().map(String::as_str).collect();
    let lb = Haproxy::start(&addrs);
    let lb_addr = format!("127.0.0.1:{}", lb.port);
    servers.rt.block_on(async {
        let client = task_client(&lb_addr).await;
        let mut ids = Vec::new();
        // Round robin: one task on each replica; no replica's own count reaches the quota.
        for _ in 0..3 {
            let created = task_request(
                &client,
                "tools/call",
                json!({"name": "long_job", "arguments": {}}),
            )
            .await;
            assert_eq!(created["resultType"], "task", "{created}");
            ids.push(created["taskId"].as_str().unwrap().to_string());
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let refused = task_until(&client, &ids[2], |t| t["status"] != "working").await;
        assert_eq!(refused["status"], "failed", "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("holds 2 tasks across the server's replicas")),
            "{refused}"
        );
        for id in &ids[..2] {
            let t = task_request(&client, "tasks/get", json!({"taskId": id})).await;
            assert_eq!(t["status"], "working", "within the quota: {t}");
        }
    });
    drop(servers);
}

#[test]
fn the_shared_event_log_keeps_a_sessions_replay_bytes_bounded() {
    let redis = Redis::start();
    let servers = InProcess::start(
        2,
        &redis,
        || Server::new("replay-bytes-test"),
        HttpOptions {
            replay_bytes_per_stream: 3_000,
            replay_bytes_per_session: 8_000,
            ..HttpOptions::default()
        },
    );
    let a = servers.addrs[0].clone();
    let session = initialize(&a);
    // An integer reply (`:n`) or a bulk string of digits (`$len`, then the digits).
    let number = |command: String| -> u64 {
        let reply = redis.command(&command).unwrap_or_default();
        let mut lines = reply.lines();
        let first = lines.next().unwrap_or_default();
        let digits = match first.strip_prefix(':') {
            Some(n) => n,
            None => lines.next().unwrap_or_default(),
        };
        digits
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{command:?}: not a number: {reply:?}"))
    };
    let mut last = String::new();
    for id in 0..6 {
        let mut s = Streaming::post(
            &a,
            &session,
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "chatty", "arguments": {"count": 10}}}),
        );
        let seen = s.wait_for("said").to_string();
        last = event_id_with(&seen, "said");
    }
    std::thread::sleep(Duration::from_millis(500)); // written off the request path
    // Six streams of ten 1 000-byte events: each keeps at most 3 000 bytes (its newest
    // event always), the session at most 8 000 (older streams went whole).
    let stream = last.split('-').next().unwrap().to_string();
    let kept = number(format!("LLEN mcp:e:{session}:{stream}\r\n"));
    let bytes = number(format!("GET mcp:e:{session}:{stream}:b\r\n"));
    assert!(
        kept >= 2 && bytes <= 3_000,
        "a stream keeps 3 000 bytes of events: {kept} events of {bytes} bytes kept"
    );
    let total = number(format!("GET mcp:eb:{session}\r\n"));
    assert!(
        total > 0 && total <= 8_000 + 1_200,
        "the session's bytes in Redis: {total}"
    );
    let streams = number(format!("LLEN mcp:es:{session}\r\n"));
    assert!(streams <= 3, "whole older streams went: {streams} left");
    // The newest stream still resumes on the other replica, from the shared log.
    let mut resumed = Streaming::get(&servers.addrs[1], &session, Some(&format!("{stream}-0")));
    resumed.wait_for("said");
    drop(servers);
}

#[test]
fn redis_memory_per_idle_session_is_bounded_and_measured() {
    let c = Cluster::start(1);
    let usage = |key: &str| -> u64 {
        let reply = c
            .redis
            .command(&format!("MEMORY USAGE {key}\r\n"))
            .unwrap_or_default();
        reply
            .trim()
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let keys = |session: &str| -> Vec<String> {
        let reply = c
            .redis
            .command(&format!("KEYS *{session}*\r\n"))
            .unwrap_or_default();
        reply
            .lines()
            .filter(|l| l.starts_with("mcp:"))
            .map(str::to_string)
            .collect()
    };
    // A session that only did its handshake: its record.
    let idle = initialize(c.addr(0));
    std::thread::sleep(Duration::from_millis(300));
    let record: u64 = keys(&idle).iter().map(|k| usage(k)).sum();
    assert!(record > 0, "the record is in Redis: {:?}", keys(&idle));
    assert!(record <= 1_024, "an idle session's record: {record} bytes");
    // One that ran a streamed call: its record, the stream's kept events and their counters,
    // bounded by the replay budgets whatever the session does.
    let used = initialize(c.addr(0));
    let mut s = Streaming::post(
        c.addr(0),
        &used,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "test_tool_with_logging", "arguments": {}}}),
    );
    s.wait_for("\"id\":2");
    std::thread::sleep(Duration::from_millis(500));
    let streamed: u64 = keys(&used).iter().map(|k| usage(k)).sum();
    assert!(streamed > record, "{:?}", keys(&used));
    println!(
        "Redis memory: {record} bytes for a session after its handshake, {streamed} after one \
         streamed call ({} keys)",
        keys(&used).len()
    );
}
