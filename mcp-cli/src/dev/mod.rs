//! `mcp-cli dev`: the inspector. A supervisor builds, runs and connects to the server
//! ([`session`]); a web server on 127.0.0.1 serves the page embedded in this binary and relays
//! between the browser and the server ([`web`]); both share a [`hub::Hub`].

mod apps;
mod compare;
mod hub;
mod schemas;
mod session;
mod skills;
mod source;
mod tasks;
pub(crate) mod watch;
mod web;

use std::io::Write;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use mcp_runtime::protocol::ProtocolVersion;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::cli::Invocation;
use crate::commands::Failure;
use hub::Hub;

/// The revisions the inspector can connect with, oldest first, each with how the client
/// talks in it: through the `initialize` handshake (`mode: "handshake"`), or with the client's
/// identity in every request (`mode: "per-request"`, 2026-07-28).
pub(crate) fn revisions() -> Vec<Value> {
    ProtocolVersion::ALL
        .iter()
        .map(|v| json!({ "version": v.as_str(), "mode": mode(*v) }))
        .collect()
}

/// How the client talks in revision `v`.
pub(crate) fn mode(v: ProtocolVersion) -> &'static str {
    if v.is_per_request() {
        "per-request"
    } else {
        "handshake"
    }
}

/// A random session token: 128 bits, hex.
fn token() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure::Connect(format!("no randomness for the session token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        eprintln!("mcp-cli: could not open a browser with `{opener}` ({e}); open the URL above");
    }
}

/// Serves the inspector until interrupted.
pub(crate) async fn run(inv: Invocation) -> Result<(), Failure> {
    let listener = TcpListener::bind(("127.0.0.1", inv.dev.port))
        .await
        .map_err(|e| {
            Failure::Connect(format!(
                "could not listen on 127.0.0.1:{}: {e}; choose another port with `--port N` (0 picks a free one)",
                inv.dev.port
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::Connect(e.to_string()))?
        .port();
    let token = token()?;
    let url = format!("http://127.0.0.1:{port}/?token={token}");
    let (hub, controls) = Hub::new(
        inv.target.describe(),
        inv.dev.watch,
        inv.revision.as_str().to_string(),
    );
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "mcp-cli dev: inspecting {}", inv.target.describe());
        let _ = writeln!(out, "mcp-cli dev: inspector at {url}");
        let _ = out.flush();
    }
    if inv.dev.open {
        open_browser(&url);
    }
    tokio::spawn(session::supervise(
        Arc::clone(&hub),
        inv.target.clone(),
        inv.dev.watch,
        inv.timeout,
        controls,
    ));
    let guard = Arc::new(web::Guard { token, port });
    let accept = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let hub = Arc::clone(&hub);
            let guard = Arc::clone(&guard);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    web::handle(Arc::clone(&hub), Arc::clone(&guard), req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    };
    tokio::select! {
        _ = accept => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    if let Some(client) = hub.set_client(None) {
        drop(client);
    }
    Ok(())
}
