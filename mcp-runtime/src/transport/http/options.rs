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
    /// (otherwise 401); the caller then holds every scope. With [`api_keys`](Self::api_keys)
    /// or [`oauth`](Self::oauth) too, any of them is accepted.
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
    /// On shutdown (SIGTERM: the drain), how long requests in flight may take to finish
    /// (`--drain-timeout`, default 10 s).
    pub shutdown_timeout: Duration,

    // Hardening against hostile clients: connection caps and timeouts (docs/security.md).
    /// At most this many connections at once (`--max-connections`); one more is answered
    /// `503` with `Retry-After` and closed. `None` (the default): the file-descriptor limit
    /// less a reserve of 64 (or half of a smaller limit), after the soft limit was raised to
    /// the hard one.
    pub max_connections: Option<usize>,
    /// At most this many connections at once from one client address
    /// (`--max-connections-per-address`); `None` (the default): a quarter of
    /// [`max_connections`](Self::max_connections).
    pub max_connections_per_address: Option<usize>,
    /// A request's body must arrive in full within this long after its head, or it is
    /// answered `408` and the connection is closed (default 30 s).
    pub body_read_timeout: Duration,
    /// A connection must send a complete request head within this long after it opened or
    /// after its last response ended, or it is closed: slow headers and idle keep-alive
    /// connections alike (default 30 s).
    pub idle_timeout: Duration,
    /// A request must have its response started (its JSON answer, or the head of its SSE
    /// stream) within this long, or it is answered `503` and what it started is cancelled
    /// (default 5 min; a streamed response is not limited by it).
    pub request_timeout: Duration,
    /// Bytes of events each SSE stream keeps for replay, besides the
    /// [`replay_buffer`](Self::replay_buffer) count (default 4 MiB; the newest event is
    /// always kept).
    pub replay_bytes_per_stream: usize,
    /// Bytes of events all of a session's streams keep for replay (default 16 MiB): past it,
    /// finished streams are dropped first, oldest first.
    pub replay_bytes_per_session: usize,
    /// Sessions one client address may hold at once (`--max-sessions-per-address`); its
    /// `initialize` beyond it gets 503. `None` (the default): a tenth of
    /// [`max_sessions`](Self::max_sessions), but at least 100 (or all of them, if fewer).
    pub max_sessions_per_address: Option<usize>,
    /// A session that never got a request after `initialize` (not even
    /// `notifications/initialized`) ends after this long (default 60 s), so that sessions
    /// opened and forgotten do not hold their slots for the whole idle timeout.
    pub unused_session_timeout: Duration,
    // ---- Identity (issue 21)
    /// A file of API keys (`--api-keys`; see [`auth::api_keys`](crate::auth::api_keys)):
    /// each request then needs one of its keys, in `X-API-Key` or `Authorization: Bearer`.
    /// The file is read again when it changes, and on SIGHUP.
    pub api_keys: Option<std::path::PathBuf>,
    /// Accept OAuth access tokens from this authorization server (the server is then an
    /// OAuth 2.1 resource server, with RFC 9728 metadata).
    pub oauth: Option<crate::auth::OAuthOptions>,
    // Metrics.
    /// Also serve the server's metrics (`Server::metrics`) at `/metrics` on this
    /// address (`host:port`, e.g. `127.0.0.1:9464`), and nowhere else. Without it, `/metrics`
    /// is served on the MCP port only when that is bound to a loopback address, never on a
    /// public one. Needs the `metrics` feature.
    pub metrics_addr: Option<String>,
    // ---- Production (issue 20)
    /// The checks `/readyz` runs besides "not draining" (e.g. the shared store answers);
    /// see [`Readiness`](super::Readiness). [`Server::readiness_check`](crate::Server::readiness_check)
    /// adds to them.
    pub readiness: super::Readiness,
    /// Serve HTTPS with this certificate chain (PEM; `--tls-cert`), with
    /// [`tls_key`](Self::tls_key); both files are read again when they change. ALPN offers
    /// `h2` and `http/1.1`. Needs the `tls` feature.
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of [`tls_cert`](Self::tls_cert) (PEM, PKCS#8, PKCS#1 or SEC1;
    /// `--tls-key`).
    pub tls_key: Option<std::path::PathBuf>,
    /// Also serve the deprecated HTTP+SSE transport of 2024-11-05 (`--legacy-sse`):
    /// `GET /sse` and `POST /messages?session_id=…`, for clients that speak nothing newer.
    /// Off by default.
    pub legacy_sse: bool,
    // ---- Scale out (issue 19)
    /// Share sessions, SSE replay, notifications and the `requestState` key with the other
    /// replicas through the Redis server at this URL (`redis://[:password@]host:port[/db]`;
    /// `--redis-url`, `MCP_REDIS_URL`). Needs the `redis` feature. See `docs/scale-out.md`.
    pub redis_url: Option<String>,
    // ---- Slow SSE consumers
    /// Events queued for an open SSE connection beyond what a resume replays (default 64): a
    /// client that falls further behind has its connection closed, and resumes with
    /// `Last-Event-ID` from the stream's replay buffer, so that a slow reader cannot make the
    /// server hold ever more for it.
    pub sse_send_buffer: usize,
    // ---- Stalled connections
    /// A write to a connection (a response, an SSE event, a TLS record) that cannot go on
    /// for this long ends the connection (`--write-timeout`, default 30 s): a client that
    /// reads nothing frees its connection slot instead of holding it until TCP gives up.
    /// Time with nothing to send does not count. It is also how long an HTTP/2 peer has to
    /// answer a keep-alive PING.
    pub write_timeout: Duration,
    /// HTTP/2 (with TLS): a PING is sent after this long without a frame from the peer, and
    /// the connection is closed when it goes unanswered for [`write_timeout`](Self::write_timeout)
    /// (`--http2-keep-alive`, default 60 s; zero sends none). An HTTP/2 connection with no
    /// stream open for [`idle_timeout`](Self::idle_timeout) is closed as well.
    pub http2_keep_alive: Duration,
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
            // Hardening against hostile clients.
            max_connections: None,
            max_connections_per_address: None,
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5 * 60),
            replay_bytes_per_stream: 4 << 20,
            replay_bytes_per_session: 16 << 20,
            max_sessions_per_address: None,
            unused_session_timeout: Duration::from_secs(60),
            api_keys: None,
            oauth: None,
            metrics_addr: None,
            // ---- Production (issue 20)
            readiness: super::Readiness::default(),
            tls_cert: None,
            tls_key: None,
            legacy_sse: false,
            redis_url: None,
            // Slow SSE consumers.
            sse_send_buffer: 64,
            // Stalled connections.
            write_timeout: Duration::from_secs(30),
            http2_keep_alive: Duration::from_secs(60),
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
            // Hardening against hostile clients.
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("body_read_timeout", &self.body_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("replay_bytes_per_stream", &self.replay_bytes_per_stream)
            .field("replay_bytes_per_session", &self.replay_bytes_per_session)
            .field("max_sessions_per_address", &self.max_sessions_per_address)
            .field("unused_session_timeout", &self.unused_session_timeout)
            .field("api_keys", &self.api_keys)
            .field("oauth", &self.oauth)
            .field("metrics_addr", &self.metrics_addr)
            // ---- Production (issue 20)
            .field("readiness", &self.readiness)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("legacy_sse", &self.legacy_sse)
            // The URL may carry a password.
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<redacted>"))
            .field("sse_send_buffer", &self.sse_send_buffer)
            .field("write_timeout", &self.write_timeout)
            .field("http2_keep_alive", &self.http2_keep_alive)
            .finish()
    }
}
