//! `HttpOptions`: how to serve over HTTP, known to the command line even when the HTTP server
//! is compiled out.

use std::fmt;
use std::time::Duration;

use crate::transport::DEFAULT_MAX_MESSAGE_SIZE;

/// How to serve over HTTP. Every field has a default ([`HttpOptions::default`]), so set only
/// what you need:
///
/// ```no_run
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::transport::http::HttpOptions;
///
/// # async fn run() -> Result<(), mcp_runtime::Error> {
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
    // Metrics.
    /// Also serve the server's metrics (`Server::metrics`) at `/metrics` on this
    /// address (`host:port`, e.g. `127.0.0.1:9464`), and nowhere else. Without it, `/metrics`
    /// is served on the MCP port only when that is bound to a loopback address, never on a
    /// public one. Needs the `metrics` feature.
    pub metrics_addr: Option<String>,
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
            shutdown_timeout: crate::transport::lines::DRAIN_DEADLINE,
            metrics_addr: None,
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
            .field("metrics_addr", &self.metrics_addr)
            .finish()
    }
}
