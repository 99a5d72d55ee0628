//! The server's own TLS (`--tls-cert`, `--tls-key`): the quickstart over https with a CA the
//! test makes, reached by the official Python SDK client, by the runtime's client, and by an
//! HTTP/2 client (ALPN `h2`); a certificate replaced on disk is served from the next
//! handshake.

#[path = "support/tls.rs"]
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use mcp_runtime::{Client, ClientOptions, HttpClientOptions};
use mcp_workspace::{Lines, Running, example_command, workspace_root};
use serde_json::{Value, json};
use tls::Ca;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types};

/// A directory of its own under the temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("mcp-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a certificate of `ca` and its key into `dir`.
fn write_cert(ca: &Ca, dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = ca.server_pem();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    // Written to the side and renamed, as a certificate manager does.
    std::fs::write(dir.join("cert.tmp"), cert).unwrap();
    std::fs::write(dir.join("key.tmp"), key).unwrap();
    std::fs::rename(dir.join("key.tmp"), &key_path).unwrap();
    std::fs::rename(dir.join("cert.tmp"), &cert_path).unwrap();
    (cert_path, key_path)
}

/// The quickstart serving https with the certificate in `dir`.
struct Https {
    _child: Running,
    url: String,
    _log: Lines,
}

fn start(cert: &Path, key: &Path) -> Https {
    start_with(cert, key, &[])
}

/// [`start`] with more flags.
fn start_with(cert: &Path, key: &Path, args: &[&str]) -> Https {
    let mut child = example_command("quickstart")
        .args(["--transport", "http", "--port", "0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quickstart example is built (cargo build --examples)");
    let log = Lines::new(child.stderr.take().unwrap());
    let child = Running(child);
    let banner = log.next(Duration::from_secs(30)).expect("a banner");
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .map(|w| w.trim_end_matches(',').to_string())
        .unwrap_or_else(|| panic!("no https URL in the banner {banner:?}"));
    Https {
        _child: child,
        url,
        _log: log,
    }
}

fn client_config(ca: &Ca, alpn: &[&[u8]]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        <pki_types::CertificateDer as pki_types::pem::PemObject>::pem_slice_iter(ca.pem.as_bytes())
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// An HTTP/2 POST of `initialize` over TLS trusting `ca`: the negotiated protocol, the
/// response's HTTP version and its JSON.
async fn h2_initialize(url: &str, ca: &Ca) -> Result<(hyper::Version, Value), String> {
    let authority = url
        .strip_prefix("https://")
        .and_then(|u| u.split_once('/'))
        .map(|(a, _)| a.to_string())
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let connector = TlsConnector::from(Arc::new(client_config(ca, &[b"h2"])));
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "h2", "version": "0"}}});
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let version = response.version();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("mcp-session-id"));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Ok((version, serde_json::from_slice(&bytes).unwrap()))
}

#[tokio::test]
async fn https_with_http2_and_http1_and_a_reloaded_certificate() {
    let dir = TempDir::new("serve");
    let ca = Ca::new("test CA");
    let (cert, key) = write_cert(&ca, &dir.0);
    let server = start(&cert, &key);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // HTTP/2, chosen by ALPN.
    let (version, init) = h2_initialize(&server.url, &ca).await.unwrap();
    assert_eq!(version, hyper::Version::HTTP_2);
    assert_eq!(init["result"]["serverInfo"]["name"], "quickstart");

    // The runtime's client (HTTP/1.1 or HTTP/2, as reqwest negotiates), trusting the CA.
    let client = Client::connect_http_with(
        &server.url,
        HttpClientOptions::default().ca_cert_pem(ca.pem.clone()),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let result = client
        .call_tool("add", json!({"a": 20, "b": 22}))
        .await
        .unwrap();
    assert_eq!(result.structured_content, Some(json!({"result": 42})));
    client.close().await.unwrap();

    // A certificate of another CA replaces it on disk: served from the next handshake.
    let other = Ca::new("the next CA");
    write_cert(&other, &dir.0);
    let started = Instant::now();
    loop {
        if h2_initialize(&server.url, &other).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let old = h2_initialize(&server.url, &ca).await;
    assert!(old.is_err(), "the old certificate is no longer served");
}

/// The official Python SDK client over https, trusting the test's CA.
#[test]
fn the_python_sdk_client_over_https() {
    let python = workspace_root().join(".cache/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `./scripts/test --setup`",
        python.display()
    );
    let dir = TempDir::new("python");
    let ca = Ca::new("test CA");
    let (cert, key) = write_cert(&ca, &dir.0);
    let ca_file = dir.0.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let server = start(&cert, &key);
    let script = r#"
import ssl, sys
import anyio, httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

async def main():
    url, ca = sys.argv[1], sys.argv[2]
    context = ssl.create_default_context(cafile=ca)
    async with httpx2.AsyncClient(verify=context, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                result = await session.call_tool("add", {"a": 2, "b": 3})
                print(init.server_info.name, result.content[0].text)

anyio.run(main)
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&server.url)
        .arg(&ca_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "quickstart 5");
}

// ------------------------------------------------------------------ stalled HTTP/2 peers

type H2Connection = std::pin::Pin<Box<dyn std::future::Future<Output = hyper::Result<()>> + Send>>;

/// A stream that, once frozen, neither reads nor writes again (a peer that went silent).
struct Freezable<T> {
    io: T,
    frozen: Arc<std::sync::atomic::AtomicBool>,
}

impl<T> Freezable<T> {
    fn frozen(&self) -> bool {
        self.frozen.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Freezable<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.frozen() {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Freezable<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.frozen() {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.frozen() {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// An HTTP/2 connection over TLS trusting `ca`: its sender, the connection itself, and the
/// switch that makes the client go silent (answer no PING, read nothing).
async fn h2_connect(
    url: &str,
    ca: &Ca,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    H2Connection,
    Arc<std::sync::atomic::AtomicBool>,
) {
    let authority = url
        .strip_prefix("https://")
        .and_then(|u| u.split_once('/'))
        .map(|(a, _)| a.to_string())
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let connector = TlsConnector::from(Arc::new(client_config(ca, &[b"h2"])));
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let frozen = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = Freezable {
        io: stream,
        frozen: Arc::clone(&frozen),
    };
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .unwrap();
    (sender, Box::pin(connection), frozen)
}

/// Runs `work` while polling the connection; fails if the connection ends first.
async fn driving<T>(
    connection: &mut H2Connection,
    work: impl std::future::Future<Output = T>,
) -> T {
    tokio::select! {
        out = work => out,
        end = connection.as_mut() => panic!("the connection ended early: {end:?}"),
    }
}

fn post(url: &str, session: Option<&str>, body: Value) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        request = request
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn init_message() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "h2", "version": "0"}}})
}

/// An HTTP/2 connection with no stream open for the idle timeout is closed by the server.
#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let dir = TempDir::new("h2-idle");
    let ca = Ca::new("test CA");
    let (cert, key) = write_cert(&ca, &dir.0);
    let server = start_with(&cert, &key, &["--idle-timeout", "1s"]);
    let (mut sender, mut connection, _) = h2_connect(&server.url, &ca).await;
    let response = driving(
        &mut connection,
        sender.send_request(post(&server.url, None, init_message())),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    driving(&mut connection, response.into_body().collect())
        .await
        .unwrap();
    // Nothing more is asked: the server ends the connection (GOAWAY, then close).
    let ended = tokio::time::timeout(Duration::from_secs(20), connection.as_mut()).await;
    assert!(ended.is_ok(), "an idle HTTP/2 connection was never closed");
    drop(sender);
}

/// A peer that stops answering PINGs while a stream is open (an SSE stream it no longer
/// reads) is disconnected after the keep-alive interval and the write timeout, freeing its
/// connection slot for the next client.
#[tokio::test]
async fn an_http2_peer_that_answers_no_ping_is_disconnected() {
    let dir = TempDir::new("h2-ping");
    let ca = Ca::new("test CA");
    let (cert, key) = write_cert(&ca, &dir.0);
    let server = start_with(
        &cert,
        &key,
        &[
            "--http2-keep-alive",
            "2s",
            "--write-timeout",
            "2s",
            "--max-connections-per-address",
            "1",
        ],
    );
    let url = server.url.clone();
    let (mut sender, mut connection, frozen) = h2_connect(&url, &ca).await;
    let response = driving(
        &mut connection,
        sender.send_request(post(&url, None, init_message())),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    driving(&mut connection, response.into_body().collect())
        .await
        .unwrap();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = driving(
        &mut connection,
        sender.send_request(post(&url, Some(&session), initialized)),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 202);
    let get = hyper::Request::get(&url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let stream = driving(&mut connection, sender.send_request(get))
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    // From now on the client is silent: no PING is answered, nothing is read.
    frozen.store(true, std::sync::atomic::Ordering::Release);
    assert!(
        h2_initialize(&url, &ca).await.is_err(),
        "the stalled peer holds its address's only connection slot"
    );
    let started = Instant::now();
    loop {
        if h2_initialize(&url, &ca).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a peer answering no PING kept its connection"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((stream, connection, sender));
}
