//! What the workspace's end-to-end tests (`tests/`, `mcp-cli/tests/`) and benchmarks share:
//! where the example binaries are, child processes that are stopped when dropped, lines read
//! with a timeout, servers started on a free port, a JSON-RPC peer over a child's stdio and a
//! one-shot raw HTTP exchange.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod cluster;
pub mod schema;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of a built example binary (`cargo build --examples` builds them).
pub fn example_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    target.join(profile).join("examples").join(name)
}

/// The path of a built example; panics with the command that builds it when it is missing.
pub fn built_example(name: &str) -> PathBuf {
    let path = example_binary(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --examples` first (./scripts/test does)",
        path.display()
    );
    path
}

/// The newest modification time of the files under `dir`, and that file.
fn newest_under(dir: &std::path::Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if let Ok(t) = meta.modified()
                && newest.as_ref().is_none_or(|(n, _)| t > *n)
            {
                newest = Some((t, path));
            }
        }
    }
    newest
}

/// Like [`built_example`], and also panics when a source of the runtime, the macros or the
/// example itself is newer than the binary: `cargo test --test NAME` does not rebuild examples, and
/// a test comparing what a server sends must not pass against an old build.
pub fn fresh_example(name: &str) -> PathBuf {
    let path = built_example(name);
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("the example's modification time");
    let root = workspace_root();
    let own = [format!("examples/{name}.rs"), format!("examples/{name}")];
    let sources = ["mcp-runtime/src", "mcp-macros/src"]
        .into_iter()
        .map(String::from)
        .chain(own);
    for source in sources {
        let source = root.join(source);
        let newest = if source.is_file() {
            std::fs::metadata(&source)
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (t, source))
        } else {
            newest_under(&source)
        };
        if let Some((t, source)) = newest {
            assert!(
                t <= built,
                "{} is older than {}: run `cargo build --examples` first (./scripts/test does)",
                path.display(),
                source.display()
            );
        }
    }
    path
}

/// A `Command` for a built example (see [`built_example`]).
pub fn example_command(name: &str) -> Command {
    Command::new(built_example(name))
}

/// A child process, killed and reaped when dropped.
pub struct Running(pub Child);

impl Running {
    /// Waits up to `limit` for the process to exit by itself and returns its exit code (`None`
    /// when a signal ended it); kills it and panics when it does not exit in time.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("waiting for the child") {
                return status.code();
            }
            if start.elapsed() > limit {
                let _ = self.0.kill();
                panic!("the process did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Why [`Lines::next`] returned no line.
#[derive(Debug, PartialEq, Eq)]
pub enum NoLine {
    /// The stream ended (or failed).
    Closed,
    /// Nothing arrived in time.
    Timeout,
}

/// The lines of a stream, read on a thread of their own so that waiting for one can time out.
pub struct Lines(Receiver<String>);

impl Lines {
    /// Starts reading `stream`.
    pub fn new(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Lines(rx)
    }

    /// The next line as read, with its `\n` (the last line of a stream may lack it), waiting
    /// at most `timeout`.
    pub fn next_raw(&self, timeout: Duration) -> Result<String, NoLine> {
        self.0.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => NoLine::Timeout,
            RecvTimeoutError::Disconnected => NoLine::Closed,
        })
    }

    /// The next line without its line ending, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Result<String, NoLine> {
        let mut line = self.next_raw(timeout)?;
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Ok(line)
    }

    /// The first line `pick` maps to a value, skipping the others; panics after `timeout` or
    /// at the end of the stream, saying what it was waiting for.
    pub fn find<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Ok(line) => {
                    if let Some(v) = pick(&line) {
                        return v;
                    }
                }
                Err(e) => panic!("no {what} ({e:?} after waiting up to {timeout:?})"),
            }
        }
    }

    /// Collects what is left of the stream into a string (one `\n` after each line), in the
    /// background; the string grows as lines arrive.
    pub fn collect(self, into: Arc<Mutex<String>>) {
        std::thread::spawn(move || {
            while let Ok(line) = self.0.recv() {
                let mut s = into.lock().unwrap_or_else(|e| e.into_inner());
                s.push_str(&line);
                if !line.ends_with('\n') {
                    s.push('\n');
                }
            }
        });
    }
}

/// The `http://…` URL in a server's start-up banner (`… at http://127.0.0.1:PORT/mcp, …`).
pub fn banner_url(line: &str) -> Option<String> {
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(|w| w.trim_end_matches(',').to_string())
}

/// A server started on a free port (`--port 0`), once it printed the URL it listens at.
pub struct HttpExample {
    /// The server process.
    pub child: Running,
    /// The endpoint, `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// Its stderr so far: the banner, then one line per line it writes.
    log: Arc<Mutex<String>>,
}

impl HttpExample {
    /// Starts `command` with `--transport http --port 0` and then `args`; stdin and stdout are
    /// null, stderr is collected (see [`log`](Self::log)).
    pub fn start(mut command: Command, args: &[&str]) -> HttpExample {
        let mut child = command
            .args(["--transport", "http", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the server");
        let stderr = Lines::new(child.stderr.take().expect("piped"));
        let child = Running(child);
        let banner = stderr
            .next(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no start-up banner on stderr: {e:?}"));
        let url = banner_url(&banner).unwrap_or_else(|| panic!("no URL in the banner {banner:?}"));
        let log = Arc::new(Mutex::new(format!("{banner}\n")));
        stderr.collect(Arc::clone(&log));
        HttpExample { child, url, log }
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.url
            .strip_prefix("http://")
            .and_then(|u| u.split_once('/'))
            .map_or(self.url.as_str(), |(a, _)| a)
    }
}

/// One raw HTTP/1.1 exchange over a new connection that is closed after it: `head` is the
/// request line and headers without the final blank line (`Content-Length` and `Connection:
/// close` are added). Returns the status code and the body.
pub fn raw_http(port: u16, head: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("setting a timeout");
    write!(
        s,
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("writing the request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("reading the response");
    let code = out
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {out:?}"));
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// A server process spoken to in JSON-RPC lines over its stdin and stdout.
pub struct StdioPeer {
    /// The server process.
    pub child: Running,
    stdin: Option<ChildStdin>,
    stdout: Lines,
    /// How long [`recv`](Self::recv) waits for a line.
    pub timeout: Duration,
}

impl StdioPeer {
    /// Starts `command` with piped stdin and stdout; stderr is discarded.
    pub fn start(mut command: Command) -> StdioPeer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the server");
        let stdin = child.stdin.take();
        let stdout = Lines::new(child.stdout.take().expect("piped"));
        StdioPeer {
            child: Running(child),
            stdin,
            stdout,
            timeout: Duration::from_secs(30),
        }
    }

    /// Writes one line (the `\n` is added) and flushes.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(line.as_bytes())
            .expect("writing to the server");
        stdin.write_all(b"\n").expect("writing to the server");
        stdin.flush().expect("flushing to the server");
    }

    /// The next line the server writes, parsed; panics on a timeout, the end of stdout, a
    /// line that does not end in `\n`, or one that is not JSON.
    pub fn recv(&mut self) -> Value {
        let line = self
            .stdout
            .next_raw(self.timeout)
            .unwrap_or_else(|e| panic!("no message from the server: {e:?}"));
        assert!(line.ends_with('\n'), "one message per line, got {line:?}");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC: {e}: {line:?}"))
    }

    /// Sends a request and returns the response with its id, skipping notifications and
    /// requests the server sends meanwhile.
    pub fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        let msg =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(&msg.to_string());
        loop {
            let m = self.recv();
            if m.get("method").is_none() && m["id"] == id {
                return m;
            }
        }
    }

    /// Closes stdin, waits up to `limit` for the exit and returns the exit code (-1 when a
    /// signal ended it) and what was left on stdout.
    pub fn finish(mut self, limit: Duration) -> (i32, String) {
        drop(self.stdin.take());
        let code = self.child.wait_exit(limit).unwrap_or(-1);
        let mut rest = String::new();
        while let Ok(line) = self.stdout.next_raw(Duration::from_secs(5)) {
            rest.push_str(&line);
        }
        (code, rest)
    }
}

/// What the benchmark harnesses (`benches/*.rs`) share.
pub mod bench {
    use std::path::PathBuf;
    use std::process::Command;

    /// A number from the environment, or `default`.
    pub fn env_num(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// The `p` quantile (0 to 1) of sorted samples; 0 when there are none.
    pub fn percentile(sorted: &[u64], p: f64) -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    /// The median of the values (which it sorts).
    pub fn median(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// Builds these examples with the bench profile (unless `MCP_BENCH_NO_BUILD` is set) and
    /// returns their paths, in order.
    pub fn build_examples(names: &[&str]) -> Vec<PathBuf> {
        let mut args = vec!["build", "--profile", "bench"];
        for n in names {
            args.extend(["--example", n]);
        }
        let command = format!("cargo {}", args.join(" "));
        if std::env::var_os("MCP_BENCH_NO_BUILD").is_none() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            eprintln!("building the examples: {command}");
            let status = Command::new(cargo)
                .current_dir(super::workspace_root())
                .args(&args)
                .status()
                .expect("running cargo");
            assert!(status.success(), "building the examples failed");
        }
        let paths: Vec<PathBuf> = names.iter().map(|n| super::example_binary(n)).collect();
        for p in &paths {
            assert!(p.exists(), "{} is missing; run `{command}`", p.display());
        }
        paths
    }
}
