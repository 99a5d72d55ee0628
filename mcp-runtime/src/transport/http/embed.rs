//! The MCP endpoint as a `tower::Service`, for an application that owns its listener (axum,
//! hyper, anything on `tower`): [`McpService`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};

use super::limits::Connections;
use super::server::Host;
use super::service::{self, RequestBody};
use super::sessions;
use super::sse::ResponseBody;
use super::{HttpOptions, Shared};
use crate::{Error, Server};

/// The streamable HTTP endpoint of a [`Server`] as a [`tower_service::Service`], to mount in
/// an application that serves HTTP itself; it answers exactly what [`HttpServer`](super::HttpServer)
/// answers on its port: the MCP endpoint at [`HttpOptions::path`], `/healthz`, `/readyz`
/// and the OAuth metadata, with the same checks (Origin and Host, authentication, limits).
/// Give it the requests of those paths, with their path unchanged (in axum, `route_service`,
/// not `nest_service`, which strips the prefix).
///
/// The application's listener decides the connection caps and idle timeouts
/// (`max_connections`, `idle_timeout` and the metrics address of [`HttpOptions`] are not
/// used). To see the client's address (for per-address limits, the logs and
/// [`PeerAddr`](crate::PeerAddr)), put a [`SocketAddr`] or a [`PeerAddr`](crate::PeerAddr) in
/// the request's extensions.
///
/// [`HttpOptions::host`] still tells whether the server is local: on a loopback host
/// (the default) only `localhost` names are accepted in `Host`, as
/// [`allowed_hosts`](HttpOptions::allowed_hosts) documents.
///
/// ```no_run
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::transport::http::{HttpOptions, McpService};
///
/// # async fn run() -> Result<(), mcp_runtime::Error> {
/// let mcp = McpService::new(Server::new("calc"), HttpOptions::default()).await?;
/// // axum: Router::new().route("/api/items", get(items)).route_service("/mcp", mcp.clone())
/// // …and when the application stops:
/// mcp.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// Clones share the sessions. Needs the `tower` feature.
#[derive(Clone)]
pub struct McpService {
    shared: Arc<Shared>,
    running: Arc<Running>,
}

/// What lives as long as the service's last clone: the session reaper and the lifespans'
/// teardowns.
struct Running {
    reaper: tokio::task::JoinHandle<()>,
    /// The listener of the bus between replicas (with a shared store).
    bus: Option<tokio::task::JoinHandle<()>>,
    teardown: std::sync::Mutex<Option<crate::server::Teardown>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.reaper.abort();
        if let Some(bus) = &self.bus {
            bus.abort();
        }
    }
}

impl fmt::Debug for McpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpService")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl McpService {
    /// Starts `server` (its lifespans run now) and makes its endpoint. Needs a Tokio runtime.
    pub async fn new(mut server: Server, mut options: HttpOptions) -> Result<McpService, Error> {
        server.lend_auth(&mut options);
        let (core, teardown) = server.start().await?;
        if !options.path.starts_with('/') {
            teardown.run().await;
            return Err(Error::InvalidPath(options.path));
        }
        let loopback = options.host == "localhost"
            || options
                .host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let authority = if options.host.contains(':') {
            format!("[{}]", options.host)
        } else {
            options.host.clone()
        };
        let host = Host {
            endpoint: format!("http://{authority}:{}{}", options.port, options.path),
            loopback,
            // The application's server owns the connections, and TLS.
            connections: Connections::new(usize::MAX, usize::MAX),
            serves_metrics: false,
            #[cfg(feature = "tls")]
            tls: None,
        };
        let shared = match Shared::new(core, options, host).await {
            Ok(shared) => Arc::new(shared),
            Err(e) => {
                teardown.run().await;
                return Err(e);
            }
        };
        let reaper = tokio::spawn(sessions::reap(Arc::clone(&shared)));
        let bus = shared.listen_to_replicas();
        Ok(McpService {
            shared,
            running: Arc::new(Running {
                reaper,
                bus,
                teardown: std::sync::Mutex::new(Some(teardown)),
            }),
        })
    }

    /// The options it serves with.
    pub fn options(&self) -> &HttpOptions {
        &self.shared.options
    }

    /// Whether [`drain`](Self::drain) or [`shutdown`](Self::shutdown) was called.
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::Relaxed)
    }

    /// Starts draining: `/readyz` answers 503, `initialize` is refused, the sessions' GET
    /// streams end with a retry hint; then waits until no request is in flight, up to
    /// `deadline`. Requests of existing sessions are still answered.
    pub async fn drain(&self, deadline: Duration) {
        self.shared.draining.store(true, Ordering::Relaxed);
        self.shared
            .sessions
            .end_listening_streams(self.shared.options.sse_retry);
        self.shared.legacy.close_all();
        let idle = async {
            for session in self.shared.sessions.all() {
                session.session.drain(deadline).await;
            }
        };
        let _ = tokio::time::timeout(deadline, idle).await;
    }

    /// Drains (up to [`HttpOptions::shutdown_timeout`]), stops what is still running, ends
    /// the sessions and runs the lifespans' teardowns. Requests after it get 503 or 404.
    pub async fn shutdown(&self) {
        self.drain(self.shared.options.shutdown_timeout).await;
        self.running.reaper.abort();
        if let Some(bus) = &self.running.bus {
            bus.abort();
        }
        for session in self.shared.sessions.all() {
            session.session.drain(Duration::ZERO).await;
        }
        let teardown = self
            .running
            .teardown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(teardown) = teardown {
            teardown.run().await;
        }
    }
}

impl<B> tower_service::Service<http::Request<B>> for McpService
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<McpBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<McpBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        Box::pin(serve(shared, request))
    }
}

async fn serve<B: RequestBody>(
    shared: Arc<Shared>,
    request: http::Request<B>,
) -> Result<http::Response<McpBody>, Infallible> {
    let extensions = request.extensions();
    let peer = extensions
        .get::<SocketAddr>()
        .copied()
        .or_else(|| extensions.get::<crate::PeerAddr>().map(|p| p.0));
    let response = service::handle(shared, request, peer).await;
    Ok(response.map(|inner| McpBody { inner }))
}

/// The body of an [`McpService`] response: JSON or text at once, or an SSE stream.
pub struct McpBody {
    inner: ResponseBody,
}

impl fmt::Debug for McpBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpBody").finish_non_exhaustive()
    }
}

impl Body for McpBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
