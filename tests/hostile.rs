//! Hostile clients against the examples, over HTTP and stdio: slow and stalled clients,
//! connection floods, forged log lines, oversized names, duplicate ids, path tricks in
//! template values, cross-origin browsers. Each case is one the server once failed; the
//! limits are set small by flag so that no case needs many file descriptors.
//!
//! Durations in these tests are hang guards, never measurements: a case waits generously
//! for what must happen and fails only when it does not happen at all.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::{HttpOptions, HttpServer, SessionLimits};
use mcp_workspace::{HttpExample, StdioPeer, built_example};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const LATEST: &str = "2025-11-25";
/// How long a case waits for what must happen before it fails.
const GUARD: Duration = Duration::from_secs(20);

/// An example served over HTTP with `args`, under a file-descriptor limit when `nofile` is set
/// (soft and hard alike, so that raising the soft limit gains nothing).
fn serve(example: &str, nofile: Option<u32>, args: &[&str]) -> HttpExample {
    let binary = built_example(example);
    let command = match nofile {
        Some(n) => {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                .arg(binary);
            c
        }
        None => Command::new(binary),
    };
    HttpExample::start(command, args)
}

fn addr_of(server: &HttpExample) -> SocketAddr {
    server.addr().parse().expect("a socket address")
}

/// A connection to `addr` from the loopback address `from` (127.0.0.x: each one is a
/// different client address to the server).
async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("binding a loopback source address");
    socket.connect(addr).await.expect("connecting")
}

/// The head of a POST of `body.len()` bytes to `/mcp`, kept alive unless `close`.
fn post_head(addr: SocketAddr, session: Option<&str>, length: usize, close: bool) -> String {
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: {LATEST}\r\n\
         content-length: {length}\r\n"
    );
    if let Some(s) = session {
        head.push_str(&format!("mcp-session-id: {s}\r\n"));
    }
    if close {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    head
}

/// Reads until the peer closes (or `GUARD` passes: then what came so far).
async fn read_all(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(GUARD, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// One POST on a new connection from `from`, closed after it: the whole response.
async fn post_from(from: [u8; 4], addr: SocketAddr, session: Option<&str>, body: &Value) -> String {
    let mut s = connect_from(from, addr).await;
    let body = body.to_string();
    let head = post_head(addr, session, body.len(), true);
    s.write_all(format!("{head}{body}").as_bytes())
        .await
        .unwrap();
    read_all(&mut s).await
}

fn status(response: &str) -> u16 {
    response
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn initialize(name: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": LATEST,
            "capabilities": {},
            "clientInfo": {"name": name, "version": "0"}
        }
    })
}

// ------------------------------------------------------------------ item 1: slow clients

/// The issue's lockout, small: under a file limit of 64, a hundred connections from one
/// address that sent headers and ten body bytes each, and then stalled. The server keeps
/// only its per-address share of them, refuses the rest at once with 503, and a client from
/// another address is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_do_not_lock_other_clients_out() {
    let server = serve("quickstart", Some(64), &[]);
    let addr = addr_of(&server);
    let mut stalled = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let mut s = connect_from([127, 0, 0, 2], addr).await;
        let head = post_head(addr, None, 1000, false);
        if s.write_all(head.as_bytes()).await.is_err()
            || s.write_all(b"{\"jsonrpc\"").await.is_err()
        {
            refused += 1;
            continue;
        }
        stalled.push(s);
    }
    // Those over the cap were told so and closed; the others are still held.
    let mut answered_503 = 0;
    for s in &mut stalled {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                let text = String::from_utf8_lossy(&buf[..n]);
                assert_eq!(status(&text), 503, "{text}");
                assert_eq!(header(&text, "retry-after"), Some("1"), "{text}");
                answered_503 += 1;
            }
            Ok(_) => refused += 1,
            Err(_) => {}
        }
    }
    assert!(
        answered_503 + refused >= 80,
        "a file limit of 64 leaves room for 8 connections per address: {answered_503} refused with 503, {refused} closed"
    );
    let reply = post_from([127, 0, 0, 1], addr, None, &initialize("normal")).await;
    assert_eq!(status(&reply), 200, "{reply}\n{}", server.log());
    assert!(body(&reply).contains("protocolVersion"), "{reply}");
}

/// A body that stops after a few bytes is answered 408 once the body timeout passes, and its
/// connection is closed.
#[tokio::test]
async fn a_stalled_body_is_answered_408_and_closed() {
    let server = serve("quickstart", None, &["--body-timeout", "300ms"]);
    let addr = addr_of(&server);
    let mut s = connect_from([127, 0, 0, 1], addr).await;
    s.write_all(post_head(addr, None, 1000, false).as_bytes())
        .await
        .unwrap();
    s.write_all(b"{\"jsonrpc\"").await.unwrap();
    let reply = read_all(&mut s).await;
    assert_eq!(status(&reply), 408, "{reply}");
    assert_eq!(header(&reply, "connection"), Some("close"), "{reply}");
    assert!(
        body(&reply).contains("did not arrive within 0.3 s"),
        "{reply}"
    );
}

/// A connection that sends nothing, or nothing after its first answer, is closed after the
/// idle timeout.
#[tokio::test]
async fn idle_connections_are_closed() {
    let server = serve("quickstart", None, &["--idle-timeout", "300ms"]);
    let addr = addr_of(&server);
    let mut silent = connect_from([127, 0, 0, 1], addr).await;
    let mut buf = Vec::new();
    let n = tokio::time::timeout(GUARD, silent.read_to_end(&mut buf))
        .await
        .expect("a silent connection is closed");
    assert_eq!(n.unwrap(), 0);

    let mut kept = connect_from([127, 0, 0, 1], addr).await;
    let init = initialize("keep-alive").to_string();
    let head = post_head(addr, None, init.len(), false);
    kept.write_all(format!("{head}{init}").as_bytes())
        .await
        .unwrap();
    let reply = read_all(&mut kept).await;
    assert_eq!(status(&reply), 200, "{reply}");
    assert!(
        reply.contains("protocolVersion"),
        "the answer came before the connection was closed: {reply}"
    );
}

/// A request whose answer does not start within the request timeout is answered 503 and
/// cancelled.
#[tokio::test]
async fn a_request_past_its_deadline_is_answered_503() {
    let server = serve(
        "quickstart",
        None,
        &["--json-response", "--request-timeout", "1s"],
    );
    let addr = addr_of(&server);
    let init = post_from([127, 0, 0, 1], addr, None, &initialize("slow")).await;
    let session = header(&init, "mcp-session-id")
        .expect("a session")
        .to_string();
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "sleep", "arguments": {"ms": 600_000}}});
    let reply = post_from([127, 0, 0, 1], addr, Some(&session), &call).await;
    assert_eq!(status(&reply), 503, "{reply}");
    assert!(body(&reply).contains("not answered within 1 s"), "{reply}");
}

/// With more connections allowed than file descriptors, `accept` fails while the server is
/// full: it backs off and warns once, not ten times a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_failures_are_backed_off_and_warned_once() {
    let server = serve(
        "quickstart",
        Some(40),
        &[
            "--max-connections",
            "1000",
            "--max-connections-per-address",
            "1000",
        ],
    );
    let addr = addr_of(&server);
    let mut held = Vec::new();
    for _ in 0..60 {
        held.push(connect_from([127, 0, 0, 3], addr).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = server.log();
    let warnings = log.matches("accepting connections fails").count();
    assert_eq!(warnings, 1, "{log}");
    assert!(
        log.contains("ulimit -n"),
        "the warning names the fix: {log}"
    );
    drop(held);
}

/// `--max-connections` is a hard cap: one connection more is answered 503 and closed.
#[tokio::test]
async fn the_connection_cap_refuses_one_more() {
    let server = serve(
        "quickstart",
        None,
        &[
            "--max-connections",
            "3",
            "--max-connections-per-address",
            "3",
        ],
    );
    let addr = addr_of(&server);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 1], addr).await);
    }
    let mut extra = connect_from([127, 0, 0, 4], addr).await;
    let reply = read_all(&mut extra).await;
    assert_eq!(status(&reply), 503, "{reply}");
    assert!(body(&reply).contains("too many connections"), "{reply}");
    drop(held);
    // Their places are free again.
    let mut ok = None;
    for _ in 0..50 {
        let reply = post_from([127, 0, 0, 1], addr, None, &initialize("after")).await;
        if status(&reply) == 200 {
            ok = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok.is_some(), "the cap frees closed connections");
}

// ------------------------------------------------------------------ stdio sessions

/// An example on stdio, initialized.
fn stdio_session(example: &str) -> StdioPeer {
    let mut peer = StdioPeer::start(Command::new(built_example(example)));
    let init = peer.request(0, "initialize", initialize("stdio")["params"].clone());
    assert!(init["result"]["protocolVersion"].is_string(), "{init}");
    peer.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    peer
}

// ------------------------------------------------------------------ item 3: logs

/// A client name with a newline and escape bytes cannot forge a log line or reach the
/// terminal; a huge tool name is neither logged nor echoed whole.
#[tokio::test]
async fn client_strings_cannot_forge_or_flood_the_log() {
    let server = serve("quickstart", None, &[]);
    let addr = addr_of(&server);
    let forged = "evil\n2026-01-01T00:00:00.000000Z  INFO forged line\x1b[2J";
    let init = post_from([127, 0, 0, 1], addr, None, &initialize(forged)).await;
    assert_eq!(status(&init), 200, "{init}");
    let session = header(&init, "mcp-session-id").unwrap().to_string();
    let huge = "t".repeat(1 << 20);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": huge, "arguments": {}}});
    let reply = post_from([127, 0, 0, 1], addr, Some(&session), &call).await;
    assert!(
        reply.len() < 2000,
        "the error quotes the name cut short: {} bytes",
        reply.len()
    );
    assert!(
        body(&reply).contains("more than the 256 allowed"),
        "{reply}"
    );
    // The access log line of that POST comes after its answer: wait for it.
    let mut log = String::new();
    for _ in 0..100 {
        log = server.log();
        if log.matches("request").count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01")),
        "a forged line: {log}"
    );
    assert!(!log.contains('\x1b'), "raw escape bytes: {log:?}");
    assert!(
        log.contains("evil\\n2026"),
        "the name is logged escaped: {log}"
    );
    assert!(
        log.lines().all(|l| l.len() < 2000),
        "no line quotes the 1 MiB name whole"
    );
    assert!(
        log.contains("(1048576 bytes)"),
        "the cut says how long: {log}"
    );
}

/// Over stdio: names past the limit are refused before dispatch; unknown names are quoted
/// cut short.
#[test]
fn long_names_are_refused_and_quoted_short() {
    let mut peer = stdio_session("quickstart");
    let r = peer.request(
        1,
        "tools/call",
        json!({"name": "n".repeat(300), "arguments": {}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("300 bytes long"), "{message}");
    assert!(message.len() < 400, "{message}");
    let r = peer.request(2, &"m".repeat(100_000), json!({}));
    assert!(r["error"]["message"].as_str().unwrap().len() < 400, "{r}");
    let r = peer.request(3, "prompts/get", json!({"name": "p".repeat(257)}));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prompt name is 257 bytes"),
        "{r}"
    );
    let r = peer.request(
        4,
        "tools/call",
        json!({"name": "x\u{1b}[31m", "arguments": {}}),
    );
    assert_eq!(
        r["error"]["message"], "Unknown tool: `x\\u{1b}[31m`",
        "control characters are quoted escaped"
    );
}

// ------------------------------------------------------------------ item 4: duplicate ids

/// A request whose id is in flight is refused; the older one can still be cancelled, and
/// says nothing after `notifications/cancelled`.
#[test]
fn a_request_id_in_flight_is_refused() {
    let mut peer = stdio_session("quickstart");
    let sleep = |ms: u64| {
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
               "params": {"name": "sleep", "arguments": {"ms": ms}}})
        .to_string()
    };
    peer.send(&sleep(1500));
    peer.send(&sleep(10));
    let refused = peer.recv();
    assert_eq!(refused["id"], 5, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used by a request in flight"),
        "{refused}"
    );
    peer.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}"#);
    std::thread::sleep(Duration::from_millis(2500));
    let msg = json!({"jsonrpc": "2.0", "id": 6, "method": "ping"}).to_string();
    peer.send(&msg);
    loop {
        let m = peer.recv();
        assert!(
            m["id"] != 5,
            "the cancelled call answered after notifications/cancelled: {m}"
        );
        if m["id"] == 6 {
            break;
        }
    }
}

// ------------------------------------------------------------------ item 5: template values

/// Percent-decoded `/`, `..` and NUL are refused in a `{id}` expansion; plain values work.
#[test]
fn template_values_cannot_climb_out_of_their_segment() {
    let mut peer = stdio_session("everything");
    let read = |peer: &mut StdioPeer, id: u64, uri: &str| {
        peer.request(id, "resources/read", json!({"uri": uri}))
    };
    let ok = read(&mut peer, 1, "test://template/abc/data");
    assert!(
        ok["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("abc"),
        "{ok}"
    );
    for (n, (uri, what)) in [
        ("test://template/..%2F..%2Fetc%2Fpasswd/data", "`/`"),
        ("test://template/a%00b/data", "NUL"),
        ("test://template/../data", "the segment `..`"),
        ("test://template/..%2e/data", ""),
        ("test://template/a%5Cb/data", "`\\`"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = read(&mut peer, 10 + n as u64, uri);
        if what.is_empty() {
            // `...` is a name like any other.
            assert!(r["result"].is_object(), "{uri}: {r}");
            continue;
        }
        assert_eq!(r["error"]["code"], -32602, "{uri}: {r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(what), "{uri}: {message}");
    }
}

// ------------------------------------------------------------------ item 2: budgets

/// Waits a minute: a call that stays in flight.
#[tool]
async fn linger() -> String {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "done".into()
}

/// An item of a template, to subscribe to.
#[resource("hostile://item/{n}")]
fn item(n: u32) -> String {
    format!("item {n}")
}

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
struct Name {
    #[allow(dead_code)]
    name: String,
}

/// Asks the client two questions at once; says how the second one failed.
#[tool]
async fn ask_twice(ctx: Context) -> String {
    use std::future::IntoFuture;
    let mut first = ctx.elicit::<Name>("first?").into_future();
    let mut second = ctx.elicit::<Name>("second?").into_future();
    tokio::select! {
        biased;
        r = &mut first => format!("first: {:?}", r.err().map(|e| e.to_string())),
        r = &mut second => format!("second: {:?}", r.err().map(|e| e.to_string())),
    }
}

/// An in-process server with small session limits; stopped when dropped.
struct InProcess {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn in_process(limits: SessionLimits, json_response: bool) -> InProcess {
    let server = Server::new("hostile")
        .only_tools(&["linger", "ask_twice"])
        .session_limits(limits);
    let http = HttpServer::bind(
        server,
        HttpOptions {
            port: 0,
            json_response,
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http.run_until(async {
        let _ = stopped.await;
    }));
    InProcess { addr, _stop: stop }
}

async fn session_at(addr: SocketAddr, capabilities: Value) -> String {
    session_from([[127, 0, 0, 1]; 2], addr, capabilities).await
}

/// [`session_at`], its two POSTs sent from the two addresses `from`.
async fn session_from(from: [[u8; 4]; 2], addr: SocketAddr, capabilities: Value) -> String {
    let mut init = initialize("budget");
    init["params"]["capabilities"] = capabilities;
    let reply = post_from(from[0], addr, None, &init).await;
    let session = header(&reply, "mcp-session-id")
        .unwrap_or_else(|| panic!("{reply}"))
        .to_string();
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        status(&post_from(from[1], addr, Some(&session), &done).await),
        202
    );
    session
}

/// A session may keep so many calls in flight; one more is refused, over HTTP with 429 and
/// `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_are_capped_per_session() {
    let server = in_process(
        SessionLimits {
            max_requests_in_flight: 2,
            ..SessionLimits::default()
        },
        true,
    )
    .await;
    let addr = server.addr;
    let session = session_at(addr, json!({})).await;
    // Calls that are not answered within a second are in flight (they linger a minute);
    // once two are, the next is refused.
    let mut held = Vec::new();
    let mut refused = None;
    for id in 1..=10 {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "linger", "arguments": {}}});
        let mut s = connect_from([127, 0, 0, 1], addr).await;
        let body = call.to_string();
        let head = post_head(addr, Some(&session), body.len(), true);
        s.write_all(format!("{head}{body}").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        match tokio::time::timeout(Duration::from_secs(1), s.read_to_end(&mut out)).await {
            Ok(_) => {
                refused = Some(String::from_utf8_lossy(&out).into_owned());
                break;
            }
            Err(_) => held.push(s),
        }
    }
    let reply = refused.expect("a call beyond the budget is refused");
    assert_eq!(status(&reply), 429, "{reply}");
    assert_eq!(held.len(), 2, "two calls were let run");
    assert_eq!(header(&reply, "retry-after"), Some("1"), "{reply}");
    assert!(body(&reply).contains("-32029"), "{reply}");
    assert!(
        body(&reply).contains("too many requests in flight"),
        "{reply}"
    );
    drop(held);
}

/// Subscriptions only to resources the server has, and only so many per session.
#[tokio::test]
async fn subscriptions_are_checked_and_capped() {
    let server = in_process(
        SessionLimits {
            max_subscriptions: 2,
            ..SessionLimits::default()
        },
        false,
    )
    .await;
    let addr = server.addr;
    let session = session_at(addr, json!({})).await;
    let subscribe = |id: u64, uri: &str| json!({"jsonrpc": "2.0", "id": id, "method": "resources/subscribe", "params": {"uri": uri}});
    let nothing = post_from(
        [127, 0, 0, 1],
        addr,
        Some(&session),
        &subscribe(1, "hostile://nothing"),
    )
    .await;
    assert!(body(&nothing).contains("-32002"), "{nothing}");
    for (id, uri) in [
        (2, "hostile://item/1"),
        (3, "hostile://item/2"),
        (4, "hostile://item/1"),
    ] {
        let ok = post_from([127, 0, 0, 1], addr, Some(&session), &subscribe(id, uri)).await;
        assert!(body(&ok).contains("\"result\""), "{uri}: {ok}");
    }
    let over = post_from(
        [127, 0, 0, 1],
        addr,
        Some(&session),
        &subscribe(5, "hostile://item/3"),
    )
    .await;
    assert!(body(&over).contains("holds 2 subscriptions"), "{over}");
}

/// Requests to the client awaiting answers are capped per session: one more fails at once.
#[tokio::test]
async fn requests_to_the_client_are_capped() {
    let server = in_process(
        SessionLimits {
            max_client_requests: 1,
            ..SessionLimits::default()
        },
        false,
    )
    .await;
    let addr = server.addr;
    let session = session_at(addr, json!({"elicitation": {}})).await;
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                      "params": {"name": "ask_twice", "arguments": {}}});
    let reply = post_from([127, 0, 0, 1], addr, Some(&session), &call).await;
    assert!(
        reply.contains("second: Some") && reply.contains("already await their answers"),
        "{reply}"
    );
}

/// One address may hold so many sessions; others still get theirs. A session that sent
/// nothing after `initialize` ends soon; one in use stays.
#[tokio::test]
async fn sessions_are_capped_per_address_and_unused_ones_end_soon() {
    let server = serve(
        "quickstart",
        None,
        &[
            "--max-sessions-per-address",
            "2",
            "--unused-session-timeout",
            "300ms",
        ],
    );
    let addr = addr_of(&server);
    let init = initialize("many");
    let first = post_from([127, 0, 0, 5], addr, None, &init).await;
    let first = header(&first, "mcp-session-id").unwrap().to_string();
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        status(&post_from([127, 0, 0, 5], addr, Some(&first), &done).await),
        202
    );
    let second = post_from([127, 0, 0, 5], addr, None, &init).await;
    let second = header(&second, "mcp-session-id").unwrap().to_string();
    let third = post_from([127, 0, 0, 5], addr, None, &init).await;
    assert_eq!(status(&third), 503, "{third}");
    assert!(
        body(&third).contains("this address holds as many sessions"),
        "{third}"
    );
    let elsewhere = post_from([127, 0, 0, 6], addr, None, &init).await;
    assert_eq!(status(&elsewhere), 200, "{elsewhere}");
    // The unused second session ends; its place is free again.
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let mut gone = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = post_from([127, 0, 0, 5], addr, None, &init).await;
        if status(&again) == 200 {
            gone = true;
            break;
        }
    }
    assert!(gone, "the unused session expired: {}", server.log());
    let expired = post_from([127, 0, 0, 5], addr, Some(&second), &ping).await;
    assert_eq!(status(&expired), 404, "{expired}");
    let used = post_from([127, 0, 0, 5], addr, Some(&first), &ping).await;
    assert_eq!(status(&used), 200, "the session in use stays: {used}");
}

/// A call whose POST went away before anything streamed is cancelled, session or not.
#[tokio::test]
async fn a_call_whose_post_went_away_is_cancelled() {
    let mut command = Command::new(built_example("quickstart"));
    command.env("RUST_LOG", "debug");
    let server = HttpExample::start(command, &["--json-response"]);
    let addr = addr_of(&server);
    let init = post_from([127, 0, 0, 1], addr, None, &initialize("gone")).await;
    let session = header(&init, "mcp-session-id").unwrap().to_string();
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "sleep", "arguments": {"ms": 600_000}}})
    .to_string();
    let mut s = connect_from([127, 0, 0, 1], addr).await;
    let head = post_head(addr, Some(&session), call.len(), false);
    s.write_all(format!("{head}{call}").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(s);
    let mut cancelled = false;
    for _ in 0..100 {
        if server.log().contains("request cancelled") {
            cancelled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cancelled, "{}", server.log());
}

// ------------------------------------------------------------------ item 7: safer defaults

/// Panics on the blocking pool.
#[tool(blocking)]
fn blocking_boom() -> u32 {
    panic!("secret path /srv/data/customers.db")
}

/// A panicking handler tells the client only that it failed; the detail is in the log, or
/// also in the answer when the server shows details.
#[tokio::test]
async fn panics_reach_the_client_as_a_generic_error() {
    let c = Client::connect(Server::new("panics").only_tools(&["blocking_boom"]))
        .await
        .unwrap();
    let r = c.call_tool("blocking_boom", json!({})).await.unwrap();
    assert!(r.is_error);
    let text = r.content[0].as_text().unwrap();
    assert_eq!(
        text,
        "internal error in tool `blocking_boom` (the server log has the details)"
    );
    let c = Client::connect(
        Server::new("panics")
            .only_tools(&["blocking_boom"])
            .show_panic_details(true),
    )
    .await
    .unwrap();
    let r = c.call_tool("blocking_boom", json!({})).await.unwrap();
    assert!(
        r.content[0]
            .as_text()
            .unwrap()
            .contains("/srv/data/customers.db"),
        "{r:?}"
    );
}

/// `--show-panic-details` works on stdio too (the inspector sets its variable).
#[test]
fn the_inspector_switch_shows_panic_details() {
    let mut command = Command::new(built_example("everything"));
    command.env("MCP_SHOW_PANIC_DETAILS", "1");
    let mut peer = StdioPeer::start(command);
    let init = peer.request(0, "initialize", initialize("stdio")["params"].clone());
    assert!(init["result"].is_object(), "{init}");
    // A task-optional tool called directly: its panic is an `isError` result.
    let r = peer.request(
        2,
        "tools/call",
        json!({"name": "protocol_error_job", "arguments": {}}),
    );
    assert!(
        r.to_string().contains("worker crashed"),
        "the detail is shown: {r}"
    );
}

/// A non-loopback address without `--allowed-hosts` is warned about, with the fix.
#[test]
fn binding_every_address_without_allowed_hosts_warns() {
    let server = serve("quickstart", None, &["--host", "0.0.0.0"]);
    let mut log = String::new();
    for _ in 0..100 {
        log = server.log();
        if log.contains("allowed-hosts") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        log.contains("no --allowed-hosts") && log.contains("--allowed-hosts mcp.example.com"),
        "{log}"
    );
}

// ------------------------------------------------------------------ item 6: requestState

/// Pays `amount` to the payee the user names, once they confirm.
#[tool]
async fn pay(amount: u32, ctx: Context) -> Result<String, ToolError> {
    let payee = ctx.elicit::<Name>("To whom?").key("payee").await?;
    let confirm = ctx
        .elicit::<Name>("Sure? (your name)")
        .key("confirm")
        .await?;
    let got = |r: mcp_runtime::server::ElicitationResponse<Name>| {
        r.accepted().map_or_else(|| "-".to_string(), |n| n.name)
    };
    Ok(format!(
        "paid {amount} to {} ({})",
        got(payee),
        got(confirm)
    ))
}

fn per_request_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "hostile", "version": "1"}
    })
}

/// A `requestState` is bound to its call's arguments, keeps what it sealed, and hides it.
#[tokio::test]
async fn request_state_cannot_be_replayed_overridden_or_read() {
    let c = Client::connect(Server::new("state").only_tools(&["pay"]))
        .await
        .unwrap();
    let call = |params: Value| {
        let c = &c;
        async move { c.request::<_, Value>("tools/call", &params).await }
    };
    let first =
        call(json!({"name": "pay", "arguments": {"amount": 5}, "_meta": per_request_meta()}))
            .await
            .unwrap();
    assert_eq!(first["resultType"], "input_required", "{first}");
    let payee = json!({"payee": {"action": "accept", "content": {"name": "Mallory's friend Bob"}}});
    let second = call(
        json!({"name": "pay", "arguments": {"amount": 5}, "inputResponses": payee,
                             "requestState": first["requestState"], "_meta": per_request_meta()}),
    )
    .await
    .unwrap();
    assert_eq!(second["resultType"], "input_required", "{second}");
    let state = second["requestState"].as_str().unwrap().to_string();
    assert!(!state.contains("Bob"), "plain: {state}");
    let sealed = state.strip_prefix("v2.").expect("the sealed format");
    let bytes = mcp_runtime::protocol::base64::decode_strict(sealed).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("Bob"),
        "the answers inside are encrypted"
    );
    let confirm = json!({"confirm": {"action": "accept", "content": {"name": "Alice"}}});
    // The state of a 5-unit payment, replayed into a 5000-unit one.
    let replayed = call(
        json!({"name": "pay", "arguments": {"amount": 5000}, "inputResponses": confirm,
                               "requestState": state, "_meta": per_request_meta()}),
    )
    .await
    .unwrap_err();
    assert!(
        replayed.rpc().unwrap().message.contains("other arguments"),
        "{replayed:?}"
    );
    // A sealed answer overridden in a later round.
    let mut both = confirm.clone();
    both["payee"] = json!({"action": "accept", "content": {"name": "Mallory"}});
    let overridden = call(
        json!({"name": "pay", "arguments": {"amount": 5}, "inputResponses": both,
                                 "requestState": state, "_meta": per_request_meta()}),
    )
    .await
    .unwrap_err();
    assert!(
        overridden
            .rpc()
            .unwrap()
            .message
            .contains("sealed in `requestState`"),
        "{overridden:?}"
    );
    // Unpadded or otherwise non-canonical base64 is refused.
    let loose = format!("v2.{}", sealed.trim_end_matches('='));
    if loose.len() != state.len() {
        let e = call(
            json!({"name": "pay", "arguments": {"amount": 5}, "inputResponses": confirm,
                            "requestState": loose, "_meta": per_request_meta()}),
        )
        .await
        .unwrap_err();
        assert!(e.rpc().unwrap().message.contains("base64"), "{e:?}");
    }
    let done = call(
        json!({"name": "pay", "arguments": {"amount": 5}, "inputResponses": confirm,
                           "requestState": state, "_meta": per_request_meta()}),
    )
    .await
    .unwrap();
    assert_eq!(
        done["content"][0]["text"], "paid 5 to Mallory's friend Bob (Alice)",
        "{done}"
    );
}

// ------------------------------------------------------------------ slow SSE consumers

/// Says `count` log messages of `size` bytes each, then how many it said.
#[tool]
async fn flood(count: u32, size: usize, ctx: Context) -> String {
    let line = "x".repeat(size);
    for _ in 0..count {
        ctx.info(&line);
        tokio::task::yield_now().await;
    }
    format!("said {count}")
}

/// Reads one chunked SSE response to its end (the last chunk), not to the connection's.
async fn read_sse_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let end = async {
        while !out.ends_with(b"\r\n0\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(GUARD, end)
        .await
        .expect("the SSE response ends");
    String::from_utf8_lossy(&out).into_owned()
}

/// The `id:` of the last event in an SSE body.
fn last_event_id(sse: &str) -> String {
    sse.lines()
        .rev()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an event with an id")
        .to_string()
}

/// A client that stops reading its SSE stream does not make the server queue for it without
/// end: once it is a few events behind, its connection is closed (counted, and logged once),
/// and what it missed stays in the stream's bounded replay buffer, to resume with
/// `Last-Event-ID`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_has_its_stream_closed_and_can_resume() {
    let metrics = mcp_runtime::observe::Metrics::new();
    let server = Server::new("slow").only_tools(&["flood"]).metrics(&metrics);
    let http = HttpServer::bind(
        server,
        HttpOptions {
            port: 0,
            replay_buffer: 8,
            sse_send_buffer: 4,
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http.run_until(async {
        let _ = stopped.await;
    }));
    let session = session_at(addr, json!({})).await;

    // 2 000 messages of 16 KiB: 32 MiB, far more than the socket buffers hold, and the
    // client reads none of it for now.
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "flood", "arguments": {"count": 2000, "size": 16384}}})
    .to_string();
    let mut s = connect_from([127, 0, 0, 1], addr).await;
    let head = post_head(addr, Some(&session), call.len(), false);
    s.write_all(format!("{head}{call}").as_bytes())
        .await
        .unwrap();
    let slow = "mcp_server_sse_slow_consumers_total 1";
    let mut closed = false;
    for _ in 0..(GUARD.as_millis() / 50) {
        if metrics.render().contains(slow) {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the stalled stream was never closed");

    // Reading now: what was queued, then the end of the response, without the result.
    let first = read_sse_response(&mut s).await;
    assert_eq!(status(&first), 200, "{}", &first[..first.len().min(300)]);
    let events = first.matches("notifications/message").count();
    assert!(
        events > 0 && events < 2000,
        "{events} of 2000 messages reached the stalled client"
    );
    assert!(
        !first.contains("said 2000"),
        "the result came before the close"
    );
    assert!(metrics.render().contains(slow), "closed once, counted once");

    // The call goes on; resuming after the last event delivered replays what the buffer
    // kept, up to the result.
    let last = last_event_id(&first);
    let mut result = String::new();
    for _ in 0..(GUARD.as_millis() / 50) {
        let mut g = connect_from([127, 0, 0, 1], addr).await;
        g.write_all(
            format!(
                "GET /mcp HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\
                 mcp-protocol-version: {LATEST}\r\nmcp-session-id: {session}\r\n\
                 last-event-id: {last}\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let resumed = read_all(&mut g).await;
        assert_eq!(status(&resumed), 200, "{resumed}");
        if resumed.contains("said 2000") {
            result = resumed;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !result.is_empty(),
        "the resumed stream ends with the result"
    );
    drop(stop);
}

// ------------------------------------------------------------------ the session's own queue

/// A line-transport session over an in-memory pipe of `capacity` bytes; the client's end.
fn line_session(
    limits: SessionLimits,
    capacity: usize,
) -> (
    tokio::io::DuplexStream,
    tokio::task::JoinHandle<Result<(), mcp_runtime::Error>>,
) {
    let (client, server) = tokio::io::duplex(capacity);
    let (reader, writer) = tokio::io::split(server);
    let server = Server::new("queue")
        .only_tools(&["flood"])
        .session_limits(limits);
    let served = tokio::spawn(mcp_runtime::transport::serve_stream(server, reader, writer));
    (client, served)
}

fn line(message: &Value) -> Vec<u8> {
    let mut bytes = message.to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// A client that stops reading does not make the session queue for it without end: once a
/// whole queue of messages waits for it, the session is closed (its connection ends, its
/// call is cancelled), instead of the server holding all 2 000 messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_client_that_stops_reading_has_its_session_closed() {
    let limits = SessionLimits {
        max_queued_messages: 32,
        ..SessionLimits::default()
    };
    let (mut client, served) = line_session(limits, 16 * 1024);
    let mut input = line(&initialize("stalled"));
    input.extend(line(
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ));
    input.extend(line(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "flood", "arguments": {"count": 2000, "size": 4096}}}),
    ));
    client.write_all(&input).await.unwrap();
    // The client reads nothing: 8 MiB of log messages cannot reach it.
    let ended = tokio::time::timeout(GUARD, served).await;
    assert!(
        ended.is_ok(),
        "the session of a client that reads nothing was never closed"
    );
    // What it reads now is what the pipe held, then the end: not the 2 000 messages, and
    // no result.
    let mut rest = Vec::new();
    tokio::time::timeout(GUARD, client.read_to_end(&mut rest))
        .await
        .expect("the connection ends")
        .unwrap();
    let rest = String::from_utf8_lossy(&rest);
    let said = rest.matches("notifications/message").count();
    assert!(
        said < 2000,
        "{said} messages reached a client that read nothing"
    );
    assert!(!rest.contains("said 2000"), "the call was cancelled");
}

/// A client that reads slowly but reads is served in full: the session stops reading its
/// requests while the queue is over half full, and closes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_client_that_reads_slowly_gets_every_answer() {
    let limits = SessionLimits {
        max_queued_messages: 16,
        ..SessionLimits::default()
    };
    let (client, served) = line_session(limits, 1024);
    let (mut read, mut write) = tokio::io::split(client);
    const PINGS: usize = 2000;
    let writer = tokio::spawn(async move {
        let mut input = line(&initialize("slow"));
        input.extend(line(
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ));
        for id in 0..PINGS {
            input.extend(line(
                &json!({"jsonrpc": "2.0", "id": 10 + id, "method": "ping"}),
            ));
        }
        write.write_all(&input).await.unwrap();
        write
    });
    let mut out = Vec::new();
    let mut buf = [0; 512];
    let answers = |out: &[u8]| out.iter().filter(|&&b| b == b'\n').count();
    let read_all = async {
        while answers(&out) < PINGS + 1 {
            let n = read.read(&mut buf).await.unwrap();
            assert!(n > 0, "the session ended after {} answers", answers(&out));
            out.extend_from_slice(&buf[..n]);
            // Slower than the server writes.
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read_all)
        .await
        .expect("every answer arrives");
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains(&format!("\"id\":{}", 10 + PINGS - 1)),
        "the last ping answered"
    );
    drop(writer.await.unwrap());
    assert!(!served.is_finished(), "the session is still open");
}

// ------------------------------------------------------------------ the write timeout

/// Answers with `size` bytes of text.
#[tool]
fn big(size: usize) -> String {
    "x".repeat(size)
}

/// A client that sends a request and reads nothing of its (large) answer holds its connection
/// slot only until the write timeout: then the connection is closed, and the next client from
/// that address is served, as is every other client meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_frees_its_slot_after_the_write_timeout() {
    let server = Server::new("stall").only_tools(&["big"]);
    let http = HttpServer::bind(
        server,
        HttpOptions {
            port: 0,
            json_response: true,
            max_connections_per_address: Some(1),
            write_timeout: Duration::from_secs(1),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let addr = http.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http.run_until(async {
        let _ = stopped.await;
    }));
    // Set up from addresses of their own: with one connection per address, a connection
    // just answered may hold its address's slot a moment after the client read its end.
    let session = session_from([[127, 0, 0, 3], [127, 0, 0, 4]], addr, json!({})).await;

    // From 127.0.0.2, with a small receive buffer: a 16 MiB answer it never reads.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, 2], 0))).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "big", "arguments": {"size": 16 << 20}}})
    .to_string();
    let head = post_head(addr, Some(&session), call.len(), false);
    stalled
        .write_all(format!("{head}{call}").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Its address's only slot is taken.
    let ping = json!({"jsonrpc": "2.0", "id": 3, "method": "ping"});
    let refused = post_from([127, 0, 0, 2], addr, Some(&session), &ping).await;
    assert_eq!(
        status(&refused),
        503,
        "the stalled client holds the slot: {refused}"
    );
    // Another client is served meanwhile.
    let other = post_from([127, 0, 0, 1], addr, Some(&session), &ping).await;
    assert_eq!(status(&other), 200, "{other}");

    // After the write timeout the slot is free again.
    let mut served = false;
    for _ in 0..(GUARD.as_millis() / 100) {
        let reply = post_from([127, 0, 0, 2], addr, Some(&session), &ping).await;
        if status(&reply) == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the stalled connection kept its slot past the write timeout"
    );
    // And the stalled connection was closed: reading now ends short of the answer.
    let mut got = Vec::new();
    let _ = tokio::time::timeout(GUARD, stalled.read_to_end(&mut got)).await;
    assert!(
        got.len() < 16 << 20,
        "{} bytes reached the stalled client: the answer was not cut",
        got.len()
    );
    drop(stop);
}
