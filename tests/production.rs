//! Running in production: the endpoint embedded in an axum application beside its own routes
//! and middleware, `/healthz` and `/readyz` with readiness checks, and `McpService` mounted
//! in a bare hyper server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use mcp_runtime::prelude::*;
use mcp_runtime::transport::http::Readiness;
use mcp_runtime::{HttpOptions, HttpServer, McpService};
use mcp_workspace::{HttpExample, example_command};
use serde_json::json;
use tokio::net::TcpStream;

/// One request on a new connection; the status and the body.
async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(20),
        sender.send_request(
            builder
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap(),
        ),
    )
    .await
    .expect("an answer within 20 s")
    .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_axum_app_serves_its_routes_its_middleware_and_mcp() {
    let mut command = example_command("axum_app");
    command.env("APP_API_KEY", "k-123");
    let app = HttpExample::start(command, &[]);
    let addr = app.addr().to_string();

    // The application's REST routes, behind its own API-key middleware.
    let (status, _) = request(&addr, "GET", "/api/notes", &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = request(&addr, "GET", "/api/notes", &[("x-api-key", "wrong")], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let key = [("x-api-key", "k-123"), ("content-type", "application/json")];
    let (status, body) = request(&addr, "POST", "/api/notes", &key, r#""buy milk""#).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "1"));
    let (status, body) = request(&addr, "GET", "/api/notes", &key, "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"["buy milk"]"#));
    // A path neither the application nor MCP serves.
    let (status, _) = request(&addr, "GET", "/nowhere", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Health and readiness, from the MCP endpoint mounted in the application.
    assert_eq!(
        request(&addr, "GET", "/healthz", &[], "").await,
        (StatusCode::OK, "ok\n".into())
    );
    assert_eq!(
        request(&addr, "GET", "/readyz", &[], "").await,
        (StatusCode::OK, "ready\n".into())
    );

    // MCP at /mcp, with the runtime's own client; the middleware is not in its way.
    let client = Client::connect_http(&app.url).await.unwrap();
    assert_eq!(client.server_info().name, "axum-app");
    let result = client
        .call_tool("add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(result.structured_content, Some(json!({"result": 42})));
    client.close().await.unwrap();
}

#[tokio::test]
async fn readyz_runs_the_readiness_checks_and_healthz_does_not() {
    let store_up = Arc::new(AtomicBool::new(false));
    let up = Arc::clone(&store_up);
    let server = Server::new("ready").readiness_check("store", move || {
        let up = up.load(Ordering::SeqCst);
        async move {
            if up {
                Ok(())
            } else {
                Err("connection refused".into())
            }
        }
    });
    let options = HttpOptions {
        port: 0,
        readiness: Readiness::default().check("always", || async { Ok(()) }),
        ..HttpOptions::default()
    };
    let server = HttpServer::bind(server, options).await.unwrap();
    let addr = server.local_addr().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    assert_eq!(
        request(&addr, "GET", "/healthz", &[], "").await,
        (StatusCode::OK, "ok\n".into())
    );
    let (status, body) = request(&addr, "GET", "/readyz", &[], "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "not ready:\n  store: connection refused\n");
    store_up.store(true, Ordering::SeqCst);
    assert_eq!(
        request(&addr, "GET", "/readyz", &[], "").await,
        (StatusCode::OK, "ready\n".into())
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// `McpService` in a bare hyper server: the same endpoint, and `drain` turns readiness off
/// and refuses new sessions while existing ones are still served.
#[tokio::test]
async fn mcp_service_in_a_hyper_server_drains() {
    let mcp = McpService::new(Server::new("embedded"), HttpOptions::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = mcp.clone();
    let accepting = tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            let service = service.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut r: Request<_>| {
                    r.extensions_mut().insert(peer);
                    tower_call(service.clone(), r)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let url = format!("http://{addr}/mcp");
    let client = Client::connect_http(&url).await.unwrap();
    assert_eq!(client.server_info().name, "embedded");
    let addr = addr.to_string();
    assert_eq!(
        request(&addr, "GET", "/readyz", &[], "").await.0,
        StatusCode::OK
    );
    assert!(!mcp.is_draining());
    mcp.drain(Duration::from_secs(5)).await;
    assert!(mcp.is_draining());
    let (status, body) = request(&addr, "GET", "/readyz", &[], "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The existing session is still served; a new one is refused.
    assert!(client.list_tools(None).await.is_ok());
    assert!(Client::connect_http(&url).await.is_err());
    client.close().await.unwrap();
    mcp.shutdown().await;
    accepting.abort();
}

/// Calls a `tower_service::Service` once it is ready, the way a server framework does.
async fn tower_call<S, R>(mut service: S, request: R) -> Result<S::Response, S::Error>
where
    S: tower_service::Service<R>,
{
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}
