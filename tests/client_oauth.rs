//! The client's login on the standing GET stream: a server that takes the POSTs of a session
//! but wants a token for its GET stream gets one (the client logs in there as for a POST),
//! and what it sends on the stream reaches the client.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use mcp_runtime::client::oauth::{ClientCredential, OAuth};
use mcp_runtime::{Client, ClientOptions, HttpClientOptions};
use serde_json::{Value, json};

const TOKEN: &str = "stream-token";

#[derive(Default)]
struct Counts {
    token_requests: AtomicUsize,
    tokens: AtomicUsize,
    refused_gets: AtomicUsize,
    authorized_gets: AtomicUsize,
}

fn respond(status: u16, content_type: &str, body: String) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    response
}

/// An MCP endpoint at `/mcp` (2025-11-25) whose authorization server is the same origin:
/// POSTs need no token, the GET stream needs `TOKEN` (client credentials `svc`/`s3cret`).
async fn serve(counts: Arc<Counts>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let counts = Arc::clone(&counts);
                        async move {
                            let method = req.method().clone();
                            let path = req.uri().path().to_string();
                            let auth = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let origin = format!("http://{addr}");
                            let response = match (method.as_str(), path.as_str()) {
                                ("GET", "/.well-known/oauth-protected-resource/mcp") => respond(
                                    200,
                                    "application/json",
                                    json!({
                                        "resource": format!("{origin}/mcp"),
                                        "authorization_servers": [origin],
                                    })
                                    .to_string(),
                                ),
                                ("GET", "/.well-known/oauth-authorization-server") => respond(
                                    200,
                                    "application/json",
                                    json!({
                                        "issuer": origin,
                                        "token_endpoint": format!("{origin}/token"),
                                        "grant_types_supported": ["client_credentials"],
                                        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                                    })
                                    .to_string(),
                                ),
                                ("POST", "/token") => {
                                    counts.token_requests.fetch_add(1, Ordering::SeqCst);
                                    let form = String::from_utf8_lossy(&body);
                                    let basic = format!(
                                        "Basic {}",
                                        base64::Engine::encode(
                                            &base64::engine::general_purpose::STANDARD,
                                            "svc:s3cret"
                                        )
                                    );
                                    if form.contains("grant_type=client_credentials")
                                        && auth.as_deref() == Some(basic.as_str())
                                    {
                                        counts.tokens.fetch_add(1, Ordering::SeqCst);
                                        respond(
                                            200,
                                            "application/json",
                                            json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}).to_string(),
                                        )
                                    } else {
                                        respond(400, "application/json", json!({"error": "invalid_client"}).to_string())
                                    }
                                }
                                ("GET", "/mcp") => {
                                    if auth.as_deref() == Some(&format!("Bearer {TOKEN}")) {
                                        counts.authorized_gets.fetch_add(1, Ordering::SeqCst);
                                        let event = json!({
                                            "jsonrpc": "2.0",
                                            "method": "notifications/message",
                                            "params": {"level": "info", "data": "over the GET stream"},
                                        });
                                        respond(200, "text/event-stream", format!("id: 1\ndata: {event}\n\n"))
                                    } else {
                                        counts.refused_gets.fetch_add(1, Ordering::SeqCst);
                                        let mut r = respond(401, "application/json", "{}".into());
                                        r.headers_mut().insert(
                                            "www-authenticate",
                                            format!("Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\"")
                                                .parse()
                                                .unwrap(),
                                        );
                                        r
                                    }
                                }
                                ("POST", "/mcp") => {
                                    let message: Value = serde_json::from_slice(&body).unwrap_or_default();
                                    match message.get("id") {
                                        None => respond(202, "application/json", String::new()),
                                        Some(id) => {
                                            let result = if message["method"] == "initialize" {
                                                json!({
                                                    "protocolVersion": "2025-11-25",
                                                    "capabilities": {"logging": {}},
                                                    "serverInfo": {"name": "stream-guard", "version": "1"},
                                                })
                                            } else {
                                                json!({})
                                            };
                                            let mut r = respond(
                                                200,
                                                "application/json",
                                                json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
                                            );
                                            r.headers_mut().insert("mcp-session-id", "s-1".parse().unwrap());
                                            r
                                        }
                                    }
                                }
                                _ => respond(404, "application/json", "{}".into()),
                            };
                            Ok::<_, Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_on_the_get_stream_logs_in_and_the_stream_opens() {
    let counts = Arc::new(Counts::default());
    let addr = serve(Arc::clone(&counts)).await;
    let oauth = OAuth::client_credentials("svc", ClientCredential::Secret("s3cret".into()));
    let client = Client::connect_http_with(
        &format!("http://{addr}/mcp"),
        HttpClientOptions::default().oauth(oauth),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let note = tokio::time::timeout(Duration::from_secs(20), client.next_notification())
        .await
        .expect("the GET stream's message within 20 s")
        .expect("a notification");
    assert_eq!(note.method, "notifications/message", "{:?}", note.params);
    assert_eq!(
        note.params["data"], "over the GET stream",
        "{:?}",
        note.params
    );
    assert!(counts.refused_gets.load(Ordering::SeqCst) >= 1);
    assert!(counts.authorized_gets.load(Ordering::SeqCst) >= 1);
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 1);
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_on_the_get_stream_leaves_it_closed_without_asking_again() {
    let counts = Arc::new(Counts::default());
    let addr = serve(Arc::clone(&counts)).await;
    let oauth = OAuth::client_credentials("svc", ClientCredential::Secret("wrong".into()));
    let client = Client::connect_http_with(
        &format!("http://{addr}/mcp"),
        HttpClientOptions::default().oauth(oauth),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    // Long enough for a stream that retried to have come back several times.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(counts.token_requests.load(Ordering::SeqCst), 1);
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 0);
    assert_eq!(counts.refused_gets.load(Ordering::SeqCst), 1);
    // The session's requests still work.
    client.ping().await.unwrap();
    client.close().await.unwrap();
}
