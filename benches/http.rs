//! HTTP load benchmark: our server (`examples/bench_add.rs` with `--transport http`) against a
//! bare hyper server answering the same JSON-RPC with no framework (`examples/raw_http_add.rs`),
//! both driven by the same load generator over loopback.
//!
//! ```text
//! cargo bench --bench http
//! ```
//!
//! Four servers are measured:
//!
//! * **bare hyper**: the baseline;
//! * **stateless**: ours with `--stateless` (JSON answers, no session);
//! * **sessions**: ours with sessions; each connection first runs the `initialize` handshake
//!   and sends its `Mcp-Session-Id` on every call;
//! * **per-request**: ours (with sessions enabled, as deployed) spoken to in 2026-07-28: no
//!   handshake, every `tools/call` carries its `_meta` (revision, client capabilities, client
//!   identity) and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers, as a
//!   client of that revision sends them.
//!
//! `MCP_BENCH_AUTH=1` adds **sessions + API key** and **sessions + JWT**: the sessions server
//! behind `--api-keys` (the key in `X-API-Key`) and behind `--oauth-issuer` (an ES256 JWT,
//! checked against a JWKS this process serves), to compare with **sessions**.
//!
//! `MCP_BENCH_BEFORE=<path of another bench_add>` adds a fifth, **per-request (before)**: the
//! same per-request load against that binary (an earlier build, say), in the same run.
//!
//! `MCP_BENCH_OBSERVE=1` adds two more with sessions: **sessions + access log** (`RUST_LOG=info`,
//! one access-log line per request) and **sessions + metrics + traces** (the server records
//! Prometheus metrics and opens the request and tool spans, `RUST_LOG=warn,mcp_runtime::request=info`
//! so that a subscriber takes them, no exporter).
//!
//! For each number of connections in `MCP_BENCH_CONNS` (default `1,16,64`), every connection
//! runs a closed loop of `tools/call add` POSTs (keep-alive, one request in flight per
//! connection) for `MCP_BENCH_SECONDS` (default 3) after half a second of warm-up; the table
//! gives requests per second and the p50/p99 of the round trip. Every reply is checked: status
//! 200, the id sent, the right sum in both `content[0].text` and `structuredContent.result`,
//! and `resultType: "complete"` exactly when the request was 2026-07-28. Measurements
//! alternate between the servers over `MCP_BENCH_ROUNDS` rounds (default 2); throughput is the
//! median round, latencies are pooled.
//!
//! Also measured: resident memory of each server after one call (and a handshake, except
//! per-request), and the memory each idle session adds (`MCP_BENCH_SESSIONS` sessions, default
//! 2000, opened on a fresh server).
//!
//! The load generator is a small hand-written HTTP/1.1 client on one thread (a current-thread
//! tokio runtime), so that it costs little next to the servers and leaves them the other core;
//! the servers run tokio's multi-thread runtime. Our server runs with `RUST_LOG=warn`: its
//! per-request access log (on by default, at `info`) is not part of what is compared; set
//! `MCP_BENCH_LOG=info` to measure with it.
//!
//! The harness builds both servers itself, apart from the workspace (`benches/bench_server`,
//! `cargo build --release` into `target/bench-server`): `bench_add` with the runtime's default
//! features and `metrics`, as a user's server is built, and bare hyper with the same profile.
//! `MCP_BENCH_NO_BUILD=1` skips the build and uses what is there.

#[path = "bench_server/launch.rs"]
mod bench_server;

use mcp_workspace::bench::{env_num, median, percentile};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The whole run is abandoned (with a non-zero exit) if it takes longer than this.
const DEADLINE: Duration = Duration::from_secs(900);
const WARMUP: Duration = Duration::from_millis(500);

/// A server process under test.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &Path, args: &[&str]) -> Server {
        Server::start_with(bin, args, &[])
    }

    /// Starts `bin` with `args` and the environment variables `env` (`RUST_LOG` among them
    /// replaces `MCP_BENCH_LOG`'s).
    fn start_with(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let log = std::env::var("MCP_BENCH_LOG").unwrap_or_else(|_| "warn".into());
        let mut child = Command::new(bin)
            .args(args)
            .env("RUST_LOG", log)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut banner = String::new();
        stderr.read_line(&mut banner).unwrap();
        let addr = banner
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .and_then(|u| u.split('/').next())
            .unwrap_or_else(|| panic!("no URL in {banner:?}"))
            .to_string();
        // Drained in blocks, not lines: a `String` per line would charge the harness's own
        // allocations, on the same cores, to the server's access log.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Server { child, addr }
    }

    /// Resident memory, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a connection talks to its server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 2025-11-25 calls with no handshake (the bare server and `--stateless`).
    Plain,
    /// 2025-11-25: `initialize` once, then the session id on every call.
    Handshake,
    /// 2026-07-28: no handshake; `_meta` in every request and the routing headers.
    PerRequest,
}

/// The `_meta` of a 2026-07-28 request, as a client of that revision sends it on every call.
const PER_REQUEST_META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true},"sampling":{},"elicitation":{}},"io.modelcontextprotocol/clientInfo":{"name":"http-bench","version":"0.0.0"}}"#;

/// One keep-alive HTTP/1.1 connection, speaking just enough of the protocol.
struct Conn {
    stream: TcpStream,
    mode: Mode,
    head: String,
    request: Vec<u8>,
    buf: Vec<u8>,
    session: Option<String>,
}

#[derive(Deserialize)]
struct Reply {
    id: u64,
    result: CallResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallResult {
    content: Vec<Text>,
    structured_content: Sum,
    result_type: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct Sum {
    result: i64,
}

impl Conn {
    /// `auth`: header lines with the credential (empty for none), each ending in CRLF.
    async fn open(addr: &str, mode: Mode, auth: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let version = match mode {
            Mode::Plain | Mode::Handshake => "MCP-Protocol-Version: 2025-11-25\r\n",
            Mode::PerRequest => {
                "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: add\r\n"
            }
        };
        Conn {
            stream,
            mode,
            head: format!(
                "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\n{version}{auth}"
            ),
            request: Vec::with_capacity(512),
            buf: Vec::with_capacity(4096),
            session: None,
        }
    }

    /// POSTs `body`; returns the status and the range of the response body in `self.buf`.
    async fn post(&mut self, body: &[u8]) -> (u16, std::ops::Range<usize>) {
        use std::io::Write;
        self.request.clear();
        self.request.extend_from_slice(self.head.as_bytes());
        if let Some(s) = &self.session {
            write!(self.request, "Mcp-Session-Id: {s}\r\n").unwrap();
        }
        write!(self.request, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.request.extend_from_slice(body);
        self.stream.write_all(&self.request).await.expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        let header_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..header_end]).expect("ASCII headers");
        let status: u16 = head[9..12].parse().expect("a status line");
        let mut length = 0usize;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            } else if name.eq_ignore_ascii_case("mcp-session-id") {
                self.session = Some(value.trim().to_string());
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                panic!("expected a Content-Length body, got {head}");
            }
        }
        while self.buf.len() < header_end + length {
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        (status, header_end..header_end + length)
    }

    /// The `initialize` handshake (keeps the session id, if any).
    async fn handshake(&mut self) {
        let (status, _) = self
            .post(br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http-bench","version":"0"}}}"#)
            .await;
        assert_eq!(status, 200, "initialize");
        let (status, _) = self
            .post(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
        assert_eq!(status, 202, "notifications/initialized");
    }

    /// `tools/call add` with id `id` (a = id, b = 2·id + 1), checked.
    async fn call(&mut self, id: u64, body: &mut Vec<u8>) {
        use std::io::Write;
        body.clear();
        let meta = if self.mode == Mode::PerRequest {
            PER_REQUEST_META
        } else {
            ""
        };
        let comma = if meta.is_empty() { "" } else { "," };
        write!(
            body,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":{id},"b":{}}}{comma}{meta}}}}}"#,
            2 * id + 1
        )
        .unwrap();
        let (status, range) = self.post(body).await;
        let text = &self.buf[range];
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(text));
        let reply: Reply = serde_json::from_slice(text)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(text)));
        let sum = (3 * id + 1) as i64;
        assert_eq!(reply.id, id, "reply to the wrong request");
        assert_eq!(reply.result.structured_content.result, sum);
        assert_eq!(reply.result.content[0].text, sum.to_string());
        let complete = (self.mode == Mode::PerRequest).then_some("complete");
        assert_eq!(
            reply.result.result_type.as_deref(),
            complete,
            "resultType is for 2026-07-28 results only"
        );
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `conns` connections in closed loops for `seconds` after the warm-up: requests per second and
/// round-trip times in nanoseconds.
async fn load(
    addr: &str,
    conns: usize,
    mode: Mode,
    seconds: Duration,
    auth: &'static str,
) -> (f64, Vec<u64>) {
    let start = Instant::now() + Duration::from_millis(100);
    let measure_from = start + WARMUP;
    let stop = measure_from + seconds;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let addr = addr.to_string();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = Conn::open(&addr, mode, auth).await;
            if mode == Mode::Handshake {
                conn.handshake().await;
            }
            tokio::time::sleep_until(start.into()).await;
            let mut body = Vec::with_capacity(256);
            let mut samples = Vec::with_capacity(1 << 16);
            let mut id = (c as u64) << 40;
            loop {
                id += 1;
                let t = Instant::now();
                if t >= stop {
                    break;
                }
                conn.call(id, &mut body).await;
                if t >= measure_from {
                    samples.push(t.elapsed().as_nanos() as u64);
                }
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rate = all.len() as f64 / seconds.as_secs_f64();
    (rate, all)
}

/// Opens `n` idle sessions on one connection; returns the memory each one added.
async fn memory_per_session(server: &Server, n: u64) -> f64 {
    let mut conn = Conn::open(&server.addr, Mode::Handshake, "").await;
    // One session first, so that what is made once (the map, the first allocations) is not
    // counted as the cost of a session.
    conn.handshake().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss();
    for _ in 0..n {
        conn.session = None;
        conn.handshake().await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    (server.rss().saturating_sub(before)) as f64 / n as f64
}

fn us(ns: u64) -> String {
    format!("{:.0} µs", ns as f64 / 1e3)
}

/// Bare hyper and `bench_add`, built apart from the workspace.
fn build_examples() -> (PathBuf, PathBuf) {
    let mut paths = bench_server::build(&["raw_http_add", "bench_add"]).into_iter();
    (paths.next().unwrap(), paths.next().unwrap())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` only checks that the harness builds.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("HTTP benchmark: run it with `cargo bench --bench http`");
        return;
    }
    std::thread::spawn(|| {
        std::thread::sleep(DEADLINE);
        eprintln!("HTTP benchmark: still running after {DEADLINE:?}; giving up");
        std::process::exit(1);
    });
    let seconds = Duration::from_secs(env_num("MCP_BENCH_SECONDS", 3).max(1));
    let rounds = env_num("MCP_BENCH_ROUNDS", 2).max(1);
    let sessions = env_num("MCP_BENCH_SESSIONS", 2000).max(1);
    let conns: Vec<usize> = std::env::var("MCP_BENCH_CONNS")
        .unwrap_or_else(|_| "1,16,64".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();

    let (raw_bin, ours_bin) = build_examples();
    let before_bin = std::env::var_os("MCP_BENCH_BEFORE").map(PathBuf::from);
    if let Some(b) = &before_bin {
        assert!(
            b.exists(),
            "MCP_BENCH_BEFORE: {} does not exist",
            b.display()
        );
    }
    let http = ["--transport", "http", "--port", "0"];
    let mut servers = vec![
        (
            "bare hyper",
            Server::start(&raw_bin, &["--port", "0"]),
            Mode::Plain,
        ),
        (
            "stateless",
            Server::start(&ours_bin, &[&http[..], &["--stateless"]].concat()),
            Mode::Plain,
        ),
        ("sessions", Server::start(&ours_bin, &http), Mode::Handshake),
        (
            "per-request",
            Server::start(&ours_bin, &http),
            Mode::PerRequest,
        ),
    ];
    // With MCP_BENCH_AUTH=1: the sessions server again, behind API keys and behind JWT
    // validation (ES256, keys from a JWKS served by this process).
    let auth_dir = std::env::temp_dir().join(format!("mcp-bench-auth-{}", std::process::id()));
    if std::env::var("MCP_BENCH_AUTH").is_ok_and(|v| v == "1") {
        let (key_args, jwt_args) = auth::setup(&auth_dir);
        let key_args: Vec<&str> = key_args.iter().map(String::as_str).collect();
        let jwt_args: Vec<&str> = jwt_args.iter().map(String::as_str).collect();
        servers.push((
            "sessions + API key",
            Server::start(&ours_bin, &[&http[..], &key_args].concat()),
            Mode::Handshake,
        ));
        // `--oauth-issuer` needs the `oauth` feature, which the default build leaves out.
        let oauth_bin = bench_server::build_with(&["bench_add"], Some("oauth")).remove(0);
        servers.push((
            "sessions + JWT",
            Server::start(&oauth_bin, &[&http[..], &jwt_args].concat()),
            Mode::Handshake,
        ));
    }
    if std::env::var_os("MCP_BENCH_OBSERVE").is_some() {
        servers.push((
            "sessions + access log",
            Server::start_with(&ours_bin, &http, &[("RUST_LOG", "info")]),
            Mode::Handshake,
        ));
        servers.push((
            "sessions + metrics + traces",
            Server::start_with(
                &ours_bin,
                &http,
                &[
                    ("MCP_BENCH_OBSERVE", "1"),
                    ("RUST_LOG", "warn,mcp_runtime::request=info"),
                ],
            ),
            Mode::Handshake,
        ));
    }
    if let Some(b) = &before_bin {
        servers.push((
            "per-request (before)",
            Server::start(b, &http),
            Mode::PerRequest,
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();

    // Memory after one handshake (none in 2026-07-28) and one call, before any load.
    let idle: Vec<u64> = servers
        .iter()
        .map(|(name, server, mode)| {
            local.block_on(&runtime, async {
                let mut conn = Conn::open(&server.addr, *mode, auth_of(name)).await;
                if *mode != Mode::PerRequest {
                    conn.handshake().await;
                }
                conn.call(1, &mut Vec::new()).await;
            });
            std::thread::sleep(Duration::from_millis(200));
            server.rss()
        })
        .collect();

    // rates[server][conns] per round; latencies pooled.
    let mut rates = vec![vec![Vec::new(); conns.len()]; servers.len()];
    let mut latencies = vec![vec![Vec::new(); conns.len()]; servers.len()];
    for round in 1..=rounds {
        for (ci, &c) in conns.iter().enumerate() {
            for (si, (name, server, mode)) in servers.iter().enumerate() {
                let (rate, samples) = local.block_on(
                    &runtime,
                    load(&server.addr, c, *mode, seconds, auth_of(name)),
                );
                eprintln!("round {round}/{rounds}, {c} connections, {name}: {rate:.0} req/s");
                rates[si][ci].push(rate);
                latencies[si][ci].extend(samples);
            }
        }
    }
    let names: Vec<&str> = servers.iter().map(|(name, _, _)| *name).collect();
    drop(servers);
    let _ = std::fs::remove_dir_all(&auth_dir);

    // All the sessions come from one address: lift the per-address session cap (a tenth of
    // --max-sessions by default) so that the measurement is of sessions, not of refusals.
    let cap = (sessions + 1).to_string();
    let fresh = Server::start(
        &ours_bin,
        &[
            &http[..],
            &["--max-sessions", &cap, "--max-sessions-per-address", &cap],
        ]
        .concat(),
    );
    let per_session = local.block_on(&runtime, memory_per_session(&fresh, sessions));
    drop(fresh);

    println!();
    println!(
        "HTTP, tools/call add over loopback: closed loops of one request per connection, {}s \
         measured per run after {}ms warm-up, {rounds} rounds; every reply verified",
        seconds.as_secs(),
        WARMUP.as_millis()
    );
    println!();
    let mut header = format!("| connections | {} req/s | p50 | p99 |", names[0]);
    let mut rule = String::from("|---|---|---|---|");
    for name in &names[1..] {
        header.push_str(&format!(" {name} req/s (ratio) | p50 (ratio) | p99 |"));
        rule.push_str("---|---|---|");
    }
    println!("{header}");
    println!("{rule}");
    for (ci, &c) in conns.iter().enumerate() {
        let rate: Vec<f64> = rates.iter().map(|r| median(&mut r[ci].clone())).collect();
        let lat: Vec<Vec<u64>> = latencies
            .iter()
            .map(|l| {
                let mut v = l[ci].clone();
                v.sort_unstable();
                v
            })
            .collect();
        let p50: Vec<u64> = lat.iter().map(|v| percentile(v, 0.5)).collect();
        let p99: Vec<u64> = lat.iter().map(|v| percentile(v, 0.99)).collect();
        let mut row = format!("| {c} | {:.0} | {} | {} |", rate[0], us(p50[0]), us(p99[0]));
        for s in 1..names.len() {
            row.push_str(&format!(
                " {:.0} ({:.2}×) | {} ({:.2}×) | {} |",
                rate[s],
                rate[s] / rate[0],
                us(p50[s]),
                p50[s] as f64 / p50[0] as f64,
                us(p99[s])
            ));
        }
        println!("{row}");
    }
    println!();
    println!(
        "throughput per round (req/s), by connections: {}",
        conns
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let each: Vec<String> = names
                    .iter()
                    .zip(&rates)
                    .map(|(name, r)| {
                        let r: Vec<f64> = r[ci].iter().map(|r| r.round()).collect();
                        format!("{name} {r:?}")
                    })
                    .collect();
                format!("{c}: {}", each.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!();
    println!("| memory | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    let mut row = format!(
        "| resident after one call (and a handshake before 2026-07-28) | {:.1} MB |",
        idle[0] as f64 / 1e6
    );
    for &m in &idle[1..] {
        row.push_str(&format!(
            " {:.1} MB ({:.2}×) |",
            m as f64 / 1e6,
            m as f64 / idle[0] as f64
        ));
    }
    println!("{row}");
    println!(
        "| per open idle session ({sessions} sessions) | | | {:.0} bytes |{}",
        per_session,
        " |".repeat(names.len() - 3)
    );
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    println!();
    println!(
        "binaries (bench profile, not stripped): bare hyper {:.1} MB, bench_add {:.1} MB",
        size(&raw_bin) as f64 / 1e6,
        size(&ours_bin) as f64 / 1e6
    );
}

/// The credential header of the servers that need one.
fn auth_of(name: &str) -> &'static str {
    let credentials = auth::CREDENTIALS.get();
    match (name, credentials) {
        ("sessions + API key", Some((key, _))) => key,
        ("sessions + JWT", Some((_, jwt))) => jwt,
        _ => "",
    }
}

/// Credentials for the authenticated runs: an API key file, and a JWT with its JWKS.
mod auth {
    use std::io::{Read, Write};
    use std::path::Path;
    use std::sync::OnceLock;

    use base64::Engine as _;

    /// The header lines: `X-API-Key: …`, `Authorization: Bearer <jwt>`.
    pub(super) static CREDENTIALS: OnceLock<(&'static str, &'static str)> = OnceLock::new();

    /// Writes the key file and serves the JWKS; the flags of each server.
    pub(super) fn setup(dir: &Path) -> (Vec<String>, Vec<String>) {
        std::fs::create_dir_all(dir).unwrap();
        let key = mcp_runtime::auth::api_keys::generate("bench", &[], None).unwrap();
        let file = dir.join("keys.jsonl");
        std::fs::write(&file, format!("{}\n", key.line)).unwrap();

        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = pair.public_key_raw();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "bench", "alg": "ES256",
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}]})
        .to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{jwks}",
                    jwks.len()
                );
            }
        });
        let resource = "http://bench.invalid/mcp";
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("bench".into());
        let token = jsonwebtoken::encode(
            &header,
            &serde_json::json!({"iss": issuer, "aud": resource, "sub": "bench", "exp": now + 86_400}),
            &jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der()),
        )
        .unwrap();
        let key_header: &'static str =
            Box::leak(format!("X-API-Key: {}\r\n", key.secret).into_boxed_str());
        let jwt_header: &'static str =
            Box::leak(format!("Authorization: Bearer {token}\r\n").into_boxed_str());
        let _ = CREDENTIALS.set((key_header, jwt_header));
        (
            vec!["--api-keys".into(), file.display().to_string()],
            vec![
                "--oauth-issuer".into(),
                issuer.clone(),
                "--oauth-jwks-uri".into(),
                format!("{issuer}/jwks"),
                "--oauth-resource".into(),
                resource.into(),
            ],
        )
    }
}
