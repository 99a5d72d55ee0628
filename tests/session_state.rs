//! `ctx.session_state()` and `Server::shared_state`: two HTTP servers in this process share
//! a `MemoryState`, as replicas share Redis; a value set through one is read through the
//! other, a DELETE on one ends the session (and its values) on both, and without a session a
//! client-chosen handle scopes the values to its caller.

use std::sync::Arc;

use mcp_runtime::prelude::*;
use mcp_runtime::store::{MemoryState, SharedState};
use mcp_runtime::transport::http::{HttpOptions, HttpServer};
use mcp_workspace::raw_http;
use serde_json::{Value, json};

/// Keeps `value` for this session.
#[tool]
async fn remember(value: String, ctx: Context) -> Result<String, ToolError> {
    let state = ctx
        .session_state()
        .ok_or_else(|| ToolError::new("no session"))?;
    state.set("value", &value).await.map_err(ToolError::new)?;
    Ok("kept".into())
}

/// What this session kept.
#[tool]
async fn recall(ctx: Context) -> Result<String, ToolError> {
    let state = ctx
        .session_state()
        .ok_or_else(|| ToolError::new("no session"))?;
    let value: Option<String> = state.get("value").await.map_err(ToolError::new)?;
    Ok(value.unwrap_or_else(|| "nothing".into()))
}

/// Keeps or reads `value` under a handle (no session needed).
#[tool]
async fn by_handle(
    handle: String,
    value: Option<String>,
    ctx: Context,
) -> Result<String, ToolError> {
    let state = ctx
        .session_state_for(&handle)
        .ok_or_else(|| ToolError::new("bad handle"))?;
    if let Some(v) = value {
        state.set("value", &v).await.map_err(ToolError::new)?;
        return Ok("kept".into());
    }
    let value: Option<String> = state.get("value").await.map_err(ToolError::new)?;
    Ok(value.unwrap_or_else(|| "nothing".into()))
}

struct Replica {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn replica(state: Arc<dyn SharedState>, stateless: bool) -> Replica {
    let server = Server::new("session-state").shared_state(state);
    let http = HttpServer::bind(
        server,
        HttpOptions {
            port: 0,
            stateless,
            ..HttpOptions::default()
        },
    )
    .await
    .expect("binding");
    let port = http.local_addr().port();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(http.run_until(async {
        let _ = stopped.await;
    }));
    Replica {
        port,
        stop: Some(stop),
    }
}

fn head(port: u16, session: Option<&str>) -> String {
    let mut h = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25"
    );
    if let Some(s) = session {
        h.push_str(&format!("\r\nMcp-Session-Id: {s}"));
    }
    h
}

/// `initialize` on `port`; the session id (read from the raw response).
fn initialize(port: u16) -> String {
    use std::io::{Read, Write};
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        head(port, None),
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("mcp-session-id")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no session id in {out}"))
}

fn call(port: u16, session: Option<&str>, tool: &str, arguments: Value) -> (u16, String) {
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": tool, "arguments": arguments}});
    let (code, body) = raw_http(port, &head(port, session), &body.to_string());
    let text = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["result"]["content"][0]["text"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or(body);
    (code, text)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_set_through_one_replica_is_read_through_another() {
    let state: Arc<dyn SharedState> = Arc::new(MemoryState::new());
    let (a, b) = (
        replica(Arc::clone(&state), false).await,
        replica(state, false).await,
    );
    let (pa, pb) = (a.port, b.port);
    blocking(move || {
        let session = initialize(pa);
        assert_eq!(call(pa, Some(&session), "recall", json!({})).1, "nothing");
        assert_eq!(
            call(pa, Some(&session), "remember", json!({"value": "blue"})).1,
            "kept"
        );
        assert_eq!(
            call(pb, Some(&session), "recall", json!({})),
            (200, "blue".into())
        );
        // Another session has values of its own.
        let other = initialize(pb);
        assert_eq!(call(pa, Some(&other), "recall", json!({})).1, "nothing");
        // DELETE on B ends the session on A too.
        let (code, _) = raw_http(
            pb,
            &format!(
                "DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1:{pb}\r\nMcp-Session-Id: {session}\r\n\
                 MCP-Protocol-Version: 2025-11-25"
            ),
            "",
        );
        assert_eq!(code, 204);
        assert_eq!(call(pa, Some(&session), "recall", json!({})).0, 404);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_a_handle_scopes_the_values() {
    let state: Arc<dyn SharedState> = Arc::new(MemoryState::new());
    let (a, b) = (
        replica(Arc::clone(&state), true).await,
        replica(state, true).await,
    );
    let (pa, pb) = (a.port, b.port);
    blocking(move || {
        let set = call(
            pa,
            None,
            "by_handle",
            json!({"handle": "h1", "value": "red"}),
        );
        assert_eq!(set.1, "kept");
        assert_eq!(
            call(pb, None, "by_handle", json!({"handle": "h1"})).1,
            "red"
        );
        assert_eq!(
            call(pb, None, "by_handle", json!({"handle": "h2"})).1,
            "nothing"
        );
        let long = "x".repeat(200);
        let (_, refused) = call(pb, None, "by_handle", json!({"handle": long}));
        assert!(refused.contains("bad handle"), "{refused}");
    })
    .await;
}
