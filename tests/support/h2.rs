//! HTTP/2 for the https tests: a TLS front (its certificate from a [`Ca`]) that speaks
//! HTTP/2 and forwards each request to a plain HTTP/1.1 server. Included with `#[path]`,
//! beside `tls.rs`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::service::service_fn;
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::tls::Ca;

/// HTTP/2 over TLS in front of a plain HTTP/1.1 server: each request goes upstream on a
/// connection of its own, so that a stream the client closes closes its upstream request.
pub struct H2Proxy {
    /// `https://127.0.0.1:PORT`.
    pub origin: String,
    /// The CA of the proxy's certificate.
    pub ca: Ca,
    /// Requests that arrived over HTTP/2.
    pub http2_requests: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl H2Proxy {
    /// Listens on 127.0.0.1 and forwards to the plain-HTTP server at `upstream`.
    pub async fn start(upstream: SocketAddr) -> H2Proxy {
        let ca = Ca::new("mcp-runtime HTTP/2 test CA");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(ca.server_config(&[b"h2"])));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("https://{}", listener.local_addr().unwrap());
        let http2_requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&http2_requests);
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |request| {
                        let counted = Arc::clone(&counted);
                        async move { forward(request, upstream, &counted).await }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        H2Proxy {
            origin,
            ca,
            http2_requests,
            accept,
        }
    }
}

impl Drop for H2Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One HTTP/2 request, sent upstream as HTTP/1.1.
async fn forward(
    mut request: Request<Incoming>,
    upstream: SocketAddr,
    http2_requests: &AtomicUsize,
) -> Result<Response<Incoming>, hyper::Error> {
    if request.version() == Version::HTTP_2 {
        http2_requests.fetch_add(1, Ordering::SeqCst);
    }
    let authority = request.uri().authority().unwrap().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .unwrap();
    *request.uri_mut() = path;
    *request.version_mut() = Version::HTTP_11;
    request
        .headers_mut()
        .insert(HOST, authority.parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(upstream).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    sender.send_request(request).await
}
