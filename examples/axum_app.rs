//! An axum application that mounts an MCP server beside its own REST routes.
//!
//! * `GET /api/notes`, `POST /api/notes` (a JSON string): the application's REST API, behind
//!   its own API-key middleware (`X-Api-Key: <APP_API_KEY>`, default `demo-key`);
//! * `/mcp`: the quickstart's tools over streamable HTTP ([`McpService`]), with `/healthz` and
//!   `/readyz` next to it;
//! * every request gets the client's address (axum's `ConnectInfo`) as an extension, which the
//!   MCP endpoint uses for its per-address limits and logs.
//!
//! It takes the same options as any server (`--port`, `--stateless`, `MCP_*`…, `--help`):
//! `cargo run --example axum_app -- --port 3000`. SIGTERM drains the MCP endpoint (readiness
//! false, no new sessions, calls in flight finish) and then stops the application.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mcp_runtime::prelude::*;
use mcp_runtime::{Launch, LaunchOptions, McpService};

// The quickstart's tools, registered with `#[tool]`: `Server::new` serves them.
#[allow(dead_code)]
#[path = "quickstart.rs"]
mod quickstart;

/// The application's own state.
#[derive(Clone)]
struct App {
    notes: Arc<Mutex<Vec<String>>>,
    api_key: Arc<str>,
}

/// The most notes the REST API keeps.
const MAX_NOTES: usize = 1000;

async fn list_notes(State(app): State<App>) -> axum::Json<Vec<String>> {
    axum::Json(app.notes.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

async fn add_note(State(app): State<App>, axum::Json(note): axum::Json<String>) -> Response {
    let mut notes = app.notes.lock().unwrap_or_else(|e| e.into_inner());
    if notes.len() >= MAX_NOTES {
        return (StatusCode::INSUFFICIENT_STORAGE, "too many notes\n").into_response();
    }
    notes.push(note);
    (StatusCode::CREATED, axum::Json(notes.len())).into_response()
}

/// The application's API-key check, on its REST routes only (the MCP endpoint has its own
/// authentication: `--auth-token`, `--api-keys`, OAuth).
async fn require_api_key(State(app): State<App>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get("x-api-key")
        .is_some_and(|k| k.as_bytes() == app.api_key.as_bytes());
    if !presented {
        return (StatusCode::UNAUTHORIZED, "missing or wrong X-Api-Key\n").into_response();
    }
    next.run(request).await
}

/// Hands the client's address to what comes after (the MCP endpoint reads a `SocketAddr`).
async fn peer_address(request: Request, next: Next) -> Response {
    let mut request = request;
    if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let addr = *addr;
        request.extensions_mut().insert(addr);
    }
    next.run(request).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = match LaunchOptions::parse(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(Launch::Serve(options)) => options,
        Ok(Launch::PrintConfig(text)) => {
            print!("{text}");
            return Ok(());
        }
        Ok(Launch::Help) => {
            println!(
                "axum_app: an axum application with MCP at /mcp; it takes the options of `quickstart --help`"
            );
            return Ok(());
        }
        Err(e) => {
            eprintln!("axum_app: {e}");
            std::process::exit(2);
        }
    };
    mcp_runtime::init_logging();
    let mut http = options.http;
    http.max_message_size = options.max_message_size;
    let (host, port, path) = (http.host.clone(), http.port, http.path.clone());
    let drain_timeout = http.shutdown_timeout;
    let mcp = McpService::new(
        Server::new("axum-app").version(env!("CARGO_PKG_VERSION")),
        http,
    )
    .await?;

    let app = App {
        notes: Arc::default(),
        api_key: std::env::var("APP_API_KEY")
            .unwrap_or_else(|_| "demo-key".into())
            .into(),
    };
    let api = Router::new()
        .route("/api/notes", get(list_notes).post(add_note))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_api_key))
        .with_state(app);
    let router = Router::new()
        .merge(api)
        .route_service(&path, mcp.clone())
        .route_service("/healthz", mcp.clone())
        .route_service("/readyz", mcp.clone())
        .layer(middleware::from_fn(peer_address));

    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    eprintln!("axum-app: MCP server on http://{addr}{path}, REST API at http://{addr}/api/notes");
    let drain = mcp.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Not ready, no new sessions, what is in flight finishes; then axum stops.
        drain.drain(drain_timeout).await;
    })
    .await?;
    mcp.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
