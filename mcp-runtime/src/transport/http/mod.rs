//! The streamable HTTP transport of MCP 2025-11-25, on hyper.
//!
//! One endpoint (`/mcp` by default): a POST carries one client message and is answered with
//! JSON, with an SSE stream when the request says something before its result, or with `202`
//! for notifications and responses; a GET opens the session's own SSE stream for messages the
//! server starts; a DELETE ends a session. `GET /healthz` answers `ok` (liveness); `GET /readyz`
//! answers `ready`, or 503 while draining or while a [`Readiness`] check fails.
//!
//! ```text
//! options.rs   HttpOptions (always built: the command line parses them)
//! server.rs    HttpServer: listening, connections, graceful shutdown
//! service.rs   one HTTP request: routing, header checks, POST / GET / DELETE
//! security.rs  Origin and Host checks (DNS rebinding), bearer token, Accept / Content-Type
//! sessions.rs  sessions: ids, lookup, idle expiry, the cap; SSE streams and their replay
//! sse.rs       SSE framing and the streaming response body
//! limits.rs    connection caps (in all, per address), the file limit, accept back-off
//! stall.rs     the write timeout; HTTP/2 idle close
//! embed.rs     McpService: the endpoint as a tower Service (feature `tower`)
//! health.rs    Readiness: the checks /readyz runs
//! tls.rs       rustls, ALPN h2 and http/1.1, certificate reload (feature `tls`)
//! legacy_sse.rs  the 2024-11-05 HTTP+SSE transport (`--legacy-sse`)
//! ```
//!
//! Dispatch is the same session code as stdio (`server/session.rs`): each POST
//! hands its message to the session with a sink of its own, so what a request says while it
//! runs goes to that request's response stream and nowhere else.
//!
//! Everything but [`HttpOptions`] needs the `http-server` feature.

// ---- Production (issue 20)
#[cfg(feature = "tower")]
mod embed;
mod health;
#[cfg(feature = "http-server")]
mod legacy_sse;
#[cfg(feature = "http-server")]
mod limits;
#[cfg(feature = "http-server")]
mod metrics_endpoint;
mod options;
#[cfg(feature = "http-server")]
mod security;
#[cfg(feature = "http-server")]
pub(crate) mod server;
#[cfg(feature = "http-server")]
mod service;
#[cfg(feature = "http-server")]
mod sessions;
// Scale out (issue 19).
#[cfg(feature = "http-server")]
mod scale;
#[cfg(feature = "http-server")]
mod sse;
#[cfg(feature = "http-server")]
mod stall;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "tower")]
pub use embed::{McpBody, McpService};
pub use health::{CheckFuture, Readiness};
pub use options::HttpOptions;
#[cfg(feature = "http-server")]
pub use server::HttpServer;
#[cfg(feature = "http-server")]
pub(crate) use server::Shared;
