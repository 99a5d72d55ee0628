//! Soak benchmark: the quickstart over HTTP under mixed traffic from many connections for a
//! long time, its resident memory sampled every second. Run on demand, not in CI:
//!
//! ```text
//! cargo bench --bench soak                        # 64 connections, 10 minutes
//! MCP_SOAK_SECONDS=60 MCP_SOAK_CONNS=16 cargo bench --bench soak
//! ```
//!
//! Each connection holds one session and loops over four kinds of exchange:
//!
//! 1. a `tools/call add` answered with JSON;
//! 2. a `tools/call sleep` with a progress token, read as an SSE stream to its result;
//! 3. the same, but the connection is dropped right after the stream's first event, and the
//!    result is fetched by resuming the stream (GET with `Last-Event-ID`);
//! 4. a `ping`.
//!
//! Every answer is checked (the right id and result): a wrong or missing one is an error,
//! and a reply that never comes (30 s) is lost. The report gives the exchanges done, the
//! errors and lost replies (both must be zero), and the RSS of the first and the last minute
//! (min/median/max), which must stay flat, and the median of each minute, which shows whether
//! memory climbs or levels off. The exit status is non-zero when any check fails.

use std::time::{Duration, Instant};

use mcp_workspace::bench::{build_examples, env_num};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REPLY: Duration = Duration::from_secs(30);

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One request on a new connection; the raw response once the server closed it, or the
/// first `until` bytes seen (then the connection is dropped).
async fn exchange(
    addr: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
    until: Option<&str>,
) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut head = format!(
        "{method} /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(body.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok::<(), String>(());
            }
            out.extend_from_slice(&buf[..n]);
            if let Some(marker) = until
                && String::from_utf8_lossy(&out).contains(marker)
            {
                return Ok(());
            }
        }
    };
    tokio::time::timeout(REPLY, read)
        .await
        .map_err(|_| "lost".to_string())??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const POST: [(&str, &str); 3] = [
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("mcp-protocol-version", "2025-11-25"),
];

fn with_session(session: &str) -> Vec<(&str, &str)> {
    let mut h = POST.to_vec();
    h.push(("mcp-session-id", session));
    h
}

/// The JSON-RPC message with `id` in a response body (JSON, or the `data:` of an SSE event).
fn answer(response: &str, id: u64) -> Option<Value> {
    let body = response.split_once("\r\n\r\n")?.1;
    std::iter::once(body)
        .chain(body.lines().filter_map(|l| l.strip_prefix("data: ")))
        .filter_map(|t| serde_json::from_str::<Value>(t.trim()).ok())
        .find(|m| m["id"] == id && m.get("method").is_none())
}

#[derive(Default)]
struct Tally {
    done: u64,
    errors: u64,
    lost: u64,
    first_error: Option<String>,
}

impl Tally {
    fn fail(&mut self, why: String) {
        if why == "lost" {
            self.lost += 1;
        } else {
            self.errors += 1;
        }
        self.first_error.get_or_insert(why);
    }
}

async fn worker(addr: String, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "soak", "version": "0"}}});
    let reply = match exchange(&addr, "POST", &POST, &init.to_string(), None).await {
        Ok(r) => r,
        Err(e) => {
            tally.fail(e);
            return tally;
        }
    };
    let Some(session) = reply
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id: "))
        .map(|s| s.trim().to_string())
    else {
        tally.fail(format!("no session: {reply}"));
        return tally;
    };
    let headers = with_session(&session);
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let _ = exchange(&addr, "POST", &headers, &done, None).await;
    let mut id = 0u64;
    while Instant::now() < until {
        id += 1;
        let outcome: Result<(), String> = async {
            match id % 4 {
                0 => {
                    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "add", "arguments": {"a": id, "b": 1}}});
                    let r = exchange(&addr, "POST", &headers, &call.to_string(), None).await?;
                    let a = answer(&r, id).ok_or_else(|| format!("no answer to {id}: {r}"))?;
                    if a["result"]["structuredContent"]["result"] != id + 1 {
                        return Err(format!("wrong sum: {a}"));
                    }
                }
                1 => {
                    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "sleep", "arguments": {"ms": 40},
                                   "_meta": {"progressToken": id}}});
                    let r = exchange(&addr, "POST", &headers, &call.to_string(), None).await?;
                    let a = answer(&r, id).ok_or_else(|| format!("no answer to {id}: {r}"))?;
                    if !a["result"]["content"][0]["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("slept"))
                    {
                        return Err(format!("wrong result: {a}"));
                    }
                }
                2 => {
                    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "sleep", "arguments": {"ms": 200},
                                   "_meta": {"progressToken": id}}});
                    // Dropped after the first event that has an id.
                    let r = exchange(&addr, "POST", &headers, &call.to_string(), Some("\nid: "))
                        .await?;
                    let last = r
                        .lines()
                        .filter_map(|l| l.strip_prefix("id: "))
                        .next_back()
                        .ok_or_else(|| format!("no event id: {r}"))?
                        .trim()
                        .to_string();
                    if answer(&r, id).is_none() {
                        let mut get = vec![("accept", "text/event-stream")];
                        get.push(("mcp-session-id", &session));
                        get.push(("last-event-id", &last));
                        let resumed = exchange(&addr, "GET", &get, "", None).await?;
                        answer(&resumed, id)
                            .ok_or_else(|| format!("the resumed stream lost {id}: {resumed}"))?;
                    }
                }
                _ => {
                    let ping = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
                    let r = exchange(&addr, "POST", &headers, &ping.to_string(), None).await?;
                    answer(&r, id).ok_or_else(|| format!("no pong {id}: {r}"))?;
                }
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => tally.done += 1,
            Err(e) => tally.fail(e),
        }
    }
    tally
}

fn summary(samples: &[u64]) -> String {
    let mut v = samples.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return "-".into();
    }
    format!(
        "min {} / median {} / max {} KiB",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

fn main() {
    let seconds = env_num("MCP_SOAK_SECONDS", 600);
    let conns = env_num("MCP_SOAK_CONNS", 64);
    let binary = build_examples(&["quickstart"]).remove(0);
    let mut child = std::process::Command::new(&binary)
        .args(["--transport", "http", "--port", "0"])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting the quickstart");
    let stderr = mcp_workspace::Lines::new(child.stderr.take().expect("piped"));
    let banner = stderr
        .next(Duration::from_secs(30))
        .expect("the start-up banner");
    let url = mcp_workspace::banner_url(&banner).expect("a URL in the banner");
    let addr = url
        .strip_prefix("http://")
        .and_then(|u| u.split_once('/'))
        .map(|(a, _)| a.to_string())
        .expect("host:port");
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let (tallies, samples) = rt.block_on(async {
        let workers: Vec<_> = (0..conns)
            .map(|_| tokio::spawn(worker(addr.clone(), until)))
            .collect();
        let mut samples = Vec::new();
        while Instant::now() < until {
            samples.push((started.elapsed().as_secs(), rss_kib(pid)));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut tallies = Vec::new();
        for w in workers {
            tallies.push(w.await.expect("a worker"));
        }
        (tallies, samples)
    });
    let _ = child.kill();
    let _ = child.wait();
    let done: u64 = tallies.iter().map(|t| t.done).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let lost: u64 = tallies.iter().map(|t| t.lost).sum();
    let minute = 60.min(seconds / 2).max(1);
    let first: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t < minute)
        .map(|s| s.1)
        .collect();
    let last: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= seconds.saturating_sub(minute))
        .map(|s| s.1)
        .collect();
    println!(
        "soak: {conns} connections for {seconds} s against {}",
        binary.display()
    );
    println!("exchanges: {done}  errors: {errors}  lost replies: {lost}");
    println!("RSS, first {minute} s: {}", summary(&first));
    println!("RSS, last {minute} s:  {}", summary(&last));
    // The median of each minute: a leak climbs minute after minute, a cache that fills up
    // levels off.
    let per_minute: Vec<String> = (0..seconds.div_ceil(minute))
        .filter_map(|m| {
            let mut v: Vec<u64> = samples
                .iter()
                .filter(|(t, _)| t / minute == m)
                .map(|s| s.1)
                .collect();
            v.sort_unstable();
            v.get(v.len() / 2).map(u64::to_string)
        })
        .collect();
    println!(
        "RSS median of each {minute} s: {} KiB",
        per_minute.join(" ")
    );
    if let Some(e) = tallies.iter().find_map(|t| t.first_error.as_ref()) {
        println!("first error: {e}");
    }
    if errors > 0 || lost > 0 {
        std::process::exit(1);
    }
}
