//! Scale out (issue 19), on demand: `cargo bench --bench scale_out`.
//!
//! `bench_add` over HTTP with sessions, `MCP_BENCH_CONNS` connections (default 16), each a
//! closed loop of `tools/call add` on keep-alive after its own `initialize`, for
//! `MCP_BENCH_SECONDS` (default 5) after a second of warm-up. Four set-ups:
//!
//! * **memory**: one replica, the in-memory state (no `--redis-url`), reached directly;
//! * **redis**: one replica with `--redis-url` (each request renews its session in Redis);
//! * **1 behind haproxy**: that replica behind HAProxy;
//! * **3 behind haproxy**: three replicas behind HAProxy, round robin, no stickiness.
//!
//! It prints requests per second and p50/p99, and the ratios redis/memory (goal ≥ 0.5) and
//! 3/1 behind HAProxy; then the Redis memory an idle session takes (`MEMORY USAGE` of its
//! keys, averaged over 200 sessions). Needs `redis-server` and `haproxy`; the harness builds
//! `bench_add` with the bench profile (`MCP_BENCH_NO_BUILD=1` skips that). The load
//! generator is one OS thread per connection with blocking sockets, identical for every
//! set-up: on a small machine it competes with the servers for the cores, so read the ratios,
//! not the absolute numbers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mcp_workspace::HttpExample;
use mcp_workspace::bench::{build_examples, env_num, percentile};
use mcp_workspace::cluster::{Haproxy, Redis};

/// One HTTP/1.1 exchange on a keep-alive connection: the status, the `Mcp-Session-Id` (if
/// any) and the body.
fn exchange(s: &mut TcpStream, buf: &mut Vec<u8>, request: &[u8]) -> (u16, Option<String>, String) {
    s.write_all(request).expect("writing");
    buf.clear();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).expect("reading");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut length = 0;
    let mut session = None;
    for line in head.lines() {
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().expect("a length");
            } else if n.eq_ignore_ascii_case("mcp-session-id") {
                session = Some(v.trim().to_string());
            }
        }
    }
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).expect("reading");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    (status, session, body)
}

fn post(addr: &str, session: Option<&str>, body: &str) -> Vec<u8> {
    let session = session.map_or(String::new(), |s| format!("Mcp-Session-Id: {s}\r\n"));
    format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n\
         {session}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

fn open_session(addr: &str) -> (TcpStream, Vec<u8>, String) {
    let mut s = TcpStream::connect(addr).expect("connecting");
    s.set_nodelay(true).unwrap();
    let mut buf = Vec::new();
    let (status, session, body) = exchange(&mut s, &mut buf, &post(addr, None, INITIALIZE));
    assert_eq!(status, 200, "{body}");
    (s, buf, session.expect("a session id"))
}

/// Requests per second and the latencies (µs) of `conns` closed loops against `addr`.
fn load(addr: &str, conns: usize, seconds: u64) -> (f64, Vec<u64>) {
    let warm = Duration::from_secs(1);
    let run = Duration::from_secs(seconds);
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let addr = addr.to_string();
            std::thread::spawn(move || {
                let (mut s, mut buf, session) = open_session(&addr);
                let body = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
                let request = post(&addr, Some(&session), body);
                let start = Instant::now();
                let mut latencies = Vec::new();
                let mut counted = 0u64;
                while start.elapsed() < warm + run {
                    let t = Instant::now();
                    let (status, _, reply) = exchange(&mut s, &mut buf, &request);
                    assert!(status == 200 && reply.contains("\"5\""), "{status} {reply}");
                    if start.elapsed() > warm {
                        counted += 1;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                }
                (counted, latencies)
            })
        })
        .collect();
    let mut total = 0;
    let mut all = Vec::new();
    for h in handles {
        let (n, l) = h.join().expect("a load thread");
        total += n;
        all.extend(l);
    }
    all.sort_unstable();
    (total as f64 / run.as_secs_f64(), all)
}

fn replica(bin: &std::path::Path, redis: Option<&str>) -> HttpExample {
    let mut command = std::process::Command::new(bin);
    command.env("RUST_LOG", "warn");
    let mut args = vec![];
    if let Some(url) = redis {
        args.extend(["--redis-url", url]);
    }
    HttpExample::start(command, &args)
}

fn main() {
    let bin = build_examples(&["bench_add"]).remove(0);
    let conns = env_num("MCP_BENCH_CONNS", 16) as usize;
    let seconds = env_num("MCP_BENCH_SECONDS", 5);
    let redis = Redis::start();
    let url = redis.url();

    let measure = |name: &str, addr: &str| {
        let (rps, lat) = load(addr, conns, seconds);
        println!(
            "{name:<18} {rps:>9.0} req/s   p50 {:>6} µs   p99 {:>6} µs",
            percentile(&lat, 0.50),
            percentile(&lat, 0.99)
        );
        rps
    };
    println!("HTTP with sessions, {conns} connections, {seconds} s each");
    let memory = {
        let r = replica(&bin, None);
        measure("memory", r.addr())
    };
    let (with_redis, one_lb) = {
        let r = replica(&bin, Some(&url));
        let direct = measure("redis", r.addr());
        let lb = Haproxy::start(&[r.addr()]);
        let lb_addr = format!("127.0.0.1:{}", lb.port);
        (direct, measure("1 behind haproxy", &lb_addr))
    };
    let three_lb = {
        let rs: Vec<HttpExample> = (0..3).map(|_| replica(&bin, Some(&url))).collect();
        let addrs: Vec<&str> = rs.iter().map(|r| r.addr()).collect();
        let lb = Haproxy::start(&addrs);
        let lb_addr = format!("127.0.0.1:{}", lb.port);
        measure("3 behind haproxy", &lb_addr)
    };
    println!(
        "redis / memory:            {:.2}x (goal >= 0.5x)",
        with_redis / memory
    );
    println!("3 / 1 replicas behind haproxy: {:.2}x", three_lb / one_lb);

    // Redis memory per idle session.
    let r = replica(&bin, Some(&url));
    let n = 200;
    let ids: Vec<String> = (0..n).map(|_| open_session(r.addr()).2).collect();
    let mut bytes = 0u64;
    for id in &ids {
        for key in [format!("mcp:s:{id}"), format!("mcp:k:{id}")] {
            let reply = redis
                .command(&format!("MEMORY USAGE {key}\r\n"))
                .unwrap_or_default();
            bytes += reply
                .trim()
                .trim_start_matches(':')
                .parse::<u64>()
                .unwrap_or(0);
        }
    }
    println!("Redis memory per idle session: {} bytes", bytes / n);
}
