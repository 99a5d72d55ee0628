//! `mcp-cli run --reload` end to end: a small cargo crate in a temporary directory is built
//! and relayed over stdio; editing its source rebuilds and restarts it, the client's handshake
//! is replayed to the new process, the client hears `list_changed` and sees the new tool; a
//! source that does not compile keeps the running server and shows the compiler's error.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_workspace::{Lines, Running};
use serde_json::{Value, json};

/// A stdio MCP server with one tool, named by `TOOL`, using nothing but std (so that it builds
/// in seconds). It refuses `tools/list` until it has seen `initialize` and
/// `notifications/initialized`, so a restarted process answers only if the handshake was
/// replayed to it; `wait` and `subscriptions/listen` are never answered, and `standing` lists
/// the resource subscriptions and listen requests this process has been sent.
const SERVER: &str = r##"use std::io::{BufRead, Write};

const TOOL: &str = "first_tool";

/// The JSON text of the top-level `"key":` value of a compact JSON line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[start..];
    let end = if rest.starts_with('"') {
        rest[1..].find('"')? + 2
    } else {
        rest.find([',', '}'])?
    };
    Some(&rest[..end])
}

fn main() {
    let (mut initialized, mut ready) = (false, false);
    let (mut uris, mut listens): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut out = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let method = field(&line, "method").unwrap_or_default().trim_matches('"');
        let Some(id) = field(&line, "id") else {
            ready |= method == "notifications/initialized";
            continue;
        };
        let body = match method {
            "initialize" => {
                initialized = true;
                r#""result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"reload-fixture","version":"1.0.0"}}"#.to_string()
            }
            "tools/list" if initialized && ready => format!(
                r#""result":{{"tools":[{{"name":"{TOOL}","inputSchema":{{"type":"object"}}}}]}}"#
            ),
            "tools/list" => r#""error":{"code":-32600,"message":"not initialized"}"#.to_string(),
            "wait" => continue,
            "resources/subscribe" => {
                uris.push(field(&line, "uri").unwrap_or_default().to_string());
                r#""result":{}"#.to_string()
            }
            "subscriptions/listen" => {
                listens.push(format!("{id:?}"));
                continue;
            }
            "standing" => format!(
                r#""result":{{"uris":[{}],"listens":[{}]}}"#,
                uris.join(","),
                listens.join(",")
            ),
            _ => r#""error":{"code":-32601,"message":"no such method"}"#.to_string(),
        };
        let _ = writeln!(out, r#"{{"jsonrpc":"2.0","id":{id},{body}}}"#);
        let _ = out.flush();
    }
}
"##;

const MANIFEST: &str = r#"[package]
name = "reload-fixture"
version = "0.1.0"
edition = "2021"

[workspace]
"#;

struct Proxy {
    child: Running,
    stdin: Option<std::process::ChildStdin>,
    stdout: Lines,
    stderr: Arc<Mutex<String>>,
}

impl Proxy {
    fn send(&mut self, msg: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
    }

    fn recv(&self, what: &str) -> Value {
        let line = self
            .stdout
            .next(Duration::from_secs(300))
            .unwrap_or_else(|e| {
                panic!(
                    "no {what} ({e:?}); stderr:\n{}",
                    self.stderr.lock().unwrap()
                )
            });
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    fn tools(&mut self, id: u64) -> Vec<String> {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}));
        let r = self.recv("tools/list answer");
        assert_eq!(r["id"], id, "{r}");
        r["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn stderr_says(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if self.stderr.lock().unwrap().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "stderr never said {text:?}:\n{}",
            self.stderr.lock().unwrap()
        );
    }
}

fn write_source(dir: &Path, source: &str) {
    std::fs::write(dir.join("src/main.rs"), source).unwrap();
}

#[test]
fn reload_rebuilds_restarts_replays_the_handshake_and_tells_the_client() {
    let dir = std::env::temp_dir().join(format!("mcp-cli-run-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), MANIFEST).unwrap();
    write_source(&dir, SERVER);

    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
        .args(["run", "--reload"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let stdout = Lines::new(child.stdout.take().unwrap());
    let stderr = Arc::new(Mutex::new(String::new()));
    Lines::new(child.stderr.take().unwrap()).collect(Arc::clone(&stderr));
    let mut p = Proxy {
        child: Running(child),
        stdin,
        stdout,
        stderr,
    };

    p.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}),
    );
    let init = p.recv("initialize answer");
    assert_eq!(
        init["result"]["serverInfo"]["name"], "reload-fixture",
        "{init}"
    );
    p.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(p.tools(2), ["first_tool"]);
    // A request the server never answers: the restart answers it.
    p.send(json!({"jsonrpc": "2.0", "id": 3, "method": "wait"}));
    // Standing requests: a subscription (answered) and a listen (open until cancelled).
    p.send(
        json!({"jsonrpc": "2.0", "id": 10, "method": "resources/subscribe",
        "params": {"uri": "file:///a"}}),
    );
    assert_eq!(p.recv("subscribe answer")["id"], 10);
    p.send(
        json!({"jsonrpc": "2.0", "id": 11, "method": "subscriptions/listen",
        "params": {}}),
    );
    // One that is made and taken back is not carried over.
    p.send(
        json!({"jsonrpc": "2.0", "id": 12, "method": "resources/subscribe",
        "params": {"uri": "file:///b"}}),
    );
    assert_eq!(p.recv("subscribe answer")["id"], 12);
    p.send(
        json!({"jsonrpc": "2.0", "id": 13, "method": "resources/unsubscribe",
        "params": {"uri": "file:///b"}}),
    );
    assert_eq!(p.recv("unsubscribe answer")["id"], 13);

    write_source(&dir, &SERVER.replace("first_tool", "second_tool"));
    let mut refused = None;
    loop {
        let m = p.recv("list_changed");
        if m["id"] == 3 {
            refused = Some(m);
            continue;
        }
        assert_ne!(
            m["id"],
            json!("mcp-cli-run-replay-2"),
            "the replay is answered by mcp-cli: {m}"
        );
        assert_ne!(m["id"], 11, "the open listen request is carried over: {m}");
        assert!(
            !m["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("mcp-cli-run-resubscribe")),
            "the subscription made again is answered by mcp-cli: {m}"
        );
        if m["method"] == "notifications/tools/list_changed" {
            break;
        }
        assert!(m["method"].is_string(), "unexpected message {m}");
        assert_ne!(
            m["method"], "notifications/prompts/list_changed",
            "no prompts: {m}"
        );
    }
    let refused = refused.expect("the unanswered request was answered");
    let why = refused["error"]["message"].as_str().unwrap();
    assert!(why.contains("the server restarted"), "{refused}");
    // The new process answers `tools/list` only after a replayed handshake.
    assert_eq!(p.tools(4), ["second_tool"]);
    // The new process was sent the client's subscription and its open listen request.
    p.send(json!({"jsonrpc": "2.0", "id": 14, "method": "standing"}));
    let standing = p.recv("standing answer");
    assert_eq!(
        standing["result"],
        json!({"uris": ["file:///a"], "listens": ["11"]}),
        "{standing}"
    );
    p.stderr_says("carried over 1 resource subscription(s) and 1 open subscriptions/listen");
    p.stderr_says("src/main.rs changed: rebuilding");
    p.stderr_says("told the client its tools changed");

    // A source that does not compile: the compiler's error, and the running server stays.
    write_source(
        &dir,
        &SERVER.replace("first_tool", "third_tool").replace(
            "fn main() {",
            "fn main() {\n    let broken: u32 = \"nope\";",
        ),
    );
    p.stderr_says("the running server is kept");
    p.stderr_says("mismatched types");
    assert_eq!(p.tools(5), ["second_tool"]);

    drop(p.stdin.take());
    let code = p.child.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{}", p.stderr.lock().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// One POST to `127.0.0.1:port/mcp`: its status and `Mcp-Session-Id`, or `None` when nothing
/// listens there (yet).
fn post(port: u16, session: Option<&str>, body: &Value) -> Option<(u16, Option<String>)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = body.to_string();
    let session = session.map_or(String::new(), |id| format!("Mcp-Session-Id: {id}\r\n"));
    write!(
        s,
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n\
         {session}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let head = out.split("\r\n\r\n").next().unwrap_or_default();
    let id = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("mcp-session-id")
            .then(|| v.trim().to_string())
    });
    Some((status, id))
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}})
}

/// Retries `f` every 100 ms until it gives a value, for up to two minutes.
fn eventually<T>(what: &str, log: &Mutex<String>, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen; stderr:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn reload_over_http_restarts_the_server_on_the_same_address() {
    let dir = std::env::temp_dir().join(format!("mcp-cli-run-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.py"), "v1").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let quickstart = mcp_workspace::built_example("quickstart");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
        .args(["run", "--reload", "--http", "--"])
        .arg(&quickstart)
        .args(["--transport", "http", "--port", &port.to_string()])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    Lines::new(child.stderr.take().unwrap()).collect(Arc::clone(&log));
    let _child = Running(child);

    let (status, first) = eventually("the first start", &log, || post(port, None, &initialize()));
    assert_eq!(status, 200);
    let first = first.expect("a session id");
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(post(port, Some(&first), &list).map(|r| r.0), Some(200));

    std::fs::write(dir.join("server.py"), "version 2").unwrap();
    eventually("the restart", &log, || {
        log.lock()
            .unwrap()
            .contains("restarted the server with the same arguments")
            .then_some(())
    });
    // The new process on the same address does not know the old session, and starts a new one.
    let (status, _) = eventually("the new process", &log, || post(port, Some(&first), &list));
    assert_eq!(status, 404, "{}", log.lock().unwrap());
    let (status, second) = post(port, None, &initialize()).expect("the same address");
    assert_eq!(status, 200);
    assert_ne!(second.as_deref(), Some(first.as_str()));
    assert!(
        log.lock()
            .unwrap()
            .contains("server.py changed: restarting")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
