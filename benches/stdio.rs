//! stdio round-trip benchmark: our server (`examples/bench_add.rs`) against a framework-free
//! blocking loop (`examples/raw_stdio_add.rs`), both driven by the same client over pipes.
//!
//! ```text
//! cargo bench --bench stdio
//! ```
//!
//! For each server binary it measures
//!
//! * **latency**: one `tools/call add` at a time, p50/p99 of the round trip (write the line,
//!   flush, read the reply line) over `MCP_BENCH_CALLS` calls (default 5000);
//! * **pipelined throughput**: `MCP_BENCH_PIPELINED` calls (default 50000) with 16 requests
//!   kept in flight, in calls per second;
//! * **cold start**: process spawn to the `initialize` reply, p50 over `MCP_BENCH_SPAWNS`
//!   spawns (default 50).
//!
//! Every reply is checked: it must carry an id that is in flight and the right sum, in both
//! `content[0].text` and `structuredContent.result`. Measurements alternate between the two
//! servers over `MCP_BENCH_ROUNDS` rounds (default 3) so that noise from other work on the
//! machine hits both; latencies and spawn times are pooled over the rounds, throughput is the
//! median round.
//!
//! `MCP_BENCH_BEFORE=<path of another bench_add>` adds that binary (an earlier build, say) to
//! the same rounds, as a third column.
//!
//! The harness builds both servers itself, apart from the workspace (`benches/bench_server`,
//! `cargo build --release` into `target/bench-server`): `bench_add` with the runtime's default
//! features, as a user's server is built, and the raw loop with the same profile.
//! `MCP_BENCH_NO_BUILD=1` skips the build and uses what is there.

#[path = "bench_server/launch.rs"]
mod bench_server;

use mcp_workspace::bench::{env_num, median, percentile};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The whole run is abandoned (with a non-zero exit) if it takes longer than this.
const DEADLINE: Duration = Duration::from_secs(900);
/// Requests kept in flight in the throughput measurement.
const WINDOW: usize = 16;
/// Calls before each measurement, not measured.
const WARMUP: u64 = 500;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stdio-bench","version":"0.0.0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// A server under test: a child process with piped stdin and stdout.
struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    req: Vec<u8>,
}

impl Proc {
    fn spawn(bin: &Path) -> Proc {
        let mut child = Command::new(bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped"));
        Proc {
            child,
            stdin,
            stdout,
            line: String::new(),
            req: Vec::with_capacity(256),
        }
    }

    fn send_raw(&mut self, line: &str) {
        self.stdin
            .write_all(line.as_bytes())
            .expect("write to server");
        self.stdin.write_all(b"\n").expect("write to server");
        self.stdin.flush().expect("flush to server");
    }

    /// Writes `tools/call add` with id `id` (a = id, b = 2·id + 1) and flushes.
    fn send_call(&mut self, id: u64) {
        self.req.clear();
        write!(
            self.req,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":{},"b":{}}}}}}}"#,
            id,
            2 * id + 1
        )
        .expect("format");
        self.req.push(b'\n');
        self.stdin.write_all(&self.req).expect("write to server");
        self.stdin.flush().expect("flush to server");
    }

    /// Reads one reply line and parses it.
    fn recv(&mut self) -> Value {
        self.line.clear();
        let n = self
            .stdout
            .read_line(&mut self.line)
            .expect("read from server");
        assert!(n > 0, "the server closed its stdout");
        serde_json::from_str(&self.line)
            .unwrap_or_else(|e| panic!("unparsable reply {:?}: {e}", self.line))
    }

    /// Reads one `tools/call add` reply and checks it; returns its id.
    fn recv_call(&mut self) -> u64 {
        let v = self.recv();
        let id = v["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("reply without a numeric id: {v}"));
        let sum = (3 * id + 1) as i64;
        let r = &v["result"];
        assert_eq!(
            r["structuredContent"]["result"].as_i64(),
            Some(sum),
            "wrong sum in {v}"
        );
        assert_eq!(
            r["content"][0]["text"].as_str(),
            Some(sum.to_string().as_str()),
            "wrong text in {v}"
        );
        assert!(
            r.get("isError").is_none_or(|e| e == false),
            "error reply {v}"
        );
        id
    }

    /// `initialize`, its reply, then `notifications/initialized`.
    fn handshake(&mut self) {
        self.send_raw(INITIALIZE);
        let v = self.recv();
        assert_eq!(v["id"], 0, "initialize reply id: {v}");
        assert!(
            v["result"]["protocolVersion"].is_string(),
            "initialize reply: {v}"
        );
        self.send_raw(INITIALIZED);
    }

    /// Closes stdin and waits for the process to exit.
    fn close(self) {
        let Proc {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let status = child.wait().expect("wait for server");
        assert!(status.success(), "server exited with {status}");
    }
}

/// One call at a time: round-trip times of `n` calls, in nanoseconds.
fn latency(bin: &Path, n: u64) -> Vec<u64> {
    let mut p = Proc::spawn(bin);
    p.handshake();
    for id in 1..=WARMUP {
        p.send_call(id);
        assert_eq!(p.recv_call(), id);
    }
    let mut samples = Vec::with_capacity(n as usize);
    for id in WARMUP + 1..=WARMUP + n {
        let t = Instant::now();
        p.send_call(id);
        let got = p.recv_call();
        samples.push(t.elapsed().as_nanos() as u64);
        assert_eq!(got, id, "reply to the wrong request");
    }
    p.close();
    samples
}

/// `n` calls with `WINDOW` in flight: calls per second.
fn throughput(bin: &Path, n: u64) -> f64 {
    let mut p = Proc::spawn(bin);
    p.handshake();
    for id in 1..=WARMUP {
        p.send_call(id);
        assert_eq!(p.recv_call(), id);
    }
    let first = WARMUP + 1;
    let last = WARMUP + n;
    // Which ids are in flight; replies may come in any order.
    let mut outstanding = vec![false; (last + 1) as usize];
    let mut next = first;
    let mut received = 0u64;
    let t = Instant::now();
    while next <= last && next < first + WINDOW as u64 {
        outstanding[next as usize] = true;
        p.send_call(next);
        next += 1;
    }
    while received < n {
        let id = p.recv_call();
        assert!(
            (id as usize) < outstanding.len() && outstanding[id as usize],
            "reply with id {id}, which is not in flight"
        );
        outstanding[id as usize] = false;
        received += 1;
        if next <= last {
            outstanding[next as usize] = true;
            p.send_call(next);
            next += 1;
        }
    }
    let elapsed = t.elapsed();
    assert!(outstanding.iter().all(|&o| !o));
    p.close();
    n as f64 / elapsed.as_secs_f64()
}

/// Spawn to `initialize` reply, `n` times, in nanoseconds.
fn cold_start(bin: &Path, n: u64) -> Vec<u64> {
    let mut samples = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        let mut p = Proc::spawn(bin);
        p.send_raw(INITIALIZE);
        let v = p.recv();
        samples.push(t.elapsed().as_nanos() as u64);
        assert_eq!(v["id"], 0, "initialize reply id: {v}");
        assert!(
            v["result"]["protocolVersion"].is_string(),
            "initialize reply: {v}"
        );
        p.close();
    }
    samples
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1e3)
}

fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

/// The raw loop and `bench_add`, built apart from the workspace.
fn build_examples() -> (PathBuf, PathBuf) {
    let mut paths = bench_server::build(&["raw_stdio_add", "bench_add"]).into_iter();
    (paths.next().unwrap(), paths.next().unwrap())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and only wants to
    // know that the harness builds.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("stdio benchmark: run it with `cargo bench --bench stdio`");
        return;
    }
    std::thread::spawn(|| {
        std::thread::sleep(DEADLINE);
        eprintln!("stdio benchmark: still running after {DEADLINE:?}; giving up");
        std::process::exit(1);
    });

    let calls = env_num("MCP_BENCH_CALLS", 5000).max(1);
    let pipelined = env_num("MCP_BENCH_PIPELINED", 50_000).max(1);
    let spawns = env_num("MCP_BENCH_SPAWNS", 50).max(1);
    let rounds = env_num("MCP_BENCH_ROUNDS", 3).max(1);

    let (raw, ours) = build_examples();
    let mut bins = vec![("raw loop", raw), ("mcp-runtime", ours)];
    // `MCP_BENCH_BEFORE=<another bench_add>`: that build too, in the same rounds (to compare a
    // change with the code before it).
    if let Some(before) = std::env::var_os("MCP_BENCH_BEFORE").map(PathBuf::from) {
        assert!(
            before.exists(),
            "MCP_BENCH_BEFORE: {} does not exist",
            before.display()
        );
        bins.push(("mcp-runtime (before)", before));
    }
    let n = bins.len();

    let mut lat: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut tput: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut cold: Vec<Vec<u64>> = vec![Vec::new(); n];
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}");
        for (i, (_, bin)) in bins.iter().enumerate() {
            lat[i].extend(latency(bin, calls));
        }
        for (i, (_, bin)) in bins.iter().enumerate() {
            tput[i].push(throughput(bin, pipelined));
        }
        for (i, (_, bin)) in bins.iter().enumerate() {
            cold[i].extend(cold_start(bin, spawns));
        }
        for (i, (name, _)) in bins.iter().enumerate() {
            eprintln!("  {name}: {:.0} calls/s pipelined", tput[i].last().unwrap());
        }
    }
    for v in lat.iter_mut().chain(cold.iter_mut()) {
        v.sort_unstable();
    }
    // Rounds are paired (raw then ours, back to back), so the per-round ratio cancels most of
    // the drift in what else the machine is doing; its median is the reported ratio.
    let round_ratios: Vec<Vec<f64>> = tput
        .iter()
        .map(|t| t.iter().zip(&tput[0]).map(|(o, r)| o / r).collect())
        .collect();
    let t: Vec<f64> = tput.iter().map(|v| median(&mut v.clone())).collect();

    println!();
    println!(
        "stdio, tools/call add: {calls} sequential calls and {pipelined} pipelined calls ({WINDOW} in flight) \
         per round, {spawns} spawns per round, {rounds} rounds; every reply verified"
    );
    println!();
    let names: Vec<&str> = bins.iter().map(|(name, _)| *name).collect();
    println!(
        "| measure | {} | target |",
        names
            .iter()
            .enumerate()
            .map(|(i, n)| if i == 0 {
                n.to_string()
            } else {
                format!("{n} (ratio to raw)")
            })
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}---|", "---|".repeat(n));
    let row = |what: &str, values: Vec<u64>, fmt: fn(u64) -> String, target: &str| {
        let mut line = format!("| {what} | {} |", fmt(values[0]));
        for v in &values[1..] {
            line.push_str(&format!(
                " {} ({:.2}×) |",
                fmt(*v),
                *v as f64 / values[0] as f64
            ));
        }
        println!("{line} {target} |");
    };
    let at = |v: &[Vec<u64>], p: f64| v.iter().map(|v| percentile(v, p)).collect::<Vec<_>>();
    row(
        "round trip p50, one call at a time",
        at(&lat, 0.5),
        us,
        "≤ 1.1×",
    );
    row("round trip p99, one call at a time", at(&lat, 0.99), us, "");
    let mut line = format!(
        "| throughput, {WINDOW} calls in flight | {:.0} calls/s |",
        t[0]
    );
    for i in 1..n {
        line.push_str(&format!(
            " {:.0} calls/s ({:.2}×) |",
            t[i],
            median(&mut round_ratios[i].clone())
        ));
    }
    println!("{line} ≥ 1.0× |");
    row(
        "cold start (spawn → initialize reply) p50",
        at(&cold, 0.5),
        ms,
        "≤ 1.3×",
    );
    row("cold start p90", at(&cold, 0.9), ms, "");
    println!();
    for (i, name) in names.iter().enumerate() {
        println!(
            "throughput per round (calls/s), {name}: {:?}; ratio to raw per round {:?}",
            tput[i].iter().map(|x| x.round()).collect::<Vec<_>>(),
            round_ratios[i]
                .iter()
                .map(|x| (x * 100.0).round() / 100.0)
                .collect::<Vec<_>>()
        );
    }
    println!("(the table gives each column's median and the median per-round ratio)");
}
