//! The client over `https://`: the quickstart behind a TLS-terminating proxy whose CA the test
//! makes, over HTTP/1.1 and over HTTP/2. Trusting that CA gets through, under a handshake
//! revision and under 2026-07-28; not trusting it fails at connect with an error that says
//! how to trust it.

#[path = "support/h2.rs"]
mod h2;
#[path = "support/tls.rs"]
mod tls;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;

use h2::H2Proxy;
use mcp_runtime::{Client, ClientError, ClientOptions, HttpClientOptions};
use mcp_workspace::example_binary;
use serde_json::json;
use tls::{Ca, TlsProxy};

/// The quickstart over plain HTTP on a free port, stopped when dropped.
struct Quickstart {
    child: Child,
    addr: SocketAddr,
}

impl Quickstart {
    fn start() -> Quickstart {
        let mut child = Command::new(example_binary("quickstart"))
            .args(["--transport", "http", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the quickstart example is built (cargo build --examples)");
        let mut banner = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let addr = banner
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .and_then(|u| u.trim_end_matches(',').strip_suffix("/mcp"))
            .unwrap_or_else(|| panic!("no URL in the banner {banner:?}"))
            .parse()
            .unwrap();
        Quickstart { child, addr }
    }
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn trusting(ca: &Ca) -> HttpClientOptions {
    HttpClientOptions::default().ca_cert_pem(ca.pem.clone())
}

#[tokio::test]
async fn the_client_reaches_an_https_server_whose_ca_it_trusts() {
    let server = Quickstart::start();
    let proxy = TlsProxy::start(server.addr);
    let url = format!("{}/mcp", proxy.origin);

    let client = Client::connect_http_with(&url, trusting(&proxy.ca), ClientOptions::default())
        .await
        .unwrap();
    assert!(
        client.session_id().is_some(),
        "the session id came over TLS"
    );
    assert_eq!(client.list_all_tools().await.unwrap().len(), 6);
    let r = client
        .call_tool("add", json!({"a": 20, "b": 22}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 42})));
    // A streamed answer (progress, then the result) over TLS too.
    let r = client.call_tool("sleep", json!({"ms": 20})).await.unwrap();
    assert!(!r.is_error);
    client.close().await.unwrap();

    // 2026-07-28: no session, routing headers on every POST.
    let options = ClientOptions {
        protocol_version: "2026-07-28".into(),
        ..ClientOptions::default()
    };
    let client = Client::connect_http_with(&url, trusting(&proxy.ca), options)
        .await
        .unwrap();
    assert_eq!(client.protocol_version(), "2026-07-28");
    let r = client
        .call_tool("add", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 3})));
    client.close().await.unwrap();
    assert!(proxy.handshakes() >= 2, "{} handshakes", proxy.handshakes());
    assert_eq!(proxy.refused(), 0);
}

#[tokio::test]
async fn the_client_speaks_http2_when_the_server_offers_it() {
    let server = Quickstart::start();
    let proxy = H2Proxy::start(server.addr).await;
    let url = format!("{}/mcp", proxy.origin);

    let client = Client::connect_http_with(&url, trusting(&proxy.ca), ClientOptions::default())
        .await
        .unwrap();
    assert!(client.session_id().is_some());
    assert_eq!(client.list_all_tools().await.unwrap().len(), 6);
    // Answers as JSON and as SSE streams, several at once on the one connection.
    let (a, b) = tokio::join!(
        client.call_tool("add", json!({"a": 2, "b": 3})),
        client.call_tool("sleep", json!({"ms": 30})),
    );
    assert_eq!(a.unwrap().structured_content, Some(json!({"result": 5})));
    assert!(!b.unwrap().is_error);
    client.close().await.unwrap();

    let options = ClientOptions {
        protocol_version: "2026-07-28".into(),
        ..ClientOptions::default()
    };
    let client = Client::connect_http_with(&url, trusting(&proxy.ca), options)
        .await
        .unwrap();
    let r = client
        .call_tool("add", json!({"a": 4, "b": 4}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 8})));
    client.close().await.unwrap();
    let seen = proxy.http2_requests.load(Ordering::SeqCst);
    assert!(seen >= 6, "{seen} requests over HTTP/2");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_with_an_error_that_says_how_to_trust_it() {
    let server = Quickstart::start();
    let proxy = TlsProxy::start(server.addr);
    let url = format!("{}/mcp", proxy.origin);

    // Neither the platform's roots nor another CA vouch for the proxy's certificate.
    for options in [
        HttpClientOptions::default(),
        trusting(&Ca::new("some other CA")),
    ] {
        let e = Client::connect_http_with(&url, options, ClientOptions::default())
            .await
            .unwrap_err();
        let ClientError::Io(io) = &e else {
            panic!("not an I/O error: {e:?}");
        };
        let message = io.to_string();
        assert!(message.contains("certificate"), "{message}");
        assert!(message.contains("ca_cert_pem"), "{message}");
        assert!(message.contains("--ca-cert"), "{message}");
    }
    // The proxy counts a refused handshake on its own task, which may finish after the
    // client has its error: wait for both (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while proxy.refused() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(proxy.refused() >= 2, "{} refused", proxy.refused());
    assert_eq!(proxy.handshakes(), 0);
}

#[tokio::test]
async fn an_unreachable_server_is_an_io_error_naming_the_url() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for scheme in ["http", "https"] {
        let url = format!("{scheme}://127.0.0.1:{port}/mcp");
        let e = Client::connect_http(&url).await.unwrap_err();
        let ClientError::Io(io) = &e else {
            panic!("not an I/O error: {e:?}");
        };
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{io}");
        assert!(io.to_string().contains(&url), "{io}");
    }
}

#[tokio::test]
async fn https_to_a_plain_http_server_says_to_use_http() {
    let server = Quickstart::start();
    let e = Client::connect_http(&format!("https://{}/mcp", server.addr))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not speak TLS here: try its http:// URL"),
        "{e}"
    );
}
