//! Prometheus metrics: the series a server records, served at `/metrics` and on
//! `metrics_addr`, scraped by a real Prometheus server (Debian's `prometheus`, which
//! `scripts/test` installs; `PROMETHEUS_BIN` points elsewhere) and read back through its
//! query API.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_runtime::middleware::RateLimit;
use mcp_runtime::observe::Metrics;
use mcp_runtime::prelude::*;
use mcp_runtime::{ClientError, HttpOptions, HttpServer};
use mcp_workspace::Running;
use serde_json::{Value, json};

/// Add two integers.
#[tool]
fn metered_add(a: i64, b: i64) -> i64 {
    a + b
}

/// Always fails.
#[tool]
fn metered_fail() -> Result<String, ToolError> {
    Err(ToolError::new("no"))
}

/// Panics at once.
#[tool]
fn metered_panic() -> String {
    panic!("metered_panic fails")
}

/// Panics once it has waited.
#[tool]
async fn metered_panic_later() -> String {
    tokio::task::yield_now().await;
    panic!("metered_panic_later fails")
}

/// A hook around every tool call that changes nothing.
struct PassThrough;

impl mcp_runtime::middleware::Middleware for PassThrough {
    fn on_call_tool<'a>(
        &'a self,
        call: &'a mut mcp_runtime::middleware::ToolRequest,
        next: mcp_runtime::middleware::Next<
            'a,
            mcp_runtime::middleware::ToolRequest,
            mcp_runtime::middleware::ToolOutcome,
        >,
    ) -> mcp_runtime::middleware::BoxFuture<'a, mcp_runtime::middleware::ToolOutcome> {
        Box::pin(next.run(call))
    }
}

/// A note.
#[resource("metered://note")]
fn metered_note() -> String {
    "note".into()
}

fn server(metrics: &Metrics) -> Server {
    Server::new("metered")
        .only_tools(&["metered_add", "metered_fail"])
        .retain_resources(|r| r.uri == "metered://note")
        .retain_prompts(|_| false)
        .metrics(metrics)
}

/// One raw HTTP/1.1 GET; the status and body.
fn get(addr: &str, target: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Hyper answers HTTP/1.1 with a known length; a chunked body would need decoding.
    (status, body.to_string())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Percent-encodes a query-string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus server scraping `target` every second, in a temporary directory; stopped
/// and removed when dropped.
struct Prometheus {
    _child: Running,
    addr: String,
    dir: std::path::PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let bin = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
        let dir = std::env::temp_dir().join(format!(
            "mcp-metrics-test-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: mcp\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{bin}` ({e}): the metrics test needs Prometheus; \
                     `./scripts/test --setup` installs it (apt-get install prometheus), or \
                     set PROMETHEUS_BIN"
                )
            });
        let prometheus = Prometheus {
            _child: Running(child),
            addr,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(&prometheus.addr).is_ok()
                && get(&prometheus.addr, "/-/ready").0 == 200
            {
                return prometheus;
            }
            assert!(Instant::now() < deadline, "Prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The samples of an instant query.
    fn query(&self, promql: &str) -> Vec<Value> {
        let (status, body) = get(
            &self.addr,
            &format!("/api/v1/query?query={}", encode(promql)),
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `promql` gives at least one sample whose value is `want`.
    fn wait_for(&self, promql: &str, want: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let samples = self.query(promql);
            if samples.iter().any(|s| s["value"][1] == want) {
                return samples;
            }
            assert!(
                Instant::now() < deadline,
                "`{promql}` never reached {want}: {samples:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_series_of_a_running_server() {
    let metrics = Metrics::new();
    let server = HttpServer::bind(
        server(&metrics).rate_limit(RateLimit::per_minute(6)),
        HttpOptions {
            port: 0,
            auth_token: Some("s3cret".into()),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let addr = server.local_addr().to_string();
    let url = server.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    let client = Client::connect_http_with(
        &url,
        mcp_runtime::HttpClientOptions::default().header("Authorization", "Bearer s3cret"),
        mcp_runtime::ClientOptions::default(),
    )
    .await
    .unwrap();
    // initialize, then five more requests fit the bucket of six; the seventh is refused.
    client
        .call_tool("metered_add", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    client
        .call_tool("metered_add", json!({"a": 3, "b": 4}))
        .await
        .unwrap();
    assert!(
        client
            .call_tool("metered_fail", json!({}))
            .await
            .unwrap()
            .is_error
    );
    let _: Value = client
        .request("resources/read", &json!({"uri": "metered://note"}))
        .await
        .unwrap();
    let _ = client.request::<_, Value>("made/up", &json!({})).await;
    let e = client
        .call_tool("metered_add", json!({"a": 0, "b": 0}))
        .await;
    assert!(
        matches!(e, Err(ClientError::Rpc(_)) | Err(ClientError::Protocol(_))),
        "{e:?}"
    );
    // A request without the token: an auth failure.
    let unauthorized = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || get(&addr, "/mcp").0
    })
    .await
    .unwrap();
    assert_eq!(unauthorized, 401);

    // The text itself, as served on the (loopback) MCP port, without a token.
    let (status, text) = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || get(&addr, "/metrics")
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    for line in [
        r#"mcp_server_calls_total{kind="tool",name="metered_add",outcome="ok"} 2"#,
        r#"mcp_server_calls_total{kind="tool",name="metered_fail",outcome="tool_error"} 1"#,
        r#"mcp_server_calls_total{kind="resource",name="metered://note",outcome="ok"} 1"#,
        r#"mcp_server_requests_total{method="other",outcome="error"} 1"#,
        r#"mcp_server_requests_total{method="tools/call",outcome="rate_limited"} 1"#,
        "mcp_server_rate_limited_total 1",
        "mcp_server_auth_failures_total 1",
        "mcp_server_sessions 1",
        "mcp_server_requests_in_flight 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }

    let prometheus = tokio::task::spawn_blocking(move || {
        let p = Prometheus::start(&addr);
        p.wait_for(r#"up{job="mcp"}"#, "1");
        let calls = p.wait_for(
            r#"mcp_server_calls_total{kind="tool",name="metered_add",outcome="ok"}"#,
            "2",
        );
        assert_eq!(calls.len(), 1, "{calls:?}");
        p.wait_for(
            r#"sum(mcp_server_requests_total{method="tools/call"})"#,
            "4",
        );
        p.wait_for("mcp_server_rate_limited_total", "1");
        p.wait_for("mcp_server_auth_failures_total", "1");
        p.wait_for("mcp_server_sessions", "1");
        p.wait_for(
            r#"mcp_server_call_duration_seconds_count{kind="tool",name="metered_fail"}"#,
            "1",
        );
        // A bucket every call fits in.
        p.wait_for(
            r#"mcp_server_request_duration_seconds_bucket{method="initialize",le="+Inf"}"#,
            "1",
        );
        p
    })
    .await
    .unwrap();
    drop(prometheus);
    client.close().await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// A panicking tool is answered with an `isError` result, and counted as an error with its
/// duration, whether it panics when called or when polled, with or without a hook around it.
#[tokio::test]
async fn a_panicking_tool_is_counted_as_an_error() {
    for hooked in [false, true] {
        let metrics = Metrics::new();
        let server = Server::new("metered")
            .only_tools(&["metered_add", "metered_panic", "metered_panic_later"])
            .retain_resources(|_| false)
            .retain_prompts(|_| false)
            .metrics(&metrics);
        let server = if hooked {
            server.middleware(PassThrough)
        } else {
            server
        };
        let client = Client::connect(server).await.unwrap();
        for name in ["metered_panic", "metered_panic_later"] {
            let r = client.call_tool(name, json!({})).await.unwrap();
            assert!(r.is_error, "{name}: {r:?}");
        }
        let r = client
            .call_tool("metered_add", json!({"a": 1, "b": 2}))
            .await
            .unwrap();
        assert!(!r.is_error);
        let text = metrics.render();
        for line in [
            r#"mcp_server_calls_total{kind="tool",name="metered_panic",outcome="error"} 1"#,
            r#"mcp_server_calls_total{kind="tool",name="metered_panic_later",outcome="error"} 1"#,
            r#"mcp_server_call_duration_seconds_count{kind="tool",name="metered_panic"} 1"#,
            r#"mcp_server_call_duration_seconds_count{kind="tool",name="metered_panic_later"} 1"#,
            r#"mcp_server_calls_total{kind="tool",name="metered_add",outcome="ok"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "hooked: {hooked}: no `{line}` in:\n{text}"
            );
        }
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn metrics_addr_serves_them_apart_and_the_mcp_port_then_does_not() {
    let metrics = Metrics::new();
    let server = HttpServer::bind(
        server(&metrics),
        HttpOptions {
            port: 0,
            metrics_addr: Some("127.0.0.1:0".into()),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap();
    let mcp = server.local_addr().to_string();
    let apart = server.metrics_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let (on_mcp, on_apart) =
        tokio::task::spawn_blocking(move || (get(&mcp, "/metrics").0, get(&apart, "/metrics")))
            .await
            .unwrap();
    assert_eq!(on_mcp, 404);
    assert_eq!(on_apart.0, 200);
    assert!(
        on_apart
            .1
            .contains("# TYPE mcp_server_rate_limited counter"),
        "{}",
        on_apart.1
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn metrics_addr_without_metrics_is_refused_with_the_fix() {
    let e = HttpServer::bind(
        Server::empty("bare"),
        HttpOptions {
            port: 0,
            metrics_addr: Some("127.0.0.1:0".into()),
            ..HttpOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("Server::metrics"), "{e}");
}
