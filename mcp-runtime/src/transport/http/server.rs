//! `HttpServer`: listening, connections, graceful shutdown.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::limits::{self, AcceptBackoff, Connections, Permit};
use super::security::Guard;
use super::sessions::{self, SessionStore};
use super::{HttpOptions, service};
use crate::server::ServerCore;
use crate::{Error, Server};

/// What every connection of a server shares.
pub(crate) struct Shared {
    pub(crate) core: Arc<ServerCore>,
    pub(crate) options: HttpOptions,
    pub(crate) guard: Guard,
    pub(crate) sessions: SessionStore,
    // ---- Identity (issue 21)
    /// Who may call: the credential each request must carry.
    pub(crate) edge: crate::auth::edge::Edge,
    /// A sink nobody reads, for what has nowhere to go (a stateless session's own messages).
    pub(crate) nowhere: crate::server::dispatch::session::Outbound,

    // Hardening against hostile clients.
    /// Open connections, in all and per address, against their caps.
    pub(crate) connections: Arc<Connections>,
    // Metrics.
    /// `/metrics` is served on the MCP port (a loopback bind without `metrics_addr`).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) serves_metrics: bool,
    // ---- Production (issue 20)
    /// Set at SIGTERM (or when the embedding application drains): `/readyz` answers 503 and
    /// `initialize` is refused, while requests of existing sessions are still served.
    pub(crate) draining: std::sync::atomic::AtomicBool,
    /// HTTPS (`--tls-cert`, `--tls-key`).
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::Tls>,
    /// The sessions of the 2024-11-05 HTTP+SSE transport (`--legacy-sse`).
    pub(crate) legacy: Arc<super::legacy_sse::LegacySessions>,
    // ---- Scale out (issue 19)
    /// What this replica shares with the others (none: it is the only one).
    pub(crate) scale: Option<Arc<super::scale::Scale>>,
}

/// What differs between the two hosts of the endpoint, [`HttpServer`] and the embedded
/// [`McpService`](super::McpService).
pub(crate) struct Host {
    /// The endpoint's URL, as the OAuth metadata names it.
    pub(crate) endpoint: String,
    /// Whether it listens on a loopback address (the `Host` check is on only then).
    pub(crate) loopback: bool,
    pub(crate) connections: Arc<Connections>,
    pub(crate) serves_metrics: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::Tls>,
}

impl Shared {
    /// The state both hosts serve from: the request guard, the identity edge, the shared
    /// store (with `redis_url` or `Server::shared_state`) and the session table.
    pub(crate) async fn new(
        core: Arc<ServerCore>,
        options: HttpOptions,
        host: Host,
    ) -> Result<Shared, Error> {
        let guard = Guard::new(&options, host.loopback);
        let edge = crate::auth::edge::Edge::new(&options, &host.endpoint, core.declared_scopes())?;
        let scale = super::scale::Scale::attach(&core, &options).await?;
        let sessions = SessionStore::new(&options).with_scale(scale.clone());
        let (nowhere, _) = crate::server::dispatch::outbound::for_session(&core.limits);
        #[cfg(feature = "auth")]
        if let Some(keys) = edge.key_store() {
            follow_key_scopes(&core, keys);
        }
        Ok(Shared {
            core,
            options,
            guard,
            sessions,
            edge,
            nowhere,
            connections: host.connections,
            serves_metrics: host.serves_metrics,
            draining: Default::default(),
            legacy: Default::default(),
            #[cfg(feature = "tls")]
            tls: host.tls,
            scale,
        })
    }

    /// Starts listening to the other replicas, with a shared store.
    pub(crate) fn listen_to_replicas(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        self.scale
            .clone()
            .map(|scale| tokio::spawn(super::scale::listen(Arc::clone(self), scale)))
    }

    /// Whether the shared state this replica depends on answers (always, for a replica
    /// alone): what a readiness probe reports.
    pub(crate) async fn store_healthy(&self) -> bool {
        match &self.scale {
            Some(scale) => scale.state.healthy().await,
            None => true,
        }
    }
}

/// After each reload of the API key file, gives the sessions (and listen streams) of each
/// key the scopes the file now gives it, and tells them of the lists that changed for them.
/// Ends with the key store.
#[cfg(feature = "auth")]
fn follow_key_scopes(core: &Arc<ServerCore>, keys: &Arc<crate::auth::api_keys::KeyStore>) {
    let mut reloads = keys.reloads();
    let (core, keys) = (Arc::downgrade(core), Arc::downgrade(keys));
    tokio::spawn(async move {
        while reloads.changed().await.is_ok() {
            let (Some(core), Some(keys)) = (core.upgrade(), keys.upgrade()) else {
                break;
            };
            let now = crate::auth::api_keys::unix_now();
            crate::server::registration::handle::rescope_principals(&core, |p| {
                keys.principal_of(p.key_id()?, now)
            });
        }
    });
}

/// A server bound to its address, not yet serving: [`HttpServer::local_addr`] tells which
/// port it got (useful with port 0).
///
/// ```no_run
/// use mcp_runtime::prelude::*;
/// use mcp_runtime::transport::http::{HttpOptions, HttpServer};
///
/// # async fn run() -> Result<(), mcp_runtime::Error> {
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
    // Metrics.
    /// The `metrics_addr` listener, serving until the server stops.
    metrics: Option<super::metrics_endpoint::Endpoint>,
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
    pub async fn bind(mut server: Server, mut options: HttpOptions) -> Result<HttpServer, Error> {
        server.lend_auth(&mut options);
        let (core, teardown) = server.start().await?;
        Self::bind_core(core, teardown, options).await
    }

    pub(crate) async fn bind_core(
        core: Arc<ServerCore>,
        teardown: crate::server::Teardown,
        options: HttpOptions,
    ) -> Result<HttpServer, Error> {
        if !options.path.starts_with('/') {
            teardown.run().await;
            return Err(Error::InvalidPath(options.path));
        }
        let listener = match TcpListener::bind((options.host.as_str(), options.port)).await {
            Ok(l) => l,
            Err(e) => {
                teardown.run().await;
                return Err(Error::Bind {
                    host: options.host,
                    port: options.port,
                    error: e,
                });
            }
        };
        let addr = listener.local_addr()?;
        let metrics = match super::metrics_endpoint::bind(&core, &options).await {
            Ok(m) => m,
            Err(e) => {
                teardown.run().await;
                return Err(e);
            }
        };
        let serves_metrics = addr.ip().is_loopback() && options.metrics_addr.is_none();
        // ---- Production (issue 20)
        #[cfg(feature = "tls")]
        let tls = match super::tls::configure(&options) {
            Ok(tls) => tls,
            Err(e) => {
                teardown.run().await;
                return Err(e);
            }
        };
        #[cfg(not(feature = "tls"))]
        if options.tls_cert.is_some() || options.tls_key.is_some() {
            teardown.run().await;
            return Err(Error::FeatureDisabled {
                feature: "tls",
                what: "serving HTTPS (`--tls-cert`, `--tls-key`)",
            });
        }
        let nofile = limits::raise_nofile_limit();
        let (max, per_address) = limits::resolve(&options, nofile);
        let host = Host {
            endpoint: format!("http://{addr}{}", options.path),
            loopback: addr.ip().is_loopback(),
            connections: Connections::new(max, per_address),
            serves_metrics,
            #[cfg(feature = "tls")]
            tls,
        };
        let shared = match Shared::new(core, options, host).await {
            Ok(shared) => shared,
            Err(e) => {
                teardown.run().await;
                return Err(e);
            }
        };
        Ok(HttpServer {
            listener,
            addr,
            shared: Arc::new(shared),
            teardown,
            metrics,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address `/metrics` is served on when [`HttpOptions::metrics_addr`] is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    /// The URL of the MCP endpoint, e.g. `http://127.0.0.1:8000/mcp` (`https://` with TLS).
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme(),
            self.addr,
            self.shared.options.path
        )
    }

    /// `https` when serving TLS, else `http`.
    fn scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.shared.tls.is_some() {
            return "https";
        }
        "http"
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run(self) -> Result<(), Error> {
        self.run_until(crate::transport::shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then drains: `/readyz` answers 503, `initialize`
    /// is refused, the sessions' GET streams end with a retry hint, and requests in flight
    /// finish, up to [`HttpOptions::shutdown_timeout`] (`--drain-timeout`); then it stops
    /// accepting connections, and what is still running at the deadline is stopped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let HttpServer {
            listener,
            shared,
            teardown,
            addr,
            metrics,
        } = self;
        let _metrics = metrics.map(super::metrics_endpoint::Endpoint::serve);
        if !addr.ip().is_loopback() && shared.options.allowed_hosts.is_empty() {
            tracing::warn!(
                "listening on {addr} with no --allowed-hosts: the Host header is not checked, so a \
                 web page can reach this server through DNS rebinding; list the names clients use, \
                 e.g. --allowed-hosts mcp.example.com (or MCP_ALLOWED_HOSTS, HttpOptions::allowed_hosts)"
            );
        }
        tracing::debug!(
            max_connections = shared.connections.max(),
            max_connections_per_address = shared.connections.max_per_address(),
            "connection caps"
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let reaper = tokio::spawn(sessions::reap(Arc::clone(&shared)));
        let bus = shared.listen_to_replicas();
        let mut connections = JoinSet::new();
        let mut backoff = AcceptBackoff::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff.succeeded();
                        admit(&shared, &mut connections, stream, peer, &stop_rx);
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait, longer while it lasts,
                        // instead of spinning, and say so now and then rather than each time.
                        let delay = backoff.failed(&e);
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(delay) => {}
                        }
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        // ---- Production (issue 20): the drain. Readiness is false at once and no session
        // starts; the sessions' GET streams end with a retry hint; the listener still answers
        // (probes, the sessions' own requests) until what is in flight has finished, up to
        // the deadline.
        let deadline = shared.options.shutdown_timeout;
        let drain_started = tokio::time::Instant::now();
        shared.draining.store(true, Ordering::Relaxed);
        shared
            .sessions
            .end_listening_streams(shared.options.sse_retry);
        shared.legacy.close_all();
        tracing::info!(
            sessions = shared.sessions.all().len(),
            "draining: not ready, no new sessions; requests in flight finish"
        );
        {
            let idle = async {
                for session in shared.sessions.all() {
                    session.session.drain(deadline).await;
                }
            };
            tokio::pin!(idle);
            let limit = tokio::time::sleep(deadline);
            tokio::pin!(limit);
            loop {
                tokio::select! {
                    biased;
                    () = &mut idle => break,
                    () = &mut limit => break,
                    accepted = listener.accept() => {
                        if let Ok((stream, peer)) = accepted {
                            admit(&shared, &mut connections, stream, peer, &stop_rx);
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        }
        tracing::info!("shutting down");
        drop(listener);
        reaper.abort();
        if let Some(bus) = bus {
            bus.abort();
        }
        let _ = stop_tx.send(true);
        let deadline = deadline.saturating_sub(drain_started.elapsed());
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

/// Serves a connection accepted, or refuses it when over a cap.
fn admit(
    shared: &Arc<Shared>,
    connections: &mut JoinSet<()>,
    stream: TcpStream,
    peer: SocketAddr,
    stop: &watch::Receiver<bool>,
) {
    match shared.connections.admit(peer.ip()) {
        Ok(permit) => {
            connections.spawn(serve_connection(
                stream,
                peer,
                permit,
                Arc::clone(shared),
                stop.clone(),
            ));
        }
        Err(full) => refuse(stream, full, &shared.connections),
    }
}

/// Answers a connection over a cap with `503` and closes it, without waiting for anything:
/// a client that does not read loses the answer, not a file descriptor.
fn refuse(stream: TcpStream, full: limits::Full, connections: &Connections) {
    tracing::debug!(
        ?full,
        max_connections = connections.max(),
        max_connections_per_address = connections.max_per_address(),
        "refused a connection over the cap"
    );
    let _ = stream.try_write(limits::refusal(full));
}

/// Serves one TCP connection until it closes or the server stops; `permit` counts it. With
/// TLS, the handshake must end within the idle timeout; ALPN `h2` gets HTTP/2.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: Permit,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    // Below TLS, so that a stalled handshake, response or stream all count.
    let stream = super::stall::WriteTimeout::new(stream, shared.options.write_timeout);
    #[cfg(feature = "tls")]
    if let Some(tls) = &shared.tls {
        let handshake = tls.acceptor.accept(stream);
        let stream = match tokio::time::timeout(shared.options.idle_timeout, handshake).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                return;
            }
        };
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        return serve_io(stream, h2, peer, permit, shared, stop).await;
    }
    serve_io(stream, false, peer, permit, shared, stop).await
}

/// Serves HTTP/1.1 (or HTTP/2 when `h2`) on `io`.
async fn serve_io<I>(
    io: I,
    h2: bool,
    peer: SocketAddr,
    permit: Permit,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _permit = permit;
    let idle_timeout = shared.options.idle_timeout;
    #[cfg(feature = "tls")]
    if h2 {
        // HTTP/2 multiplexes: the connection is idle once it has had no stream open (a
        // request running, or its response body, an SSE stream included, still being sent)
        // for the idle timeout; a peer that answers no PING within the write timeout is gone.
        let streams = super::stall::Streams::new();
        let counted = Arc::clone(&streams);
        let keep_alive = shared.options.http2_keep_alive;
        let ping_timeout = shared.options.write_timeout;
        let service = service_fn(move |request: hyper::Request<_>| {
            let shared = Arc::clone(&shared);
            let guard = counted.open();
            async move {
                let response = service::handle(shared, request, Some(peer)).await;
                Ok::<_, Infallible>(response.map(|body| super::stall::Counted {
                    body,
                    _guard: guard,
                }))
            }
        });
        let mut builder =
            hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder.timer(TokioTimer::new());
        if !keep_alive.is_zero() {
            builder
                .keep_alive_interval(Some(keep_alive))
                .keep_alive_timeout(ping_timeout);
        }
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = async { drop(stop.wait_for(|stopped| *stopped).await) } => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
            () = streams.idle_for(idle_timeout) => {
                tracing::debug!("closing an idle HTTP/2 connection");
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        return;
    }
    let _ = h2;
    let service = service_fn(move |request: hyper::Request<_>| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(service::handle(shared, request, Some(peer)).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(idle_timeout)
        .serve_connection(TokioIo::new(io), service);
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
