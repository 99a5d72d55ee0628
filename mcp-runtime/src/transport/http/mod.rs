//! The streamable HTTP transport of MCP 2025-11-25, on hyper.
//!
//! One endpoint (`/mcp` by default): a POST carries one client message and is answered with
//! JSON, with an SSE stream when the request says something before its result, or with `202`
//! for notifications and responses; a GET opens the session's own SSE stream for messages the
//! server starts; a DELETE ends a session. `GET /healthz` answers `ok`.
//!
//! ```text
//! mod.rs       HttpOptions, HttpServer: listening, connections, graceful shutdown
//! service.rs   one HTTP request: routing, header checks, POST / GET / DELETE
//! security.rs  Origin and Host checks (DNS rebinding), bearer token, Accept / Content-Type
//! sessions.rs  sessions: ids, lookup, idle expiry, the cap; SSE streams and their replay
//! sse.rs       SSE framing and the streaming response body
//! ```
//!
//! Dispatch is the same session code as stdio (`server/session.rs`): each POST
//! hands its message to the session with a sink of its own, so what a request says while it
//! runs goes to that request's response stream and nowhere else.

mod security;
mod service;
mod sessions;
mod sse;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::DEFAULT_MAX_MESSAGE_SIZE;
use crate::Server;
use crate::server::ServerCore;
use security::Guard;
use sessions::SessionStore;

/// How to serve over HTTP. Every field has a default ([`HttpOptions::default`]), so set only
/// what you need:
///
/// ```no_run
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::transport::http::HttpOptions;
///
/// # async fn run() -> anyhow::Result<()> {
/// Server::new("calculator")
///     .serve_http(HttpOptions {
///         port: 3000,
///         allowed_origins: vec!["https://app.example.com".into()],
///         ..HttpOptions::default()
///     })
///     .await
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// The address to listen on (default `127.0.0.1`: this machine only).
    pub host: String,
    /// The port (default 8000; 0 picks a free one).
    pub port: u16,
    /// The MCP endpoint's path (default `/mcp`).
    pub path: String,
    /// Serve without sessions: every POST is answered by a fresh session, no `Mcp-Session-Id`
    /// is issued, GET and DELETE are not offered.
    pub stateless: bool,
    /// Always answer requests with one JSON object, never with an SSE stream (what a request
    /// says before its result is then not delivered).
    pub json_response: bool,
    /// Origins allowed to call the server from a browser, besides `localhost`, `127.0.0.1`
    /// and `[::1]` on any port: full origins such as `https://app.example.com`, or `*` for
    /// any. A request with any other `Origin` gets 403.
    pub allowed_origins: Vec<String>,
    /// `Host` header values accepted (`name` for any port, or `name:port`; `*` for any). When
    /// bound to a loopback address, `localhost`, `127.0.0.1` and `[::1]` are always accepted
    /// and anything else is refused with 403 unless listed here; on other addresses the
    /// `Host` header is checked only when this list is not empty.
    pub allowed_hosts: Vec<String>,
    /// When set, every request to the endpoint needs `Authorization: Bearer <token>`
    /// (otherwise 401).
    pub auth_token: Option<String>,
    /// The largest request body accepted, in bytes (larger: 413).
    pub max_message_size: usize,
    /// A session nobody used for this long, with no stream open, is ended (default 30 min).
    pub session_idle_timeout: Duration,
    /// At most this many sessions at once; `initialize` beyond it gets 503 (default 10 000).
    pub max_sessions: usize,
    /// The `retry` sent to clients: how long to wait before reconnecting (default 1 s).
    pub sse_retry: Duration,
    /// An idle SSE stream gets a comment this often, so that proxies keep it open; a request
    /// still running after this long is switched to an SSE stream (default 15 s).
    pub sse_keep_alive: Duration,
    /// Close SSE connections after this long, leaving the stream to be resumed with GET and
    /// `Last-Event-ID` (SEP-1699 polling); `None` (the default) keeps them open.
    pub sse_close_after: Option<Duration>,
    /// How many events each SSE stream keeps for replay to a client that resumes (default 256).
    pub replay_buffer: usize,
    /// On shutdown, how long requests in flight may take to finish (default 10 s).
    pub shutdown_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            host: "127.0.0.1".into(),
            port: 8000,
            path: "/mcp".into(),
            stateless: false,
            json_response: false,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            auth_token: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            session_idle_timeout: Duration::from_secs(30 * 60),
            max_sessions: 10_000,
            sse_retry: Duration::from_secs(1),
            sse_keep_alive: Duration::from_secs(15),
            sse_close_after: None,
            replay_buffer: 256,
            shutdown_timeout: super::lines::DRAIN_DEADLINE,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("stateless", &self.stateless)
            .field("json_response", &self.json_response)
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("max_message_size", &self.max_message_size)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("max_sessions", &self.max_sessions)
            .field("sse_retry", &self.sse_retry)
            .field("sse_keep_alive", &self.sse_keep_alive)
            .field("sse_close_after", &self.sse_close_after)
            .field("replay_buffer", &self.replay_buffer)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

/// What every connection of a server shares.
pub(crate) struct Shared {
    pub(crate) core: Arc<ServerCore>,
    pub(crate) options: HttpOptions,
    pub(crate) guard: Guard,
    pub(crate) sessions: SessionStore,
    /// A sink nobody reads, for what has nowhere to go (a stateless session's own messages).
    pub(crate) nowhere: crate::server::dispatch::session::Outbound,
}

/// A server bound to its address, not yet serving: [`HttpServer::local_addr`] tells which
/// port it got (useful with port 0).
///
/// ```no_run
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::transport::http::{HttpOptions, HttpServer};
///
/// # async fn run() -> anyhow::Result<()> {
/// let server = HttpServer::bind(Server::new("calc"), HttpOptions { port: 0, ..Default::default() }).await?;
/// println!("serving on {}", server.url());
/// server.run().await
/// # }
/// ```
pub struct HttpServer {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    teardown: crate::server::Teardown,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl HttpServer {
    /// Builds `server` and binds its listening socket.
    pub async fn bind(server: Server, options: HttpOptions) -> anyhow::Result<HttpServer> {
        let (core, teardown) = server.start().await?;
        Self::bind_core(core, teardown, options).await
    }

    pub(crate) async fn bind_core(
        core: Arc<ServerCore>,
        teardown: crate::server::Teardown,
        options: HttpOptions,
    ) -> anyhow::Result<HttpServer> {
        if !options.path.starts_with('/') {
            anyhow::bail!("the endpoint path `{}` must start with `/`", options.path);
        }
        let listener = match TcpListener::bind((options.host.as_str(), options.port)).await {
            Ok(l) => l,
            Err(e) => {
                teardown.run().await;
                anyhow::bail!("cannot listen on {}:{}: {e}", options.host, options.port);
            }
        };
        let addr = listener.local_addr()?;
        let guard = Guard::new(&options, addr.ip().is_loopback());
        let sessions = SessionStore::new(&options);
        let (nowhere, _) = tokio::sync::mpsc::unbounded_channel();
        Ok(HttpServer {
            listener,
            addr,
            shared: Arc::new(Shared {
                core,
                options,
                guard,
                sessions,
                nowhere,
            }),
            teardown,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the MCP endpoint, e.g. `http://127.0.0.1:8000/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.options.path)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(super::stdio::shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops accepting connections, ends the
    /// sessions' GET streams, and lets requests in flight finish, up to
    /// [`HttpOptions::shutdown_timeout`]; what is still running then is stopped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let HttpServer {
            listener,
            shared,
            teardown,
            ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let reaper = tokio::spawn(sessions::reap(Arc::clone(&shared)));
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(
                            stream,
                            Arc::clone(&shared),
                            stop_rx.clone(),
                        ));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        tracing::info!("shutting down");
        drop(listener);
        reaper.abort();
        let _ = stop_tx.send(true);
        shared.sessions.end_listening_streams();
        let deadline = shared.options.shutdown_timeout;
        let finish = async {
            while connections.join_next().await.is_some() {}
            for session in shared.sessions.all() {
                session.session.drain(deadline).await;
            }
        };
        if tokio::time::timeout(deadline, finish).await.is_err() {
            tracing::warn!(
                connections = connections.len(),
                "requests still running at the shutdown deadline were stopped"
            );
            connections.abort_all();
            for session in shared.sessions.all() {
                session.session.drain(Duration::ZERO).await;
            }
        }
        teardown.run().await;
        Ok(())
    }
}

/// Serves one TCP connection until it closes or the server stops.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(service::handle(shared, request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = async { drop(stop.wait_for(|stopped| *stopped).await) } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
